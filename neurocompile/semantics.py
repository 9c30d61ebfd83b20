"""The semantic choices NIR leaves open, made explicit.

NIR stores no ``dt`` and leaves discretization, reset and the spike comparison to each
framework (``docs/reference/nir.md`` §1.3, §2). neurocompile makes them compile/run options,
records them in every result and Program, and never guesses: a legacy file (no ``v_reset``)
run with ``reset="file"`` is an error that asks the user to choose.

* ``dt``: the step, in the graph's own time unit (seconds for the NIR paper graphs, steps
  for sinabs exports). Required unless the graph's metadata carries it.
* ``discretization``: ``forward`` (forward Euler with box input, the default; what norse,
  snnTorch and Lava do) or ``exponential`` (exact decay ``exp(-dt/tau)`` with input gain
  ``1 - exp(-dt/tau)``).
* ``reset``: ``file`` (``v <- v_reset`` from the file), ``zero`` (``v <- 0``) or
  ``subtract`` (``v <- v - v_threshold``).
  A choice other than ``file`` on a node whose file states its reset (``v_reset``) overrides
  it: :func:`reset_overrides` lists those nodes (finding ``reset-override``, a warning line
  in the CLI). Neither chip can reset by subtraction; what each target does per (file's reset,
  requested reset) is the table in ``docs/semantics.md``.
* threshold: always ``v > v_threshold`` (strict, as the NIR spec, norse and Lava).
* ``hop_delay``: 0 (framework convention: a spike reaches the next neuron in the same step)
  or 1 (chip convention: every synaptic hop adds one step).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .errors import SemanticsError
from .findings import Finding

DISCRETIZATIONS = ("forward", "exponential")
RESETS = ("file", "zero", "subtract")
HOP_DELAYS = (0, 1)
THRESHOLD_RULE = "v > v_threshold"


@dataclass(frozen=True)
class Semantics:
    dt: float
    discretization: str = "forward"
    reset: str = "file"
    hop_delay: int = 0
    threshold: str = THRESHOLD_RULE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_semantics(
    graph: Any = None,
    *,
    dt: float | None = None,
    discretization: str = "forward",
    reset: str = "file",
    hop_delay: int = 0,
) -> Semantics:
    """Build a :class:`Semantics`, taking ``dt`` from the graph metadata when not given.

    Raises :class:`SemanticsError` naming the parameter and the accepted values.
    """
    if dt is None and graph is not None:
        dt = graph.metadata_dt()
    if dt is None:
        raise SemanticsError(
            "the graph stores no time step and none was given; pass dt=DT (seconds for "
            "graphs in seconds such as the NIR paper's, dt=1 for sinabs exports whose tau is in steps)",
            parameter="dt",
            expected="a positive number",
        )
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        raise SemanticsError(
            f"dt={dt!r} is not a number", parameter="dt", expected="a positive number"
        ) from None
    if not math.isfinite(dt) or dt <= 0:
        raise SemanticsError(f"dt={dt} is not valid", parameter="dt", expected="a positive finite number")
    if discretization not in DISCRETIZATIONS:
        raise SemanticsError(
            f"unknown discretization {discretization!r}",
            parameter="discretization",
            expected=" or ".join(DISCRETIZATIONS),
        )
    if reset not in RESETS:
        raise SemanticsError(f"unknown reset {reset!r}", parameter="reset", expected=" or ".join(RESETS))
    try:
        hop_delay = int(hop_delay)
    except (TypeError, ValueError):
        hop_delay = -1
    if hop_delay not in HOP_DELAYS:
        raise SemanticsError(
            f"hop_delay must be 0 or 1, got {hop_delay}", parameter="hop_delay", expected="0 or 1"
        )
    return Semantics(dt=dt, discretization=discretization, reset=reset, hop_delay=hop_delay)


def legacy_reset_error(node: str) -> SemanticsError:
    """The error for ``reset="file"`` on a spiking node whose file predates ``v_reset``."""
    return SemanticsError(
        "this file predates v_reset (nir <= 1.0.4, when reset meant subtraction) and "
        'reset="file" was requested; choose reset="subtract" (as paper-era files were '
        'defined) or reset="zero"',
        node=node,
        parameter="v_reset",
        expected='reset="subtract" or reset="zero"',
    )


# ---------------------------------------------------------------------------- reset intent
_SPIKING = ("IF", "LIF", "CubaLIF")


def file_reset(node: Any, legacy: bool) -> tuple[str, str]:
    """The reset the file states for a spiking ``node``: ``(mode, description)`` with mode
    ``"subtract"`` (a legacy file, no ``v_reset``: reset meant subtraction), ``"zero"`` (``v_reset``
    absent in a nir >= 1.0.5 file, or all 0) or ``"value"`` (some ``v_reset`` != 0)."""
    if legacy:
        return "subtract", "no v_reset (the file predates it: reset by subtraction)"
    vr = node.params.get("v_reset")
    if vr is None:
        return "zero", "no v_reset (nir >= 1.0.5 reads it as v_reset = 0)"
    try:
        arr = [float(x) for x in _flat(vr)]
    except (TypeError, ValueError):
        return "value", "v_reset (not numeric)"
    nz = [x for x in arr if x != 0]
    if not nz:
        return "zero", "v_reset = 0"
    if len(set(arr)) == 1:
        return "value", f"v_reset = {arr[0]:g}"
    return "value", f"v_reset from {min(arr):g} to {max(arr):g}"


def _flat(v: Any) -> list:
    import numpy as np

    return list(np.asarray(v).reshape(-1))


def reset_overrides(graph: Any, reset: str) -> list[tuple[str, str]]:
    """``[(node, file's reset described)]``: the spiking nodes whose file-stated reset the requested
    ``reset`` overrides. ``reset="file"`` overrides nothing; a legacy node (no ``v_reset``) states
    no value to override (its choice is asked for by ``legacy-reset``); a node whose framework
    (``graph.conventions["reset"]``) resets the requested way is not overridden either."""
    if reset not in ("zero", "subtract") or graph is None:
        return []
    if (getattr(graph, "conventions", None) or {}).get("reset") == reset:
        return []
    legacy = set(getattr(graph, "legacy_reset", ()) or ())
    out = []
    for node in graph.nodes.values():
        if node.kind not in _SPIKING or node.name in legacy:
            continue
        mode, desc = file_reset(node, False)
        if mode != reset:
            out.append((node.name, desc))
    return out


def reset_override_findings(graph: Any, reset: str) -> list[Finding]:
    """One ``reset-override`` warning for the nodes of :func:`reset_overrides` (node: the first),
    naming each node and its file's value."""
    over = reset_overrides(graph, reset)
    if not over:
        return []
    what = {"zero": "reset to zero (v <- 0)", "subtract": "reset by subtraction (v <- v - v_threshold)"}
    what = what[reset]
    shown = "; ".join(f"'{n}' ({d})" for n, d in over[:8])
    more = f"; and {len(over) - 8} more" if len(over) > 8 else ""
    msg = (
        f'reset="{reset}" overrides the file\'s reset of {len(over)} spiking node(s): {shown}{more}; '
        f"they {what} instead "
        f'(reset="file" keeps the file\'s value)'
    )
    return [Finding("reset-override", "warning", over[0][0], msg)]
