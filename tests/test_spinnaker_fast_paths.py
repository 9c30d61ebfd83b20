"""The static SpiNNaker kernel's specialised paths (engine.py) against the simple kernels (reference.py).

``test_spinnaker_fast.py`` builds its random networks with the builder, whose populations share
every parameter but ``i_offset``: the kernel runs those with the shared parameters as scalars
(``Network.pop_uni``). Here the per-neuron parameter loop is exercised too (neurons given other
neurons' constants and their own thresholds, kinds kept per population), recordings that are not
one run of neurons (gathered, not sliced), and the ways ``run_program`` hands inputs to the kernel
(the caller's uint8/bool array itself, or a copy for other dtypes, layouts and several inputs).
Seeds are fixed here, before any run.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from neurocompile.errors import InputDataError
from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder
from neurocompile.targets.spinnaker.emulator import engine, reference
from neurocompile.targets.spinnaker.emulator.arith import (
    N_DECE,
    N_DECI,
    N_DSCALE,
    N_EXPTC,
    N_INITE,
    N_INITI,
    N_KIND,
    N_R,
    N_SHE,
    N_SHI,
    N_TREF,
    N_VRESET,
    N_VREST,
    N_VTH,
)
from neurocompile.targets.spinnaker.emulator.engine import Outputs, Recorded, build_plan
from neurocompile.targets.spinnaker.emulator.run import run_program

sys.path.insert(0, str(Path(__file__).parent))
from test_spinnaker_fast import random_program  # noqa: E402

SEEDS = list(range(20, 28))
#: the columns a neuron takes from a donor neuron of the same kind
DONATED = [N_VREST, N_R, N_EXPTC, N_VRESET, N_VTH, N_TREF, N_DECE, N_DECI, N_INITE, N_INITI, N_SHE, N_SHI]
DONATED += [N_DSCALE]


def _mixed_plan(seed: int):
    """A random program's plan where about half the populations get per-neuron constants."""
    prog, x = random_program(seed)
    plan = build_plan(prog)
    rng = np.random.default_rng(seed)
    tab = plan.ntab
    for name in plan.neuron_names:
        if rng.random() < 0.5:
            continue
        o, size = plan.neuron_slices[name]
        same = np.nonzero(tab[:, N_KIND] == tab[o, N_KIND])[0]
        donors = rng.choice(same, size)
        rows = np.arange(o, o + size)
        tab[np.ix_(rows, DONATED)] = tab[np.ix_(donors, DONATED)]
        tab[rows, N_VTH] += rng.integers(-3 << 15, 3 << 15, size)  # +-3 mV
    return plan, x


