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


@pytest.fixture(scope="module")
def mapped():
    """Every network of this module in one sPyNNaker virtual-board run (prefixes n0_, n1_, ...)."""
    nets = [offset_only(), spikes_and_delays()] + [compare.random_network(s, STEPS) for s in SEEDS]
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
        f"{what} (seed {r.seed}): {r.v_mismatches} V and {r.spike_mismatches} spike mismatches in "
        f"{r.neurons} neurons x {r.ticks} ticks; first: {r.first_mismatch}"
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
    assert "IF_curr_exp.aplx" in kinds
    # the page's table is this run's (python -m neurocompile.targets.spinnaker.binary.compare --doc ...)
    text = DOC.read_text()
    block = text.split(f"<!-- {compare.DOC_BLOCK} -->\n", 1)[1].split(f"<!-- /{compare.DOC_BLOCK} -->")[0]
    assert block.strip() == summary.table().strip()
