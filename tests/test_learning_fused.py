"""The fused learning kernel (whole step loop in one numba function) equals the per-step
reference loop of the emulator on random rule programs (every term kind, t_epoch 1..8, all sign
modes, fractional impulses, tau 0) and on the three-factor choice demo. The reference loop itself
is checked against Lava in test_learning_lava_diff.py / test_learning_demos.py."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from learning_cases import random_inputs, random_learning_program  # noqa: E402

from neurocompile.models import learning_tasks as D  # noqa: E402
from neurocompile.targets.loihi2.emulator.learning import run_learning_entry  # noqa: E402


def _same(prog, inp, record):
    a = run_learning_entry(prog, inp, record, fused=False)
    b = run_learning_entry(prog, inp, record, fused=True)
    assert a.recordings.keys() == b.recordings.keys()
    for k in a.recordings:
        assert np.array_equal(a.recordings[k], b.recordings[k]), k


@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed{s}")
def test_fused_equals_reference_random_rules(seed):
    prog, _ = random_learning_program(seed)
    _same(prog, random_inputs(seed, prog, 50), "h.spikes,h.v,h.u")


def test_fused_equals_reference_three_factor():
    x, r, _ = D.choice_data(3, 40)
    _same(D.choice_program(3), {"inp": x[None], "reward": r[None]}, "out.spikes,out.v,out.u")


# ---------------------------------------------------------------- separable-rule kernel
# Rules without w/d/t factors run in targets/loihi2/emulator/separable.py (per-neuron product
# tables, row passes, composed clip chains). They must equal the per-step reference loop,
# which is the path checked against Lava step by step.

from neurocompile.targets.loihi2.builder import Loihi2Builder  # noqa: E402
from neurocompile.targets.loihi2.emulator.learning import FusedPlan  # noqa: E402

_SEP_FACTORS = ("x1", "x2", "y1", "y2", "y3", "x0", "y0", "(x1-20)", "(y1+5)", "(y2-70)")


def _sep_rule(rng, k):
    fields = {}
    for tgt in ("dw", "dd", "dt"):
        if tgt != "dw" and rng.random() < 0.5:
            fields[tgt] = ""
            continue
        parts = []
        for _ in range(int(rng.integers(1, 5))):
            dep = str(rng.choice(["x0", "y0", "y0", f"u{k}"]))
            facs = [str(f) for f in rng.choice(_SEP_FACTORS, size=int(rng.integers(0, 3)))]
            m, e = int(rng.integers(1, 8)), int(rng.integers(-7, 5))
            parts.append(("-" if rng.random() < 0.45 else "+") + "*".join([f"{m}*2^{e}", dep] + facs))
        s = "".join(parts)
        fields[tgt] = s[1:] if s.startswith("+") else s
    for tr in ("x1", "x2", "y1", "y2", "y3"):
        fields[f"{tr}_impulse"] = float(rng.integers(0, 60 * 256) / 256)
        fields[f"{tr}_tau"] = 0.0 if rng.random() < 0.15 else float(rng.choice([2, 5, 10, 20]))
    fields["t_epoch"] = int(rng.choice([1, 1, 2, 3, 5]))
    fields["three_factor"] = 0
    return fields


def _sep_program(seed, n_pre=37, n_post=29, rule=None):
    """Random separable rules on a bigger projection; post rates chosen per seed so that both the
    dense (many bAPs) and the sparse (few bAPs) row passes run; tags at their range ends."""
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", n_pre)
    b.input("z", n_post)
    b.lif(
        "h",
        n_post,
        du=int(rng.integers(0, 4096)),
        dv=int(rng.integers(0, 600)),
        vth=int(rng.integers(20, 200)),
    )
    b.dense("z", "h", np.eye(n_post, dtype=int) * 200, sign_mode=2)
    k = int(rng.integers(0, 3))
    for r in range(3):
        sm = int(rng.integers(1, 4))
        lo, hi = {1: (-256, 255), 2: (0, 255), 3: (-255, 0)}[sm]
        t1 = rng.choice([-257, -256, 0, 254, 255], (n_post, n_pre))
        t2 = rng.choice([0, 1, 254, 255], (n_post, n_pre))
        b.learning_dense(
            "x",
            "h",
            rng.integers(lo, hi + 1, (n_post, n_pre)),
            (rule or _sep_rule)(rng, k),
            rng_seed=int(rng.integers(0, 10000)),
            sign_mode=sm,
            weight_exp=-4,
            num_weight_bits=int(rng.integers(5, 9)),
            name=f"ld{r}",
            tag_1=t1,
            tag_2=t2,
        )
    prog = b.build({"y": ("h", "spikes")})
    steps = 40
    px = float(rng.choice([0.05, 0.3]))
    pz = float(rng.choice([0.03, 0.1, 0.5]))  # few bAPs -> sparse rows, many -> dense rows
    inp = {
        "x": (rng.random((1, steps, n_pre)) < px).astype(np.int8),
        "z": (rng.random((1, steps, n_post)) < pz).astype(np.int8),
    }
    return prog, inp


@pytest.mark.parametrize("seed", range(16), ids=lambda s: f"seed{s}")
def test_separable_kernel_equals_reference(seed):
    prog, inp = _sep_program(seed)
    assert FusedPlan(prog, 40).LS.all(), f"seed {seed}: rules should all take the separable kernel"
    ref = run_learning_entry(prog, inp, "h.spikes", fused=False)
    got = run_learning_entry(prog, inp, "h.spikes", fused=True)
    gen = run_learning_entry(prog, inp, "h.spikes", fused=True, separable=False)
    assert ref.recordings.keys() == got.recordings.keys()
    for k in ref.recordings:
        assert np.array_equal(ref.recordings[k], got.recordings[k]), f"seed {seed}: {k}"
        assert np.array_equal(ref.recordings[k], gen.recordings[k]), f"seed {seed}: {k} (generic fused)"
    changed = sum(
        int((got.recordings[f"ld{r}.weights"][0] != prog.projections[f"ld{r}"].params["weights"]).sum())
        for r in range(3)
    )
    assert changed > 0, f"seed {seed}: nothing learned, the comparison would be vacuous"


def test_pair_stdp_benchmark_network_small():
    """The benchmark's network (pair STDP, t_epoch 1, EXCITATORY, LIF bAPs) at 200 x 150:
    separable kernel == generic fused kernel == reference loop, with learning going on."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    import bench_learning as B

    prog = B.program(n=200, seed=3)
    inp = {"inp": (np.random.default_rng(4).random((1, 60, 200)) < 0.12).astype(np.int8)}  # enough to fire
    assert FusedPlan(prog, 60).LS.all()
    ref = run_learning_entry(prog, inp, "out.spikes", fused=False)
    got = run_learning_entry(prog, inp, "out.spikes", fused=True)
    for k in ref.recordings:
        assert np.array_equal(ref.recordings[k], got.recordings[k]), k
    assert ref.recordings["out.spikes"].sum() > 0
    assert (got.recordings["syn.weights"][0] != prog.projections["syn"].params["weights"]).any()


