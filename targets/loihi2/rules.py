"""The Loihi 2 rules: what the lowering (``targets/loihi2/lower.py``) refuses or only approximates.

The target's ``rules`` hook (:data:`RULES`), written once for both callers: ``check MODEL
--target loihi2`` lists every finding, and :func:`.lower.lower` starts with
:func:`neurocompile.check.enforce`, which raises the first error finding as the typed error it
carries. A rule reads the :class:`neurocompile.check.Context`: the graph, the netlist and
semantics (in ``check``, where no reset is chosen, the file's reset or reset to zero where the
file leaves it open), the learning rules and the compile options. Error findings are made with
:func:`neurocompile.check.refusal` from the error the lowering raises.

Order (lower raises the first error): learning attachment, reset and threshold per group,
connections (sources, synaptic delays), Delay nodes, learning rules, then the lowering's
analysis passes (:func:`.lower.analyse`, shared with ``lower`` through the context): their
findings (decays, splits, precision, biases, learning mappings) and their refusals (split
outputs or three-factor posts, plastic projections). Codes are documented in ``docs/check.md``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from neurocompile.check import Finding, refusal, reset_rule, value_reset_effect
from neurocompile.errors import NeurocompileError, ParameterError, ResourceError, UnsupportedError

from . import spec

_SPIKING = ("IF", "LIF", "CubaLIF")


def _f(code: str, severity: str, node: str | None, message: str) -> Finding:
    return Finding(code, severity, node, " ".join(message.split()))


def _arr(node, key):
    v = node.params.get(key)
    if v is None:
        return None
    try:
        a = np.asarray(v, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    return a if np.all(np.isfinite(a)) else None


def _plastic(ctx):
    """``(plastic, three_post)`` of :func:`.lower._plastic_connections`, once per context."""
    from .lower import _plastic_connections

    return ctx.memo("loihi2.plastic", lambda: _plastic_connections(ctx.netlist, ctx.learning))


# ---------------------------------------------------------------------------- netlist
def _netlist(ctx) -> Iterator[Finding]:
    """What building the netlist refused, and its ``weight-layers-composed`` notes."""
    if ctx.netlist is None:
        if isinstance(ctx.netlist_error, NeurocompileError):
            yield refusal("loihi2-unsupported", ctx.netlist_error)
        return
    for f in ctx.netlist.findings:
        if f.code == "weight-layers-composed":
            yield f


def _attach(ctx) -> Iterator[Finding]:
    """Learning rules match the netlist's connections; one three-factor rule per post node."""
    if ctx.netlist is None or not ctx.learning:
        return
    try:
        _plastic(ctx)
    except NeurocompileError as exc:
        yield refusal("loihi2-unsupported", exc)


#: what Lava's LIF does instead of a reset by subtraction (docs/reference/loihi2.md §1.2)
RESET_WHY = "Lava's fixed-point LIF sets v to 0 after a spike (docs/reference/loihi2.md §1.2)"


def _groups(ctx) -> Iterator[Finding]:
    """Reset (Lava resets v to 0: :func:`neurocompile.check.reset_rule`, the same handling as every
    target that cannot subtract) and thresholds (one vth per population) of the spiking groups."""
    yield from reset_rule(ctx, code="loihi2-reset-subtract", chip="Loihi 2", why=RESET_WHY)
    if ctx.netlist is None:
        return
    valued = [g.name for g in ctx.netlist.groups.values() if g.spiking and g.reset == "value"]
    for g in ctx.netlist.groups.values():
        if not g.spiking:
            continue
        if g.reset == "value":
            yield refusal(
                "loihi2-v-reset",
                UnsupportedError(
                    f"v_reset = {g.params['v_reset'][np.flatnonzero(g.params['v_reset'])[0]]:g} "
                    "cannot be expressed "
                    '(Lava\'s LIF resets v to 0); compile with reset="zero" to accept the approximation. '
                    + value_reset_effect(ctx, valued),
                    node=g.name,
                    parameter="v_reset",
                    expected='v_reset = 0 or reset="zero"',
                ),
            )
        th = g.params["v_threshold"]
        if np.any(th < 0) or (np.any(th == 0) and np.any(th > 0)):
            yield refusal(
                "loihi2-unsupported",
                UnsupportedError(
                    "thresholds must be all > 0 (or all 0) to share one Lava vth",
                    node=g.name,
                    parameter="v_threshold",
                    expected="v_threshold > 0",
                ),
            )


