"""sPyNNaker 1!7.4.1 STDP: library rule -> ``STDPMechanism`` parameters -> the integers its binaries use.

A spinnaker Program holds plasticity as PyNN sees it: a projection of kind ``"stdp"`` carries a
``plasticity`` block ``{"timing": ..., "weight": ..., <PyNN parameters>}`` with the floats a PyNN
script hands to ``sim.STDPMechanism`` (``docs/reference/spinnaker.md`` §3.1):

======================  ===================================  =======================================
timing x weight         PyNN objects                         parameters (ms, nA, dimensionless)
======================  ===================================  =======================================
spike_pair x additive   SpikePairRule + AdditiveWeightDep.    tau_plus tau_minus A_plus A_minus w_min w_max
spike_pair x multipl.   SpikePairRule + MultiplicativeW.D.    (same; A± dimensionless rates)
pfister_triplet x       extra_models.PfisterSpikeTriplet +   tau_plus tau_minus tau_x tau_y A_plus A_minus
additive_triplet        extra_models.WeightDependence-        A3_plus A3_minus w_min w_max
                        AdditiveTriplet
======================  ===================================  =======================================

:func:`stdp_constants` derives from that block exactly what sPyNNaker's host writes for the
binary (``plasticity/stdp/common.py``, ``weight_dependence_*.py``; §3.2):

* exp LUTs ``floor(exp(-(i << shift) * dt/tau) * 2048)`` with ``size = 2*ceil((ln 2048 / (dt/tau)) /
  2**shift / 2)`` (shift 0 for tau_plus/tau_minus, 2 for Pfister's tau_x/tau_y);
* additive: ``w_min, w_max, A_plus, A_minus`` as S1615 (**A± absolute, in nA, not times w_max**);
  multiplicative: ``w_min, w_max`` and the raw rates ``A_plus, A_minus``; additive triplet:
  ``w_min, w_max`` and ``A2±, A3±`` **times w_max** (``A * w_max`` in float64, then S1615).

:func:`map_rule` maps a library rule of :mod:`neurocompile.learning` (time constants in steps,
amplitudes in the projection's weight units per normalised trace) onto such a block; rules
sPyNNaker cannot run raise :class:`UnsupportedError`, and :func:`rule_findings` reports the same
facts as ``check --target spinnaker`` findings (neuromodulation: broken host path in 7.4.1;
Hebbian and custom rules: no binary; two different rules into one post population: sPyNNaker
raises ``SynapticConfigurationException``).

Knowingly not modelled: ``backprop_delay=False`` (the post spike of tick t and the pre spikes
of tick t race on chip), the nearest-pair, Vogels 2011 and recurrent rules (binaries exist but no
library rule maps to them), STDP synapses whose delay needs a delay-extension core (the pre time
the row sees is then the extension's send time; refused), and ``t_epoch`` > 1 (sPyNNaker updates
at every pre spike; reported as a note).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from neurocompile.errors import ParameterError, RangeError, UnsupportedError

from . import fixed, spec

#: (timing, weight) -> the PyNN parameters of the block, in STDPMechanism's argument names.
PLASTICITY_PARAMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("spike_pair", "additive"): ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"),
    ("spike_pair", "multiplicative"): ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"),
    ("pfister_triplet", "additive_triplet"): (
        "tau_plus",
        "tau_minus",
        "tau_x",
        "tau_y",
        "A_plus",
        "A_minus",
        "A3_plus",
        "A3_minus",
        "w_min",
        "w_max",
    ),
}
#: PyNN class names (the bundle's run.py resolves them on the simulator module).
PYNN_TIMING = {"spike_pair": "SpikePairRule", "pfister_triplet": "extra_models.PfisterSpikeTriplet"}
PYNN_WEIGHT = {
    "additive": "AdditiveWeightDependence",
    "multiplicative": "MultiplicativeWeightDependence",
    "additive_triplet": "extra_models.WeightDependenceAdditiveTriplet",
}
#: which parameters go to the timing rule, the rest to the weight dependence.
TIMING_ARGS = {
    "spike_pair": ("tau_plus", "tau_minus", "A_plus", "A_minus"),
    "pfister_triplet": ("tau_plus", "tau_minus", "tau_x", "tau_y", "A_plus", "A_minus"),
}
WEIGHT_ARGS = {
    "additive": ("w_min", "w_max"),
    "multiplicative": ("w_min", "w_max"),
    "additive_triplet": ("w_min", "w_max", "A3_plus", "A3_minus"),
}
#: binaries codes used by the emulator kernel
TIMING_CODES = {"spike_pair": 0, "pfister_triplet": 1}
WEIGHT_CODES = {"additive": 0, "multiplicative": 1, "additive_triplet": 2}
NEUROMODULATION_BUG = (
    "sPyNNaker 1!7.4.1's host path for extra_models.Neuromodulation is broken: data-spec generation fails "
    "with numpy 2 (OverflowError, synapse_dynamics_neuromodulation.py L237: a 0x80000000 flag OR-ed into a "
    "numpy uint8) and with numpy 1.26 (ValueError in synapse_io.py L377: pp_size is 1-D); FromList "
    "connectors and any virtual board take that path (docs/reference/spinnaker.md §1.5)"
)


# ----------------------------------------------------------------------- LUTs (host port)
def exp_lut(tick_ms: float, tau_ms: float, shift: int = 0) -> np.ndarray:
    """sPyNNaker's ``get_exp_lut_array`` values (int64): ``floor(exp(-(i << shift) * dt/tau) * 2048)``.

    ``size``: ``ln(2048) / (dt/tau) / 2**shift`` rounded up to an even count (``divmod(x, 2)`` and
    one more pair when there is a remainder), exactly as the host computes it. ``dt`` is the
    simulation time step in ms as sPyNNaker holds it (``us / 1000``).
    """
    ts = int(round(float(tick_ms) * 1000)) / 1000.0
    lam = ts / float(tau_ms)
    size = math.log(spec.STDP_ONE) / lam
    size, extra = divmod(size / (1 << int(shift)), 2)
    size = (int(size) + (extra > 0)) * 2
    a = np.exp((np.arange(size) << int(shift)) * -lam)
    return np.floor(a * spec.STDP_ONE).astype(np.uint16).astype(np.int64)


def lut_lookup(lut: np.ndarray, shift: int, dt: int) -> int:
    """``maths_lut_exponential_decay``: ``lut[dt >> shift]`` if inside the table, else 0 (dt as uint32)."""
    i = (int(dt) & 0xFFFFFFFF) >> int(shift)
    return int(lut[i]) if i < lut.size else 0


# ----------------------------------------------------------------------- the Program block
@dataclass(frozen=True)
class StdpConstants:
    """The integers sPyNNaker's binary works with for one plasticity block (S1615 and s4.11)."""

    timing: str
    weight: str
    w_min: int
    w_max: int
    a2_plus: int
    a2_minus: int
    a3_plus: int
    a3_minus: int
    lut_plus: np.ndarray
    lut_minus: np.ndarray
    lut_x: np.ndarray
    lut_y: np.ndarray
    shift_plus: int = spec.STDP_LUT_SHIFT_PAIR
    shift_minus: int = spec.STDP_LUT_SHIFT_PAIR
    shift_x: int = spec.STDP_LUT_SHIFT_TRIPLET_XY
    shift_y: int = spec.STDP_LUT_SHIFT_TRIPLET_XY

    def as_dict(self) -> dict[str, Any]:
        return {
            "timing": self.timing,
            "weight": self.weight,
            "w_min": self.w_min,
            "w_max": self.w_max,
            "a2_plus": self.a2_plus,
            "a2_minus": self.a2_minus,
            "a3_plus": self.a3_plus,
            "a3_minus": self.a3_minus,
            "lut_sizes": {
                "plus": int(self.lut_plus.size),
                "minus": int(self.lut_minus.size),
                "x": int(self.lut_x.size),
                "y": int(self.lut_y.size),
            },
            "lut_heads": {"plus": self.lut_plus[:4].tolist(), "minus": self.lut_minus[:4].tolist()},
        }


