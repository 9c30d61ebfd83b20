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


# ================================================================ snnTorch, rockpool, spikingjelly
#: snnTorch 1.0's ``export_to_nir`` writes every time constant with this dt (``tau = dt/(1-beta)``).
SNNTORCH_EXPORT_DT = 1e-4
#: The input a forced spike receives in the rewrite of snnTorch's "zeroed step" reset (see
#: :func:`snntorch_to_nir`); exact while the layer's own input stays above ``threshold - FORCE``.
FORCE = 1e20
#: snnTorch reset mechanisms, plus "file" (the file does not say: snnTorch's default, subtract).
SNNTORCH_RESETS = ("file", "subtract", "zero", "none")


def _nshape(node: Any) -> tuple[int, ...]:
    """A neuron node's shape: the inferred one (shared scalar parameters take it from the input),
    else its parameters'."""
    if node.output_shape is not None:
        return tuple(int(d) for d in node.output_shape)
    return neuron_shape(node)


def _rewire(g: Graph, name: str, entry: str, nodes: list) -> None:
    """Replace node ``name`` by ``nodes`` (``Node`` objects, inserted at its place in node order):
    edges into ``name`` go to ``entry``; edges out of it leave from the node still named ``name``."""
    from .ir import Node  # noqa: F401 - documented type of ``nodes``

    order = list(g.nodes.items())
    g.nodes.clear()
    for key, node in order:
        if key == name:
            for n in nodes:
                g.nodes[n.name] = n
        else:
            g.nodes[key] = node
    g.edges[:] = [(s, entry if d == name else d) for s, d in g.edges]


def _spiking_to_threshold(
    g: Graph,
    node: Any,
    *,
    dt: float,
    discretization: str,
    loop_weight: np.ndarray | None,
    scale: float | np.ndarray = 1.0,
) -> list[str]:
    """Rewrite spiking ``node`` (IF, LIF, CubaLIF) as its membrane without reset (I, LI, or LI
    synapse -> LI membrane), a ``Threshold`` emitting the spikes, and, when ``loop_weight`` is
    given, a elementwise ``Scale`` from the spikes back into the membrane (read one step later):
    ``v[t] += loop_weight * z[t-1]`` (in input units of the membrane). ``scale`` != 1 adds a
    ``Scale`` on the output (graded spikes). The node's name stays on the node whose output is
    the spikes. Returns the new node names."""
    from .ir import Node

    name, p = node.name, node.params
    shape = _nshape(node)
    theta = np.broadcast_to(np.asarray(p["v_threshold"], dtype=float), shape).copy()
    out_name = name if np.all(np.asarray(scale) == 1.0) else f"{name}.spikes"
    new: list = []
    if node.kind == "CubaLIF":
        w_in = p.get("w_in")
        w_in = np.ones(shape) if w_in is None else np.broadcast_to(np.asarray(w_in, float), shape).copy()
        new.append(
            Node(
                f"{name}.syn",
                "LI",
                {"tau": np.asarray(p["tau_syn"], float), "r": w_in, "v_leak": _syn_leak(node, w_in)},
            )
        )
        mem = Node(
            f"{name}.mem",
            "LI",
            {
                "tau": np.asarray(p["tau_mem"], float),
                "r": np.asarray(p["r"], float),
                "v_leak": np.asarray(p["v_leak"], float),
            },
        )
        entry = f"{name}.syn"
    elif node.kind == "LIF":
        mem = Node(
            f"{name}.mem",
            "LI",
            {
                "tau": np.asarray(p["tau"], float),
                "r": np.asarray(p["r"], float),
                "v_leak": np.asarray(p["v_leak"], float),
            },
        )
        entry = mem.name
    else:  # IF
        mem = Node(f"{name}.mem", "I", {"r": np.broadcast_to(np.asarray(p["r"], float), shape).copy()})
        entry = mem.name
    new.append(mem)
    new.append(Node(out_name, "Threshold", {"threshold": theta}))
    edges = [(n.name, m.name) for n, m in zip(new[:-2], new[1:-1])] + [(mem.name, out_name)]
    if loop_weight is not None:
        w = np.broadcast_to(np.asarray(loop_weight, dtype=float), shape)
        new.append(Node(f"{name}.reset", "Scale", {"scale": w.copy()}))
        edges += [(out_name, f"{name}.reset"), (f"{name}.reset", mem.name)]
    if out_name != name:
        new.append(Node(name, "Scale", {"scale": np.broadcast_to(np.asarray(scale, float), shape).copy()}))
        edges.append((out_name, name))
    _rewire(g, name, entry, new)
    g.edges.extend(edges)
    return [n.name for n in new]


