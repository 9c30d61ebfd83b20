"""``inspect`` (``neurocompile/summary.py``, ``cli/inspect_cmd.py``): the ``.npz`` keys and shapes it
prints are the ones ``simulate`` / ``Program.run`` accept (zeros of exactly those shapes are fed
and the outputs come back with the printed shapes), on every zoo model, a NIR paper graph and a
compiled Program of every target; text fits 80 columns under ``COLUMNS=80``; ``--json`` parses;
``repr(Program)`` is one line; bad files are refused like ``check`` / ``report`` refuse them."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocompile
from neurocompile.cli.main import main
from neurocompile.ir import Graph, Node
from neurocompile.models import list_models, load_card, model_path
from neurocompile.program import Program
from neurocompile.summary import SCHEMA_VERSION, io_line, summarize, summarize_model, summarize_program
from neurocompile.target import get_target, target_names

ZOO = list_models()
BATCH, STEPS = 2, 3


def _cli(capsys, monkeypatch, *argv: str, columns: int = 80) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", str(columns))
    capsys.readouterr()
    rc = main(["inspect", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _zeros(ports: list[dict]) -> dict[str, np.ndarray]:
    return {p["key"]: np.zeros((BATCH, STEPS, *p["shape"])) for p in ports}


def _assert_fits(text: str, width: int = 80) -> None:
    wide = [ln for ln in text.splitlines() if len(ln) > width]
    assert not wide, f"{len(wide)} line(s) wider than {width}: {wide[:3]}"


def _simulate_zoo(name: str, path, inputs):
    sim = load_card(name)["simulate"]
    reset = "subtract" if neurocompile.load(path).legacy_reset else sim["reset"]
    return neurocompile.simulate(
        neurocompile.load(path),
        inputs,
        dt=sim["dt"],
        discretization=sim["discretization"],
        reset=reset,
        hop_delay=sim["hop_delay"],
    )


# ------------------------------------------------------------------------------ models
@pytest.mark.parametrize("name", ZOO)
def test_zoo_keys_and_shapes_are_what_simulate_accepts(name, capsys, monkeypatch):
    path = model_path(name)
    rc, out, err = _cli(capsys, monkeypatch, str(path), "--json")
    assert rc == 0 and err == ""
    doc = json.loads(out)
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "model"
    assert doc["dt"] == pytest.approx(load_card(name)["dt"]) and doc["dt_source"] == "file"
    graph = neurocompile.load(path)
    assert [p["key"] for p in doc["inputs"]] == graph.inputs
    assert [p["key"] for p in doc["outputs"]] == graph.outputs
    assert [r["name"] for r in doc["layers"]] == neurocompile.reference.execution_order(graph, 0)[0]
    assert doc["neurons"] == sum(int(np.prod(n.output_shape)) for n in graph.neurons())
    # the bundled test set has exactly these keys and trailing shapes
    with np.load(path.parent / "test.npz") as f:
        for p in doc["inputs"]:
            assert f[p["key"]].shape[2:] == tuple(p["shape"])
    res = _simulate_zoo(name, path, _zeros(doc["inputs"]))
    assert {k: v.shape for k, v in res.outputs.items()} == {
        p["key"]: (BATCH, STEPS, *p["shape"]) for p in doc["outputs"]
    }
    # text: the same keys and shapes, 80 columns wide
    rc, text, _ = _cli(capsys, monkeypatch, str(path))
    assert rc == 0
    _assert_fits(text)
    for p in doc["inputs"] + doc["outputs"]:
        shape = ", ".join(["batch", "time", *map(str, p["shape"])])
        assert f"({shape})" in text and p["key"] in text
    for r in doc["layers"]:
        assert r["name"] in text


def test_onnx_model_and_narrow_terminal(capsys, monkeypatch):
    path = model_path("digits_mlp_onnx", "onnx")
    rc, out, _ = _cli(capsys, monkeypatch, str(path), "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["conventions"]["framework"] == "onnx"
    res = neurocompile.simulate(neurocompile.load(path), _zeros(doc["inputs"]), reset="subtract")
    assert res.outputs["output"].shape == (BATCH, STEPS, *doc["outputs"][0]["shape"])
    for columns in (80, 60):
        rc, text, _ = _cli(capsys, monkeypatch, str(path), columns=columns)
        assert rc == 0 and "framework=onnx" in " ".join(text.split())
        _assert_fits(text, columns)


def test_paper_graph(paper_data, capsys, monkeypatch):
    path = paper_data / "02_cnn" / "cnn_sinabs.nir"
    rc, out, _ = _cli(capsys, monkeypatch, str(path), "--json", "--dt", "1")
    assert rc == 0
    doc = json.loads(out)
    assert doc["dt"] == 1.0 and doc["dt_source"] == "--dt"
    assert doc["nir_version"] and doc["legacy_reset"]  # a paper-era file: no v_reset
    res = neurocompile.simulate(neurocompile.load(path), _zeros(doc["inputs"]), dt=1.0, reset="subtract")
    assert {k: v.shape for k, v in res.outputs.items()} == {
        p["key"]: (BATCH, STEPS, *p["shape"]) for p in doc["outputs"]
    }
    rc, text, _ = _cli(capsys, monkeypatch, str(path))
    assert rc == 0 and "dt not stored (pass --dt)" in " ".join(text.split())
    _assert_fits(text)


def test_parameter_summaries():
    w = np.array([[0.5, -0.8, 0.1], [0.0, 0.2, 0.3]])
    nodes = {
        "in": Node("in", "Input", {"shape": (3,)}),
        "fc": Node("fc", "Affine", {"weight": w, "bias": np.array([0.0, 0.25])}),
        "lif": Node(
            "lif",
            "LIF",
            {
                "tau": np.full(2, 0.02),
                "r": np.ones(2),
                "v_leak": np.zeros(2),
                "v_threshold": np.array([1.0, 1.5]),
                "v_reset": np.zeros(2),
            },
        ),
        "out": Node("out", "Output", {"shape": (2,)}),
    }
    graph = neurocompile.load(Graph(nodes, [("in", "fc"), ("fc", "lif"), ("lif", "out")]))
    s = summarize_model(graph, dt=0.001)
    rows = {r.name: r for r in s.layers}
    assert rows["fc"].params == ("weight 2x3, |w| max 0.8", "bias 0..0.25")
    assert "tau 0.02 = 20 dt" in rows["lif"].params and "v_threshold 1..1.5" in rows["lif"].params
    assert rows["lif"].neurons == 2 and s.neurons == 2 and s.values == 6 + 2 + 5 * 2
    assert io_line(s.inputs, s.outputs) == "inputs: in (batch, time, 3); outputs: out (batch, time, 2)"
    assert s.outputs[0].carries == "spikes"
    assert summarize_model(graph).dt is None and "tau 0.02;" in summarize_model(graph).to_text(200)


# ------------------------------------------------------------------------------ Programs
@pytest.fixture(scope="module")
def programs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inspect_programs")
    graph = neurocompile.load(model_path("digits_rnn_norse"))
    out = {}
    for name in target_names():
        out[name] = d / f"{name}.ncp"
        neurocompile.compile(graph, target=name, dt=graph.metadata_dt()).save(out[name])
    return out


@pytest.mark.parametrize("target", target_names())
def test_program_keys_and_shapes_are_what_run_accepts(target, programs, capsys, monkeypatch):
    rc, out, err = _cli(capsys, monkeypatch, str(programs[target]), "--json")
    assert rc == 0 and err == ""
    doc = json.loads(out)
    prog = Program.load(programs[target])
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "program" and doc["target"] == target
    assert [p["name"] for p in doc["populations"]] == list(prog.populations)
    assert [p["name"] for p in doc["projections"]] == list(prog.projections)
    assert doc["semantics"]["dt"] == prog.semantics["dt"]
    assert doc["placement"]["source"] == "program"
    assert doc["placement"]["cores_used"] == prog.placement["cores_used"]
    assert sum(p["cores"] for p in doc["populations"]) == len(prog.placement["cores"])
    if "emulator" not in get_target(target).backends:
        pytest.skip(f"{target} has no emulator backend to feed the inputs to")
    res = prog.run(_zeros(doc["inputs"]), backend="emulator")
    assert {k: v.shape for k, v in res.outputs.items()} == {
        p["key"]: (BATCH, STEPS, *p["shape"]) for p in doc["outputs"]
    }
    rc, text, _ = _cli(capsys, monkeypatch, str(programs[target]))
    assert rc == 0
    _assert_fits(text)
    assert str(prog) == summarize_program(prog).to_text()
    assert text.rstrip("\n") == summarize_program(prog, source=str(programs[target])).to_text(80)
    for p in prog.populations:
        assert p in text


def test_repr_is_one_line(programs):
    prog = Program.load(programs[target_names()[0]])
    r = repr(prog)
    assert r == (
        f"Program(target={prog.target!r}, populations={len(prog.populations)}, "
        f"projections={len(prog.projections)}, inputs={list(prog.inputs)}, outputs={list(prog.outputs)})"
    )
    assert "\n" not in r and len(r) < 200


def test_unplaced_program_is_placed_without_writing(programs):
    prog = Program.load(programs[target_names()[0]])
    stored = prog.placement["cores_used"]
    prog.placement = {}
    s = summarize(prog)
    assert s.placement_source == "computed" and s.cores_used == stored
    assert prog.placement == {}


def test_check_prints_the_io_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["check", str(model_path("digits_cnn_sinabs"))]) == 0
    out = capsys.readouterr().out
    assert ".npz inputs: input (batch, time, 1, 8, 8); outputs: output (batch, time, 10)" in out


def test_report_prints_the_io_line(programs, capsys, monkeypatch):
    capsys.readouterr()
    for target, p in programs.items():
        assert main(["report", str(p)]) == 0
        out = capsys.readouterr().out
        assert ".npz inputs: input (batch, time, 8); outputs: output (batch, time, 10)" in out, target


# ------------------------------------------------------------------------------ bad input
def test_dt_with_a_program_and_a_missing_file_are_one_line(programs, capsys, monkeypatch):
    rc, out, err = _cli(capsys, monkeypatch, str(programs[target_names()[0]]), "--dt", "1")
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and "--dt" in err
    rc, out, err = _cli(capsys, monkeypatch, "no-such-model.nir")
    assert rc == 2 and len(err.splitlines()) == 1 and "not found" in err
    rc, out, err = _cli(capsys, monkeypatch, str(model_path("digits_rnn_norse")), "--dt", "-1")
    assert rc == 2 and len(err.splitlines()) == 1 and "dt" in err


sys.path.insert(0, str(Path(__file__).resolve().parent))
import bad_inputs as bi  # noqa: E402


def _inspect_cases() -> list:
    """The bad-input corpus's model and Program files (``check M`` / ``report P`` cases), inspected:
    a tampered Program is refused as ``report`` refuses it; a bad model is refused or summarised
    (``survive``: exit 0 is fine for a readable graph with findings), never a traceback."""
    out = []
    for c in bi.CASES:
        if len(c.argv) == 2 and c.argv[0] in ("check", "report"):
            expect = "refuse" if c.argv[0] == "report" else "survive"
            out.append(dataclasses.replace(c, command="inspect", argv=["inspect", c.argv[1]], expect=expect))
    return out


INSPECT_CASES = _inspect_cases()


def test_the_derived_corpus_is_not_empty():
    assert sum(c.expect == "refuse" for c in INSPECT_CASES) >= 50
    assert sum(c.expect == "survive" for c in INSPECT_CASES) >= 20


@pytest.mark.parametrize("case", INSPECT_CASES, ids=[c.id for c in INSPECT_CASES])
def test_bad_files_are_refused_cleanly(case):
    r = bi.run_case(case)
    assert r.outcome == "ok", f"{case.id}: {r.outcome}, exit {r.rc}: {r.detail[-800:]} {r.stderr[-800:]!r}"
