"""Learning that works (issues 6 and 13): pattern detection with homeostatic STDP and a reward-modulated
choice.

Built only from the public API (``neurocompile.models.learning_tasks``, ``models/learning_tasks.py``,
uses the Loihi2Builder, ``rule_from_strings`` and the library rule ``rstdp``). Full training runs on the
emulator; on Lava the same Programs run for a shorter stretch and must agree bit for bit with the
emulator over it (output spikes and v every step, weights every step, final weights and tags).
What is checked is behaviour stated in the issues (hits >= 90 % and < 1 false alarm per 1000 noise
steps for >= 9 of 10 seeds, correct choices >= 90 %), not numbers copied from a previous run. The
pattern task's evaluation seeds (``PATTERN_EVAL_SEEDS``) were fixed in the code before the rule was
tuned, on the development seeds (``PATTERN_DEV_SEEDS``) only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurocompile.learning import freeze, with_learned_weights
from neurocompile.models import learning_tasks as D

TRAIN = 40_000
L = D.PATTERN["length"]
CHOICE_SEEDS = (0, 1, 2, 3)
N_TRIALS = 600


@pytest.mark.slow
def test_stdp_learns_the_pattern_for_9_of_10_evaluation_seeds():
    """Issue 13 item 4: the pattern-in-noise task detects the pattern (hits >= 90 %, < 1 false alarm
    per 1000 noise steps, in the last 10 000 of 40 000 training steps) for >= 9 of the 10 evaluation
    seeds - the rows of docs/learning.md's seed table (``neurocompile sweep pattern``)."""
    from neurocompile.models.sweep_tasks import pattern
    from neurocompile.sweep import run_sweep

    rows = run_sweep(
        pattern, {"seed": list(D.PATTERN_EVAL_SEEDS)}, fixed={"steps": TRAIN, "test_steps": 2000}
    ).rows
    learned = [r["seed"] for r in rows if r["learned"]]
    table = [(r["seed"], r["late_hits"], r["late_fa"], r["lock_step"]) for r in rows]
    assert len(rows) == 10 and len(learned) >= 9, table


def test_homeostatic_stdp_learns_and_the_frozen_detector_works():
    """One development seed in detail: no detector at the start, a detector at the end, and the
    frozen weights detect the pattern in fresh noise."""
    seed = D.PATTERN_DEV_SEEDS[0]
    x, starts = D.pattern_data(seed, 1000 + seed, TRAIN)
    prog = D.pattern_program(seed)
    res = prog.run({"inp": x[None]})
    y = res.outputs["y"][0]
    early = D.score_pattern(y, starts, L, 0, 4000)
    late = D.score_pattern(y, starts, L, TRAIN - 10_000, TRAIN)
    assert not D.detects(early), (seed, early)
    assert D.detects(late), (seed, late)
    lock = D.lock_on_step(y, starts, L)
    assert lock is not None and lock <= TRAIN - 10_000, lock
    # the rescue never fires once the neuron has locked on: tag 2 counts epochs since its last spike
    d = np.asarray(res.recordings["syn.tag_2_final"]).reshape(-1)
    assert (d == d[0]).all() and d[0] <= D.PATTERN_RULE["silence"], d[:5]
    xt, st = D.pattern_data(seed, 2000 + seed, 10_000)
    frozen = freeze(prog, res)
    assert all(p.kind != "learning_dense" for p in frozen.projections.values())
    test = D.score_pattern(frozen.run({"inp": xt[None]}).outputs["y"][0], st, L)
    assert D.detects(test), (seed, test)


def test_stdp_pattern_needs_the_pattern():
    """Control: the same training with the pattern never pasted in (pure noise) gives no
    detector - on the test data with the pattern the frozen weights do not detect it."""
    seed = D.PATTERN_DEV_SEEDS[0]
    x, _ = D.pattern_data(seed, 1000 + seed, TRAIN, gap=(TRAIN, TRAIN + 1))
    prog = D.pattern_program(seed)
    res = prog.run({"inp": x[None]})
    xt, st = D.pattern_data(seed, 2000 + seed, 10_000)
    test = D.score_pattern(freeze(prog, res).run({"inp": xt[None]}).outputs["y"][0], st, L)
    assert not D.detects(test), (seed, test)


def test_pattern_rule_maps_to_loihi2_without_findings():
    """Every product of the homeostatic rule is a Loihi 2 learning-engine product, mapped exactly."""
    from neurocompile.targets.loihi2.learning import map_rule

    m = map_rule(D.pattern_rule(**D.PATTERN_RULE)).as_dict()
    assert m["findings"] == [], m["findings"]
    assert all(p["relative_error"] == 0 for p in m["products"]), m["products"]
    assert "sgn(d-" in m["lava"]["dw"] and "y0*d" in m["lava"]["dd"], m["lava"]


