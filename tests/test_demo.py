"""``neurocompile demo``: runs end to end on a few samples; table, files and exit codes.

The accuracy figures in the printed table are checked against independent computations: the
float reference through ``neurocompile.models.reference_accuracy`` (the zoo registry's own
path) and the emulator rows by loading the Programs the demo wrote and running them through
``neurocompile.targets.run_program`` on the labelled test samples.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from neurocompile.cli.main import main

pytest.importorskip("matplotlib")

MODEL = "digits_cnn_sinabs"
N = 10
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue()


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (after checking the signature)."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _pct(text: str, backend: str) -> list[str]:
    """The percentage cells of the table row that starts with ``backend``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] == backend:
            return [c for c in cells if c.endswith("%") or c == "-"]
    raise AssertionError(f"no table row {backend!r} in the demo output:\n{text}")


@pytest.fixture(scope="module")
def cnn_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    rc, text, err = _run(
        ["demo", "--model", MODEL, "--samples", str(N), "--lava-samples", "0", "--out", str(out)]
    )
    return rc, text, err, out


def test_demo_exit_code_and_steps(cnn_demo):
    rc, text, err, out = cnn_demo
    assert rc == 0, f"demo failed (rc {rc}):\n{text}\n{err}"
    for step in ("1. check", "2. compile", "3. run", "4. resources", "5. files"):
        assert step in text
    assert "loihi2 quantization" in text and "spinnaker quantization" in text
    assert "Lava skipped: --lava-samples 0" in text
    assert "ESTIMATED" in text


def test_demo_table_matches_independent_runs(cnn_demo):
    from neurocompile import models as zoo
    from neurocompile.program import Program
    from neurocompile.target import run_program

    rc, text, _, out = cnn_demo
    assert rc == 0
    inputs, labels = zoo.load_test_set(MODEL, N)
    ref_acc = zoo.reference_accuracy(MODEL, N)
    assert _pct(text, "float reference")[0] == f"{100 * ref_acc:.1f} %"
    for target, fidelity in (("loihi2", "lava-nc 0.10.0"), ("spinnaker", "sPyNNaker 1!7.4.1")):
        prog = Program.load(out / f"{target}.ncp")
        assert prog.target == target
        res = run_program(prog, inputs, backend="emulator")
        acc = float((zoo.predict(res.outputs[next(iter(prog.outputs))]) == labels).mean())
        assert _pct(text, f"{target} emulator")[0] == f"{100 * acc:.1f} %", target
        rows = {r["backend"]: r for r in json.loads((out / "results.json").read_text())["accuracy"]}
        assert rows[f"{target} emulator"]["fidelity"] == res.label().split("fidelity ", 1)[1]
        assert rows[f"{target} emulator"]["fidelity"].startswith(f"bit-exact vs {fidelity}")
    # the card's conventions are what the float row used; loihi2 cannot subtract, so it says so
    card = zoo.load_card(MODEL)
    if card["simulate"]["reset"] == "subtract":
        assert "compiled with reset=zero" in text


def test_demo_pngs_are_real_pictures(cnn_demo):
    rc, _, _, out = cnn_demo
    for name, min_w in (("raster.png", 600), ("placement.png", 600)):
        path = out / name
        assert path.is_file(), f"{name} missing"
        w, h = _png_size(path)
        assert w >= min_w and h >= 300, (name, w, h)
        assert path.stat().st_size > 20_000, f"{name} is suspiciously small ({path.stat().st_size} bytes)"
        assert str(path) in cnn_demo[1], "the demo does not say where it wrote the picture"


def test_demo_results_json(cnn_demo):
    from neurocompile import models as zoo

    _, _, _, out = cnn_demo
    res = json.loads((out / "results.json").read_text())
    assert res["model"]["name"] == MODEL and res["model"]["samples"] == N
    rows = {r["backend"]: r for r in res["accuracy"]}
    assert set(rows) >= {"float reference", "loihi2 emulator", "spinnaker emulator"}
    assert rows["float reference"]["agreement"] == 1.0
    assert res["lava"]["status"] == "skipped"
    # the placement totals agree with the Programs' own placement
    from neurocompile.program import Program

    for t in ("loihi2", "spinnaker"):
        pl = Program.load(out / f"{t}.ncp").placement
        assert res["resources"][t]["cores_used"] == pl["cores_used"]
        assert res["resources"][t]["chips"] == pl["chips"]
        neurons = sum(c["neurons"] for c in pl["cores"])
        assert sum(c["neurons"] for c in res["resources"][t]["cores"]) == neurons
    # the card's float accuracy is read from the registry, not restated: on N samples it is
    # whatever the float reference gives (checked above); the card value is only shown
    assert (
        zoo.load_card(MODEL)["accuracy"]["reference_float"]
        == res["model"]["card_accuracy"]["reference_float"]
    )


def test_demo_default_placeholder_model_without_lava(tmp_path, monkeypatch):
    """The foundation demo's model still runs (unlabelled: agreement with float only), and a
    missing Lava interpreter is said clearly and skipped, not a failure."""
    monkeypatch.setenv("NEUROCOMPILE_LAVA_PYTHON", str(tmp_path / "no-such-python"))
    rc, text, err = _run(["demo", "--model", "default", "--lava-samples", "1", "--out", str(tmp_path)])
    assert rc == 0, text + err
    assert "no labels: agreement only" in text
    assert _pct(text, "float reference") == ["-", "100.0 %"]
    assert (tmp_path / "raster.png").read_bytes()[:8] == PNG_MAGIC
    assert "Lava skipped" in text and "NEUROCOMPILE_LAVA_PYTHON" in text and "continuing without it" in text


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--model", "no_such_model"], "no bundled model"),
        (["--samples", "0"], "--samples"),
        (["--lava-samples", "-1"], "--lava-samples"),
    ],
    ids=["unknown-model", "zero-samples", "negative-lava"],
)
def test_demo_user_errors_are_one_line(tmp_path, args, needle):
    rc, text, err = _run(["demo", *args, "--out", str(tmp_path)])
    assert rc == 2
    assert needle in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_demo_lava_subset_identical_to_emulator(tmp_path):
    """With the Lava interpreter present, Lava runs the first K samples and matches the emulator."""
    from neurocompile.errors import BackendUnavailableError
    from neurocompile.targets.loihi2.run import lava_python

    try:
        lava_python()
    except BackendUnavailableError as exc:
        pytest.skip(f"no Lava interpreter: {exc}")
    rc, text, err = _run(
        ["demo", "--model", MODEL, "--samples", "4", "--lava-samples", "2", "--out", str(tmp_path)]
    )
    assert rc == 0, text + err
    assert "identical to the emulator on 2/2 samples" in text
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["lava"] == {**res["lava"], "status": "ran", "samples": 2, "identical": 2}
    assert re.search(r"Lava \(first 2\)", text)
    assert os.path.getsize(tmp_path / "loihi2.ncp") > 0
    assert np.isfinite(res["seconds"])


def test_docs_index_links_every_page():
    """docs/index.md links every page under docs/ (a new page must be added to the index)."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    index = (docs / "index.md").read_text()
    linked = set(re.findall(r"\]\(([^)#]+\.md)\)", index))
    pages = {str(p.relative_to(docs)) for p in docs.rglob("*.md")} - {"index.md"}
    missing = sorted(pages - linked)
    assert not missing, f"docs/index.md does not link: {missing}"
    for must in ("getting-started.md", "fidelity.md"):
        assert must in linked