def _num(block: Mapping[str, Any], key: str, node: str) -> float:
    v = block.get(key)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ParameterError(
            f"plasticity {key} must be a number, got {v!r}",
            node=node,
            parameter=f"plasticity.{key}",
            expected="a float in PyNN units (ms, nA)",
        )
    v = float(v)
    if not math.isfinite(v):
        raise ParameterError(
            f"plasticity {key}={v} is not finite",
            node=node,
            parameter=f"plasticity.{key}",
            expected="a finite float",
        )
    return v


def _s1615(value: float, node: str, key: str) -> int:
    try:
        return fixed.s1615(value)
    except OverflowError:
        raise RangeError(
            f"plasticity {key}={value:g} does not fit s16.15 as sPyNNaker writes it",
            node=node,
            parameter=f"plasticity.{key}",
            expected=f"|{key}| < {spec.S1615_MAX}",
        ) from None


def validate_plasticity(
    block: Any, *, node: str, tick_ms: float, shift: int | None = None, post_kind: str = "if_curr_exp"
) -> dict[str, float]:
    """Check a ``plasticity`` block; returns its numeric parameters. Raises typed errors naming the
    projection (``node``), the field and the limit. ``shift`` (the post receptor's ring-buffer
    shift) bounds ``w_max``: larger weights would wrap when written back as uint16."""
    if not isinstance(block, Mapping):
        raise ParameterError(
            f"plasticity must be a dict, got {type(block).__name__}",
            node=node,
            parameter="plasticity",
            expected="{'timing': ..., 'weight': ..., parameters}",
        )
    timing, weight = block.get("timing"), block.get("weight")
    if timing not in spec.STDP_TIMING_RULES:
        raise ParameterError(
            f"plasticity timing {timing!r} is not modelled",
            node=node,
            parameter="plasticity.timing",
            expected=" or ".join(spec.STDP_TIMING_RULES),
        )
    if weight not in spec.STDP_WEIGHT_RULES:
        raise ParameterError(
            f"plasticity weight {weight!r} is not modelled",
            node=node,
            parameter="plasticity.weight",
            expected=" or ".join(spec.STDP_WEIGHT_RULES),
        )
    if (timing, weight) not in spec.STDP_BINARIES.get(post_kind, ()):
        raise UnsupportedError(
            f"sPyNNaker 1!7.4.1 has no {post_kind} binary for {timing} x {weight}",
            node=node,
            parameter="plasticity",
            expected=" or ".join(f"{t} x {w}" for t, w in spec.STDP_BINARIES.get(post_kind, ()))
            or "a static projection",
        )
    names = PLASTICITY_PARAMS[(timing, weight)]
    unknown = sorted(set(block) - set(names) - {"timing", "weight"})
    if unknown:
        raise ParameterError(
            f"plasticity has unknown field(s) {unknown}",
            node=node,
            parameter=f"plasticity.{unknown[0]}",
            expected="one of " + ", ".join(names),
        )
    vals = {k: _num(block, k, node) for k in names}
    for k in names:
        if k.startswith("tau"):
            if vals[k] <= 0:
                raise ParameterError(
                    f"plasticity {k}={vals[k]} must be positive (the host divides dt by it)",
                    node=node,
                    parameter=f"plasticity.{k}",
                    expected=f"{k} > 0 ms",
                )
            sh = spec.STDP_LUT_SHIFT_TRIPLET_XY if k in ("tau_x", "tau_y") else spec.STDP_LUT_SHIFT_PAIR
            n = math.log(spec.STDP_ONE) * vals[k] / tick_ms / (1 << sh)
            if n > spec.STDP_LUT_SIZE_MAX - 2:
                raise RangeError(
                    f"plasticity {k}={vals[k]} ms needs a LUT of {n:.0f} entries",
                    node=node,
                    parameter=f"plasticity.{k}",
                    expected=f"<= {spec.STDP_LUT_SIZE_MAX} entries (uint16 size in the LUT header)",
                )
        elif k.startswith("A") and vals[k] < 0:
            raise ParameterError(
                f"plasticity {k}={vals[k]} must not be negative (sPyNNaker adds A+ and subtracts A-)",
                node=node,
                parameter=f"plasticity.{k}",
                expected=f"{k} >= 0",
            )
    if vals["w_min"] < 0:
        raise RangeError(
            f"plasticity w_min={vals['w_min']} is negative; weights are unsigned 16 bit on chip",
            node=node,
            parameter="plasticity.w_min",
            expected="w_min >= 0 (the sign comes from the receptor)",
        )
    if vals["w_max"] < vals["w_min"]:
        raise ParameterError(
            f"plasticity w_max={vals['w_max']} < w_min={vals['w_min']}",
            node=node,
            parameter="plasticity.w_max",
            expected="w_min <= w_max",
        )
    if weight == "additive_triplet" and vals["w_max"] <= 0:
        raise ParameterError(
            "additive triplet needs w_max > 0 (sPyNNaker multiplies A2±/A3± by w_max)",
            node=node,
            parameter="plasticity.w_max",
            expected="w_max > 0",
        )
    if shift is not None:
        top = spec.W16_MAX / spec.weight_scale(shift)
        if vals["w_max"] > top:
            raise RangeError(
                f"plasticity w_max={vals['w_max']:g} nA exceeds the largest weight of ring-buffer shift "
                f"{shift} ({top:g} nA): the write-back w >> shift would wrap at 16 bits",
                node=node,
                parameter="plasticity.w_max",
                expected=f"w_max <= {top:g} (or a larger shift)",
            )
    stdp_constants({"timing": timing, "weight": weight, **vals}, tick_ms, node=node)  # S1615 ranges
    return vals


