"""Loihi 2 placement: slices fit the published/estimated per-core limits, every neuron is placed
once, a network that does not fit names layer/resource/excess, big populations span chips, and
placement is deterministic.

Independent facts used: 8192 neurons per core and 128 cores per chip (docs/reference/loihi2.md §4);
the synapse-memory cost model is the documented ESTIMATED one (docs/targets/loihi2-placement.md:
dense = n_pre x num_weight_bits bits per post neuron, sparse = fan-in x (num_weight_bits + 13),
delays + 6, + 64 header bits per (projection, core)); the tests recount it from the COO arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocompile.errors import ParameterError, ResourceError
from neurocompile.partition import CoreLimits, InputDemand, PopulationDemand, place_demands
from neurocompile.program import Program
from neurocompile.targets.loihi2.builder import Loihi2Builder
from neurocompile.targets.loihi2.partition import place

NEURONS_PER_CORE = 8192  # docs/reference/loihi2.md §4 (1,048,576 neurons / 128 cores)
CORES_PER_CHIP = 128
HEADER_BITS = 64


def _lif(b, name, n):
    b.lif(name, n, du=4095, dv=0, vth=10)


def _covers(placement, program):
    for pop in program.populations.values():
        if pop.kind == "input":
            continue
        cores = sorted(
            (c for c in placement["cores"] if c["population"] == pop.name), key=lambda c: c["start"]
        )
        assert cores[0]["start"] == 0 and cores[-1]["stop"] == pop.size
        for a, b in zip(cores, cores[1:]):
            assert a["stop"] == b["start"]
        assert sum(c["neurons"] for c in cores) == pop.size


def test_neuron_limit_splits_and_covers():
    b = Loihi2Builder()
    b.input("x", 4)
    _lif(b, "big", 20000)
    prog = b.build()
    pl = place(prog)
    assert prog.placement == pl.as_dict()
    assert pl.cores_used == -(-20000 // NEURONS_PER_CORE) == 3
    assert all(c.neurons <= NEURONS_PER_CORE for c in pl.cores)
    assert pl.chips == 1
    _covers(prog.placement, prog)
    assert prog.placement["host_inputs"] == ["x"]
    assert all(c["estimated"] for c in prog.placement["cores"])
    assert "synapse_bytes_per_core" in prog.placement["limits"]["estimated"]


def test_dense_memory_limit_matches_documented_model():
    n_pre, n_post = 1000, 1000
    b = Loihi2Builder()
    b.input("x", n_pre)
    _lif(b, "h", n_post)
    b.dense("x", "h", np.ones((n_post, n_pre), np.int64), num_weight_bits=8, name="w")
    prog = b.build()
    budget = 128 * 1024
    pl = place(prog, synapse_bytes_per_core=budget)
    per_neuron_bits = n_pre * 8  # zeros are stored too in a dense row
    for c in pl.cores:
        bits = per_neuron_bits * c.neurons + HEADER_BITS
        assert c.synapse_bytes == -(-bits // 8) <= budget
    # greedy and maximal: every full core could not take one more neuron
    for c in pl.cores[:-1]:
        assert per_neuron_bits * (c.neurons + 1) + HEADER_BITS > budget * 8
    _covers(prog.placement, prog)


def test_sparse_bytes_recounted_from_coo():
    rng = np.random.default_rng(3)
    n_pre, n_post, m = 500, 3000, 40000
    key = rng.choice(n_pre * n_post, m, replace=False)
    pre, post = key % n_pre, key // n_pre
    b = Loihi2Builder()
    b.input("x", n_pre)
    _lif(b, "h", n_post)
    b.sparse(
        "x",
        "h",
        rng.integers(1, 100, m),
        pre_index=pre,
        post_index=post,
        num_weight_bits=6,
        delays=rng.integers(0, 5, m),
        name="s",
    )
    prog = b.build()
    pl = place(prog, synapse_bytes_per_core=4096, neurons_per_core=1000)
    for c in pl.cores:
        fan_in = int(np.count_nonzero((post >= c.start) & (post < c.stop)))
        bits = fan_in * (6 + 13 + 6) + HEADER_BITS
        assert c.synapse_bytes == -(-bits // 8) <= 4096
        assert c.neurons <= 1000
    _covers(prog.placement, prog)
    assert prog.placement["populations"]["h"]["synapses"] == m


def test_single_neuron_too_big_names_layer_resource_excess():
    n_pre = 200_000
    b = Loihi2Builder()
    b.input("x", n_pre)
    _lif(b, "wide", 2)
    b.dense("x", "wide", np.ones((2, n_pre), np.int8), name="fc_wide")
    prog = b.build()
    with pytest.raises(ResourceError) as ei:
        place(prog)
    err = ei.value
    need = -(-(n_pre * 8 + HEADER_BITS) // 8)
    msg = str(err)
    assert err.node == "wide" and err.parameter == "synapse_bytes_per_core"
    assert "fc_wide" in msg and "ESTIMATED" in msg
    assert f"by {need - 128 * 1024} bytes" in msg


def test_max_chips_exceeded_names_first_population_and_excess():
    b = Loihi2Builder()
    b.input("x", 1)
    _lif(b, "a", CORES_PER_CHIP * NEURONS_PER_CORE)  # exactly one chip
    _lif(b, "b", 10)
    prog = b.build()
    with pytest.raises(ResourceError) as ei:
        place(prog, max_chips=1)
    err = ei.value
    assert err.node == "b" and err.parameter == "max_chips"
    assert "over by 1 chip(s) / 1 core(s)" in str(err)
    assert place(prog, max_chips=2).chips == 2


def test_population_larger_than_a_chip_spans_chips():
    n = CORES_PER_CHIP * NEURONS_PER_CORE + 5
    b = Loihi2Builder()
    b.input("x", 1)
    _lif(b, "huge", n)
    prog = b.build()
    pl = place(prog)
    assert pl.chips == 2 and pl.cores_used == CORES_PER_CHIP + 1
    info = prog.placement["populations"]["huge"]
    assert info["spans_chips"] and info["chips"] == [0, 1]
    assert prog.placement["per_chip"][0]["neurons"] == CORES_PER_CHIP * NEURONS_PER_CORE
    assert prog.placement["per_chip"][1]["neurons"] == 5
    _covers(prog.placement, prog)


def test_chip_aligned_keeps_small_population_on_one_chip():
    b = Loihi2Builder()
    b.input("x", 1)
    _lif(b, "a", 100 * 16)  # 100 cores at 16 neurons/core
    _lif(b, "b", 50 * 16)  # 50 cores: does not fit the 28 left on chip 0
    prog = b.build()
    seq = place(prog, neurons_per_core=16, write=False)
    ali = place(prog, neurons_per_core=16, allocator="chip_aligned", write=False)
    assert seq.populations["b"]["spans_chips"] and seq.chips == 2
    assert not ali.populations["b"]["spans_chips"] and ali.populations["b"]["chips"] == [1]
    assert prog.placement == {}  # write=False leaves the Program alone


def test_interchip_synapses_counted_by_brute_force():
    rng = np.random.default_rng(5)
    b = Loihi2Builder()
    b.input("x", 8)
    _lif(b, "a", 64)
    _lif(b, "c", 64)
    w = rng.integers(0, 3, (64, 64))
    b.dense("x", "a", np.ones((64, 8), np.int64))
    b.dense("a", "c", w, name="dense_ac")
    key = rng.choice(64 * 64, 300, replace=False)
    b.sparse("c", "a", np.ones(300, np.int64), pre_index=key % 64, post_index=key // 64, name="sparse_ca")
    prog = b.build()
    pl = place(prog, neurons_per_core=8, cores_per_chip=3)
    chip = {}
    for c in pl.cores:
        for i in range(c.start, c.stop):
            chip[(c.population, i)] = c.chip
    dense_cross = sum(chip[("a", i)] != chip[("c", j)] for j in range(64) for i in range(64))
    sparse_cross = sum(chip[("c", int(i))] != chip[("a", int(j))] for i, j in zip(key % 64, key // 64))
    t = prog.placement["projections"]
    assert t["dense_ac"]["interchip_synapses"] == dense_cross
    assert t["sparse_ca"]["interchip_synapses"] == sparse_cross
    assert prog.placement["interchip_synapses"] == dense_cross + sparse_cross


def test_deterministic_and_survives_save_load(tmp_path):
    rng = np.random.default_rng(0)
    b = Loihi2Builder()
    b.input("x", 300)
    _lif(b, "h", 5000)
    _lif(b, "o", 40)
    b.dense("x", "h", rng.integers(-20, 20, (5000, 300)))
    b.dense("h", "o", rng.integers(0, 20, (40, 5000)))
    prog = b.build()
    first = place(prog).as_dict()
    second = place(prog).as_dict()
    assert first == second
    prog.save(tmp_path / "p.ncp")
    loaded = Program.load(tmp_path / "p.ncp")
    assert loaded.placement == prog.placement
    assert place(loaded, write=False).as_dict() == first
    prog.save(tmp_path / "q.ncp")
    assert (tmp_path / "p.ncp").read_bytes() == (tmp_path / "q.ncp").read_bytes()


@pytest.mark.parametrize(
    "kw",
    [
        {"neurons_per_core": 0},
        {"neurons_per_core": 8193},
        {"cores_per_chip": 129},
        {"synapse_bytes_per_core": -1},
        {"max_chips": 0},
        {"allocator": "metis"},
    ],
)
def test_bad_limits_are_typed_errors(kw):
    b = Loihi2Builder()
    b.input("x", 1)
    _lif(b, "h", 3)
    with pytest.raises(ParameterError):
        place(b.build(), **kw)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=5),
    npc=st.integers(1, 64),
    cpc=st.integers(1, 8),
    budget=st.integers(200, 2000),
    seed=st.integers(0, 2**16),
)
def test_generic_placement_properties(sizes, npc, cpc, budget, seed):
    rng = np.random.default_rng(seed)
    demands = []
    for k, n in enumerate(sizes):
        bits = rng.integers(0, budget * 8 - 200, n)  # every single neuron fits
        demands.append(PopulationDemand(f"p{k}", n, (InputDemand(f"in{k}", bits, 100, int(n)),)))
    lim = CoreLimits(neurons_per_core=npc, synapse_bytes_per_core=budget, cores_per_chip=cpc)
    pl = place_demands(demands, lim)
    assert pl.cores_used == len(pl.cores)
    assert pl.chips == -(-pl.cores_used // cpc), f"seed {seed}"
    seen = {(c.chip, c.core) for c in pl.cores}
    assert len(seen) == len(pl.cores)
    for d in demands:
        cs = [c for c in pl.cores if c.population == d.name]
        bits = d.inputs[0].bits_per_neuron
        assert cs[0].start == 0 and cs[-1].stop == d.size, f"seed {seed}"
        for a, c in zip(cs, cs[1:]):
            assert a.stop == c.start
        for c in cs:
            used = int(bits[c.start : c.stop].sum()) + 100
            assert c.neurons <= npc and used <= budget * 8, f"seed {seed}"
        for c in cs[:-1]:  # greedy: one more neuron would break a limit
            more = int(bits[c.start : c.stop + 1].sum()) + 100
            assert c.neurons == npc or more > budget * 8, f"seed {seed}"