def _connections(ctx) -> Iterator[Finding]:
    """Only spiking neurons send (binary) spikes; synaptic delays fit 6 bits."""
    nl = ctx.netlist
    if nl is None:
        return
    for c in nl.connections:
        if c.pre in nl.groups and not nl.groups[c.pre].spiking:
            yield refusal(
                "loihi2-unsupported",
                UnsupportedError(
                    f"a non-spiking {nl.groups[c.pre].kind} node drives '{c.post}'; "
                    "Lava neurons send spikes only",
                    node=c.pre,
                    parameter="edges",
                    expected="only spiking neurons (IF, LIF, CubaLIF) or Inputs as sources",
                ),
            )
        if c.max_delay() > spec.DELAY_MAX:
            yield refusal(
                "loihi2-unsupported",
                ResourceError(
                    f"synaptic delay of {c.max_delay()} steps (from {', '.join(c.sources) or c.name})",
                    node=(c.sources[0] if c.sources else c.post),
                    parameter="delay",
                    expected=f"delays <= {spec.DELAY_MAX} steps",
                ),
            )


def _delay_limit(ctx) -> Iterator[Finding]:
    """A Delay node longer than the 6-bit synaptic delay (reported on the node itself)."""
    dt = ctx.effective_dt
    if dt is None:
        return
    for node in ctx.graph.nodes.values():
        d = _arr(node, "delay") if node.kind == "Delay" else None
        if d is not None and d.size and np.max(d) / dt > spec.DELAY_MAX + 1e-6:
            yield refusal(
                "loihi2-delay-limit",
                ResourceError(
                    f"delay of {np.max(d) / dt:g} steps of dt = {dt:g} exceeds Loihi 2's "
                    f"{spec.DELAY_MAX} steps (6-bit synaptic delays)",
                    node=node.name,
                    parameter="delay",
                    expected=f"delays <= {spec.DELAY_MAX} steps",
                ),
            )


# ---------------------------------------------------------------------------- learning
_MAP_CODES = {"t_epoch": "loihi2-learning-epoch", "third_factor": "loihi2-learning-third-factor"}


def signal_refusal(node: str, rule) -> UnsupportedError:
    """Learning-signal rules need populations and projections a NIR graph does not describe."""
    return UnsupportedError(
        f"rule '{rule.name}' ({rule.kind}) needs a learning-signal population sending its errors "
        f"through feedback projections (source {rule.signal.source!r}) into lif_3f neurons computing "
        "a pseudo-derivative; compile(learning=...) does not build them from a NIR graph",
        node=node,
        parameter="learning",
        expected="Loihi2Builder: lif_3f(rule=...), learning_dense, feedback (models/learning_signals.py)",
    )


def learning_refusals(node: str, rule) -> list[Finding]:
    """What Loihi 2 refuses in a rule whatever the weight scale: the reward input of a three-factor
    rule, the lif_3f y traces, the epoch, trace impulses and third factor of the mapping."""
    from .learning import map_rule
    from .lower import _lif_3f_traces, reward_refusal

    out = []
    if getattr(rule, "signal", None) is not None:  # e-prop / feedback alignment (docs/learning.md)
        out.append(refusal("loihi2-learning-signal", signal_refusal(node, rule)))
        return out
    if rule.is_three_factor:
        err = reward_refusal(node, rule)
        if err is not None:
            out.append(refusal("loihi2-learning-reward", err))
        try:
            _lif_3f_traces(rule)
        except UnsupportedError as exc:
            out.append(refusal("loihi2-learning-impulse", exc))
            return out
    try:
        map_rule(rule)  # the scale-independent checks come first (scale-dependent ones: analysis passes)
    except (ParameterError, UnsupportedError) as exc:
        code = _MAP_CODES.get(exc.parameter or "")
        if code is None and (exc.parameter or "").endswith(".impulse"):
            code = "loihi2-learning-impulse"
        if code is not None:
            out.append(refusal(code, exc))
    return out


def _learning(ctx) -> Iterator[Finding]:
    for node, rule in (ctx.learning or {}).items():
        yield from learning_refusals(node, rule)


#: dt/tau beyond this cannot be quantized: round(4096 * dt/tau) leaves int64 (the decay would
#: saturate at 4095 long before; such a tau is a unit error).
DECAY_RATIO_LIMIT = 2.0**62 / spec.DECAY_UNITY


def _decay_range(ctx) -> Iterator[Finding]:
    """Forward-Euler decays ``dt/tau`` that Loihi 2's 12-bit decay quantization cannot represent."""
    if ctx.netlist is None or ctx.semantics is None or ctx.semantics.discretization != "forward":
        return
    dt = float(ctx.semantics.dt)
    for g in ctx.netlist.groups.values():
        for key in ("tau", "tau_syn", "tau_mem"):
            tau = g.params.get(key)
            if tau is None:
                continue
            tau = np.asarray(tau, dtype=np.float64)
            pos = tau[tau > 0]
            if pos.size and float(pos.min()) * DECAY_RATIO_LIMIT < dt:
                yield refusal(
                    "loihi2-decay-range",
                    ParameterError(
                        f"dt/{key} = {dt / float(pos.min()):.3g} cannot be quantized into Loihi 2's 12-bit "
                        f"decay (round(4096 dt/{key}) overflows; a {key} this small is a unit error)",
                        node=g.name,
                        parameter=key,
                        expected=f"dt/{key} <= {DECAY_RATIO_LIMIT:.3g}",
                    ),
                )
                break


