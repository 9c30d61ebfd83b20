"""Sweeps: one function over a grid of seeds and parameters, one row per point, optionally on Dask.

A grid is a mapping ``{name: [values]}``; its points are the Cartesian product, the first axis
slowest (:func:`grid_points`). On the command line each axis is one ``--grid NAME=VALUES``
(:func:`parse_axis`):

* ``seed=0..9`` - the integers 0 to 9 inclusive (``0..20:5``: step 5);
* ``lr=0.05,0.1,0.2`` / ``reset=zero,subtract`` / ``calibration=true,false`` - a list; each value is
  read as an integer, a float, ``true``/``false``, or else kept as a string;
* ``w0=[40, 52, 64]`` - a JSON list.

A grid file (``--grid-file grid.toml`` or ``.json``) holds the same as a table: ``seed = [0, 1, 2]``
or ``seed = "0..9"``. :func:`run_sweep` calls ``fn(**fixed, **point)`` for every point, in this
process or as one Dask task per point on a cluster (``"local:N"``, ``"tcp://HOST:PORT"``, a Client:
:func:`neurocompile.distributed.connect`), and returns the rows in grid order whatever order they
finish in. A point that raises a typed error gets its one-line message in the ``error`` column; the
other points still run. ``fn`` must be importable by name on the workers (a module-level function).
"""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .errors import InputDataError, NeurocompileError, ParameterError

_RANGE_HELP = "NAME=A..B[:STEP] (integers, inclusive), NAME=V1,V2,... or NAME=[JSON list]"


def parse_value(text: str) -> Any:
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"none"`` -> None, else the string."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        return t
    return v if math.isfinite(v) else t


def _values(name: str, text: str) -> list[Any]:
    t = text.strip()
    if not t:
        raise ParameterError(f"grid axis {name!r} has no values", parameter="grid", expected=_RANGE_HELP)
    if t.startswith("["):
        try:
            vals = json.loads(t)
        except ValueError:
            raise ParameterError(
                f"grid axis {name!r}: {t!r} is not a JSON list", parameter="grid", expected=_RANGE_HELP
            ) from None
        if not isinstance(vals, list) or not vals:
            raise ParameterError(
                f"grid axis {name!r}: {t!r} is not a non-empty list", parameter="grid", expected=_RANGE_HELP
            )
        return vals
    if ".." in t and "," not in t:
        rng, _, step = t.partition(":")
        a, _, b = rng.partition("..")
        try:
            lo, hi, st = int(a), int(b), int(step) if step else 1
        except ValueError:
            raise ParameterError(
                f"grid axis {name!r}: {t!r} is not an integer range", parameter="grid", expected=_RANGE_HELP
            ) from None
        if st < 1 or hi < lo:
            raise ParameterError(
                f"grid axis {name!r}: {t!r} is an empty range", parameter="grid", expected="A <= B, STEP >= 1"
            )
        return list(range(lo, hi + 1, st))
    return [parse_value(v) for v in t.split(",")]


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """``"seed=0..9"`` -> ``("seed", [0, ..., 9])`` (forms: the module docstring)."""
    name, sep, rest = str(text).partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(f"grid axis {text!r} is not valid", parameter="grid", expected=_RANGE_HELP)
    return name, _values(name, rest)


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["seed=0..3", "rewarded=0,1"]`` -> ``{"seed": [0, 1, 2, 3], "rewarded": [0, 1]}``; an axis
    named twice is an error."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, vals = parse_axis(item)
        if name in grid:
            raise ParameterError(f"grid axis {name!r} is given twice", parameter="grid", expected="each once")
        grid[name] = vals
    return grid


def load_grid(path: str | Path) -> dict[str, list[Any]]:
    """A grid file: TOML or JSON, one key per axis, a list or a string of the ``--grid`` forms."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise InputDataError(f"cannot read {p}: {exc.strerror}", parameter="grid-file") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            doc = tomllib.loads(text)
        else:
            doc = json.loads(text)
    except ValueError as exc:
        raise InputDataError(
            f"{p} is not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} ({exc})",
            parameter="grid-file",
            expected='a table of axis = [values] or axis = "A..B"',
        ) from None
    if not isinstance(doc, dict) or not doc:
        raise InputDataError(f"{p} holds no axes", parameter="grid-file", expected="axis = [values]")
    grid = {}
    for name, vals in doc.items():
        if isinstance(vals, str):
            grid[name] = _values(name, vals)
        elif isinstance(vals, list) and vals:
            grid[name] = list(vals)
        else:
            raise InputDataError(
                f"axis {name!r} of {p} is {type(vals).__name__}",
                parameter="grid-file",
                expected='a non-empty list or an "A..B" string',
            )
    return grid


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of the axes as dicts, the first axis slowest."""
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(list(grid[n]) for n in names))]


