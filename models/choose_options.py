"""Choose every zoo model's compile options on the validation split, never on the test set.

``python -m neurocompile.models.choose_options [--write] [--models a,b]`` compiles each zoo model
for each chip target under every candidate in ``CANDIDATES``, runs the float reference and each
candidate's Program (the target's bit-exact emulator) on the validation split
(:func:`neurocompile.models._digits.validation_split`: the last ``N_VALIDATION`` samples of the
training part, encoded as the model's test set is), picks one candidate per target by ``RULE``
and, with ``--write``, writes ``models/<name>/options.json``: the chosen options and every
candidate's validation figures. ``models/accuracy.py`` compiles with the chosen options and
evaluates the test set once, for ``docs/accuracy.md``.

The model measured is the hold-out twin ``models/<name>/holdout.nir`` (the model's ``train.py
--hold-out-validation``: the same training without the validation images, card
``holdout_card.json``), so the validation figures are held-out figures; the bundled model (the
same script on the whole training part) is then compiled with the chosen options, the usual
refit after a choice on validation. Without a twin the bundled model is measured
(``held_out_from_training`` false in the file).

The candidates are the compile options that exist for these models (nothing else in
``nc.compile`` changes the Programs' scales):

* ``calibration``: ``False`` (worst-case ranges) or ``True`` (observed ranges of
  ``accuracy.CALIBRATION_N`` training images outside the validation split); both targets.
* ``ring_buffer_shifts`` (spinnaker only): ``"worst-case"`` (default) or ``"host"`` (sPyNNaker's
  statistical rule).

Not candidates: spinnaker's ``forward_tau="nominal"`` (a knowingly inexact time-constant
conversion kept for comparison, finding ``spinnaker-forward-tau``) and ``tick_ms`` (the
real-time length of a step, not a scale); ``reset`` is fixed by the model (``accuracy.chip_reset``).

The rule (``RULE``; fixed, with the candidates and their order, before this module first ran):
for each model and target, the candidate with

1. the fewest validation samples whose predicted class differs from the float reference's
   (the Program should compute what the trained model computes);
2. then the smallest ``|emulator accuracy - float reference accuracy|`` on validation;
3. then the simpler one: the earlier in ``CANDIDATES[target]`` (defaults first: no calibration,
   worst-case shifts).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurocompile.models import ZOO_DIR, list_models, predict, reference_semantics
from neurocompile.models import accuracy as A

#: candidate compile options per target, simplest first (the order is the last tie-break).
CANDIDATES: dict[str, tuple[dict[str, Any], ...]] = {
    "loihi2": ({"calibration": False}, {"calibration": True}),
    "spinnaker": (
        {"calibration": False, "ring_buffer_shifts": "worst-case"},
        {"calibration": True, "ring_buffer_shifts": "worst-case"},
        {"calibration": False, "ring_buffer_shifts": "host"},
        {"calibration": True, "ring_buffer_shifts": "host"},
    ),
}
RULE = (
    "fewest validation samples classified differently from the float reference, then the smallest "
    "|emulator - float reference| validation accuracy, then the simpler candidate (earlier in "
    "models/choose_options.py CANDIDATES: no calibration, worst-case ring-buffer shifts first)"
)
GENERATED_BY = "python -m neurocompile.models.choose_options --write"


def options_path(name: str) -> Path:
    return ZOO_DIR / name / "options.json"


def holdout_path(name: str) -> Path:
    """The hold-out twin's graph (``train.py --hold-out-validation``)."""
    return ZOO_DIR / name / "holdout.nir"


def holdout_card(name: str) -> dict[str, Any] | None:
    p = ZOO_DIR / name / "holdout_card.json"
    return json.loads(p.read_text()) if p.exists() else None


def pick(candidates: Sequence[dict[str, Any]], float_correct: int) -> int:
    """Index of the chosen candidate by ``RULE``: each candidate has ``disagreements`` and
    ``correct`` (validation counts); ``float_correct`` is the float reference's count."""
    return min(
        range(len(candidates)),
        key=lambda i: (
            candidates[i]["disagreements"],
            abs(candidates[i]["correct"] - float_correct),
            i,
        ),
    )


def validation_inputs(name: str, graph) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The validation split as the float reference gets it (encoded as the bundled test set),
    and its labels."""
    from neurocompile.models._digits import validation_split

    _, _, xval, yval = validation_split()
    return A.reference_inputs(name, graph, xval), yval


def measure(name: str) -> dict[str, Any]:
    """Every candidate's validation figures for ``name`` and the choice: the ``options.json``
    document."""
    import neurocompile as nc
    from neurocompile.models._digits import N_VALIDATION
    from neurocompile.target import run_program

    twin = holdout_card(name)
    held_out = bool(twin and twin["train"].get("validation_held_out") and holdout_path(name).exists())
    model = holdout_path(name) if held_out else A.model_path(name)
    graph = nc.load(model)
    inputs, labels = validation_inputs(name, graph)
    sem = reference_semantics(name)
    ref = predict(nc.simulate(graph, inputs, **sem).outputs[graph.outputs[0]])
    chip_in = A.chip_inputs(name, graph, inputs)
    fchip = predict(A.float_chip_outputs(name, graph, chip_in))
    float_correct = int((ref == labels).sum())
    n = int(len(labels))
    targets: dict[str, Any] = {}
    for target in A.TARGETS:
        rows = []
        for cand in CANDIDATES[target]:
            prog = A.compile_for(name, target, cand, model=graph)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(next(iter(run_program(prog, chip_in).outputs.values())))
            pred = predict(out)
            correct = int((pred == labels).sum())
            rows.append(
                {
                    "options": dict(cand),
                    "correct": correct,
                    "disagreements": int((pred != ref).sum()),
                    "gap_pp": round(100.0 * (correct - float_correct) / n, 2),
                }
            )
        best = pick(rows, float_correct)
        targets[target] = {"chosen": dict(rows[best]["options"]), "candidates": rows}
    return {
        "model": name,
        "generated_by": GENERATED_BY,
        "rule": RULE,
        "validation": {
            "split": f"models/_digits.py validation_split(): the last {N_VALIDATION} samples of the "
            "training part (permutation seed SPLIT_SEED), encoded as the bundled test set",
            "n": n,
            "model": model.name,
            "held_out_from_training": held_out,
            "float_reference_correct": float_correct,
            "float_chip_correct": int((fchip == labels).sum()),
        },
        "targets": targets,
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2) + "\n"


def summary(doc: dict[str, Any]) -> str:
    """One line per target: the chosen options and the validation figures."""
    n = doc["validation"]["n"]
    fc = doc["validation"]["float_reference_correct"]
    lines = []
    for target, t in doc["targets"].items():
        cands = ", ".join(
            f"{A.option_label(c['options'])}: {c['correct']}/{n} "
            f"({c['gap_pp']:+.2f} pp, {c['disagreements']} differ)"
            for c in t["candidates"]
        )
        lines.append(f"{doc['model']} {target}: float {fc}/{n}; {cands} -> {A.option_label(t['chosen'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write models/<name>/options.json")
    ap.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    args = ap.parse_args(argv)
    names = args.models.split(",") if args.models else list_models()
    for name in names:
        doc = measure(name)
        sys.stdout.write(summary(doc) + "\n")
        sys.stdout.flush()
        if args.write:
            options_path(name).write_text(dumps(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
