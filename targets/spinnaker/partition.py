"""SpiNNaker 1 partitioning: estimate the cores and chips sPyNNaker 1!7.4.1 will use for a Program.

:func:`place` mirrors what sPyNNaker's splitters and application placer do (checked against its
virtual-board placement in ``tests/test_spinnaker_board.py``; all limits are named constants in
:mod:`.spec`):

* a neuron population is cut into slices of ``min(neurons_per_core, 256)`` neurons, one core each;
* a ``SpikeSourceArray`` is never split (its max atoms per core is ``sys.maxsize``);
* a post core has ``2**(14 - get_n_bits(atoms) - get_n_bits(2))`` delay slots (32 for 256 neurons).
  A projection whose longest delay exceeds the post's slots makes sPyNNaker add one
  ``DelayExtension`` vertex for the *pre* population, sliced like it (one core per pre slice);
  delays beyond ``8 x slots`` do not map (:class:`~neurocompile.errors.ResourceError`);
* below a 1 ms tick a population with incoming synapses gets, per neuron slice, one neuron core
  plus :func:`synapse_cores` synapse cores (sPyNNaker's split neuron/synapse mode);
* cores are filled chip by chip in population order (delay extensions last): 15 application cores
  on the Ethernet chip (monitor, ExtraMonitor, packet gatherer), 16 on the others; a chip is also
  closed when the estimated SDRAM of its cores would exceed the usable 123,469,792 B. This chip
  count is a **lower bound**: sPyNNaker's application placer starts each application vertex on a
  start chip and spills onto neighbouring chips, leaving partly used chips behind (observed: 57
  cores on 6 chips where a dense fill needs 4). The core count is what the tests hold to 10 %.

Knowingly approximate: the SDRAM figure counts only the synaptic matrix (3 header words per
non-empty row + one word per synapse), not sPyNNaker's fixed per-core regions, recording buffers or
the delay-extension rows (so it is a lower bound; the chip count only depends on it for very
dense networks); some chips of a real/virtual board have one core fewer (17 in total), which the
fill ignores; routing-table sizes are not estimated (the board run reports them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocompile.errors import ResourceError
from neurocompile.program import Program

from . import spec


@dataclass(frozen=True)
class Placement:
    chips: int
    cores_used: int
    cores: tuple[dict, ...]
    cores_per_population: dict[str, int]
    delay_extension_cores: int
    limits: dict
    notes: tuple[str, ...] = field(default_factory=tuple)

    def placement(self) -> dict:
        """The shared ``program.placement`` format."""
        return {
            "chips": self.chips,
            "cores_used": self.cores_used,
            "cores": [dict(c) for c in self.cores],
            "limits": dict(self.limits),
            "source": "neurocompile estimate of sPyNNaker 1!7.4.1",
            "delay_extension_cores": self.delay_extension_cores,
        }

    def as_dict(self) -> dict:
        d = self.placement()
        d.update(cores_per_population=dict(self.cores_per_population), notes=list(self.notes))
        return d


def limits() -> dict[str, Any]:
    return {
        "neurons_per_core": spec.NEURONS_PER_CORE_MAX,
        "app_cores_per_chip": spec.APP_CORES_PER_CHIP,
        "app_cores_ethernet_chip": spec.APP_CORES_ETHERNET_CHIP,
        "chips_per_board": spec.CHIPS_PER_SPINN5_BOARD,
        "sdram_bytes_per_chip": spec.SDRAM_USABLE_BYTES_PER_CHIP,
        "dtcm_bytes": spec.DTCM_BYTES,
        "router_entries": spec.ROUTER_ENTRIES_USABLE,
        "max_ring_buffer_bits": spec.MAX_RING_BUFFER_BITS,
        "delay_extension_max_slots": spec.DELAY_EXTENSION_MAX_SLOTS,
        # the limit a core's synapse_bytes count against: synaptic rows live in the chip's shared
        # SDRAM (DMA'd per spike), not in the core's DTCM
        "synapse_memory_limit": "sdram_bytes_per_chip",
    }


def _atoms_per_core(pop) -> int:
    if pop.kind in spec.SOURCE_KINDS:
        return spec.SPIKE_SOURCE_ARRAY_ATOMS_PER_CORE
    return max(
        1, min(int(pop.params.get("neurons_per_core", spec.NEURONS_PER_CORE)), spec.NEURONS_PER_CORE_MAX)
    )


def delay_error(
    projection: str, post: str, post_size: int, atoms_per_core: int, dmax: int
) -> ResourceError | None:
    """The error for a delay of ``dmax`` ticks into ``post`` beyond what sPyNNaker maps (its core's
    ring-buffer slots x the delay-extension stages), else None. :func:`place` raises it for any
    Program; ``compile`` meets it first in the rule ``spinnaker-delay-too-long`` (``rules.py``)."""
    slots = spec.core_delay_slots(min(post_size, atoms_per_core))
    if dmax > spec.DELAY_EXTENSION_MAX_SLOTS * slots:
        return ResourceError(
            f"delay of {dmax} ticks exceeds what sPyNNaker maps into '{post}' "
            f"({slots} ring-buffer slots x {spec.DELAY_EXTENSION_MAX_SLOTS} delay-extension stages)",
            node=projection,
            parameter="delays",
            expected=f"<= {spec.DELAY_EXTENSION_MAX_SLOTS * slots}",
        )
    return None


def _slices(pop) -> list[tuple[int, int]]:
    n, k = pop.size, _atoms_per_core(pop)
    return [(a, min(a + k, n)) for a in range(0, n, k)] or [(0, 0)]


def _incoming(program: Program) -> dict[str, list]:
    """``{post population: its projections}`` in one pass (program order kept)."""
    index: dict[str, list] = {}
    for q in program.projections.values():
        index.setdefault(q.post, []).append(q)
    return index


def _synapse_bytes(program: Program, name: str, lo: int, hi: int, incoming: dict | None = None) -> int:
    total = 0
    for q in program.projections.values() if incoming is None else incoming.get(name, ()):
        if q.post != name:
            continue
        post = np.asarray(q.params["post"]).ravel()
        sel = (post >= lo) & (post < hi)
        n_syn = int(np.count_nonzero(sel))
        if n_syn:
            rows = int(np.unique(np.asarray(q.params["pre"]).ravel()[sel]).size)
            total += spec.SYNAPSE_WORD_BYTES * (spec.SYNAPSE_ROW_HEADER_WORDS * rows + n_syn)
    return total


#: largest (slices x pre neurons) table of :func:`_synapse_bytes_per_slice` (bytes); beyond it, a sort.
_PAIR_TABLE_MAX = 1 << 28


def _synapse_bytes_per_slice(program: Program, pop, incoming: dict) -> list[int]:
    """:func:`_synapse_bytes` of every slice of :func:`_slices` (``post // atoms_per_core``) at
    once: one pass over each incoming projection instead of one per slice (same integers)."""
    k = _atoms_per_core(pop)
    n_slices = len(_slices(pop))
    total = np.zeros(n_slices, dtype=np.int64)
    for q in incoming.get(pop.name, ()):
        post = np.asarray(q.params["post"]).ravel().astype(np.int64)
        if post.size == 0:
            continue
        pre = np.asarray(q.params["pre"]).ravel().astype(np.int64)
        sid = post // k
        n_syn = np.bincount(sid, minlength=n_slices)[:n_slices]
        n_pre = int(pre.max()) + 1
        if n_slices * n_pre <= _PAIR_TABLE_MAX:  # distinct (slice, pre) pairs in a table: no sort
            seen = np.zeros(n_slices * n_pre, dtype=bool)
            seen[sid * n_pre + pre] = True
            rows = seen.reshape(n_slices, n_pre).sum(axis=1)
        else:
            rows = np.bincount(np.unique(sid * n_pre + pre) // n_pre, minlength=n_slices)
        total += spec.SYNAPSE_WORD_BYTES * (spec.SYNAPSE_ROW_HEADER_WORDS * rows[:n_slices] + n_syn)
    return [int(t) for t in total]


def synapse_cores(program: Program, name: str, incoming: dict | None = None) -> int:
    """Synapse cores per neuron slice sPyNNaker gives ``name`` below a 1 ms tick (0: combined core).

    Approximation: every pre population is taken to fire at the cfg default 30 Hz
    (``spec.SPIKES_PER_SECOND``); sPyNNaker uses a SpikeSourceArray's actual peak rate instead."""
    pop = program.populations[name]
    if pop.kind not in spec.NEURON_KINDS:
        return 0
    k = _atoms_per_core(pop)
    events = 0
    for q in program.projections.values() if incoming is None else incoming.get(name, ()):
        if q.post != name:
            continue
        pre, post = np.asarray(q.params["pre"]).ravel(), np.asarray(q.params["post"]).ravel()
        if pre.size == 0:
            continue
        # max connections from one pre neuron into one post slice
        n_conns = int(np.max(np.unique(pre * (pop.size // k + 1) + post // k, return_counts=True)[1]))
        events += math.ceil(n_conns * spec.SPIKES_PER_SECOND * program.populations[q.pre].size)
    return min(math.ceil(events / spec.SYNAPSES_PER_CORE_PER_SECOND), spec.MAX_SYNAPSE_CORES)


def place(program: Program, *, max_chips: int | None = None, write: bool = True) -> Placement:
    """Estimate sPyNNaker's placement of ``program``; writes ``program.placement`` unless ``write=False``.

    ``max_chips`` (default: no limit; 48 is one SpiNN-5 board) raises
    :class:`~neurocompile.errors.ResourceError` when the estimate needs more chips.
    """
    units: list[dict] = []
    per_pop: dict[str, int] = {}
    tick_ms = float(program.semantics.get("tick_ms", 1.0))
    incoming = _incoming(program)  # built once: a scan of every projection per slice is quadratic
    for pop in program.populations.values():
        sl = _slices(pop)
        n_syn = synapse_cores(program, pop.name, incoming) if tick_ms < spec.SPLIT_CORES_BELOW_TICK_MS else 0
        per_pop[pop.name] = len(sl) * (1 + n_syn)
        sbs = _synapse_bytes_per_slice(program, pop, incoming) if pop.kind in spec.NEURON_KINDS else None
        for i, (lo, hi) in enumerate(sl):
            sb = sbs[i] if sbs is not None else 0
            units.append(
                {
                    "population": pop.name,
                    "kind": "population",
                    "start": lo,
                    "stop": hi,
                    "neurons": hi - lo,
                    "synapse_bytes": 0 if n_syn else sb,
                }
            )
            for _ in range(n_syn):
                units.append(
                    {
                        "population": pop.name,
                        "kind": "synapse_core",
                        "start": lo,
                        "stop": hi,
                        "neurons": hi - lo,
                        "synapse_bytes": -(-sb // n_syn),
                    }
                )
    # delay extensions: one DelayExtension vertex per pre population that has a too-long delay
    delayed: dict[str, int] = {}
    notes = []
    for q in program.projections.values():
        d = np.asarray(q.params.get("delays", [])).ravel()
        if d.size == 0:
            continue
        post = program.populations[q.post]
        slots = spec.core_delay_slots(min(post.size, _atoms_per_core(post)))
        dmax = int(d.max())
        err = delay_error(q.name, q.post, post.size, _atoms_per_core(post), dmax)
        if err is not None:
            raise err
        if dmax > slots:
            delayed[q.pre] = max(delayed.get(q.pre, 0), dmax)
            notes.append(
                f"projection '{q.name}': delay {dmax} > {slots} slots of '{q.post}': "
                f"delay extension on '{q.pre}'"
            )
    n_de = 0
    for pre in delayed:
        for lo, hi in _slices(program.populations[pre]):
            units.append(
                {
                    "population": pre,
                    "kind": "delay_extension",
                    "start": lo,
                    "stop": hi,
                    "neurons": hi - lo,
                    "synapse_bytes": 0,
                }
            )
            n_de += 1
    # fill chips
    cores = []
    chip, used, sdram = 0, 0, spec.PACKET_GATHERER_SDRAM_BYTES + spec.EXTRA_MONITOR_SDRAM_BYTES
    for u in units:
        cap = spec.APP_CORES_ETHERNET_CHIP if chip == 0 else spec.APP_CORES_PER_CHIP
        if used >= cap or (used and sdram + u["synapse_bytes"] > spec.SDRAM_USABLE_BYTES_PER_CHIP):
            chip, used, sdram = chip + 1, 0, spec.EXTRA_MONITOR_SDRAM_BYTES
        if sdram + u["synapse_bytes"] > spec.SDRAM_USABLE_BYTES_PER_CHIP:
            raise ResourceError(
                f"a core of '{u['population']}' needs ~{u['synapse_bytes']} B of synaptic matrix, "
                f"more than one chip's SDRAM",
                node=u["population"],
                parameter="synapse_bytes",
                expected=f"<= {spec.SDRAM_USABLE_BYTES_PER_CHIP}",
            )
        first_core = (
            1
            + spec.EXTRA_MONITOR_CORES_PER_CHIP
            + (spec.PACKET_GATHERER_CORES_PER_ETHERNET_CHIP if chip == 0 else 0)
        )
        cores.append(dict(u, chip=chip, core=first_core + used, estimated=True))
        used += 1
        sdram += u["synapse_bytes"]
    n_chips = chip + 1 if cores else 0
    if max_chips is not None and n_chips > max_chips:
        raise ResourceError(
            f"the network needs ~{len(cores)} application cores on {n_chips} chips",
            parameter="chips",
            expected=f"<= {max_chips} chips",
        )
    pl = Placement(
        chips=n_chips,
        cores_used=len(cores),
        cores=tuple(cores),
        cores_per_population=per_pop,
        delay_extension_cores=n_de,
        limits=limits(),
        notes=tuple(notes),
    )
    if write:
        program.placement = pl.placement()
    return pl


def estimate_cores(program: Program) -> int:
    """Application cores (populations + delay extensions) sPyNNaker will use, by :func:`place`."""
    return place(program, write=False).cores_used


__all__ = ["Placement", "place", "estimate_cores", "limits", "delay_error"]
