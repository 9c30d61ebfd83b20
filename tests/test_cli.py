"""The command line itself (issue 15, items 4 and 7): help, --version, global flags, choices,
"did you mean", progress only on a terminal, and library errors reworded as flags."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocompile
from neurocompile.cli import progress
from neurocompile.cli.main import cli_wording, main
from neurocompile.errors import NeurocompileError, SemanticsError
from neurocompile.semantics import DISCRETIZATIONS, RESETS
from neurocompile.target import get_target, target_names

sys.path.insert(0, str(Path(__file__).parent))
import bad_models as B  # noqa: E402


def _cli(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run(
        [sys.executable, "-m", "neurocompile.cli.main", *args], capture_output=True, text=True, env=env
    )


def _legacy_graph() -> dict:
    """The LIF graph as a paper-era file stores it: no v_reset, no dt."""
    g = B.lif_graph()
    del g["nodes"]["lif"]["v_reset"]
    del g["metadata"]
    return g


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------------- help and version
def test_bare_invocation_prints_the_help_formatted():
    proc = _cli()
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Usage: neurocompile")
    assert "Commands:" in lines and "Options:" in lines
    for cmd in ("check", "compile", "run", "simulate", "report", "validate", "emit", "demo"):
        assert any(line.split()[:1] == [cmd] for line in lines), cmd
    assert max(len(line) for line in lines) <= 80


def test_version():
    proc = _cli("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == f"neurocompile {neurocompile.__version__}\n"


def test_help_lists_the_choices_within_80_columns():
    proc = _cli("compile", "--help")
    assert proc.returncode == 0
    out = proc.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "[" + "|".join(target_names()) + "]" in out
    assert "[" + "|".join(RESETS) + "]" in out and "[" + "|".join(DISCRETIZATIONS) + "]" in out
    assert "<str>" not in [w for line in out.splitlines() if "--target" in line for w in line.split()]
    backends = dict.fromkeys(b for t in target_names() for b in get_target(t).backends)
    run_help = _cli("run", "--help").stdout
    assert "[" + "|".join(backends) + "]" in run_help
    assert "--quiet" in run_help and "--debug" in run_help  # the global flags, named on every command


# ------------------------------------------------------------------------- flags anywhere
@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_anywhere_shows_the_traceback(tmp_path, where):
    args = ["compile", str(tmp_path / "missing.nir"), "-t", target_names()[0], "-o", str(tmp_path / "o.ncp")]
    assert main(args) == 2
    with pytest.raises(NeurocompileError):
        main(["--debug", *args] if where == "before" else [*args, "--debug"])


def test_quiet_anywhere_is_accepted(tmp_path, capsys):
    model = B.write_nir(tmp_path / "m.nir", B.lif_graph())
    assert main(["--quiet", "check", str(model)]) == 0
    assert main(["check", str(model), "--quiet"]) == 0
    assert main(["check", "--quiet", str(model), "-q"]) == 0
    assert capsys.readouterr().err == ""
    for args in (["--quiet", "validate"], ["validate", "-q"]):  # validate declares its own --quiet
        assert main([*args, str(model), str(tmp_path / "none.ncp"), "-i", str(tmp_path / "x.npz")]) == 2
        line = _one_line(capsys.readouterr().err)
        assert "none.ncp" in line and "option" not in line


# ------------------------------------------------------------------------- choices
@pytest.mark.parametrize(
    "args, flag, suggestion",
    [
        (["compile", "m.nir", "-o", "o.ncp", "-t", "spinaker"], "--target", "spinnaker"),
        (["compile", "m.nir", "-o", "o.ncp", "-t", "loihi2", "--reset", "zer"], "--reset", "zero"),
        (["simulate", "m.nir", "-i", "i.npz", "-o", "o.npz", "--discretization", "exponentail"], None, None),
        (["check", "m.nir", "--target", "lohi2"], "--target", "loihi2"),
        (["run", "p.ncp", "-i", "i.npz", "-o", "o.npz", "--backend", "emulatr"], "--backend", "emulator"),
    ],
)
def test_misspelt_choice_suggests_the_closest(args, flag, suggestion, capsys):
    if args[-1] == "exponentail":
        flag, suggestion = "--discretization", "exponential"
    if suggestion in ("spinnaker", "loihi2") and suggestion not in target_names():
        pytest.skip(f"target {suggestion} not registered")
    assert main(args) == 2
    line = _one_line(capsys.readouterr().err)
    assert flag in line and f"did you mean {suggestion!r}?" in line


def test_unrelated_choice_has_no_suggestion(capsys):
    assert main(["compile", "m.nir", "-o", "o.ncp", "-t", "truenorth"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "did you mean" not in line and all(t in line for t in target_names())


# ------------------------------------------------------------------------- progress
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _program(tmp_path) -> tuple[Path, Path]:
    model = B.write_nir(tmp_path / "m.nir", B.lif_graph())
    prog = tmp_path / "m.ncp"
    assert main(["compile", str(model), "-t", target_names()[0], "-o", str(prog), "-q"]) == 0
    x = (np.random.default_rng(0).random((40, 20, 3)) < 0.3).astype(np.float32)
    np.savez(tmp_path / "in.npz", **{"in": x})
    return prog, tmp_path / "in.npz"


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path, capsys):
    prog, inp = _program(tmp_path)
    capsys.readouterr()
    assert not progress.enabled()
    assert main(["run", str(prog), "-i", str(inp), "-o", str(tmp_path / "o.npz")]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "ran m.ncp" in cap.out


def test_progress_on_a_terminal_and_quiet_silences_it(tmp_path, monkeypatch, capsys):
    import neurocompile.target as target_mod

    prog, inp = _program(tmp_path)
    capsys.readouterr()
    calls = []
    real = target_mod.run_program

    def spy(*a, **kw):  # the CLI hands the backend a callback; the emulator reports each sample chunk
        inner = kw.get("progress")
        if inner is not None:
            kw["progress"] = lambda done, total: (calls.append((done, total)), inner(done, total))
        return real(*a, **kw)

    monkeypatch.setattr(target_mod, "run_program", spy)
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert progress.enabled()
    assert main(["run", str(prog), "-i", str(inp), "-o", str(tmp_path / "o.npz")]) == 0
    assert len(calls) > 1 and calls[-1] == (40, 40)
    assert tty.getvalue() != ""  # the bar was drawn (and cleared: transient)
    calls.clear()
    tty.seek(0)
    tty.truncate()
    assert main(["run", str(prog), "-i", str(inp), "-o", str(tmp_path / "o2.npz"), "--quiet"]) == 0
    assert calls == [] and tty.getvalue() == ""
    a, b = np.load(tmp_path / "o.npz"), np.load(tmp_path / "o2.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)


# ------------------------------------------------------------------------- wording
def test_cli_wording():
    assert (
        cli_wording('choose reset="subtract" or reset="zero".') == "choose --reset subtract or --reset zero."
    )
    assert cli_wording("pass dt=DT (seconds, dt=1 for sinabs)") == "pass --dt DT (seconds, --dt 1 for sinabs)"
    assert cli_wording("strict=True raises") == "--strict raises"
    assert cli_wording("hop_delay=1, calibration=IN.npz") == "--hop-delay 1, --calibration IN.npz"
    assert cli_wording("v_reset = 0 and tau_dt=3 and x.dt=2") == "v_reset = 0 and tau_dt=3 and x.dt=2"


def test_api_errors_speak_python_and_the_cli_speaks_flags(tmp_path, capsys):
    legacy = B.write_nir(tmp_path / "legacy.nir", _legacy_graph(), version="1.0.4")
    with pytest.raises(SemanticsError) as e:
        neurocompile.compile(str(legacy), target_names()[0])
    assert "dt=" in str(e.value) and "--dt" not in str(e.value)
    with pytest.raises(NeurocompileError) as e:
        neurocompile.compile(str(legacy), target_names()[0], dt=1e-3, reset="file")
    assert 'reset="subtract"' in str(e.value) and "--reset" not in str(e.value)
    out = str(tmp_path / "o.ncp")
    assert main(["compile", str(legacy), "-t", target_names()[0], "-o", out]) == 2
    assert "--dt DT" in _one_line(capsys.readouterr().err)
    assert main(["compile", str(legacy), "-t", target_names()[0], "-o", out, "--dt", "1e-3"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--reset subtract" in line and 'reset="' not in line


# ------------------------------------------------------------------------- demo
def test_demo_takes_dt_and_reset_for_a_nir_file(tmp_path, capsys):
    legacy = B.write_nir(tmp_path / "legacy.nir", _legacy_graph(), version="1.0.4")
    x = (np.random.default_rng(1).random((3, 30, 3)) < 0.4).astype(np.float32)
    np.savez(tmp_path / "in.npz", **{"in": x})
    args = ["demo", "--model", str(legacy), "--input", str(tmp_path / "in.npz"), "-k", "0"]
    rc = main([*args, "--out", str(tmp_path / "a"), "--dt", "1e-3", "--reset", "subtract"])
    cap = capsys.readouterr()
    assert rc == 0, cap.out[-3000:]
    assert "demo finished" in cap.out and cap.err == ""  # no progress bar in a captured run
    assert "/0" not in cap.out and "0/1" not in cap.out
    assert main([*args, "--out", str(tmp_path / "b"), "--reset", "sub"]) == 2
    assert "did you mean 'subtract'?" in _one_line(capsys.readouterr().err)


def test_demo_on_the_nir_paper_lif(paper_data, tmp_path, capsys):
    x = (np.random.default_rng(2).random((2, 100, 1)) < 0.2).astype(np.float32)
    np.savez(tmp_path / "in.npz", input=x)
    rc = main(
        [
            "demo",
            "--model",
            str(paper_data / "01_lif" / "lif_norse.nir"),
            "--input",
            str(tmp_path / "in.npz"),
            "--dt",
            "1e-4",
            "--reset",
            "subtract",
            "-k",
            "0",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "failed" not in out
