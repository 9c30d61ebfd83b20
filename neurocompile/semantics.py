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
* threshold: always ``v > v_threshold`` (strict, as the NIR spec, norse and Lava).
* ``hop_delay``: 0 (framework convention: a spike reaches the next neuron in the same step)
  or 1 (chip convention: every synaptic hop adds one step).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .errors import SemanticsError

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