def stdp_constants(block: Mapping[str, Any], tick_ms: float, *, node: str = "stdp") -> StdpConstants:
    """The integers sPyNNaker's host writes for ``block`` (global weight scale 1.0: current inputs)."""
    timing, weight = block["timing"], block["weight"]
    g = spec.GLOBAL_WEIGHT_SCALE_CURRENT
    p = {k: float(block[k]) for k in PLASTICITY_PARAMS[(timing, weight)]}
    w_min = _s1615(p["w_min"] * g, node, "w_min")
    w_max = _s1615(p["w_max"] * g, node, "w_max")
    if weight == "additive":
        a2p, a2m = _s1615(p["A_plus"] * g, node, "A_plus"), _s1615(p["A_minus"] * g, node, "A_minus")
        a3p = a3m = 0
    elif weight == "multiplicative":
        a2p, a2m = _s1615(p["A_plus"], node, "A_plus"), _s1615(p["A_minus"], node, "A_minus")
        a3p = a3m = 0
    else:  # additive triplet: every A times w_max (weight_dependence_additive_triplet.py)
        a2p = _s1615(p["A_plus"] * p["w_max"] * g, node, "A_plus")
        a2m = _s1615(p["A_minus"] * p["w_max"] * g, node, "A_minus")
        a3p = _s1615(p["A3_plus"] * p["w_max"] * g, node, "A3_plus")
        a3m = _s1615(p["A3_minus"] * p["w_max"] * g, node, "A3_minus")
    empty = np.zeros(0, np.int64)
    lp = exp_lut(tick_ms, p["tau_plus"], spec.STDP_LUT_SHIFT_PAIR)
    lm = exp_lut(tick_ms, p["tau_minus"], spec.STDP_LUT_SHIFT_PAIR)
    lx = (
        exp_lut(tick_ms, p["tau_x"], spec.STDP_LUT_SHIFT_TRIPLET_XY) if timing == "pfister_triplet" else empty
    )
    ly = (
        exp_lut(tick_ms, p["tau_y"], spec.STDP_LUT_SHIFT_TRIPLET_XY) if timing == "pfister_triplet" else empty
    )
    return StdpConstants(timing, weight, w_min, w_max, a2p, a2m, a3p, a3m, lp, lm, lx, ly)