@dataclass(frozen=True)
class SweepResult:
    """One row per grid point (the point's values, then the metrics ``fn`` returned, or ``error``)."""

    task: str
    axes: dict[str, list[Any]]
    fixed: dict[str, Any]
    rows: list[dict[str, Any]]
    seconds: float
    cluster: str | None = None
    workers: int = 0
    metrics: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document's body."""
        return {
            "task": self.task,
            "axes": self.axes,
            "fixed": self.fixed,
            "metrics": self.metrics,
            "rows": self.rows,
            "seconds": self.seconds,
            "cluster": self.cluster,
            "workers": self.workers,
        }

    def columns(self) -> list[str]:
        cols = list(self.axes) + list(self.metrics)
        if any("error" in r for r in self.rows):
            cols.append("error")
        return cols

    def to_text(self) -> str:
        """A plain table (axes, then metrics), and one line saying where it ran."""
        cols = self.columns()
        cells = [[_cell(r.get(c)) for c in cols] for r in self.rows]
        width = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, width)).rstrip()]
        lines.append("  ".join("-" * w for w in width))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, width)).rstrip() for row in cells]
        where = f"on {self.cluster} ({self.workers} workers)" if self.cluster else "in this process"
        fixed = ", ".join(f"{k}={v}" for k, v in self.fixed.items())
        lines.append(
            f"sweep {self.task}: {len(self.rows)} points {where} in {self.seconds:.1f} s"
            + (f"; fixed {fixed}" if fixed else "")
        )
        return "\n".join(lines)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _point(fn: Callable[..., Mapping[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
    """One point (in this process or on a worker): the metrics, or ``{"error": one line}``."""
    try:
        out = fn(**kwargs)
    except NeurocompileError as exc:
        return {"error": exc.one_line()}
    return {str(k): _plain(v) for k, v in dict(out).items()}


def _plain(v: Any) -> Any:
    """numpy scalars -> Python numbers, NaN/inf -> None (JSON ``null``, ``-`` in the table)."""
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 1) == 0:
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def run_sweep(
    fn: Callable[..., Mapping[str, Any]],
    grid: Mapping[str, Sequence[Any]],
    *,
    fixed: Mapping[str, Any] | None = None,
    cluster: Any = None,
    progress: Callable[[int, int], None] | None = None,
    task: str | None = None,
) -> SweepResult:
    """``fn(**fixed, **point)`` for every point of ``grid`` (module docstring); rows in grid order.

    ``cluster``: run each point as one Dask task (``"local:N"``, ``"tcp://HOST:PORT"``, a Client or a
    cluster object); ``None`` runs them here one after another. ``progress(points_done, points)``.
    """
    fixed = dict(fixed or {})
    axes = {k: list(v) for k, v in grid.items()}
    clash = sorted(set(axes) & set(fixed))
    if clash:
        raise ParameterError(
            f"{clash[0]!r} is both a grid axis and a fixed value", parameter=clash[0], expected="one of them"
        )
    points = grid_points(axes)
    results: list[dict[str, Any] | None] = [None] * len(points)
    t0 = time.perf_counter()
    workers = 0
    if progress is not None:
        progress(0, len(points))
    if cluster is None:
        for i, p in enumerate(points):
            results[i] = _point(fn, {**fixed, **p})
            if progress is not None:
                progress(i + 1, len(points))
    else:
        from .distributed import _distributed, connect, n_workers

        with connect(cluster) as client:
            workers = n_workers(client)
            run_id = uuid.uuid4().hex[:8]
            futures = [
                client.submit(_point, fn, {**fixed, **p}, key=f"neurocompile-sweep-{run_id}-{i:05d}")
                for i, p in enumerate(points)
            ]
            index = {f.key: i for i, f in enumerate(futures)}
            done = 0
            try:
                for fut, value in _distributed().as_completed(futures, with_results=True):
                    results[index[fut.key]] = value
                    done += 1
                    if progress is not None:
                        progress(done, len(points))
            finally:
                client.cancel(futures)
    rows = [{**p, **(r or {})} for p, r in zip(points, results)]
    metrics = list(dict.fromkeys(k for r in results for k in (r or {}) if k != "error"))
    name = task or getattr(fn, "__name__", "sweep")
    where = cluster if isinstance(cluster, str) else (None if cluster is None else type(cluster).__name__)
    return SweepResult(name, axes, fixed, rows, time.perf_counter() - t0, where, workers, metrics)


__all__ = [
    "parse_value",
    "parse_axis",
    "parse_grid",
    "load_grid",
    "grid_points",
    "run_sweep",
    "SweepResult",
]
