"""`neurocompile emit`: the stand-alone Lava bundle.

The bundle is run in the Lava interpreter (``$NEUROCOMPILE_LAVA_PYTHON`` or ``.venv-lava``) as a
subprocess, in isolated mode (``-I``), from ``/``, with ``neurocompile`` made un-importable
(``sys.modules["neurocompile"] = None``): it must reproduce the emulator's golden outputs exactly
without neurocompile. Where no Lava interpreter exists those tests skip.

Programs with learning (pair STDP, R-STDP with a reward input, e-prop with learning signals and a
feedback projection): the bundle builds LearningDense / LIF3F as ``lava_runner`` does, and its
``--check`` compares spikes, u, v and the learned weights and tags after the last step with the
emulator's golden run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from learning_cases import (
    random_inputs,
    random_learning_program,
    random_three_factor_inputs,
    random_three_factor_program,
)
from loihi2_cases import Case, merge_cases, random_case, timing_chain

from neurocompile.cli.main import main as cli_main
from neurocompile.errors import UnsupportedError
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


# ------------------------------------------------------------------------------------ learning
LEARN_T = 60


def learning_case(kind: str) -> Case:
    """A compiled loihi2 Program with a plastic projection and 2 samples of LEARN_T steps.

    ``stdp`` / ``rstdp``: input (3) -> fc -> lif (2), pair STDP or reward-modulated STDP (lif_3f
    reading the input ``reward``). Inputs 0 and 1 drive post neurons 0 and 1 above threshold; the
    weak input 2 fires 2 steps before the drivers in sample 0 (pre before post: potentiation) and
    3 steps after them in sample 1 (post before pre: depression). The reward (rstdp) is 100 for
    the whole of sample 0 and 0 in sample 1 (no weight change without reward).
    ``eprop``: the small e-prop Program of ``models/learning_signals.py`` (4 hidden lif_3f with a
    pseudo-derivative and signed third factor, an output lif_3f with an error port, a feedback
    dense projection, three learning_dense incl. a recurrent one), Bernoulli(0.4) input.
    ``random2f`` / ``random3f``: the random rules of the Lava differential tests
    (tests/learning_cases.py: dd/dt targets, w/d/t/sgn factors, tag_1/tag_2 initial values, all
    sign modes, t_epoch > 1; 3 two-factor rules into a lif, 8 three-factor into a lif_3f), first
    seed of test_learning_lava_diff / test_learning_3f_lava_diff, 24 steps."""
    import neurocompile as nc

    if kind == "random2f":
        prog, _ = random_learning_program(0)
        return Case(kind, prog, random_inputs(0, prog, 24), [])
    if kind == "random3f":
        prog, _, _ = random_three_factor_program(5000)
        return Case(kind, prog, random_three_factor_inputs(5000, prog, 24), [])
    if kind == "eprop":
        from dataclasses import replace

        from neurocompile.models.learning_signals import EPROP, init_weights, program

        cfg = replace(EPROP, n_hid=4)
        prog = program(cfg, 4, init_weights(cfg, 4))
        rng = np.random.default_rng(0)
        target = np.zeros((2, LEARN_T, 10), np.int64)
        for k in range(0, LEARN_T, 10):
            target[:, k : k + 8, (k // 10) % 10] = cfg.target
        inputs = {"inp": (rng.random((2, LEARN_T, 4)) < 0.4).astype(np.int64), "target": target}
        return Case(kind, prog, inputs, [])
    from neurocompile.ir import Graph, Node
    from neurocompile.learning import attach, rstdp, stdp_pair

    w = np.array([[15.0, 0.0, 1.0], [0.0, 15.0, 2.0]])
    lif = {"tau": np.full(2, 10.0), "r": np.ones(2), "v_leak": np.zeros(2), "v_threshold": np.ones(2)}
    nodes = {
        "input": Node("input", "Input", {"shape": (3,)}),
        "fc": Node("fc", "Affine", {"weight": w, "bias": np.zeros(2)}),
        "lif": Node("lif", "LIF", lif),
        "out": Node("out", "Output", {"shape": (2,)}),
    }
    g = nc.load(Graph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "out")]))
    if kind == "stdp":
        rule = stdp_pair(A_plus=0.4, A_minus=0.4, tau_plus=8, tau_minus=8, w_min=0.0, w_max=20.0)
    else:
        rule = attach(
            rstdp(lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20), reward="reward"
        )
    prog = nc.compile(g, "loihi2", dt=1.0, reset="zero", learning={"fc": rule})
    x = np.zeros((2, LEARN_T, 3), np.int64)
    for t in range(5, LEARN_T - 5, 12):
        x[0, t, 2], x[0, t + 2, :2] = 1, 1  # pre (input 2) before post
        x[1, t, :2], x[1, t + 3, 2] = 1, 1  # post before pre
    inputs = {"input": x}
    if kind == "rstdp":
        reward = np.zeros((2, LEARN_T, 2), np.int64)
        reward[0] = 100
        inputs["reward"] = reward
    return Case(kind, prog, inputs, [])


def _plastic(prog: Program) -> list[str]:
    return [n for n, p in prog.projections.items() if p.kind == "learning_dense"]


def test_learning_bundle_files_and_rule(tmp_path):
    """The bundle of an R-STDP Program: LearningDense with the Program's rule (every field a
    literal), LIF3F with its trace fields, lif3f.py/lif3f_signals.py copied, the learned state in
    golden.npz; no neurocompile import anywhere."""
    case = learning_case("rstdp")
    rep = emit_bundle(case.program, tmp_path / "b", case.inputs)
    (name,) = _plastic(case.program)
    q = case.program.projections[name].params
    assert set(rep.files) == set(BUNDLE_FILES) | {"lif3f.py", "lif3f_signals.py"}
    assert sorted(os.listdir(tmp_path / "b")) == sorted(rep.files)
    for f in rep.files:
        if f.endswith(".py"):
            text = (tmp_path / "b" / f).read_text()
            assert "import neurocompile" not in text and "from neurocompile" not in text, f
            assert "from .." not in text, f
    net = (tmp_path / "b" / "network.py").read_text()
    assert "LearningDense(" in net and "Loihi3FLearningRule(" in net and "LIF3F(" in net
    assert f"dw={q['dw']!r}" in net and f"dt={q['dt']!r}" in net and f"rng_seed={int(q['rng_seed'])}" in net
    assert f"x1_tau={float(q['x1_tau'])!r}" in net and f"t_epoch={int(q['t_epoch'])}" in net
    assert "y1_impulse=" in net and ".a_third_factor_in" in net and "three_factor=True" in net
    with np.load(tmp_path / "b" / "golden.npz") as g:
        assert g[f"{name}.weights"].shape == (2,) + np.shape(q["weights"])
        assert {f"{name}.tag_1_final", f"{name}.tag_2_final", "lif.spikes", "lif.v"} <= set(g.files)
    # pair STDP: a two-factor rule with y traces, bAP from the LIF's spikes, no LIF3F files
    case = learning_case("stdp")
    rep = emit_bundle(case.program, tmp_path / "c", case.inputs)
    net = (tmp_path / "c" / "network.py").read_text()
    assert "Loihi2FLearningRule(" in net and "y1_tau=" in net
    assert "three_factor=False" in net and "LIF3F(" not in net and "from lif3f" not in net
    assert set(rep.files) == set(BUNDLE_FILES)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["stdp", "rstdp", "eprop", "random2f", "random3f"])
def test_learning_bundle_runs_in_lava_without_neurocompile(tmp_path, kind):
    """Spikes, u, v at every step and the learned weights/tags after the last step equal golden;
    the weights did learn (not vacuous), and --check catches one learned weight off by one."""
    case = learning_case(kind)
    emit_bundle(case.program, tmp_path / "b", case.inputs)
    names = _plastic(case.program)
    with np.load(tmp_path / "b" / "golden.npz") as f:
        gold = {k: f[k] for k in f.files}
    learned = [
        not np.array_equal(gold[f"{n}.weights"][b], case.program.projections[n].params["weights"])
        for n in names
        for b in range(len(gold[f"{n}.weights"]))
    ]
    assert any(learned) and sum(int(gold[k].sum()) for k in gold if k.endswith(".spikes")) > 0
    proc = run_bundle(tmp_path / "b", "--check")
    assert proc.returncode == 0, f"{kind}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert "MISMATCH" not in proc.stdout
    with np.load(tmp_path / "b" / "outputs.npz") as out:
        assert set(out.files) == set(gold) - {"__meta__"}
        for n in names:
            assert np.array_equal(out[f"{n}.weights"], gold[f"{n}.weights"]), n
    if kind == "stdp":
        key = f"{names[0]}.weights"
        gold[key] = gold[key].copy()
        gold[key][0, 0, 2] += 1
        np.savez(tmp_path / "b" / "golden.npz", **gold)
        proc = run_bundle(tmp_path / "b", "--check")
        assert proc.returncode == 1 and f"MISMATCH {key}" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.slow
def test_learning_bundle_refuses_hw_for_cpu_only_models(tmp_path):
    """LIF3F has a CPU ProcessModel only: ``run.py --hw`` refuses on one line, exit 2."""
    case = learning_case("rstdp")
    emit_bundle(case.program, tmp_path / "b", case.inputs)
    proc = run_bundle(tmp_path / "b", "--hw")
    assert proc.returncode == 2 and "CPU-only" in proc.stderr and "lif" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_emit_cli_learning(tmp_path, capsys):
    """emit of a learning Program: exit 0 and a bundle; a Program the bundle cannot reproduce (a sparse
    projection next to a learning_dense): one-line typed refusal naming the projection, exit 2."""
    case = learning_case("rstdp")
    case.program.save(tmp_path / "p.ncp")
    np.savez(tmp_path / "in.npz", **case.inputs)
    args = ["emit", str(tmp_path / "p.ncp"), "-o", str(tmp_path / "b"), "--input", str(tmp_path / "in.npz")]
    assert cli_main(args) == 0
    assert "lif3f.py" in os.listdir(tmp_path / "b")
    capsys.readouterr()
    prog = case.program
    prog.projections["side"] = Projection(
        "side",
        "input",
        "lif",
        "sparse",
        {
            "pre": np.array([0]),
            "post": np.array([1]),
            "weights": np.array([3]),
            "weight_exp": 0,
            "num_weight_bits": 8,
            "sign_mode": 2,
            "num_message_bits": 0,
        },
    )
    prog.save(tmp_path / "q.ncp")
    with pytest.raises(UnsupportedError) as e:
        emit_bundle(prog, tmp_path / "c", case.inputs)
    assert e.value.node == "side" and "learning" in str(e.value)
    assert not (tmp_path / "c").exists()
    assert cli_main(["emit", str(tmp_path / "q.ncp"), "-o", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "side" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
