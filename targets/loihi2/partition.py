"""Loihi 2 placement: split a loihi2 Program's LIF populations onto neurocores and chips.

:func:`place` builds one :class:`~neurocompile.partition.PopulationDemand` per LIF population
from the ESTIMATED synapse-memory cost model below, hands it to the target-generic machinery in
:mod:`neurocompile.partition` and writes the result to ``program.placement``.

Cost model (constants in :mod:`.spec`; all ESTIMATED, Intel publishes no Loihi 2 encodings):

=================  ====================================================================
projection kind    bits of synapse memory on the core of post neuron j
=================  ====================================================================
``dense``          n_pre x num_weight_bits (every entry, zeros included)
``delay_dense``    n_pre x (num_weight_bits + 6)
``sparse``         fan_in(j) x (num_weight_bits + 13)   (13-bit post index in the core)
``delay_sparse``   fan_in(j) x (num_weight_bits + 13 + 6)
every kind         + 64 header bits per (projection, core)
=================  ====================================================================

Input populations (``RingBuffer``s) are fed by the host / embedded cores and occupy no
neurocore; they appear in the placement as ``"host_inputs"``. The synapses of a projection
live on the cores of its post population (as on Loihi, where a core stores the synapses of the
spikes it receives). Inter-chip traffic is estimated as the number of synapses whose pre and
post neurons sit on different chips (from the host for input populations).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurocompile.errors import ParameterError
from neurocompile.partition import CoreLimits, InputDemand, Placement, PopulationDemand, place_demands
from neurocompile.program import Program

from . import spec

COST_MODEL = {
    "estimated": True,
    "dense_bits_per_synapse": "num_weight_bits (+ delay bits for delay_dense); zero weights are stored",
    "sparse_bits_per_synapse": f"num_weight_bits + {spec.SYNAPSE_INDEX_BITS_ESTIMATED} index bits "
    "(+ delay bits for delay_sparse)",
    "delay_bits": spec.SYNAPSE_DELAY_BITS,
    "index_bits": spec.SYNAPSE_INDEX_BITS_ESTIMATED,
    "header_bits_per_projection_per_core": spec.SYNAPSE_HEADER_BITS_ESTIMATED,
    "not_modelled": "input-axon and routing tables, weight sharing (conv/factorized encodings), "
    "several populations per core",
}


def bits_per_synapse(proj) -> int:
    """Synapse-memory bits per stored synapse of a loihi2 projection (ESTIMATED model)."""
    bits = int(proj.params["num_weight_bits"])
    if proj.kind in spec.SPARSE_KINDS:
        bits += spec.SYNAPSE_INDEX_BITS_ESTIMATED
    if proj.kind in spec.DELAY_KINDS:
        bits += spec.SYNAPSE_DELAY_BITS
    return bits


def input_demand(program: Program, proj) -> InputDemand:
    n_pre = program.populations[proj.pre].size
    n_post = program.populations[proj.post].size
    b = bits_per_synapse(proj)
    if proj.kind in spec.SPARSE_KINDS:
        post = np.asarray(proj.params["post"])
        counts = (
            np.bincount(post, minlength=n_post).astype(np.int64) if post.size else np.zeros(n_post, np.int64)
        )
        return InputDemand(
            proj.name, counts * b, spec.SYNAPSE_HEADER_BITS_ESTIMATED, int(post.size), "sparse"
        )
    return InputDemand(proj.name, n_pre * b, spec.SYNAPSE_HEADER_BITS_ESTIMATED, n_pre * n_post, "dense")


def demands(program: Program) -> list[PopulationDemand]:
    """One demand per LIF population, in Program order, with its incoming projections."""
    incoming: dict[str, list] = {}
    for proj in program.projections.values():
        incoming.setdefault(proj.post, []).append(proj)
    out = []
    for pop in program.populations.values():
        if pop.kind not in spec.NEURON_KINDS:
            continue
        out.append(
            PopulationDemand(
                pop.name, pop.size, tuple(input_demand(program, p) for p in incoming.get(pop.name, ()))
            )
        )
    return out


def _chip_map(placement: Placement, program: Program) -> dict[str, np.ndarray]:
    """Population -> chip index per neuron (int16), for LIF populations."""
    maps: dict[str, np.ndarray] = {}
    for c in placement.cores:
        arr = maps.get(c.population)
        if arr is None:
            arr = maps[c.population] = np.zeros(program.populations[c.population].size, np.int16)
        arr[c.start : c.stop] = c.chip
    return maps


def interchip_traffic(program: Program, placement: Placement) -> dict[str, dict[str, int]]:
    """Per projection: synapses, and how many connect neurons on different chips (or the host)."""
    maps = _chip_map(placement, program)
    out: dict[str, dict[str, int]] = {}
    for proj in program.projections.values():
        pre_pop = program.populations[proj.pre]
        post_chip = maps[proj.post]
        if proj.kind in spec.SPARSE_KINDS:
            m = int(np.size(proj.params["post"]))
            if pre_pop.kind == "input":
                cross = m
            else:
                pre_chip = maps[proj.pre]
                cross = int(
                    np.count_nonzero(
                        pre_chip[np.asarray(proj.params["pre"])] != post_chip[np.asarray(proj.params["post"])]
                    )
                )
        else:
            m = pre_pop.size * post_chip.size
            if pre_pop.kind == "input":
                cross = m
            else:
                chips = max(int(maps[proj.pre].max()), int(post_chip.max())) + 1
                a = np.bincount(maps[proj.pre], minlength=chips)
                b = np.bincount(post_chip, minlength=chips)
                cross = m - int((a * b).sum())
        out[proj.name] = {"synapses": m, "interchip_synapses": cross, "from_host": pre_pop.kind == "input"}
    return out


def limits(
    *,
    neurons_per_core: int = spec.NEURONS_PER_CORE,
    synapse_bytes_per_core: int = spec.SYNAPTIC_MEMORY_BYTES_PER_CORE_ESTIMATED,
    cores_per_chip: int = spec.CORES_PER_CHIP,
    max_chips: int | None = None,
) -> CoreLimits:
    return CoreLimits(
        neurons_per_core=neurons_per_core,
        synapse_bytes_per_core=synapse_bytes_per_core,
        cores_per_chip=cores_per_chip,
        max_chips=max_chips,
        estimated=("synapse_bytes_per_core",),
        extra={
            "max_delay": spec.DELAY_MAX,
            "neurons_per_core_published": spec.NEURONS_PER_CORE,
            "cores_per_chip_published": spec.CORES_PER_CHIP,
            # the limit a core's synapse_bytes count against (each core's own synaptic memory)
            "synapse_memory_limit": "synapse_bytes_per_core",
        },
    )


def place(
    program: Program,
    *,
    neurons_per_core: int = spec.NEURONS_PER_CORE,
    synapse_bytes_per_core: int = spec.SYNAPTIC_MEMORY_BYTES_PER_CORE_ESTIMATED,
    cores_per_chip: int = spec.CORES_PER_CHIP,
    max_chips: int | None = None,
    allocator: str = "sequential",
    write: bool = True,
) -> Placement:
    """Place ``program``'s LIF populations on Loihi 2 cores and chips; write ``program.placement``.

    ``neurons_per_core`` (published: 8192) and ``cores_per_chip`` (128) may be lowered to model a
    partly used chip; ``synapse_bytes_per_core`` is an ESTIMATED budget (default 128 KiB).
    ``max_chips=None`` means as many chips as needed. Raises
    :class:`~neurocompile.errors.ResourceError` naming the population (and projection), the
    resource and the excess when the network does not fit. Deterministic. Returns the
    :class:`~neurocompile.partition.Placement` (not the Program); ``write=False`` leaves the
    Program untouched.
    """
    if program.target != "loihi2":
        raise ParameterError(f"Program target is {program.target!r}", parameter="target", expected="'loihi2'")
    if isinstance(neurons_per_core, (int, np.integer)) and neurons_per_core > spec.NEURONS_PER_CORE:
        raise ParameterError(
            f"neurons_per_core={neurons_per_core} exceeds the Loihi 2 core",
            parameter="neurons_per_core",
            expected=f"<= {spec.NEURONS_PER_CORE}",
        )
    if isinstance(cores_per_chip, (int, np.integer)) and cores_per_chip > spec.CORES_PER_CHIP:
        raise ParameterError(
            f"cores_per_chip={cores_per_chip} exceeds the Loihi 2 chip",
            parameter="cores_per_chip",
            expected=f"<= {spec.CORES_PER_CHIP}",
        )
    lim = limits(
        neurons_per_core=neurons_per_core,
        synapse_bytes_per_core=synapse_bytes_per_core,
        cores_per_chip=cores_per_chip,
        max_chips=max_chips,
    )
    pl = place_demands(demands(program), lim, allocator=allocator)
    traffic = interchip_traffic(program, pl)
    total = sum(t["synapses"] for t in traffic.values())
    cross = sum(t["interchip_synapses"] for t in traffic.values() if not t["from_host"])
    extra: dict[str, Any] = {
        "target": "loihi2",
        "cost_model": dict(COST_MODEL),
        "host_inputs": [p.name for p in program.populations.values() if p.kind == "input"],
        "synapses": int(total),
        "interchip_synapses": int(cross),
        "projections": traffic,
    }
    pl = Placement(
        chips=pl.chips,
        cores_used=pl.cores_used,
        cores=pl.cores,
        limits=pl.limits,
        allocator=pl.allocator,
        populations=pl.populations,
        per_chip=pl.per_chip,
        extra=extra,
    )
    if write:
        program.placement = pl.as_dict()
    return pl


def report_section(program: Program) -> dict[str, Any]:
    """Loihi 2 specific part of ``neurocompile report``: the cost model and per projection the
    synapse encoding and bits per synapse it is charged."""
    return {
        "cost_model": dict(COST_MODEL),
        "constants": {
            "CORES_PER_CHIP": spec.CORES_PER_CHIP,
            "NEURONS_PER_CORE": spec.NEURONS_PER_CORE,
            "SYNAPTIC_MEMORY_BYTES_PER_CORE_ESTIMATED": spec.SYNAPTIC_MEMORY_BYTES_PER_CORE_ESTIMATED,
            "DELAY_MAX": spec.DELAY_MAX,
            "UV_BITS": spec.UV_BITS,
            "WEIGHT_BITS": spec.WEIGHT_BITS,
        },
        "projection_encoding": {
            p.name: {
                "kind": p.kind,
                "encoding": "sparse" if p.kind in spec.SPARSE_KINDS else "dense",
                "bits_per_synapse": bits_per_synapse(p),
                "sign_mode": spec.SIGN_MODES.get(int(p.params["sign_mode"]), str(p.params["sign_mode"])),
            }
            for p in program.projections.values()
        },
        "reference": spec.REFERENCE,
    }
