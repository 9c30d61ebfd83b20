"""The SpiNNaker rules: what the lowering (``targets/spinnaker/lower.py``) cannot express or only approximates.

The target's ``rules`` hook (:data:`RULES`): ``check MODEL --target spinnaker`` lists every
finding. :func:`.lower.lower` starts with :func:`neurocompile.check.enforce` on :data:`ENFORCED`,
the rules whose error findings carry the typed error the lowering raises (made with
:func:`neurocompile.check.refusal` from the netlist of the context). The other rules still read the
graph and have their refusal inside the lowering, the builder or the placer (non-uniform
parameters in ``_uniform`` of ``lower.py``, learning rules in ``learning.py``, delays in
``partition.py``); they are not enforced, so compile raises those errors as before.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from neurocompile.check import Finding, refusal
from neurocompile.errors import UnsupportedError

from . import spec

_NEURONS = ("LIF", "IF", "LI", "I", "CubaLIF", "CubaLI")
_UNIFORM = {"LIF": ("tau", "v_threshold", "v_leak", "v_reset"), "IF": ("v_threshold", "v_reset"),
            "LI": ("tau", "v_leak"), "I": (), "CubaLIF": ("tau_mem", "tau_syn", "v_threshold", "v_leak", "v_reset"),
            "CubaLI": ("tau_mem", "tau_syn", "v_leak")}


def _f(code: str, severity: str, node: str | None, message: str) -> Finding:
    return Finding(code, severity, node, " ".join(message.split()))


def _uniform_params(ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        for key in _UNIFORM.get(node.kind, ()):
            v = node.params.get(key)
            if v is None:
                continue
            arr = np.asarray(v, np.float64).reshape(-1)
            if arr.size > 1 and not np.all(arr == arr[0]):
                yield _f("spinnaker-nonuniform-param", "error", node.name,
                         f"{key} differs between neurons (min {arr.min():g}, max {arr.max():g}); a PyNN population "
                         "has one value (split the node)")


def _if_leak(ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        if node.kind in ("IF", "I"):
            yield _f("spinnaker-if-leak", "warning", node.name,
                     f"{node.kind} has no leak but sPyNNaker's LIF always leaks (at least 2/32768 per tick); "
                     "compile reports the leak used")


def _reset(ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        if node.kind in ("LIF", "IF", "CubaLIF") and node.name in ctx.graph.legacy_reset:
            yield _f("spinnaker-reset-subtract", "warning", node.name,
                     "defined with reset by subtraction, which SpiNNaker cannot do (V is set to v_reset); "
                     "compile maps it to reset to 0 and measures the spike-count effect")


def _nonspiking_source(ctx) -> Iterator[Finding]:
    """SpiNNaker neurons send spikes only: a non-spiking group (LI, I, CubaLI) can feed only an Output."""
    nl = getattr(ctx, "netlist", None)
    if nl is None:
        return
    for c in nl.connections:
        if c.pre in nl.groups and not nl.groups[c.pre].spiking:
            yield refusal("spinnaker-nonspiking-source", UnsupportedError(
                f"a non-spiking {nl.groups[c.pre].kind} node drives '{c.post}'; SpiNNaker neurons send spikes only",
                node=c.pre, parameter="edges", expected="only spiking neurons (IF, LIF, CubaLIF) or Inputs as sources"))


def _delays(ctx) -> Iterator[Finding]:
    dt = ctx.effective_dt
    if dt is None:
        return
    limit = spec.max_delay_ticks() - 1
    for node in ctx.graph.nodes.values():
        if node.kind == "Delay" and node.params.get("delay") is not None:
            steps = float(np.max(np.asarray(node.params["delay"], np.float64))) / dt
            if steps > limit:
                yield _f("spinnaker-delay-too-long", "error", node.name,
                         f"delay of {steps:g} steps exceeds sPyNNaker's {limit} (+1 hop) ticks with delay extensions")


def _learning(ctx) -> Iterator[Finding]:
    """Learning rules sPyNNaker 1!7.4.1 cannot run (H11, :func:`.learning.rule_findings`): neuromodulation
    (broken host path), Hebbian/custom rules and Pfister x multiplicative (no binary), two different rules
    into one post population. Reads ``ctx.learning`` ({weight node: LearningRule}) when check was given rules."""
    rules = getattr(ctx, "learning", None) or {}
    rules = getattr(rules, "rules", rules)
    if not rules:
        return
    from .learning import projections_of, rule_findings

    for code, severity, node, message in rule_findings(dict(rules), projections_of(ctx.graph)):
        yield _f(code, severity, node, message)


RULES = [_uniform_params, _if_leak, _reset, _nonspiking_source, _delays, _learning]
for _r, _c in zip(RULES, ("spinnaker-nonuniform-param", "spinnaker-if-leak", "spinnaker-reset-subtract",
                          "spinnaker-nonspiking-source", "spinnaker-delay-too-long", "spinnaker-learning")):
    _r.code = _c  # type: ignore[attr-defined]

#: the rules lower enforces (see the module docstring)
ENFORCED = [_nonspiking_source]

__all__ = ["RULES", "ENFORCED"]