#: the largest |weight| a projection expresses, in integer v units of 64 (vth units): an 8-bit
#: mantissa shifted by the largest weight_exp (255 << 8).
WEIGHT_INT_MAX = spec.WEIGHT_RANGE[spec.SIGN_MODE_EXCITATORY][1] * 2**spec.WEIGHT_EXP_MAX


def _magnitude(ctx) -> Iterator[Finding]:
    """Weights too large against the threshold for 8-bit weights: a weight w into a spiking neuron
    is the integer ``drive*w*vth/v_threshold`` (drive = g*r, times g_syn*w_in for CubaLIF), and
    with the smallest vth (1) it must still fit ``255 << 8``: beyond, Lava would clip it. Computed
    once per context (the analysis passes ask again, :func:`_passes`: a pass over every synapse)."""
    yield from ctx.memo("loihi2.rules.magnitude", lambda: list(_magnitude_findings(ctx)))


def _magnitude_findings(ctx) -> Iterator[Finding]:
    from .lower import _coefficients

    nl, sem = ctx.netlist, ctx.semantics
    if nl is None or sem is None:
        return
    incoming = nl.incoming_index()
    for g in nl.groups.values():
        th = g.params.get("v_threshold")
        if not g.spiking or th is None:
            continue
        th = np.asarray(th, dtype=np.float64).reshape(-1)
        if th.size != g.size or not np.all(np.isfinite(th)) or np.any(th <= 0):
            continue  # zero or negative thresholds: their own rules
        try:
            with np.errstate(all="ignore"):
                drive = np.abs(_coefficients(g, float(sem.dt), sem.discretization, [])["drive"])
        except (NeurocompileError, KeyError, TypeError, ValueError):
            continue
        # one drive and one threshold (finite, > 0): the ratio grows with |w| (rounding keeps the
        # order), so its largest value is the largest |w|'s; the full pass only when that refuses
        uniform = bool(
            drive.size and np.isfinite(drive[0]) and np.all(drive == drive[0]) and np.all(th == th[0])
        )
        for c in incoming[g.name]:
            if not c.weight.size:
                continue
            if uniform:
                top = max(float(c.weight.max()), -float(c.weight.min()))
                with np.errstate(all="ignore"):
                    if not drive[0] * top / th[0] > WEIGHT_INT_MAX:
                        continue
            with np.errstate(all="ignore"):
                ratio = drive[c.post_idx] * np.abs(c.weight) / th[c.post_idx]
            worst = int(np.argmax(np.where(np.isfinite(ratio), ratio, np.inf)))
            if not ratio[worst] > WEIGHT_INT_MAX:
                continue
            w, t = float(c.weight[worst]), float(th[c.post_idx[worst]])
            gain = float(drive[c.post_idx[worst]])
            yield refusal(
                "loihi2-weight-range",
                ParameterError(
                    f"weight {w:.3g} into '{g.name}' (v_threshold {t:.3g}, gain {gain:.3g}) "
                    f"is {float(ratio[worst]):.3g} thresholds per spike; Loihi 2's 8-bit weights "
                    f"(mantissa 255 << weight_exp {spec.WEIGHT_EXP_MAX}, against the smallest vth = 1) "
                    f"express at most {WEIGHT_INT_MAX} thresholds",
                    node=c.sources[0] if c.sources else c.name,
                    parameter="weight",
                    expected=f"|weight| x gain / v_threshold <= {WEIGHT_INT_MAX}",
                ),
            )
            break


# ---------------------------------------------------------------------------- analysis passes
def _passes(ctx) -> Iterator[Finding]:
    """The findings and refusals of the lowering's analysis passes (:func:`.lower.analyse`); they
    run only when the rules above refuse nothing (as the lowering would not run either)."""
    from .lower import analyse

    if ctx.netlist is None:
        return
    for fn in _BEFORE_PASSES:
        if any(f.severity == "error" for f in fn(ctx)):
            return
    try:
        a = analyse(ctx)
    except NeurocompileError as exc:
        yield refusal("loihi2-unsupported", exc)
        return
    yield from a.findings


_BEFORE_PASSES = (_netlist, _attach, _groups, _connections, _decay_range, _magnitude, _learning)

for _fn, _code in (
    (_netlist, "loihi2-netlist"),
    (_attach, "loihi2-learning-attach"),
    (_groups, "loihi2-reset"),
    (_connections, "loihi2-connections"),
    (_delay_limit, "loihi2-delay-limit"),
    (_decay_range, "loihi2-decay-range"),
    (_magnitude, "loihi2-weight-range"),
    (_learning, "loihi2-learning"),
    (_passes, "loihi2-lowering"),
):
    _fn.code = _code  # type: ignore[attr-defined]

#: in the order lower enforces them (the first error is raised)
RULES = [
    _netlist,
    _attach,
    _groups,
    _connections,
    _delay_limit,
    _decay_range,
    _magnitude,
    _learning,
    _passes,
]

__all__ = ["RULES", "learning_refusals"]
