"""Framework conventions as explicit graph translations.

norse and sinabs do not execute NIR graphs with NIR's own semantics (``docs/reference/nir.md``
§2.2). Instead of teaching the reference simulator their habits, each function here returns
a :class:`Translation`: a new :class:`~neurocompile.ir.Graph` whose *NIR semantics* equal
what the framework computes, plus the simulator options (dt, discretization, reset,
hop_delay) under which that holds, plus the list of framework behaviours that cannot be
expressed in NIR at all (so a comparison can avoid or assert them). The simulator itself
stays NIR-only; ``tests/test_frameworks.py`` checks every translation spike for spike
against the real frameworks.

Verified against norse 1.1.0 (``norse/torch/utils/import_nir.py``, ``LIFBoxCell``,
``IAFCell``, ``LIBoxCell``) and sinabs 3.1.3 (``sinabs/nir.py``, ``LIFSqueeze``,
``IAFSqueeze``, ``SingleSpike``/``MultiSpike``, ``MembraneSubtract``), both running through
nirtorch 2.0.2's ``GraphExecutor``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import UnsupportedError
from .ir import Graph
from .reference_ops import neuron_shape

#: Structural nodes both importers map (norse: Affine, Linear, Conv2d, Flatten, SumPool2d;
#: sinabs adds Conv1d).
_NORSE_STRUCTURAL = {"Input", "Output", "Affine", "Linear", "Conv2d", "Flatten", "SumPool2d"}
_SINABS_STRUCTURAL = {"Input", "Output", "Affine", "Conv1d", "Conv2d", "Flatten", "SumPool2d"}


@dataclass(frozen=True)
class Translation:
    """A graph rewritten so that NIR semantics reproduce a framework's execution."""

    framework: str
    graph: Graph
    #: keyword arguments for :func:`neurocompile.simulate`
    semantics: dict[str, Any]
    #: what was rewritten, one sentence per rule applied
    notes: tuple[str, ...] = ()
    #: framework behaviour NIR cannot express (the comparison must avoid or assert it)
    unmodelled: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "semantics": dict(self.semantics),
            "notes": list(self.notes),
            "unmodelled": list(self.unmodelled),
        }


def _copy(graph: Graph) -> Graph:
    g = copy.deepcopy(graph)
    g.legacy_reset = ()  # every spiking node gets an explicit v_reset below (or reset is not 'file')
    return g


def norse_to_nir(graph: Graph, *, dt: float, reset_method: str = "value") -> Translation:
    """What ``norse.torch.from_nir(graph, dt=dt, reset_method=...)`` computes, as NIR.

    norse 1.1.0 rules (read from its importer and cells):

    * LIF -> ``LIFBoxCell``: forward Euler ``v += dt/tau (v_leak - v + x)``: **r is ignored**
      (-> r = 1); the file's ``v_reset`` is ignored, reset is always to 0 (``reset_method``
      is not passed to LIF).
    * IF -> ``IAFCell``: ``v += x``, dt and r ignored (-> r = 1/dt); reset to 0.
    * CubaLIF -> ``w_in * x`` into ``LIBoxCell(tau_syn, v_leak)`` -> ``* r`` -> ``LIFBoxCell``:
      NIR's CubaLIF with the new current; ``reset_method`` (``"value"`` -> 0, ``"subtract"``)
      applies here only. The synapse leaks towards the *membrane* ``v_leak`` (unmodelled
      unless v_leak = 0).
    * every cell starts at ``v = v_leak`` (NIR/ours: 0) -- unmodelled unless v_leak = 0.
    * LI is not mapped: the node and its edges are silently dropped (nir.md §2.2 bug).
    * threshold ``v - theta > 0`` (strict, like ours); box input; nirtorch back-edges read
      the previous step (our hop_delay 0).
    """
    g = _copy(graph)
    notes: list[str] = []
    unmodelled: list[str] = []
    kinds = {n.kind for n in g.nodes.values()}
    if reset_method not in ("value", "subtract"):
        raise UnsupportedError(
            f"unknown norse reset_method {reset_method!r}",
            parameter="reset_method",
            expected="value or subtract",
        )
    if reset_method == "subtract" and kinds & {"LIF", "IF"}:
        raise UnsupportedError(
            "norse applies reset_method only to CubaLIF; LIF/IF still reset to 0, and one "
            "simulator run has a single reset mode",
            parameter="reset_method",
            expected="value, or a graph whose spiking nodes are all CubaLIF",
        )
    for node in g.nodes.values():
        if node.kind == "LIF":
            if not np.allclose(node.params["r"], 1.0):
                notes.append(f"{node.name}: r ignored by norse -> r = 1")
            node.params["r"] = np.ones_like(np.asarray(node.params["r"], dtype=float))
        elif node.kind == "IF":
            node.params["r"] = np.full_like(np.asarray(node.params["r"], dtype=float), 1.0 / dt)
            notes.append(f"{node.name}: IAFCell adds x without dt or r -> r = 1/dt")
        elif node.kind in ("LI",):
            unmodelled.append(
                f"{node.name}: LI is not mapped by norse 1.1.0; the node and its edges are dropped"
            )
        elif node.kind not in _NORSE_STRUCTURAL | {"CubaLIF"}:
            unmodelled.append(f"{node.name}: {node.kind} is not mapped by norse 1.1.0")
        if node.kind in ("LIF", "IF", "CubaLIF"):
            node.params["v_reset"] = np.zeros(neuron_shape(node))
        if node.kind in ("LIF", "CubaLIF") and not np.allclose(node.params["v_leak"], 0.0):
            unmodelled.append(
                f"{node.name}: norse starts v at v_leak (NIR: 0)"
                + (" and leaks the synapse towards v_leak" if node.kind == "CubaLIF" else "")
            )
        if node.kind == "Flatten":
            unmodelled.append(
                f"{node.name}: nirtorch passes start_dim unshifted, so with a batch dim "
                "Flatten(start_dim=0) also flattens the batch (works for batch 1 only)"
            )
    reset = "file" if reset_method == "value" else "subtract"
    return Translation(
        "norse",
        g,
        {"dt": dt, "discretization": "forward", "reset": reset, "hop_delay": 0},
        tuple(notes),
        tuple(unmodelled),
    )


