"""The zoo's compile options are chosen on a validation split of the training data, by the rule of
models/choose_options.py, and docs/accuracy.md's test-set table uses them.

Independent facts: the validation split is a slice of ``split()``'s training part (so disjoint
from the test set by construction, checked here on the arrays); the bundled test.npz files were
written by the training scripts, so encoding the test images with ``reference_inputs`` and
getting them back checks that the validation images are encoded as the test set is. The hold-out
twins' cards (written by their training scripts) say what they were trained on. The slow test
recomputes every options.json from the twins (validation figures included).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.models import accuracy as A
from neurocompile.models import choose_options as C
from neurocompile.models import list_models, load_card, load_options, load_test_set, model_path
from neurocompile.models._digits import N_TEST, N_VALIDATION, split, validation_split

MODELS = [
    "digits_cnn_sinabs",
    "digits_mlp_onnx",
    "digits_rnn_norse",
    "digits_mlp_snntorch",
    "digits_rockpool",
]


def test_validation_split_is_the_end_of_the_training_part():
    xtr, ytr, xte, _ = split()
    xfit, yfit, xval, yval = validation_split()
    assert len(xval) == len(yval) == N_VALIDATION and len(xte) == N_TEST
    assert np.array_equal(np.concatenate([xfit, xval]), xtr) and np.array_equal(
        np.concatenate([yfit, yval]), ytr
    )
    assert len(xfit) >= A.CALIBRATION_N  # calibration = the first CALIBRATION_N of xfit, not validation
    assert set(np.unique(yval)) == set(range(10))


@pytest.mark.parametrize("name", MODELS)
def test_validation_is_encoded_as_the_bundled_test_set(name):
    graph = nc.load(model_path(name))
    mine = A.reference_inputs(name, graph, split()[2])
    bundled, labels = load_test_set(name)
    assert np.array_equal(labels, split()[3])
    assert list(mine) == list(bundled)
    for key in bundled:
        assert np.array_equal(mine[key], bundled[key]), key


@pytest.mark.parametrize("name", MODELS)
def test_holdout_twin_is_the_same_network_trained_without_validation(name):
    twin = C.holdout_card(name)
    assert twin is not None and C.holdout_path(name).exists(), f"{name}: train.py --hold-out-validation"
    assert twin["train"]["validation_held_out"] is True
    assert twin["train"]["data"].startswith(f"{len(validation_split()[0])} images")
    assert twin["simulate"] == load_card(name)["simulate"] and twin["encoding"] == load_card(name)["encoding"]
    a, b = nc.load(model_path(name)), nc.load(C.holdout_path(name))
    assert (a.inputs, a.outputs, sorted(a.edges)) == (b.inputs, b.outputs, sorted(b.edges))
    for key, node in a.nodes.items():
        assert node.kind == b.nodes[key].kind
        for p, v in node.params.items():
            assert np.shape(v) == np.shape(b.nodes[key].params[p]), (key, p)
    assert load_options(name)["validation"]["held_out_from_training"] is True


def test_pick_follows_the_rule():
    def c(correct, disagreements):
        return {"correct": correct, "disagreements": disagreements}

    # 1. fewest disagreements wins even against a smaller accuracy gap
    assert C.pick([c(300, 9), c(310, 4)], 300) == 1
    # 2. equal disagreements: smallest |gap| (above or below the float count)
    assert C.pick([c(296, 5), c(302, 5)], 300) == 1
    assert C.pick([c(303, 5), c(298, 5)], 300) == 1
    # 3. a full tie: the earlier (simpler) candidate
    assert C.pick([c(298, 5), c(302, 5), c(298, 5)], 300) == 0
    assert C.pick([c(1, 7), c(2, 3), c(2, 3)], 2) == 1


@pytest.mark.parametrize("name", MODELS)
def test_options_file_is_consistent_with_the_rule(name):
    doc = load_options(name)
    assert doc["model"] == name and doc["rule"] == C.RULE and doc["generated_by"] == C.GENERATED_BY
    assert doc["validation"]["n"] == N_VALIDATION
    assert list(doc["targets"]) == list(A.TARGETS)
    fc = doc["validation"]["float_reference_correct"]
    for target, t in doc["targets"].items():
        assert [c["options"] for c in t["candidates"]] == list(C.CANDIDATES[target])
        assert t["chosen"] == t["candidates"][C.pick(t["candidates"], fc)]["options"]
        assert A.chosen_options(name, target) == t["chosen"]


def test_compile_for_uses_the_chosen_options():
    name = "digits_rnn_norse"  # the quickest to compile
    for target in A.TARGETS:
        chosen = A.chosen_options(name, target)
        opts = A.compile_for(name, target).provenance["options"]
        assert (opts["calibration"] == "<inputs>") == bool(chosen["calibration"]), (target, opts)
        for key, value in chosen.items():
            if key != "calibration":
                assert opts[key] == value, (target, key, opts)


def test_accuracy_doc_shows_the_stored_choices():
    text = (Path(__file__).resolve().parents[1] / "docs" / "accuracy.md").read_text()
    section = "\n".join(A.render_options(list_models()))
    assert section in text, "docs/accuracy.md's options section is stale (regenerate with models/accuracy.py)"


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_options_json_is_what_the_script_produces(name):
    stored = json.loads(C.options_path(name).read_text())
    assert C.measure(name) == stored, f"{name}: regenerate with {C.GENERATED_BY}"