# ---------------------------------------------------------------- w/d/t-factor kernel
# Rules with w/d/t factors run in targets/loihi2/emulator/synaptic.py (per-neuron tables of the
# neuron factors, per-synapse product passes in rule order, zero-product skips). They must equal
# the per-step reference loop (checked against Lava) and the generic fused interpreter, on a
# projection big enough for both the dense and the sparse bAP row passes.

from learning_cases import random_product  # noqa: E402

from neurocompile.targets.loihi2.emulator.synaptic import KIND_SYN  # noqa: E402


def _syn_rule(rng, k):
    fields = _sep_rule(rng, k)
    for tgt in ("dw", "dd", "dt"):
        if not fields[tgt] and tgt != "dw":
            continue
        parts = [fields[tgt]] if fields[tgt] else []
        for _ in range(int(rng.integers(1, 3))):
            dep = str(rng.choice(["x0", "y0", f"u{k}"]))
            parts.append(("-" if rng.random() < 0.4 else "+") + random_product(rng, dep))
        order = rng.permutation(len(parts))
        s = "".join(("" if p[0] in "+-" else "+") + p for p in (parts[o] for o in order))
        fields[tgt] = s[1:] if s.startswith("+") else s
    fields["dw"] += "-1*2^-2*u%d*t*y2" % k if rng.random() < 0.5 else ""  # an R-STDP-like term
    return fields


@pytest.mark.parametrize("seed", range(16), ids=lambda s: f"seed{s}")
def test_synaptic_kernel_equals_reference(seed):
    prog, inp = _sep_program(seed, rule=_syn_rule)
    plan = FusedPlan(prog, 40)
    assert plan.LS.all() and (plan.PK == KIND_SYN).any(), f"seed {seed}: w/d/t rules: the fast kernel"
    ref = run_learning_entry(prog, inp, "h.spikes", fused=False)
    got = run_learning_entry(prog, inp, "h.spikes", fused=True)
    gen = run_learning_entry(prog, inp, "h.spikes", fused=True, separable=False)
    assert ref.recordings.keys() == got.recordings.keys()
    for k in ref.recordings:
        assert np.array_equal(ref.recordings[k], got.recordings[k]), f"seed {seed}: {k}"
        assert np.array_equal(ref.recordings[k], gen.recordings[k]), f"seed {seed}: {k} (generic fused)"
    assert ref.warnings == got.warnings, f"seed {seed}: saturation counts"
    changed = sum(
        int((got.recordings[f"ld{r}.{v}"][0] != prog.projections[f"ld{r}"].params[p]).sum())
        for r in range(3)
        for v, p in (("weights", "weights"), ("tag_1_final", "tag_1"))
    )
    assert changed > 0, f"seed {seed}: nothing learned, the comparison would be vacuous"


