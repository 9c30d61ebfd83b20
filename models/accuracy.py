"""Accuracy of every zoo model: float reference vs the quantized Loihi 2 and SpiNNaker programs.

``python -m neurocompile.models.accuracy [--write docs/accuracy.md] [--no-lava] [--models a,b]``
compiles each bundled model with :func:`neurocompile.compile` for ``loihi2`` and ``spinnaker``,
runs its whole bundled test set on the bit-exact emulator of each target, runs the first
``LAVA_N`` samples of the Loihi 2 program on Lava 0.10.0 (through the ``.venv-lava`` bridge when
Lava is not importable here) and renders the table of ``docs/accuracy.md``.

What the chips are given (the same for every model, recorded in each row):

* **reset**: the card's reset when it is an explicit ``v_reset`` (reset "file"); a model whose
  framework resets by subtraction (the ONNX conversion) is compiled with ``reset="zero"``,
  the explicit approximation (neither chip subtracts); the float column keeps subtraction.
* **input**: spikes as bundled. A model with analog input (the ONNX MLP: the pixel as a constant
  current every step) gets the regular rate code of that current instead
  (:func:`~neurocompile.models._digits.regular_rate`, what an integrate-and-fire encoder with
  threshold 1 emits): neither chip takes analog input (Loihi 2 graded spikes are integers,
  SpiNNaker's spike source is binary).
* **timing**: chips add one step per synaptic hop (``hop_delay=1``), so the output of the last
  input step appears ``H`` steps later (``H`` = neuron layers on the longest input->output path);
  the chip runs get ``H`` trailing silent steps (:func:`chip_inputs`). Readout: argmax of the
  output spike counts, as for the float reference.
* **compile options** (calibration or not; SpiNNaker's ring-buffer shifts): per model and target
  as ``models/<name>/options.json`` records them, chosen on the validation split by
  ``models/choose_options.py`` (never on the test set, which this module evaluates once, for the
  table). Calibration, where chosen, is ``CALIBRATION_N`` images of the training part without the
  validation split (:func:`calibration`), encoded like the test set (:func:`encode`).

Knowingly incomplete: SpiNNaker is the emulator's sPyNNaker 1!7.4.1 arithmetic, not a board run.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurocompile.models import (
    list_models,
    load_card,
    load_options,
    load_test_set,
    model_path,
    predict,
    reference_semantics,
)

#: samples of the Loihi 2 program also run on Lava (fresh network each; Lava is slow).
LAVA_N = 20
#: training images (the first of ``validation_split()``'s fit part) used as calibration data.
CALIBRATION_N = 200
#: the 1-percentage-point goal of issue 7.
GOAL_PP = 1.0
TARGETS = ("loihi2", "spinnaker")
DOC_HEADER = (
    "| model | encoding, T | reset on chips | float reference | float, chip input and timing | "
    "loihi2 emulator | spinnaker emulator | Lava (first 20) |"
)


@dataclass(frozen=True)
class AccuracyRow:
    """One model's figures (accuracies as fractions of the ``n_test`` samples)."""

    model: str
    encoding: str
    steps: int
    chip_steps: int
    reset: str
    n_test: int
    float_reference: float
    float_chip: float
    loihi2: float
    spinnaker: float
    lava_n: int
    lava_correct: int | None
    lava_identical: bool | None
    seconds: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cells(self) -> dict[str, str]:
        """The row's table cells by column key."""
        if self.lava_correct is None:
            lava = "not run"
        else:
            lava = f"{self.lava_correct}/{self.lava_n} " + (
                "(identical to the emulator)" if self.lava_identical else "(DIFFERS from the emulator)"
            )
        return {
            "model": f"`{self.model}`",
            "encoding": f"{self.encoding}, T = {self.steps} (+{self.chip_steps - self.steps} on chips)",
            "reset": self.reset,
            "float_reference": _pct(self.float_reference, self.n_test),
            "float_chip": _pct(self.float_chip, self.n_test),
            "loihi2": _pct(self.loihi2, self.n_test) + _delta(self.loihi2, self.float_reference),
            "spinnaker": _pct(self.spinnaker, self.n_test) + _delta(self.spinnaker, self.float_reference),
            "lava": lava,
        }


COLUMNS = ("model", "encoding", "reset", "float_reference", "float_chip", "loihi2", "spinnaker", "lava")


def _pct(acc: float, n: int) -> str:
    return f"{100 * acc:.2f} % ({round(acc * n)}/{n})"


def _delta(acc: float, ref: float) -> str:
    return f" [{100 * (acc - ref):+.2f} pp]"


