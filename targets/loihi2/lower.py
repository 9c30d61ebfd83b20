"""Lower a :class:`~neurocompile.netlist.Netlist` to a Loihi 2 Program (Lava 0.10.0 LIF/Dense).

Mapping (Lava ``PyLifModelBitAcc``, ``docs/reference/loihi2.md`` §1.2; float equations in
``docs/primitives/*.md``). Per population a float scale ``s`` (float v per integer v unit,
per neuron for spiking groups) ties weights, bias, threshold and state together:

* LIF/LI (forward): ``du = 4095`` (u holds only this step's input), ``dv = round(4096*(1-a))``
  with ``a = 1 - dt/tau`` (``exp(-dt/tau)`` for ``exponential``); a weight ``w`` becomes the
  integer ``w*g*r / (64*s) / 2**weight_exp`` (``g = 1 - a``); ``v_leak`` and folded biases
  become ``bias = g*(v_leak + r*b)/s`` as 13-bit mantissa << exponent 0..7.
* IF/I: ``dv = 0``, ``du = 4095``, gain ``dt*r``.
* CubaLIF/CubaLI: ``du = round(4096*(1-a_syn)) - 1`` (Lava decays u by ``4096-(du+1)``),
  ``dv`` from ``tau_mem``; the integer u is the float u times ``g*r/s`` per neuron, so a weight
  becomes ``w*g*r*g_syn*w_in/(64*s)``. A constant input ``b`` feeds u in the reference (u ramps
  up as ``u_ss*(1-a_syn**t)``); it is expressed exactly (up to rounding) by the bias
  ``g*r*u_ss/s`` on v together with ``u_init = -g*r*u_ss/s``, whose decay cancels the ramp.
* Spiking groups: one common ``vth`` per population and a per-neuron scale
  ``s_i = v_threshold_i/(64*vth)``, so thresholds are exact; ``vth`` is the largest value (<=
  2**17-1) for which the expected peak per-step input (worst case: every presynaptic neuron
  active, or calibration peaks x 1.5) added to a v just below threshold keeps v (and so u) inside
  24 bits without saturating, v can fall to -NEG_HEADROOM_THRESHOLDS thresholds (leaky
  neurons: their all-inhibitory steady state x NEG_MARGIN if less; or the calibrated |v|
  peak) before saturating, the largest weight inside
  255 << 8 and the bias inside 4095 << 7. Reset is Lava's reset to 0 only: reset by subtraction and
  ``v_reset != 0`` are refused by the rules, which offer ``reset="zero"`` with its measured effect;
  a legacy file compiled with ``reset="zero"`` carries the ``reset-approximated`` finding.
* Non-spiking readouts (LI, CubaLI, I): one scale per population (the OutputSpec scale), chosen
  so the expected peak |v| stays below half of ``vth<<6`` with ``vth = 2**17-1``: they cannot
  spike unless the estimate is exceeded (finding ``loihi2-readout-may-spike`` when the estimate
  is unbounded). For ``I`` the peak is taken over ``READOUT_HORIZON`` steps unless calibrated.
* Weights: a mixed-sign connection becomes two projections ``NAME.exc`` (EXCITATORY) and
  ``NAME.inh`` (INHIBITORY) into the same population (``SPLIT_SIGNS``), each with its own
  ``weight_exp``; otherwise per projection sign mode from the signs,
  ``num_weight_bits = 8``, ``weight_exp`` the smallest exponent in [-8, 8] whose mantissas fit
  255 (254 in MIXED, where Lava drops one LSB: mantissas are rounded to even). Dense rule: a
  projection is ``dense`` when at least ``DENSE_MIN_DENSITY`` of its n_post*n_pre entries are
  synapses and it has at most ``DENSE_MAX_ELEMENTS`` entries, else ``sparse``; ``delay_*`` kinds
  when any delay > 0 (<= 62). Several synapses between one pair (different delays) go to
  extra projections ``name#k``.
* Per-neuron time constants: every group is ONE population; a group whose neurons quantize to
  different (du, dv) gets per-neuron ``du``/``dv`` arrays (Lava: our ``LIFDecays`` process,
  ``lava_models/lifdecays.py``, Lava's own fixed-point LIF update with du/dv Vars per neuron; info
  finding ``loihi2-per-neuron-decay``), so it takes the cores of the same layer with one time
  constant, can be an Output and can learn (two-factor rules). The post node of a three-factor
  rule runs as ``lif_3f`` (one du and dv): different decays there are refused. ``vth`` is one per
  population (thresholds per neuron come from the per-neuron scale).

Knowingly approximate: decays are rounded to 1/4096 (Lava rounds every decay toward zero);
with ``weight_exp < 0`` Lava floors the *sum* of the active weights: its mean
(1-2**e)/2 x P(sum nonzero) is added back through the bias (rates from calibration or
``ASSUMED_RATE``), its per-step jitter is not; inputs are binary spikes
(``num_message_bits = 0``): graded inputs are not lowered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocompile.check import Finding
from neurocompile.compiler import timed
from neurocompile.errors import ParameterError, UnsupportedError
from neurocompile.netlist import Connection, Netlist, NeuronGroup
from neurocompile.program import OutputSpec, Program
from neurocompile.quantize import CALIBRATION_MARGIN, calibration_peaks, choose_shift, error_stats, mant_exp
from neurocompile.semantics import Semantics

from . import spec
from .builder import Loihi2Builder

#: Split a mixed-sign connection into an EXCITATORY ``.exc`` and an INHIBITORY ``.inh`` projection
#: (both into the same population; Lava sums them): each keeps 8 mantissa bits, where MIXED keeps 7.
SPLIT_SIGNS = True
#: Dense vs sparse rule (see the module docstring).
DENSE_MIN_DENSITY = 0.25
DENSE_MAX_ELEMENTS = 1 << 22
#: u must stay strictly inside (-2**23, 2**23] (Lava wraps it once beyond).
U_LIMIT = spec.UV_WRAP_LIMIT - 1
#: largest weight magnitude in a-units reachable with the 8-bit mantissa and weight_exp <= 8.
W_MANT_MAX = spec.WEIGHT_RANGE[spec.SIGN_MODE_EXCITATORY][1]
W_MANT_MAX_MIXED = W_MANT_MAX - 1
W_EFF_MAX = W_MANT_MAX * 2.0**spec.WEIGHT_EXP_MAX
BIAS_MAX = spec.BIAS_MANT_MAX * 2.0**spec.BIAS_EXP_MAX
#: spiking populations keep room for v down to -NEG_HEADROOM_THRESHOLDS thresholds before Lava
#: saturates it (inhibited IF neurons drift far below 0 in the float reference: the paper CNN
#: reaches -232 thresholds in 30 steps); calibration data replaces this by observed |v| peaks.
NEG_HEADROOM_THRESHOLDS = 256
#: leaky neurons (dv > 0) need room only down to their all-inhibitory steady state
#: (``_leaky_negative_bound``) times this margin, when that is less than the above: 16x more
#: integer precision for typical LIF layers, so weight_exp >= 0 and Lava's floor of the shifted
#: sum no longer biases the input negative.
NEG_MARGIN = 1.1
#: presynaptic spike probability per step assumed without calibration data; it sets how often a
#: projection's shifted sum is nonzero, i.e. how much of Lava's floor bias the neuron bias cancels.
ASSUMED_RATE = 0.1
#: non-spiking readouts: v must stay below vth<<6 with vth = VTH_MAX; the estimate is kept
#: below READOUT_FILL of it.
READOUT_VTH = spec.VTH_MAX
READOUT_FILL = 0.5
READOUT_LIMIT = (READOUT_VTH << spec.VTH_SHIFT) * READOUT_FILL
#: payload bits of the reward input a three-factor rule's lif_3f neuron reads (y2 = clip(reward, 0, 127)).
REWARD_MESSAGE_BITS = 8
#: steps over which an I readout (no leak) is assumed to integrate without calibration data.
READOUT_HORIZON = 256


def _f(code: str, severity: str, node: str | None, message: str) -> Finding:
    return Finding(code, severity, node, " ".join(message.split()))


def decay_int(tau: np.ndarray, dt: float, disc: str) -> tuple[np.ndarray, np.ndarray]:
    """(1 - a) as float and its 12-bit rounding ``round(4096*(1-a))`` (unclipped)."""
    one_minus_a = dt / tau if disc == "forward" else -np.expm1(-dt / tau)
    return one_minus_a, np.rint(one_minus_a * spec.DECAY_UNITY).astype(np.int64)


class _Pop:
    """A population being lowered: which group neurons it holds and their float coefficients."""

    def __init__(self, name: str, group: NeuronGroup, idx: np.ndarray, du: int, dv: int):
        self.name, self.group, self.idx, self.du, self.dv = name, group, idx, du, dv
        self.size = int(idx.size)
        self.scale = np.ones(self.size)
        self.vth = spec.VTH_MAX


def lower(
    netlist: Netlist,
    *,
    graph: Any = None,
    semantics: Semantics | None = None,
    calibration: dict[str, np.ndarray] | None = None,
    learning: Any = None,
    decay_levels: int | None = None,
) -> Program:
    """Lower ``netlist`` to a validated loihi2 Program (see the module docstring).

    ``decay_levels=K`` clusters the time constants of every node whose neurons have more than K
    different ones into K levels (:func:`cluster_time_constants`; finding ``loihi2-decay-levels``
    with the largest change); the default keeps every neuron's own.

    First the target's rules (``targets/loihi2/rules.py``) are enforced: the first error they
    find is raised as its typed error. Then the passes of :func:`analyse` (shared with the rules
    through the context) and the build: :func:`build_populations`, :func:`build_projections`,
    :func:`plan_outputs`.
    """
    from neurocompile.check import enforce, lower_context

    from .rules import RULES

    if decay_levels is not None and (
        isinstance(decay_levels, bool) or not isinstance(decay_levels, (int, np.integer)) or decay_levels < 1
    ):
        raise ParameterError(
            f"decay_levels={decay_levels!r}", parameter="decay_levels", expected="an integer >= 1 (or None)"
        )
    opts = {"calibration": calibration}
    if decay_levels is not None:
        opts["decay_levels"] = int(decay_levels)
    ctx = lower_context(netlist, graph=graph, semantics=semantics, learning=learning, **opts)
    with timed("lower.rules"):  # the rules run the analysis passes (timed below) on the way
        reset_notes = [f for f in enforce(RULES, ctx) if f.code == "reset-approximated"]
    a = analyse(ctx)
    sem = ctx.semantics
    b = Loihi2Builder()
    names: dict[str, list[str]] = {}
    for name, shape in netlist.inputs.items():
        b.input(name, shape, num_message_bits=0, key=name)
        names[name] = [name]
    for reward in dict.fromkeys(a.rewards.values()):
        gname = next(g for g, r in a.rewards.items() if r == reward)
        b.input(reward, netlist.groups[gname].size, num_message_bits=REWARD_MESSAGE_BITS, key=reward)
    with timed("lower.build_populations"):
        qpops = build_populations(b, netlist, a, names)
    with timed("lower.build_projections"):
        qprojs, attachments = build_projections(b, netlist, a, names)
    semantics_d = dict(sem.as_dict())
    semantics_d.update(
        {
            "hop_delay": 1,
            "timing": "a spike at step t reaches the next population at t+1+delay",
            "reference": spec.REFERENCE,
        }
    )
    with timed("lower.build"):
        prog = b.build(
            outputs=a.outputs,
            semantics=semantics_d,
            provenance={"names": names, "findings": [f.as_dict() for f in reset_notes + a.findings]},
        )
    prog.quantization = {"populations": qpops, "projections": qprojs}
    if attachments:
        prog.learning = {**prog.learning, "attachments": attachments}
    return prog


# ---------------------------------------------------------------------------- passes
@dataclass
class Layout:
    """Output of :func:`plan_populations`: the Lava populations of every group."""

    pops: dict[str, list[_Pop]]  # group -> its population (a list of one)
    where: dict[str, tuple[np.ndarray, np.ndarray]]  # group -> (population index, local index) per neuron
    coef: dict[str, dict[str, np.ndarray]]  # group -> float coefficients and 12-bit decays
    findings: list[Finding]  # decay clamps, per-neuron decays


@dataclass
class PopFields:
    """Output of :func:`plan_population_fields` for one population: its integer fields."""

    mant: np.ndarray
    bexp: np.ndarray
    clipped: np.ndarray
    comp: np.ndarray
    u_init: np.ndarray
    traces: dict[str, int] | None  # lif_3f trace parameters (three-factor post), else None


@dataclass
class Analysis:
    """Everything :func:`lower` builds from, computed once per context by :func:`analyse`."""

    plastic: dict
    three_post: dict
    peaks: Any
    layout: Layout
    fields: dict[str, PopFields]
    rewards: dict[str, str]
    learning: dict[str, "PlasticPlan"]
    outputs: dict[str, OutputSpec]
    findings: list[Finding]  # the lowering findings, in the order lower reports them


def analyse(ctx) -> Analysis:
    """Run the analysis passes on ``ctx`` (a :class:`neurocompile.check.Context` with a netlist),
    once: the rules and :func:`lower` share the result. Raises the typed error of a refusal."""
    return ctx.memo(
        "loihi2.analysis",
        lambda: _analyse(
            ctx.netlist,
            ctx.semantics,
            ctx.learning,
            ctx.options.get("calibration"),
            ctx.options.get("decay_levels"),
        ),
    )


def _analyse(netlist: Netlist, sem: Semantics, learning: Any, calibration, decay_levels=None) -> Analysis:
    plastic, three_post = _plastic_connections(netlist, learning)
    with timed("lower.calibration_peaks"):
        peaks = calibration_peaks(netlist, calibration) if calibration is not None else None
    with timed("lower.plan_populations"):
        # lif_3f (the post node of a three-factor rule) has one decay per population
        layout = plan_populations(netlist, sem.dt, sem.discretization, frozenset(three_post), decay_levels)
    with timed("lower.plan_scales"):
        scale_findings = plan_scales(netlist, layout, peaks)
    with timed("lower.plan_floor"):
        floor_comp = plan_floor(netlist, layout, plastic, calibration)
    rewards = plan_rewards(netlist, three_post)
    with timed("lower.plan_population_fields"):
        fields, field_findings = plan_population_fields(netlist, layout, floor_comp, three_post)
    learning_plans: dict[str, PlasticPlan] = {}
    learning_findings: list[Finding] = []
    for conn in netlist.connections:
        if conn.name in plastic:
            lp = plan_plastic(conn, plastic[conn.name], netlist, layout)
            learning_plans[conn.name] = lp
            learning_findings.extend(lp.findings)
    outputs = plan_outputs(netlist, layout)
    return Analysis(
        plastic,
        three_post,
        peaks,
        layout,
        fields,
        rewards,
        learning_plans,
        outputs,
        layout.findings + scale_findings + field_findings + learning_findings,
    )


def plan_populations(
    netlist: Netlist, dt: float, disc: str, single: frozenset = frozenset(), decay_levels: int | None = None
) -> Layout:
    """Pass 1: per group its coefficients, 12-bit decays and ONE population: with one (du, dv) when
    all neurons quantize to the same, else with per-neuron du/dv arrays. A group in ``single`` (the
    post node of a three-factor rule: ``lif_3f`` has one du and dv) with different decays is
    refused. ``decay_levels``: see :func:`lower`."""
    findings: list[Finding] = []
    pops: dict[str, list[_Pop]] = {}
    where: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    coef: dict[str, dict[str, np.ndarray]] = {}
    for g in netlist.groups.values():
        if decay_levels is not None:
            g = cluster_time_constants(g, decay_levels, findings)
        c = _coefficients(g, dt, disc, findings)
        coef[g.name] = c
        uniq = np.unique(np.stack([c["du"], c["dv"]], axis=1), axis=0)
        if len(uniq) == 1:
            pop = _Pop(g.name, g, np.arange(g.size), int(uniq[0, 0]), int(uniq[0, 1]))
        elif g.name in single:
            raise UnsupportedError(
                f"the neurons have {len(uniq)} different quantized (du, dv) decays, but the post node "
                "of a three-factor rule runs as Lava's lif_3f neuron, which has one du and dv",
                node=g.name,
                parameter="tau",
                expected="one time constant on the post node of a three-factor rule",
            )
        else:
            findings.append(
                _f(
                    "loihi2-per-neuron-decay",
                    "info",
                    g.name,
                    f"neurons have {len(uniq)} different quantized (du, dv) decays: one population with "
                    "per-neuron du/dv (Lava: LIFDecays, lava_models/lifdecays.py)",
                )
            )
            du, dv = (np.asarray(c[k], np.int64).copy() for k in ("du", "dv"))
            pop = _Pop(g.name, g, np.arange(g.size), du, dv)  # type: ignore[arg-type]
        pops[g.name] = [pop]
        where[g.name] = (np.zeros(g.size, dtype=np.int64), np.arange(g.size, dtype=np.int64))
    return Layout(pops, where, coef, findings)


#: Lloyd iterations of :func:`cluster_time_constants` (deterministic: quantile start, no randomness)
KMEANS_ITERATIONS = 50


def cluster_time_constants(g: NeuronGroup, levels: int, findings: list[Finding]) -> NeuronGroup:
    """``g`` with its time constants (tau / tau_mem, and tau_syn) clustered into at most ``levels``
    values: k-means on log(tau) (both time constants together for CubaLIF), started at evenly
    spaced ranks, each cluster's value the geometric mean of its members. The whole lowering (decays,
    gains, weights) then uses the clustered values; the float reference keeps the originals, so
    ``validate`` measures what the clustering costs. Finding ``loihi2-decay-levels``."""
    keys = [k for k in ("tau", "tau_mem", "tau_syn") if k in g.params and g.kind not in ("IF", "I")]
    if not keys:
        return g
    x = np.log(np.stack([np.asarray(g.params[k], np.float64).reshape(-1) for k in keys], 1))
    uniq = np.unique(x, axis=0)
    if len(uniq) <= levels:
        return g
    order = np.lexsort(uniq.T[::-1])
    centers = uniq[order][np.linspace(0, len(uniq) - 1, levels).round().astype(int)]
    for _ in range(KMEANS_ITERATIONS):
        lab = np.argmin(((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1), axis=1)
        new = np.array([x[lab == k].mean(0) if np.any(lab == k) else centers[k] for k in range(levels)])
        if np.array_equal(new, centers):
            break
        centers = new
    lab = np.argmin(((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1), axis=1)
    clustered = np.exp(centers[lab])
    params = dict(g.params)
    worst = 0.0
    for j, k in enumerate(keys):
        orig = np.asarray(g.params[k], np.float64).reshape(-1)
        params[k] = clustered[:, j].reshape(np.shape(g.params[k]))
        worst = max(worst, float(np.max(np.abs(clustered[:, j] / orig - 1.0))))
    findings.append(
        _f(
            "loihi2-decay-levels",
            "info",
            g.name,
            f"{len(uniq)} different time constants clustered into {levels} levels (decay_levels={levels}): "
            f"each neuron's changes by up to {100 * worst:.3g} %",
        )
    )
    return NeuronGroup(g.name, g.kind, g.shape, params, g.bias, g.reset, g.spiking, g.legacy)


def plan_scales(netlist: Netlist, layout: Layout, peaks) -> list[Finding]:
    """Pass 2: the float scale and ``vth`` of every population (set on the populations of
    ``layout``); returns its findings (``loihi2-precision``, ``loihi2-readout-may-spike``)."""
    findings: list[Finding] = []
    incoming: dict[str, list[Connection]] = netlist.incoming_index()
    for gname, plist in layout.pops.items():
        g = netlist.groups[gname]
        c = layout.coef[gname]
        # worst-case per-step |x| per neuron (every presynaptic neuron active, binary spikes)
        absw = np.zeros(g.size)
        maxw = np.zeros(g.size)
        negw = np.zeros(g.size)
        for conn in incoming[gname]:
            np.add.at(absw, conn.post_idx, np.abs(conn.weight))
            np.maximum.at(maxw, conn.post_idx, np.abs(conn.weight))
            np.add.at(negw, conn.post_idx, np.maximum(-conn.weight, 0.0))
        x_peak = absw + np.abs(g.bias)
        source = "worst case (all presynaptic neurons active)"
        if peaks is not None:
            x_peak = peaks[gname]["x"] * CALIBRATION_MARGIN
            source = f"calibration peaks x {CALIBRATION_MARGIN}"
        # peak of the integer-u drive in float v units
        if g.kind in ("CubaLI", "CubaLIF"):
            u_peak = c["drive"] * x_peak / np.maximum(c["one_minus_as_q"], 1.0 / spec.DECAY_UNITY)
            if peaks is not None:
                u_peak = c["gr"] * peaks[gname]["u"] * CALIBRATION_MARGIN
            u_peak = np.maximum(u_peak, np.abs(c["cuba_bias"]))
        else:
            u_peak = c["drive"] * x_peak
        bias_v = c["bias_v"]
        wmax_v = c["drive"] * maxw
        neg_v = _leaky_negative_bound(g, c, negw)
        for p in plist:
            sl = p.idx
            if g.spiking:
                th = g.params["v_threshold"][sl]
                if np.all(th == 0):
                    # vth = 0: any v > 0 spikes; scale from the drive alone
                    need = max(
                        _max(u_peak[sl]) / U_LIMIT,
                        _max(wmax_v[sl]) / (64 * W_EFF_MAX),
                        _max(np.abs(bias_v[sl])) / BIAS_MAX,
                        1e-300,
                    )
                    p.vth = 0
                    p.scale = np.full(p.size, need)
                else:
                    lim = [float(spec.VTH_MAX)]
                    with np.errstate(divide="ignore"):
                        # v just below threshold plus one peak input must not saturate v
                        lim.append(_min(spec.V_MAX * th / (64 * (th + u_peak[sl]))))
                        lim.append(_min(W_EFF_MAX * th / wmax_v[sl]))
                        lim.append(_min(BIAS_MAX * th / (64 * np.abs(bias_v[sl]))))
                        # room for negative v (unbounded for IF; the float reference never clips it)
                        if peaks is None:
                            # leaky neurons: v cannot fall below the all-inhibitory steady state
                            lim.append(
                                _min(
                                    spec.V_MAX
                                    * th
                                    / (64 * np.minimum(NEG_HEADROOM_THRESHOLDS * th, neg_v[sl]))
                                )
                            )
                        else:
                            lim.append(
                                _min(spec.V_MAX * th / (64 * CALIBRATION_MARGIN * peaks[gname]["v"][sl]))
                            )
                    vth = int(math.floor(min(lim)))
                    if vth < 1:
                        findings.append(
                            _f(
                                "loihi2-precision",
                                "warning",
                                gname,
                                "the expected per-step input exceeds 2**17 thresholds; vth clamped to 1 "
                                "(u or the weights may overflow)",
                            )
                        )
                        vth = 1
                    elif vth < 64:
                        findings.append(
                            _f(
                                "loihi2-precision",
                                "warning",
                                gname,
                                f"vth = {vth}: the expected peak input ({source}) leaves little "
                                "precision for the threshold; consider calibration data (calibration=IN.npz)",
                            )
                        )
                    p.vth = vth
                    p.scale = th / (64.0 * vth)
            else:
                v_peak = _readout_peak(g, c, sl, u_peak, bias_v, peaks, findings)
                need = max(
                    v_peak / READOUT_LIMIT,
                    _max(u_peak[sl]) / U_LIMIT,
                    _max(wmax_v[sl]) / (64 * W_EFF_MAX),
                    _max(np.abs(bias_v[sl])) / BIAS_MAX,
                )
                if need <= 0:
                    need = 1.0 / 64
                p.vth = READOUT_VTH
                p.scale = np.full(p.size, need)
    return findings


def plan_floor(netlist: Netlist, layout: Layout, plastic: dict, calibration) -> dict[str, np.ndarray]:
    """Pass 3: per population the mean of Lava's floor of the shifted sums (weight_exp < 0), from
    the presynaptic rates (a dry run of the weights; plastic connections get none)."""
    pops, where, coef = layout.pops, layout.where, layout.coef
    rates = _presyn_rates(netlist, pops, calibration)
    floor_comp: dict[str, np.ndarray] = {p.name: np.zeros(p.size) for plist in pops.values() for p in plist}
    for conn in netlist.connections:
        if conn.name not in plastic:  # learned weights change: no floor compensation for them
            _lower_connection(None, conn, netlist, pops, where, coef, {}, {}, [], (rates, floor_comp))
    return floor_comp


def plan_population_fields(
    netlist: Netlist, layout: Layout, floor_comp: dict, three_post: dict
) -> tuple[dict[str, PopFields], list[Finding]]:
    """Pass 4: bias mantissa/exponent (with the floor compensation), ``u_init`` and the lif_3f
    trace fields of every population; findings ``loihi2-bias-clipped``."""
    findings: list[Finding] = []
    out: dict[str, PopFields] = {}
    for gname, plist in layout.pops.items():
        c = layout.coef[gname]
        for p in plist:
            sl = p.idx
            # Lava floors each projection's shifted sum (weight_exp < 0): cancel its mean through the
            # bias (in u's steady state for CubaLIF, whose u integrates the input)
            comp = floor_comp[p.name] * (1 << spec.ACT_SHIFT)
            if "one_minus_as_q" in c:
                comp = comp / np.maximum(c["one_minus_as_q"][sl], 1.0 / spec.DECAY_UNITY)
            bias_t = c["bias_v"][sl] / p.scale + comp
            mant, bexp, clipped = mant_exp(
                bias_t, spec.BIAS_MANT_MIN, spec.BIAS_MANT_MAX, spec.BIAS_EXP_MIN, spec.BIAS_EXP_MAX
            )
            if clipped.any():
                findings.append(
                    _f(
                        "loihi2-bias-clipped",
                        "warning",
                        gname,
                        f"{int(clipped.sum())} biases exceed {spec.BIAS_MANT_MAX} << {spec.BIAS_EXP_MAX}",
                    )
                )
            u_init = -np.rint(c["cuba_bias"][sl] / p.scale).astype(np.int64)
            u_init = np.clip(u_init, spec.U_INIT_MIN, spec.U_INIT_MAX)
            traces = None
            if gname in three_post:
                traces = _lif_3f_traces(three_post[gname][1])
            out[p.name] = PopFields(mant, bexp, clipped, comp, u_init, traces)
    return out, findings


def plan_outputs(netlist: Netlist, layout: Layout) -> dict[str, OutputSpec]:
    """Pass 5: the OutputSpec of every netlist output."""
    outputs = {}
    for oname, (src, obs) in netlist.outputs.items():
        if src in netlist.inputs:
            outputs[oname] = OutputSpec(src, "spikes", 1.0)
            continue
        plist = layout.pops[src]
        p = plist[0]
        if obs == "spikes":
            outputs[oname] = OutputSpec(p.name, "spikes", 1.0)
        else:
            outputs[oname] = OutputSpec(p.name, "v", float(p.scale[0]))
    return outputs


# ---------------------------------------------------------------------------- build
def build_populations(b: Loihi2Builder, netlist: Netlist, a: Analysis, names: dict) -> dict[str, dict]:
    """Add every population (LIF, or lif_3f for a three-factor post) to ``b``; returns the
    quantization records of the populations."""
    qpops: dict[str, dict] = {}
    peaks = a.peaks
    incoming = netlist.incoming_index()
    for gname, plist in a.layout.pops.items():
        g = netlist.groups[gname]
        c = a.layout.coef[gname]
        names[gname] = [p.name for p in plist]
        for p in plist:
            sl = p.idx
            pf = a.fields[p.name]
            mant, bexp, clipped, comp, u_init = pf.mant, pf.bexp, pf.clipped, pf.comp, pf.u_init
            shape = g.shape
            if pf.traces is not None:
                b.lif_3f(
                    p.name,
                    shape,
                    du=p.du,
                    dv=p.dv,
                    vth=p.vth,
                    bias_mant=mant,
                    bias_exp=bexp,
                    u_init=u_init,
                    reward=a.rewards[gname],
                    **pf.traces,
                )
            else:
                b.lif(
                    p.name, shape, du=p.du, dv=p.dv, vth=p.vth, bias_mant=mant, bias_exp=bexp, u_init=u_init
                )
            bias_ach = mant * 2.0**bexp * p.scale
            th = g.params["v_threshold"][sl] if g.spiking else None
            scale_summary = (
                float(p.scale[0])
                if np.all(p.scale == p.scale[0])
                else {"min": float(p.scale.min()), "max": float(p.scale.max())}
            )
            qpops[p.name] = {
                "group": gname,
                "kind": g.kind,
                "neurons": p.size,
                "scale": scale_summary,
                "scale_unit": "float v per integer v unit",
                "du": _isumm(p.du),
                "dv": _isumm(p.dv),
                "decay_v_float": _summ(1 - c["one_minus_a"][sl]),
                "decay_v_int": _summ(1 - np.asarray(p.dv) / spec.DECAY_UNITY),
                "decay_u_float": _summ(1 - c["one_minus_as"][sl]) if "one_minus_as" in c else None,
                "decay_u_int": _summ(1 - (np.asarray(p.du) + spec.DS_OFFSET) / spec.DECAY_UNITY)
                if "one_minus_as" in c
                else 0.0,
                "vth": p.vth,
                "threshold_float": _summ(th) if th is not None else None,
                "threshold_int": _summ(p.vth * 64.0 * p.scale) if th is not None else None,
                "bias": error_stats(c["bias_v"][sl] + comp * p.scale, bias_ach, clipped).as_dict(),
                "floor_compensation": float(np.abs(comp).max(initial=0.0)),
                "u_init": int(np.abs(u_init).max(initial=0)),
                "expected_peak_u": _max(_u_int_peak(netlist, gname, c, p, peaks, incoming[gname])),
                "expected_peak_v": float(_v_int_peak(g, p)),
                "state_limit": spec.UV_WRAP_LIMIT,
                "peak_source": "calibration" if peaks is not None else "worst case",
            }
    return qpops


def build_projections(b: Loihi2Builder, netlist: Netlist, a: Analysis, names: dict) -> tuple[dict, dict]:
    """Add the projections of every connection to ``b`` (``learning_dense`` for plastic ones);
    returns the quantization records of the projections and the learning attachments."""
    qprojs: dict[str, dict] = {}
    attachments: dict[str, dict] = {}
    L = a.layout
    for conn in netlist.connections:
        if conn.name in a.plastic:
            _emit_learning(b, a.learning[conn.name], names, qprojs, attachments)
        else:
            _lower_connection(b, conn, netlist, L.pops, L.where, L.coef, names, qprojs, [])
    return qprojs, attachments


# ---------------------------------------------------------------------------- learning
def _plastic_connections(netlist: Netlist, learning: Any) -> tuple[dict, dict]:
    """``({connection: (node, rule)}, {post group: (node, rule)} of the three-factor rules)``."""
    from neurocompile.learning.attach import match_connections, normalize

    rules = normalize(learning)
    if not rules:
        return {}, {}
    plastic = match_connections(netlist, rules)
    three: dict[str, tuple[str, Any]] = {}
    for cname, (node, rule) in plastic.items():
        if not rule.is_three_factor:
            continue
        post = next(c.post for c in netlist.connections if c.name == cname)
        if post in three and three[post][1] != rule:
            raise UnsupportedError(
                f"two different three-factor rules ('{three[post][0]}', '{node}') into '{post}': "
                "its lif_3f neuron sends one set of y traces",
                node=node,
                parameter="learning",
                expected="one three-factor rule per post node",
            )
        three[post] = (node, rule)
    return plastic, three


def reward_refusal(node: str, rule) -> UnsupportedError | None:
    """The error for a three-factor rule that names no reward input (None when it names one)."""
    reward = (rule.params or {}).get("reward")
    if not isinstance(reward, str) or not reward:
        return UnsupportedError(
            f"three-factor rule '{rule.name}' names no reward input",
            node=node,
            parameter="reward",
            expected='reward = "<new input name>" in the rule',
        )
    return None


def plan_rewards(netlist: Netlist, three_post: dict) -> dict[str, str]:
    """The reward input of every three-factor post group (graded, 8 bits, the group's size):
    ``{post group: reward input name}``."""
    out: dict[str, str] = {}
    for gname, (node, rule) in three_post.items():
        err = reward_refusal(node, rule)
        if err is not None:
            raise err
        reward = rule.params["reward"]
        if reward in netlist.inputs or reward in netlist.groups:
            raise UnsupportedError(
                f"reward input '{reward}' clashes with a node of the model",
                node=node,
                parameter="reward",
                expected="a name that is not a NIR node",
            )
        size = netlist.groups[gname].size
        if reward in out.values():
            prev = next(g for g, r in out.items() if r == reward)
            if netlist.groups[prev].size != size:
                raise UnsupportedError(
                    f"reward input '{reward}' is shared by '{prev}' and '{gname}' of different sizes",
                    node=node,
                    parameter="reward",
                    expected="one reward input per size",
                )
        out[gname] = reward
    return out


def _lif_3f_traces(rule) -> dict[str, int]:
    """The lif_3f neuron's y1/y3 trace parameters (as :func:`.learning.map_rule` computes them)."""
    from .learning import y_decay

    out = {}
    for k in ("y1", "y3"):
        tr = rule.trace(k)
        imp = int(round(tr.impulse))
        if not 0 <= imp <= spec.TRACE_MAX:
            raise UnsupportedError(
                f"{k} impulse {tr.impulse} outside the 7-bit trace",
                node=rule.name,
                parameter=f"{k}.impulse",
                expected=f"0..{spec.TRACE_MAX}",
            )
        out[f"{k}_impulse"], out[f"{k}_decay"] = imp, y_decay(float(tr.tau))
    return out


@dataclass
class PlasticPlan:
    """Output of :func:`plan_plastic`: one ``learning_dense`` projection, ready to emit."""

    conn: Connection
    node: str
    rule: Any
    pre: str
    post: str
    W: np.ndarray
    mapping: Any
    seed: int
    wexp: int
    sign: int
    qproj: dict
    attachment: dict
    findings: list[Finding]


def plan_plastic(conn: Connection, attached, netlist: Netlist, layout: Layout) -> PlasticPlan:
    """One ``learning_dense`` projection for a plastic connection.

    It stays one projection even when its weights have both signs (sign mode MIXED, 7-bit
    mantissa): split into ``.exc``/``.inh`` each half would be clipped at 0 by Lava's learning
    engine (no weight could change sign) and the halves would learn in different ``weight_exp``
    units, so one rule would mean two different weight changes. The weight range covers the
    initial weights and the rule's bounds (``w_min``/``w_max``). Dense (n_post, n_pre): absent
    synapses are zero-weight plastic synapses (they may grow).
    """
    import zlib

    from neurocompile.learning.attach import units_of

    from .learning import map_rule

    pops, where, coef = layout.pops, layout.where, layout.coef
    findings: list[Finding] = []
    node, rule = attached
    if conn.max_delay() > 0:
        raise UnsupportedError(
            f"plastic projection with synaptic delays up to {conn.max_delay()} steps: Lava's "
            "LearningDense has no delays",
            node=node,
            parameter="delay",
            expected="no delays",
        )
    pp = pops[conn.post][0]
    pre = pops[conn.pre][0].name if conn.pre in pops else conn.pre
    n_pre = netlist.size_of(conn.pre)
    pre_l = where[conn.pre][1][conn.pre_idx] if conn.pre in where else conn.pre_idx
    post_l = where[conn.post][1][conn.post_idx]
    key = post_l * n_pre + pre_l
    if np.unique(key).size != key.size:
        raise UnsupportedError(
            "several synapses between one pair of neurons in a plastic projection",
            node=node,
            parameter="learning",
            expected="one synapse per (pre, post) pair",
        )
    c = coef[conn.post]
    units = units_of(rule)
    k = c["drive"][conn.post_idx] / (64.0 * pp.scale[post_l])  # integer a-units per model weight
    kk = float(np.median(k)) if k.size else 1.0
    if units == "model" and k.size and np.any(np.abs(k - kk) > 1e-9 * abs(kk)):
        raise UnsupportedError(
            "the post neurons of this plastic projection have different weight scales (different "
            "thresholds, r or time constants), so one rule in model units maps to different integer "
            "rules per neuron",
            node=node,
            parameter="units",
            expected='uniform post neuron parameters, or units = "program"',
        )
    w = conn.weight
    w_eff = k * w
    vals = [w_eff]
    if units == "model":
        vals += [np.array([b_ * kk]) for b_ in (rule.w_min, rule.w_max) if b_ is not None]
    allv = np.concatenate(vals)
    if allv.size and np.all(allv >= 0):
        sign = spec.SIGN_MODE_EXCITATORY
    elif allv.size and np.all(allv <= 0):
        sign = spec.SIGN_MODE_INHIBITORY
    else:
        sign = spec.SIGN_MODE_MIXED
        if np.any(w_eff > 0) and np.any(w_eff < 0) and SPLIT_SIGNS:
            findings.append(
                _f(
                    "loihi2-learning-mixed",
                    "info",
                    node,
                    "plastic projection kept as one MIXED projection (7-bit mantissa) instead of the "
                    ".exc/.inh split: split halves would each be clipped at 0 by the learning engine and "
                    "learn in different weight_exp units",
                )
            )
    mant_max = W_MANT_MAX_MIXED if sign == spec.SIGN_MODE_MIXED else W_MANT_MAX
    wexp = choose_shift(_max(np.abs(allv)), mant_max, spec.WEIGHT_EXP_MIN, spec.WEIGHT_EXP_MAX)
    x = w_eff / 2.0**wexp
    wi = 2 * np.rint(x / 2) if sign == spec.SIGN_MODE_MIXED else np.rint(x)
    lo, hi = spec.WEIGHT_RANGE[sign]
    if sign == spec.SIGN_MODE_MIXED:
        hi = hi - 1
    clipped = (wi < lo) | (wi > hi)
    wi = np.clip(wi, lo, hi).astype(np.int64)
    W = np.zeros((pp.size, n_pre), dtype=np.int64)
    W[post_l, pre_l] = wi
    ws = kk / 2.0**wexp if units == "model" else 1.0
    m = map_rule(rule, weight_scale=ws, sign_mode=sign)
    pname = conn.name
    seed = (rule.params or {}).get("rng_seed")
    if seed is None:
        seed = zlib.crc32(pname.encode()) % (spec.RNG_SEED_MAX + 1)
    for f in _mapping_findings(node, m):
        findings.append(f)
    stats = error_stats(w_eff, wi * 2.0**wexp, clipped)
    qproj = {
        "connection": conn.name,
        "sources": list(conn.sources),
        "pre": pre,
        "post": pp.name,
        "kind": "learning_dense",
        "synapses": int(w.size),
        "density": float(w.size / max(1, pp.size * n_pre)),
        "weight_scale": (1.0 / (kk / 2.0**wexp)) if kk else None,
        "weight_scale_unit": "float NIR weight per integer weight unit",
        "weight_exp": int(wexp),
        "num_weight_bits": spec.WEIGHT_BITS,
        "sign_mode": int(sign),
        "sign_mode_name": spec.SIGN_MODES[sign],
        "max_delay": 0,
        "fraction_clipped": stats.fraction_clipped,
        "fraction_zeroed": stats.fraction_zeroed,
        "rms_relative_error": stats.rms_relative_error,
    }
    attachment = {
        "projection": pname,
        "rule": rule.name,
        "kind": rule.kind,
        "units": units,
        "rule_weight_scale": float(ws),
        "rng_seed": int(seed),
        "reward": (rule.params or {}).get("reward") if rule.is_three_factor else None,
        "post_kind": "lif_3f" if rule.is_three_factor else "lif",
    }
    return PlasticPlan(
        conn, node, rule, pre, pp.name, W, m, int(seed), int(wexp), sign, qproj, attachment, findings
    )


def _emit_learning(b: Loihi2Builder, lp: PlasticPlan, names, qprojs, attachments) -> None:
    """Add the planned ``learning_dense`` projection ``lp`` to ``b``."""
    pname = lp.conn.name
    b.learning_dense(
        lp.pre,
        lp.post,
        lp.W,
        lp.mapping,
        rng_seed=lp.seed,
        weight_exp=lp.wexp,
        num_weight_bits=spec.WEIGHT_BITS,
        sign_mode=lp.sign,
        name=pname,
    )
    names.setdefault(lp.conn.name, []).append(pname)
    qprojs[pname] = lp.qproj
    attachments[lp.node] = lp.attachment


def _mapping_findings(node: str, m) -> list[Finding]:
    """Check/compile findings of a rule mapping: dropped products and unenforceable bounds
    (warnings), coefficient/impulse/constant rounding (info, requested vs effective)."""
    out = []
    for r in m.report:
        if r.effective_coeff == 0.0 and r.requested_coeff != 0.0:
            out.append(
                _f(
                    "loihi2-learning-product-dropped",
                    "warning",
                    node,
                    f"{r.target}: product {r.requested} (coefficient {r.requested_coeff:.6g}) "
                    "is below Loihi 2's smallest step and is dropped",
                )
            )
        elif r.relative_error > 1e-12:
            out.append(
                _f(
                    "loihi2-learning-rounded",
                    "info",
                    node,
                    f"{r.target}: requested {r.requested} (coefficient {r.requested_coeff:.6g}), effective "
                    f"{r.effective} ({r.effective_coeff:.6g}, relative error {r.relative_error:.3g})",
                )
            )
    for msg in m.findings:
        if msg.startswith("bounds"):
            out.append(_f("loihi2-learning-bounds", "warning", node, msg))
        elif "impulse" in msg and "rounded" in msg:
            out.append(_f("loihi2-learning-rounded", "info", node, msg))
    return out


def _max(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(a.max()) if a.size else 0.0


def _min(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.min()) if a.size else math.inf


def _isumm(d) -> Any:
    """One decay as int, per-neuron decays as {"min", "max", "distinct"}."""
    if np.ndim(d) == 0:
        return int(d)
    d = np.asarray(d)
    return {"min": int(d.min()), "max": int(d.max()), "distinct": int(np.unique(d).size)}


def _summ(a) -> Any:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return None
    if np.all(a == a[0]):
        return float(a[0])
    return {"min": float(a.min()), "max": float(a.max())}


def _coefficients(g: NeuronGroup, dt: float, disc: str, findings: list[Finding]) -> dict[str, np.ndarray]:
    """Per-neuron float coefficients and 12-bit decays of a group (see module docstring)."""
    n = g.size
    p = g.params
    out: dict[str, np.ndarray] = {}
    zeros = np.zeros(n)
    out["cuba_bias"] = zeros
    if g.kind in ("I", "IF"):
        out["one_minus_a"] = zeros
        out["dv"] = np.zeros(n, dtype=np.int64)
        out["du"] = np.full(n, spec.DU_MAX, dtype=np.int64)
        out["drive"] = dt * p["r"]
        out["bias_v"] = dt * p["r"] * g.bias
        return out
    tau_key = "tau" if g.kind in ("LI", "LIF") else "tau_mem"
    oma, dv = decay_int(p[tau_key], dt, disc)
    out["one_minus_a"] = oma
    out["dv"] = _clip_decay(dv, g, tau_key, findings, spec.DV_MAX, "dv", unity=spec.DECAY_UNITY)
    gr = oma * p["r"]
    out["gr"] = gr
    leak = oma * p["v_leak"]
    if g.kind in ("LI", "LIF"):
        out["du"] = np.full(n, spec.DU_MAX, dtype=np.int64)
        out["drive"] = gr
        out["bias_v"] = leak + gr * g.bias
        return out
    omas, du1 = decay_int(p["tau_syn"], dt, disc)
    out["one_minus_as"] = omas
    du = _clip_decay(
        du1 - spec.DS_OFFSET, g, "tau_syn", findings, spec.DU_MAX, "du", unity=spec.DECAY_UNITY - 1
    )
    out["du"] = du
    omas_q = (du + spec.DS_OFFSET) / spec.DECAY_UNITY
    out["one_minus_as_q"] = omas_q
    w_in = p["w_in"] if "w_in" in p else np.ones(n)
    gs = omas * w_in
    out["drive"] = gr * gs
    # steady state of a constant input b on u: u_ss = g_s*w_in*b/(1-a_s); in v units g*r*u_ss
    cuba_bias = gr * gs * g.bias / np.maximum(omas_q, 1.0 / spec.DECAY_UNITY)
    out["cuba_bias"] = cuba_bias
    out["bias_v"] = leak + cuba_bias
    return out


def _clip_decay(
    d: np.ndarray, g: NeuronGroup, key: str, findings: list[Finding], hi: int, field: str, unity: int
) -> np.ndarray:
    lo_bad = d < 0
    hi_bad = d > hi
    if np.any(hi_bad):
        findings.append(
            _f(
                "loihi2-decay-saturated",
                "warning",
                g.name,
                f"{key} is so short against dt that {field} exceeds {hi} for {int(hi_bad.sum())} neurons; "
                f"clamped to {hi} (decay saturates)",
            )
        )
    if np.any(lo_bad) or (field == "dv" and np.any(d == 0)):
        findings.append(
            _f(
                "loihi2-decay-rounds-to-zero",
                "warning",
                g.name,
                f"{key} is so long against dt that {field} rounds to {max(int(d.min()), 0)} "
                "(the decay is lost or larger than intended)",
            )
        )
    return np.clip(d, 0, hi).astype(np.int64)


def _presyn_rates(netlist: Netlist, pops, calibration) -> dict[str, np.ndarray]:
    """Spike probability per step of every source population's neurons: calibration means, or
    ``ASSUMED_RATE`` without data (used only for the floor compensation)."""
    out: dict[str, np.ndarray] = {}
    rec = None
    if calibration is not None:
        from neurocompile.netlist import simulate_netlist

        spiking = tuple(n for n, g in netlist.groups.items() if g.spiking)
        rec = simulate_netlist(netlist, calibration, record=spiking).recordings
    for name in netlist.inputs:
        n = netlist.size_of(name)
        if calibration is not None and name in calibration:
            x = np.asarray(calibration[name], dtype=np.float64)
            out[name] = np.clip(np.abs(x).reshape(x.shape[0] * x.shape[1], n).mean(axis=0), 0.0, 1.0)
        else:
            out[name] = np.full(n, ASSUMED_RATE)
    for gname, plist in pops.items():
        g = netlist.groups[gname]
        r = np.full(g.size, ASSUMED_RATE)
        if rec is not None and g.spiking:
            r = rec[f"{gname}.spikes"].reshape(-1, g.size).mean(axis=0)
        for p in plist:
            out[p.name] = r[p.idx]
    return out


def _leaky_negative_bound(g: NeuronGroup, c: dict, negw: np.ndarray) -> np.ndarray:
    """Largest |v| (float v units) a leaky neuron can reach below 0, per neuron (inf without leak).

    v obeys ``v <- (1 - dv/4096) v + u + bias``; with every inhibitory synapse active every step
    (and u at its inhibitory steady state for CubaLIF) v settles at ``-(drive + |bias-|)/(dv/4096)``
    and Lava's decays round toward zero, so |v| never exceeds that. ``NEG_MARGIN`` covers the
    weight rounding.
    """
    drive = c["drive"] * negw
    if "one_minus_as_q" in c:
        drive = drive / np.maximum(c["one_minus_as_q"], 1.0 / spec.DECAY_UNITY)
    drive = drive + np.maximum(-c["bias_v"], 0.0)
    dv = c["dv"] / spec.DECAY_UNITY
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(dv > 0, NEG_MARGIN * drive / np.where(dv > 0, dv, 1.0), np.inf)
    return bound


def _u_int_peak(
    netlist: Netlist, gname: str, c: dict, p: _Pop, peaks, incoming: list[Connection] | None = None
) -> np.ndarray:
    g = netlist.groups[gname]
    absw = np.zeros(g.size)
    for conn in netlist.incoming(gname) if incoming is None else incoming:
        np.add.at(absw, conn.post_idx, np.abs(conn.weight))
    x = absw + np.abs(g.bias)
    if peaks is not None:
        x = peaks[gname]["x"] * CALIBRATION_MARGIN
    u = c["drive"] * x
    if "one_minus_as_q" in c:
        u = u / np.maximum(c["one_minus_as_q"], 1.0 / spec.DECAY_UNITY)
        u = np.maximum(u, np.abs(c["cuba_bias"]))
    return u[p.idx] / p.scale


def _v_int_peak(g: NeuronGroup, p: _Pop) -> float:
    if g.spiking:
        return float(p.vth) * (1 << spec.VTH_SHIFT)
    return READOUT_LIMIT


def _readout_peak(
    g: NeuronGroup,
    c: dict,
    sl: np.ndarray,
    u_peak: np.ndarray,
    bias_v: np.ndarray,
    peaks,
    findings: list[Finding],
) -> float:
    if peaks is not None:
        return _max(peaks[g.name]["v"][sl]) * CALIBRATION_MARGIN
    drive = u_peak[sl] + np.abs(bias_v[sl])
    oma = c["one_minus_a"][sl]
    if g.kind == "I" or np.any(oma <= 0):
        findings.append(
            _f(
                "loihi2-readout-may-spike",
                "warning",
                g.name,
                f"an {g.kind} readout has no leak, so |v| is unbounded; its scale assumes "
                f"{READOUT_HORIZON} steps of peak input (pass calibration=IN.npz for data ranges)",
            )
        )
        return _max(drive) * READOUT_HORIZON
    return _max(drive / np.minimum(oma, 1.0))


def _lower_connection(
    b: Loihi2Builder | None,
    conn: Connection,
    netlist: Netlist,
    pops,
    where,
    coef,
    names,
    qprojs,
    findings,
    floor=None,
) -> None:
    """Emit the projections of one connection (``b is None``: only add the floor compensation
    ``floor = (rates, comp)`` of every projection to ``comp[post population]``)."""
    post_pop_i, post_local = where[conn.post]
    if conn.pre in netlist.groups:
        pre_pop_i, pre_local = where[conn.pre]
        pre_names = [p.name for p in pops[conn.pre]]
    else:
        pre_pop_i = np.zeros(netlist.size_of(conn.pre), dtype=np.int64)
        pre_local = np.arange(netlist.size_of(conn.pre))
        pre_names = [conn.pre]
    c = coef[conn.post]
    post_pops = pops[conn.post]
    names.setdefault(conn.name, [])
    whole = len(pre_names) == 1 and len(post_pops) == 1  # one population each side: no masks
    if not whole:
        pi = pre_pop_i[conn.pre_idx]
        qi = post_pop_i[conn.post_idx]
    for a in [0] if whole else np.unique(pi):
        for q in [0] if whole else np.unique(qi):
            m = slice(None) if whole else (pi == a) & (qi == q)
            if not (conn.weight.size if whole else m.any()):
                continue
            pp = post_pops[q]
            # (read only below) a population holding its whole group in order: local = global index
            pre_l = conn.pre_idx[m] if whole and _is_arange(pre_local) else pre_local[conn.pre_idx[m]]
            post_l = conn.post_idx[m] if whole and _is_arange(post_local) else post_local[conn.post_idx[m]]
            w = conn.weight[m]
            d = conn.delay[m]
            post_g = conn.post_idx[m]
            w_eff = c["drive"][post_g] * w / (64.0 * pp.scale[post_l])
            # split pairs that occur several times (different delays) into extra projections; the
            # netlist's (post, pre, delay) are unique, so with one delay every pair occurs once
            one_delay = not d.size or d.min() == d.max()
            rank = None if one_delay else _pair_ranks(d, post_l * (int(pre_l.max(initial=0)) + 1) + pre_l)
            for r in range(1 if rank is None else int(rank.max(initial=0)) + 1):
                sel = slice(None) if rank is None else rank == r  # every pair once: all, no copies
                base = (
                    conn.name
                    if (len(pre_names) == 1 and len(post_pops) == 1)
                    else f"{pre_names[a]}->{pp.name}"
                )
                pname = base if r == 0 else f"{base}#{r + 1}"
                n_pre = netlist.size_of(conn.pre) if len(pre_names) == 1 else int((pre_pop_i == a).sum())
                pos, neg = (w_eff > 0, w_eff < 0) if rank is None else (sel & (w_eff > 0), sel & (w_eff < 0))
                split = SPLIT_SIGNS and pos.any() and neg.any()
                known = [None, None]  # (sign mode, weight_exp) of the .exc and .inh parts when known
                if split and rank is None:
                    # a mixed-sign projection's .exc part is excitatory with largest |w_eff| w_eff.max(),
                    # its .inh part inhibitory with -w_eff.min(): what _sign_exp finds on the gathered
                    # parts, without reading them
                    known = [
                        (sm, choose_shift(top, W_MANT_MAX, spec.WEIGHT_EXP_MIN, spec.WEIGHT_EXP_MAX))
                        for sm, top in (
                            (spec.SIGN_MODE_EXCITATORY, float(w_eff.max())),
                            (spec.SIGN_MODE_INHIBITORY, float(-w_eff.min())),
                        )
                    ]
                if b is None and split and rank is None:
                    # the floor dry run: only a part with weight_exp < 0 is gathered
                    for part, (_, wexp) in zip((pos, neg), known):
                        if wexp < 0:
                            _floor(pre_names[a], pp, pre_l, post_l, None, np.flatnonzero(part), floor, wexp)
                    continue
                if split:  # gather by index: what the masks give, without a branch per synapse
                    pos, neg = np.flatnonzero(pos), np.flatnonzero(neg)
                # two single-sign projections keep all 8 mantissa bits (MIXED drops one LSB)
                parts = ((pos, pname + ".exc"), (neg, pname + ".inh")) if split else ((sel, pname),)
                for (part, pn), sign_exp in zip(parts, known):
                    if b is None:  # the floor dry run needs only w_eff (and the indices if wexp < 0)
                        _floor(pre_names[a], pp, pre_l, post_l, w_eff[part], part, floor)
                        continue
                    _emit(
                        b,
                        pn,
                        pre_names[a],
                        pp,
                        pre_l[part],
                        post_l[part],
                        w[part],
                        w_eff[part],
                        d[part],
                        n_pre,
                        conn,
                        qprojs,
                        sign_exp,
                    )
                    names[conn.name].append(pn)


def _is_arange(local: np.ndarray) -> bool:
    """``local`` is ``0, 1, ..., n - 1`` (each neuron's index in its population is its own)."""
    return bool(local.size == 0 or (local[0] == 0 and np.all(np.diff(local) == 1)))


def _pair_ranks(d: np.ndarray, key: np.ndarray) -> np.ndarray | None:
    """Per synapse, its rank among the synapses of its (post, pre) pair ``key`` in (delay, position)
    order (``np.lexsort((d, key))``, skipped when the entries are already in that order: the
    netlist sorts every connection by post, pre, delay); None when every pair occurs once."""
    if key.size < 2:
        return None
    dk = np.diff(key)
    if np.all(dk > 0):
        return None
    order = None if np.all(dk >= 0) and np.all(np.diff(d)[dk == 0] >= 0) else np.lexsort((d, key))
    ks = key if order is None else key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ks)) + 1]
    run_id = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, ks.size]))
    rank = np.zeros(key.size, dtype=np.int64)
    rank[slice(None) if order is None else order] = np.arange(ks.size) - starts[run_id]
    return rank