def sinabs_to_nir(graph: Graph) -> Translation:
    """What ``sinabs.from_nir(graph, batch_size=...)`` computes (with ``SingleSpike``), as NIR.

    sinabs 3.1.3 rules:

    * τ is in **time steps** (dt = 1): ``alpha = exp(-1/tau)``; ``LIFSqueeze(norm_input=False)``
      computes ``v = alpha v + x`` -- no (1 - alpha) input factor and r ignored. NIR's LIF
      under ``exponential`` gives ``v = alpha v + (1 - alpha)(v_leak + R x)``, so the
      translation sets ``R = 1/(1 - alpha)`` (v_leak must be 0; sinabs refuses others). LI
      (``ExpLeakSqueeze``) likewise.
    * IF -> ``IAFSqueeze``: ``v += x`` (r ignored -> r = 1 with dt = 1), but with
      ``min_v_mem = -v_threshold``: v is clipped from below at -theta -- unmodelled.
    * reset by subtraction (``MembraneSubtract``); threshold ``v >= theta`` (ours ``>``;
      equal only when ties cannot occur, e.g. random float weights); the default
      ``MultiSpike`` emits floor(v/theta) spikes -- the comparison must switch layers to
      ``SingleSpike``.
    * CubaLIF, CubaLI, I, Threshold, Delay, Scale, Linear, AvgPool2d: not mapped.
    * Squeeze layers process all time steps in one call, so a cycle in the graph cannot
      recur over time (no recurrent cross-check with sinabs).
    """
    g = _copy(graph)
    notes: list[str] = [
        "tau in time steps: dt = 1",
        "reset by subtraction (MembraneSubtract)",
        "threshold v >= theta (sinabs) vs v > theta: equal without ties",
        "MultiSpike must be replaced by SingleSpike",
    ]
    unmodelled: list[str] = []
    for node in g.nodes.values():
        if node.kind in ("LIF", "LI"):
            tau = np.asarray(node.params["tau"], dtype=float)
            if not np.allclose(node.params["v_leak"], 0.0):
                unmodelled.append(f"{node.name}: v_leak != 0 (sinabs refuses it)")
            node.params["r"] = np.broadcast_to(1.0 / (1.0 - np.exp(-1.0 / tau)), neuron_shape(node)).copy()
            notes.append(f"{node.name}: v = alpha v + x -> exponential with r = 1/(1 - exp(-1/tau))")
        elif node.kind == "IF":
            node.params["r"] = np.ones_like(np.asarray(node.params["r"], dtype=float))
            unmodelled.append(f"{node.name}: IAFSqueeze clips v from below at -v_threshold (min_v_mem)")
        elif node.kind == "Flatten":
            notes.append(
                f"{node.name}: sinabs shifts start_dim/end_dim by one for the batch dim (as NIR intends)"
            )
        elif node.kind not in _SINABS_STRUCTURAL:
            unmodelled.append(f"{node.name}: {node.kind} is not mapped by sinabs 3.1.3")
        if node.kind in ("LIF", "IF"):
            node.params.pop("v_reset", None)
    return Translation(
        "sinabs",
        g,
        {"dt": 1.0, "discretization": "exponential", "reset": "subtract", "hop_delay": 0},
        tuple(notes),
        tuple(unmodelled),
    )


__all__ = ["Translation", "norse_to_nir", "sinabs_to_nir"]
