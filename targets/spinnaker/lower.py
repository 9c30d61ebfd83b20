"""Lower a :class:`~neurocompile.netlist.Netlist` to a ``spinnaker`` Program (PyNN on sPyNNaker 1!7.4.1).

Timing: one graph step (``dt``, graph units) is one tick of ``tick_ms`` ms (the PyNN timestep); a
graph time constant ``tau`` becomes ``tau / dt * tick_ms`` ms (recorded per population in
``program.quantization`` and ``provenance['time_conversion']``). Every connection gets the chip's
hop: PyNN delay = netlist delay + 1 tick (SpiNNaker's minimum delay of 1 tick IS the hop delay
of ``hop_delay=1``).

Neuron mapping. NIR's discrete LIF is ``v' = a v + g (v_leak + r x)``. sPyNNaker's LIF is the
closed form ``V' = a_c V + (1 - a_c)(v_rest + R I)`` with ``a_c = expk(-ts/tau_m)`` computed on
chip, so it is EXACTLY NIR's ``exponential`` discretization (``a = e^{-dt/tau}``, ``g = 1 - a``).
Under ``forward`` Euler NIR has ``a = 1 - dt/tau``, ``g = dt/tau = 1 - a``: with the nominal
conversion the chip would decay by ``e^{-dt/tau}`` instead of ``1 - dt/tau`` (per step a relative
error of about ``(dt/tau)^2 / 2`` on the leak). By default (``forward_tau="matched"``) the lowering
uses ``tau_ms = -tick_ms / ln(1 - dt/tau)`` instead, for which ``e^{-tick/tau_ms} = 1 - dt/tau``:
forward Euler is then matched exactly too (finding ``spinnaker-forward-tau``); ``"nominal"``
keeps ``tau/dt*tick_ms`` and reports the mismatch. The same holds for CubaLIF's synapse: the
chip's exponential synapse adds ``w * init`` with ``init = (tau_s/dt)(1 - e^{-dt/tau_s})`` and then
decays by ``e^{-dt/tau_s}``, i.e. NIR's ``u' = a_s u + g_s w_in x`` up to a constant gain that the
weights absorb.

* LIF -> ``IF_curr_delta``; CubaLIF -> ``IF_curr_exp`` (``tau_syn_E = tau_syn_I``); IF -> ``IF_curr_delta``
  with the smallest leak that keeps the LIF asymptote ``alpha = I R + v_rest`` inside s16.15 for
  the worst-case input (at least ``exp_TC = 1 - 2^-14``; finding ``spinnaker-if-leak`` with the
  decay over 1000 ticks); the voltage scale shrinks when even that is not enough
  (``spinnaker-v-range``); LI / CubaLI / I readouts -> the same
  models with an unreachable threshold, ``v`` recorded (``OutputSpec("v", scale)``).
* Units: v in mV is ``sv * v_nir`` with ``sv = 64 / max|v_threshold|`` per population (1 for
  readouts), ``v_rest = sv*v_leak``, ``v_thresh = sv*v_threshold``, ``v_reset`` = ``sv*v_reset``
  (reset "value") or 0 (reset "zero"). ``R = tau_m/cm`` is chosen near ``1/(1 - a_c)`` (so one nA
  moves V by about one mV per tick) and the chip's actual ``a_c``, ``R``, ``init`` (from
  :mod:`.fixed`) are used to compute weights: a delta synapse weight is ``sv*G*w*tick_ms /
  ((1-a_c) R)`` nA with the NIR gain ``G = g r`` (``dt r`` for IF/I), an exp synapse weight
  ``k g_s w_in w / init`` with ``k = sv g r / ((1-a_c) R)``. Biases become ``i_offset``.
* Weights are split by sign into an excitatory and an inhibitory FromList projection.
  Ring-buffer shifts (``ring_buffer_shifts="worst-case"``, default): per receptor the smallest
  shift whose range holds the largest per-neuron sum of |w| (all presynaptic neurons firing in
  the same tick), so the ring buffer cannot saturate; ``"host"`` uses sPyNNaker's own statistical
  rule (30 spikes/s, sigma 5), which can saturate for dense, active layers. Either way they are
  pinned in PyNN with ``max_expected_summed_weight``.

Reset by subtraction is not available (``V = v_reset`` only): the rules refuse it as on Loihi 2
(``spinnaker-reset-subtract``, offering ``reset="zero"`` with its measured effect); a legacy file
compiled with ``reset="zero"`` carries ``reset-approximated`` (the same measurement).

Findings (approximations, each with its effect): threshold ``>=`` instead of ``>``
(``spinnaker-threshold-ge``, only equality differs); CubaLIF bias as ``i_offset`` skips the
synaptic ramp-up (``spinnaker-cuba-bias``); ``v`` is recorded before the tick's update, so a v
readout lags the float reference by one step (``spinnaker-v-before-update``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocompile.check import Finding
from neurocompile.compiler import timed
from neurocompile.errors import UnsupportedError
from neurocompile.netlist import Netlist, NeuronGroup
from neurocompile.program import OutputSpec, Program
from neurocompile.semantics import Semantics

from . import fixed, spec
from .builder import SpiNNakerBuilder, shifts_from_max_weights

#: mV that the largest |threshold| of a spiking population maps to.
THRESHOLD_MV = 64.0
#: an unreachable threshold for readouts (mV, inside s16.15).
READOUT_THRESHOLD_MV = 32000.0
#: largest R (MOhm) the lowering uses (R = tau_m / cm must fit s16.15).
R_MAX = 2.0**14
#: |alpha| = |I*R + v_rest| (the LIF's asymptote, an s16.15 intermediate) is kept below this (mV).
ALPHA_LIMIT_MV = 16384.0
#: IF/I: the leak per tick is the smallest the chip expresses (exp_TC = 1 - 2^-14) unless the
#: worst-case input needs more to keep alpha in range; it never exceeds IF_LEAK_MAX (then the
#: voltage scale shrinks instead).
IF_LEAK_MAX = 2.0**-9


def _f(code: str, severity: str, node: str | None, message: str) -> Finding:
    return Finding(code, severity, node, " ".join(message.split()))


def _uniform(g: NeuronGroup, key: str, default: float | None = None) -> float:
    """The one value of ``key`` in group ``g`` (``default`` when absent). That it is present is the
    rule ``spinnaker-missing-param`` (``rules.py``); a group where it differs between neurons is
    mapped per combination of values (:func:`_per_neuron_constants`), each of them uniform."""
    arr = g.params.get(key)
    if arr is None:
        return float(default)  # type: ignore[arg-type]
    arr = np.asarray(arr, np.float64).reshape(-1)
    return float(arr[0]) if arr.size else float(default or 0.0)


def uniform_keys(g: NeuronGroup) -> list[tuple[str, float | None]]:
    """``[(parameter, default)]`` that :func:`_population_constants` reads as one value per group,
    in the order it reads them (the rule ``spinnaker-missing-param`` checks they are present; where
    they differ between neurons :func:`_per_neuron_constants` maps each combination)."""
    cuba = g.kind in ("CubaLIF", "CubaLI")
    keys: list[tuple[str, float | None]] = []
    if g.kind in ("LIF", "LI", "CubaLIF", "CubaLI"):
        keys += [("tau_mem" if cuba else "tau", None), ("v_leak", 0.0)]
    elif g.spiking:
        keys.append(("v_threshold", None))
    if g.spiking:
        keys.append(("v_threshold", None))
        if g.reset == "value":
            keys.append(("v_reset", 0.0))
    if cuba:
        keys.append(("tau_syn", None))
    return list(dict.fromkeys(keys))


def _tau_ms(
    tau: float, dt: float, tick_ms: float, disc: str, mode: str, node: str, key: str
) -> tuple[float, float]:
    """(tau_ms for PyNN, the decay a the NIR step has)."""
    if disc == "forward":
        a = 1.0 - dt / tau
        if mode == "matched":
            if a <= 0:
                raise UnsupportedError(
                    f"forward Euler with dt/{key} = {dt / tau:g} >= 1 has no exponential match",
                    node=node,
                    parameter=key,
                    expected=f"{key} > dt",
                )
            return -tick_ms / math.log(a), a
        return tau / dt * tick_ms, a
    return tau / dt * tick_ms, math.exp(-dt / tau)


# ---------------------------------------------------------------------------- analysis passes
@dataclass(frozen=True)
class Planned:
    """One projection the build will make: its name, connection, receptor and synapses."""

    name: str
    conn: Any
    receptor: str
    weights: np.ndarray  # |w| in nA of the projection's synapses
    delays: np.ndarray  # PyNN delays (netlist delay + the hop tick)
    sel: np.ndarray | None  # indices of its synapses in the connection (None: all, a plastic projection)
    plastic: tuple | None = None  # (weight node, rule) of a plastic projection
    rule_weight_scale: float | None = None
    units: str | None = None


@dataclass
class Analysis:
    """What the lowering computes before building (shared with the rules through the context)."""

    dt: float
    disc: str
    tick_ms: float
    forward_tau: str
    ring_buffer_shifts: str
    plastic: dict[str, tuple]
    info: dict[str, dict[str, Any]]  # per group: the population constants
    conv: dict[str, Any]  # provenance['time_conversion']
    conn_w: dict[str, np.ndarray]  # per connection: signed synapse weights in nA
    shifts_of: dict[str, list[int]]  # per group: pinned ring-buffer shifts (worst-case mode)
    projections: list[Planned]
    findings: list[Finding] = field(default_factory=list)  # population, then projection findings


def _sign_indices(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indices of ``w > 0`` and of the rest, in order: gathering with them gives what the
    boolean masks give, several times faster for mixed signs (no branch per element)."""
    pos = w > 0
    return np.flatnonzero(pos), np.flatnonzero(~pos)


