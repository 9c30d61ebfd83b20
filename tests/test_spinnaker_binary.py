"""sPyNNaker 1!7.4.1's own ARM binaries on an emulated SpiNNaker-1 core (targets/spinnaker/binary)
against the numba emulator, tick for tick.

One sPyNNaker virtual-board run (data-spec writer kept) maps every network of this module; each
network's neuron cores then run their ``.aplx`` on unicorn and the same Program runs on the
emulator. Milestones: (a) start-up to the dispatcher's WFI, (b) i_offset only, (c) input spikes as
multicast packets through static projections with delays, (d) 100 random networks (seeds 0..99,
fixed here), whose summary table is the one in docs/targets/spinnaker-binary.md.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

for _mod, _why in (
    ("unicorn", "unicorn (PyPI) is not installed: it runs the ARM binaries"),
    ("spynnaker", "sPyNNaker 1!7.4.1 is not installed: it ships the binaries and writes their data"),
):
    if importlib.util.find_spec(_mod) is None:
        pytest.skip(_why, allow_module_level=True)

from neurocompile.program import OutputSpec, Population, Program, Projection  # noqa: E402
from neurocompile.targets.spinnaker.binary import app, compare, dsg  # noqa: E402
from neurocompile.targets.spinnaker.binary import core as C  # noqa: E402

pytestmark = [pytest.mark.binary, pytest.mark.spinnaker]

STEPS = 60
SEEDS = list(range(100))  # fixed before any run
STDP_SEEDS = list(range(40))  # variant = seed % 4: pair add / pair mult / Pfister triplet / delta pair add
MULTICORE_SEEDS = list(range(10))  # networks 1000.. with 4 neurons per core
SPLIT_SEEDS = list(range(30))  # 0.1 ms tick: split neuron + synapse cores
SPLIT_STDP_SEEDS = list(range(20))  # 0.1 ms STDP: synapses_stdp_* + *_neuron cores, variant = seed % 4
DOC = Path(__file__).resolve().parents[1] / "docs" / "targets" / "spinnaker-binary.md"


def _lif(name, size, i_offset, shifts=(5, 3)):
    return Population(
        name,
        "if_curr_exp",
        (size,),
        {
            "cm": 1.0,
            "tau_m": 20.0,
            "v_rest": -65.0,
            "v_reset": -70.0,
            "v_thresh": -50.0,
            "tau_refrac": 2.0,
            "tau_syn_E": 5.0,
            "tau_syn_I": 5.0,
            "i_offset": np.asarray(i_offset, dtype=np.float64),
            "v_init": np.full(size, -65.0),
            "ring_buffer_shifts": list(shifts),
            "neurons_per_core": 256,
        },
    )


def offset_only() -> tuple[Program, dict]:
    """(b): one LIF population driven by i_offset alone (one neuron below threshold); the silent
    spike source only gives the emulator its input port."""
    prog = Program(target="spinnaker", semantics={"tick_ms": 1.0, "dt": 1.0, "hop_delay": 1})
    prog.populations["src"] = Population("src", "spike_source", (1,))
    prog.inputs["input"] = "src"
    prog.populations["lif"] = _lif("lif", 4, [0.5, 0.8, 1.5, 3.0])
    prog.outputs["out"] = OutputSpec("lif", "spikes")
    return prog, {"input": np.zeros((1, STEPS, 1), np.uint8)}


def spikes_and_delays() -> tuple[Program, dict]:
    """(c): two source neurons -> LIF through excitatory and inhibitory static synapses, delays 1..7."""
    prog = Program(target="spinnaker", semantics={"tick_ms": 1.0, "dt": 1.0, "hop_delay": 1})
    prog.populations["src"] = Population("src", "spike_source", (2,))
    prog.inputs["input"] = "src"
    prog.populations["lif"] = _lif("lif", 3, [0.0, 0.2, 0.0])
    prog.projections["exc"] = Projection(
        "exc",
        "src",
        "lif",
        "from_list",
        {
            "pre": np.array([0, 1, 0]),
            "post": np.array([0, 1, 2]),
            "w16": np.array([5120, 3072, 8000]),
            "delays": np.array([1, 3, 7]),
            "receptor": "excitatory",
        },
    )
    prog.projections["inh"] = Projection(
        "inh",
        "src",
        "lif",
        "from_list",
        {
            "pre": np.array([1]),
            "post": np.array([0]),
            "w16": np.array([9000]),
            "delays": np.array([2]),
            "receptor": "inhibitory",
        },
    )
    prog.outputs["out"] = OutputSpec("lif", "spikes")
    x = np.zeros((1, STEPS, 2), np.uint8)
    x[0, [2, 5, 9, 10, 11, 30], 0] = 1
    x[0, [5, 6, 7, 8, 20], 1] = 1
    return prog, {"input": x}


def plastic_delay_at_ring_size() -> tuple[Program, dict]:
    """Two STDP synapses, delays 8 and 3 (max 8 -> 8 delay slots), and a static one of delay 8 into a
    third neuron; pre spikes only (no post spike, so no weight changes)."""
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    b = SpiNNakerBuilder(1.0)
    b.spike_source("pre", 3)
    b.if_curr_exp("post", 3, ring_buffer_shifts=[4, 2])
    block = dict(
        timing="spike_pair",
        weight="additive",
        tau_plus=20.0,
        tau_minus=20.0,
        A_plus=0.05,
        A_minus=0.06,
        w_min=0.0,
        w_max=1.5,
    )
    b.stdp(
        "pre",
        "post",
        pre_idx=[0, 1],
        post_idx=[0, 1],
        w16=[2000, 2000],
        delays=[8, 3],
        plasticity=block,
        name="plastic",
    )
    b.from_list("pre", "post", pre_idx=[2], post_idx=[2], w16=[2000], delays=[8], name="static")
    prog = b.build({"out": ("post", "spikes")})
    x = np.zeros((1, STEPS, 3), np.uint8)
    x[0, [2, 20, 33], :] = 1
    return prog, {"pre": x}


@pytest.fixture(scope="module")
def mapped():
    """Every network of this module in one sPyNNaker virtual-board run (prefixes n0_, n1_, ...)."""
    nets = [offset_only(), spikes_and_delays()]
    nets += [(p, x) for _, _, p, x in compare.networks(SEEDS, STDP_SEEDS, STEPS, MULTICORE_SEEDS)]
    nets.append(plastic_delay_at_ring_size())
    ds = dsg.generate([p for p, _ in nets], [x for _, x in nets], STEPS)
    return nets, ds


def test_aplx_table_matches_the_wheel():
    img = (app.binaries_dir() / "IF_curr_exp.aplx").read_bytes()
    table = [struct.unpack_from("<4I", img, 16 * i) for i in range(4)]
    assert [t[0] for t in table] == [2, 2, 3, 4]  # RCOPY ITCM, RCOPY DTCM, FILL ZI, EXEC
    ro, rw = table[0][3], table[1][3]
    assert table[0][1:3] == (0, 0x40) and table[1][1] == C.DTCM
    assert len(img) == 0x40 + ro + rw  # header + RO + RW (mkaplx)


def test_a_startup_runs_to_the_dispatcher_wfi(mapped):
    nets, ds = mapped
    spec = next(c for c in ds.cores if c.population == "n0_lif")
    core = C.Core((app.binaries_dir() / spec.binary).read_bytes(), phys=spec.p, virt=spec.p)
    core.sdram_heap(120 << 20)
    app.load_regions(core, spec)
    assert core.run() == "idle"
    assert core.pc in core.wfi
    assert core.state() == C.CPU_STATE_PAUSE and core.rt_code() == 0
    assert not core.unknown
    # after CMD_RUNTIME the app runs its timer (T1 CONTROL 0xe2, TIMER1 enabled in the VIC)
    app.start_run(core, app.system_region(spec)[2], STEPS)
    assert core.timer[0]["control"] == 0xE2 and core.vic.enable & (1 << C.TIMER1_INT)


def _check(r: compare.NetworkResult, what: str) -> None:
    assert r.ok, (
        f"{what} (seed {r.seed}): {r.v_mismatches} V, {r.spike_mismatches} spike and "
        f"{r.weight_mismatches} final-weight mismatches in {r.neurons} neurons x {r.ticks} ticks; "
        f"first: {r.first_mismatch}"
    )


def test_b_i_offset_only(mapped):
    nets, ds = mapped
    prog, x = nets[0]
    r, _, _ = compare.compare_one(-1, prog, x, ds, STEPS, "n0_")
    _check(r, "i_offset only")
    assert 0 < r.spikes_binary and r.packets == 0


def test_c_spikes_as_multicast_packets_with_delays(mapped):
    nets, ds = mapped
    prog, x = nets[1]
    r, _, _ = compare.compare_one(-2, prog, x, ds, STEPS, "n1_")
    _check(r, "spikes and delays")
    assert r.packets == int(x["input"].sum()) and r.spikes_binary > 0


def test_d_random_networks_tick_for_tick(mapped):
    nets, ds = mapped
    summary = compare.Summary()
    for k, seed in enumerate(SEEDS):
        prog, x = nets[2 + k]
        r, _, _ = compare.compare_one(seed, prog, x, ds, STEPS, f"n{2 + k}_")
        _check(r, "random network")
        summary.networks.append(r)
    assert sum(r.packets for r in summary.networks) > 0
    assert sum(r.spikes_binary for r in summary.networks) > 0
    kinds = {b for r in summary.networks for b in r.binaries.values()}
    assert {"IF_curr_exp.aplx", "IF_curr_delta.aplx"} <= kinds
    # the page's table is this run's (python -m neurocompile.targets.spinnaker.binary.compare --doc ...)
    assert compare.doc_block(DOC, compare.DOC_BLOCK) == summary.table().strip()


def test_e_stdp_variants_tick_for_tick_and_final_weights(mapped):
    nets, ds = mapped
    summary = compare.Summary()
    off = 2 + len(SEEDS)
    for k, seed in enumerate(STDP_SEEDS):
        prog, x = nets[off + k]
        r, _, _ = compare.compare_one(seed, prog, x, ds, STEPS, f"n{off + k}_")
        _check(r, f"STDP network, variant {compare.STDP_VARIANTS[seed % 4]}")
        summary.networks.append(r)
    kinds = {b for r in summary.networks for b in r.binaries.values()}
    assert kinds == {
        "IF_curr_exp_stdp_mad_pair_additive.aplx",
        "IF_curr_exp_stdp_mad_pair_multiplicative.aplx",
        "IF_curr_exp_stdp_mad_pfister_triplet_additive.aplx",
        "IF_curr_delta_stdp_mad_pair_additive.aplx",
    }
    # learning happened (weights moved) and every plastic synapse was found in the rows
    assert sum(r.weights_changed for r in summary.networks) > 0
    assert all(r.weights_compared == r.synapses - r.neurons for r in summary.networks)
    # networks with a plastic synapse the binaries drop (test_f) are among them, and equal
    assert sum(1 for r in summary.networks if r.ring_size_plastic) > 0
    assert compare.doc_block(DOC, compare.DOC_BLOCK_STDP) == summary.table().strip()


def test_f_stdp_binaries_drop_a_plastic_delay_equal_to_the_ring_size(mapped):
    """sPyNNaker 7.4.1 sizes the ring buffer to 2**get_n_bits(max delay) slots: 8 for a maximum delay
    of 8. The static path still delivers delay 8; the STDP binary masks it to 0 and never delivers
    it (the emulator models this: spec.stdp_row_delay; test_f_emulator_equals_binary_on_that_network)."""
    from neurocompile.targets.spinnaker.binary.run import run_binaries
    from neurocompile.targets.spinnaker.emulator.run import run_program

    nets, ds = mapped
    k = len(nets) - 1
    prog, x = nets[k]
    assert compare.ring_size_plastic_synapses(prog) == 1
    syn_params = next(c for c in ds.cores if c.population == f"n{k}_post").regions[4].content
    assert struct.unpack_from("<I", syn_params, 16)[0] == 3  # log_max_delay: 8 slots
    br = run_binaries(ds, prog, {"pre": x["pre"][0]}, STEPS, prefix=f"n{k}_")
    v = br.v["post"]
    assert np.all(v[:, 0] == v[0, 0])  # delay-8 plastic synapse: no input ever reaches neuron 0
    assert np.any(v[:, 1] != v[0, 1]) and np.any(v[:, 2] != v[0, 2])  # delay 3 plastic, delay 8 static
    # the binary equals the emulator once that synapse's weight is 0 (no post spikes: no learning)
    zero = prog.projections["plastic"].params["w16"].copy()
    zero[0] = 0
    prog.projections["plastic"].params["w16"] = zero
    try:
        res = run_program(prog, x, record=[("post", "v"), ("post", "spikes")])
    finally:
        prog.projections["plastic"].params["w16"][0] = 2000
    ev = np.rint(np.asarray(res.recordings["post.v"])[0] * 32768).astype(np.int64)
    assert np.array_equal(ev, v)
    assert np.array_equal(np.asarray(res.recordings["post.spikes"])[0], br.spikes["post"])


def test_f_emulator_equals_binary_on_that_network(mapped):
    """The emulator masks the plastic delay as the binaries do (spec.stdp_row_delay): tick for tick
    and final weights equal on test_f's network, and its row delay for that synapse is 0."""
    from neurocompile.targets.spinnaker.emulator.stdp import StdpPlan

    nets, ds = mapped
    k = len(nets) - 1
    prog, x = nets[k]
    sp = StdpPlan(prog)
    assert sp.n_dropped == 1 and sp.ps_del[sp.where["plastic"][0]] == 0
    r, _, _ = compare.compare_one(-3, prog, x, ds, STEPS, f"n{k}_")
    _check(r, "plastic delay = ring size")


