"""The boundary between the core and the targets: a toy target registered from inside tests/.

Nothing in ``neurocompile/`` or ``targets/`` is touched: ``tests/toy_target.py`` defines the
whole chip (lowering, one design rule, placer, one backend, a report section) and the test
registers it, compiles graphs for it, checks, runs and reports them through the public API.
"""

from __future__ import annotations

import bad_models as B
import numpy as np
import pytest
import toy_target

import neurocompile
import neurocompile.targets as registry
from neurocompile.errors import ResourceError, UnsupportedError
from neurocompile.program import Program
from neurocompile.report import report
from neurocompile.target import get_target, target_names


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "toy", "toy_target:TARGET")
    return get_target("toy")


def _two_layer(tmp_path, seed: int, hidden: int = 16):
    rng = np.random.default_rng(seed)
    g = {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([8])},
            "fc1": {
                "type": "Affine",
                "weight": rng.normal(0.4, 0.5, (hidden, 8)),
                "bias": rng.normal(0, 0.05, hidden),
            },
            "lif1": {
                "type": "LIF",
                "tau": np.full(hidden, 2e-2),
                "r": np.full(hidden, 10.0),
                "v_leak": np.zeros(hidden),
                "v_threshold": np.ones(hidden),
                "v_reset": np.zeros(hidden),
            },
            "fc2": {"type": "Linear", "weight": rng.normal(0.3, 0.5, (4, hidden))},
            "lif2": {
                "type": "LIF",
                "tau": np.full(4, 1e-2),
                "r": np.full(4, 10.0),
                "v_leak": np.zeros(4),
                "v_threshold": np.ones(4),
                "v_reset": np.zeros(4),
            },
            "out": {"type": "Output", "shape": np.array([4])},
        },
        "edges": [("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "out")],
        "metadata": {"dt": 1e-3},
    }
    return B.write_nir(tmp_path / f"two_layer_{seed}_{hidden}.nir", g)


def test_registered_from_tests_only(toy):
    assert "toy" in target_names() and toy.name == "toy"
    assert "toy" not in registry.names()[:2]  # the chips of the tree come first, untouched


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compile_and_run_equal_the_float_reference(toy, tmp_path, seed):
    path = _two_layer(tmp_path, seed)
    prog = neurocompile.compile(path, target="toy", dt=1e-3)
    assert prog.target == "toy" and prog.placement["cores_used"] == 2
    assert prog.provenance["options"]["target"] == "toy"
    rng = np.random.default_rng(100 + seed)
    inputs = {"in": (rng.random((3, 40, 8)) < 0.3).astype(np.float64)}
    ref = neurocompile.simulate(neurocompile.load(path), inputs, dt=1e-3, hop_delay=1)
    res = prog.run(inputs, backend="sim")
    assert res.backend == "sim:toy"
    assert np.array_equal(res.outputs["out"], ref.outputs["out"])
    assert ref.outputs["out"].sum() > 0  # the comparison is about spikes that happen
    prog.save(tmp_path / "toy.ncp")
    loaded = Program.load(tmp_path / "toy.ncp")
    assert np.array_equal(loaded.run(inputs, backend="sim").outputs["out"], res.outputs["out"])


def test_rule_is_listed_by_check_and_enforced_by_compile(toy, tmp_path):
    path = _two_layer(tmp_path, 0, hidden=toy_target.MAX_NEURONS + 1)
    rep = neurocompile.check(path, target="toy")
    assert ("toy-too-big", "lif1") in {(f.code, f.node) for f in rep.findings}
    assert "toy-too-big" not in neurocompile.check(path).codes  # only with the target
    with pytest.raises(ResourceError, match="toy chip"):
        neurocompile.compile(path, target="toy", dt=1e-3)


def test_options_backends_and_report(toy, tmp_path):
    path = _two_layer(tmp_path, 3)
    with pytest.raises(UnsupportedError, match="does not take the option"):
        neurocompile.compile(path, target="toy", dt=1e-3, neurons_per_core=4)
    prog = neurocompile.compile(path, target="toy", dt=1e-3, cores=8)
    assert prog.provenance["cores"] == 8
    with pytest.raises(UnsupportedError, match="sim"):
        prog.run({"in": np.zeros((1, 5, 8))}, backend="emulator")
    rep = report(prog)
    assert rep.target == "toy" and rep.neurons == 20
    assert rep.placement.cores_used == 2 and rep.placement.cores[0]["neuron_utilization"] == round(
        16 / 256, 4
    )
    assert rep.as_dict()["target_section"] == {"cores": 2, "limit": toy_target.MAX_NEURONS}


def test_unknown_target_names_the_registered_ones(toy, tmp_path):
    with pytest.raises(UnsupportedError, match="toy"):
        neurocompile.compile(_two_layer(tmp_path, 0), target="nosuchchip", dt=1e-3)


def test_cli_compiles_runs_and_reports_on_the_toy_target(toy, tmp_path, capsys):
    from neurocompile.cli.main import main

    path = _two_layer(tmp_path, 4)
    prog = tmp_path / "toy.ncp"
    assert main(["compile", str(path), "--target", "toy", "--dt", "1e-3", "-o", str(prog)]) == 0
    inputs = {"in": (np.random.default_rng(4).random((2, 30, 8)) < 0.3).astype(np.float64)}
    np.savez(tmp_path / "in.npz", **inputs)
    assert (
        main(
            [
                "run",
                str(prog),
                "--backend",
                "sim",
                "--input",
                str(tmp_path / "in.npz"),
                "--output",
                str(tmp_path / "out.npz"),
            ]
        )
        == 0
    )
    ref = neurocompile.simulate(neurocompile.load(path), inputs, dt=1e-3, hop_delay=1)
    with np.load(tmp_path / "out.npz") as z:
        assert np.array_equal(z["out"], ref.outputs["out"])
    assert main(["report", str(prog)]) == 0
    assert main(["emit", str(prog), "-o", str(tmp_path / "bundle")]) == 2  # the toy chip has no bundle writer
    assert "no bundle writer" in capsys.readouterr().err
