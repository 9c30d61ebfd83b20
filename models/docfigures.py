"""Figures shown in docs/ pages, generated: every block between ``<!-- figures:NAME -->`` and
``<!-- /figures -->`` on a page of :data:`BLOCKS` is written by a function here, and
``tests/test_doc_figures.py`` fails when a page differs from what the functions give now.

``python -m neurocompile.models.docfigures [--check] [--fast] [--pages docs/fidelity.md,...]``
rewrites (or, with ``--check``, compares: exit 1 and a diff when stale) the generated blocks;
``--fast`` recomputes only the quick blocks (committed results, ``check`` runs, small compiles),
keeping the slow ones as they are on the page. The prose between blocks is left alone; the rewriting is
:func:`neurocompile.models.walkthrough.render` (tag ``figures``, no fence).

Where the figures come from (each source is itself generated and tested):

* ``docs/accuracy.md`` (``models/accuracy.py``, ``tests/test_accuracy_table.py``): the demo's
  steps in ``docs/fidelity.md`` and the chip accuracies in ``docs/frontends/*.md`` are cells of
  its table, copied here so that a regenerated table makes these pages stale at once (fast);
* each zoo model's ``card.json`` (written by its ``train.py``; ``tests/test_zoo.py`` checks its
  float reference): the training accuracies of ``docs/frontends/*.md`` (fast);
* ``benchmarks/quant_fidelity.py``: the quantization-fidelity, ablation and dense-regime tables of
  ``docs/targets/loihi2-compiler.md`` (slow, ~25 s CPU);
* the NIR paper's sinabs CNN (``NEUROCOMPILE_PAPER_DATA``): its Loihi 2 resources and output
  agreement in ``docs/targets/loihi2-compiler.md`` (slow, ~10 s CPU; needs the paper data);
* ``models/learning_tasks.py``: the learning tasks of ``docs/learning.md``: their configuration
  (fast), the pattern task's seed tables (evaluation seeds with the homeostatic rule and with plain
  STDP, development seeds; slow, ~2 min of CPU) and the reward-modulated choice table (slow, ~10 s);
* ``models/check_examples.py``: the example messages of ``docs/check.md`` (``check`` on one small
  input per finding code, mostly the corpus of ``tests/bad_models.py``), the CLI's one-line refusal
  and the NIR paper graphs' findings (needs the paper data) (fast, a few seconds);
* ``benchmarks/per_neuron_cores.py``: the per-neuron-tau core counts of
  ``docs/targets/loihi2-placement.md`` (fast, ~1 s);
* ``models/doc_outputs.py``: command outputs and small examples: the NIR paper LIF's spike steps in
  ``docs/semantics.md`` (needs the paper data), ``simulate``'s event lines in ``docs/events.md``, a
  run's label and ``__meta__`` in ``docs/fidelity.md``, the placement refusals of
  ``docs/targets/loihi2-placement.md`` (fast, a few seconds).

Speed figures (steps per second, seconds) depend on the machine and are not generated: the
pages point to ``make bench`` (``benchmarks/run.py``, ``out/bench.json``).
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib.util
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from neurocompile.models.walkthrough import markers, render

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TAG = "figures"


@dataclass(frozen=True)
class Block:
    """One generated block: its page (relative to the checkout, ``docs/...``), its name, the
    function writing it (Markdown ending in a newline), whether it is slow to compute, and what it
    needs (``paper``: the NIR paper data) or None."""

    page: str
    name: str
    make: Callable[[], str]
    slow: bool = False
    needs: str | None = None


# ----------------------------------------------------------------------------- committed tables
def accuracy_cells() -> dict[str, dict[str, str]]:
    """docs/accuracy.md's table: {model: {column: cell}}."""
    from neurocompile.models import accuracy

    cells = accuracy.parse((DOCS / "accuracy.md").read_text())
    if not cells:
        raise SystemExit("docs/accuracy.md has no table: python -m neurocompile.models.accuracy --write ...")
    return cells


def _card(model: str) -> dict:
    from neurocompile.models import model_path

    return json.loads((Path(model_path(model)).parent / "card.json").read_text())


