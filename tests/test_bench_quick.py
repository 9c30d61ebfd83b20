"""``benchmarks/run.py --quick`` runs every bench end to end at a small size (a broken bench fails here).

Speed is not asserted: only that the run exits 0, prints no traceback, and that every
``benchmarks/bench_*.py`` has rows in the printed table and in the JSON it writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = sorted(p.stem[len("bench_") :] for p in (ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.slow
def test_bench_quick_runs_every_bench(tmp_path):
    out = tmp_path / "bench-quick.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "Traceback" not in log, log[-4000:]
    assert BENCHES, "no benchmarks/bench_*.py found"
    table = [line.split()[0] for line in proc.stdout.splitlines() if line.split()]
    report = json.loads(out.read_text())
    assert report["quick"] and not report["failed"] and not report["failed_checks"]
    assert {"cpus", "load_avg_start", "load_avg_end"} <= report["machine"].keys()
    for name in BENCHES:
        assert name in table, f"bench {name} missing from the table:\n{proc.stdout}"
        assert report["benches"][name]["status"] == "ok", report["benches"][name]
        rows = [r for r in report["rows"] if r["bench"] == name]
        assert rows and all(r["case"] != "FAILED" for r in rows), f"bench {name}: {rows}"
    assert "load average" in proc.stdout