def pynn_arguments(block: Mapping[str, Any]) -> dict[str, Any]:
    """``{"timing": (class, kwargs), "weight": (class, kwargs)}`` for ``sim.STDPMechanism``."""
    t, w = block["timing"], block["weight"]
    return {
        "timing": (PYNN_TIMING[t], {k: float(block[k]) for k in TIMING_ARGS[t]}),
        "weight": (PYNN_WEIGHT[w], {k: float(block[k]) for k in WEIGHT_ARGS[w]}),
    }


def same_plasticity(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """sPyNNaker's ``is_same_as`` for two blocks (every field equal)."""
    return dict(a) == dict(b)


# ----------------------------------------------------------------------- library rule -> block
@dataclass(frozen=True)
class SpiNNakerRuleMapping:
    """A library rule mapped onto sPyNNaker: the Program block, the PyNN call and what changed."""

    rule: str
    kind: str
    plasticity: dict[str, Any]
    pynn: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "plasticity": dict(self.plasticity),
            "pynn": self.pynn,
            "notes": list(self.notes),
        }


def _unsupported_reason(rule: Any) -> tuple[str, str] | None:
    """``(code, message)`` when sPyNNaker 1!7.4.1 cannot run ``rule`` at all, else None."""
    kind = getattr(rule, "kind", "custom")
    if kind in ("eprop", "feedback_alignment") or getattr(rule, "signal", None) is not None:
        what = {"eprop": "e-prop", "feedback_alignment": "feedback alignment"}.get(kind, f"rule {kind!r}")
        return (
            "spinnaker-rule-no-binary",
            f"{what} needs a per-neuron graded learning signal (errors through feedback weights) and a "
            "pseudo-derivative of v; sPyNNaker 1!7.4.1 ships no e-prop or feedback-alignment binary "
            "(its plasticity is STDP timing x weight dependence, plus the broken neuromodulation path)",
        )
    if kind == "rstdp" or getattr(rule, "third_factor", None) is not None:
        return (
            "spinnaker-neuromodulation-broken",
            "reward-modulated STDP maps onto sPyNNaker's Izhikevich neuromodulation, but "
            + NEUROMODULATION_BUG,
        )
    if kind == "hebbian":
        return (
            "spinnaker-rule-no-binary",
            "bounded Hebbian learning has no sPyNNaker 1!7.4.1 binary (its STDP menu is pair/nearest-pair/"
            "Pfister/Vogels/recurrent timing x additive/multiplicative weight dependence)",
        )
    if kind not in ("stdp_pair", "stdp_triplet"):
        return (
            "spinnaker-rule-no-binary",
            f"rule kind {kind!r} is not one of sPyNNaker's fixed STDP rules (pair or triplet STDP from "
            "neurocompile.learning.library); custom sums of products cannot run there",
        )
    params = getattr(rule, "params", {}) or {}
    if kind == "stdp_triplet" and params.get("weight_dependence", "additive") != "additive":
        return (
            "spinnaker-rule-no-binary",
            "Pfister triplet STDP has a binary only with the additive triplet "
            "weight dependence (no pfister_triplet_multiplicative in 7.4.1)",
        )
    return None


