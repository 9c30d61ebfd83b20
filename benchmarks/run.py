"""Run every ``benchmarks/bench_*.py``, print one table and write the rows to JSON.

    python benchmarks/run.py [--quick] [--json PATH] [name-substring ...]

Each bench module defines ``main(quick: bool = False) -> list[Row]`` (``Row``: ``benchmarks/common.py``)
and runs in its own subprocess (its peak memory and timings are its own; a crash or a hang
ends that bench only, which then has a ``FAILED`` row). The table has one line per case: ours,
the reference system and its figure, ratio, goal, met. The machine's load average (start, end)
and CPU count are printed under the table and stored in the JSON (``out/bench.json``,
``out/bench-quick.json`` with ``--quick``; ``out/`` is gitignored).

``--quick`` runs every bench at a small size (about a minute in all on a 2-core machine): it
checks that each bench still runs end to end, and its goals are not judged. The exit status is 1
when a bench failed or a correctness check (bit-exactness, readback) of a row is False; speed
never changes the exit status.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from common import Row, load_avg  # noqa: E402

COLUMNS = ("bench", "case", "ours", "reference system", "reference", "ratio", "goal", "met", "checks", "note")
QUICK_TIMEOUT_S = 240


def benches(filters: list[str]) -> list[Path]:
    paths = sorted(HERE.glob("bench_*.py"))
    return [p for p in paths if not filters or any(f in p.stem for f in filters)]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _child(name: str, quick: bool, out: str) -> int:
    """In the bench's own process: run ``bench_NAME.main`` and write its rows to ``out``."""
    rows = _load(HERE / f"bench_{name}.py").main(quick=quick)
    if not isinstance(rows, list) or not all(isinstance(r, Row) for r in rows):
        raise TypeError(f"bench_{name}.main must return list[Row], got {type(rows).__name__}")
    for r in rows:
        r.bench = name
    with open(out, "w") as f:
        json.dump([r.as_dict() for r in rows], f)
    return 0


def run_one(path: Path, quick: bool, timeout: float | None) -> tuple[list[dict], float, str]:
    """Rows of one bench (run in a subprocess), its wall time and its status (``ok`` or why not)."""
    name = path.stem[len("bench_") :]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--rows-out", out]
        cmd += ["--quick"] if quick else []
        t0 = time.perf_counter()
        try:
            rc = subprocess.run(cmd, cwd=REPO, timeout=timeout).returncode
            status = "ok" if rc == 0 else f"exit status {rc}"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout:.0f} s"
        seconds = time.perf_counter() - t0
        rows = []
        if status == "ok" and os.path.exists(out):
            with open(out) as f:
                rows = json.load(f)
        elif status == "ok":
            status = "wrote no rows"
    if status != "ok":
        rows = [Row(case="FAILED", note=status + " (traceback above)", bench=name).as_dict()]
    return rows, seconds, status


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        s = f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    else:
        s = str(v)
    return f"{s} {unit}".strip()


def table_cells(r: dict, quick: bool) -> list[str]:
    checks = r["checks"]
    return [
        r["bench"],
        r["case"],
        _fmt(r["ours"], r["unit"]),
        r["reference"] or "-",
        _fmt(r["ref_value"], r["unit"]) if r["ref_value"] is not None else "-",
        "-" if r["ratio"] is None else f"{r['ratio']:.3g}x",
        r["goal"] or "-",
        "(quick)" if quick and r["case"] != "FAILED" else _fmt(r["met"]),
        ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in checks.items()) or "-",
        r["note"],
    ]


def print_table(rows: list[dict], quick: bool = False, file=None) -> None:
    file = file or sys.stdout
    cells = [table_cells(r, quick) for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(COLUMNS)]
    widths[-1] = len(COLUMNS[-1])  # the note is free text: not padded
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip(), file=file)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("filters", nargs="*", help="run only the benches whose name contains one of these")
    ap.add_argument("--quick", action="store_true", help="every bench at a small size; goals not judged")
    ap.add_argument("--json", default="", help="where to write the rows (default out/bench[-quick].json)")
    ap.add_argument("--timeout", type=float, default=None, help=f"per bench (quick: {QUICK_TIMEOUT_S} s)")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--rows-out", default="", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return _child(a.child, a.quick, a.rows_out)

    paths = benches(a.filters)
    if not paths:
        print(f"no bench matches {a.filters}", file=sys.stderr)
        return 2
    timeout = a.timeout or (QUICK_TIMEOUT_S if a.quick else None)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load_start, t0 = load_avg(), time.perf_counter()
    rows, runs = [], {}
    for path in paths:
        name = path.stem[len("bench_") :]
        sys.stderr.write(f"[bench] {name}{' (quick)' if a.quick else ''} ...\n")
        out, seconds, status = run_one(path, a.quick, timeout)
        sys.stderr.write(f"[bench] {name}: {status}, {seconds:.1f} s\n")
        rows += out
        runs[name] = {"seconds": round(seconds, 2), "status": status}
    total, load_end = time.perf_counter() - t0, load_avg()

    failed = [n for n, r in runs.items() if r["status"] != "ok"]
    bad_checks = [f"{r['bench']}/{r['case']}: {k}" for r in rows for k, v in r["checks"].items() if not v]
    path = Path(a.json) if a.json else REPO / "out" / ("bench-quick.json" if a.quick else "bench.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started": started,
        "quick": a.quick,
        "seconds": round(total, 2),
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_start": load_start,
            "load_avg_end": load_end,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "benches": runs,
        "failed": failed,
        "failed_checks": bad_checks,
        "rows": rows,
    }
    path.write_text(json.dumps(report, indent=1) + "\n")

    sys.stderr.flush()
    print()
    print_table(rows, a.quick)
    print()
    print(
        f"{len(runs)} benches in {total:.0f} s{' (quick sizes: goals not judged)' if a.quick else ''}; "
        f"load average (1, 5, 15 min) {load_start} at start, {load_end} at end, {os.cpu_count()} CPUs; "
        f"rows: {path}"
    )
    if failed:
        print(f"FAILED benches: {', '.join(failed)}")
    if bad_checks:
        print(f"FAILED checks: {'; '.join(bad_checks)}")
    return 1 if failed or bad_checks else 0


if __name__ == "__main__":
    sys.exit(main())
