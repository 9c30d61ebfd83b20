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
from conftest import paper_data_dir  # noqa: E402
from spinnaker_board_cases import layered_program, per_neuron_program, random_program  # noqa: E402

from neurocompile.program import Program  # noqa: E402
from neurocompile.targets.spinnaker import board, emit, partition, spec  # noqa: E402

needs_spynnaker = pytest.mark.skipif(
    not board.spinnaker_available(),
    reason="sPyNNaker 1!7.4.1 not installed (make venvs installs it in .venv)",
)
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


def _compile(model, **kw):
    import neurocompile

    return neurocompile.compile(model, target="spinnaker", reset="zero", **kw)


def _random_32() -> list[Program]:
    progs = []
    for s in SEEDS:
        p = _with_long_delays(random_program(s), s)
        q = p.projections["src_h_exc"]
        if q.params["w16"].size >= 3:
            q.params["w16"][:3] = [0, 1, 65535]
        progs.append(p)
    return progs


def _layered() -> list[Program]:
    """1k..5k-neuron networks (the 20k-neuron case runs in ``make bench``: ~90 s of host synapse
    generation), with delay extensions and 128 neurons per core."""
    return [
        layered_program([500, 500], p=0.02, seed=1),  # 1k
        layered_program([1000, 2000, 1000], p=0.005, seed=2),  # 4k
        layered_program([1000, 1500, 500], p=0.005, seed=3, max_delay=60),  # 3k, delay extensions
        layered_program([2000, 3000], p=0.003, seed=4, npc=128),  # 5k, 128 per core
    ]


def _paper(rel: str) -> Path | None:
    path = paper_data_dir() / rel
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def tick1():
    """ONE sPyNNaker run at 1 ms holding every 1 ms network of this module (each run costs
    ~10-20 s of imports and setup here): 32 random nets, the stage-3 delay net, 4 nets with
    per-neuron cell parameters, 4 layered nets and the paper's cnn_sinabs. Returns ``(groups {name:
    [program indices]}, programs, mapping)``."""
    groups, progs = {}, []
    for name, items in (
        ("random", _random_32()),
        ("stage3", [_with_long_delays(random_program(0), 0, stages=3)]),
        ("per_neuron", [per_neuron_program(s) for s in range(4)]),
        ("layered", _layered()),
        ("cnn", [_compile(cnn, dt=1.0)] if (cnn := _paper("02_cnn/cnn_sinabs.nir")) else []),
    ):
        groups[name] = list(range(len(progs), len(progs) + len(items)))
        progs += items
    return groups, progs, board.map_on_board(progs)


@pytest.fixture(scope="module")
def tick01():
    """ONE run at 0.1 ms: 4 random nets and the NIR paper LIF task (--dt 1e-4 --tick-ms 0.1)."""
    progs = [random_program(100 + s, tick_ms=0.1) for s in range(4)]
    if (lif := _paper("01_lif/lif_norse.nir")) is not None:
        progs.append(_compile(lif, dt=1e-4, tick_ms=0.1))
    return progs, board.map_on_board(progs)


def _cores_of(m: board.BoardMapping, index: int, n_programs: int) -> int:
    prefix = f"n{index}_"
    return sum(1 for c in m.cores if c["population"].startswith(prefix))


def test_weights_and_shifts_of_32_random_networks_equal_spynnakers(tick1):
    """Program w16/delays/shifts == what sPyNNaker computed for the same networks (32 nets),
    including zero weights, the w16 extremes 1 and 65535, inhibitory projections, recurrent
    projections, IF_curr_delta populations and delay-extension delays (up to 2 x slots)."""
    groups, progs, m = tick1
    idx = set(groups["random"])
    pc = [c for c in m.projection_checks if c.program in idx]
    sc = [c for c in m.shift_checks if c.program in idx]
    assert len({c.program for c in sc}) == len(SEEDS)
    bad = [c.as_dict() for c in pc if not c.ok]
    assert not bad, f"weight/delay readback differs (program index = seed): {bad}"
    bad = [c.as_dict() for c in sc if not c.ok]
    assert not bad, f"ring-buffer shifts differ (program index = seed): {bad}"
    assert sum(c.synapses for c in pc) > 5000
    # the partition estimate of each network equals sPyNNaker's cores (incl. delay extensions)
    for i in idx:
        assert partition.estimate_cores(progs[i]) == _cores_of(m, i, len(progs)), f"seed {i}"
    assert any(c["kind"] == "delay_extension" and c["population"].startswith("n0_") for c in m.cores)


def test_per_neuron_parameters_equal_spynnakers(tick1):
    """Every neuron's cell parameters as sPyNNaker holds them after mapping (``Population.get``)
    equal the Programs' (issue 10 item 4): the 4 nets with one value per neuron of every parameter
    and all other nets of the run; their weights and shifts too."""
    groups, progs, m = tick1
    assert m.parameters_ok, m.parameter_mismatches[:10]
    for i in groups["per_neuron"]:
        pops = [p for p in progs[i].populations.values() if p.kind != "spike_source"]
        assert all(
            np.ndim(p.params["tau_m"]) == 1 and np.unique(p.params["tau_m"]).size > 1
            for p in pops
            if p.size > 1
        )
    idx = set(groups["per_neuron"])
    assert all(c.ok for c in m.projection_checks if c.program in idx)
    assert all(c.ok for c in m.shift_checks if c.program in idx)