def map_rule(
    rule: Any,
    *,
    tick_ms: float,
    shift: int | None = None,
    weight_scale: float = 1.0,
    post_kind: str = "if_curr_exp",
    node: str | None = None,
) -> SpiNNakerRuleMapping:
    """Map a library :class:`~neurocompile.learning.LearningRule` onto a sPyNNaker plasticity block.

    ``tick_ms``: the PyNN timestep (one rule step = one tick, so tau_ms = tau * tick_ms).
    ``weight_scale``: nA per unit of the rule's weight units (the lowering's weight scale; 1.0
    when the rule is given in nA). ``shift``: the post receptor's ring-buffer shift, needed only
    when the rule leaves a bound open (``w_min`` None -> 0, ``w_max`` None -> the largest weight
    the shift can hold, ``65535 / 2**(15 - shift)`` nA).
    Raises :class:`UnsupportedError` for rules sPyNNaker cannot run (see :func:`rule_findings`).
    """
    name = node or getattr(rule, "name", "rule")
    bad = _unsupported_reason(rule)
    if bad is not None:
        raise UnsupportedError(bad[1], node=name, parameter="learning", expected="stdp_pair or stdp_triplet")
    kind, p = rule.kind, dict(rule.params)
    ws = float(weight_scale)
    if not (ws > 0 and math.isfinite(ws)):
        raise ParameterError(
            f"weight_scale {weight_scale} must be a positive float",
            node=name,
            parameter="weight_scale",
            expected="nA per model weight unit, > 0",
        )
    notes = []
    if int(getattr(rule, "t_epoch", 1)) != 1:
        notes.append(
            f"t_epoch={rule.t_epoch} ignored: sPyNNaker applies every update at the pre spike that "
            "triggers it (deferred, event-driven)"
        )
    w_min = 0.0 if p.get("w_min") is None else float(p["w_min"]) * ws
    if p.get("w_max") is None:
        if shift is None:
            raise ParameterError(
                "the rule has no w_max and no ring-buffer shift was given",
                node=name,
                parameter="w_max",
                expected="w_max in the rule, or shift=",
            )
        w_max = spec.W16_MAX / spec.weight_scale(shift)
        notes.append(f"w_max open: set to the largest weight of shift {shift}, {w_max:g} nA")
    else:
        w_max = float(p["w_max"]) * ws
    if p.get("w_min") is None:
        notes.append("w_min open: set to 0 (weights are unsigned on chip)")
    taus = {k: float(p[k]) * float(tick_ms) for k in ("tau_plus", "tau_minus", "tau_x", "tau_y") if k in p}
    if kind == "stdp_pair":
        wd = p.get("weight_dependence", "additive")
        if wd == "additive":
            a_plus, a_minus = float(p["A_plus"]) * ws, float(p["A_minus"]) * ws
        else:  # multiplicative: dimensionless rates, unchanged
            a_plus, a_minus = float(p["A_plus"]), float(p["A_minus"])
        block = {
            "timing": "spike_pair",
            "weight": wd,
            "tau_plus": taus["tau_plus"],
            "tau_minus": taus["tau_minus"],
            "A_plus": a_plus,
            "A_minus": a_minus,
            "w_min": w_min,
            "w_max": w_max,
        }
    else:
        if not w_max > 0:
            raise ParameterError(
                "triplet STDP on sPyNNaker needs w_max > 0 (A2±/A3± are given as fractions of w_max)",
                node=name,
                parameter="w_max",
                expected="w_max > 0",
            )
        block = {
            "timing": "pfister_triplet",
            "weight": "additive_triplet",
            **taus,
            "A_plus": float(p["A2_plus"]) * ws / w_max,
            "A_minus": float(p["A2_minus"]) * ws / w_max,
            "A3_plus": float(p["A3_plus"]) * ws / w_max,
            "A3_minus": float(p["A3_minus"]) * ws / w_max,
            "w_min": w_min,
            "w_max": w_max,
        }
        notes.append("A2±/A3± divided by w_max: sPyNNaker's additive triplet multiplies them by w_max again")
        notes.append("sPyNNaker treats a spike at tick 0 as 'no previous spike' for the r2/o2 triplet traces")
    validate_plasticity(block, node=name, tick_ms=float(tick_ms), shift=shift, post_kind=post_kind)
    args = pynn_arguments(block)
    pynn = "sim.STDPMechanism(timing_dependence=sim.{}({}), weight_dependence=sim.{}({}))".format(
        args["timing"][0],
        ", ".join(f"{k}={v:g}" for k, v in args["timing"][1].items()),
        args["weight"][0],
        ", ".join(f"{k}={v:g}" for k, v in args["weight"][1].items()),
    )
    return SpiNNakerRuleMapping(name, kind, block, pynn, tuple(notes))