def _membrane_coeffs(node: Any, dt: float, discretization: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, gain) of the membrane of a spiking node: ``v = a v + gain * input``."""
    from .reference_ops import decay_gain

    p, shape = node.params, _nshape(node)
    if node.kind == "IF":
        return np.ones(shape), np.broadcast_to(dt * np.asarray(p["r"], float), shape)
    tau = p["tau"] if node.kind == "LIF" else p["tau_mem"]
    a, g = decay_gain(np.asarray(tau, float), dt, discretization)
    return np.broadcast_to(a, shape), np.broadcast_to(g * np.asarray(p["r"], float), shape)


def _zeroed_step(g: Graph, node: Any, *, scale: float | np.ndarray = 1.0) -> list[str]:
    """snnTorch's delayed zero reset of Synaptic, RLeaky and RSynaptic: after a spike at t-1 the
    whole step t is zeroed (``mem[t] = (1 - z[t-1]) * (beta mem[t-1] + input[t])``: the input of
    that step is lost, and no spike). NIR cannot multiply, so: the membrane is a LIF resetting to
    0 (``X.mem``; a CubaLIF's synapse split off as LI ``X.syn``); a true spike at t-1 *forces* a
    spike of ``X.mem`` at t (input ``FORCE``), which resets it to 0 at the end of t, as snnTorch;
    the forced spike is removed from the output by ``z[t] = n[t] - z[t-1]`` (a Scale node with a
    one-step back-edge onto itself; exact, as n[t] = 1 whenever z[t-1] = 1)."""
    from .ir import Node

    name, p = node.name, node.params
    shape = _nshape(node)
    one = np.ones(shape)
    new: list = []
    lif_p = {
        "tau": np.asarray(p["tau"] if node.kind == "LIF" else p["tau_mem"], float),
        "r": np.asarray(p["r"], float),
        "v_leak": np.asarray(p["v_leak"], float),
        "v_threshold": np.asarray(p["v_threshold"], float),
        "v_reset": np.zeros(shape),
    }
    if node.kind == "CubaLIF":
        w_in = p.get("w_in")
        w_in = np.ones(shape) if w_in is None else np.broadcast_to(np.asarray(w_in, float), shape).copy()
        new.append(
            Node(
                f"{name}.syn",
                "LI",
                {"tau": np.asarray(p["tau_syn"], float), "r": w_in, "v_leak": _syn_leak(node, w_in)},
            )
        )
    new.append(Node(f"{name}.mem", "LIF", lif_p))
    out_name = name if np.all(np.asarray(scale) == 1.0) else f"{name}.spikes"
    new.append(Node(out_name, "Scale", {"scale": one.copy()}))
    new.append(Node(f"{name}.refractory", "Scale", {"scale": -one}))
    new.append(Node(f"{name}.force", "Scale", {"scale": FORCE * one}))
    entry = new[0].name
    edges = []
    if node.kind == "CubaLIF":
        edges.append((f"{name}.syn", f"{name}.mem"))
    edges += [
        (f"{name}.mem", out_name),
        (out_name, f"{name}.refractory"),
        (f"{name}.refractory", out_name),
        (out_name, f"{name}.force"),
        (f"{name}.force", f"{name}.mem"),
    ]
    if out_name != name:
        new.append(Node(name, "Scale", {"scale": np.broadcast_to(np.asarray(scale, float), shape).copy()}))
        edges.append((out_name, name))
    _rewire(g, name, entry, new)
    g.edges.extend(edges)
    return [n.name for n in new]


def _in_cycle(g: Graph, name: str) -> bool:
    """True when ``name`` reaches itself through edges (an RLeaky/RSynaptic recurrence)."""
    seen, stack = set(), [d for s, d in g.edges if s == name]
    while stack:
        n = stack.pop()
        if n == name:
            return True
        if n in seen:
            continue
        seen.add(n)
        stack.extend(d for s, d in g.edges if s == n)
    return False


def _fold_recurrent_bias(g: Graph, notes: list[str], cuba: bool = True) -> None:
    """snnTorch adds ``recurrent(spk[t-1])`` from step 0 on, where ``spk[-1] = 0``: a recurrent
    Affine's bias arrives at t = 0 as well, while a back-edge reads zeros at t = 0. The bias is moved
    into the neuron as a constant input: LIF ``v_leak += r * b``; for a CubaLIF it goes to its
    synapse (``metadata['snntorch_syn_bias']``, read when the node is rewritten into LI synapse +
    membrane; the neurons form keeps the Affine, off by the bias at t = 0 only)."""
    for name, node in list(g.nodes.items()):
        if node.kind != "Affine" or node.params.get("bias") is None:
            continue
        preds = [s for s, d in g.edges if d == name]
        succs = [d for s, d in g.edges if s == name]
        if len(preds) != 1 or succs != preds or g.nodes[preds[0]].kind not in ("LIF", "CubaLIF"):
            continue
        if g.nodes[preds[0]].kind == "CubaLIF" and not cuba:
            continue
        nrn = g.nodes[preds[0]]
        b = np.asarray(node.params["bias"], dtype=float)
        shape = _nshape(nrn)
        if nrn.kind == "LIF":
            nrn.params["v_leak"] = np.broadcast_to(
                np.asarray(nrn.params["v_leak"], float) + np.asarray(nrn.params["r"], float) * b, shape
            ).copy()
        else:
            nrn.metadata = dict(nrn.metadata)
            nrn.metadata["snntorch_syn_bias"] = np.broadcast_to(b, shape).copy()
        node.kind = "Linear"
        node.params = {"weight": node.params["weight"]}
        notes.append(
            f"{name}: the recurrent bias reaches {preds[0]} from step 0 in snnTorch -> a constant input of "
            f"{preds[0]}; {name} a Linear"
        )


def _syn_leak(node: Any, w_in: np.ndarray) -> np.ndarray:
    """The synapse's constant input (a recurrent bias folded by :func:`_fold_recurrent_bias`)."""
    b = node.metadata.get("snntorch_syn_bias") if isinstance(node.metadata, dict) else None
    return np.zeros_like(w_in) if b is None else np.asarray(b, float) * w_in


def snntorch_to_nir(
    graph: Graph, *, reset: str = "file", form: str = "exact", reset_delay: bool = True
) -> Translation:
    """What snnTorch 1.0 computes for a graph in its ``export_to_nir`` form, as NIR.

    snnTorch 1.0 rules (``snntorch/_neurons/{leaky,synaptic,rleaky,rsynaptic,neurons}.py``,
    ``snntorch/export_nir.py``):

    * the exporter writes ``Leaky(beta)`` as LIF ``tau = dt/(1-beta)``, ``r = tau/dt``, ``v_leak = 0``,
      ``v_reset = 0`` with dt = 1e-4, ``Synaptic(alpha, beta)`` as CubaLIF with ``w_in = tau_syn/dt``;
      under forward Euler with dt = 1e-4 these are exactly ``syn = alpha syn + x``, ``mem = beta
      mem + syn``. ``RLeaky``/``RSynaptic`` become a subgraph with the recurrent Linear/Affine as
      a self-loop (one step late: snnTorch adds ``recurrent(spk[t-1])``). ``v_reset = 0`` is
      written whatever the reset mechanism, so a file does not say which reset was used.
    * spike ``mem - threshold > 0`` (strict, as NIR); spikes are scaled by ``graded_spikes_factor``.
    * ``reset_delay=True`` (the default): the reset of a spike at t-1 is applied at t:
      subtract: ``mem[t] = beta mem[t-1] + input[t] - z[t-1] threshold`` (the subtraction is not
      decayed, unlike NIR's); zero: Leaky ``mem[t] = beta (1 - z[t-1]) mem[t-1] + input[t]`` (=
      NIR's reset to zero), but Synaptic/RLeaky/RSynaptic zero the *whole* step t (its input is
      lost); none: no reset.
    * ``reset_delay=False``: the reset is applied in the step of the spike (NIR's subtract/zero).

    ``reset``: the reset mechanism where the graph does not record one per node (a file):
    ``"file"`` -> snnTorch's default ``"subtract"`` (said in the notes), or ``"subtract"``,
    ``"zero"``, ``"none"``. A graph read from snnTorch modules (:func:`neurocompile.load`) records
    each layer's mechanism, ``reset_delay`` and graded factor in its node metadata.

    ``reset_delay``: likewise for ``reset_delay`` (a file does not record it; the NIR paper's
    Braille graphs, for one, were trained with ``reset_delay=False``).

    ``form="exact"``: the rewrite is spike for spike (subtract and none: the membrane as LI, a
    Threshold and a elementwise Scale carrying ``-threshold * z[t-1]`` back; zeroed step: see
    :func:`_zeroed_step`). ``form="neurons"`` (for the chips, which need LIF/CubaLIF): spiking nodes
    stay as they are, the reset becomes NIR's (subtract or zero) and what differs is a note.
    """
    if reset not in SNNTORCH_RESETS:
        raise UnsupportedError(
            f"unknown snnTorch reset mechanism {reset!r}",
            parameter="reset",
            expected=" or ".join(SNNTORCH_RESETS),
        )
    if form not in ("exact", "neurons"):
        raise UnsupportedError(f"unknown form {form!r}", parameter="form", expected="exact or neurons")
    dt = SNNTORCH_EXPORT_DT
    g = _copy(graph)
    notes: list[str] = []
    unmodelled: list[str] = []
    if reset == "file":
        notes.append(
            "the file does not record snnTorch's reset mechanism (its exporter writes v_reset = 0 for "
            "all): snnTorch's default, reset_mechanism='subtract' with reset_delay=True, is assumed "
            "where a layer does not record it (reset='zero' or 'none' to choose another)"
        )
    mech_default = "subtract" if reset == "file" else reset
    _fold_recurrent_bias(g, notes, cuba=form == "exact")
    mechanisms = set()
    for name in [n for n, node in g.nodes.items() if node.kind in ("LIF", "CubaLIF", "IF")]:
        node = g.nodes[name]
        meta = node.metadata.get("snntorch") if isinstance(node.metadata.get("snntorch"), dict) else {}
        layer = meta.get("layer") or (
            ("RLeaky" if node.kind == "LIF" else "RSynaptic")
            if _in_cycle(g, name)
            else ("Leaky" if node.kind == "LIF" else "Synaptic")
        )
        mech = meta.get("reset_mechanism") or mech_default
        delay = bool(meta.get("reset_delay", reset_delay))
        gf = np.asarray(meta.get("graded_spikes_factor", 1.0), dtype=float)
        for flag in ("inhibition", "state_quant"):
            if meta.get(flag):
                unmodelled.append(f"{name}: {layer}({flag}=True) is not modelled")
        theta = np.asarray(node.params["v_threshold"], dtype=float)
        if np.any(theta <= 0) and mech == "zero":
            unmodelled.append(f"{name}: threshold <= 0 with the zero reset (a zeroed step would spike)")
        mechanisms.add(mech)
        if form == "neurons":
            if mech == "none":
                raise UnsupportedError(
                    f"snnTorch reset_mechanism='none' has no form with spiking neurons ({name})",
                    node=name,
                    parameter="reset",
                    expected="reset_mechanism 'subtract' or 'zero' for a chip",
                )
            node.params["v_reset"] = np.zeros(_nshape(node))
            if delay and (mech == "subtract" or layer != "Leaky"):
                notes.append(
                    f"{name}: {layer}'s delayed {mech} reset approximated by NIR's {mech} "
                    "in the step of the spike"
                )
            if not np.all(gf == 1.0):
                unmodelled.append(f"{name}: graded_spikes_factor != 1 is not applied in the neurons form")
            continue
        a, gain = _membrane_coeffs(node, dt, "forward")
        if mech == "none":
            _spiking_to_threshold(g, node, dt=dt, discretization="forward", loop_weight=None, scale=gf)
            notes.append(f"{name}: {layer} without reset -> its membrane as LI/I + Threshold")
        elif mech == "subtract":
            w = -theta / gain if delay else -a * theta / gain
            _spiking_to_threshold(g, node, dt=dt, discretization="forward", loop_weight=w, scale=gf)
            notes.append(
                f"{name}: {layer} subtract reset{' (delayed one step)' if delay else ''} -> membrane as "
                "LI/I + Threshold + elementwise Scale feeding -threshold * z[t-1] back"
            )
        elif delay and layer != "Leaky":
            _zeroed_step(g, node, scale=gf)
            notes.append(
                f"{name}: {layer}'s delayed zero reset zeroes the step after a spike -> LIF with a forced "
                "spike in that step, removed from the output (see conventions._zeroed_step)"
            )
        else:
            node.params["v_reset"] = np.zeros(_nshape(node))
            if not np.all(gf == 1.0):
                from .ir import Node

                spk = Node(f"{name}.spikes", node.kind, dict(node.params), dict(node.metadata))
                _rewire(
                    g,
                    name,
                    spk.name,
                    [spk, Node(name, "Scale", {"scale": np.broadcast_to(gf, _nshape(node)).copy()})],
                )
                g.edges.append((spk.name, name))
    sem_reset = "file"
    if form == "neurons" and "subtract" in mechanisms:
        if "zero" in mechanisms:
            raise UnsupportedError(
                "the graph mixes snnTorch subtract and zero resets; one simulator run has a "
                "single reset mode",
                parameter="reset",
                expected="one reset mechanism for all layers",
            )
        sem_reset = "subtract"
    return Translation(
        "snntorch",
        g,
        {"dt": dt, "discretization": "forward", "reset": sem_reset, "hop_delay": 0},
        tuple(notes),
        tuple(unmodelled),
        {"form": form, "reset_mechanisms": sorted(mechanisms)},
    )


def _lambert_w(c: np.ndarray) -> np.ndarray:
    """The principal branch of ``y exp(y) = c`` for c > 0 (Newton on log form; float64 exact)."""
    c = np.asarray(c, dtype=float)
    y = np.log1p(c)
    for _ in range(60):
        f = y + np.log(y) - np.log(c)
        y = np.maximum(y - f / (1.0 + 1.0 / y), 1e-300)
    return y


def rockpool_dt(graph: Graph) -> float | None:
    """The dt a rockpool ``to_nir`` export was made with: it writes ``r = tau exp(-dt/tau)/dt``, so
    ``dt = tau W(1/r)`` (Lambert W). None when the neurons disagree (not a rockpool export)."""
    dts = []
    for node in graph.nodes.values():
        if node.kind not in ("CubaLIF", "LIF", "LI"):
            continue
        tau = np.asarray(node.params.get("tau_mem", node.params.get("tau")), dtype=float)
        r = np.asarray(node.params.get("r"), dtype=float)
        if tau.size == 0 or r.size == 0 or np.any(r <= 0) or np.any(tau <= 0):
            return None
        d = tau * _lambert_w(1.0 / r)
        dts.extend(np.broadcast_to(d, np.broadcast_shapes(tau.shape, r.shape)).reshape(-1).tolist())
    if not dts:
        return None
    lo, hi = min(dts), max(dts)
    if hi - lo > 1e-6 * hi:
        return None
    return float(np.median(dts))


def rockpool_to_nir(graph: Graph, *, dt: float | None = None) -> Translation:
    """What rockpool 3.1 computes for a graph in its ``to_nir`` form, as NIR.

    rockpool 3.1 rules (``rockpool/nn/modules/torch/{lif_torch,exp_syn_torch,linear_torch,nir}.py``):

    * ``LIFTorch`` per step: ``isyn = beta (isyn + x + W_rec z[t-1])``, ``vmem = alpha vmem + isyn +
      bias``, ``z = floor(vmem/threshold)`` capped at ``max_spikes_per_dt`` (1 here: ``vmem >=
      threshold``), ``vmem -= z threshold``; ``alpha = exp(-dt/tau_mem)``, ``beta =
      exp(-dt/tau_syn)``. The exporter writes CubaLIF(tau_syn, tau_mem, r = tau_mem alpha/dt,
      v_leak = 0, w_in = 1): it drops ``bias`` and ``w_rec``.
    * NIR under ``exponential`` with dt gives ``u = beta u + (1-beta) w_in x`` and ``v = alpha v +
      (1-alpha)(v_leak + r u)``: the translation sets ``w_in = beta/(1-beta)``, ``r = 1/(1-alpha)``
      and ``v_leak = bias/(1-alpha)`` (a graph read from a module carries the bias in ``v_leak``; the
      exporter's 0 stays 0), reset by subtraction.
    * ``ExpSynTorch``: ``isyn = beta (isyn + x)``, exported as LI(tau, r = tau beta/dt): LI with
      ``r = beta/(1-beta)``. ``LIFNeuronTorch``: ``vmem = alpha vmem + x + bias``, then as LIFTorch;
      exported as LIF(tau, r = tau alpha/dt): LIF with ``r = 1/(1-alpha)``, ``v_leak = bias/(1-alpha)``.
    * ``LinearTorch``: ``x @ W (+ b)``, exported as Linear/Affine with ``W.T`` (unchanged).

    ``dt``: the module's (a graph read from a module records it), else recovered from ``r``
    (:func:`rockpool_dt`).
    """
    from .reference_ops import decay_gain

    g = _copy(graph)
    if dt is None:
        dt = graph.conventions.get("dt") if graph.conventions.get("framework") == "rockpool" else None
    notes: list[str] = []
    if dt is None:
        dt = rockpool_dt(graph)
        if dt is None:
            raise UnsupportedError(
                "cannot recover rockpool's dt from the neurons' r = tau exp(-dt/tau)/dt (they disagree)",
                parameter="dt",
                expected="a graph written by rockpool's to_nir, or dt=DT",
            )
        notes.append(f"dt = {dt:.6g} recovered from r = tau exp(-dt/tau)/dt")
    unmodelled = [
        "rockpool's default max_spikes_per_dt (2**16) emits floor(v/threshold) events per step; "
        "NIR spikes once (equal for max_spikes_per_dt=1)",
        "threshold v >= theta (rockpool) vs v > theta: equal without ties",
    ]
    for node in g.nodes.values():
        p = node.params
        if node.kind == "CubaLIF":
            a_s, _ = decay_gain(np.asarray(p["tau_syn"], float), dt, "exponential")
            a_m, _ = decay_gain(np.asarray(p["tau_mem"], float), dt, "exponential")
            shape = _nshape(node)
            p["w_in"] = np.broadcast_to(a_s / (1.0 - a_s), shape).copy()
            p["r"] = np.broadcast_to(1.0 / (1.0 - a_m), shape).copy()
            p["v_leak"] = np.broadcast_to(np.asarray(p["v_leak"], float) / (1.0 - a_m), shape).copy()
            p.pop("v_reset", None)
            notes.append(
                f"{node.name}: LIFTorch -> exponential CubaLIF, w_in = beta/(1-beta), r = 1/(1-alpha)"
            )
        elif node.kind == "LI":
            a, _ = decay_gain(np.asarray(p["tau"], float), dt, "exponential")
            p["r"] = np.broadcast_to(a / (1.0 - a), neuron_shape(node)).copy()
            notes.append(f"{node.name}: ExpSynTorch -> exponential LI, r = beta/(1-beta)")
        elif node.kind == "LIF":
            a_m, _ = decay_gain(np.asarray(p["tau"], float), dt, "exponential")
            shape = _nshape(node)
            p["r"] = np.broadcast_to(1.0 / (1.0 - a_m), shape).copy()
            p["v_leak"] = np.broadcast_to(np.asarray(p["v_leak"], float) / (1.0 - a_m), shape).copy()
            p.pop("v_reset", None)
            notes.append(f"{node.name}: LIFNeuronTorch -> exponential LIF, r = 1/(1-alpha)")
        elif node.kind == "IF":
            unmodelled.append(f"{node.name}: IF is not written by rockpool's exporter; kept as NIR")
            p.pop("v_reset", None)
    return Translation(
        "rockpool",
        g,
        {"dt": float(dt), "discretization": "exponential", "reset": "subtract", "hop_delay": 0},
        tuple(notes),
        tuple(unmodelled),
    )


def spikingjelly_to_nir(graph: Graph, *, dt: float | None = None, form: str = "exact") -> Translation:
    """What spikingjelly 2.0 computes for a graph read from its modules or written by its
    ``nir_exchange.export_to_nir``, as NIR.

    spikingjelly 2.0 (``activation_based/neuron/{integrate_and_fire,lif,plif,base_node}.py``):

    * ``IFNode``: ``v += x``. ``LIFNode(tau, decay_input)``: ``v += (x - (v - v_reset))/tau``;
      without ``decay_input`` ``v += x - (v - v_reset)/tau``. ``ParametricLIFNode``: the same with
      ``1/tau = sigmoid(w)``. The state starts at ``v_reset`` (0 for a soft reset) and leaks
      towards it. Spike ``v - theta >= 0`` (heaviside; ours ``>``: equal without ties); hard reset
      to ``v_reset`` in the step; soft reset (``v_reset=None``) ``v -= theta z``.
    * The module reader (:mod:`neurocompile.framework_modules`) writes dt = 1: IF ``r = 1``, LIF
      ``tau``, ``r = 1`` (or ``tau`` without ``decay_input``), already shifted by ``v_reset``
      (``v_leak = 0``, threshold ``theta - v_reset``, reset to 0), and records soft resets in the
      node metadata. spikingjelly's exporter writes the same with ``tau * dt``, ``r = 1/dt`` for IF,
      ``v_leak = v_reset`` and the unshifted threshold and ``v_reset`` (dt: its argument, default
      1e-4, not stored; soft reset refused): the translation shifts those nodes by their
      ``v_reset`` so that the state starting at 0 is spikingjelly's starting at ``v_reset``.
    * soft reset -> membrane as LI/I + Threshold + an elementwise Scale feeding ``-a theta z[t-1]``
      back (the subtraction then decays, as when it happens in the step of the spike). With
      ``form="neurons"`` (for the chips) soft-reset nodes stay IF/LIF and the run resets by
      subtraction (exact; a graph mixing soft and hard resets is refused: one run, one reset mode).
    """
    g = _copy(graph)
    notes: list[str] = []
    unmodelled = ["threshold v >= theta (spikingjelly heaviside) vs v > theta: equal without ties"]
    soft: list[str] = []
    hard: list[str] = []
    from_module = graph.conventions.get("framework") == "spikingjelly"
    if from_module:
        dt = 1.0
    elif dt is None:
        dt = 1e-4
        notes.append("dt = 1e-4, spikingjelly's export_to_nir default (the file does not store it)")
    for name in [n for n, node in g.nodes.items() if node.kind in ("IF", "LIF")]:
        node = g.nodes[name]
        meta = (
            node.metadata.get("spikingjelly") if isinstance(node.metadata.get("spikingjelly"), dict) else {}
        )
        if meta.get("soft_reset") and form == "neurons":
            node.params.pop("v_reset", None)
            soft.append(name)
            continue
        if meta.get("soft_reset"):
            a, gain = _membrane_coeffs(node, dt, "forward")
            theta = np.asarray(node.params["v_threshold"], dtype=float)
            _spiking_to_threshold(g, node, dt=dt, discretization="forward", loop_weight=-a * theta / gain)
            notes.append(f"{name}: soft reset (v_reset=None) -> membrane + Threshold + -theta feedback")
            continue
        shape = _nshape(node)
        vr = np.broadcast_to(np.asarray(node.params.get("v_reset", 0.0), dtype=float), shape).copy()
        if not meta and np.any(vr != 0):
            node.params["v_threshold"] = np.asarray(node.params["v_threshold"], float) - vr
            if node.kind == "LIF":
                node.params["v_leak"] = np.asarray(node.params["v_leak"], float) - vr
            notes.append(f"{name}: v shifted by v_reset (spikingjelly starts at v_reset, NIR at 0)")
            vr = np.zeros(shape)
        node.params["v_reset"] = vr
        hard.append(name)
    if soft and hard:
        raise UnsupportedError(
            f"the graph mixes spikingjelly soft resets ({soft[0]}) and hard resets ({hard[0]}); "
            "one run on a chip has a single reset mode",
            node=soft[0],
            parameter="reset",
            expected="all layers with v_reset=None, or all with a v_reset value",
        )
    return Translation(
        "spikingjelly",
        g,
        {
            "dt": float(dt),
            "discretization": "forward",
            "reset": "subtract" if soft else "file",
            "hop_delay": 0,
        },
        tuple(notes),
        tuple(unmodelled),
    )


__all__ += ["snntorch_to_nir", "rockpool_to_nir", "rockpool_dt", "spikingjelly_to_nir", "SNNTORCH_EXPORT_DT"]