def test_known_spynnaker_readback_bug_beyond_the_first_delay_stage(tick1):
    """sPyNNaker 7.4.1 quirk (found here): for synapses whose delay lies in the 2nd or a later
    delay-extension stage (> 2 x slots), ``Projection.get`` returns shifted pre indices and drops
    some synapses, while delays up to 2 x slots read back exactly (the test above). Cause:
    synapse_io.get_synapses writes delayed rows with stride max_atoms_per_core, _convert_delayed_data
    reads them with stride n_pre_atoms (docs/targets/spinnaker-board.md). Asserted so a fix upstream
    is noticed; the board check reports such projections as mismatches."""
    groups, progs, m = tick1
    (i,) = groups["stage3"]
    bad = {c.projection for c in m.projection_checks if c.program == i and not c.ok}
    assert bad == {"src_h_exc", "src_h_inh"}, [c.as_dict() for c in m.projection_checks if c.program == i]
    assert all(c.beyond_first_delay_stage for c in m.projection_checks if c.program == i and not c.ok)
    assert not any(c.beyond_first_delay_stage for c in m.projection_checks if c.program in groups["random"])
    assert all(c.ok for c in m.shift_checks if c.program == i)


def test_core_estimate_within_10_percent_of_spynnaker_1k_to_5k_neurons(tick1):
    """Chips are only bounded: sPyNNaker's application placer starts each population on a start
    chip and spills onto neighbours, leaving holes; our fill is a lower bound."""
    groups, progs, m = tick1
    for i in groups["layered"]:
        est = partition.place(progs[i], write=False).cores_used
        actual = _cores_of(m, i, len(progs))
        n = sum(p.size for p in progs[i].populations.values())
        assert abs(est - actual) <= 0.1 * actual, (
            f"net {i} ({n} neurons): estimate {est} cores, sPyNNaker {actual}"
        )
    assert m.routing_entries_max <= spec.ROUTER_ENTRIES_USABLE
    total_est = sum(partition.estimate_cores(p) for p in progs)
    assert abs(total_est - m.cores_used) <= 0.1 * m.cores_used
    est_chips = 1 + -(-max(0, total_est - spec.APP_CORES_ETHERNET_CHIP) // spec.APP_CORES_PER_CHIP)
    assert est_chips <= m.chips <= 2 * est_chips, (est_chips, m.chips, m.cores_used)


def test_cnn_sinabs_maps_on_the_virtual_board(tick1):
    groups, progs, m = tick1
    if not groups["cnn"]:
        pytest.skip(f"NIR paper data not found at {paper_data_dir()}")
    (i,) = groups["cnn"]
    assert all(c.ok for c in m.projection_checks if c.program == i), [
        c.as_dict() for c in m.projection_checks if c.program == i and not c.ok
    ]
    assert all(c.ok for c in m.shift_checks if c.program == i)
    est, actual = partition.estimate_cores(progs[i]), _cores_of(m, i, len(progs))
    assert abs(est - actual) <= 0.1 * actual, (est, actual)


def test_weights_at_tick_0_1_ms_and_the_paper_lif_task(tick01):
    progs, m = tick01
    assert m.weights_ok and m.shifts_ok, [
        c.as_dict() for c in m.projection_checks + m.shift_checks if not c.ok
    ]
    # below 1 ms sPyNNaker splits neuron and synapse cores; the estimate models it
    for i, p in enumerate(progs):
        assert partition.estimate_cores(p) == _cores_of(m, i, len(progs)), i
    if _paper("01_lif/lif_norse.nir") is None:
        pytest.skip(f"NIR paper data not found at {paper_data_dir()} (random nets passed)")
    assert any(c.program == len(progs) - 1 for c in m.shift_checks)  # the LIF task was checked


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
        incoming = [
            (
                q["receptor"],
                arrays[f"proj{j}.post"],
                arrays[f"proj{j}.weight"],
                np.rint(arrays[f"proj{j}.delay"] / net["tick_ms"]).astype(np.int64),
            )
            for j, q in enumerate(net["projections"])
            if q["post"] == p["label"]
        ]
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
            np.testing.assert_array_equal(
                np.rint(got[got_order]).astype(np.int64), w16[order], err_msg=q["label"]
            )
            checked += 1
    assert checked >= 15


def test_run_backend_spinnaker_says_no_spikes(tmp_path):
    from typer.testing import CliRunner

    import neurocompile.cli.commands  # noqa: F401  (registers the commands)
    from neurocompile.cli.main import app

    prog = random_program(3)
    path = tmp_path / "p.ncp"
    prog.save(path)
    x = (np.random.default_rng(0).random((1, 20, prog.populations["src"].size)) < 0.2).astype(np.uint8)
    np.savez(tmp_path / "in.npz", input=x)
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(path),
            "--backend",
            "spinnaker",
            "--input",
            str(tmp_path / "in.npz"),
            "--output",
            str(tmp_path / "out.npz"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "mapping-only" in res.output and "no spikes" in res.output
    with np.load(tmp_path / "out.npz", allow_pickle=False) as f:
        assert "output" not in f.files  # a virtual board produces no outputs
        meta = str(f["__meta__"])
    assert '"weights_ok": true' in meta and '"shifts_ok": true' in meta