# ----------------------------------------------------------------------------- inputs
def hops(graph) -> int:
    """Neuron nodes on the longest acyclic Input -> Output path (each costs one step on chips)."""
    from neurocompile.ir import NEURON_KINDS

    succ: dict[str, list[str]] = {}
    for s, d in graph.edges:
        succ.setdefault(s, []).append(d)
    best = 0

    def walk(node: str, depth: int, seen: frozenset) -> None:
        nonlocal best
        depth += graph.nodes[node].kind in NEURON_KINDS
        best = max(best, depth)
        for nxt in succ.get(node, []):
            if nxt not in seen:
                walk(nxt, depth, seen | {nxt})

    for name in graph.inputs:
        walk(name, 0, frozenset({name}))
    return best


def encode(name: str, images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) images in [0, 1] -> the model's chip input (spikes), as its card describes."""
    from neurocompile.models._digits import regular_rate, rows_regular

    enc = load_card(name)["encoding"]
    steps = int(enc["shape"][0])
    if enc["kind"] == "constant analog current":
        return regular_rate(images.reshape(len(images), -1), steps)
    fn = enc.get("function", "")
    if fn.endswith("rows_regular"):
        return rows_regular(images, int(enc["repeat"]), int(enc["blank"]))
    if fn.endswith("regular_rate"):
        return regular_rate(images.reshape((len(images),) + tuple(enc["shape"][1:])), steps)
    raise ValueError(f"{name}: no chip encoder for encoding {enc['kind']!r}")


def reference_inputs(name: str, graph, images: np.ndarray) -> dict[str, np.ndarray]:
    """(N, 8, 8) images in [0, 1] -> the float reference's input, encoded as the bundled test set
    is (analog input: the pixel as a constant current at every step; else :func:`encode`)."""
    card = load_card(name)
    if card["encoding"]["kind"] == "constant analog current":
        steps = int(card["encoding"]["shape"][0])
        x = np.repeat(images.reshape(len(images), 1, -1), steps, axis=1)
    else:
        x = encode(name, images)
    return {graph.inputs[0]: x.astype(np.float64)}


