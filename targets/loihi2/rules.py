"""``check MODEL --target loihi2``: what :mod:`.lower` cannot express or only approximates.

The target's ``rules`` hook (:data:`RULES`). Each rule is
a small function mirroring a refusal or a finding of the lowering; ``loihi2-lowering`` finally
tries the netlist and the lowering itself (with ``--reset zero`` where the file leaves reset
open) and reports whatever else they refuse. Codes are documented in ``docs/check.md``.
"""

from __future__ import annotations


from typing import Iterator

import numpy as np

from neurocompile.check import Finding
from neurocompile.errors import NeurocompileError

from . import spec

_SPIKING = ("IF", "LIF", "CubaLIF")
_TAUS = {"LIF": ("tau",), "LI": ("tau",), "CubaLIF": ("tau_mem", "tau_syn"), "CubaLI": ("tau_mem", "tau_syn")}


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


def _reset_subtract(ctx) -> Iterator[Finding]:
    legacy = set(ctx.graph.legacy_reset)
    for node in ctx.graph.nodes.values():
        if node.kind in _SPIKING and node.name in legacy:
            yield _f("loihi2-reset-subtract", "warning", node.name,
                     "defined with reset by subtraction (the file predates v_reset), which Lava's fixed-point LIF "
                     "cannot do (it resets v to 0): compile with --reset zero to accept the approximation")


def _v_reset(ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        vr = _arr(node, "v_reset") if node.kind in _SPIKING else None
        if vr is not None and np.any(vr != 0):
            yield _f("loihi2-v-reset", "error", node.name,
                     f"v_reset = {vr[vr != 0][0]:g} cannot be expressed (Lava's LIF resets v to 0); "
                     "compile with --reset zero to accept the approximation")


def _delay_limit(ctx) -> Iterator[Finding]:
    dt = ctx.effective_dt
    if dt is None:
        return
    for node in ctx.graph.nodes.values():
        d = _arr(node, "delay") if node.kind == "Delay" else None
        if d is not None and d.size and np.max(d) / dt > spec.DELAY_MAX + 1e-6:
            yield _f("loihi2-delay-limit", "error", node.name,
                     f"delay of {np.max(d) / dt:g} steps of dt = {dt:g} exceeds Loihi 2's {spec.DELAY_MAX} steps "
                     "(6-bit synaptic delays)")


def _decays(ctx) -> Iterator[Finding]:
    dt = ctx.effective_dt
    if dt is None:
        return
    for node in ctx.graph.nodes.values():
        q_all = []
        for key in _TAUS.get(node.kind, ()):
            tau = _arr(node, key)
            if tau is None or np.any(tau <= 0):
                continue
            q = np.rint(4096 * dt / tau)
            q_all.append(np.unique(q))
            if np.any(tau < dt):
                yield _f("loihi2-decay-saturated", "warning", node.name,
                         f"{key} = {tau.min():g} < dt = {dt:g}: the 12-bit decay saturates (the forward-Euler "
                         "decay would be negative); compile clamps it")
            elif np.any(q == 0):
                yield _f("loihi2-decay-rounds-to-zero", "warning", node.name,
                         f"{key} = {tau.max():g} is more than 8192 steps of dt = {dt:g}: the 12-bit decay rounds to "
                         "0 (no leak)")
        if any(u.size > 1 for u in q_all):
            n = max(u.size for u in q_all)
            yield _f("loihi2-split", "info", node.name,
                     f"neurons have {n} different quantized decays; Lava's du/dv are per population, so compile "
                     "splits the node into several populations (it then cannot be read as an Output)")


def _readouts(ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        if node.kind == "I":
            yield _f("loihi2-readout-may-spike", "warning", node.name,
                     "an I readout has no leak, so |v| is unbounded; it is a Lava LIF with the largest vth and "
                     "would spike (and reset) beyond it: compile with --calibration to size it from data")


def _lowering(ctx) -> Iterator[Finding]:
    """Try netlist + lowering with reset zero; report what they refuse or note."""
    from neurocompile.netlist import build_netlist
    from neurocompile.semantics import resolve_semantics

    from .lower import lower

    dt = ctx.effective_dt
    if dt is None or ctx.shape_problems:
        return
    try:
        sem = resolve_semantics(ctx.graph, dt=dt, reset="zero", hop_delay=1)
        netlist = build_netlist(ctx.graph, sem)
        prog = lower(netlist, graph=ctx.graph, semantics=sem, learning=getattr(ctx, "learning", None) or None)
    except NeurocompileError as exc:
        yield _f("loihi2-unsupported", "error", exc.node, str(exc))
        return
    seen = {"loihi2-split", "loihi2-decay-saturated", "loihi2-decay-rounds-to-zero", "loihi2-readout-may-spike"}
    for f in prog.provenance.get("findings", []):
        if f["code"] not in seen:
            yield Finding(f["code"], f["severity"], f["node"], f["message"])
    for f in netlist.findings:
        if f.code == "weight-layers-composed":
            yield f


def _learning(ctx) -> Iterator[Finding]:
    """Learning rules Loihi 2 cannot take as given (scale-independent part; the scale-dependent
    findings - dropped products, rounded coefficients, bounds - come from the lowering, whose
    ``loihi2-learning-*`` findings ``loihi2-lowering`` passes on)."""
    for node, rule in (getattr(ctx, "learning", None) or {}).items():
        if not spec.T_EPOCH_MIN <= rule.t_epoch <= spec.T_EPOCH_MAX:
            yield _f("loihi2-learning-epoch", "error", node,
                     f"t_epoch {rule.t_epoch} outside Lava's 6-bit epoch field {spec.T_EPOCH_MIN}..{spec.T_EPOCH_MAX}")
        for k in ("x1", "x2", "y1", "y2", "y3"):
            imp = rule.trace(k).impulse
            if imp > spec.TRACE_MAX:
                yield _f("loihi2-learning-impulse", "error", node,
                         f"{k} impulse {imp} exceeds the 7-bit trace (<= {spec.TRACE_MAX})")
        if rule.is_three_factor:
            if rule.third_factor != "y2":
                yield _f("loihi2-learning-third-factor", "error", node,
                         f"third factor {rule.third_factor}: the lif_3f neuron carries the reward in y2")
            if not (rule.params or {}).get("reward"):
                yield _f("loihi2-learning-reward", "error", node,
                         f"three-factor rule '{rule.name}' names no reward input (reward = \"<new input name>\")")


for _fn, _code in ((_reset_subtract, "loihi2-reset-subtract"), (_v_reset, "loihi2-v-reset"),
                   (_delay_limit, "loihi2-delay-limit"), (_decays, "loihi2-decay"),
                   (_readouts, "loihi2-readout-may-spike"), (_lowering, "loihi2-lowering"),
                   (_learning, "loihi2-learning")):
    _fn.code = _code  # type: ignore[attr-defined]

RULES = [_reset_subtract, _v_reset, _delay_limit, _decays, _readouts, _learning, _lowering]

__all__ = ["RULES"]