def _outputs(B, T, net, n_u, n_v, n_s):
    return Outputs(
        np.zeros((B, T, n_u), np.int64),
        np.zeros((B, T, n_v), np.int64),
        np.zeros((B, T, n_s), np.uint8),
        np.zeros((B, max(net.NP, 1), 2), np.int64),
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_per_neuron_parameters_and_gathered_recordings_equal_the_reference(seed):
    """Every integer and flag of the fast batch and single-sample kernels equals the reference's,
    with every neuron recorded (one run: sliced) and with a random subset in random order
    (gathered)."""
    plan, x = _mixed_plan(seed)
    net = plan.network()
    B, T, NL = x.shape[0], x.shape[1], plan.NL
    rng = np.random.default_rng(1000 + seed)
    every = np.arange(NL)
    some = [rng.permutation(NL)[: int(rng.integers(1, NL + 1))] for _ in range(3)]
    for rec in (Recorded(every, every, every), Recorded(*some)):
        sizes = (rec.u.size, rec.v.size, rec.s.size)
        ref = _outputs(B, T, net, *sizes)
        reference.run_batch_reference(x, T, net, rec, ref)
        fast = _outputs(B, T, net, *sizes)
        engine.run_batch(x, T, net, rec, fast)
        one = _outputs(1, T, net, *sizes)
        engine.run_sample(x[0], T, net, rec, Outputs(one.u[0], one.v[0], one.s[0], one.ovf[0]))
        for name, a, r, o in zip(Outputs._fields, fast, ref, one):
            np.testing.assert_array_equal(a, r, err_msg=f"seed {seed}: {name}")
            np.testing.assert_array_equal(o[0], r[0], err_msg=f"seed {seed}: {name}, run_sample")


def test_both_neuron_loops_are_exercised():
    """The family above has populations with shared parameters (the scalar loop) and populations of
    one kind with per-neuron ones (the per-neuron loop), of both kinds, and spikes in both."""
    uni, per_neuron, spikes = set(), set(), 0
    for seed in SEEDS:
        plan, x = _mixed_plan(seed)
        net = plan.network()
        for k in range(net.NP):
            (uni if net.pop_uni[k] else per_neuron).add(int(net.pop_kind[k]))
        every = np.arange(plan.NL)
        out = _outputs(x.shape[0], x.shape[1], net, 0, 0, plan.NL)
        engine.run_batch(x, x.shape[1], net, Recorded(every[:0], every[:0], every), out)
        spikes += int(out.s.sum())
    assert uni == {0, 1} and per_neuron == {0, 1} and spikes >= 1000, (uni, per_neuron, spikes)


def _run(prog, inputs, ref=False):
    rec = [
        (n, o) for n, p in prog.populations.items() if p.kind != "spike_source" for o in ("v", "u", "spikes")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return run_program(prog, inputs, record=rec, reference=ref)


def _same(a, b):
    assert set(a.recordings) == set(b.recordings) and a.warnings == b.warnings
    for k in a.recordings:
        np.testing.assert_array_equal(a.recordings[k], b.recordings[k], err_msg=k)
    for k in a.outputs:
        np.testing.assert_array_equal(a.outputs[k], b.outputs[k], err_msg=k)


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_input_dtypes_and_layouts_give_the_same_run(seed):
    """uint8 and bool inputs (passed to the kernel as they are), int8/int64/float64 ones, a
    non-contiguous and a read-only uint8 view (copied): the same run as the reference kernel on
    uint8, and the caller's array is left unchanged."""
    prog, x = random_program(seed)
    ref = _run(prog, {"src": x}, ref=True)
    wide = np.zeros(x.shape[:2] + (x.shape[2] + 5,), np.uint8)
    wide[:, :, 2 : 2 + x.shape[2]] = x
    frozen = x.copy()
    frozen.flags.writeable = False
    variants = [x.copy(), x.astype(bool), x.astype(np.int8), x.astype(np.int64), x.astype(np.float64)]
    variants += [wide[:, :, 2 : 2 + x.shape[2]], frozen]
    for v in variants:
        before = v.copy()
        _same(_run(prog, {"src": v}), ref)
        np.testing.assert_array_equal(v, before)


def _two_inputs(seed: int):
    rng = np.random.default_rng(seed)
    b = SpiNNakerBuilder(1.0)
    b.spike_source("a", 30)
    b.spike_source("b", 17)
    b.if_curr_exp("lif", 40, ring_buffer_shifts=[3, 3], tau_syn_E=5.0, tau_syn_I=3.0, v_thresh=-55.0)
    for src, n, receptor in (("a", 30, "excitatory"), ("b", 17, "inhibitory")):
        pre, post = np.nonzero(rng.random((n, 40)) < 0.5)
        w16 = rng.integers(1, 4000, pre.size)
        b.from_list(
            src,
            "lif",
            pre_idx=pre,
            post_idx=post,
            w16=w16,
            delays=rng.integers(1, 4, pre.size),
            receptor=receptor,
        )
    prog = b.build({"out": ("lif", "spikes")})
    xa = (rng.random((2, 80, 30)) < 0.3).astype(np.uint8)
    xb = (rng.random((2, 80, 17)) < 0.3).astype(np.uint8)
    return prog, {k: v for k, v in zip(prog.inputs, (xa, xb))}, (xa, xb)


def test_several_input_populations_equal_the_reference():
    """Two spike-source inputs (copied into one kernel array) give the reference kernel's run, and
    the recorded input spikes are the given ones."""
    prog, inputs, _ = _two_inputs(5)
    assert len(prog.inputs) == 2
    fast, ref = _run(prog, inputs), _run(prog, inputs, ref=True)
    _same(fast, ref)
    assert int(fast.recordings["lif.spikes"].sum()) > 0


def test_bad_inputs_still_raise_typed_errors():
    """The integer fast path of the input check falls back to ``check_inputs`` on anything odd: a
    missing key, a wrong trailing shape, differing batch/time, a non-numeric dtype."""
    prog, inputs, (xa, xb) = _two_inputs(6)
    ka, kb = list(prog.inputs)
    bad = [
        {ka: xa},
        {ka: xa, kb: xb[:, :, :5]},
        {ka: xa, kb: xb[:1]},
        {ka: xa, kb: xb[:, :40]},
        {ka: xa, kb: xb.astype(str)},
        {ka: xa[0], kb: xb},
    ]
    for case in bad:
        with pytest.raises(InputDataError):
            _run(prog, case)


def test_memoized_plan_sees_in_place_changes():
    """The plan memo is keyed on the Program's content: a weight changed in place, two weights
    swapped across digest blocks, a weight changed in a later block: each gives the run of a freshly
    planned Program; an invalid in-place change is still refused."""
    from neurocompile.errors import RangeError
    from neurocompile.targets.spinnaker.emulator import run as run_mod

    rng = np.random.default_rng(7)
    b = SpiNNakerBuilder(1.0)
    b.spike_source("src", 100)
    b.if_curr_exp("lif", 100, ring_buffer_shifts=[4, 4], tau_syn_E=5.0, tau_syn_I=5.0)
    pre, post = np.repeat(np.arange(100), 100), np.tile(np.arange(100), 100)
    w16 = rng.integers(0, 60, pre.size)
    b.from_list("src", "lif", pre_idx=pre, post_idx=post, w16=w16, delays=1, name="src_lif")
    prog = b.build({"out": ("lif", "spikes")})
    x = (rng.random((1, 60, 100)) < 0.2).astype(np.uint8)
    w = prog.projections["src_lif"].params["w16"]
    i, j = 10, 9000  # blocks 0 and 2 of the digest (4096 entries each)
    assert j // run_mod.DIGEST_BLOCK != i // run_mod.DIGEST_BLOCK
    w[i], w[j] = 0, 5000
    runs = []
    for change in (None, "one", "swap", "far"):
        if change == "one":
            w[i] = 3000
        elif change == "swap":
            w[i], w[j] = w[j], w[i]
        elif change == "far":  # only in a later block
            w[j] = 0
        memo = _run(prog, {"src": x})
        run_mod._PLANS.clear()
        fresh = _run(prog, {"src": x})
        _same(memo, fresh)
        runs.append(memo.recordings["lif.v"])
    assert all(not np.array_equal(a, b) for a, b in zip(runs, runs[1:]))
    w[i] = 70000  # above 0xFFFF
    with pytest.raises(RangeError):
        _run(prog, {"src": x})
