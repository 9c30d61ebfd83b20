"""`neurocompile emit`: the stand-alone Lava bundle.

The bundle is run in the Lava interpreter (``$NEUROCOMPILE_LAVA_PYTHON`` or ``.venv-lava``) as a
subprocess, in isolated mode (``-I``), from ``/``, with ``neurocompile`` made un-importable
(``sys.modules["neurocompile"] = None``): it must reproduce the emulator's golden outputs exactly
without neurocompile. Where no Lava interpreter exists those tests skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from loihi2_cases import Case, merge_cases, random_case, timing_chain

from neurocompile.cli.main import main as cli_main
from neurocompile.program import OutputSpec, Population, Program, Projection
from neurocompile.targets.loihi2.emit import BUNDLE_FILES, emit_bundle

REPO = Path(__file__).resolve().parents[1]
BLOCKER = (
    "import sys, runpy\n"
    "sys.modules['neurocompile'] = None  # any 'import neurocompile...' now raises ImportError\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def lava_python() -> str:
    env = os.environ.get("NEUROCOMPILE_LAVA_PYTHON")
    path = Path(env) if env else REPO / ".venv-lava" / "bin" / "python"
    if not path.is_file():
        pytest.skip(f"no Lava interpreter at {path} (run `make venvs`)")
    return str(path)


def run_bundle(directory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [lava_python(), "-I", "-c", BLOCKER, str(directory / "run.py"), *args],
        capture_output=True,
        text=True,
        cwd="/",
        env=env,
        timeout=600,
    )


def two_component_program() -> Case:
    """Two disjoint sub-networks (and graded input into a sparse delayed projection)."""
    prog = Program(target="loihi2")
    prog.populations["a_in"] = Population("a_in", "input", (2, 2), {"num_message_bits": 0})
    prog.populations["b_in"] = Population("b_in", "input", (3,), {"num_message_bits": 6})
    lif = {"du": 100, "dv": 200, "vth": 30, "bias_exp": np.zeros(4, np.int64)}
    prog.populations["a"] = Population("a", "lif", (4,), dict(lif, bias_mant=np.arange(4, dtype=np.int64)))
    prog.populations["b"] = Population(
        "b",
        "lif_reset",
        (2,),
        {
            "du": 4095,
            "dv": 0,
            "vth": 50,
            "bias_mant": np.zeros(2, np.int64),
            "bias_exp": np.zeros(2, np.int64),
            "reset_interval": 5,
            "reset_offset": 2,
            "v_init": np.array([100, -100], np.int64),
        },
    )
    prog.projections["wa"] = Projection(
        "wa",
        "a_in",
        "a",
        "dense",
        {
            "weights": np.arange(-8, 8, dtype=np.int64).reshape(4, 4) * 9,
            "weight_exp": 1,
            "num_weight_bits": 6,
            "sign_mode": 1,
            "num_message_bits": 0,
        },
    )
    prog.projections["wb"] = Projection(
        "wb",
        "b_in",
        "b",
        "delay_sparse",
        {
            "pre": np.array([0, 2, 1]),
            "post": np.array([0, 0, 1]),
            "weights": np.array([10, 20, 30]),
            "delays": np.array([0, 4, 2]),
            "weight_exp": -1,
            "num_weight_bits": 8,
            "sign_mode": 2,
            "num_message_bits": 6,
        },
    )
    prog.projections["rec"] = Projection(
        "rec",
        "a",
        "a",
        "sparse",
        {
            "pre": np.array([0, 1]),
            "post": np.array([1, 0]),
            "weights": np.array([-40, -60]),
            "weight_exp": 0,
            "num_weight_bits": 8,
            "sign_mode": 3,
            "num_message_bits": 0,
        },
    )
    prog.inputs = {"xa": "a_in", "xb": "b_in"}
    prog.outputs = {"ya": OutputSpec("a", "spikes"), "vb": OutputSpec("b", "v", 0.5)}
    rng = np.random.default_rng(11)
    inputs = {
        "xa": (rng.random((2, 40, 2, 2)) < 0.4).astype(np.int64),
        "xb": rng.integers(-20, 20, size=(2, 40, 3)) * (rng.random((2, 40, 3)) < 0.3),
    }
    return Case("two_components", prog, inputs, [])


def test_bundle_files_and_parameters(tmp_path):
    case = two_component_program()
    rep = emit_bundle(case.program, tmp_path / "b", case.inputs)
    assert sorted(os.listdir(tmp_path / "b")) == sorted(BUNDLE_FILES)
    assert rep.batch == 2 and rep.steps == 40 and not rep.generated_input
    assert rep.as_dict()["files"] == list(BUNDLE_FILES)
    for name in ("network.py", "run.py"):
        text = (tmp_path / "b" / name).read_text()
        assert "import neurocompile" not in text and "from neurocompile" not in text, name
    net = (tmp_path / "b" / "network.py").read_text()
    # every scalar is a literal; the sign mode is always explicit; only stock processes
    assert "du=100, dv=200, vth=30" in net and "reset_interval=5, reset_offset=2" in net
    assert "sign_mode=SignMode.MIXED" in net and "sign_mode=SignMode.INHIBITORY" in net
    assert "LIFRefractory" not in net and "TernaryLIF" not in net and "Learning" not in net
    with np.load(tmp_path / "b" / "params.npz") as f:
        params = {k: f[k] for k in f.files}
    assert all(np.issubdtype(v.dtype, np.integer) for v in params.values())
    assert np.array_equal(params["wa.weights"], case.program.projections["wa"].params["weights"])
    assert np.array_equal(params["wb.delays"], [0, 4, 2])
    assert np.array_equal(params["b.v_init"], [100, -100]) and np.array_equal(
        params["a.u_init"], [0, 0, 0, 0]
    )
    with np.load(tmp_path / "b" / "inputs.npz") as f:
        assert np.array_equal(f["xb"], case.inputs["xb"])
    with np.load(tmp_path / "b" / "golden.npz") as f:
        assert {"ya", "vb", "a.u", "a.v", "a.spikes", "b.u", "b.v", "b.spikes"} <= set(f.files)
        assert f["a.v"].shape == (2, 40, 4) and f["vb"].dtype == np.float64
    readme = (tmp_path / "b" / "README.md").read_text()
    for trap in ("LIFRefractory", "TernaryLIF", "vth", "LearningLIF", "lava-nc 0.10.0"):
        assert trap in readme


def test_emit_cli(tmp_path):
    case = timing_chain()
    case.program.save(tmp_path / "p.ncp")
    np.savez(tmp_path / "in.npz", **case.inputs)
    assert (
        cli_main(
            ["emit", str(tmp_path / "p.ncp"), "-o", str(tmp_path / "b"), "--input", str(tmp_path / "in.npz")]
        )
        == 0
    )
    with np.load(tmp_path / "b" / "golden.npz") as f:
        assert f["l1.u"].ravel().tolist() == [0, 640, 0, 0, 640, 0]  # loihi2.md §2.4
    # without --input: a generated Bernoulli input of --steps steps
    assert cli_main(["emit", str(tmp_path / "p.ncp"), "-o", str(tmp_path / "c"), "--steps", "17"]) == 0
    with np.load(tmp_path / "c" / "inputs.npz") as f:
        assert f["x"].shape == (1, 17, 1)
    # a broken Program file: one-line error, exit 2
    (tmp_path / "bad.ncp").write_bytes(b"not a program")
    assert cli_main(["emit", str(tmp_path / "bad.ncp"), "-o", str(tmp_path / "d")]) == 2


@pytest.mark.slow
def test_bundle_runs_in_lava_without_neurocompile(tmp_path):
    cases = [two_component_program(), merge_cases([random_case(4, m) for m in range(3)])[0]]
    for i, case in enumerate(cases):
        emit_bundle(case.program, tmp_path / f"b{i}", case.inputs)
        proc = run_bundle(tmp_path / f"b{i}", "--check")
        assert proc.returncode == 0, f"{case.name}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "keys identical to golden.npz" in proc.stdout and "MISMATCH" not in proc.stdout
        with (
            np.load(tmp_path / f"b{i}" / "outputs.npz") as out,
            np.load(tmp_path / f"b{i}" / "golden.npz") as gold,
        ):
            assert set(out.files) == set(gold.files) - {"__meta__"}


@pytest.mark.slow
def test_bundle_check_detects_a_difference(tmp_path):
    """--check is not vacuous: a golden file off by one value makes it fail."""
    case = timing_chain()
    emit_bundle(case.program, tmp_path / "b", case.inputs)
    with np.load(tmp_path / "b" / "golden.npz") as f:
        gold = {k: f[k] for k in f.files}
    gold["l2.u"] = gold["l2.u"].copy()
    gold["l2.u"][0, 2, 0] += 1
    np.savez(tmp_path / "b" / "golden.npz", **gold)
    proc = run_bundle(tmp_path / "b", "--check")
    assert proc.returncode == 1 and "MISMATCH l2.u" in proc.stdout, proc.stdout + proc.stderr


def test_bundle_is_importable_only_with_lava(tmp_path):
    """In an interpreter without lava-nc the bundle fails on the lava import, never on neurocompile."""
    if sys.version_info[:2] == (3, 10):
        pytest.skip("this interpreter may have lava-nc")
    case = timing_chain()
    emit_bundle(case.program, tmp_path / "b", case.inputs)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", BLOCKER, str(tmp_path / "b" / "run.py")],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert proc.returncode != 0 and "No module named 'lava'" in proc.stderr