def test_pattern_rule_compiles_from_nir_for_loihi2_and_rescues_a_silent_neuron():
    """``compile --learning`` path: the rule attached to a NIR Affine (Program units) becomes one
    ``learning_dense``; on a neuron that never fires, tag 2 counts every epoch (200 steps / 2^1) and
    the rescue raises every weight."""
    nir = pytest.importorskip("nir")
    import neurocompile
    from neurocompile.learning import attach

    n, steps = 20, 200
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n])),
            "fc": nir.Affine(weight=np.full((1, n), 0.2), bias=np.zeros(1)),
            "lif": nir.LIF(tau=np.full(1, 10.0), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1)),
            "out": nir.Output(output_type=np.array([1])),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "out")],
    )
    rule = attach(D.pattern_rule(**{**D.PATTERN_RULE, "silence": 2, "epoch_k": 1}), units="program")
    prog = neurocompile.compile(g, "loihi2", dt=1.0, reset="zero", learning={"fc": rule})
    (name,) = [k for k, p in prog.projections.items() if p.kind == "learning_dense"]
    x = np.zeros((1, steps, n), np.int8)
    x[0, ::7, :] = 1  # sparse input: the neuron stays below threshold
    with warnings.catch_warnings():  # the rescue may drive weights into the chip's bound (a warning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = prog.run({"input": x})
    assert res.outputs["out"].sum() == 0
    d = np.asarray(res.recordings[f"{name}.tag_2_final"]).reshape(-1)
    assert (d == steps // 2).all(), d
    w0 = np.asarray(prog.projections[name].params["weights"]).reshape(-1)
    w = np.asarray(res.recordings[f"{name}.weights"]).reshape(-1)
    assert (w > w0).all(), (w0, w)


@pytest.mark.parametrize("seed", CHOICE_SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("rewarded", (0, 1), ids=("rewardA", "rewardB"))
def test_rstdp_picks_rewarded_group(seed, rewarded):
    x, r, which = D.choice_data(seed, N_TRIALS, rewarded=rewarded)
    prog = D.choice_program(seed)
    res = prog.run({"inp": x[None], "reward": r[None]})
    late = D.score_choice(res.outputs["y"][0], which, N_TRIALS * 3 // 4, N_TRIALS, rewarded=rewarded)
    assert late.correct >= 0.9, (seed, rewarded, late)
    assert late.rewarded_response >= 0.9 > late.other_response, (seed, rewarded, late)
    w = res.recordings["syn.weights"][0, 0]
    g = 20
    mine, other = (w[:g], w[g:]) if rewarded == 0 else (w[g:], w[:g])
    assert mine.mean() > 2 * other.mean(), (seed, rewarded, mine.mean(), other.mean())
    # learned weights saved as a Program that keeps learning: continuing = one longer run's state
    cont = with_learned_weights(prog, res, keep_learning=True)
    assert cont.projections["syn"].kind == "learning_dense"
    assert np.array_equal(np.reshape(cont.projections["syn"].params["weights"], -1), w)


# ----------------------------------------------------------------------------- Lava
def _lava_vs_emulator(prog, inputs, steps, record):
    from neurocompile.targets.loihi2.emulator.learning import run_learning_entry

    emu = run_learning_entry(prog, inputs, record, fused=False)
    emu_fused = prog.run(inputs)
    lava = prog.run(inputs, backend="lava", record=record)
    for k in record.split(","):
        a, b = emu.recordings[k][0].reshape(steps, -1), lava.recordings[k][0].reshape(steps, -1)
        if not np.array_equal(a, b):
            t = int(np.argwhere((a != b).any(axis=1))[0][0])
            raise AssertionError(f"{k} differs first at step {t + 1}")
    for k in ("syn.weights", "syn.tag_1_final", "syn.tag_2_final"):
        assert np.array_equal(emu.recordings[k], lava.recordings[k]), k
        assert np.array_equal(emu_fused.recordings[k], lava.recordings[k]), k
    assert np.array_equal(emu_fused.outputs["y"], lava.outputs["y"])
    return emu, lava


@pytest.mark.lava
@pytest.mark.slow
def test_pattern_demo_bit_exact_on_lava():
    """The homeostatic rule (heterosynaptic ``y0`` term, ``u``-gated rescue with ``sgn(d - c)``, the
    tag-2 silence counter) on Lava. Over 300 steps the rescue would not act with the task's limit
    (1024 steps), so this run uses a short one (epochs of 4 steps, limit 3 epochs)."""
    pytest.importorskip("lava")
    seed, steps = D.PATTERN_DEV_SEEDS[0], 300
    x, _ = D.pattern_data(seed, 1000 + seed, steps)
    rule = D.pattern_rule(**{**D.PATTERN_RULE, "epoch_k": 2, "silence": 3})
    prog = D.pattern_program(seed, w0=80, rule=rule)
    emu, _ = _lava_vs_emulator(
        prog, {"inp": x[None]}, steps, "out.spikes,out.v,syn.w,syn.tag_2,syn.x1,syn.y1"
    )
    w = emu.recordings["syn.w"][0]
    d = emu.recordings["syn.tag_2"][0].reshape(steps, -1)[:, 0]
    assert (w[-1] != w[0]).sum() > 50, "the stretch must exercise learning"
    assert d.max() > 3 and (np.diff(d) < 0).any(), "the stretch must exercise the rescue and its reset"


@pytest.mark.lava
@pytest.mark.slow
def test_choice_demo_bit_exact_on_lava():
    pytest.importorskip("lava")
    seed, n_trials = 3, 20  # seed 3 responds to the rewarded group from the start
    x, r, _ = D.choice_data(seed, n_trials)
    prog = D.choice_program(seed)
    steps = x.shape[0]
    emu, _ = _lava_vs_emulator(
        prog,
        {"inp": x[None], "reward": r[None]},
        steps,
        "out.spikes,out.v,syn.w,syn.tag_1,syn.x1,syn.y1,syn.y2",
    )
    t1 = emu.recordings["syn.tag_1"][0]
    w = emu.recordings["syn.w"][0]
    assert np.abs(t1).max() > 0 and (w[-1] != w[0]).any(), "the stretch must exercise eligibility and reward"