def check_options(tick_ms: float, forward_tau: str, ring_buffer_shifts: str) -> None:
    """The target options ``lower`` takes (argument errors, before any rule)."""
    if tick_ms not in spec.TICK_MS_CHOICES:
        raise UnsupportedError(
            f"tick_ms={tick_ms:g}",
            parameter="tick_ms",
            expected=" or ".join(f"{t:g}" for t in spec.TICK_MS_CHOICES),
        )
    if forward_tau not in ("matched", "nominal"):
        raise UnsupportedError(
            f"forward_tau={forward_tau!r}", parameter="forward_tau", expected="matched or nominal"
        )
    if ring_buffer_shifts not in ("worst-case", "host"):
        raise UnsupportedError(
            f"ring_buffer_shifts={ring_buffer_shifts!r}",
            parameter="ring_buffer_shifts",
            expected="worst-case or host",
        )


def plastic_connections(ctx) -> dict[str, tuple]:
    """``{connection: (weight node, rule)}`` of the learning rules (once per context)."""
    from neurocompile.learning.attach import match_connections

    return ctx.memo(
        "spinnaker.plastic", lambda: match_connections(ctx.netlist, ctx.learning) if ctx.learning else {}
    )


def population_constants(
    netlist: Netlist, dt: float, tick_ms: float, disc: str, forward_tau: str
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[Finding]]:
    """Per group the PyNN constants (:func:`_population_constants`) from its worst-case input."""
    findings: list[Finding] = []
    conv: dict[str, Any] = {
        "dt_graph": dt,
        "tick_ms": tick_ms,
        "discretization": disc,
        "forward_tau": forward_tau,
        "populations": {},
    }
    peak = {n: np.zeros((2, g.size)) for n, g in netlist.groups.items()}
    for c in netlist.connections:
        pos, neg = _sign_indices(c.weight)
        np.add.at(peak[c.post][0], c.post_idx[pos], c.weight[pos])
        np.add.at(peak[c.post][1], c.post_idx[neg], -c.weight[neg])
    info: dict[str, dict[str, Any]] = {}
    for g in netlist.groups.values():
        p_in = np.maximum(peak[g.name][0], peak[g.name][1]) + np.abs(
            np.asarray(g.bias, np.float64).reshape(-1)
        )
        if _varying(g):
            info[g.name] = _per_neuron_constants(g, dt, tick_ms, disc, forward_tau, findings, conv, p_in)
        else:
            info[g.name] = _population_constants(g, dt, tick_ms, disc, forward_tau, findings, conv, p_in)
    return info, conv, findings