@pytest.fixture(scope="module")
def mapped_split():
    """The 0.1 ms networks in a second sPyNNaker run (one run has one timestep)."""
    nets = [(p, x) for _, _, p, x in compare.split_networks(SPLIT_SEEDS, STEPS, SPLIT_STDP_SEEDS)]
    return nets, dsg.generate([p for p, _ in nets], [x for _, x in nets], STEPS)


def test_g_split_neuron_and_synapse_cores_tick_for_tick(mapped_split):
    """Below 1 ms sPyNNaker puts each population on a neuron core (IF_curr_*_neuron.aplx) and a
    synapse core (synapses.aplx) sharing an SDRAM buffer: the synapse core busy-polls for spikes
    until timer 2 ends its tick, then writes the next tick's ring-buffer slot to SDRAM; the neuron
    core reads it at its next tick."""
    nets, ds = mapped_split
    summary = compare.Summary()
    for k, seed in enumerate(SPLIT_SEEDS):
        prog, x = nets[k]
        r, _, _ = compare.compare_one(seed, prog, x, ds, STEPS, f"n{k}_")
        _check(r, "split-core network (0.1 ms)")
        summary.networks.append(r)
    assert all("synapses.aplx" in b for r in summary.networks for b in r.binaries.values())
    assert sum(r.packets for r in summary.networks) > 0 and sum(r.spikes_binary for r in summary.networks) > 0
    assert compare.doc_block(DOC, compare.DOC_BLOCK_SPLIT) == summary.table().strip()


