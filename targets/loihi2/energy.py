"""Loihi 2 cost model for ``neurocompile.energy``: modelled energy and step time, not measured.

No per-operation energy or timing figure of **Loihi 2** was found in the texts checked for this
model (Intel's Loihi 2 technology brief and Timcheck, Pierro and Shrestha's 2026 runtime model of
Loihi 2 describe performance, but their stored text held no per-operation constant). The figures
below are therefore **Loihi 1's** (Davies et al. 2018, Table 2: pre-silicon SDF/SPICE
simulation, "consistent with early post-silicon characterization"), labelled as such in every
figure, report and doc. ``docs/energy.md`` lists them with where each was read.

Energy (dynamic only) per sample: synaptic operations x 23.6 pJ (Table 2's *minimum* energy per
synaptic spike op) + active neuron updates x 81 pJ + inactive x 52 pJ + spike messages to cores x
1.7 pJ (within-tile spike energy; the per-tile-hop energy of 3.0 / 4.0 pJ needs the mesh
position of every core, which the placement does not model, so inter-tile hops are left out)
+ learning updates x 120 pJ (pairwise STDP synaptic update). Static (leakage) power, the host
and embedded-CPU I/O and chip-to-chip links are not modelled.

Step time (Loihi runs unthrottled: each step takes as long as its busiest core, then a barrier):
``max over cores (synaptic ops x 3.5 ns + active neurons x 8.4 ns + inactive x 5.3 ns)
+ 2.1 ns (within-tile spike latency) + barrier``, the barrier linearly interpolated between
Table 2's 113 ns (1 tile) and 465 ns (32 tiles) with 4 cores per tile (Loihi 1: 128 cores,
1-32 tiles); beyond 32 tiles or one chip the 465 ns figure is used and a note says the
multi-chip barrier is not modelled. A lower bound in the spirit of Timcheck et al.'s max-affine
model: NoC congestion and input injection from the host are not modelled.
"""

from __future__ import annotations

import math
from typing import Any

from neurocompile.energy import CostFigure, CostModel

DAVIES_2018 = (
    'M. Davies, N. Srinivasa, T.-H. Lin, et al., "Loihi: A Neuromorphic Manycore Processor with '
    'On-Chip Learning", IEEE Micro 38(1):82-99, 2018'
)
_T2 = "Table 2 (pre-silicon SDF and SPICE simulation), p. 96"
_READ = (
    "row quoted verbatim in a stored research note (search tool, find_string 'Within-tile spike "
    "energy', file id 68967295420); the paper's own text was not in the stored corpora"
)
CHIP = "Loihi 1 (2018)"


def _f(key, value, unit, what, row, note=""):
    return CostFigure(key, value, unit, what, CHIP, DAVIES_2018, f"{_T2}: '{row}'", _READ, note)


FIGURES = (
    _f(
        "synop_energy",
        23.6e-12,
        "J",
        "energy per synaptic operation",
        "Energy per synaptic spike op (min)",
        "a minimum",
    ),
    _f(
        "synop_time",
        3.5e-9,
        "s",
        "time per synaptic operation",
        "Time per synaptic spike op (max)",
        "a maximum",
    ),
    _f(
        "learn_energy",
        120e-12,
        "J",
        "energy per learning update",
        "Energy per synaptic update (pairwise STDP)",
    ),
    _f(
        "learn_time",
        6.1e-9,
        "s",
        "time per learning update",
        "Time per synaptic update (pairwise STDP)",
        "not used: learning runs at epoch ends, outside the modelled step",
    ),
    _f(
        "neuron_active_energy",
        81e-12,
        "J",
        "energy per neuron update, active",
        "Energy per neuron update (active / inactive)",
    ),
    _f(
        "neuron_inactive_energy",
        52e-12,
        "J",
        "energy per neuron update, inactive",
        "Energy per neuron update (active / inactive)",
    ),
    _f(
        "neuron_active_time",
        8.4e-9,
        "s",
        "time per neuron update, active",
        "Time per neuron update (active / inactive)",
    ),
    _f(
        "neuron_inactive_time",
        5.3e-9,
        "s",
        "time per neuron update, inactive",
        "Time per neuron update (active / inactive)",
    ),
    _f("spike_energy", 1.7e-12, "J", "energy per spike message (within tile)", "Within-tile spike energy"),
    _f("spike_latency", 2.1e-9, "s", "spike latency within a tile", "Within-tile spike latency"),
    _f(
        "tile_hop_energy",
        3.0e-12,
        "J",
        "energy per tile hop (E-W; N-S 4.0 pJ)",
        "Energy per tile hop (E-W / N-S)",
        "not used: core positions on the mesh are not modelled",
    ),
    _f(
        "barrier_1_tile",
        113e-9,
        "s",
        "mesh-wide barrier sync, 1 tile",
        "Mesh-wide barrier sync time (1-32 tiles)",
    ),
    _f(
        "barrier_32_tiles",
        465e-9,
        "s",
        "mesh-wide barrier sync, 32 tiles",
        "Mesh-wide barrier sync time (1-32 tiles)",
    ),
)
#: cores per tile used to turn a core count into tiles for the barrier (Loihi 1: 128 cores, 1-32 tiles)
CORES_PER_TILE = 4


def _barrier(costs: CostModel, cores: int) -> float:
    lo, hi = costs.value("barrier_1_tile"), costs.value("barrier_32_tiles")
    tiles = max(1, math.ceil(cores / CORES_PER_TILE))
    return hi if tiles >= 32 else lo + (hi - lo) * (tiles - 1) / 31


def model(program, counts, costs: CostModel) -> dict[str, Any]:
    v = costs.value
    inactive = counts.neuron_updates - counts.active_neuron_updates
    energy = {
        "synaptic": counts.synaptic_operations * v("synop_energy"),
        "neurons": counts.active_neuron_updates * v("neuron_active_energy")
        + inactive * v("neuron_inactive_energy"),
        "spikes": counts.core_messages * v("spike_energy"),
        "learning": counts.learning_updates * v("learn_energy"),
    }
    energy["total"] = sum(energy.values())
    notes = []
    busy = (
        counts.core_synops * v("synop_time")
        + counts.core_active * v("neuron_active_time")
        + (counts.core_neurons - counts.core_active) * v("neuron_inactive_time")
    )
    barrier = _barrier(costs, counts.cores_used)
    if counts.chips > 1 or counts.cores_used > 32 * CORES_PER_TILE:
        notes.append("multi-chip barrier synchronisation not modelled (the 32-tile figure is used)")
    step = busy.max(axis=2) + v("spike_latency") + barrier  # (batch, steps)
    latency = {
        "per_step_mean": float(step.mean()),
        "per_step_max": float(step.max()),
        "per_sample": float(step.sum(axis=1).mean()),
        "barrier": barrier,
    }
    return {"energy_j": energy, "latency_s": latency, "notes": notes}


COSTS = CostModel(
    target="loihi2",
    chip="Loihi 2, with Loihi 1 (2018) per-operation figures",
    figures=FIGURES,
    model=model,
    plastic_kinds=("learning_dense",),
    learning_mode="epoch",
    notes=(
        "no per-operation Loihi 2 figure was found: these are Loihi 1's (Davies et al. 2018, Table 2)",
        "dynamic energy only: static leakage, host I/O and chip-to-chip links not modelled; "
        "inter-tile hops not modelled",
    ),
)

__all__ = ["COSTS", "FIGURES", "model"]