def _sign_exp(w_eff: np.ndarray) -> tuple[int, int]:
    """The sign mode and weight exponent of one projection's effective weights."""
    if w_eff.size and np.all(w_eff >= 0):
        sign = spec.SIGN_MODE_EXCITATORY
    elif w_eff.size and np.all(w_eff <= 0):
        sign = spec.SIGN_MODE_INHIBITORY
    else:
        sign = spec.SIGN_MODE_MIXED
    mant_max = W_MANT_MAX_MIXED if sign == spec.SIGN_MODE_MIXED else W_MANT_MAX
    return sign, choose_shift(_max(np.abs(w_eff)), mant_max, spec.WEIGHT_EXP_MIN, spec.WEIGHT_EXP_MAX)


def _floor(pre: str, post: _Pop, pre_l, post_l, w_eff, part, floor, wexp: int | None = None) -> None:
    """The floor compensation of one projection (``w_eff`` its effective weights, ``part`` its
    synapses among ``pre_l``/``post_l``) added to ``floor = (rates, comp)``. ``wexp``: its weight
    exponent when known (``w_eff`` is then not read; ``part`` is not empty)."""
    if wexp is None:
        _, wexp = _sign_exp(w_eff)
        if not w_eff.size:
            return
    if wexp < 0:
        rates, comp = floor
        # P(the shifted sum is nonzero) per post neuron, from the presynaptic spike rates; the
        # floor then loses (1 - 2**wexp)/2 a-units on average
        log_quiet = np.zeros(post.size)
        np.add.at(log_quiet, post_l[part], np.log1p(-np.minimum(rates[pre][pre_l[part]], 1 - 1e-12)))
        comp[post.name] += (1.0 - 2.0**wexp) / 2 * (1.0 - np.exp(log_quiet))