def chip_inputs(name: str, graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The bundled test inputs as the chips get them: spikes (analog input rate coded) plus
    ``hops(graph)`` trailing silent steps."""
    from neurocompile.models._digits import regular_rate

    card = load_card(name)
    pad = hops(graph)
    out = {}
    for key, x in inputs.items():
        if card["encoding"]["kind"] == "constant analog current":
            x = regular_rate(x[:, 0], x.shape[1]).astype(np.float64)
        z = np.zeros((x.shape[0], pad) + x.shape[2:], dtype=x.dtype)
        out[key] = np.concatenate([x, z], axis=1)
    return out


def chip_reset(name: str) -> str:
    """``"file"`` when the model resets to an explicit ``v_reset``, else ``"zero"``: the model's own
    reset to zero (snnTorch ``reset_mechanism="zero"``) or the explicit approximation of reset by
    subtraction (the ONNX conversion, rockpool's ``LIFTorch``)."""
    return "file" if reference_semantics(name).get("reset") == "file" else "zero"


def framework_of(name: str) -> str | None:
    """The training framework whose conventions the card's semantics apply (``simulate`` key
    ``framework``: snnTorch, rockpool), or None (the graph means what NIR says under the card's
    dt, discretization and reset)."""
    return reference_semantics(name).get("framework")


def float_chip_outputs(name: str, graph, chip_in: dict[str, np.ndarray]) -> np.ndarray:
    """The float reference with what the chips get: one step per hop, the chip reset. A framework
    model goes through the same translation as ``compile`` (its ``neurons`` form, the chip reset
    replacing the framework's), then NIR semantics."""
    import neurocompile as nc

    sem = reference_semantics(name)
    reset = chip_reset(name)
    fw = sem.get("framework")
    if fw is None:
        return nc.simulate(graph, chip_in, **dict(sem, hop_delay=1, reset=reset)).outputs[graph.outputs[0]]
    from neurocompile.frameworks import apply
    from neurocompile.reference import simulate

    disc = sem.get("discretization")
    tg, fsem, _ = apply(
        graph,
        fw,
        dt=sem.get("dt"),
        discretization=None if disc == "forward" else disc,
        reset=sem.get("reset", "file"),
        form="neurons",
    )
    if fw != "snntorch":
        fsem["reset"] = reset
    return simulate(tg, chip_in, **dict(fsem, hop_delay=1)).outputs[graph.outputs[0]]


def calibration(name: str) -> dict[str, np.ndarray]:
    """The first ``CALIBRATION_N`` images of the training part without the validation split,
    encoded as the chips get them."""
    import neurocompile as nc
    from neurocompile.models._digits import validation_split

    xfit = validation_split()[0][:CALIBRATION_N]
    graph = nc.load(model_path(name))
    return {graph.inputs[0]: encode(name, xfit).astype(np.float64)}


def chosen_options(name: str, target: str) -> dict[str, Any]:
    """The compile options chosen for ``name`` on ``target`` on the validation split
    (``models/<name>/options.json``, written by ``models/choose_options.py``)."""
    return dict(load_options(name)["targets"][target]["chosen"])


def compile_for(name: str, target: str, options: dict[str, Any] | None = None, *, model: Any = None):
    """The model's Program for ``target`` under the chip settings above and ``options``
    (default: :func:`chosen_options`): ``{"calibration": bool, **target options}``. ``model``:
    another graph with the same card (the hold-out twin); default the bundled ``model.nir``."""
    import neurocompile as nc

    opts = dict(chosen_options(name, target) if options is None else options)
    calibrated = bool(opts.pop("calibration", False))
    sem = reference_semantics(name)
    return nc.compile(
        model_path(name) if model is None else model,
        target,
        dt=sem.get("dt"),
        discretization=sem.get("discretization", "forward"),
        reset=chip_reset(name),
        calibration=calibration(name) if calibrated else None,
        framework=framework_of(name),
        **opts,
    )


# ----------------------------------------------------------------------------- evaluation
def evaluate(name: str, *, lava: bool = True, lava_n: int = LAVA_N) -> AccuracyRow:
    """All figures of one model (``lava=False``: the Lava cells are ``None``)."""
    import neurocompile as nc
    from neurocompile.target import run_program

    card = load_card(name)
    graph = nc.load(model_path(name))
    inputs, labels = load_test_set(name)
    sem = reference_semantics(name)
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    ref = nc.simulate(graph, inputs, **sem).outputs[graph.outputs[0]]
    float_ref = float((predict(ref) == labels).mean())
    chip_in = chip_inputs(name, graph, inputs)
    reset = chip_reset(name)
    fchip = float_chip_outputs(name, graph, chip_in)
    float_chip = float((predict(fchip) == labels).mean())
    secs["float"] = time.perf_counter() - t0
    acc: dict[str, float] = {}
    outs: dict[str, np.ndarray] = {}
    progs = {}
    for target in TARGETS:
        t0 = time.perf_counter()
        prog = compile_for(name, target)
        progs[target] = prog
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_program(prog, chip_in)
        outs[target] = np.asarray(next(iter(res.outputs.values())))
        acc[target] = float((predict(outs[target]) == labels).mean())
        secs[target] = time.perf_counter() - t0
    lava_correct = lava_identical = None
    if lava:
        t0 = time.perf_counter()
        lava_correct, lava_identical = lava_subset(
            name, lava_n, program=progs["loihi2"], emulator_outputs=outs["loihi2"][:lava_n]
        )
        secs["lava"] = time.perf_counter() - t0
    enc = card["encoding"]["kind"]
    if enc == "constant analog current":
        enc = "analog current (chips: regular rate code)"
    return AccuracyRow(
        model=name,
        encoding=enc,
        steps=int(card["steps"]),
        chip_steps=int(next(iter(chip_in.values())).shape[1]),
        reset=reset_cell(card, reset),
        n_test=int(len(labels)),
        float_reference=float_ref,
        float_chip=float_chip,
        loihi2=acc["loihi2"],
        spinnaker=acc["spinnaker"],
        lava_n=lava_n,
        lava_correct=lava_correct,
        lava_identical=lava_identical,
        seconds={k: round(v, 1) for k, v in secs.items()},
    )


def reset_cell(card: dict[str, Any], reset: str) -> str:
    """The table's reset column: the chips' reset and, when it differs, the float model's."""
    sem = card["simulate"]
    if reset == "file":
        return sem["reset"]
    fw = sem.get("framework")
    if fw == "snntorch" and sem.get("reset") == "zero":
        return "zero (snnTorch reset_mechanism zero, as trained)"
    if fw == "rockpool":
        return "zero (float: subtract, rockpool LIFTorch)"
    return f"zero (float: {sem['reset']})"


def lava_subset(
    name: str, n: int = LAVA_N, *, program=None, emulator_outputs: np.ndarray | None = None
) -> tuple[int, bool]:
    """Run the first ``n`` chip inputs of ``name`` on Lava 0.10.0 (in process when lava-nc is
    importable, else through the ``.venv-lava`` bridge) -> (correct count, output spikes equal
    to the Loihi 2 emulator's on the same samples)."""
    import neurocompile as nc
    from neurocompile.target import run_program

    graph = nc.load(model_path(name))
    inputs, labels = load_test_set(name, n)
    sub = chip_inputs(name, graph, inputs)
    prog = program if program is not None else compile_for(name, "loihi2")
    if emulator_outputs is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            emulator_outputs = np.asarray(next(iter(run_program(prog, sub).outputs.values())))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo = np.asarray(next(iter(run_program(prog, sub, backend="lava").outputs.values())))
    return int((predict(lo) == labels).sum()), bool(np.array_equal(lo, emulator_outputs))


# ----------------------------------------------------------------------------- the document
def render(rows: Sequence[AccuracyRow | dict[str, str]]) -> str:
    """The document; a row is an :class:`AccuracyRow` or the cells of an existing row."""
    lines = [
        "# Model zoo accuracy: float reference vs quantized chips",
        "",
        "Generated by `python -m neurocompile.models.accuracy --write docs/accuracy.md` (module",
        "`models/accuracy.py`); `tests/test_accuracy_table.py` recomputes every emulator column and",
        "(lava-marked) the Lava column and requires this file to match exactly, and every chip",
        f"column to be within {GOAL_PP:g} percentage point of the float reference (or above it).",
        "",
        "Each model's bundled test set (360 held-out sklearn digits); readout: argmax of the output",
        "spike counts. *float reference*: `neurocompile.simulate` on the bundled `.nir` under the",
        "card's semantics (what the framework computes, spike for spike). *float, chip input and",
        "timing*: the same float simulator with what the chips get (one step per synaptic hop,",
        "`H` trailing silent steps, the chip reset, analog input rate coded): the difference to the",
        "emulator columns is quantization alone. *loihi2 / spinnaker emulator*: `neurocompile.compile`",
        "with the compile options chosen for the model and target on the validation split (below)",
        "and the bit-exact emulator of each",
        "target (Lava 0.10.0 fixed_pt / sPyNNaker 1!7.4.1 arithmetic) on the whole test set;",
        "[pp] = difference to the float reference. *Lava*: the Loihi 2 program on Lava 0.10.0",
        f"(CPU, fixed_pt) for the first {LAVA_N} test samples: correct count, and whether its output",
        "spikes equal the emulator's on those samples.",
        "",
        DOC_HEADER,
        "|" + "---|" * len(COLUMNS),
    ]
    names = []
    for r in rows:
        c = r.cells() if isinstance(r, AccuracyRow) else r
        lines.append("| " + " | ".join(c[k] for k in COLUMNS) + " |")
        names.append(r.model if isinstance(r, AccuracyRow) else re.sub(r"[`]", "", c["model"]))
    lines += [
        "",
        *render_options(names),
        "",
        "Notes",
        "",
        "- `digits_mlp_onnx` resets by subtraction (the ANN->SNN conversion); neither chip can",
        '  subtract, so it is compiled with `reset="zero"` (the explicit approximation); its float',
        "  reference keeps subtraction and analog input, so its chip columns carry both changes.",
        "- The sinabs CNN and the norse RNN are trained with reset to zero and without biases, so",
        "  the chips run them under the framework's own semantics; only quantization and the hop",
        "  delay (absorbed by the trailing silent steps) differ.",
        "- `digits_mlp_snntorch` (snnTorch, one learned `beta` per neuron) is trained with",
        '  `reset_mechanism="zero"`, the chips\' reset: compiled through the snnTorch conventions',
        '  (`framework="snntorch"`, recorded in the Program\'s provenance), it differs from the',
        "  framework's model by quantization and the hop delay only.",
        "- `digits_rockpool` (rockpool, learned `tau_mem` and `tau_syn` per neuron) is compiled through",
        "  the rockpool conventions; `LIFTorch` resets by subtraction only, so its float reference keeps",
        '  subtraction and the chips run `reset="zero"` (the explicit approximation, as for the ONNX',
        "  MLP): its chip columns carry the reset change as well as quantization.",
        "- The SpiNNaker column is the emulator's model of sPyNNaker 1!7.4.1's integer arithmetic",
        "  (`docs/targets/spinnaker.md`), not a board run.",
        "- Chip runs get `H` trailing silent steps (3 for the CNN, 2 for the MLPs and the RNN): with",
        "  one step per synaptic hop, the last input step reaches the output `H` steps later.",
        "",
    ]
    return "\n".join(lines)


def option_label(opts: dict[str, Any]) -> str:
    """``{"calibration": True, "ring_buffer_shifts": "host"}`` -> ``calibrated, ring_buffer_shifts host``."""
    parts = ["calibrated" if opts.get("calibration") else "no calibration"]
    return ", ".join(parts + [f"{k} {v}" for k, v in opts.items() if k != "calibration"])


def render_options(names: Sequence[str]) -> list[str]:
    """The section on the compile options: how they were chosen, and per model and target the
    choice with its validation figures (from ``models/<name>/options.json``)."""
    from neurocompile.models._digits import N_TEST, N_VALIDATION

    lines = [
        "## Compile options: chosen on a validation split, not on this test set",
        "",
        f"The digits are split once (`models/_digits.py`): {N_TEST} test samples (this table, evaluated",
        f"once by `models/accuracy.py`) and the training part, whose last {N_VALIDATION} samples are the",
        "validation split (`validation_split()`); the calibration images are the first",
        f"{CALIBRATION_N} of the rest. `python -m neurocompile.models.choose_options --write` compiles",
        "each model for each target under every candidate (loihi2: calibration or not; spinnaker:",
        "calibration or not x ring-buffer shifts worst-case / host), runs the float reference and",
        "each candidate's emulator on the validation split only and picks by a rule fixed before",
        "its first run: the fewest validation samples classified differently from the float",
        "reference, then the smallest |accuracy gap|, then the simpler candidate (no calibration,",
        "worst-case shifts). `models/<name>/options.json` holds the choice and every candidate's",
        "figures (`tests/test_choose_options.py` recomputes them); `compile_for` reads it.",
        "The candidates are measured on each model's hold-out twin (`models/<name>/holdout.nir`: its",
        "`train.py --hold-out-validation`, the same training without the validation images), so the",
        "validation figures are held-out figures; the bundled model is the same script on the whole",
        "training part (the usual refit once the options are chosen) and is compiled with them.",
    ]
    docs = {name: load_options(name) for name in names if name in list_models()}
    seen = [f"`{m}`" for m, d in docs.items() if not d["validation"]["held_out_from_training"]]
    if seen:
        lines.append(
            "No hold-out twin, measured on the bundled model (trained on the validation images too): "
            + ", ".join(seen)
            + "."
        )
    lines += [
        "",
        "| model | target | chosen | validation: float reference | chosen, emulator | differs from float |"
        " other candidates (emulator, differs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, doc in docs.items():
        n = doc["validation"]["n"]
        fc = doc["validation"]["float_reference_correct"]
        for target, t in doc["targets"].items():
            chosen = next(c for c in t["candidates"] if c["options"] == t["chosen"])
            others = "; ".join(
                f"{option_label(c['options'])}: {c['correct']}/{n}, {c['disagreements']}"
                for c in t["candidates"]
                if c is not chosen
            )
            lines.append(
                f"| `{name}` | {target} | {option_label(t['chosen'])} | {_pct(fc / n, n)} | "
                f"{_pct(chosen['correct'] / n, n)} [{chosen['gap_pp']:+.2f} pp] | "
                f"{chosen['disagreements']} | {others} |"
            )
    return lines


def parse(text: str) -> dict[str, dict[str, str]]:
    """The table of a rendered document: {model name: {column key: cell}}."""
    out: dict[str, dict[str, str]] = {}
    lines = text.splitlines()
    try:
        start = lines.index(DOC_HEADER) + 2
    except ValueError:
        return out
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(COLUMNS):
            continue
        name = re.sub(r"[`]", "", cells[0])
        out[name] = dict(zip(COLUMNS, cells))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, default=None, help="write the Markdown table to this file")
    ap.add_argument("--no-lava", action="store_true", help="skip the Lava subset")
    ap.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    args = ap.parse_args(argv)
    names = args.models.split(",") if args.models else list_models()
    # with --models, the other models' rows of an existing --write file are kept as they are
    old = parse(args.write.read_text()) if args.write and args.models and args.write.exists() else {}
    rows: list[AccuracyRow | dict[str, str]] = []
    for name in list_models():
        if name not in names:
            if name in old:
                rows.append(old[name])
            continue
        row = evaluate(name, lava=not args.no_lava)
        rows.append(row)
        sys.stdout.write(
            f"{name}: "
            + ", ".join(f"{k} {v}" for k, v in row.cells().items() if k != "model")
            + f"  seconds {row.seconds}\n"
        )
        sys.stdout.flush()
    text = render(rows)
    if args.write:
        args.write.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
