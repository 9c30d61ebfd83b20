"""The one row format every ``benchmarks/bench_*.py`` returns, and helpers shared by the benches.

Each bench module defines ``main(quick: bool = False) -> list[Row]``; ``benchmarks/run.py`` runs
them, prints one table (case, ours, reference system, ratio, goal, met) and writes the rows to
JSON. ``quick`` runs the same code paths at a small size (seconds), so a broken bench is caught;
its figures are not the benches' figures and the goals (set for the full sizes) are not judged.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    """One measured case.

    ``ours``/``unit``: our figure (higher is better unless the goal says otherwise).
    ``reference``: the reference system's name (with ``unavailable: WHY`` when it could not run);
    ``ref_value``: its figure in the same unit. ``ratio``: ours / reference (or as ``goal`` says).
    ``goal``: the issue's goal in words; ``met``: whether this run meets it (None: not judged).
    ``checks``: correctness checks of the same run (bit-exactness, readback); a False fails the run.
    ``detail``: every other figure (JSON only).
    """

    case: str
    ours: float | None = None
    unit: str = ""
    reference: str = ""
    ref_value: float | None = None
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    note: str = ""
    detail: dict = field(default_factory=dict)
    bench: str = ""

    def as_dict(self) -> dict:
        return _jsonable(asdict(self))


def _jsonable(v):
    """numpy scalars and arrays to plain Python, recursively (for ``json.dump``)."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "tolist"):  # numpy scalar or array
        return v.tolist()
    return v


def ratio(ours: float | None, ref: float | None) -> float | None:
    if ours is None or not ref:
        return None
    return float(ours) / float(ref)


def lava_unavailable() -> str | None:
    """None when the Lava interpreter (``.venv-lava``, ``$NEUROCOMPILE_LAVA_PYTHON``) exists, else why not."""
    try:
        from neurocompile.targets.loihi2.run import lava_python

        lava_python()
    except Exception as exc:  # BackendUnavailableError, or the package itself missing
        if type(exc).__name__ == "BackendUnavailableError":
            return "no Lava interpreter: `make venvs` or set NEUROCOMPILE_LAVA_PYTHON"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}"
    return None


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