# ----------------------------------------------------------------------- check findings
def rule_findings(
    rules: Mapping[str, Any],
    post_of: Mapping[str, str] | None = None,
    post_kind_of: Mapping[str, str] | None = None,
) -> list[tuple[str, str, str, str]]:
    """``[(code, severity, projection, message)]`` for rules attached to projections (``{projection:
    rule}``) that sPyNNaker 1!7.4.1 cannot run. ``post_of`` maps a projection to its post population
    (NIR neuron node) to find two different rules into one population; ``post_kind_of`` maps it to
    the post's PyNN kind (IF_curr_delta only has the pair-additive binary)."""
    out: list[tuple[str, str, str, str]] = []
    for proj, rule in rules.items():
        bad = _unsupported_reason(rule)
        if bad is not None:
            out.append((bad[0], "error", proj, bad[1]))
            continue
        pk = (post_kind_of or {}).get(proj)
        if pk == "if_curr_delta" and not (
            rule.kind == "stdp_pair" and rule.params.get("weight_dependence", "additive") == "additive"
        ):
            out.append(
                (
                    "spinnaker-rule-no-binary",
                    "error",
                    proj,
                    "IF_curr_delta has only the pair-additive STDP binary in sPyNNaker 1!7.4.1",
                )
            )
        if int(getattr(rule, "t_epoch", 1)) != 1:
            out.append(
                (
                    "spinnaker-rule-epoch",
                    "warning",
                    proj,
                    f"t_epoch={rule.t_epoch} is ignored: sPyNNaker updates at every pre spike",
                )
            )
    by_post: dict[str, list[str]] = {}
    for proj, post in (post_of or {}).items():
        if proj in rules:
            by_post.setdefault(post, []).append(proj)
    for post, projs in by_post.items():
        sig = {p: _signature(rules[p]) for p in projs}
        if len(set(sig.values())) > 1:
            out.append(
                (
                    "spinnaker-rules-differ-per-population",
                    "error",
                    post,
                    f"projections {sorted(projs)} into '{post}' carry different learning rules; "
                    "sPyNNaker runs one STDP rule per post population (SynapticConfigurationException: "
                    "'Synapse dynamics must match exactly when using multiple edges to the same population')",
                )
            )
    return out


