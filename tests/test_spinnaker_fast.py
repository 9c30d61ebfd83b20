"""The event-driven SpiNNaker kernels (engine.py, stdp.py) against the simple ones (reference.py).

The reference kernels add every synapse into an int64 ring buffer one at a time with the chip's
saturating add, in the chip's order; the fast kernels keep plain sums (dense blocks by rows, the
rest by synapse) and clamp at read. They must agree on every recorded integer (v, u, spikes),
on the first tick of every int32 wrap and ring-buffer saturation per population and sample, and
on the learned weights. Random networks (seeds fixed here, before any run): IF_curr_exp and
IF_curr_delta populations, spike sources, feed-forward and recurrent projections, dense groups
(blocks, uint8 or uint16) and sparse ones (CSR) with duplicated pairs, delays 1-15, both receptors,
weights large enough to saturate, batch > 1; the ring buffer both as int32 (the default) and int64.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder
from neurocompile.targets.spinnaker.emulator import engine, reference
from neurocompile.targets.spinnaker.emulator.arith import KIND_DELTA, KIND_EXP, N_KIND
from neurocompile.targets.spinnaker.emulator.engine import Outputs, Recorded, build_plan
from neurocompile.targets.spinnaker.emulator.stdp import StdpPlan

SEEDS = list(range(12))


def random_program(seed: int, stdp: bool = False):
    rng = np.random.default_rng(seed)
    b = SpiNNakerBuilder(1.0)
    n_src = int(rng.integers(20, 120))
    b.spike_source("src", n_src)
    pops = {"src": n_src}
    kinds = {}
    for k in range(int(rng.integers(1, 4))):
        name, n = f"p{k}", int(rng.integers(8, 90))
        shifts = [int(s) for s in rng.integers(0, 8, 2)]
        params = dict(
            tau_m=float(rng.uniform(5, 40)),
            v_thresh=float(rng.uniform(-58, -45)),
            tau_refrac=float(rng.uniform(0, 5)),
            i_offset=rng.uniform(-0.5, 1.5, n) if rng.random() < 0.5 else float(rng.uniform(0, 1)),
            v_init=rng.uniform(-70, -50, n),
            ring_buffer_shifts=shifts,
        )
        if rng.random() < 0.6:
            b.if_curr_exp(
                name, n, tau_syn_E=float(rng.uniform(1, 10)), tau_syn_I=float(rng.uniform(1, 10)), **params
            )
            kinds[name] = "exp"
        else:
            b.if_curr_delta(name, n, **params)
            kinds[name] = "delta"
        pops[name] = n
    names = list(pops)
    small = rng.random() < 0.4  # every w16 <= 255: uint8 blocks summed in int16 (engine._add_rows_u8)
    n_proj = 0
    for pre in names:
        for post in names[1:]:
            if rng.random() < 0.35 and n_proj:
                continue
            n_pre, n_post = pops[pre], pops[post]
            dense = rng.random() < 0.5
            if dense:  # a dense group (one delay, one receptor): a block in the fast kernel
                fill = 1.0 if stdp and rng.random() < 0.6 else rng.uniform(0.3, 1.0)  # STDP: dense rows
                mask = rng.random((n_pre, n_post)) < fill
                pi, qi = np.nonzero(mask)
                d = np.full(pi.size, int(rng.integers(1, 16)))
            else:
                m = int(rng.integers(1, n_pre * n_post // 3 + 2))
                pi, qi = rng.integers(0, n_pre, m), rng.integers(0, n_post, m)  # duplicates happen
                d = rng.integers(1, 16, m)
            big = rng.random() < 0.3
            w = rng.integers(1, 255 if small else 0xFFFF if big else 3000, pi.size, endpoint=True)
            receptor = "excitatory" if rng.random() < 0.6 else "inhibitory"
            kw = dict(pre_idx=pi, post_idx=qi, w16=w, delays=d, receptor=receptor)
            if stdp and n_proj == 0 and pre == "src":
                exp_post = kinds[post] == "exp"
                rule = int(rng.integers(0, 3)) if exp_post else 0  # delta posts: pair additive only
                block = dict(
                    timing="pfister_triplet" if rule == 2 else "spike_pair",
                    weight=("additive", "multiplicative", "additive_triplet")[rule],
                    tau_plus=float(rng.uniform(5, 30)),
                    tau_minus=float(rng.uniform(5, 30)),
                    A_plus=float(rng.uniform(0, 0.5)),
                    A_minus=float(rng.uniform(0, 0.5)),
                    w_min=0.0,
                    w_max=float(rng.uniform(0.5, 4.0)),
                )
                if rule == 2:
                    block.update(tau_x=float(rng.uniform(5, 30)), tau_y=float(rng.uniform(5, 30)))
                    block.update(A3_plus=float(rng.uniform(0, 0.2)), A3_minus=float(rng.uniform(0, 0.2)))
                b.stdp(pre, post, plasticity=block, name="plastic", **kw)
            else:
                b.from_list(pre, post, **kw)
            n_proj += 1
    prog = b.build({"out": (names[-1], "spikes")})
    batch, T = int(rng.integers(2, 4)), int(rng.integers(60, 140))
    x = (rng.random((batch, T, n_src)) < rng.uniform(0.05, 0.4)).astype(np.uint8)
    return prog, x


def _record(prog):
    rec = []
    for name, pop in prog.populations.items():
        if pop.kind != "spike_source":
            rec += [(name, "v"), (name, "u"), (name, "spikes")]
    rec += [(name, "weights") for name, p in prog.projections.items() if p.kind == "stdp"]
    return rec


def _run_direct(prog, x, ref):
    from neurocompile.targets.spinnaker.emulator.run import run_program

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return run_program(prog, {"src": x}, record=_record(prog), reference=ref)


def _assert_same(a, b, seed):
    assert set(a.recordings) == set(b.recordings)
    for k in a.recordings:
        np.testing.assert_array_equal(a.recordings[k], b.recordings[k], err_msg=f"seed {seed}: {k}")
    for k in a.outputs:
        np.testing.assert_array_equal(a.outputs[k], b.outputs[k], err_msg=f"seed {seed}: output {k}")
    assert a.warnings == b.warnings, f"seed {seed}"


@pytest.mark.parametrize("seed", SEEDS)
def test_static_random_networks_equal_the_reference(seed):
    prog, x = random_program(seed)
    fast, ref = _run_direct(prog, x, False), _run_direct(prog, x, True)
    _assert_same(fast, ref, seed)
    one = _run_direct(prog, x[:1], False)  # the single-sample kernel too
    for k in one.recordings:
        np.testing.assert_array_equal(one.recordings[k][0], ref.recordings[k][0], err_msg=f"seed {seed}: {k}")


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_kernels_agree_on_every_integer_and_flag_with_both_ring_widths(seed):
    """Direct kernel calls: every neuron recorded, the overflow table compared entry by entry, the
    fast kernel once with the int32 ring the plan picks and once forced to int64. Odd seeds also
    flip the kind of a random third of the neurons in the table, so populations mix IF_curr_exp and
    IF_curr_delta neurons (the kernel's per-neuron-kind loop)."""
    prog, x = random_program(seed)
    plan = build_plan(prog)
    if seed % 2:
        flip = np.random.default_rng(seed).random(plan.NL) < 1 / 3
        plan.ntab[flip, N_KIND] = KIND_EXP + KIND_DELTA - plan.ntab[flip, N_KIND]
    net = plan.network()
    assert net.ring.dtype == np.int32
    assert (seed % 2 == 0) or np.any(net.pop_kind < 0)
    B, T, NL = x.shape[0], x.shape[1], plan.NL
    every = np.arange(NL)

    def outputs():
        return Outputs(
            np.zeros((B, T, NL), np.int64),
            np.zeros((B, T, NL), np.int64),
            np.zeros((B, T, NL), np.uint8),
            np.zeros((B, max(net.NP, 1), 2), np.int64),
        )

    ref = outputs()
    reference.run_batch_reference(x, T, net, Recorded(every, every, every), ref)
    for ring in (np.int32, np.int64):
        out = outputs()
        engine.run_batch(x, T, net._replace(ring=np.zeros(0, ring)), Recorded(every, every, every), out)
        for name, a, r in zip(Outputs._fields, out, ref):
            np.testing.assert_array_equal(a, r, err_msg=f"seed {seed}, ring {ring.__name__}: {name}")


def test_saturation_and_blocks_are_exercised():
    """The random family covers what the fast kernel does differently: dense blocks and CSR synapses,
    saturated ring-buffer entries (flagged), and duplicated pairs."""
    n_blocks = n_csr = n_sat = n_spikes = 0
    widths = set()
    for seed in SEEDS:
        prog, x = random_program(seed)
        plan = build_plan(prog)
        ft = engine.fast_tables(plan)
        n_blocks += ft.btab.shape[0]
        widths.add(ft.bw.dtype.itemsize if ft.btab.shape[0] else 0)
        n_csr += ft.fw.size
        res = _run_direct(prog, x, False)
        n_sat += sum("saturated" in w for w in res.warnings)
        n_spikes += sum(int(v.sum()) for k, v in res.recordings.items() if k.endswith(".spikes"))
    counts = (n_blocks, n_csr, n_sat, n_spikes, widths)
    assert {1, 2} <= widths, counts
    assert n_blocks >= 5 and n_csr >= 1000 and n_sat >= 3 and n_spikes >= 1000, counts


def test_stdp_random_networks_equal_the_reference():
    """One STDP projection from the spike sources (pair additive / multiplicative or triplet, random
    delays or one delay) beside static ones, 8 seeds: every recorded integer, the weights after
    every tick and the flags equal the reference kernel's; most runs learn something."""
    learned = 0
    row_kinds = set()
    for seed in range(100, 108):
        prog, x = random_program(seed, stdp=True)
        assert any(p.kind == "stdp" for p in prog.projections.values())
        row_kinds |= set((StdpPlan(prog).row_col0 >= 0).tolist())  # vector rows and the others
        fast, ref = _run_direct(prog, x, False), _run_direct(prog, x, True)
        _assert_same(fast, ref, seed)
        learned += bool(
            np.any(fast.recordings["plastic.weights"] != prog.projections["plastic"].params["w16"])
        )
    assert learned >= 6 and row_kinds == {True, False}, (learned, row_kinds)


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.int64, np.float64])
def test_spike_input_must_be_zero_or_one(dtype):
    """run_program refuses a spike-source value other than 0/1 whatever the input's dtype (unsigned
    and bool inputs take a max-only check)."""
    from neurocompile.errors import InputDataError

    prog, x = random_program(0)
    ok = x.astype(dtype)
    _run_direct(prog, ok, False)
    if dtype is np.bool_:
        return  # a bool array cannot hold anything else
    bad = ok.copy()
    bad[0, 3, 1] = 2
    with pytest.raises(InputDataError, match="0/1"):
        _run_direct(prog, bad, False)
    if dtype in (np.int64, np.float64):
        bad[0, 3, 1] = -1
        with pytest.raises(InputDataError, match="0/1"):
            _run_direct(prog, bad, False)


