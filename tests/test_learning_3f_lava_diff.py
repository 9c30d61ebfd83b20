"""Random THREE-FACTOR rules: the emulator's fused kernel vs Lava 0.10.0, at every step.

``N_PROGRAMS`` x 8 random three-factor rules (tests/learning_cases.py ``random_three_factor_*``:
graded third factor y2 from the lif_3f's reward input, its y1/y3 spike traces, tag_1 and tag_2
as eligibility traces read by the weight update, random extra terms with w/d/t factors,
constants and sgn, t_epoch 1..4, u_k decimation, fractional impulses, all sign modes). Each rule
is one learning_dense of a Program (8 per Program, one lif_3f post). Compared at every step:
weights, tag_1, tag_2, x1, x2, y1, y2, y3 of every projection and the post's spikes and v.

The emulator side is the path ``Program.run`` takes (the fused kernel, whose learning runs in the
fast kernels :mod:`targets.loihi2.emulator.separable` / :mod:`.synaptic`): spikes and v from
``Program.run`` itself; the learned state and traces after each step t from the same kernel
(``fused_run``) run for t steps, since per-step projection state is not a fused-path recording.

Memory: Lava runs every process in its own OS process. Programs are batched ``PER_RUN`` to a
Lava network (about 14 processes each: 3 inputs, the lif_3f, a dense, 8 learning_dense; 2
monitors), one network at a time, and projection state is read with ``Var.get()`` after every
single step instead of one Monitor per variable (which would add a process per variable).
"""

from __future__ import annotations

import os
import re
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from learning_cases import random_three_factor_inputs, random_three_factor_program  # noqa: E402