def test_h_split_stdp_cores_tick_for_tick_and_final_weights(mapped_split):
    """STDP at 0.1 ms: the synapse core runs synapses_stdp_mad_*.aplx and hears its neuron core's
    spikes as post events; V, spikes and final plastic weights against the emulator."""
    nets, ds = mapped_split
    summary = compare.Summary()
    off = len(SPLIT_SEEDS)
    for k, seed in enumerate(SPLIT_STDP_SEEDS):
        prog, x = nets[off + k]
        r, _, _ = compare.compare_one(seed, prog, x, ds, STEPS, f"n{off + k}_")
        if not r.ring_size_plastic:  # the known difference of test_f
            _check(r, f"split STDP network, variant {compare.STDP_VARIANTS[seed % 4]}")
        summary.networks.append(r)
    assert all(r.ok or r.ring_size_plastic for r in summary.networks)
    kinds = {b for r in summary.networks for b in r.binaries.values()}
    assert {b.split(" + ")[0] for b in kinds} == {
        "synapses_stdp_mad_pair_additive.aplx",
        "synapses_stdp_mad_pair_multiplicative.aplx",
        "synapses_stdp_mad_pfister_triplet_additive.aplx",
    }
    assert sum(r.weights_changed for r in summary.networks) > 0
    assert compare.doc_block(DOC, compare.DOC_BLOCK_SPLIT_STDP) == summary.table().strip()


def test_d2_populations_over_several_cores(mapped):
    """4 neurons per core: each neuron population spans several combined cores, each with its own
    key; the post cores' population tables match the pre population's keys with a core mask."""
    nets, ds = mapped
    summary = compare.Summary()
    off = 2 + len(SEEDS) + len(STDP_SEEDS)
    for k, seed in enumerate(MULTICORE_SEEDS):
        prog, x = nets[off + k]
        r, _, _ = compare.compare_one(1000 + seed, prog, x, ds, STEPS, f"n{off + k}_")
        _check(r, "multi-core network")
        summary.networks.append(r)
    assert max(r.cores for r in summary.networks) >= 4
    assert compare.doc_block(DOC, compare.DOC_BLOCK_MULTICORE) == summary.table().strip()