def demo_steps() -> str:
    """docs/fidelity.md: the demo's rows for the default zoo model, from docs/accuracy.md."""
    model = "digits_cnn_sinabs"
    c = accuracy_cells()[model]
    sem = _card(model).get("simulate", {})
    trained = ", ".join(f"{k} {sem[k]}" for k in ("dt", "discretization", "reset") if k in sem)
    rows = [
        ("float reference", "float", c["float_reference"], f"the model as trained ({trained}, hop_delay 0)"),
        (
            "float, loihi2 semantics",
            "float",
            c["float_chip"],
            f"the chips' timing (hop_delay 1, trailing silent steps) and reset (here `{c['reset']}`)",
        ),
        (
            "loihi2 emulator",
            "bit-exact vs lava-nc 0.10.0 fixed_pt",
            c["loihi2"],
            "8-bit weights x 2^exp, integer state: quantization",
        ),
        (
            "spinnaker emulator",
            "bit-exact vs sPyNNaker 1!7.4.1 ARM binaries",
            c["spinnaker"],
            "16-bit weights, s16.15 state, sPyNNaker's always-leaking LIF",
        ),
        ("Lava (first 20)", "bit-exact vs lava-nc 0.10.0 fixed_pt", c["lava"], "nothing: the same Program"),
    ]
    lines = ["| row | label | accuracy | what changes from the row above |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {acc} | {d} |" for a, b, acc, d in rows]
    return "\n".join(lines) + "\n"


#: how the card's accuracy keys read on the frontend pages.
CARD_LABELS = {
    "ann": "ANN",
    "ann_torch": "ANN in torch",
    "ann_onnx": "ANN in onnx's ReferenceEvaluator",
    "converted_snn": "converted SNN before fine-tuning",
    "framework_float": "{framework} model",
    "reference_float": "`neurocompile.simulate` on `model.nir`",
    "to_nir_file_float": "`neurocompile.simulate` on rockpool's own `to_nir` file",
}


def frontend_accuracy(model: str) -> Callable[[], str]:
    """docs/frontends/*.md: the model's training figures (card.json) and chip figures
    (docs/accuracy.md), one paragraph."""

    def make() -> str:
        card = _card(model)
        c = accuracy_cells()[model]
        framework = str(card.get("framework", "the framework")).split()[0]
        acc = dict(card.get("accuracy", {}))
        if "ann_torch" in acc:  # an ANN export: the framework's model is the ANN itself
            acc.pop("framework_float", None)
        train = ", ".join(
            f"{CARD_LABELS[k].format(framework=framework)} {100 * float(acc[k]):.2f} %"
            for k in CARD_LABELS
            if k in acc
        )
        n = c["float_reference"].rsplit("/", 1)[-1].rstrip(")")
        return (
            f"Accuracy on the {n} held-out test digits (`card.json`, written by `train.py`): {train}. "
            f"On the chips (`docs/accuracy.md`, {c['encoding']}, reset on chips: {c['reset']}): "
            f"float reference {c['float_reference']}, loihi2 emulator {c['loihi2']}, spinnaker "
            f"emulator {c['spinnaker']}.\n"
        )

    return make


# ----------------------------------------------------------------------------- slow: recomputed
def _load_bench(name: str):
    path = REPO / "benchmarks" / f"{name}.py"
    sys.path.insert(0, str(REPO / "tests"))  # quant_fidelity imports tests/fidelity_graphs.py
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@functools.lru_cache(maxsize=None)
def _quant_blocks() -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _load_bench("quant_fidelity").doc_blocks()


def quant_block(name: str) -> Callable[[], str]:
    return lambda: _quant_blocks()[name]


#: the NIR paper CNN's probe: (samples, steps, lowest rate, highest rate, seed).
PAPER_CNN_PROBE = (50, 100, 0.03, 0.3, 0)


