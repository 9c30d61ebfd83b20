"""The PyNN/sPyNNaker bundle (``neurocompile emit`` of a spinnaker Program).

Without sPyNNaker: the connection lists give back the Program's integers exactly, the manifest
pins sPyNNaker 1!7.4.1 and hashes the files, golden.npz is the emulator's run, run.py needs only
numpy + PyNN. With sPyNNaker (marked ``spinnaker``): the emitted bundle maps on a virtual board
unchanged, in both invocation styles, and sPyNNaker's readback equals the Program.
"""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from spinnaker_board_cases import random_program  # noqa: E402

from neurocompile.errors import NeurocompileError, UnsupportedError  # noqa: E402
from neurocompile.program import Program  # noqa: E402
from neurocompile.targets.spinnaker import board, bundle_run, emit  # noqa: E402


def _inputs(prog: Program, steps: int = 30, batch: int = 2, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"input": (rng.random((batch, steps, prog.populations["src"].size)) < 0.2).astype(np.uint8)}


@pytest.mark.parametrize("seed", [0, 1, 2, 5, 9], ids=lambda s: f"seed{s}")
def test_connection_lists_give_back_the_programs_integers(seed):
    prog = random_program(seed, tick_ms=0.1 if seed % 2 else 1.0)
    net, arrays = emit.network_arrays(prog, _inputs(prog), None)
    tick = prog.semantics["tick_ms"]
    for j, q in enumerate(net["projections"]):
        p = prog.projections[q["label"]]
        shift = prog.populations[p.post].params["ring_buffer_shifts"][
            emit.RECEPTORS.index(p.params["receptor"])
        ]
        w = arrays[f"proj{j}.weight"]
        # sPyNNaker's host path: rint(|w| * 2**(15 - shift)) must give back w16 (exactly: w is w16 / 2**k)
        np.testing.assert_array_equal(np.abs(w) * 2.0 ** (15 - shift), p.params["w16"])
        assert np.all(w <= 0) if p.params["receptor"] == "inhibitory" else np.all(w >= 0)
        np.testing.assert_array_equal(np.rint(arrays[f"proj{j}.delay"] / tick), p.params["delays"])
    # input spikes: SpikeSourceArray puts t ms at tick ceil(floor(t * 1000) / dt_us)
    for i, p in enumerate(net["populations"]):
        if p["model"] == "SpikeSourceArray":
            times = bundle_run.spike_times(net, arrays, i, 1)
            x = _inputs(prog)["input"][1]
            for n, ts in enumerate(times or [[]] * p["size"]):
                ticks = [int(np.ceil(np.floor(t * 1000) / round(tick * 1000))) for t in ts]
                assert ticks == list(np.nonzero(x[:, n])[0]), (seed, n)


def test_bundle_files_manifest_and_golden(tmp_path):
    prog = random_program(4)
    x = _inputs(prog)
    rep = emit.emit_bundle(prog, tmp_path / "b", x)
    d = tmp_path / "b"
    for name in ("run.py", "network.npz", "spynnaker.cfg", "manifest.json", "README.md"):
        assert (d / name).is_file(), name
    man = json.loads((d / "manifest.json").read_text())
    assert man["requires"]["spynnaker"] == "1!7.4.1"
    assert man["tick_ms"] == prog.semantics["tick_ms"] and man["ebrains"]["command"] == "run.py {system}"
    for name, digest in man["files"].items():
        assert hashlib.sha256((d / name).read_bytes()).hexdigest() == digest, name
    for name, pop in prog.populations.items():
        if pop.kind != "spike_source":
            assert man["populations"][name]["ring_buffer_shifts"] == list(pop.params["ring_buffer_shifts"])
    assert "virtual_board = True" in (d / "spynnaker.cfg").read_text()
    # golden.npz is the emulator's spikes for the same inputs
    if rep.golden_backend is None:
        pytest.skip(f"emulator cannot run spinnaker Programs here: {rep.golden_note}")
    res = prog.run(x, backend="emulator", record=[("h", "spikes")])
    with np.load(d / "golden.npz") as g:
        np.testing.assert_array_equal(g["h.spikes"], res.recordings["h.spikes"])
        assert g["h.spikes"].shape[:2] == (2, 30)


def test_run_py_is_standalone():
    """run.py imports only the standard library, numpy and PyNN (never neurocompile)."""
    tree = ast.parse(Path(bundle_run.__file__).read_text())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0])
    assert mods <= {"argparse", "importlib", "json", "sys", "numpy", "pyNN"}, mods


def test_emit_cli_spinnaker(tmp_path):
    from typer.testing import CliRunner

    import neurocompile.cli.commands  # noqa: F401  (registers the commands)
    from neurocompile.cli.main import app

    prog = random_program(6)
    prog.save(tmp_path / "p.ncp")
    res = CliRunner().invoke(
        app, ["emit", str(tmp_path / "p.ncp"), "-o", str(tmp_path / "out"), "--steps", "12"]
    )
    assert res.exit_code == 0, res.output
    assert "PyNN/sPyNNaker bundle" in res.output
    net, _ = bundle_run.load_network(tmp_path / "out" / "network.npz")
    assert net["n_steps"] == 12 and net["n_samples"] == 1


