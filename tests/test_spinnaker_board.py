"""Virtual-board mapping with the real sPyNNaker 1!7.4.1 (marked ``spinnaker``).

Independent facts: sPyNNaker's own quantised weights (``Projection.get`` after mapping), the
ring-buffer shifts its vertices used (``get_ring_buffer_shifts``) and its actual placement. Each
sPyNNaker run costs ~10-20 s here (imports + setup), so networks are batched into few runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from spinnaker_board_cases import layered_program, random_program  # noqa: E402

from neurocompile.program import Program  # noqa: E402
from neurocompile.targets.spinnaker import board, emit, partition, spec  # noqa: E402

needs_spynnaker = pytest.mark.skipif(not board.spinnaker_available(),
                                     reason="sPyNNaker 1!7.4.1 not installed (make venvs installs it in .venv)")
pytestmark = [pytest.mark.spinnaker, needs_spynnaker]

SEEDS = list(range(32))


def _with_long_delays(prog: Program, seed: int, stages: int = 2) -> Program:
    """Every 4th network gets delays up to ``stages`` x the post core's ring-buffer slots, so
    sPyNNaker adds a delay extension (stage 1 = slots+1 .. 2*slots)."""
    if seed % 4 == 0:
        slots = spec.core_delay_slots(min(prog.populations["h"].size, 256))
        for q in prog.projections.values():
            if q.pre == "src":
                rng = np.random.default_rng(1000 + seed)
                q.params["delays"] = rng.integers(1, stages * slots + 1, q.params["delays"].size)
    return prog


def test_weights_and_shifts_of_32_random_networks_equal_spynnakers():
    """Program w16/delays/shifts == what sPyNNaker computed for the same networks (one run, 32 nets),
    including zero weights, the w16 extremes 1 and 65535, inhibitory projections, recurrent
    projections, IF_curr_delta populations and delay-extension delays."""
    progs = []
    for s in SEEDS:
        p = _with_long_delays(random_program(s), s)
        q = p.projections["src_h_exc"]
        if q.params["w16"].size >= 3:
            q.params["w16"][:3] = [0, 1, 65535]
        progs.append(p)
    m = board.map_on_board(progs)
    assert len({c.program for c in m.shift_checks}) == len(SEEDS)
    bad = [c.as_dict() for c in m.projection_checks if not c.ok]
    assert not bad, f"weight/delay readback differs (seeds = program index): {bad}"
    bad = [c.as_dict() for c in m.shift_checks if not c.ok]
    assert not bad, f"ring-buffer shifts differ (seeds = program index): {bad}"
    assert sum(c.synapses for c in m.projection_checks) > 5000
    # the partition estimate of each network adds up to sPyNNaker's cores (incl. delay extensions)
    est = sum(partition.estimate_cores(p) for p in progs)
    assert est == m.cores_used, (est, m.cores_used)
    assert any(c["kind"] == "delay_extension" for c in m.cores)


def test_known_spynnaker_readback_bug_beyond_the_first_delay_stage():
    """sPyNNaker 7.4.1 quirk (found here): for synapses whose delay lies in the 2nd or a later
    delay-extension stage (> 2 x slots), ``Projection.get`` returns shifted pre indices and drops
    some synapses, while delays up to 2 x slots read back exactly (the test above). Asserted so a
    fix upstream is noticed; the board check reports such projections as mismatches."""
    prog = _with_long_delays(random_program(0), 0, stages=3)
    m = board.map_on_board(prog)
    bad = {c.projection for c in m.projection_checks if not c.ok}
    assert bad == {"src_h_exc", "src_h_inh"}, [c.as_dict() for c in m.projection_checks]
    assert m.shifts_ok


def test_weights_at_tick_0_1_ms():
    progs = [random_program(100 + s, tick_ms=0.1) for s in range(4)]
    m = board.map_on_board(progs)
    assert m.weights_ok and m.shifts_ok, [c.as_dict() for c in m.projection_checks + m.shift_checks if not c.ok]
    # below 1 ms sPyNNaker splits neuron and synapse cores; the estimate models it
    assert sum(partition.estimate_cores(p) for p in progs) == m.cores_used


def test_unpinned_shifts_and_float_weights_equal_the_builders_host_port():
    """With nothing pinned and arbitrary float weights, sPyNNaker's statistical shift rule and its
    ``rint(|w| * scale)`` must equal H7's port (builder.host_ring_buffer_shifts / quantize_weights)."""
    builder = pytest.importorskip("neurocompile.targets.spinnaker.builder")
    if not hasattr(builder, "host_ring_buffer_shifts") or not hasattr(builder, "quantize_weights"):
        pytest.skip("builder has no host shift port yet")
    progs = [random_program(200 + s) for s in range(10)]
    net, arrays = board.merged_network(progs, [None] * len(progs), None)
    rng = np.random.default_rng(7)
    for j, q in enumerate(net["projections"]):
        n = arrays[f"proj{j}.weight"].size
        mag = rng.choice([0.01, 0.3, 2.0, 9.0]) * rng.random(n)
        arrays[f"proj{j}.weight"] = -mag if q["receptor"] == "inhibitory" else mag
        if j % 3 == 0:  # equal delays: sPyNNaker's "max(total, biggest)" branch
            arrays[f"proj{j}.delay"] = np.full(n, 2.0)
    for p in net["populations"]:
        if "max_expected_summed_weight" in p:
            p["max_expected_summed_weight"] = None
    _, rb = board.run_worker(net, arrays)
    checked = 0
    for k, p in enumerate(net["populations"]):
        if p["model"] == "SpikeSourceArray":
            continue
        incoming = [(q["receptor"], arrays[f"proj{j}.post"], arrays[f"proj{j}.weight"],
                     np.rint(arrays[f"proj{j}.delay"] / net["tick_ms"]).astype(np.int64))
                    for j, q in enumerate(net["projections"]) if q["post"] == p["label"]]
        ours = builder.host_ring_buffer_shifts(incoming, tick_ms=net["tick_ms"])
        theirs = [int(s) for s in rb[f"pop{k}.ring_buffer_shifts"]]
        assert list(ours.shifts) == theirs, (p["label"], ours.as_dict(), theirs)
        for j, q in enumerate(net["projections"]):
            if q["post"] != p["label"]:
                continue
            shift = theirs[emit.RECEPTORS.index(q["receptor"])]
            w16, _ = builder.quantize_weights(arrays[f"proj{j}.weight"], shift)
            order = np.lexsort((arrays[f"proj{j}.post"], arrays[f"proj{j}.pre"]))
            got = np.abs(rb[f"proj{j}.weight"]) * emit.weight_scale(shift)
            got_order = np.lexsort((rb[f"proj{j}.post"], rb[f"proj{j}.pre"]))
            np.testing.assert_array_equal(np.rint(got[got_order]).astype(np.int64), w16[order], err_msg=q["label"])
            checked += 1
    assert checked >= 15


