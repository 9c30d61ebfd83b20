"""Run a spinnaker Program on sPyNNaker 1!7.4.1's own binaries, one emulated core per neuron core.

:func:`run_binaries` takes the data-spec regions sPyNNaker wrote for the Program on a virtual board
(:mod:`.dsg`), loads each neuron core's ``.aplx`` (the one sPyNNaker chose, e.g.
``IF_curr_exp.aplx``) on its own :class:`~.core.Core`, starts the run through the SDP control
port as the host would (``CMD_RUNTIME``), then advances all cores in lockstep, tick by tick:

1. Timer 1 fires on every core; each runs until idle (timer callback, ring-buffer transfer, neuron
   update, recording, spikes written to ``TXKEY``);
2. the input spikes of tick ``t`` (what the SpikeSourceArray core would send: ``key = base +
   (index << 4) + (t & 15)``, sPyNNaker's 4 colour bits) and every key the cores sent in step 1
   are delivered as multicast packets to the cores of every population the sender projects to
   (the routing tables' effect; which population sent a key comes from its key/mask); each
   receiving core runs until idle after each packet (FIQ, user event, DMA of the synaptic row,
   row processing into the ring buffer);
3. a split pair's synapse core (``synapses*.aplx``, below a 1 ms tick), which busy-polls its spike
   buffer instead of idling (run in slices of :data:`POLL` instructions), ends its tick when the
   harness fires timer 2 (``T2_COUNT`` then reads 0): it DMAs ring-buffer slot ``t + 1`` into the
   SDRAM buffer it shares with its neuron core (``*_neuron.aplx``), which reads it at its next
   timer tick. The buffer lives in the SDRAM window (:data:`~.core.SHARED`) mapped into every core
   of the run; its address is filled into both cores' SDRAM-params regions (a virtual board leaves
   it 0). An STDP synapse core also receives its neuron core's spikes (post events).

After the last tick one more timer tick makes the app pause (``cpu_state`` WAIT). V and spikes are
then read from the recording channels in emulated SDRAM (channel 0: per tick the time word and V
of each neuron as s16.15; channel 3: time word and spike bitfield, rows only for ticks with
spikes), as ``neuron_recorder.py`` lays them out.

Delivery is on time by construction (every packet of tick ``t`` arrives after every core's timer
tick ``t`` and before tick ``t + 1``), which is also what the numba emulator assumes.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from neurocompile.program import Program

from . import app
from .core import CPU_STATE_PAUSE, CPU_STATE_WAIT, SHARED, SHARED_SIZE, Core, CoreError
from .dsg import CoreSpec, DataSpec, Region

N_COLOUR_BITS = 4  # spynnaker.cfg n_colour_bits
REGION_RECORDING = 15  # PopulationMachineVertex.REGIONS.RECORDING (combined neuron + synapse core)
#: synapse regions: the combined core (PopulationMachineVertex) and a split pair's synapse core
SYNAPSE_REGIONS = {
    "combined": {"params": 4, "pop_table": 5, "matrix": 6},
    "synapse": {"params": 4, "pop_table": 6, "matrix": 5},
}
#: split cores: population_neurons_machine_vertex / population_synapses_machine_vertex_common REGIONS
REGION_RECORDING_SPLIT_NEURON = 4
REGION_SDRAM_EDGE = {"neuron": 8, "synapse": 10}
ROW_HEADER_WORDS = 3  # plastic-region size, fixed count, plastic-control count
POP_TABLE_ADDRESS_SCALE = 16
CHANNEL_V, CHANNEL_SPIKES = 0, 3  # neuron_recorder: v, gsyn_exc, gsyn_inh, then the spike bitfield
SDRAM_HEAP = 120 << 20
#: a split synapse core busy-waits for spikes until timer 2 ends its tick: after this many
#: instructions without a WFI it is taken to be waiting (its loop only reads the spike buffer,
#: T2_COUNT and the DMA status)
POLL = 4_000


@dataclass
class BinaryRun:
    """What the binaries recorded, per population (label without prefix): V as s16.15 ints and spikes,
    both ``(ticks, size)``; plus counters."""

    v: dict[str, np.ndarray]
    spikes: dict[str, np.ndarray]
    cores: int = 0
    packets: int = 0
    dma_transfers: int = 0
    binaries: dict[str, str] = field(default_factory=dict)
    #: plastic synapses after the run, read back from the synaptic matrix in emulated SDRAM:
    #: population -> {(pre population, pre index, post index, delay): w16}
    plastic: dict[str, dict[tuple[str, int, int, int], int]] = field(default_factory=dict)


@dataclass
class _Loaded:
    spec: CoreSpec
    core: Core
    regions: dict[int, int]
    population: str
    role: str = "combined"


def core_role(binary: str) -> str:
    """``combined`` (neurons and synapses on one core), or a split pair's ``neuron`` / ``synapse`` core."""
    if binary.startswith("synapses"):
        return "synapse"
    return "neuron" if binary.endswith("_neuron.aplx") else "combined"