def _signature(rule: Any) -> str:
    p = dict(getattr(rule, "params", {}) or {})
    return repr((getattr(rule, "kind", None), sorted((k, repr(v)) for k, v in p.items())))


def projections_of(graph: Any) -> dict[str, str]:
    """``{weight node: post neuron node}`` following the graph's edges (the first node downstream
    that is not a pass-through); used by the check rule for the one-rule-per-population finding."""
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    neurons = ("LIF", "IF", "CubaLIF", "LI", "I", "CubaLI")
    out = {}
    for name in graph.nodes:
        seen, frontier = set(), list(succ.get(name, ()))
        while frontier:
            n = frontier.pop(0)
            if n in seen:
                continue
            seen.add(n)
            if graph.nodes[n].kind in neurons:
                out[name] = n
                break
            if graph.nodes[n].kind in ("Scale", "Flatten", "Delay"):
                frontier.extend(succ.get(n, ()))
    return out


__all__ = [
    "exp_lut",
    "lut_lookup",
    "StdpConstants",
    "stdp_constants",
    "validate_plasticity",
    "pynn_arguments",
    "same_plasticity",
    "SpiNNakerRuleMapping",
    "map_rule",
    "rule_findings",
    "projections_of",
    "PLASTICITY_PARAMS",
    "NEUROMODULATION_BUG",
    "TIMING_CODES",
    "WEIGHT_CODES",
]