VARS = ("w", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3")
STEPS = 24
N_PROGRAMS = int(os.environ.get("NC_3F_DIFF_PROGRAMS", "14"))  # x 8 rules = 112 random rules
PER_RUN = 4
SEEDS = [5000 + s for s in range(N_PROGRAMS)]


def _cases():
    return [(s, *random_three_factor_program(s)) for s in SEEDS]


# ------------------------------------------------------------------ coverage guard (no Lava)
def _features(rules: list[dict]) -> dict[str, int]:
    """How many rules use each feature the test is meant to cover."""
    f = dict.fromkeys(
        (
            "graded y2 (u*elig*y2)",
            "tag_1 eligibility (t*y2 in dw)",
            "tag_2 eligibility (d*y2 in dw)",
            "dt target",
            "dd target",
            "w factor",
            "d factor",
            "t factor",
            "sgn factor",
            "factor constant",
            "y1 factor",
            "y3 factor",
            "t_epoch > 1",
            "u_k, k > 0",
            "negative exponent (stochastic rounding)",
            "fractional impulse",
        ),
        0,
    )
    for r in rules:
        dw, dd, dt = r["dw"], r["dd"], r["dt"]
        terms = " ".join((dw, dd, dt))
        f["graded y2 (u*elig*y2)"] += bool(re.search(r"u\d\*[td]\*y2", dw))
        f["tag_1 eligibility (t*y2 in dw)"] += bool(re.search(r"\*t\*y2", dw))
        f["tag_2 eligibility (d*y2 in dw)"] += bool(re.search(r"\*d\*y2", dw))
        f["dt target"] += bool(dt)
        f["dd target"] += bool(dd)
        for v in ("w", "d", "t"):
            f[f"{v} factor"] += bool(re.search(rf"(^|[*(]){v}([*)+-]|$)", terms))
        f["sgn factor"] += "sgn(" in terms
        f["factor constant"] += bool(re.search(r"\([wdt][+-]\d+\)", terms))
        f["y1 factor"] += "y1" in terms
        f["y3 factor"] += "y3" in terms
        f["t_epoch > 1"] += r["t_epoch"] > 1
        f["u_k, k > 0"] += bool(re.search(r"u[12]\*", terms))
        f["negative exponent (stochastic rounding)"] += "2^-" in terms
        f["fractional impulse"] += any(r[f"{x}_impulse"] % 1 for x in ("x1", "x2"))
    return f


def test_three_factor_random_rules_coverage():
    """The random rules cover every feature (and >= 100 rules run), the reward is graded and
    leaves [0, 127] sometimes, and every rule takes a fast kernel of the fused path, most of
    them the w/d/t one."""
    from neurocompile.targets.loihi2.emulator.learning import L_NPROD, L_P0, FusedPlan
    from neurocompile.targets.loihi2.emulator.synaptic import KIND_SYN

    cases = _cases()
    rules = [r for _, _, _, rs in cases for r in rs]
    assert len(rules) >= 100 or os.environ.get("NC_3F_DIFF_PROGRAMS"), len(rules)
    assert all(r["three_factor"] == 1 for r in rules)
    feats = _features(rules)
    missing = [k for k, n in feats.items() if n < 3]
    assert not missing, f"features used by < 3 random rules: {missing} ({feats})"
    syn, graded, below, above = 0, 0, 0, 0
    for seed, prog, names, _ in cases:
        plan = FusedPlan(prog, STEPS)
        assert plan.LS.all(), f"seed {seed}: a rule without a fast kernel"
        for q in range(len(names)):
            p0, n_prod = plan.LI[q, L_P0], plan.LI[q, L_NPROD]
            syn += int((plan.PK[p0 : p0 + n_prod] == KIND_SYN).any())
        r = random_three_factor_inputs(seed, prog, STEPS)["r"]
        graded += int(((r > 1) & (r < 127)).sum())
        below += int((r < 0).sum())
        above += int((r > 127).sum())
    assert graded >= 100 and below >= 3 and above >= 3, (graded, below, above)
    assert syn >= 0.9 * len(rules), f"only {syn} of {len(rules)} rules use the w/d/t kernel"


# ------------------------------------------------------------------ the emulator side
def _fused_per_step(prog, inp, names):
    """(Program.run result, {(name, var): (STEPS, size)}) on the fused kernel: the learned state
    and traces after each step t from ``fused_run`` over t steps."""
    from neurocompile.targets.loihi2.emulator.learning import (
        L_NPOST,
        L_NPRE,
        L_WOFF,
        L_XO,
        L_YO,
        FusedPlan,
        Rec,
        fused_run,
    )

    res = prog.run(inp, record="h.spikes,h.v")
    plan = FusedPlan(prog, STEPS)
    IN = np.zeros((STEPS, plan.in_idx.shape[0]), np.int64)
    c = 0
    for key, _, size in plan.inputs:
        IN[:, c : c + size] = np.asarray(inp[key][0]).reshape(STEPS, size)
        c += size
    out = {(n, v): np.zeros((STEPS,) + _shape(prog, n, v), np.int64) for n in names for v in VARS}
    z8, z = np.zeros((0, 0), np.int8), np.zeros((0, 0), np.int64)
    for t in range(1, STEPS + 1):
        st = plan.new_state()
        fused_run(t, IN[:t], plan.net, plan.rules, st, Rec(False, False, False, z8, z, z))
        for q, n in enumerate(plan.lnames):
            if n not in names:
                continue
            row = plan.LI[q]
            wo, npre, npost, xo, yo = row[L_WOFF], row[L_NPRE], row[L_NPOST], row[L_XO], row[L_YO]
            for v, arr in (("w", st.WT), ("tag_1", st.T1T), ("tag_2", st.D2T)):
                out[(n, v)][t - 1] = arr[wo : wo + npre * npost].reshape(npre, npost).T
            for k in range(2):
                out[(n, f"x{k + 1}")][t - 1] = st.XTR[k, xo : xo + npre]
            for k in range(3):
                out[(n, f"y{k + 1}")][t - 1] = st.YTR[k, yo : yo + npost]
    return res, out


def _shape(prog, n, v):
    pj = prog.projections[n]
    npre, npost = prog.populations[pj.pre].size, prog.populations[pj.post].size
    return (npost, npre) if v in ("w", "tag_1", "tag_2") else ((npre,) if v[0] == "x" else (npost,))


def test_fused_per_step_helper_matches_reference_loop():
    """The per-step fused states above equal the per-step reference loop's recordings (no Lava)."""
    from neurocompile.targets.loihi2.emulator.learning import run_learning_entry

    seed, prog, names, _ = _cases()[0]
    inp = random_three_factor_inputs(seed, prog, STEPS)
    _, got = _fused_per_step(prog, inp, names)
    ref = run_learning_entry(prog, inp, [f"{n}.{v}" for n in names for v in VARS], fused=False)
    for (n, v), a in got.items():
        assert np.array_equal(a, ref.recordings[f"{n}.{v}"][0].reshape(a.shape)), (n, v)


# ------------------------------------------------------------------ Lava
def _lava_run(batch):
    """One Lava network for several Programs; after every step, every projection Var by get()."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode

    from neurocompile.targets.loihi2.lava_runner import LEARNING_VARS, build_lava_network

    nets, anchors = [], []
    for seed, prog, names, inp in batch:
        pop_data = {k: np.asarray(v[0], np.int64) for k, v in inp.items()}
        procs = build_lava_network(prog, pop_data)
        mons = {}
        for obs, port in (("spikes", procs["h"].s_out), ("v", procs["h"].v)):
            mons[obs] = Monitor()
            mons[obs].probe(port, STEPS)
        anchors.append(procs["h"])
        nets.append((procs, mons))
    link = RingBuffer(data=np.zeros((1, 1), dtype=np.int64))
    for lif in anchors[1:] + anchors[:1]:
        zero = Dense(weights=np.zeros((lif.a_in.shape[0], 1), dtype=np.int64), sign_mode=SignMode.EXCITATORY)
        link.s_out.connect(zero.s_in)
        zero.a_out.connect(lif.a_in)
    root = anchors[0]
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    got = [{} for _ in batch]
    try:
        for t in range(STEPS):
            root.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
            for (seed, prog, names, _), (procs, _), g in zip(batch, nets, got):
                for n in names:
                    for v in VARS:
                        val = np.asarray(getattr(procs[n], LEARNING_VARS[v]).get()).astype(np.int64)
                        g.setdefault((n, v), np.zeros((STEPS,) + val.shape, np.int64))[t] = val
        for (seed, prog, names, _), (procs, mons), g in zip(batch, nets, got):
            for obs, mon in mons.items():
                port = procs["h"].s_out if obs == "spikes" else procs["h"].v
                g[("h", obs)] = np.asarray(mon.get_data()[procs["h"].name][port.name]).astype(np.int64)
    finally:
        root.stop()
    return got


@pytest.mark.lava
@pytest.mark.slow
@pytest.mark.parametrize("chunk", range((N_PROGRAMS + PER_RUN - 1) // PER_RUN), ids=lambda c: f"chunk{c}")
def test_three_factor_random_rules_bit_exact_every_step(chunk):
    pytest.importorskip("lava", reason="lava-nc 0.10.0 (.venv-lava) runs the reference")
    cases = _cases()[chunk * PER_RUN : (chunk + 1) * PER_RUN]
    batch = [(s, p, n, random_three_factor_inputs(s, p, STEPS)) for s, p, n, _ in cases]
    lava = _lava_run(batch)
    learned = sum(_compare_every_step(case, got) for case, got in zip(batch, lava))
    assert learned >= len(batch) * 8 // 2, f"only {learned} rules changed weights: the comparison is weak"


def _compare_every_step(case, got) -> int:
    """Compare one Program's Lava recordings ``got`` (from ``_lava_run``) with the fused kernel at
    every step: the post h's spikes and v, and VARS of every learning projection; the last step's
    weights also against ``Program.run``'s recording. Returns how many rules changed weights."""
    seed, prog, names, inp = case
    res, emu = _fused_per_step(prog, inp, names)
    for obs in ("spikes", "v"):
        a = got[("h", obs)].reshape(STEPS, -1)
        b = res.recordings[f"h.{obs}"][0].reshape(STEPS, -1)
        assert np.array_equal(a, b), f"seed {seed}: h.{obs} differs from step {_first(a, b)}"
    learned = 0
    for n in names:
        pp = prog.projections[n].params
        for v in VARS:
            a = got[(n, v)].reshape(STEPS, -1)
            b = emu[(n, v)].reshape(STEPS, -1)
            assert np.array_equal(a, b), (
                f"seed {seed}: {n}.{v} differs from step {_first(a, b)} "
                f"(dw={pp.get('dw')!r} dt={pp.get('dt')!r} dd={pp.get('dd')!r})"
            )
        assert np.array_equal(emu[(n, "w")][-1], res.recordings[f"{n}.weights"][0]), f"seed {seed} {n}"
        learned += int((emu[(n, "w")][-1] != pp["weights"]).any())
    return learned


def _first(a, b):
    return int(np.argwhere((a != b).any(axis=1))[0][0]) + 1


# ------------------------------------------------------------------ learning signals (fused kernel)
# Random rules on Programs with learning signals: the post ``h`` is a lif_3f whose y1 is the
# pseudo-derivative (random height and shift) and whose third factor is the signed learning signal
# (signal_mode 1: y2 = max(L, 0), y3 = max(-L, 0)) fed back from an error population ``e``
# (error_out: y2 - y3 of its graded target input and its own spike trace) through a feedback
# projection with random weights; ``e`` learns too. These run on the fused kernel (Program.run's path).
SIG_PROGRAMS = int(os.environ.get("NC_3F_SIG_PROGRAMS", "6"))
SIG_SEEDS = [7000 + s for s in range(SIG_PROGRAMS)]
SIG_PER_RUN = 3


def _signal_program(seed: int, n_rules: int = 4, n_pre: int = 6, n_post: int = 3, n_err: int = 2):
    from learning_cases import random_three_factor_rule

    from neurocompile.targets.loihi2.builder import Loihi2Builder

    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", n_pre)
    b.input("z", n_post)
    b.input("g", n_err, num_message_bits=8)
    vth = int(rng.integers(20, 200))
    b.lif_3f(
        "h",
        n_post,
        du=int(rng.integers(0, 4096)),
        dv=int(rng.integers(0, 600)),
        vth=vth,
        psi_height=int(rng.integers(1, 128)),
        psi_shift=int(rng.integers(4, 12)),
        signal_mode=1,
    )
    b.lif_3f(
        "e",
        n_err,
        du=int(rng.integers(0, 4096)),
        dv=int(rng.integers(0, 600)),
        vth=int(rng.integers(20, 200)),
        y3_impulse=int(rng.integers(1, 60)),
        y3_decay=int(rng.integers(0, 4096)),
        reward="g",
        error_out=1,
    )
    b.dense("z", "h", np.eye(n_post, dtype=int) * 200, sign_mode=2)
    b.dense("x", "e", rng.integers(0, 120, (n_err, n_pre)), sign_mode=2)
    b.feedback(
        "e", "h", rng.integers(-64, 65, (n_post, n_err)), weight_exp=int(rng.integers(-3, 1)), name="fb"
    )
    names = []
    for q in range(n_rules + 1):
        post = "h" if q < n_rules else "e"
        sm = int(rng.integers(1, 4))
        lo, hi = {1: (-256, 255), 2: (0, 255), 3: (-255, 0)}[sm]
        m = n_post if post == "h" else n_err
        b.learning_dense(
            "x",
            post,
            rng.integers(lo, hi + 1, (m, n_pre)),
            random_three_factor_rule(rng),
            rng_seed=int(rng.integers(0, 10000)),
            sign_mode=sm,
            weight_exp=-4,
            num_weight_bits=int(rng.integers(4, 9)),
            name=f"ls{q}",
            tag_1=rng.integers(-60, 61, (m, n_pre)),
            tag_2=rng.integers(0, 61, (m, n_pre)),
        )
        names.append(f"ls{q}")
    return b.build({"y": ("h", "spikes")}), names


def _signal_inputs(seed: int, prog, steps: int) -> dict:
    rng = np.random.default_rng(seed + 20_000)
    n_pre, n_post, n_err = (prog.populations[k].size for k in ("x", "z", "g"))
    g = np.where(rng.random((1, steps, n_err)) < 0.5, rng.integers(0, 128, (1, steps, n_err)), 0)
    return {
        "x": (rng.random((1, steps, n_pre)) < 0.4).astype(np.int8),
        "z": (rng.random((1, steps, n_post)) < 0.25).astype(np.int8),
        "g": g.astype(np.int16),
    }


def _signal_cases():
    return [(s, *_signal_program(s)) for s in SIG_SEEDS]


def test_learning_signal_programs_take_the_fused_kernel_and_match_the_reference_loop():
    """Learning-signal Programs run on the fused kernel (what Program.run takes), which equals the
    per-step reference loop at every step (no Lava); the signals are exercised (pseudo-derivative
    values strictly inside (0, height), both signs of the learning signal, learning)."""
    from neurocompile.targets.loihi2.emulator import learning as L

    psi_mid = y2 = y3 = learned = 0
    for seed, prog, names in _signal_cases():
        inp = _signal_inputs(seed, prog, STEPS)
        plan = L.FusedPlan(prog, STEPS)
        assert plan.NP[:, L.N_PSIH].any() and plan.SI[:, L.S_FB].any()
        res, got = _fused_per_step(prog, inp, names)
        assert res.backend == "emulator:loihi2"
        ref = L.run_learning_entry(
            prog, inp, [f"{n}.{v}" for n in names for v in VARS] + ["h.v"], fused=False
        )
        assert np.array_equal(res.recordings["h.v"], ref.recordings["h.v"]), seed
        assert np.array_equal(res.outputs["y"], ref.outputs["y"]), seed
        for (n, v), a in got.items():
            assert np.array_equal(a, ref.recordings[f"{n}.{v}"][0].reshape(a.shape)), (seed, n, v)
        h = prog.populations["h"].params
        y1 = got[("ls0", "y1")]
        psi_mid += int(((y1 > 0) & (y1 < int(h["psi_height"]))).sum())
        y2 += int((got[("ls0", "y2")] > 0).sum())
        y3 += int((got[("ls0", "y3")] > 0).sum())
        learned += sum(int((got[(n, "w")][-1] != prog.projections[n].params["weights"]).any()) for n in names)
    assert psi_mid >= 10 and y2 >= 10 and y3 >= 10, (psi_mid, y2, y3)
    assert learned >= SIG_PROGRAMS * 5 // 2, learned


@pytest.mark.lava
@pytest.mark.slow
@pytest.mark.parametrize(
    "chunk", range((SIG_PROGRAMS + SIG_PER_RUN - 1) // SIG_PER_RUN), ids=lambda c: f"signals{c}"
)
def test_learning_signal_random_rules_bit_exact_every_step(chunk):
    """The fused kernel on learning-signal Programs vs Lava 0.10.0 (our LIF3F ProcessModel, graded
    Dense feedback into a_third_factor_in), at every step: h's spikes and v, and w, tag_1, tag_2,
    x1, x2, y1, y2, y3 of every learning projection."""
    pytest.importorskip("lava", reason="lava-nc 0.10.0 (.venv-lava) runs the reference")
    cases = _signal_cases()[chunk * SIG_PER_RUN : (chunk + 1) * SIG_PER_RUN]
    batch = [(s, p, n, _signal_inputs(s, p, STEPS)) for s, p, n in cases]
    lava = _lava_run(batch)
    learned = sum(_compare_every_step(case, got) for case, got in zip(batch, lava))
    assert learned >= len(batch) * 5 // 2, f"only {learned} rules changed weights: the comparison is weak"
