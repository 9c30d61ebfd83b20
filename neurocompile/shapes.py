"""Shape inference on a flat :class:`~neurocompile.ir.Graph`.

``infer_shapes(graph)`` fills ``Node.input_shape`` / ``Node.output_shape`` (without batch and
time) and returns the inconsistencies it finds as :class:`ShapeProblem` ``(node, message)``
instead of raising, so that ``check`` can list them all.

Rules (PyTorch / NIR conventions):

* ``Input``: its ``shape``. ``Output``: the shape that actually arrives (a declared ``shape``
  that differs is a problem; the declared one is used only when nothing arrives).
* ``Affine`` / ``Linear``: input ``(in,)``, output ``(out,)`` from ``weight`` ``(out, in)``.
* ``Scale``, ``Threshold``, ``Delay`` and neurons: the shape of their parameter arrays (all
  must agree; 0-d parameters broadcast, so a node whose parameters are all scalars takes
  its shape from its input). ``w_in`` broadcasts to the other neuron parameters.
* ``Conv1d`` / ``Conv2d``: input ``(weight.shape[1] * groups, *spatial)``,
  output ``(C_out, *spatial')`` with ``floor((n + 2p - d(k-1) - 1) / s) + 1`` per dimension;
  ``'same'`` keeps ``n``, ``'valid'`` is ``p = 0``. The node's own ``input_shape`` (spatial,
  as NIR stores it) must match what arrives; it is used when nothing arrives.
* ``SumPool2d`` / ``AvgPool2d``: ``(C, H, W) -> (C, floor((H + 2p - k) / s) + 1, ...)``.
* ``Flatten``: dims counted **without** batch, negative dims allowed (``start_dim=0,
  end_dim=-1``, as sinabs exports it, flattens the whole tensor).
* Several edges into one node must all carry the same shape (they are summed).
* Cycles: iterated to a fixed point; neurons and weight layers know their output shape from
  their parameters, which is what lets a recurrent ``Affine <-> CubaLIF`` loop resolve.

Nodes of unknown kind, or whose parameters are unusable (reported by ``check`` as
``param-shape`` / ``param-missing``), are left with ``None`` shapes without a problem.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .ir import NEURON_KINDS, Graph, Node

__all__ = [
    "ShapeProblem",
    "infer_shapes",
    "conv_output_size",
    "pool_output_size",
    "flatten_shape",
    "param_shape",
]

Shape = tuple[int, ...]


class ShapeProblem(NamedTuple):
    node: str
    message: str
    #: True when only an Output's *declared* shape disagrees with what arrives (a stale
    #: declaration, as in ``lif_rockpool.nir``): harmless for execution, reported by check.
    declared_only: bool = False


class _Mismatch(Exception):
    pass


# ---------------------------------------------------------------------------- formulas
def conv_output_size(n: int, kernel: int, stride: int, padding: int | str, dilation: int) -> int:
    """PyTorch's output length of one convolution dimension (``'same'`` keeps ``n``)."""
    if padding == "same":
        return n
    pad = 0 if padding == "valid" else int(padding)
    return (n + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """PyTorch's pooling output length (``ceil_mode=False``)."""
    return (n + 2 * padding - kernel) // stride + 1


def flatten_shape(shape: Shape, start_dim: int, end_dim: int) -> Shape:
    """Flatten dims ``start_dim..end_dim`` (counted without batch; negative from the end)."""
    nd = len(shape)
    if nd == 0:
        return (1,)
    s = start_dim + nd if start_dim < 0 else start_dim
    e = end_dim + nd if end_dim < 0 else end_dim
    if not (0 <= s < nd and 0 <= e < nd) or s > e:
        raise _Mismatch(f"start_dim={start_dim}, end_dim={end_dim} do not fit an input of shape {shape}")
    return tuple(shape[:s]) + (math.prod(int(d) for d in shape[s : e + 1]),) + tuple(shape[e + 1 :])


def _arr_shape(v) -> Shape | None:
    return tuple(v.shape) if isinstance(v, np.ndarray) and v.dtype.kind in "fiub" else None


def param_shape(node: Node) -> Shape | None:
    """Shape defined by a neuron/Scale/Threshold/Delay node's parameters.

    ``()`` when every parameter is a scalar (the node broadcasts); ``None`` when parameters
    are missing, unusable or disagree (``check`` reports that as ``param-shape``).
    """
    if node.kind in NEURON_KINDS:
        keys = [k for k in node.params if k != "w_in"]
        shapes = {_arr_shape(node.params[k]) for k in keys if node.params[k] is not None}
        if None in shapes or not shapes:
            return None
        nonscalar = {s for s in shapes if s != ()}
        if len(nonscalar) > 1:
            return None
        shape = nonscalar.pop() if nonscalar else ()
        w_in = node.params.get("w_in")
        if w_in is not None:
            ws = _arr_shape(w_in)
            if ws is None:
                return None
            if ws != () and ws != shape:
                try:
                    if shape == ():
                        shape = ws
                    else:
                        np.broadcast_shapes(ws, shape)
                        if np.broadcast_shapes(ws, shape) != shape:
                            return None
                except ValueError:
                    return None
        return shape
    key = {"Scale": "scale", "Threshold": "threshold", "Delay": "delay"}.get(node.kind)
    if key is None:
        return None
    return _arr_shape(node.params.get(key))


# ---------------------------------------------------------------------------- per node
def _expected_input(node: Node) -> Shape | None:
    """The input shape a node requires by its parameters alone (None: anything / unknown)."""
    k, p = node.kind, node.params
    if k == "Input":
        return _shape_param(p.get("shape"))
    if k in ("Affine", "Linear"):
        w = p.get("weight")
        if isinstance(w, np.ndarray) and w.ndim == 2:
            return (w.shape[1],)
        return None
    if k in NEURON_KINDS or k in ("Scale", "Threshold", "Delay"):
        s = param_shape(node)
        return s if s else None
    if k in ("Conv1d", "Conv2d"):
        w = p.get("weight")
        nsp = 1 if k == "Conv1d" else 2
        if not (isinstance(w, np.ndarray) and w.ndim == nsp + 2):
            return None
        groups = p.get("groups", 1)
        groups = groups if isinstance(groups, int) and groups > 0 else 1
        ish = p.get("input_shape")
        if isinstance(ish, int):
            ish = (ish,)
        if isinstance(ish, tuple) and len(ish) == nsp:
            return (w.shape[1] * groups, *ish)
        return None
    if k == "Flatten":
        ish = p.get("input_shape")
        return ish if isinstance(ish, tuple) else None
    return None


def _forward(node: Node, x: Shape | None) -> Shape | None:
    """Output shape of ``node`` given input shape ``x`` (None: unknown input).

    Raises :class:`_Mismatch` when ``x`` cannot be processed by the node.
    """
    k, p = node.kind, node.params
    if k == "Input":
        return _shape_param(p.get("shape"))
    if k == "Output":
        return x if x is not None else _shape_param(p.get("shape"))
    if k in ("Affine", "Linear"):
        w = p.get("weight")
        if isinstance(w, np.ndarray) and w.ndim == 2:
            return (w.shape[0],)
        return None
    if k in NEURON_KINDS or k in ("Scale", "Threshold", "Delay"):
        s = param_shape(node)
        if s is None:
            return None
        return s if s != () else x
    if k in ("Conv1d", "Conv2d"):
        return _conv_forward(node, x)
    if k in ("SumPool2d", "AvgPool2d"):
        if x is None:
            return None
        if len(x) != 3:
            raise _Mismatch(f"{k} needs a (C, H, W) input, got shape {x}")
        ks, st, pd = p.get("kernel_size"), p.get("stride"), p.get("padding")
        if not all(_int_tuple(t, 2) for t in (ks, st, pd)) or min(ks) < 1 or min(st) < 1 or min(pd) < 0:
            return None  # param-shape reports it (a stride of 0 would divide by zero)
        hw = tuple(pool_output_size(x[1 + i], ks[i], st[i], pd[i]) for i in range(2))
        if min(hw) <= 0:
            raise _Mismatch(f"input {x} is too small for kernel {ks}, stride {st}, padding {pd}")
        return (x[0], *hw)
    if k == "Flatten":
        src = (
            x
            if x is not None
            else (p.get("input_shape") if isinstance(p.get("input_shape"), tuple) else None)
        )
        sd, ed = p.get("start_dim"), p.get("end_dim")
        if src is None or not isinstance(sd, int) or not isinstance(ed, int):
            return None
        return flatten_shape(src, sd, ed)
    return None


def _conv_forward(node: Node, x: Shape | None) -> Shape | None:
    p = node.params
    nsp = 1 if node.kind == "Conv1d" else 2
    w = p.get("weight")
    if not (isinstance(w, np.ndarray) and w.ndim == nsp + 2):
        return None
    if x is None:
        x = _expected_input(node)
        if x is None:
            return None
    if len(x) != nsp + 1:
        raise _Mismatch(f"{node.kind} needs a (C, {'N' if nsp == 1 else 'H, W'}) input, got shape {x}")
    stride, dil, pad = p.get("stride"), p.get("dilation"), p.get("padding")
    if not (_int_tuple(stride, nsp) and _int_tuple(dil, nsp)) or not (
        (isinstance(pad, str) and pad in ("same", "valid")) or _int_tuple(pad, nsp)
    ):
        return None
    out = []
    for i in range(nsp):
        pi = pad if isinstance(pad, str) else pad[i]
        if stride[i] <= 0 or dil[i] <= 0:
            return None
        out.append(conv_output_size(x[1 + i], w.shape[2 + i], stride[i], pi, dil[i]))
    if min(out) <= 0:
        raise _Mismatch(
            f"input {x} is too small for kernel {tuple(w.shape[2:])} with stride "
            f"{stride}, padding {pad}, dilation {dil}"
        )
    return (w.shape[0], *out)


def _shape_param(v) -> Shape | None:
    return v if isinstance(v, tuple) and all(isinstance(e, int) for e in v) else None


def _int_tuple(t, n: int) -> bool:
    return isinstance(t, tuple) and len(t) == n and all(isinstance(e, int) for e in t)


# ---------------------------------------------------------------------------- driver
def _order(graph: Graph, preds: dict[str, list[str]]) -> list[str]:
    """Nodes in breadth-first order from the Inputs, then any remaining in insertion order."""
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, d in graph.edges:
        if s in succ and d in graph.nodes:
            succ[s].append(d)
    seen: list[str] = []
    mark = set()
    queue = [n for n in graph.nodes if graph.nodes[n].kind == "Input"]
    while queue:
        n = queue.pop(0)
        if n in mark:
            continue
        mark.add(n)
        seen.append(n)
        queue.extend(d for d in succ[n] if d not in mark)
    return seen + [n for n in graph.nodes if n not in mark]


def infer_shapes(graph: Graph) -> list[ShapeProblem]:
    """Fill ``input_shape`` / ``output_shape`` of every node; return the inconsistencies."""
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, d in graph.edges:
        if s in graph.nodes and d in graph.nodes:
            preds[d].append(s)
    order = _order(graph, preds)
    out: dict[str, Shape] = {}

    def incoming(name: str) -> Shape | None:
        for q in preds[name]:
            if q in out:
                return out[q]
        return None

    for _ in range(len(order) + 2):
        changed = False
        for name in order:
            node = graph.nodes[name]
            try:
                o = _forward(node, incoming(name))
            except _Mismatch:
                o = None
            if o is not None and out.get(name) != o:
                out[name] = o
                changed = True
        if not changed:
            break

    problems: list[ShapeProblem] = []
    for name in order:
        node = graph.nodes[name]
        known = [(q, out[q]) for q in preds[name] if q in out]
        x = known[0][1] if known else None
        distinct = {s for _, s in known}
        if len(distinct) > 1:
            desc = ", ".join(f"'{q}' {s}" for q, s in known)
            problems.append(
                ShapeProblem(name, f"several inputs with different shapes are summed here: {desc}")
            )
        expected = _expected_input(node)
        if node.kind == "Output":
            expected = _shape_param(node.params.get("shape"))
        if expected is not None and x is not None and len(distinct) == 1 and x != expected:
            src = known[0][0]
            what = "declares shape" if node.kind == "Output" else "expects input shape"
            problems.append(
                ShapeProblem(
                    name,
                    f"input from '{src}' has shape {x} but {node.kind} '{name}' {what} {expected}",
                    declared_only=node.kind == "Output",
                )
            )
        try:
            _forward(node, x)
        except _Mismatch as exc:
            problems.append(ShapeProblem(name, str(exc)))
        node.input_shape = x if x is not None else expected
        node.output_shape = out.get(name)
    return problems