def paper_cnn(target: str) -> Callable[[], str]:
    """docs/targets/loihi2-compiler.md (and the SpiNNaker page): the NIR paper's sinabs CNN on ``target``
    (dt 1, reset zero: the file is nir <= 1.0.4, reset by subtraction, and neither chip
    subtracts) against the float reference with the Program's semantics (hop_delay 1)."""

    def make() -> str:
        import neurocompile as nc
        from neurocompile.compare import spike_agreement
        from neurocompile.models.validate_table import paper_dir
        from neurocompile.program import counts

        path = paper_dir() / "02_cnn" / "cnn_sinabs.nir"
        n, steps, lo, hi, seed = PAPER_CNN_PROBE
        rng = np.random.default_rng(seed)
        rates = rng.uniform(lo, hi, size=(n, 1, 2, 34, 34))
        x = (rng.random((n, steps, 2, 34, 34)) < rates).astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = nc.load(path)
            prog = nc.compile(graph, target, dt=1.0, reset="zero")
            (key,) = prog.outputs
            run = prog.run({"input": x}, backend="emulator")
            ref = nc.simulate(graph, {"input": x}, dt=1.0, reset="zero", hop_delay=1).outputs[key]
        got = np.asarray(run.outputs[key])[:, :steps]
        c = counts(prog)
        pl = prog.placement or {}
        m = spike_agreement(ref.reshape(n, steps, -1), got.reshape(n, steps, -1))
        wraps = "no overflow warnings" if not run.warnings else f"{len(run.warnings)} overflow warning(s)"
        return (
            f"- `02_cnn/cnn_sinabs.nir`, dt 1, `--reset zero`: {c.populations} populations "
            f"({c.input_populations} input), {c.neurons} neurons, {c.synapses} stored synapses, "
            f"{pl.get('cores_used')} cores on {pl.get('chips')} chip(s). {n} Poisson inputs "
            f"({100 * lo:g}-{100 * hi:g} %, T = {steps}, seed {seed}), {wraps}; against the float "
            f"reference with the Program's semantics (hop_delay 1): output spike F1 {m['f1']:.3f} "
            f"(precision {m['precision']:.3f}, recall {m['recall']:.3f}), count correlation "
            f"{m['count_correlation']:.3f}.\n"
        )

    return make


#: the pattern-detection runs of docs/learning.md (tests/test_learning_demos.py runs the same): training
#: and test lengths; the seeds are models/learning_tasks.py's PATTERN_EVAL_SEEDS and PATTERN_DEV_SEEDS
PATTERN_TRAIN = 40_000
PATTERN_TEST = 10_000
#: the reward-modulated choice runs (tests/test_learning_demos.py: seeds, trials; scored over the
#: first and the last quarter of the trials)
CHOICE_SEEDS = (0, 1, 2, 3)
CHOICE_TRIALS = 600


def _fmt(v: float) -> str:
    return f"{v:g}"


def _int(n: int) -> str:
    """10000 -> '10 000' (the pages' thousands separator)."""
    return f"{n:,}".replace(",", " ")


def pattern_setup() -> str:
    """docs/learning.md: the pattern task's configuration (``models/learning_tasks.py``'s constants)."""
    from neurocompile.models import learning_tasks as D

    P, N, R, w0 = D.PATTERN, D.PATTERN_NEURON, D.PATTERN_RULE, D.PATTERN_W0
    N0, R0 = D.PATTERN_PLAIN_NEURON, D.PATTERN_PLAIN_RULE
    s0 = D.PATTERN_EVAL_SEEDS[0]
    _, starts = D.pattern_data(s0, 1000 + s0, PATTERN_TRAIN)
    share = 100 * len(starts) * P["length"] / PATTERN_TRAIN
    rule = D.pattern_rule(**R)
    period = 2 ** R["epoch_k"]
    return (
        f"{P['n_aff']} afferents, Poisson p = {_fmt(P['p'])} per step; a frozen {P['length']}-step segment "
        f"with the same statistics is pasted in at random times (gaps {P['gap'][0]}..{P['gap'][1] - 1} "
        f"steps: {share:.0f} % of the {_int(PATTERN_TRAIN)} training steps of seed {s0}). "
        f"One LIF (du {N['du']}, dv {N['dv']}, vth {N['vth']}), weights {w0 // 2}..{w0 * 3 // 2} "
        f"(EXCITATORY), {_int(PATTERN_TRAIN)} training steps. Rule (`pattern_rule`): pair STDP "
        f"A+ {_fmt(R['A_plus'])}, A- {_fmt(R['A_minus'])}, tau+ {R['tau_plus']}, tau- {R['tau_minus']} "
        f"(LTD area {(R['A_minus'] * R['tau_minus']) / (R['A_plus'] * R['tau_plus']):g}x LTP), "
        f"heterosynaptic depression {_fmt(R['depress'])} per post spike, silence rescue "
        f"+{_fmt(R['rescue'])} per {period}-step epoch after more than {R['silence']} epoch(s) "
        f"({R['silence'] * period} steps) without a post spike:\n\n"
        f"    dw = {_rule_text(rule, 'dw')}\n"
        f"    dd = {_rule_text(rule, 'dd')}\n\n"
        f"The earlier configuration (`homeostasis=False`): vth {N0['vth']}, additive pair STDP alone, "
        f"A+ {_fmt(R0['A_plus'])}, A- {_fmt(R0['A_minus'])}, tau+ {R0['tau_plus']}, tau- {R0['tau_minus']} "
        f"(LTD area {(R0['A_minus'] * R0['tau_minus']) / (R0['A_plus'] * R0['tau_plus']):g}x LTP).\n"
    )