def _with_edge_address(cs: CoreSpec, region: int, address: int) -> CoreSpec:
    """The core's regions with the SDRAM-edge address filled in: a virtual board leaves it 0, the
    host's SDRAM outgoing-partition allocator gives it on a real board."""
    r = cs.regions[region]
    content = struct.pack("<I", address) + r.content[4:]
    regions = dict(cs.regions)
    regions[region] = Region(r.num, r.label, r.size, content)
    return replace(cs, regions=regions)


def _image(name: str, cache: dict[str, bytes]) -> bytes:
    if name not in cache:
        cache[name] = (app.binaries_dir() / name).read_bytes()
    return cache[name]


def _channels(core: Core, addr: int) -> list[tuple[int, int, int]]:
    n = core.r32(addr)
    out = []
    for c in range(n):
        space, size, data = struct.unpack("<3I", core.uc.mem_read(addr + 4 + 12 * c, 12))
        out.append((space, size & 0x7FFFFFFF, data))
    return out


def read_recording(core: Core, addr: int, n: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """V (steps, n) int64 and spikes (steps, n) uint8 from a core's recording region."""
    chans = _channels(core, addr)
    v = np.zeros((steps, n), np.int64)
    s = np.zeros((steps, n), np.uint8)
    _, size, data = chans[CHANNEL_V]
    row = 4 + 4 * n
    raw = bytes(core.uc.mem_read(data, size)) if size else b""
    if len(raw) != row * steps:
        raise CoreError(f"V channel holds {len(raw)} bytes, expected {steps} rows of {row}")
    arr = np.frombuffer(raw, dtype="<i4").reshape(steps, 1 + n)
    if not np.array_equal(arr[:, 0], np.arange(steps)):
        raise CoreError(f"V rows carry times {arr[:, 0].tolist()[:8]}..., expected 0..{steps - 1}")
    v[:] = arr[:, 1:]
    _, size, data = chans[CHANNEL_SPIKES]
    words = (n + 31) // 32
    raw = bytes(core.uc.mem_read(data, size)) if size else b""
    rows = np.frombuffer(raw, dtype="<u4").reshape(-1, 1 + words)
    for r in rows:
        t = int(r[0])
        bits = np.unpackbits(r[1:].astype("<u4").view(np.uint8), bitorder="little")[:n]
        s[t] |= bits
    return v, s


def read_plastic_weights(
    core: Core, regions: dict[int, int], senders, role: str = "combined"
) -> dict[tuple[str, int, int, int], int]:
    """The plastic weights of every row the master population table points at (STDP rows:
    ``[pp_size, plastic region (pre-trace header, uint16 weights), n_fixed, n_plastic, fixed words,
    uint16 controls delay|type|index]``; ``master_pop_table.py`` / ``synapse_row.h``)."""
    num = SYNAPSE_REGIONS[role]
    params = regions[num["params"]]
    log_n, log_types = core.r32(params + 8), core.r32(params + 12)
    table = regions[num["pop_table"]]
    n_entries = core.r32(table)  # then the address-list length
    addr_list = table + 8 + 20 * n_entries
    out = {}
    for e in range(n_entries):
        key, mask, w2, _, w4 = struct.unpack("<5I", core.uc.mem_read(table + 8 + 20 * e, 20))
        start, count, n_neurons = w2 & 0x1FFF, w2 >> 16, w4 & 0xFFFF
        src = next(((name, lo) for k, m, name, lo in senders if k & mask == key), None)
        if src is None:
            continue
        for a in range(start, start + count):
            word = core.r32(addr_list + 4 * a)
            row_len, offset = word & 0xFF, word >> 8
            if offset == 0xFFFFFF:
                continue
            base = regions[num["matrix"]] + offset * POP_TABLE_ADDRESS_SCALE
            stride = 4 * (row_len + 1 + ROW_HEADER_WORDS)  # the table stores the row's words - 1
            for r in range(n_neurons):
                row = base + r * stride
                pp = core.r32(row)
                if pp == 0:
                    continue
                n_fixed, n_pl = core.r32(row + 4 * (1 + pp)), core.r32(row + 4 * (2 + pp))
                w_at = row + 4 * (1 + pp) - 4 * ((n_pl + 1) // 2)
                weights = struct.unpack(f"<{n_pl}H", core.uc.mem_read(w_at, 2 * n_pl))
                c_at = row + 4 * (3 + pp + n_fixed)
                controls = struct.unpack(f"<{n_pl}H", core.uc.mem_read(c_at, 2 * n_pl))
                for w, c in zip(weights, controls):
                    post = c & ((1 << log_n) - 1)
                    delay = c >> (log_n + log_types)
                    out[(src[0], src[1] + r, post, delay)] = w
    return out


def run_binaries(
    ds: DataSpec,
    program: Program,
    inputs: Mapping[str, np.ndarray] | None,
    steps: int,
    *,
    prefix: str = "",
) -> BinaryRun:
    """Run one Program (labels in ``ds`` carry ``prefix``) for ``steps`` ticks on the binaries.
    ``inputs``: ``{input key: (steps, *shape)}`` 0/1 spikes (one sample)."""
    pops = program.populations
    shared = (ctypes.c_ubyte * SHARED_SIZE)()  # SDRAM the cores share (split pairs' input buffers)
    edges: dict[tuple[str, int], int] = {}
    shared_next = [0]
    images: dict[str, bytes] = {}
    neurons: list[_Loaded] = []
    senders: list[tuple[int, int, str, int]] = []  # (key, mask, population, lo_atom)
    for cs in ds.cores:
        if not cs.population.startswith(prefix):
            continue
        name = cs.population[len(prefix) :]
        if name not in pops:
            continue
        if cs.key is not None:
            senders.append((cs.key, cs.mask, name, cs.lo_atom))
        if pops[name].kind == "spike_source":
            continue
        role = core_role(cs.binary)
        if role != "combined":  # split pair: the synapse core writes, the neuron core reads one buffer
            slot = (name, cs.lo_atom)
            if slot not in edges:
                size = struct.unpack_from("<I", cs.regions[REGION_SDRAM_EDGE[role]].content, 4)[0]
                edges[slot] = shared_next[0]
                shared_next[0] += (size + 15) & ~15
            cs = _with_edge_address(cs, REGION_SDRAM_EDGE[role], SHARED + edges[slot])
        core = Core(_image(cs.binary, images), phys=cs.p, virt=cs.p, shared=shared)
        core.sdram_heap(SDRAM_HEAP)
        where = app.load_regions(core, cs)
        core.run()
        if core.state() != CPU_STATE_PAUSE:
            raise CoreError(f"{cs.binary} on core {cs.p}: state {core.state()} after start-up, not PAUSE")
        neurons.append(_Loaded(cs, core, where, name, role))
    targets: dict[str, list[_Loaded]] = {}
    for proj in program.projections.values():
        for ld in neurons:
            if ld.role == "neuron":  # spikes go to the synapse cores of a split pair
                continue
            if ld.population == proj.post and ld not in targets.setdefault(proj.pre, []):
                targets[proj.pre].append(ld)
    for ld in neurons:  # a split STDP synapse core also hears its neuron core's spikes (post events)
        if ld.role == "synapse" and "stdp" in ld.spec.binary:
            if ld not in targets.setdefault(ld.population, []):
                targets[ld.population].append(ld)

    def source_of(key: int) -> str:
        for k, m, name, _ in senders:
            if key & m == k:
                return name
        raise CoreError(f"packet key {key:#x} matches no sending core")

    # input spikes per tick -> keys
    in_keys: list[list[tuple[str, int]]] = [[] for _ in range(steps)]
    for key_name, pop_name in program.inputs.items():
        if inputs is None or key_name not in inputs:
            continue
        x = np.asarray(inputs[key_name]).reshape(steps, -1)
        for k, m, name, lo in senders:
            if name != pop_name:
                continue
            for c in [c for c in ds.cores if c.population == prefix + name and c.key == k]:
                for t, i in zip(*np.nonzero(x[:, c.lo_atom : c.lo_atom + c.n_atoms])):
                    in_keys[t].append((name, k + (int(i) << N_COLOUR_BITS) + (int(t) & 15)))
    for ld in neurons:
        _, period, port = app.system_region(ld.spec)
        app.start_run(ld.core, port, steps)
    packets = 0
    for t in range(steps + 1):
        # timer 1 on every core; a split pair's neuron core reads the synaptic input its synapse core
        # wrote at the end of the previous tick, then updates and sends its spikes
        for ld in neurons:
            ld.core.fire_timer()
            ld.core.run(poll=POLL if ld.role == "synapse" else None)
        if t == steps:
            break
        queue = list(in_keys[t])
        for ld in neurons:
            queue += [(ld.population, key) for key in ld.core.sent]
            ld.core.sent.clear()
        while queue:
            nxt = []
            for src, key in queue:
                if src != source_of(key):
                    raise CoreError(f"key {key:#x} sent by {src} routes from {source_of(key)}")
                for ld in targets.get(src, []):
                    ld.core.deliver_mc(key, poll=POLL if ld.role == "synapse" else None)
                    packets += 1
            for ld in neurons:
                nxt += [(ld.population, key) for key in ld.core.sent]
                ld.core.sent.clear()
            queue = nxt
        for ld in neurons:  # end of a split synapse core's tick: timer 2 deadline, slot t + 1 to SDRAM
            if ld.role == "synapse" and ld.core.timer_enabled(1):
                ld.core.fire_timer(1)
                ld.core.run()
    out_v: dict[str, np.ndarray] = {}
    out_s: dict[str, np.ndarray] = {}
    out_p: dict[str, dict] = {}
    binaries: dict[str, list[str]] = {}
    for ld in neurons:
        if ld.core.state() != CPU_STATE_WAIT:
            raise CoreError(f"{ld.spec.binary} ({ld.population}): state {ld.core.state()} after the run")
        if ld.spec.binary not in binaries.setdefault(ld.population, []):
            binaries[ld.population].append(ld.spec.binary)
        if "stdp" in ld.spec.binary:
            plastic = read_plastic_weights(ld.core, ld.regions, senders, ld.role)
            base = out_p.setdefault(ld.population, {})
            lo = ld.spec.lo_atom
            base.update({(a, b, c + lo, d): w for (a, b, c, d), w in plastic.items()})
        if ld.role == "synapse":
            continue
        size = pops[ld.population].size
        out_v.setdefault(ld.population, np.zeros((steps, size), np.int64))
        out_s.setdefault(ld.population, np.zeros((steps, size), np.uint8))
        rec = REGION_RECORDING if ld.role == "combined" else REGION_RECORDING_SPLIT_NEURON
        v, s = read_recording(ld.core, ld.regions[rec], ld.spec.n_atoms, steps)
        lo, n = ld.spec.lo_atom, ld.spec.n_atoms
        out_v[ld.population][:, lo : lo + n] = v
        out_s[ld.population][:, lo : lo + n] = s
    return BinaryRun(
        out_v,
        out_s,
        cores=len(neurons),
        packets=packets,
        dma_transfers=sum(ld.core.dma["transfers"] for ld in neurons),
        binaries={k: " + ".join(v) for k, v in binaries.items()},
        plastic=out_p,
    )