def stdp_stress_program(seed: int):
    """Busy STDP networks for the dense-row paths of ``stdp.py``: population ``a`` driven in bursts
    (a strong static drive from a few sources: most of ``a`` fires in one tick), ``b`` firing
    steadily from ``i_offset`` (more than 15 post events in a rare source's window: the history's
    bound), sources at mixed rates, an all-to-all STDP projection src -> b (dense rows whose posts
    start past neuron 0, one delay), and a neuron-source STDP projection b -> a with a second rule,
    dense rows for some pres and scattered synapses for the others; large A+ / A- so the weights
    reach w_max and w_min (w_min sometimes above 0)."""
    rng = np.random.default_rng(seed)
    b = SpiNNakerBuilder(1.0)
    n_src = int(rng.integers(24, 64))
    b.spike_source("src", n_src)
    sizes = {}
    for name, lo, hi in (("a", 0.0, 0.6), ("b", 0.5, 3.0)):
        n = int(rng.integers(16, 48))
        sizes[name] = n
        b.if_curr_exp(
            name,
            n,
            tau_m=float(rng.uniform(10, 30)),
            v_thresh=float(rng.uniform(-55, -50)),
            tau_refrac=float(rng.uniform(0, 2)),
            i_offset=rng.uniform(lo, hi, n),
            v_init=rng.uniform(-70, -52, n),
            tau_syn_E=float(rng.uniform(1, 5)),
            tau_syn_I=float(rng.uniform(1, 5)),
            ring_buffer_shifts=[int(s) for s in rng.integers(0, 8, 2)],
        )
    drive = np.arange(4)
    pi, qi = np.repeat(drive, sizes["a"]), np.tile(np.arange(sizes["a"]), drive.size)
    b.from_list("src", "a", pre_idx=pi, post_idx=qi, w16=np.full(pi.size, 0xFFFF), delays=1, name="drive")
    rules = rng.permutation(3)[:2]

    def block(rule):
        out = dict(
            timing="pfister_triplet" if rule == 2 else "spike_pair",
            weight=("additive", "multiplicative", "additive_triplet")[rule],
            tau_plus=float(rng.uniform(5, 30)),
            tau_minus=float(rng.uniform(5, 30)),
            A_plus=float(rng.uniform(0.1, 1.0)),
            A_minus=float(rng.uniform(0.1, 1.0)),
            w_min=float(rng.uniform(0, 0.3)) if rng.random() < 0.5 else 0.0,
            w_max=float(rng.uniform(0.5, 4.0)),
        )
        if rule == 2:
            out.update(tau_x=float(rng.uniform(5, 30)), tau_y=float(rng.uniform(5, 30)))
            out.update(A3_plus=float(rng.uniform(0, 0.5)), A3_minus=float(rng.uniform(0, 0.5)))
        return out

    n_b = sizes["b"]
    pi, qi = np.repeat(np.arange(n_src), n_b), np.tile(np.arange(n_b), n_src)
    w = rng.integers(0, 3000, pi.size, endpoint=True)
    d = int(rng.integers(1, 16))
    b.stdp("src", "b", plasticity=block(rules[0]), pre_idx=pi, post_idx=qi, w16=w, delays=d, name="plastic")
    mask = rng.random((n_b, sizes["a"])) < np.where(rng.random(n_b) < 0.5, 1.0, 0.3)[:, None]
    pi, qi = np.nonzero(mask)
    w = rng.integers(0, 3000, pi.size, endpoint=True)
    b.stdp("b", "a", plasticity=block(rules[1]), pre_idx=pi, post_idx=qi, w16=w, delays=d, name="plastic2")
    prog = b.build({"out": ("a", "spikes")})
    T = int(rng.integers(150, 250))
    rates = rng.choice([0.005, 0.03, 0.3], n_src)
    x = (rng.random((2, T, n_src)) < rates).astype(np.uint8)
    return prog, x