def _rule_text(rule, target: str) -> str:
    return " + ".join(p.to_string(rule.epoch_k) for p in rule.target(target)).replace("+ -", "- ")


@functools.lru_cache(maxsize=None)
def _sweep(task: str, **grid: tuple) -> tuple:
    """The rows of ``neurocompile sweep TASK`` over ``grid`` (``models/sweep_tasks.py`` through
    :func:`neurocompile.sweep.run_sweep`, in this process)."""
    from neurocompile.models.sweep_tasks import TASKS
    from neurocompile.sweep import run_sweep

    return tuple(run_sweep(TASKS[task], {k: list(v) for k, v in grid.items()}, task=task).rows)


def _pattern_rows(seeds: tuple, homeostasis: bool = True) -> tuple:
    return _sweep(
        "pattern",
        seed=tuple(seeds),
        steps=(PATTERN_TRAIN,),
        test_steps=(PATTERN_TEST,),
        homeostasis=(homeostasis,),
    )


def _seed_table(rows: tuple) -> list[str]:
    out = [
        "| seed | hits, last 10 000 steps | FA there | detects | lock-on step | longest silence (steps) | "
        "frozen weights, fresh noise (10 000 steps) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hits = round(r["late_hits"] * r["late_presentations"])
        lock = "-" if r["lock_step"] is None else _int(r["lock_step"])
        out.append(
            f"| {r['seed']} | {100 * r['late_hits']:.0f} % ({hits}/{r['late_presentations']}) | "
            f"{r['late_fa']:.2f} | {'yes' if r['learned'] else 'no'} | {lock} | {_int(r['max_silence'])} | "
            f"hits {100 * r['test_hits']:.0f} %, FA {r['test_fa']:.2f} |"
        )
    return out


def pattern_eval() -> str:
    """docs/learning.md: the seed table of issue 13 item 4 - the homeostatic rule on the 10 evaluation
    seeds fixed before tuning (``neurocompile sweep pattern --grid seed=500..509``), and plain pair STDP
    on the same seeds (``--set homeostasis=false``)."""
    from neurocompile.models import learning_tasks as D

    seeds = D.PATTERN_EVAL_SEEDS
    rows = _pattern_rows(seeds)
    plain = _pattern_rows(seeds, homeostasis=False)
    n = len(seeds)
    ok = [r["seed"] for r in rows if r["learned"]]
    frozen = sum(r["learned"] and r["test_detects"] for r in rows)
    plain_ok = [r["seed"] for r in plain if r["learned"]]
    return (
        f"Evaluation seeds {seeds[0]}..{seeds[-1]}: **{len(ok)}/{n} detect the pattern** in the last "
        f"10 000 training steps (hits >= {100 * D.DETECT_HITS:.0f} %, FA < {D.DETECT_FA:g}; the issue asks "
        f">= 9/10); {frozen}/{n} also with frozen weights on fresh noise. Plain pair STDP (the earlier "
        f"configuration) on the same seeds: {len(plain_ok)}/{n}.\n\n" + "\n".join(_seed_table(rows)) + "\n"
    )


def pattern_dev() -> str:
    """docs/learning.md: the same table on the development seeds the rule was tuned on."""
    from neurocompile.models import learning_tasks as D

    seeds = D.PATTERN_DEV_SEEDS
    rows = _pattern_rows(seeds)
    ok = sum(r["learned"] for r in rows)
    return (
        f"Development seeds {seeds[0]}..{seeds[-1]} (the rule and its parameters were tuned on these): "
        f"{ok}/{len(seeds)} detect the pattern.\n\n" + "\n".join(_seed_table(rows)) + "\n"
    )


def choice_setup() -> str:
    """docs/learning.md: the reward-modulated choice task's configuration."""
    from neurocompile.models import learning_tasks as D

    C, N, R, w0 = D.CHOICE, D.CHOICE_NEURON, D.CHOICE_RULE, D.CHOICE_W0
    return (
        f"Two groups of {C['n_group']} afferents; each {C['trial']}-step trial one group (random) fires "
        f"at p = {_fmt(C['p'])} for {C['on']} steps; trials of the rewarded group get reward "
        f"{C['reward']} on y2 during steps {C['reward_at'][0]}..{C['reward_at'][1] - 1}. "
        f"Rule lr {_fmt(R['lr'])}, "
        f"A+ {_fmt(R['A_plus'])}, A- {_fmt(R['A_minus'])}, tau+ {R['tau_plus']}, tau- {R['tau_minus']}, "
        f"tau_e {R['tau_e']}; neuron du {N['du']}, dv {N['dv']}, vth {N['vth']}; weights "
        f"{w0 // 2}..{w0 * 3 // 2}. {CHOICE_TRIALS} trials.\n"
    )


def choice_table() -> str:
    """docs/learning.md: reward-modulated choice per seed and rewarded group: correct trials in the
    first and last quarter, responses in the last quarter, the groups' mean weights (the rows of
    ``neurocompile sweep choice --grid seed=0..3 --grid rewarded=0,1``)."""
    q = CHOICE_TRIALS // 4
    rows = [
        f"| seed | rewarded | correct, first {q} trials | correct, last {q} | responses to rewarded / "
        f"other group, last {q} | mean weight rewarded / other group: start -> end |",
        "|---|---|---|---|---|---|",
    ]
    for r in _sweep("choice", seed=CHOICE_SEEDS, rewarded=(0, 1), n_trials=(CHOICE_TRIALS,)):
        rows.append(
            f"| {r['seed']} | {'AB'[r['rewarded']]} | {100 * r['first_correct']:.0f} % | "
            f"{100 * r['last_correct']:.0f} % | "
            f"{100 * r['rewarded_response']:.0f} % / {100 * r['other_response']:.0f} % | "
            f"{r['w_rewarded_start']:.0f} -> {r['w_rewarded']:.0f} / {r['w_other_start']:.0f} -> "
            f"{r['w_other']:.0f} |"
        )
    return "\n".join(rows) + "\n"


def per_neuron_cores() -> str:
    """docs/targets/loihi2-placement.md: cores of the per-neuron-tau example networks
    (``benchmarks/per_neuron_cores.py``, which also checks the block itself)."""
    mod = _load_bench("per_neuron_cores")
    return mod.doc_block(mod.measure()) + "\n"


def doc_output(name: str) -> Callable[[], str]:
    """A command output or small measured example (``models/doc_outputs.py``)."""

    def make() -> str:
        from neurocompile.models import doc_outputs

        return getattr(doc_outputs, name)()

    return make


# ----------------------------------------------------------------------------- check examples
def check_block(section: str) -> Callable[[], str]:
    """docs/check.md: the example messages of one table's codes (``models/check_examples.py``)."""

    def make() -> str:
        from neurocompile.models import check_examples

        return check_examples.table(section)

    return make


def check_cli_refusal() -> str:
    from neurocompile.models import check_examples

    return check_examples.cli_refusal()


def check_paper() -> str:
    from neurocompile.models import check_examples

    return check_examples.paper_findings()


# ----------------------------------------------------------------------------- the registry
BLOCKS: tuple[Block, ...] = (
    Block("docs/fidelity.md", "demo-steps", demo_steps),
    Block("docs/frontends/sinabs.md", "accuracy", frontend_accuracy("digits_cnn_sinabs")),
    Block("docs/frontends/norse.md", "accuracy", frontend_accuracy("digits_rnn_norse")),
    Block("docs/frontends/onnx.md", "accuracy", frontend_accuracy("digits_mlp_onnx")),
    Block("docs/frontends/snntorch.md", "accuracy", frontend_accuracy("digits_mlp_snntorch")),
    Block("docs/frontends/rockpool.md", "accuracy", frontend_accuracy("digits_rockpool")),
    Block("docs/targets/loihi2-compiler.md", "paper-cnn", paper_cnn("loihi2"), slow=True, needs="paper"),
    Block("docs/targets/spinnaker.md", "paper-cnn", paper_cnn("spinnaker"), slow=True, needs="paper"),
    Block("docs/targets/loihi2-compiler.md", "quant-fidelity", quant_block("quant-fidelity"), slow=True),
    Block("docs/targets/loihi2-compiler.md", "quant-ablation", quant_block("quant-ablation"), slow=True),
    Block("docs/targets/loihi2-compiler.md", "quant-legacy", quant_block("quant-legacy"), slow=True),
    Block("docs/learning.md", "pattern-setup", pattern_setup),
    Block("docs/learning.md", "pattern-eval", pattern_eval, slow=True),
    Block("docs/learning.md", "pattern-dev", pattern_dev, slow=True),
    Block("docs/learning.md", "choice-setup", choice_setup),
    Block("docs/learning.md", "choice-table", choice_table, slow=True),
    Block("docs/targets/loihi2-placement.md", "per-neuron-cores", per_neuron_cores),
    Block("docs/semantics.md", "paper-lif-steps", doc_output("paper_lif_steps"), needs="paper"),
    Block("docs/events.md", "events-stderr", doc_output("events_stderr")),
    Block("docs/fidelity.md", "run-label", doc_output("run_label")),
    Block("docs/fidelity.md", "run-meta", doc_output("run_meta")),
    Block("docs/targets/loihi2-placement.md", "placement-errors", doc_output("placement_errors")),
    Block("docs/check.md", "check-graph", check_block("graph")),
    Block("docs/check.md", "check-cli-refusal", check_cli_refusal),
    Block("docs/check.md", "check-paper", check_paper, needs="paper"),
    Block("docs/check.md", "check-loihi2", check_block("loihi2")),
    Block("docs/check.md", "check-spinnaker", check_block("spinnaker")),
    Block("docs/check.md", "check-learning", check_block("learning")),
)


def pages() -> list[str]:
    return list(dict.fromkeys(b.page for b in BLOCKS))


def current(text: str) -> dict[str, str]:
    """{block name: its text on the page} of every generated block of ``text``."""
    _, _, pattern = markers(TAG)
    return {m.group(1): m.group(2) for m in pattern.finditer(text)}


def available(block: Block) -> str | None:
    """None when ``block`` can be computed here, else why not."""
    if block.needs == "paper":
        from neurocompile.models.validate_table import paper_dir

        if not (paper_dir() / "02_cnn" / "cnn_sinabs.nir").is_file():
            return f"no NIR paper data at {paper_dir()} (set NEUROCOMPILE_PAPER_DATA)"
    return None


def regenerate(page: str, names: set[str] | None = None) -> tuple[str, str]:
    """(the page now, the page with the blocks ``names`` (default: all of the page's) recomputed;
    the others as they are)."""
    old = (REPO / page).read_text()
    blocks = current(old)
    for b in BLOCKS:
        if b.page == page and (names is None or b.name in names):
            blocks[b.name] = b.make()
    return old, render(old, blocks, tag=TAG, fence=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the pages instead of writing them")
    ap.add_argument("--fast", action="store_true", help="recompute only the blocks that are not slow")
    ap.add_argument(
        "--pages", default=None, help="comma-separated pages, e.g. docs/fidelity.md (default: all)"
    )
    args = ap.parse_args(argv)
    stale = 0
    for page in args.pages.split(",") if args.pages else pages():
        todo = {b.name for b in BLOCKS if b.page == page and not (args.fast and b.slow)}
        for b in BLOCKS:
            why = available(b) if b.page == page and b.name in todo else None
            if why:
                sys.stdout.write(f"{page}: block {b.name} kept as it is: {why}\n")
                todo.discard(b.name)
        old, new = regenerate(page, todo)
        if new == old:
            sys.stdout.write(f"{page}: up to date ({', '.join(sorted(todo))})\n")
        elif args.check:
            stale += 1
            diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), page, "now")
            sys.stdout.write("".join(diff))
        else:
            (REPO / page).write_text(new)
            sys.stdout.write(f"{page}: rewritten ({', '.join(sorted(todo))})\n")
    if stale:
        sys.stdout.write(f"{stale} page(s) stale: regenerate with python -m neurocompile.models.docfigures\n")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
