"""docs/getting-started.md shows what its commands print now.

The slow test reruns every command of the walk-through (``models/walkthrough.py``: real
``neurocompile`` processes in a fresh folder, first 100 test samples) and requires the page's
generated blocks to equal their output exactly; it fails with the diff. The fast tests pin what
the script's rewriting and normalising promise: only the marked blocks change, every step has
its marker on the page, and machine paths and durations are taken out while figures stay.
"""

from __future__ import annotations

import difflib

import pytest

from neurocompile.models import walkthrough as W


@pytest.mark.slow
def test_page_matches_the_commands_output():
    old = W.DOC.read_text()
    new = W.render(old, W.run_steps())
    if new != old:
        diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "committed", "now"))
        pytest.fail(f"{W.DOC.name} is stale (regenerate: python -m neurocompile.models.walkthrough):\n{diff}")


def test_every_step_has_one_block_on_the_page():
    doc = W.DOC.read_text()
    blocks = {s.name: f"$ {s.name}\n" for s in W.STEPS}
    new = W.render(doc, blocks)  # raises on a missing, unknown or repeated marker
    for step in W.STEPS:
        assert f"{W.BEGIN.format(name=step.name)}\n```\n$ {step.name}\n```\n{W.END}" in new
    assert [s.name for s in W.STEPS][:3] == ["setup", "inspect", "check"]


def test_render_changes_only_the_marked_blocks():
    doc = (
        "# Title\n\nprose 1546 neurons\n\n"
        "<!-- walkthrough:a -->\n```\nstale\n```\n<!-- /walkthrough -->\n\nmiddle prose\n"
        "<!-- walkthrough:b -->\n<!-- /walkthrough -->\ntail\n"
    )
    new = W.render(doc, {"a": "$ one\nout 1\n", "b": "$ two\n"})
    assert new == (
        "# Title\n\nprose 1546 neurons\n\n"
        "<!-- walkthrough:a -->\n```\n$ one\nout 1\n```\n<!-- /walkthrough -->\n\nmiddle prose\n"
        "<!-- walkthrough:b -->\n```\n$ two\n```\n<!-- /walkthrough -->\ntail\n"
    )
    assert W.render(new, {"a": "$ one\nout 1\n", "b": "$ two\n"}) == new
    with pytest.raises(ValueError, match="missing \\['c'\\]"):
        W.render(doc, {"a": "x\n", "b": "y\n", "c": "z\n"})
    with pytest.raises(ValueError, match="unknown \\['b'\\]"):
        W.render(doc, {"a": "x\n"})
    with pytest.raises(ValueError, match="repeated \\['a'\\]"):
        W.render(doc + "<!-- walkthrough:a -->\n<!-- /walkthrough -->\n", {"a": "x\n", "b": "y\n"})


def test_normalise_takes_out_the_machine_and_keeps_the_figures():
    work, repo = "/scratch/walkthrough-x1y2", "/home/me/neurocompile"
    text = (
        f"wrote {work}/out/cnn.loihi2.ncp from {repo}/models/digits_cnn_sinabs/model.nir   \n"
        "compile 5.1 s, run 12s, Lava 0:00:52; 360 sample(s) x 24 steps, 0.1 ms tick, 7 cores\n"
        f"run: {repo}/.venv-lava/bin/python out/bundle_loihi2/run.py --check"
    )
    assert W.normalise(text, [work, repo]) == (
        "wrote out/cnn.loihi2.ncp from models/digits_cnn_sinabs/model.nir\n"
        "compile <t>, run <t>, Lava <t>; 360 sample(s) x 24 steps, 0.1 ms tick, 7 cores\n"
        "run: <lava python> out/bundle_loihi2/run.py --check"
    )
