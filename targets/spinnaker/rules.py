"""The SpiNNaker rules: what the lowering (``targets/spinnaker/lower.py``) refuses or only approximates.

The target's ``rules`` hook (:data:`RULES`), written once for both callers: ``check MODEL
--target spinnaker`` lists every finding, and :func:`.lower.lower` starts with
:func:`neurocompile.check.enforce`, which raises the first error finding as the typed error it
carries (made with :func:`neurocompile.check.refusal`: the class, node and message ``compile``
reports). A rule reads the :class:`neurocompile.check.Context`: the graph, the netlist and
semantics (in ``check``, where no reset is chosen, the file's reset or reset to zero where the
file leaves it open), the learning rules and the compile options (``tick_ms``, ``forward_tau``,
``ring_buffer_shifts``; their defaults in ``check``).

Order (lower raises the first error): learning attachment, non-spiking sources, every neuron
parameter present, the IF-leak hint of ``check``, reset by subtraction (refused as on Loihi 2), then the
lowering's analysis passes
(:func:`.lower.analyse`, shared with ``lower`` through the context) and what reads their plan:
learning rules (:func:`.learning.map_rule` per STDP projection, one rule per post population)
and delays (the Program's delay range, :func:`.partition.delay_error`; the warning for plastic
synapses the STDP binaries drop, :func:`.spec.stdp_row_delay`). Codes are documented in
``docs/check.md``.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from neurocompile.check import Finding, refusal, reset_rule
from neurocompile.errors import NeurocompileError, ParameterError, UnsupportedError

from . import spec


def _f(code: str, severity: str, node: str | None, message: str) -> Finding:
    return Finding(code, severity, node, " ".join(message.split()))


def _analysis(ctx):
    """``(Analysis, None)`` or ``(None, the typed error)`` of :func:`.lower.analyse`, once per context."""
    from .lower import analyse

    def run():
        try:
            return analyse(ctx), None
        except NeurocompileError as exc:
            return None, exc

    return ctx.memo("spinnaker.analysis.result", run)


# ---------------------------------------------------------------------------- netlist
def _attach(ctx) -> Iterator[Finding]:
    """Each learning rule names a weight node that is its own connection of the netlist."""
    from .lower import plastic_connections

    if getattr(ctx, "netlist", None) is None or not ctx.learning:
        return
    try:
        plastic_connections(ctx)
    except NeurocompileError as exc:
        yield refusal("spinnaker-unsupported", exc)


def _nonspiking_source(ctx) -> Iterator[Finding]:
    """SpiNNaker neurons send spikes only: a non-spiking group (LI, I, CubaLI) can feed only an Output."""
    nl = getattr(ctx, "netlist", None)
    if nl is None:
        return
    for c in nl.connections:
        if c.pre in nl.groups and not nl.groups[c.pre].spiking:
            yield refusal(
                "spinnaker-nonspiking-source",
                UnsupportedError(
                    f"a non-spiking {nl.groups[c.pre].kind} node drives '{c.post}'; "
                    "SpiNNaker neurons send spikes only",
                    node=c.pre,
                    parameter="edges",
                    expected="only spiking neurons (IF, LIF, CubaLIF) or Inputs as sources",
                ),
            )


def _uniform_params(ctx) -> Iterator[Finding]:
    """Every parameter the lowering reads per group (:func:`.lower.uniform_keys`) is present (no
    default). Values that differ between neurons are mapped to per-neuron PyNN parameter arrays
    (``lower._per_neuron_constants``), not refused."""
    from .lower import uniform_keys

    nl = getattr(ctx, "netlist", None)
    if nl is None:
        return
    for g in nl.groups.values():
        for key, default in uniform_keys(g):
            if g.params.get(key) is None and default is None:
                yield refusal(
                    "spinnaker-missing-param",
                    ParameterError(
                        f"{g.kind} node has no {key}", node=g.name, parameter=key, expected="a value"
                    ),
                )


# ---------------------------------------------------------------------------- hints of check
def _if_leak(ctx) -> Iterator[Finding]:
    if ctx.lowering:  # compile: the lowering reports the leak it uses (spinnaker-if-leak with exp_TC)
        return
    for node in ctx.graph.nodes.values():
        if node.kind in ("IF", "I"):
            yield _f(
                "spinnaker-if-leak",
                "warning",
                node.name,
                f"{node.kind} has no leak but sPyNNaker's LIF always leaks (at least 2/32768 per tick); "
                "compile reports the leak used",
            )


#: what sPyNNaker's neuron does instead of a reset by subtraction (docs/reference/spinnaker.md §2.5)
RESET_WHY = (
    "sPyNNaker's IF_curr_exp / IF_curr_delta set V to v_reset after a spike "
    "(docs/reference/spinnaker.md §2.5)"
)


def _reset(ctx) -> Iterator[Finding]:
    """Reset by subtraction: :func:`neurocompile.check.reset_rule`, the same handling as Loihi 2
    (refused with the offer of ``reset="zero"`` and its measured effect; ``reset-approximated``)."""
    yield from reset_rule(ctx, code="spinnaker-reset-subtract", chip="SpiNNaker", why=RESET_WHY)


# ---------------------------------------------------------------------------- analysis passes
_BEFORE_PASSES = (_attach, _nonspiking_source, _uniform_params)


def _blocked(ctx) -> bool:
    """An earlier rule refuses the netlist (the lowering would not run its passes either)."""
    return ctx.memo(
        "spinnaker.blocked", lambda: any(f.severity == "error" for fn in _BEFORE_PASSES for f in fn(ctx))
    )


def _passes(ctx) -> Iterator[Finding]:
    """What the lowering's analysis passes refuse (a forward tau >= dt, a tau too long for the
    tick, different weight gains or both weight signs on a plastic projection)."""
    if getattr(ctx, "netlist", None) is None or _blocked(ctx):
        return
    _, exc = _analysis(ctx)
    if exc is not None:
        yield refusal("spinnaker-unsupported", exc)


#: the largest |weight| (nA) a synapse expresses: a 16-bit weight with the largest ring-buffer
#: shift (weight scale 2**(16 - (15 + 1)) = 1), i.e. the top of the s16.15 input range.
WEIGHT_NA_MAX = spec.W16_MAX / spec.weight_scale(spec.RING_BUFFER_SHIFT_MAX)


def _magnitude(ctx) -> Iterator[Finding]:
    """Magnitudes the chip's numbers cannot hold, from the analysis passes' plan: a synapse above
    :data:`WEIGHT_NA_MAX` nA (it would saturate the ring buffer), and weights so large against
    the threshold that keeping the worst-case input inside s16.15 (``|alpha| <= ALPHA_LIMIT_MV``)
    puts the threshold below one s16.15 step (2**-15 mV): it would round to 0."""
    from .lower import ALPHA_LIMIT_MV

    if getattr(ctx, "netlist", None) is None or _blocked(ctx):
        return
    a, _ = _analysis(ctx)
    if a is None:
        return
    nl = ctx.netlist
    for c in nl.connections:
        w = np.abs(np.asarray(a.conn_w.get(c.name, ()), np.float64))
        if w.size and not float(w.max()) <= WEIGHT_NA_MAX:
            i = int(np.argmax(w))
            yield refusal(
                "spinnaker-weight-range",
                ParameterError(
                    f"weight {float(c.weight[i]):.3g} into '{c.post}' becomes {float(w[i]):.3g} nA "
                    f"(gain {float(w[i] / abs(c.weight[i])):.3g} nA per unit weight); a SpiNNaker "
                    f"synapse holds at most {WEIGHT_NA_MAX:g} nA (a 16-bit weight << the largest "
                    f"ring-buffer shift {spec.RING_BUFFER_SHIFT_MAX}, read as s16.15)",
                    node=c.sources[0] if c.sources else c.name,
                    parameter="weight",
                    expected=f"|weight| <= {WEIGHT_NA_MAX:g} nA after the population's gain",
                ),
            )
            return
    incoming = nl.incoming_index()
    for g in nl.groups.values():
        gi = a.info.get(g.name) or {}
        if not g.spiking or gi.get("threshold_nir") is None:
            continue
        # per-neuron constants: the neuron with the smallest mapped threshold decides
        vt = np.abs(np.asarray(gi["v_thresh"], np.float64)).reshape(-1)
        th_all = np.asarray(gi["threshold_nir"], np.float64).reshape(-1)
        i = int(np.argmin(np.where(th_all != 0, vt, np.inf) if vt.size == th_all.size else vt))
        th = float(th_all[min(i, th_all.size - 1)])
        v_thresh = float(vt[i])
        if not th or v_thresh * spec.S1615_ONE >= 1:
            continue
        leak = 1.0 - float(
            np.asarray(gi["a_chip"], np.float64).reshape(-1)[min(i, np.size(gi["a_chip"]) - 1)]
        )
        ratio = ALPHA_LIMIT_MV * leak / v_thresh
        limit = ALPHA_LIMIT_MV * leak * spec.S1615_ONE
        inc = [c for c in incoming[g.name] if c.weight.size]
        if inc:
            c = max(inc, key=lambda c: float(np.max(np.abs(a.conn_w[c.name]))))
            node, param = (c.sources[0] if c.sources else c.name), "weight"
            what = f"weights into '{g.name}' (largest |weight| {float(np.max(np.abs(c.weight))):.3g})"
        else:
            node, param, what = g.name, "bias", f"the bias of '{g.name}'"
        yield refusal(
            "spinnaker-weight-range",
            ParameterError(
                f"{what} add up to {ratio:.3g} thresholds (v_threshold {abs(th):.3g}) per tick in the worst "
                f"case; SpiNNaker's s16.15 voltage holds at most {limit:.3g} (|I*R + v_rest| <= "
                f"{ALPHA_LIMIT_MV:g} mV at a leak of {leak:.3g} per tick, the threshold >= 2**-15 mV): "
                "the threshold would round to 0",
                node=node,
                parameter=param,
                expected=f"worst-case input per tick <= {limit:.3g} thresholds",
            ),
        )
        return


# ---------------------------------------------------------------------------- learning
def _learning(ctx) -> Iterator[Finding]:
    """Learning rules sPyNNaker 1!7.4.1 cannot run (H11): neuromodulation (broken host path),
    Hebbian/custom rules and Pfister x multiplicative (no binary), two different rules into one
    post population. With a netlist, each STDP projection of the lowering's plan is mapped by
    :func:`.learning.map_rule` as the builder maps it (its errors, naming the projection); without
    one (``check`` without dt) the rules are judged on the graph (:func:`.learning.rule_findings`)."""
    rules = getattr(ctx, "learning", None) or {}
    rules = getattr(rules, "rules", rules)
    if not rules:
        return
    from .learning import _unsupported_reason, map_rule, projections_of, rule_findings

    a = None
    if getattr(ctx, "netlist", None) is not None and not _blocked(ctx):
        a, _ = _analysis(ctx)
    if a is None:
        if getattr(ctx, "netlist", None) is None:
            for code, severity, node, message in rule_findings(dict(rules), projections_of(ctx.graph)):
                yield _f(code, severity, node, message)
        return
    first: dict[str, tuple[str, dict]] = {}
    for p in a.projections:
        if p.plastic is None:
            continue
        node, rule = p.plastic
        post = p.conn.post
        params = getattr(rule, "params", None) or {}
        shift = a.shifts_of[post][spec.SYNAPSE_TYPES.index(p.receptor)] if post in a.shifts_of else None
        try:
            if shift is None and params.get("w_max") is None:
                # host shifts are computed at build: only what does not depend on them
                bad = _unsupported_reason(rule)
                if bad is not None:
                    raise UnsupportedError(
                        bad[1], node=p.name, parameter="learning", expected="stdp_pair or stdp_triplet"
                    )
                continue
            m = map_rule(
                rule,
                tick_ms=a.tick_ms,
                shift=shift,
                weight_scale=p.rule_weight_scale,
                post_kind=a.info[post]["model"],
                node=p.name,
            )
        except NeurocompileError as exc:
            bad = _unsupported_reason(rule)
            code = (
                bad[0]
                if bad is not None
                else (
                    "spinnaker-rule-no-binary" if isinstance(exc, UnsupportedError) else "spinnaker-learning"
                )
            )
            yield refusal(code, exc)
            continue
        if int(getattr(rule, "t_epoch", 1)) != 1:
            yield _f(
                "spinnaker-rule-epoch",
                "warning",
                node,
                f"t_epoch={rule.t_epoch} is ignored: sPyNNaker updates at every pre spike",
            )
        one = first.setdefault(post, (p.name, dict(m.plasticity)))
        if one[1] != dict(m.plasticity):
            yield refusal(
                "spinnaker-rules-differ-per-population",
                ParameterError(
                    f"stdp projections '{one[0]}' and '{p.name}' into '{post}' have different plasticity; "
                    "sPyNNaker requires one STDP rule per post population",
                    node=p.name,
                    parameter="plasticity",
                    expected=f"the plasticity of '{one[0]}'",
                ),
            )


# ---------------------------------------------------------------------------- delays
def _delays(ctx) -> Iterator[Finding]:
    """Delays (netlist delay + the hop tick) of the planned projections: inside the Program's range
    (the schema's check, ``8 x`` the post core's slots) and what sPyNNaker's placement maps
    (:func:`.partition.delay_error`)."""
    from neurocompile.schema import check_int_array

    from .partition import delay_error

    if getattr(ctx, "netlist", None) is None or _blocked(ctx):
        return
    a, _ = _analysis(ctx)
    if a is None:
        return
    nl = ctx.netlist
    npc = spec.NEURONS_PER_CORE
    for p in a.projections:
        size = nl.groups[p.conn.post].size
        d = np.asarray(p.delays).astype(np.int64).reshape(-1)
        try:
            check_int_array(
                d,
                d.shape,
                spec.DELAY_MIN_TICKS,
                spec.max_delay_ticks(min(npc, size)),
                what=f"{'stdp' if p.plastic is not None else 'from_list'} projection",
                node=p.name,
                field="delays",
            )
        except NeurocompileError as exc:
            yield refusal("spinnaker-delay-too-long", exc)
            return
    for p in a.projections:
        d = np.asarray(p.delays).reshape(-1)
        if d.size:
            atoms = max(1, min(npc, spec.NEURONS_PER_CORE_MAX))
            err = delay_error(p.name, p.conn.post, nl.groups[p.conn.post].size, atoms, int(d.max()))
            if err is not None:
                yield refusal("spinnaker-delay-too-long", err)
                return


def stdp_delay_dropped_message(proj: str, post: str, n: int, size: int, dmax: int, slots: int) -> str:
    """The text of ``spinnaker-stdp-delay-dropped`` (also :meth:`.builder.SpiNNakerBuilder.build`'s
    warning)."""
    return (
        f"stdp projection '{proj}' into '{post}': {n} of {size} synapses have delay {dmax} ticks, equal "
        f"to the {slots} delay slots sPyNNaker gives '{post}' (2**ceil(log2(largest incoming delay))); "
        f"sPyNNaker 1!7.4.1's STDP binaries drop them: their input never reaches '{post}' and their "
        f"learning window uses delay 0 (the emulator does the same). A largest delay into '{post}' "
        f"that is not a power of two (e.g. one synapse of delay {dmax + 1}) avoids it"
    )


def dropped_stdp_synapses(projections, atoms) -> Iterator[tuple[Any, str, int, int, int, int]]:
    """``(projection, post, n dropped, n synapses, largest delay into post, slots)`` per plastic
    projection with synapses the 7.4.1 STDP binaries drop (:func:`.spec.stdp_row_delay`).
    ``projections``: ``(name, post, delays, plastic)`` tuples; ``atoms``: post -> its neurons on one
    core (``min(size, neurons per core)``: the host's atom bits)."""
    projections = list(projections)
    max_in: dict[str, int] = {}
    for _, post, d, _ in projections:
        d = np.asarray(d).reshape(-1)
        if d.size:
            max_in[post] = max(max_in.get(post, 0), int(d.max()))
    for name, post, d, plastic in projections:
        d = np.asarray(d).astype(np.int64).reshape(-1)
        if not plastic or not d.size:
            continue
        a = int(atoms[post])
        n = int(np.count_nonzero(spec.stdp_row_delay(d, max_in[post], a) == 0))
        if n:
            yield name, post, n, d.size, max_in[post], spec.incoming_delay_slots(max_in[post], a)


def _stdp_delay_dropped(ctx) -> Iterator[Finding]:
    """Plastic synapses sPyNNaker 1!7.4.1's STDP binaries drop: a post population gets
    ``2**get_n_bits(max incoming delay)`` delay slots (:func:`.spec.incoming_delay_slots`), exactly
    ``d`` for a largest delay ``d`` that is a power of two ``>= 2``; the binaries read a plastic
    synapse's delay as ``d & (slots - 1)`` (:func:`.spec.stdp_row_delay`), 0 for delay ``d``: its
    input is never delivered and its learning window uses delay 0 (the emulator does the same)."""
    if getattr(ctx, "netlist", None) is None or _blocked(ctx):
        return
    a, _ = _analysis(ctx)
    if a is None:
        return
    by_name = {p.name: p for p in a.projections}
    rows = ((p.name, p.conn.post, p.delays, p.plastic is not None) for p in a.projections)
    posts = {p.conn.post for p in a.projections}
    atoms = {g: min(spec.NEURONS_PER_CORE, ctx.netlist.groups[g].size) for g in posts}
    for name, post, n, size, dmax, slots in dropped_stdp_synapses(rows, atoms):
        yield _f(
            "spinnaker-stdp-delay-dropped",
            "warning",
            by_name[name].plastic[0],
            stdp_delay_dropped_message(name, post, n, size, dmax, slots),
        )


for _fn, _code in (
    (_attach, "spinnaker-learning-attach"),
    (_nonspiking_source, "spinnaker-nonspiking-source"),
    (_uniform_params, "spinnaker-missing-param"),
    (_if_leak, "spinnaker-if-leak"),
    (_reset, "spinnaker-reset-subtract"),
    (_passes, "spinnaker-lowering"),
    (_magnitude, "spinnaker-weight-range"),
    (_learning, "spinnaker-learning"),
    (_delays, "spinnaker-delay-too-long"),
    (_stdp_delay_dropped, "spinnaker-stdp-delay-dropped"),
):
    _fn.code = _code  # type: ignore[attr-defined]

#: in the order lower enforces them (the first error is raised)
RULES = [
    _attach,
    _nonspiking_source,
    _uniform_params,
    _if_leak,
    _reset,
    _passes,
    _magnitude,
    _learning,
    _delays,
    _stdp_delay_dropped,
]

__all__ = ["RULES", "dropped_stdp_synapses", "stdp_delay_dropped_message"]
