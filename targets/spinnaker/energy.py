"""SpiNNaker 1 cost model for ``neurocompile.energy``: modelled energy and tick time, not measured.

The figures are the ones sPyNNaker 1!7.4.1 itself uses for its energy report
(``spinn_machine/version/version_spin1.py`` of spinn_machine 1!7.4.1, installed with the pinned
sPyNNaker; ``tests/test_energy.py`` checks them against that file when it is importable), with the
papers and measurements its comments cite. ``docs/energy.md`` lists them.

SpiNNaker runs in real time: every core's timer fires once per tick (the Program's ``tick_ms``,
1 ms by default) whatever the activity, so a sample of ``steps`` steps takes ``steps x tick``.
Energy per sample, as sPyNNaker's ``compute_energy_used`` charges a run without a power-monitor
recording: every chip's idle power (0.35 W) and every placed application core's active overhead
(0.034 W; sPyNNaker then counts every such core active for the whole run) for the run time, plus
1 nJ per multicast packet (25 pJ per router bit x 40 bits) counted once at the spiking neuron's
chip router and once at each other chip that holds a synapse of it (the routers on the path in
between are not counted: a lower bound). The synaptic and neuron work itself is software on the
ARM cores: its energy is inside the active-core power, not a per-operation figure; STDP updates
(sPyNNaker updates a plastic row on every pre spike) are counted but cost nothing extra.
Not modelled: tick overruns (a core whose work does not fit in the tick), monitor and host cores,
boards, frames and power supplies.
"""

from __future__ import annotations

from typing import Any

from neurocompile.energy import CostFigure, CostModel

_SM = "spinn_machine 1!7.4.1, spinn_machine/version/version_spin1.py"
_IN_VENV = "read in the installed " + _SM + " (its comment gives the source)"
CHIP = "SpiNNaker 1"
OPTIMISING = (
    '"Optimising the overall power usage on the SpiNNaker neuromimetic platform" (University of '
    "Manchester), as cited by sPyNNaker's energy model"
)
PAINKRAS_2013 = (
    "E. Painkras, L. A. Plana, J. Garside, S. Temple, F. Galluppi, C. Patterson, D. R. Lester, A. D. Brown, "
    'S. B. Furber, "SpiNNaker: A 1-W 18-Core System-on-Chip for Massively-Parallel Neural Network '
    'Simulation", IEEE Journal of Solid-State Circuits, 2013'
)
VAN_ALBADA_2018 = (
    'S. J. van Albada, A. G. Rowley, J. Senk, et al., "Performance Comparison of the Digital Neuromorphic '
    "Hardware SpiNNaker and the Neural Network Simulation Software NEST for a Full-Scale Cortical "
    'Microcircuit Model", Frontiers in Neuroscience, 2018, doi:10.3389/fnins.2018.00291'
)

FIGURES = (
    CostFigure(
        "idle_chip_power",
        0.35,
        "W",
        "idle power per chip",
        CHIP,
        OPTIMISING,
        f"{_SM}: WATTS_PER_IDLE_CHIP ('all chips on a 48-chip board together use 5.23 + 5.17 + 5.52W "
        "+ SDRAM of 0.90W = 16.82W when idle, so each chip use 0.35W')",
        _IN_VENV,
    ),
    CostFigure(
        "core_active_power",
        0.034,
        "W",
        "active overhead per application core",
        CHIP,
        "University of Manchester measurement of a boxed 48-chip board, as cited by sPyNNaker's energy model",
        f"{_SM}: WATTS_PER_CORE_ACTIVE_OVERHEAD ('31.88W idle and 59.38W active [806 cores], so 27.50W "
        "active overhead, which is 0.034W per core')",
        _IN_VENV,
    ),
    CostFigure(
        "router_bit_energy",
        25e-12,
        "J",
        "router energy per bit",
        CHIP,
        PAINKRAS_2013,
        f"{_SM}: JOULES_PER_ROUTER_BIT ('stated in papers (SpiNNaker: A 1-W 18 core system-on-Chip ...) "
        "25pJ per bit')",
        _IN_VENV + "; the paper's own text was not in the stored corpora (unverified there)",
    ),
    CostFigure(
        "packet_bits",
        40,
        "bit",
        "bits of a multicast spike packet",
        CHIP,
        PAINKRAS_2013,
        f"{_SM}: JOULES_PER_PACKET ('spike packets are 40 bits so 1nJ per spike')",
        _IN_VENV,
    ),
    CostFigure(
        "chip_peak_power",
        1.0,
        "W",
        "peak chip power, all 18 cores at 180 MHz",
        CHIP,
        PAINKRAS_2013,
        "abstract: 'a peak power consumption of 1 W when all processor cores operate at the nominal "
        "frequency of 180 MHz'",
        "read in the stored abstract page (search tool, pages corpus: apt.cs.manchester.ac.uk, EP_JSSC13)",
        "not used in the model (context for the idle and active figures)",
    ),
    CostFigure(
        "real_time_tick",
        1e-3,
        "s",
        "real-time integration step",
        CHIP,
        VAN_ALBADA_2018,
        "abstract: 'Real-time performance is achieved with 1 ms integration time steps'",
        "read in the stored article page (search tool, pages corpus: frontiersin.org, "
        "10.3389/fnins.2018.00291)",
        "the model uses the Program's own tick_ms (1 ms by default)",
    ),
)


def model(program, counts, costs: CostModel) -> dict[str, Any]:
    v = costs.value
    tick = float((program.semantics or {}).get("tick_ms", 1.0)) / 1000.0
    run_s = counts.steps * tick
    packets = counts.spikes + counts.input_spikes + counts.chip_messages
    energy = {
        "idle_chips": counts.chips * v("idle_chip_power") * run_s,
        "active_cores": counts.cores_used * v("core_active_power") * run_s,
        "packets": packets * v("router_bit_energy") * v("packet_bits"),
    }
    energy["total"] = sum(energy.values())
    latency = {"per_step_mean": tick, "per_step_max": tick, "per_sample": run_s, "tick": tick}
    notes = [
        f"real time: {counts.steps} ticks of {tick * 1e3:g} ms whatever the activity (overruns not modelled)"
    ]
    return {"energy_j": energy, "latency_s": latency, "notes": notes}


COSTS = CostModel(
    target="spinnaker",
    chip="SpiNNaker 1",
    figures=FIGURES,
    model=model,
    plastic_kinds=("stdp",),
    learning_mode="pre_spike",
    notes=(
        "sPyNNaker 1!7.4.1's own energy-model figures; synaptic and neuron work is inside the "
        "active-core power",
    ),
)

__all__ = ["COSTS", "FIGURES", "model"]