def _emit(
    b: Loihi2Builder,
    pname: str,
    pre: str,
    post: _Pop,
    pre_l,
    post_l,
    w,
    w_eff,
    d,
    n_pre,
    conn,
    qprojs,
    sign_exp: tuple[int, int] | None = None,
) -> None:
    sign, wexp = _sign_exp(w_eff) if sign_exp is None else sign_exp
    x = w_eff / 2.0**wexp
    if sign == spec.SIGN_MODE_MIXED:
        wi = 2 * np.rint(x / 2)
    else:
        wi = np.rint(x)
    lo, hi = spec.WEIGHT_RANGE[sign]
    if sign == spec.SIGN_MODE_MIXED:
        hi = hi - 1
    clipped = (wi < lo) | (wi > hi)
    wi = np.clip(wi, lo, hi).astype(np.int64)
    n_post = post.size
    delays = None if not np.any(d > 0) else d.astype(np.int64)
    density = w.size / max(1, n_post * n_pre)
    dense = density >= DENSE_MIN_DENSITY and n_post * n_pre <= DENSE_MAX_ELEMENTS
    if dense:
        W = np.zeros((n_post, n_pre), dtype=np.int64)
        W[post_l, pre_l] = wi
        D = None
        if delays is not None:
            D = np.zeros((n_post, n_pre), dtype=np.int64)
            D[post_l, pre_l] = delays
        b.dense(
            pre,
            post.name,
            W,
            weight_exp=wexp,
            num_weight_bits=spec.WEIGHT_BITS,
            sign_mode=sign,
            delays=D,
            name=pname,
        )
    else:
        b.sparse(
            pre,
            post.name,
            wi,
            pre_index=pre_l,
            post_index=post_l,
            weight_exp=wexp,
            num_weight_bits=spec.WEIGHT_BITS,
            sign_mode=sign,
            delays=delays,
            name=pname,
        )
    achieved = wi * 2.0**wexp
    stats = error_stats(w_eff, achieved, clipped)
    nzw = w != 0
    drive = coef_drive = w_eff / np.where(nzw, w, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ws = np.where(nzw, 2.0**wexp / np.where(coef_drive != 0, drive, np.inf), 0.0)
    ws = ws[nzw]
    qprojs[pname] = {
        "connection": conn.name,
        "sources": list(conn.sources),
        "pre": pre,
        "post": post.name,
        "kind": ("delay_" if delays is not None else "") + ("dense" if dense else "sparse"),
        "synapses": int(w.size),
        "density": float(density),
        "weight_scale": _summ(ws) if ws.size else None,
        "weight_scale_unit": "float NIR weight per integer weight unit",
        "weight_exp": int(wexp),
        "num_weight_bits": spec.WEIGHT_BITS,
        "sign_mode": int(sign),
        "sign_mode_name": spec.SIGN_MODES[sign],
        "max_delay": int(d.max(initial=0)),
        "fraction_clipped": stats.fraction_clipped,
        "fraction_zeroed": stats.fraction_zeroed,
        "rms_relative_error": stats.rms_relative_error,
    }


__all__ = ["lower", "DENSE_MIN_DENSITY", "DENSE_MAX_ELEMENTS", "READOUT_HORIZON", "decay_int"]