def test_stdp_busy_networks_equal_the_reference():
    """The dense STDP rows under bursts, long windows and the 15-event history bound, two rules,
    neuron-source rows and scattered rows (6 seeds): every recorded integer, the weights after every
    tick and the flags equal the reference kernel's. The family is checked to contain what those
    paths are for (from the inputs and the reference's spikes): a tick where a quarter of a post
    population spikes, a pre spike whose window holds more than 15 spikes of one post neuron, and
    weights that moved."""
    bursts = long_windows = learned = 0
    for seed in range(200, 206):
        prog, x = stdp_stress_program(seed)
        fast, ref = _run_direct(prog, x, False), _run_direct(prog, x, True)
        _assert_same(fast, ref, seed)
        for pop in ("a", "b"):
            s = ref.recordings[f"{pop}.spikes"]
            bursts += bool(np.any(s.sum(axis=2) * 4 >= s.shape[2]))
        s_b = ref.recordings["b.spikes"].reshape(x.shape[0], x.shape[1], -1)
        for bi in range(x.shape[0]):
            post_counts = np.cumsum(s_b[bi], axis=0)  # spikes of each b neuron up to each tick
            for j in range(x.shape[2]):
                ticks = np.concatenate([[0], np.nonzero(x[bi, :, j])[0]])
                if ticks.size > 1:
                    gaps = post_counts[ticks[1:]] - post_counts[ticks[:-1]]
                    long_windows += bool(np.any(gaps > 15))
        for name in ("plastic", "plastic2"):
            learned += bool(np.any(ref.recordings[f"{name}.weights"] != prog.projections[name].params["w16"]))
    assert bursts >= 3 and long_windows >= 3 and learned >= 10, (bursts, long_windows, learned)
