"""Run every ``benchmarks/bench_*.py`` and print one table.

Each bench module defines ``main() -> list[dict]``; every dict is one row (keys become
columns; ``bench`` is added). Speed is measured here, never asserted in tests.
Usage: ``python benchmarks/run.py [name-substring ...]``.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def run(filters: list[str]) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if filters and not any(f in path.stem for f in filters):
            continue
        t0 = time.perf_counter()
        try:
            out = _load(path).main()
        except Exception as exc:  # one failing bench must not hide the others
            traceback.print_exc()
            out = [{"case": "FAILED", "error": f"{type(exc).__name__}: {exc}"}]
        for row in out:
            rows.append({"bench": path.stem[len("bench_") :], **row})
        sys.stderr.write(f"{path.name}: {time.perf_counter() - t0:.1f} s\n")
    return rows


def print_table(rows: list[dict]) -> None:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


if __name__ == "__main__":
    print_table(run(sys.argv[1:]))