def test_core_estimate_within_10_percent_of_spynnaker_1k_to_5k_neurons():
    """1k..5k-neuron networks (sources + LIF), with delay extensions and 128 neurons per core
    (the 20k-neuron case runs in ``make bench``). Chips are a lower bound: sPyNNaker's application
    placer starts each population on a fresh start chip and spills onto neighbours, leaving holes."""
    nets = [
        layered_program([500, 500], p=0.02, seed=1),                       # 1k
        layered_program([1000, 2000, 1000], p=0.005, seed=2),              # 4k
        layered_program([1000, 1500, 500], p=0.005, seed=3, max_delay=60),  # 3k, delay extensions
        layered_program([2000, 3000], p=0.003, seed=4, npc=128),           # 5k, 128 per core
    ]  # 10k + 10k (20k neurons) costs ~90 s of host synapse generation: benchmarks/bench_spinnaker.py
    m = board.map_on_board(nets, readback=False)
    actual_per_net = [0] * len(nets)
    for c in m.cores:
        actual_per_net[int(c["population"].split("_")[0][1:])] += 1
    for i, prog in enumerate(nets):
        est = partition.place(prog, write=False)
        n = sum(p.size for p in prog.populations.values())
        assert abs(est.cores_used - actual_per_net[i]) <= 0.1 * actual_per_net[i], \
            f"net {i} ({n} neurons): estimate {est.cores_used} cores, sPyNNaker {actual_per_net[i]}"
    assert m.routing_entries_max <= 1023
    # chips: the networks together, filled in sPyNNaker's order
    total_est = sum(partition.estimate_cores(p) for p in nets)
    assert abs(total_est - m.cores_used) <= 0.1 * m.cores_used
    est_chips = 1 + -(-max(0, total_est - spec.APP_CORES_ETHERNET_CHIP) // spec.APP_CORES_PER_CHIP)
    assert est_chips <= m.chips <= 2 * est_chips, (est_chips, m.chips, m.cores_used)


def test_run_backend_spinnaker_says_no_spikes(tmp_path):
    from typer.testing import CliRunner

    import neurocompile.cli.commands  # noqa: F401  (registers the commands)
    from neurocompile.cli.main import app

    prog = random_program(3)
    path = tmp_path / "p.ncp"
    prog.save(path)
    x = (np.random.default_rng(0).random((1, 20, prog.populations["src"].size)) < 0.2).astype(np.uint8)
    np.savez(tmp_path / "in.npz", input=x)
    res = CliRunner().invoke(app, ["run", str(path), "--backend", "spinnaker", "--input", str(tmp_path / "in.npz"),
                                   "--output", str(tmp_path / "out.npz")])
    assert res.exit_code == 0, res.output
    assert "mapping-only" in res.output and "no spikes" in res.output
    with np.load(tmp_path / "out.npz", allow_pickle=False) as f:
        assert "output" not in f.files  # a virtual board produces no outputs
        meta = str(f["__meta__"])
    assert '"weights_ok": true' in meta and '"shifts_ok": true' in meta


def _compile(model, **kw):
    import neurocompile

    return neurocompile.compile(model, target="spinnaker", reset="zero", **kw)


def test_paper_lif_task_maps_on_the_virtual_board(paper_data):
    prog = _compile(paper_data / "01_lif" / "lif_norse.nir", dt=1e-4, tick_ms=0.1)
    m = board.map_on_board(prog)
    assert m.weights_ok and m.shifts_ok
    est = partition.place(prog, write=False)
    assert est.cores_used == m.cores_used


def test_cnn_sinabs_maps_on_the_virtual_board(paper_data):
    prog = _compile(paper_data / "02_cnn" / "cnn_sinabs.nir", dt=1.0)
    m = board.map_on_board(prog)
    assert m.weights_ok and m.shifts_ok, [c.as_dict() for c in m.projection_checks + m.shift_checks if not c.ok]
    est = partition.place(prog, write=False)
    assert abs(est.cores_used - m.cores_used) <= 0.1 * m.cores_used, (est.cores_used, m.cores_used)