def _lut_rule(rng, k):
    """R-STDP-like rules whose row-wide products read only their own target's variable (tag decay
    ``u*t``, weight decay ``u*(w - c)``, sgn forms): long rows take the lookup-table path of
    :func:`...synaptic._lut_row` (with the bAP posts recomputed one by one) when t_epoch > 1 or the
    chain is longer than ``CH_MAX``, the one-pass chains otherwise."""
    fields = _sep_rule(rng, k)

    def t(dep, facs, sign=None):
        m, e = int(rng.integers(1, 8)), int(rng.integers(-7, 2))
        return (sign or ("-" if rng.random() < 0.4 else "+")) + "*".join([f"{m}*2^{e}", dep] + facs)

    u = f"u{k}"
    own = {"dt": "t", "dd": "d", "dw": "w"}
    for tgt, v in own.items():
        if tgt != "dt" and rng.random() < 0.4:
            continue
        parts = [
            t("y0", ["x1"], "+"),
            t("x0", ["y1"], "-"),
            t(u, [v if rng.random() < 0.6 else f"({v}-7)"], "-"),
        ]
        if rng.random() < 0.4:
            parts.append(t(u, [f"sgn({v}+3)"]))
        if tgt == "dw" and rng.random() < 0.5:
            parts.append(t(u, ["t", "y2"]))  # post factor: the table path only where y2 is 0
        if rng.random() < 0.3:
            parts.append(t("y0", [v, "x1"]))  # a y0 product with the synaptic factor at bAP posts
        s = "".join(parts)
        fields[tgt] = s[1:] if s.startswith("+") else s
    return fields


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed{s}")
def test_synaptic_lookup_rows_equal_reference(seed):
    """Rows of >= 513 posts with own-variable chains (the lookup-table path): fused == per-step
    reference == generic fused, warnings equal."""
    prog, inp = _sep_program(100 + seed, n_pre=9, n_post=560, rule=_lut_rule)
    ref = run_learning_entry(prog, inp, "h.spikes", fused=False)
    got = run_learning_entry(prog, inp, "h.spikes", fused=True)
    gen = run_learning_entry(prog, inp, "h.spikes", fused=True, separable=False)
    for k in ref.recordings:
        assert np.array_equal(ref.recordings[k], got.recordings[k]), f"seed {seed}: {k}"
        assert np.array_equal(ref.recordings[k], gen.recordings[k]), f"seed {seed}: {k} (generic fused)"
    assert ref.warnings == got.warnings, f"seed {seed}: saturation counts"
    changed = sum(
        int((got.recordings[f"ld{r}.tag_1_final"][0] != prog.projections[f"ld{r}"].params["tag_1"]).sum())
        for r in range(3)
    )
    assert changed > 0, f"seed {seed}: nothing learned, the comparison would be vacuous"


def _mult_rule(rng, k):
    """Multiplicative-STDP-like rules (one y0 product per target, its synaptic factor the target's own
    variable, t_epoch 1): rows without a pre spike take the bAP-row chains of
    :func:`...synaptic._chain_bap` (few bAPs) or a masked :func:`...synaptic._chain_full` (many)."""
    fields = _sep_rule(rng, k)
    fields["t_epoch"] = 1

    def t(dep, facs, sign=None):
        m, e = int(rng.integers(1, 8)), int(rng.integers(-7, 2))
        return (sign or ("-" if rng.random() < 0.4 else "+")) + "*".join([f"{m}*2^{e}", dep] + facs)

    for tgt, v in (("dw", "w"), ("dd", "d"), ("dt", "t")):
        if tgt != "dw" and rng.random() < 0.5:
            fields[tgt] = ""
            continue
        c1, c2 = int(rng.integers(-20, 260)), int(rng.integers(-20, 20))
        own = f"sgn({v}{c1:+d})" if rng.random() < 0.2 else f"({v}{-c1:+d})"
        s = t("y0", [str(rng.choice(["x1", "x2"])), own]) + t("x0", ["y1", f"({v}{c2:+d})"])
        if rng.random() < 0.4:
            s += t(f"u{k}", [v])
        fields[tgt] = s[1:] if s.startswith("+") else s
    return fields


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed{s}")
def test_synaptic_bap_tables_equal_reference(seed):
    """Multiplicative-STDP-like rules on rows of 560 posts (bAP-only rows: the one-pass chains,
    sparse and dense): fused == per-step reference == generic fused, warnings equal."""
    prog, inp = _sep_program(200 + seed, n_pre=9, n_post=560, rule=_mult_rule)
    ref = run_learning_entry(prog, inp, "h.spikes", fused=False)
    got = run_learning_entry(prog, inp, "h.spikes", fused=True)
    gen = run_learning_entry(prog, inp, "h.spikes", fused=True, separable=False)
    for k in ref.recordings:
        assert np.array_equal(ref.recordings[k], got.recordings[k]), f"seed {seed}: {k}"
        assert np.array_equal(ref.recordings[k], gen.recordings[k]), f"seed {seed}: {k} (generic fused)"
    assert ref.warnings == got.warnings, f"seed {seed}: saturation counts"
    changed = sum(
        int((got.recordings[f"ld{r}.weights"][0] != prog.projections[f"ld{r}"].params["weights"]).sum())
        for r in range(3)
    )
    assert changed > 0, f"seed {seed}: nothing learned, the comparison would be vacuous"