def _varying(g: NeuronGroup) -> bool:
    """Whether a parameter the population has once in PyNN's scalar form differs between neurons."""
    for key, _ in uniform_keys(g):
        arr = g.params.get(key)
        if arr is not None:
            arr = np.asarray(arr, np.float64).reshape(-1)
            if arr.size and not np.all(arr == arr[0]):
                return True
    return False


#: constants of :func:`_population_constants` that are one value per neuron (the others are the
#: same for the whole group: kind, model)
_PER_NEURON = (
    "sv",
    "tau_m_ms",
    "cm",
    "R_chip",
    "a_chip",
    "gain_c",
    "v_rest",
    "v_reset",
    "v_thresh",
    "tau_syn_ms",
)


def _per_neuron_constants(
    g: NeuronGroup,
    dt: float,
    tick_ms: float,
    disc: str,
    forward_tau: str,
    findings: list[Finding],
    conv: dict[str, Any],
    p_in: np.ndarray,
) -> dict[str, Any]:
    """:func:`_population_constants` for a group whose time constants, leak, threshold or reset
    differ between neurons: the same mapping for each distinct combination of them (a sub-group of
    neurons), merged into per-neuron arrays (PyNN takes per-neuron parameter arrays; sPyNNaker
    stores parameters per neuron). A non-spiking readout keeps one voltage scale (its OutputSpec
    has one): the smallest of its sub-groups', applied to all (the mapping is linear in it)."""
    n = g.size
    keys = [k for k, _ in uniform_keys(g)]
    cols = np.stack(
        [np.broadcast_to(np.asarray(g.param(k, 0.0), np.float64).reshape(-1), (n,)) for k in keys], 1
    )
    uniq, inv = np.unique(cols, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    out: dict[str, Any] = {}
    sub_findings: list[Finding] = []
    sub_conv: dict[str, Any] = {"populations": {}}
    parts = []
    for k in range(len(uniq)):
        idx = np.flatnonzero(inv == k)
        sub = NeuronGroup(
            g.name,
            g.kind,
            (idx.size,),
            {key: np.asarray(v).reshape(-1)[idx] if np.size(v) == n else v for key, v in g.params.items()},
            np.broadcast_to(np.asarray(g.bias, np.float64).reshape(-1), (n,))[idx],
            g.reset,
            g.spiking,
            g.legacy,
        )
        gi = _population_constants(sub, dt, tick_ms, disc, forward_tau, sub_findings, sub_conv, p_in[idx])
        parts.append((idx, gi))
    if not g.spiking:
        sv = min(float(gi["sv"]) for _, gi in parts)
        for _, gi in parts:
            f = sv / float(gi["sv"])
            for key in ("v_rest", "syn_gain", "i_offset"):
                gi[key] = gi[key] * f
            gi["sv"] = sv
    for key, v0 in parts[0][1].items():
        if key in _PER_NEURON or key in ("syn_gain", "i_offset", "threshold_nir"):
            if v0 is None:
                out[key] = None
                continue
            arr = np.zeros(n)
            for idx, gi in parts:
                arr[idx] = np.broadcast_to(np.asarray(gi[key], np.float64).reshape(-1), (idx.size,))
            out[key] = float(arr[0]) if key in _PER_NEURON and np.all(arr == arr[0]) else arr
        else:
            out[key] = v0
    # one finding per code (the sub-groups repeat them), and the per-neuron note
    count: dict[str, int] = {}
    for f in sub_findings:
        count[f.code] = count.get(f.code, 0) + 1
    seen: set[str] = set()
    for f in sub_findings:
        if f.code not in seen:
            seen.add(f.code)
            n_msg = len({x.message for x in sub_findings if x.code == f.code})
            extra = (
                f" (values of one of {count[f.code]} parameter combinations of this node)"
                if n_msg > 1
                else ""
            )
            findings.append(_f(f.code, f.severity, f.node, f.message + extra))
    findings.append(
        _f(
            "spinnaker-per-neuron-param",
            "info",
            g.name,
            f"{', '.join(keys)} differ between neurons ({len(uniq)} distinct combinations): per-neuron "
            "PyNN parameter arrays",
        )
    )
    # the time conversion record: the group's kind and the range of its converted time constants
    first = next(iter(sub_conv["populations"].values()))
    entry: dict[str, Any] = {k: v for k, v in first.items() if not isinstance(v, float)}
    entry.update({k: _summ(out[k]) for k in ("tau_m_ms", "tau_syn_ms") if k in out})
    entry["per_neuron"] = True
    conv["populations"][g.name] = entry
    return out


def synapse_weights(
    netlist: Netlist, info: dict[str, dict[str, Any]], plastic: dict[str, tuple], mode: str
) -> tuple[dict[str, np.ndarray], dict[str, list[int]]]:
    """Signed synapse weights in nA per connection, and (``worst-case``) the ring-buffer shifts
    that hold the largest per-neuron sum of |w| per receptor (learned weights up to w_max)."""
    from neurocompile.learning.attach import units_of

    wsum = {g: np.zeros((2, netlist.groups[g].size)) for g in netlist.groups}
    conn_w: dict[str, np.ndarray] = {}
    for c in netlist.connections:
        gi = info[c.post]
        w = _synapse_weights(c.weight, c.post_idx, gi)
        conn_w[c.name] = w
        wb = w
        if c.name in plastic:  # learned weights may grow to w_max: the ring buffer must hold them
            node, rule = plastic[c.name]
            ws = _rule_weight_scale(node, rule, gi, units_of(rule))
            wmax = (rule.params or {}).get("w_max")
            if wmax is not None:
                wb = np.sign(w) * np.maximum(np.abs(w), float(wmax) * ws)
        pos, neg = _sign_indices(wb)
        np.add.at(wsum[c.post][0], c.post_idx[pos], wb[pos])
        np.add.at(wsum[c.post][1], c.post_idx[neg], -wb[neg])
    shifts_of: dict[str, list[int]] = {}
    if mode == "worst-case":
        for g in netlist.groups.values():
            mx = [float(wsum[g.name][s].max(initial=0.0)) for s in range(2)]
            shifts_of[g.name] = [min(s, spec.RING_BUFFER_SHIFT_MAX) for s in shifts_from_max_weights(mx)]
            info[g.name]["rb_max_sum"] = mx
    return conn_w, shifts_of


def plan_projections(
    netlist: Netlist,
    conn_w: dict[str, np.ndarray],
    info: dict[str, dict[str, Any]],
    plastic: dict[str, tuple],
) -> tuple[list[Planned], list[Finding]]:
    """The projections in build order: per connection an excitatory and an inhibitory FromList
    projection, or one STDP projection for a plastic connection (:func:`_plan_stdp`)."""
    out: list[Planned] = []
    findings: list[Finding] = []
    for c in netlist.connections:
        w = conn_w[c.name]
        if c.name in plastic:
            out.append(_plan_stdp(c, w, plastic[c.name], info[c.post], findings))
            continue
        for receptor, sel in (("excitatory", np.flatnonzero(w > 0)), ("inhibitory", np.flatnonzero(w < 0))):
            if not sel.size:
                continue
            out.append(
                Planned(f"{c.name}:{receptor[:3]}", c, receptor, np.abs(w[sel]), c.delay[sel] + 1, sel)
            )
    return out, findings


def analyse(ctx) -> Analysis:
    """The analysis passes (once per context): population constants, synapse weights and
    shifts, the projection plan. Raises the typed errors of the lowering (reported by the rule
    ``spinnaker-lowering`` in ``check``)."""
    return ctx.memo("spinnaker.analysis", lambda: _analyse(ctx))


def _analyse(ctx) -> Analysis:
    sem, nl, opts = ctx.semantics, ctx.netlist, ctx.options
    dt, disc = float(sem.dt), sem.discretization
    tick_ms = float(opts.get("tick_ms", 1.0))
    forward_tau = opts.get("forward_tau", "matched")
    mode = opts.get("ring_buffer_shifts", "worst-case")
    plastic = plastic_connections(ctx)
    with timed("lower.population_constants"):
        info, conv, findings = population_constants(nl, dt, tick_ms, disc, forward_tau)
    with timed("lower.synapse_weights"):
        conn_w, shifts_of = synapse_weights(nl, info, plastic, mode)
    with timed("lower.plan_projections"):
        projections, proj_findings = plan_projections(nl, conn_w, info, plastic)
    return Analysis(
        dt,
        disc,
        tick_ms,
        forward_tau,
        mode,
        plastic,
        info,
        conv,
        conn_w,
        shifts_of,
        projections,
        findings + proj_findings,
    )


# ---------------------------------------------------------------------------- build passes
def build_populations(
    b: SpiNNakerBuilder, netlist: Netlist, a: Analysis, names: dict[str, list[str]]
) -> None:
    """Spike sources for the inputs, then one IF_curr_exp / IF_curr_delta population per group."""
    for name, shape in netlist.inputs.items():
        b.spike_source(name, shape if shape else (1,), key=name)
        names[name] = [name]
    for g in netlist.groups.values():
        gi = a.info[g.name]
        kw = dict(
            cm=gi["cm"],
            tau_m=gi["tau_m_ms"],
            v_rest=gi["v_rest"],
            v_reset=gi["v_reset"],
            v_thresh=gi["v_thresh"],
            tau_refrac=0.0,
            i_offset=gi["i_offset"],
            v_init=0.0,
            ring_buffer_shifts=a.shifts_of.get(g.name),
        )
        if gi["model"] == "if_curr_exp":
            b.if_curr_exp(
                g.name,
                g.shape if g.shape else (1,),
                tau_syn_E=gi["tau_syn_ms"],
                tau_syn_I=gi["tau_syn_ms"],
                **kw,
            )
        else:
            b.if_curr_delta(g.name, g.shape if g.shape else (1,), **kw)
        names[g.name] = [g.name]


def build_projections(
    b: SpiNNakerBuilder, netlist: Netlist, a: Analysis, names: dict[str, list[str]]
) -> dict[str, dict]:
    """The planned projections; returns the learning attachments ``{weight node: ...}``.

    Consumes the plan: ``a.projections`` is emptied and each planned projection released once
    built, and ``a.conn_w`` cleared (at chip scale they hold |w|, delays, masks and signed
    weights: ~26 bytes per synapse next to the Program's own arrays)."""
    for c in netlist.connections:
        names[c.name] = []
    attachments: dict[str, dict] = {}
    a.conn_w.clear()  # the rules are done with the signed weights
    planned, a.projections = a.projections, []
    for i, p in enumerate(planned):
        planned[i] = None  # type: ignore[call-overload]  # released once built
        c = p.conn
        if p.plastic is not None:
            node, rule = p.plastic
            b.stdp(
                c.pre,
                c.post,
                pre_idx=c.pre_idx,
                post_idx=c.post_idx,
                rule=rule,
                rule_weight_scale=p.rule_weight_scale,
                weights=p.weights,
                delays=p.delays,
                receptor=p.receptor,
                name=p.name,
            )
            attachments[node] = {
                "projection": p.name,
                "rule": rule.name,
                "kind": rule.kind,
                "units": p.units,
                "rule_weight_scale": p.rule_weight_scale,
                "rule_weight_scale_unit": "nA per rule weight unit",
            }
        else:
            b.from_list(
                c.pre,
                c.post,
                pre_idx=c.pre_idx[p.sel],
                post_idx=c.post_idx[p.sel],
                weights=p.weights,
                delays=p.delays,
                receptor=p.receptor,
                name=p.name,
            )
        names[c.name].append(p.name)
    return attachments


def plan_outputs(netlist: Netlist, a: Analysis) -> tuple[dict[str, OutputSpec], list[Finding]]:
    """Spikes, or v scaled back to NIR units (recorded before the tick's update: a finding)."""
    outs: dict[str, OutputSpec] = {}
    findings: list[Finding] = []
    for key, (src, obs) in netlist.outputs.items():
        if src in netlist.inputs or obs == "spikes":
            outs[key] = OutputSpec(src, "spikes", 1.0)
        else:
            outs[key] = OutputSpec(src, "v", 1.0 / a.info[src]["sv"])
            findings.append(
                _f(
                    "spinnaker-v-before-update",
                    "info",
                    src,
                    "sPyNNaker records v before each tick's update: the v readout at tick t equals the "
                    "float reference's v at step t-1 (a one-step lag; values are otherwise exact up to "
                    "fixed point)",
                )
            )
    return outs, findings


def annotate(
    prog: Program,
    netlist: Netlist,
    sem: Semantics,
    a: Analysis,
    names: dict[str, list[str]],
    attachments: dict[str, dict],
) -> Program:
    """The lowering's record in the Program: per population the chip constants, per projection its
    sources, the time conversion and the learning attachments."""
    for name, gi in a.info.items():
        q = prog.quantization["populations"].setdefault(name, {})
        q.update({k: _summ(gi[k]) for k in ("model", "sv", "R_chip", "a_chip", "tau_m_ms", "cm") if k in gi})
        sv = np.asarray(gi["sv"], np.float64)
        q["scale"] = _summ(1.0 / sv)
        q["threshold_before"] = _summ(gi["threshold_nir"])
        vth = np.asarray(gi["v_thresh"], np.float64)
        after = np.array([fixed.s1615(float(x)) for x in vth.reshape(-1)]).reshape(vth.shape)
        q["threshold_after"] = _summ(after / spec.S1615_ONE / sv)
        if "rb_max_sum" in gi:
            q["max_summed_weight_nA"] = gi["rb_max_sum"]
    for c in netlist.connections:
        for pname in names[c.name]:
            prog.quantization["projections"][pname]["sources"] = list(c.sources)
    prog.provenance["time_conversion"] = a.conv
    if attachments:
        prog.learning = {**prog.learning, "attachments": attachments}
    return prog


def lower(
    netlist: Netlist,
    *,
    graph: Any = None,
    semantics: Semantics | None = None,
    calibration: dict[str, np.ndarray] | None = None,
    learning: Any = None,
    tick_ms: float = 1.0,
    forward_tau: str = "matched",
    ring_buffer_shifts: str = "worst-case",
) -> Program:
    """Lower ``netlist`` to a validated spinnaker Program (see the module docstring).

    After the options (:func:`check_options`), the target's rules (``targets/spinnaker/rules.py``)
    are enforced: the first error they find is raised as its typed error. Then the passes of
    :func:`analyse` (shared with the rules through the context) and the build:
    :func:`build_populations`, :func:`build_projections`, :func:`plan_outputs`, :func:`annotate`.
    """
    from neurocompile.check import enforce, lower_context

    from .rules import RULES

    sem = semantics or netlist.semantics
    tick_ms = float(tick_ms)
    check_options(tick_ms, forward_tau, ring_buffer_shifts)
    ctx = lower_context(
        netlist,
        graph=graph,
        semantics=sem,
        learning=learning,
        calibration=calibration,
        tick_ms=tick_ms,
        forward_tau=forward_tau,
        ring_buffer_shifts=ring_buffer_shifts,
    )
    with timed("lower.rules"):  # the rules run the analysis passes (timed below) on the way
        reset_notes = [f for f in enforce(RULES, ctx) if f.code == "reset-approximated"]
    a = analyse(ctx)
    b = SpiNNakerBuilder(tick_ms=tick_ms)
    names: dict[str, list[str]] = {}
    with timed("lower.build_populations"):
        build_populations(b, netlist, a, names)
    with timed("lower.build_projections"):
        attachments = build_projections(b, netlist, a, names)
    outs, out_findings = plan_outputs(netlist, a)
    with timed("lower.build"):
        prog = b.build(
            outs,
            semantics={**sem.as_dict(), "tick_ms": tick_ms},
            provenance={
                "names": names,
                "findings": [f.as_dict() for f in reset_notes + a.findings + out_findings],
            },
        )
    with timed("lower.annotate"):
        return annotate(prog, netlist, sem, a, names, attachments)


def _rule_weight_scale(node: str, rule: Any, gi: dict[str, Any], units: str) -> float:
    """nA per rule weight unit: the post population's synaptic gain (model units) or 1 (nA)."""
    if units == "program":
        return 1.0
    gain = np.asarray(gi["syn_gain"], np.float64).reshape(-1)
    if gain.size and np.any(np.abs(gain - gain[0]) > 1e-9 * abs(gain[0])):
        raise UnsupportedError(
            "the post neurons of this plastic projection have different weight gains (different "
            "r, time constants or thresholds), so one rule in model units maps to different nA rules "
            "per neuron",
            node=node,
            parameter="units",
            expected='uniform r, tau and v_threshold on the post node, or units = "program"',
        )
    return float(gain[0]) if gain.size else 1.0


def _plan_stdp(
    c: Any, w: np.ndarray, attached: tuple, gi: dict[str, Any], findings: list[Finding]
) -> Planned:
    """One sPyNNaker STDP FromList projection (kind ``stdp``) for a plastic connection.

    STDP weights are unsigned per receptor: an all-positive connection goes to the excitatory
    receptor, an all-negative one to the inhibitory receptor (the rule then acts on |w|: potentiation
    makes the synapse more inhibitory; warning ``spinnaker-learning-inhibitory``); a mixed-sign one
    cannot be one plastic projection and is refused.
    """
    from neurocompile.learning.attach import units_of

    node, rule = attached
    if np.any(w > 0) and np.any(w < 0):
        raise UnsupportedError(
            "a plastic projection with both weight signs: sPyNNaker's STDP weights are unsigned per "
            "receptor, and splitting it would learn two different synapse sets",
            node=node,
            parameter="learning",
            expected="all weights >= 0 (or all <= 0)",
        )
    receptor = "inhibitory" if np.any(w < 0) else "excitatory"
    if receptor == "inhibitory":
        findings.append(
            _f(
                "spinnaker-learning-inhibitory",
                "warning",
                node,
                "all weights are negative: the STDP projection uses the inhibitory receptor and the rule "
                "acts on |w| (potentiation makes the synapse more inhibitory)",
            )
        )
    units = units_of(rule)
    ws = _rule_weight_scale(node, rule, gi, units)
    return Planned(f"{c.name}:{receptor[:3]}", c, receptor, np.abs(w), c.delay + 1, None, attached, ws, units)


def _population_constants(
    g: NeuronGroup,
    dt: float,
    tick_ms: float,
    disc: str,
    forward_tau: str,
    findings: list[Finding],
    conv: dict[str, Any],
    p_in: np.ndarray,
) -> dict[str, Any]:
    kind = g.kind
    gi: dict[str, Any] = {"kind": kind}
    cuba = kind in ("CubaLIF", "CubaLI")
    leaky = kind in ("LIF", "LI", "CubaLIF", "CubaLI")
    gi["model"] = "if_curr_exp" if cuba else "if_curr_delta"
    r = np.asarray(g.param("r", 1.0), np.float64)
    if leaky:
        tkey = "tau_mem" if cuba else "tau"
        tau = _uniform(g, tkey)
        tau_ms, a_nir = _tau_ms(tau, dt, tick_ms, disc, forward_tau, g.name, tkey)
        v_leak = _uniform(g, "v_leak", 0.0)
        G = (1.0 - a_nir) * r
        if disc == "forward":
            if forward_tau == "matched":
                findings.append(
                    _f(
                        "spinnaker-forward-tau",
                        "info",
                        g.name,
                        f"forward Euler decay 1 - dt/{tkey} = {a_nir:.6g} matched by tau_m = {tau_ms:.6g} ms "
                        f"instead of the nominal {tau / dt * tick_ms:.6g} ms (sPyNNaker decays by "
                        f"exp(-tick/tau_m))",
                    )
                )
            else:
                findings.append(
                    _f(
                        "spinnaker-forward-tau",
                        "warning",
                        g.name,
                        f"forward Euler decay {a_nir:.6g} per step but the chip decays by "
                        f"{math.exp(-dt / tau):.6g} (tau_m = {tau_ms:.6g} ms): relative leak error "
                        f"{abs(math.exp(-dt / tau) - a_nir) / max(1 - a_nir, 1e-300):.3g}",
                    )
                )
        conv["populations"][g.name] = {
            "kind": kind,
            f"{tkey}_graph": tau,
            "tau_m_ms": tau_ms,
            "nominal_tau_m_ms": tau / dt * tick_ms,
        }
    else:  # IF / I: no leak; the chip needs one (see _if_leak)
        v_leak = 0.0
        G = dt * r
        th0 = abs(_uniform(g, "v_threshold")) if g.spiking else 0.0
        sv0 = THRESHOLD_MV / th0 if th0 > 0 else 1.0
        tau_ms = _if_tau_ms(float(np.max(np.abs(G) * p_in, initial=0.0)) * sv0, tick_ms)
        conv["populations"][g.name] = {"kind": kind, "tau_m_ms": tau_ms, "note": "no leak in NIR"}
    # chip constants for a trial cm (R near 1/(1-a_c))
    ts = fixed.time_step(tick_ms)
    exp_tc = fixed.expk(-fixed.kdivk(ts, fixed.s1615(tau_ms)))
    a_c = exp_tc / spec.S1615_ONE
    if exp_tc >= spec.S1615_ONE:
        raise UnsupportedError(
            f"tau = {tau_ms:g} ms is too long for tick_ms={tick_ms:g}: the chip would not leak "
            "and not integrate (exp_TC = 1.0)",
            node=g.name,
            parameter="tau",
            expected=f"tau_ms < {tick_ms * 2**15:g}",
        )
    r_target = min(R_MAX, 1.0 / (1.0 - a_c))
    cm = float(np.float64(tau_ms) / np.float64(r_target))
    R_chip = fixed.kdivk(fixed.s1615(tau_ms), fixed.s1615(cm)) / spec.S1615_ONE
    gain_c = (1.0 - a_c) * R_chip
    if not leaky:
        leak1000 = a_c**1000
        findings.append(
            _f(
                "spinnaker-if-leak",
                "warning",
                g.name,
                f"{kind} has no leak but sPyNNaker's LIF always leaks "
                f"(the smallest leak is 2/32768 per tick, "
                f"more when the worst-case input needs it to keep alpha in range): "
                f"exp_TC = {exp_tc}/32768 per tick, so v keeps {leak1000:.4f} of its value after 1000 ticks "
                f"(tau_m = {tau_ms:.6g} ms)",
            )
        )
    # largest per-tick change of V (mV per unit sv) in the worst case, and the asymptote alpha = dV/(1-a)
    dv_max = float(np.max(np.abs(G) * p_in, initial=0.0))
    sv_cap = ALPHA_LIMIT_MV * (1.0 - a_c) / dv_max if dv_max > 0 else math.inf
    if g.spiking:
        th = _uniform(g, "v_threshold")
        sv = THRESHOLD_MV / abs(th) if th != 0 else 1.0
        if sv > sv_cap:
            findings.append(
                _f(
                    "spinnaker-v-range",
                    "warning",
                    g.name,
                    f"the worst-case input (all presynaptic neurons firing in one tick) would push "
                    f"alpha = I*R + v_rest beyond s16.15 with the threshold at {THRESHOLD_MV:g} mV: the "
                    f"threshold is mapped to {abs(th) * sv_cap:.4g} mV instead (V resolution "
                    f"{1 / spec.S1615_ONE / sv_cap:.3g} in NIR units)",
                )
            )
            sv = sv_cap
        v_thresh = sv * th
        if g.reset == "value":
            v_reset = sv * _uniform(g, "v_reset", 0.0)
        else:
            v_reset = 0.0
        findings.append(
            _f(
                "spinnaker-threshold-ge",
                "info",
                g.name,
                "sPyNNaker spikes when V >= v_thresh, NIR when v > v_threshold: only exact equality "
                "differs (after s16.15 rounding)",
            )
        )
        gi["threshold_nir"] = th
    else:
        sv = min(1.0, sv_cap)
        v_thresh = READOUT_THRESHOLD_MV
        v_reset = 0.0
        gi["threshold_nir"] = None
    bias = np.asarray(g.bias, np.float64).reshape(-1)
    gi.update(
        sv=sv,
        tau_m_ms=tau_ms,
        cm=cm,
        R_chip=R_chip,
        a_chip=a_c,
        gain_c=gain_c,
        v_rest=sv * v_leak,
        v_reset=v_reset,
        v_thresh=v_thresh,
    )
    kv = sv * G / gain_c  # nA of I per unit of NIR x (per neuron)
    if cuba:
        taus = _uniform(g, "tau_syn")
        tau_syn_ms, a_s = _tau_ms(taus, dt, tick_ms, disc, forward_tau, g.name, "tau_syn")
        init = fixed.exp_syn_init(tau_syn_ms, tick_ms)["init"] / 2.0**32
        w_in = np.asarray(g.param("w_in", 1.0), np.float64)
        g_s = 1.0 - a_s
        gi["tau_syn_ms"] = tau_syn_ms
        gi["syn_gain"] = kv * g_s * w_in / init  # nA of w16-weight per unit NIR weight
        # the bias feeds u in NIR (ramping up over tau_syn); i_offset is the steady state
        gi["i_offset"] = kv * w_in * bias
        if np.any(bias != 0):
            findings.append(
                _f(
                    "spinnaker-cuba-bias",
                    "warning",
                    g.name,
                    f"a bias feeding the synaptic current of a {kind} becomes i_offset: the float model's "
                    f"ramp-up over tau_syn ({taus:g}) is skipped (exact after ~5 tau_syn)",
                )
            )
        conv["populations"][g.name].update({"tau_syn_graph": taus, "tau_syn_ms": tau_syn_ms})
    else:
        gi["syn_gain"] = kv * tick_ms  # delta input is scaled by 1/ts on chip
        gi["i_offset"] = kv * bias
    return gi


def _summ(x: Any) -> Any:
    """A constant as it goes into the quantization record: a number, or {"min", "max"} per neuron."""
    if x is None or isinstance(x, str) or np.ndim(x) == 0:
        return x if x is None or isinstance(x, str) else float(x)
    a = np.asarray(x, np.float64).reshape(-1)
    return float(a[0]) if np.all(a == a[0]) else {"min": float(a.min()), "max": float(a.max())}


def _if_tau_ms(dv_max_mv: float, tick_ms: float) -> float:
    """tau_m (ms) for a non-leaky NIR node: the leak 1 - a just large enough that the worst-case
    per-tick change ``dv_max_mv`` keeps alpha = dV / (1 - a) below ALPHA_LIMIT_MV (at least the
    chip's minimum leak, at most IF_LEAK_MAX)."""
    leak_min = 1.5 / 2.0**15  # kdivk(ts, tau) = 1 LSB -> expk(-1 LSB) = 32766
    leak = min(max(dv_max_mv / ALPHA_LIMIT_MV, leak_min), IF_LEAK_MAX)
    if leak <= leak_min:
        return tick_ms * 2.0**15 / 1.5
    return -tick_ms / math.log(1.0 - leak)


def _synapse_weights(weight: np.ndarray, post_idx: np.ndarray, gi: dict[str, Any]) -> np.ndarray:
    gain = np.asarray(gi["syn_gain"], np.float64).reshape(-1)
    if gain.size == 1:
        return np.asarray(weight, np.float64) * gain[0]
    return np.asarray(weight, np.float64) * gain[post_idx]


__all__ = ["lower"]