def test_unsupported_programs_are_refused_with_the_population_named():
    # a per-neuron cell parameter is no longer refused: it becomes a PyNN per-neuron array
    # (issue 10 item 4; tests/test_per_neuron.py reads it back from sPyNNaker)
    prog = random_program(1)
    cm = np.linspace(0.5, 1.0, prog.populations["h"].size)
    prog.populations["h"].params["cm"] = cm
    net, arrays = emit.network_arrays(prog)
    k = list(prog.populations).index("h")
    if cm.size > 1:
        assert "cm" in net["populations"][k]["arrays"] and "cm" not in net["populations"][k]["params"]
        assert np.array_equal(arrays[f"pop{k}.cm"], cm)
    with pytest.raises(UnsupportedError, match="target"):
        emit.network_arrays(Program(target="loihi2"))
    prog = random_program(1)
    prog.projections["src_h_exc"].params["delays"][0] = 0
    with pytest.raises(NeurocompileError, match="src_h_exc.*delays"):
        emit.network_arrays(prog)


def test_readback_check_detects_a_wrong_weight_delay_or_shift():
    """The board's comparison is not vacuous: one changed LSB, delay or shift is reported."""
    progs = [random_program(2)]
    net, arrays = board.merged_network(progs, [None], None)
    rb = {k: v.copy() for k, v in arrays.items() if k.split(".")[-1] in ("pre", "post", "weight", "delay")}
    for k, p in enumerate(net["populations"]):
        if "ring_buffer_shifts" in p:
            rb[f"pop{k}.ring_buffer_shifts"] = np.array(p["ring_buffer_shifts"])
    pc, sc = board._check_readback(progs, net, arrays, rb)
    assert all(c.ok for c in pc) and all(c.ok for c in sc)
    scale = emit.weight_scale(net["projections"][0]["shift"])
    bad = dict(rb, **{"proj0.weight": rb["proj0.weight"] + np.eye(1, rb["proj0.weight"].size)[0] / scale})
    assert board._check_readback(progs, net, arrays, bad)[0][0].weight_mismatches == 1
    bad = dict(rb, **{"proj1.delay": rb["proj1.delay"] + net["tick_ms"]})
    assert board._check_readback(progs, net, arrays, bad)[0][1].delay_mismatches == rb["proj1.delay"].size
    k = next(k for k, p in enumerate(net["populations"]) if "ring_buffer_shifts" in p)
    bad = dict(rb, **{f"pop{k}.ring_buffer_shifts": rb[f"pop{k}.ring_buffer_shifts"] + 1})
    assert not board._check_readback(progs, net, arrays, bad)[1][0].ok


# ------------------------------------------------------------------ with sPyNNaker
def _run_bundle(d: Path, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".spynnaker.cfg").write_text("[Machine]\n")
    python = board.spinnaker_python()
    return subprocess.run(
        [python, "run.py", *args],
        cwd=d,
        env=board.private_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _readback_matches(d: Path) -> None:
    net, arrays = bundle_run.load_network(d / "network.npz")
    with np.load(d / "readback.npz") as f:
        rb = {k: f[k] for k in f.files}
    for j, q in enumerate(net["projections"]):
        want = np.stack([arrays[f"proj{j}.pre"], arrays[f"proj{j}.post"], arrays[f"proj{j}.w16"]])
        got = np.stack(
            [
                rb[f"proj{j}.pre"],
                rb[f"proj{j}.post"],
                np.rint(np.abs(rb[f"proj{j}.weight"]) * emit.weight_scale(q["shift"])).astype(np.int64),
            ]
        )
        np.testing.assert_array_equal(
            want[:, np.lexsort(want[::-1])], got[:, np.lexsort(got[::-1])], err_msg=q["label"]
        )
    for k, p in enumerate(net["populations"]):
        if "ring_buffer_shifts" in p:
            assert list(rb[f"pop{k}.ring_buffer_shifts"]) == p["ring_buffer_shifts"], p["label"]


@pytest.mark.spinnaker
@pytest.mark.skipif(not board.spinnaker_available(), reason="sPyNNaker 1!7.4.1 not installed")
@pytest.mark.parametrize("style", [[], ["spiNNaker"]], ids=["import-pyNN.spiNNaker", "ebrains-run.py-system"])
def test_emitted_bundle_maps_on_a_virtual_board_unchanged(tmp_path, style):
    prog = random_program(11)
    d = tmp_path / "bundle"
    emit.emit_bundle(prog, d, _inputs(prog, batch=1))
    proc = _run_bundle(d, style + ["--readback"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "run.py:" in proc.stdout and (d / "results.npz").is_file()
    _readback_matches(d)
    with np.load(d / "results.npz") as f:  # a virtual board runs nothing: no spikes
        assert sum(int(f[k].sum()) for k in f.files if k.endswith(".spikes")) == 0


def test_generated_inputs_take_the_populations_shape(tmp_path):
    """Without --input the bundle's generated spikes have the input's (batch, time, *shape), so the
    emulator makes golden spikes for a conv model too (a flat (1, steps, size) array did not run)."""
    import bad_models as B

    import neurocompile

    g = B.conv_graph()
    for k in ("pool", "flat"):
        del g["nodes"][k]
    g["nodes"]["out"]["shape"] = np.array([4, 8, 8])
    g["edges"] = [("in", "conv"), ("conv", "spk"), ("spk", "out")]
    path = B.write_nir(tmp_path / "conv.nir", g)
    prog = neurocompile.compile(path, target="spinnaker", dt=1.0)
    assert len(next(iter(prog.populations[p] for p in prog.inputs.values())).shape) == 3
    rep = emit.emit_bundle(prog, tmp_path / "bundle", steps=20)
    assert rep.golden_backend is not None, rep.golden_note
    assert rep.samples == 1 and rep.steps == 20
