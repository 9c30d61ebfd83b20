"""``compile(..., profile=True)`` and ``neurocompile compile --profile``: the time per pass.

Only the names of the passes are checked (speed is never asserted); without ``profile`` the
Program carries no timing (its bytes stay deterministic).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import neurocompile as nc
from neurocompile.compiler import profiling, timed

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "digits_cnn_sinabs" / "model.nir"


@pytest.mark.parametrize("target", ["loihi2", "spinnaker"])
def test_profile_times_every_pass(target):
    g = nc.load(MODEL)
    prog = nc.compile(g, target, dt=1e-3, reset="zero", profile=True)
    t = prog.provenance["timing_s"]
    for name in ("load", "sanity", "netlist", "lower", "lower.rules", "lower.build_projections", "place"):
        assert name in t and t[name] >= 0
    plain = nc.compile(g, target, dt=1e-3, reset="zero")
    assert "timing_s" not in plain.provenance
    assert plain.to_bytes() == nc.compile(g, target, dt=1e-3, reset="zero").to_bytes()


def test_timed_is_a_no_op_outside_profiling():
    with timed("x"):
        pass
    with profiling() as t:
        with timed("x"):
            pass
        with timed("x"):
            pass
    assert list(t) == ["x"]


def test_cli_profile_prints_the_passes(tmp_path):
    out = tmp_path / "p.ncp"
    r = subprocess.run(
        [sys.executable, "-m", "neurocompile.cli.main", "compile", str(MODEL), "--target", "spinnaker"]
        + ["-o", str(out), "--reset", "zero", "--profile"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "time per pass (s):" in r.stderr
    for name in ("load", "netlist", "lower.rules", "place", "save", "total"):
        assert f" {name} " in r.stderr
