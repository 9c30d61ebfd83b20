"""Tolerant NIR ingest: repairs of what exporters write that NIR's own rules do not allow.

:func:`repair` runs in :func:`neurocompile.load.load_graph` on every graph read from a file or a
``nir`` object, before shape inference. Every repair is recorded in ``Graph.load_problems`` under
the code ``ingest-repair`` (``check`` reports it as an info finding naming the node and the field;
nothing is repaired silently). What cannot be repaired is left alone for ``check`` to report as an
error naming the node and the field (``shape-mismatch``, ``param-missing``...).

Repairs (files of nir 1.0.4 to 1.0.8 and what the frameworks' exporters write):

* ``Identity`` nodes (nir 1.0.8 has the class; exporters emit it for ``nn.Identity``) are
  removed, their predecessors connected to their successors.
* ``Input`` / ``Output`` types carrying leading batch or time dimensions of size 1 (rockpool's
  ``to_nir`` writes ``(1, n)`` and ``(1, 1, n)``; nirtorch without ``ignore_dims`` keeps the
  sample's batch of 1): the leading 1s are dropped when the shape without them is what the
  neighbouring node takes or gives (and only then: a ``(1, H, W)`` single-channel image feeding
  a convolution keeps its channel).
* a missing ``Input`` shape that the node it feeds determines (a weight's input dimension, a
  neuron's parameter shape), and a missing ``Output`` shape (what arrives).
"""

from __future__ import annotations

from typing import Any

from .ir import Graph
from .shapes import _expected_input, infer_shapes

CODE = "ingest-repair"

__all__ = ["CODE", "repair", "repairs"]


def repairs(graph: Graph) -> list[tuple[str | None, str]]:
    """``[(node, message)]`` of the repairs :func:`repair` made on ``graph``."""
    return [(node, msg) for code, node, msg in graph.load_problems if code == CODE]


def _note(graph: Graph, node: str | None, msg: str) -> None:
    graph.load_problems.append((CODE, node, msg))


def _shape(v: Any) -> tuple[int, ...] | None:
    if isinstance(v, tuple) and all(isinstance(d, int) for d in v):
        return v
    return None


def repair(graph: Graph) -> Graph:
    """Apply the repairs of the module docstring to ``graph`` in place (and return it)."""
    _drop_identity(graph)
    _input_shapes(graph)
    _output_shapes(graph)
    return graph


def _drop_identity(graph: Graph) -> None:
    for name in [n for n, node in graph.nodes.items() if node.kind == "Identity"]:
        preds = [s for s, d in graph.edges if d == name and s != name]
        succs = [d for s, d in graph.edges if s == name and d != name]
        graph.edges[:] = [e for e in graph.edges if name not in e] + [(p, s) for p in preds for s in succs]
        graph.nodes.pop(name)
        _note(
            graph,
            name,
            f"Identity '{name}' removed (a pass-through; NIR cannot store it): its "
            f"{len(preds)} input edge(s) now lead to its {len(succs)} successor(s) directly",
        )


def _consumer_shapes(graph: Graph, name: str) -> set[tuple[int, ...]]:
    out = set()
    for s, d in graph.edges:
        if s == name and d in graph.nodes and graph.nodes[d].kind != "Output":
            try:
                exp = _expected_input(graph.nodes[d])
            except Exception:  # noqa: BLE001 - malformed parameters: check reports them
                exp = None
            if exp is not None:
                out.add(tuple(int(x) for x in exp))
    return out


def _input_shapes(graph: Graph) -> None:
    for name, node in graph.nodes.items():
        if node.kind != "Input":
            continue
        want = _consumer_shapes(graph, name)
        shape = _shape(node.params.get("shape"))
        if node.params.get("shape") is None:
            if len(want) == 1:
                (new,) = want
                node.params["shape"] = new
                _note(
                    graph,
                    name,
                    f"Input '{name}' has no shape; set to {new}, what the node(s) it feeds take "
                    "(field 'shape')",
                )
            continue
        if shape is None or len(want) != 1:
            continue
        (target,) = want
        if shape == target:
            continue
        k = 0
        while k < len(shape) - 1 and shape[k] == 1:
            k += 1
            if shape[k:] == target:
                node.params["shape"] = target
                _note(
                    graph,
                    name,
                    f"Input '{name}' shape {shape} carries {k} leading batch/time dimension(s) of size 1; "
                    f"read as {target}, what the node(s) it feeds take (field 'shape')",
                )
                break


def _output_shapes(graph: Graph) -> None:
    outs = [n for n, node in graph.nodes.items() if node.kind == "Output"]
    if not outs:
        return
    infer_shapes(graph)
    for name in outs:
        node = graph.nodes[name]
        preds = [s for s, d in graph.edges if d == name]
        arrive = {graph.nodes[p].output_shape for p in preds if p in graph.nodes}
        if len(arrive) != 1 or None in arrive:
            continue
        (arriving,) = arrive
        arriving = tuple(int(d) for d in arriving)
        declared = node.params.get("shape")
        if declared is None:
            node.params["shape"] = arriving
            _note(
                graph, name, f"Output '{name}' has no shape; set to {arriving}, what arrives (field 'shape')"
            )
            continue
        shape = _shape(declared)
        if shape is None or shape == arriving or len(shape) <= len(arriving):
            continue
        k = len(shape) - len(arriving)
        if all(d == 1 for d in shape[:k]) and shape[k:] == arriving:
            node.params["shape"] = arriving
            _note(
                graph,
                name,
                f"Output '{name}' shape {shape} carries {k} leading batch/time dimension(s) of size 1; "
                f"read as {arriving}, what arrives (field 'shape')",
            )
