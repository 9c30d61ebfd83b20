"""The static SpiNNaker emulator: sPyNNaker 1!7.4.1's IF_curr_exp / IF_curr_delta, bit-exact.

A Program is flattened by :func:`build_plan` (the on-chip initialisation of
``targets/spinnaker/fixed.py`` runs here, once per population) and run by the numba kernels
:func:`run_sample` / :func:`run_batch` (``prange`` over independent samples); ``run.py`` turns the
result into a RunResult. Per tick ``t`` (``docs/targets/spinnaker.md``, "Emulator semantics",
checked against the 7.4.1 binaries):

(a) ring buffer -> synapses: for each neuron and type with a nonzero slot ``t`` entry ``v16``:
    exp: ``isyn += ((v16 << shift) * init) >> 32``; delta: ``isyn += v16 << shift``;
(b) neuron update: record ``V`` (before the update) and ``isyn_exc - isyn_inh``; ``I = exc - inh +
    I_offset`` (delta: each receptor first times ``kdivk(1.0, ts)``); if the refractory timer is
    <= 0 the closed form ``alpha = I*R + V_rest; V = alpha - exp_TC*(alpha - V)`` (truncating
    s16.15 multiplies), else the timer counts down with V held; then (also while refractory)
    ``V >= V_thresh`` spikes, sets ``V = V_reset`` and the timer to ``T_refract``; finally exp
    synapses decay ``isyn = (isyn * decay) >> 32`` and delta synapses are cleared;
(c) every spike of tick ``t`` (spike-source data and neurons) adds its synapses' ``w16`` into slot
    ``t + d`` (``d >= 1``), saturating at 0xFFFF: with on-time delivery the colour delay is 0 and
    no synapse is dropped, so the effect of a spike at ``t0`` appears in the recorded ``v[t0+d+1]``.

The kernels are event driven (:func:`fast_tables`): a (source population, post population, delay,
type) group of synapses filled to at least :data:`DENSE_MIN_FILL` is a dense block of w16 rows, and
each active source adds its whole row (vector loops: four uint16 rows per pass, or uint8 rows summed
in int16 32 at a time); the other synapses are a CSR added one by one. The ring buffer holds plain
sums, clamped at 0xFFFF when the neuron reads them; all w16 are >= 0, so that equals the chip's
chain of saturating adds in any order, and a saturation happens in the tick an entry's sum first
exceeds 0xFFFF (:func:`run_sample`). The neuron update is one branch-free loop per population, which LLVM
vectorizes: over per-neuron parameter arrays (``ntab`` transposed), or with the parameters as
scalars when the population's neurons share all but ``I_offset`` (``Network.pop_uni``, as every
builder population does). The simple kernels these
replaced are ``reference.py`` (``tests/test_spinnaker_fast.py`` compares them on random networks).

int32 wraps are modelled (two's complement) and flagged: ``strict`` raises on the first one.
Ring-buffer saturation is the hardware's documented behaviour and is reported as a warning.
Knowingly not modelled: late or dropped spikes (CPU overload, ``drop_late_spikes``), which
sPyNNaker reports in provenance and an emulator should treat as an error, not reproduce;
``n_steps_per_timestep`` other than 1; current sources and external bias (0 on this path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import llvmlite.binding as llvm
import numpy as np
from numba import njit, prange

from neurocompile.program import Program
from neurocompile.targets.spinnaker import fixed, spec

from .arith import (
    KIND_DELTA,
    KIND_EXP,
    N_COLS,
    N_DECE,
    N_DECI,
    N_DSCALE,
    N_EXPTC,
    N_INITE,
    N_INITI,
    N_IOFF,
    N_KIND,
    N_POP,
    N_R,
    N_SHE,
    N_SHI,
    N_TREF,
    N_VRESET,
    N_VREST,
    N_VTH,
    O_SAT,
    O_WRAP,
    SAT,
    neuron_step,
)

PROFILE = "spinnaker"
assert N_COLS == 16, "_neuron_range passes the 16 ntab columns as views: add the new ones there"
# The neuron loop reads ~20 per-neuron parameter arrays and writes 6: LLVM's loop vectorizer needs a
# run-time overlap check per (written, accessed) pair and gives up above its default of 128 checks
# ("too many memory checks needed"), leaving the loop scalar (measured 1.4x slower). A higher limit
# only lets it add those checks (once per loop entry) and vectorize; results are unchanged. The option
# is process-wide and must be set before the kernels compile (numba's on-disk cache keeps the result).
llvm.set_option("", "-vectorize-memory-check-threshold=4096")
EXC, INH = spec.EXCITATORY, spec.INHIBITORY


class Network(NamedTuple):
    """The static network as every kernel reads it (:meth:`SpiNNakerPlan.network`)."""

    ntab: np.ndarray  # (NL, N_COLS) int64 per-neuron constants, columns N_* of arith.py
    v0: np.ndarray  # (NL,) initial V, s16.15
    rowptr: np.ndarray  # (NI + NL + 1,) CSR over sources: inputs first, then neurons
    cpost: np.ndarray  # per synapse: global post neuron
    cw: np.ndarray  # per synapse: w16
    cdel: np.ndarray  # per synapse: delay in ticks (>= 1)
    ctype: np.ndarray  # per synapse: synapse type (spec.EXCITATORY / spec.INHIBITORY)
    R: int  # ring-buffer slots (largest delay + 1)
    NI: int  # spike-source neurons
    NL: int  # LIF neurons
    NP: int  # neuron populations (rows of ovf)
    # the fast kernels' tables (:func:`fast_tables`; the reference kernels read only the fields above)
    par: np.ndarray  # (N_COLS, NL) ntab transposed: one contiguous per-neuron array per parameter
    pop_ptr: np.ndarray  # (NP + 1,) population k is neurons pop_ptr[k]:pop_ptr[k + 1]
    pop_kind: np.ndarray  # (NP,) KIND_EXP / KIND_DELTA when all of population k's neurons are, else -1
    src_ptr: np.ndarray  # (NS + 1,) source population k (inputs, then neurons) is sources src_ptr[k]:...
    src_out: np.ndarray  # (NS,) 1 when source population k has synapses (its spikes need compacting)
    btab: np.ndarray  # (n_blocks, B_COLS) dense blocks, columns B_*
    bw: np.ndarray  # uint8/uint16: the blocks' w16, pre-major (n_pre, n_post) each, 0 where no synapse
    frow: np.ndarray  # (NI + NL + 1,) CSR over sources of the synapses outside the blocks
    foff: np.ndarray  # per CSR synapse: type * NL + post (its column in a ring-buffer slot)
    fdel: np.ndarray  # per CSR synapse: delay
    fw: np.ndarray  # per CSR synapse: w16
    ring: np.ndarray  # empty; its dtype is the ring's: int32 when no entry's sum can leave it, else int64
    pop_uni: np.ndarray  # (NP,) 1 when population k's neurons share every ntab column but I_offset


class Recorded(NamedTuple):
    """Per observable, the global indices of the recorded neurons (``record_index`` in run.py)."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray


class Outputs(NamedTuple):
    """What a kernel writes: ``u``, ``v`` (int64, s16.15) and ``s`` (uint8) of shape (T, len(Recorded.*)),
    ``ovf`` (NP, 2): first tick + 1 of an int32 wrap / ring-buffer saturation per population. The
    batch kernels take the same with a leading batch axis."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray
    ovf: np.ndarray


@dataclass
class SpiNNakerPlan:
    in_names: list[str]
    in_slices: dict[str, tuple[int, int]]
    neuron_names: list[str]
    neuron_slices: dict[str, tuple[int, int]]
    ntab: np.ndarray  # (NL, N_COLS)
    v0: np.ndarray  # (NL,)
    rowptr: np.ndarray  # (NI + NL + 1,) CSR over sources: inputs first, then neurons
    cpost: np.ndarray
    cw: np.ndarray
    cdel: np.ndarray
    ctype: np.ndarray
    R: int
    NI: int
    NL: int
    _fast: "FastTables | None" = field(default=None, repr=False)

    def network(self, extra_bound: np.ndarray | None = None, extra_out: np.ndarray | None = None) -> Network:
        """The kernels' table (built on call: :class:`.stdp.StdpPlan` may raise ``R``, a test may edit
        ``ntab``). ``extra_bound`` (2 * NL,): the largest sum other synapses (STDP) can add to one
        ring-buffer entry of (type, neuron) ``type * NL + n``, for the choice of the ring's dtype;
        ``extra_out`` (source populations,): 1 where one has such synapses."""
        ft = fast_tables(self)
        bound = ft.bound if extra_bound is None else ft.bound + extra_bound
        safe = bound.size == 0 or float(bound.max()) + SAT < 2**31
        NP = len(self.neuron_names)
        pop_ptr = np.zeros(NP + 1, np.int64)
        for k, n in enumerate(self.neuron_names):
            pop_ptr[k + 1] = self.neuron_slices[n][0] + self.neuron_slices[n][1]
        pop_kind = np.full(NP, -1, np.int64)
        pop_uni = np.zeros(NP, np.uint8)
        shared = np.array([c for c in range(N_COLS) if c != N_IOFF])
        for k in range(NP):
            tab = self.ntab[pop_ptr[k] : pop_ptr[k + 1]]
            kinds = np.unique(tab[:, N_KIND])
            if kinds.size == 1:
                pop_kind[k] = kinds[0]
                pop_uni[k] = bool(np.all(tab[:, shared] == tab[0, shared]))
        return Network(
            self.ntab,
            self.v0,
            self.rowptr,
            self.cpost,
            self.cw,
            self.cdel,
            self.ctype,
            int(self.R),
            int(self.NI),
            int(self.NL),
            NP,
            np.ascontiguousarray(self.ntab.T),
            pop_ptr,
            pop_kind,
            ft.src_ptr,
            ft.src_out if extra_out is None else (ft.src_out | extra_out).astype(np.uint8),
            ft.btab,
            ft.bw,
            ft.frow,
            ft.foff,
            ft.fdel,
            ft.fw,
            np.zeros(0, np.int32 if safe else np.int64),
            pop_uni,
        )


def neuron_constants(pop, tick_ms: float) -> dict[str, np.ndarray | int]:
    """The integers the chip derives for a neuron population (on-chip init, §2.2)."""
    p = pop.params
    base = fixed.lif_init(
        v_init=0.0,
        v_rest=p["v_rest"],
        cm=p["cm"],
        tau_m=p["tau_m"],
        i_offset=0.0,
        v_reset=p["v_reset"],
        tau_refrac=p["tau_refrac"],
        dt_ms=tick_ms,
    )
    out: dict[str, np.ndarray | int] = {k: base[k] for k in ("V_rest", "R", "exp_TC", "V_reset", "T_refract")}
    out["V_thresh"] = fixed.s1615(p["v_thresh"])
    out["I_offset"] = fixed.s1615_array(np.asarray(p["i_offset"], np.float64).reshape(-1))
    out["V_init"] = fixed.s1615_array(np.asarray(p["v_init"], np.float64).reshape(-1))
    if pop.kind == "if_curr_exp":
        e = fixed.exp_syn_init(p["tau_syn_E"], tick_ms)
        i = fixed.exp_syn_init(p["tau_syn_I"], tick_ms)
        out.update(decay_e=e["decay"], decay_i=i["decay"], init_e=e["init"], init_i=i["init"], delta_scale=0)
    else:
        out.update(decay_e=0, decay_i=0, init_e=0, init_i=0, delta_scale=fixed.delta_input_scale(tick_ms))
    return out


def build_plan(program: Program) -> SpiNNakerPlan:
    """Flatten a *validated* spinnaker Program."""
    from neurocompile.targets.spinnaker.schema import tick_ms_of

    tick_ms = tick_ms_of(program)
    pops = program.populations
    in_names = [n for n, p in pops.items() if p.kind in spec.SOURCE_KINDS]
    neuron_names = [n for n, p in pops.items() if p.kind in spec.NEURON_KINDS]
    in_slices, off = {}, 0
    for n in in_names:
        in_slices[n] = (off, pops[n].size)
        off += pops[n].size
    NI = off
    neuron_slices, off = {}, 0
    for n in neuron_names:
        neuron_slices[n] = (off, pops[n].size)
        off += pops[n].size
    NL = off
    ntab = np.zeros((NL, N_COLS), np.int64)
    v0 = np.zeros(NL, np.int64)
    for k, n in enumerate(neuron_names):
        pop = pops[n]
        o, size = neuron_slices[n]
        c = neuron_constants(pop, tick_ms)
        sl = slice(o, o + size)
        ntab[sl, N_VREST] = c["V_rest"]
        ntab[sl, N_R] = c["R"]
        ntab[sl, N_EXPTC] = c["exp_TC"]
        ntab[sl, N_IOFF] = c["I_offset"]
        ntab[sl, N_VRESET] = c["V_reset"]
        ntab[sl, N_VTH] = c["V_thresh"]
        ntab[sl, N_TREF] = c["T_refract"]
        ntab[sl, N_KIND] = KIND_EXP if pop.kind == "if_curr_exp" else KIND_DELTA
        ntab[sl, N_DECE] = c["decay_e"]
        ntab[sl, N_DECI] = c["decay_i"]
        ntab[sl, N_INITE] = c["init_e"]
        ntab[sl, N_INITI] = c["init_i"]
        sh = [int(s) for s in pop.params["ring_buffer_shifts"]]
        ntab[sl, N_SHE] = sh[spec.EXCITATORY]
        ntab[sl, N_SHI] = sh[spec.INHIBITORY]
        ntab[sl, N_DSCALE] = c["delta_scale"]
        ntab[sl, N_POP] = k
        v0[sl] = c["V_init"]
    # synapses, CSR by global source (inputs 0..NI-1, neurons NI..NI+NL-1)
    gsrc, cpost, cw, cdel, ctype = [], [], [], [], []
    max_d = 1
    for proj in program.projections.values():
        p = proj.params
        pre = np.asarray(p["pre"], np.int64).reshape(-1)
        post = np.asarray(p["post"], np.int64).reshape(-1)
        w = np.asarray(p["w16"], np.int64).reshape(-1)
        d = np.asarray(p["delays"], np.int64).reshape(-1)
        keep = w != 0
        pre, post, w, d = pre[keep], post[keep], w[keep], d[keep]
        base = in_slices[proj.pre][0] if proj.pre in in_slices else NI + neuron_slices[proj.pre][0]
        gsrc.append(pre + base)
        cpost.append(post + neuron_slices[proj.post][0])
        cw.append(w)
        cdel.append(d)
        ctype.append(np.full(pre.size, spec.SYNAPSE_TYPES.index(p["receptor"]), np.int64))
        if d.size:
            max_d = max(max_d, int(d.max()))

    def cat(parts):
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    gsrc_a = cat(gsrc)
    order = np.argsort(gsrc_a, kind="stable")
    rowptr = np.zeros(NI + NL + 1, np.int64)
    np.cumsum(np.bincount(gsrc_a, minlength=NI + NL), out=rowptr[1:])
    return SpiNNakerPlan(
        in_names=in_names,
        in_slices=in_slices,
        neuron_names=neuron_names,
        neuron_slices=neuron_slices,
        ntab=ntab,
        v0=v0,
        rowptr=rowptr,
        cpost=cat(cpost)[order],
        cw=cat(cw)[order],
        cdel=cat(cdel)[order],
        ctype=cat(ctype)[order],
        R=max_d + 1,
        NI=NI,
        NL=NL,
    )


# ----------------------------------------------------------------------------- the fast kernels' tables
#: a group of synapses with one source population, post population, delay and type becomes a dense
#: block (n_pre, n_post) of w16 when at least this fraction of its cells holds a synapse: adding a
#: whole row is a vector loop, and at this fill it beats adding the synapses one by one (measured)
DENSE_MIN_FILL = 0.08
#: dense blocks stop at this many bytes per plan (the rest of the synapses stay in the CSR)
DENSE_MAX_BYTES = 512 << 20
#: the narrowest post population a dense block is made for
DENSE_MIN_POST = 16
#: ``btab`` columns: source population, its first global source, n_pre, first post neuron, n_post,
#: delay, synapse type, offset into ``bw``, post population
B_SP, B_PRE0, B_NPRE, B_POST0, B_NPOST, B_DEL, B_TYPE, B_WOFF, B_POP = range(9)
B_COLS = 9


class FastTables(NamedTuple):
    """The static synapses as the fast kernels read them (:func:`fast_tables`)."""

    src_ptr: np.ndarray
    src_out: np.ndarray
    btab: np.ndarray
    bw: np.ndarray
    frow: np.ndarray
    foff: np.ndarray
    fdel: np.ndarray
    fw: np.ndarray
    bound: np.ndarray  # (2 * NL,) float: the sum of the w16 that can reach one entry of (type, neuron)


def fast_tables(plan: SpiNNakerPlan) -> FastTables:
    """Split the plan's static synapses into dense blocks and a CSR remainder (memoized on the plan).

    A (source population, post population, delay, type) group whose fill is at least
    :data:`DENSE_MIN_FILL` is a dense block; a second synapse of the same (pre, post) pair in a
    group stays in the CSR. Every synapse lands in exactly one of the two, so the ring-buffer
    sums are those of the reference kernel (see :func:`run_sample` for why the order of the adds
    does not matter)."""
    if plan._fast is not None:
        return plan._fast
    NI, NL = plan.NI, plan.NL
    sizes = [plan.in_slices[n][1] for n in plan.in_names] + [
        plan.neuron_slices[n][1] for n in plan.neuron_names
    ]
    src_ptr = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
    pop_ptr = np.zeros(len(plan.neuron_names) + 1, np.int64)
    for k, n in enumerate(plan.neuron_names):
        pop_ptr[k + 1] = plan.neuron_slices[n][0] + plan.neuron_slices[n][1]
    n_syn = plan.cpost.size
    src = np.repeat(np.arange(NI + NL, dtype=np.int64), np.diff(plan.rowptr))
    in_block = np.zeros(n_syn, bool)
    brows, bparts = [], []
    woff = 0
    if n_syn:
        sp = np.searchsorted(src_ptr, src, side="right") - 1
        pp = np.searchsorted(pop_ptr, plan.cpost, side="right") - 1
        R = int(plan.cdel.max()) + 1
        key = ((sp * len(pop_ptr) + pp) * R + plan.cdel) * 2 + plan.ctype
        order = np.argsort(key, kind="stable")
        ks, starts, counts = np.unique(key[order], return_index=True, return_counts=True)
        budget = DENSE_MAX_BYTES
        for k, a, c in zip(ks, starts, counts):
            idx = order[a : a + c]
            s, p = int(sp[idx[0]]), int(pp[idx[0]])
            npre, npost = int(src_ptr[s + 1] - src_ptr[s]), int(pop_ptr[p + 1] - pop_ptr[p])
            cells = npre * npost
            if npost < DENSE_MIN_POST or c < DENSE_MIN_FILL * cells or 2 * cells > budget:
                continue
            budget -= 2 * cells
            cell = (src[idx] - src_ptr[s]) * npost + (plan.cpost[idx] - pop_ptr[p])
            _, first = np.unique(cell, return_index=True)  # duplicates of a pair stay in the CSR
            idx, cell = idx[first], cell[first]
            w = np.zeros(cells, np.uint16)
            w[cell] = plan.cw[idx]
            in_block[idx] = True
            brows.append(
                (s, src_ptr[s], npre, pop_ptr[p], npost, plan.cdel[idx[0]], plan.ctype[idx[0]], woff, p)
            )
            bparts.append(w)
            woff += cells
    rest = np.nonzero(~in_block)[0]  # stays sorted by source, in the reference kernel's order
    frow = np.zeros(NI + NL + 1, np.int64)
    np.cumsum(np.bincount(src[rest], minlength=NI + NL), out=frow[1:])
    bound = np.bincount(plan.ctype * NL + plan.cpost, weights=plan.cw.astype(np.float64), minlength=2 * NL)
    plan._fast = FastTables(
        src_ptr=src_ptr,
        src_out=(plan.rowptr[src_ptr[1:]] > plan.rowptr[src_ptr[:-1]]).astype(np.uint8),
        btab=np.array(brows, np.int64).reshape(-1, B_COLS),
        bw=_narrow(np.concatenate(bparts) if bparts else np.zeros(0, np.uint16)),
        frow=frow,
        foff=(plan.ctype[rest] * NL + plan.cpost[rest]).astype(np.int64),
        fdel=plan.cdel[rest].astype(np.int64),
        fw=plan.cw[rest].astype(np.int64),
        bound=bound,
    )
    return plan._fast


def _narrow(w: np.ndarray) -> np.ndarray:
    """Block weights as uint8 when they all fit (half the bytes each row add reads), else uint16."""
    return w.astype(np.uint8) if w.size == 0 or int(w.max()) <= 0xFF else w


# ----------------------------------------------------------------------------- the fast kernels
@njit(cache=True, nogil=True)
def _add_rows(dst, bw, woff, npost, act, e0, e1, pre0):
    """``dst += `` the block rows of the active sources ``act[e0:e1]`` (global indices, row =
    index - pre0), four rows per pass over ``dst``; returns how many entries written exceed 0xFFFF
    (a count, not a maximum: it keeps LLVM's lanes at ``dst``'s width)."""
    over = 0
    e = e0
    while e + 3 < e1:
        o1 = woff + (act[e] - pre0) * npost
        o2 = woff + (act[e + 1] - pre0) * npost
        o3 = woff + (act[e + 2] - pre0) * npost
        o4 = woff + (act[e + 3] - pre0) * npost
        w1 = bw[o1 : o1 + npost]
        w2 = bw[o2 : o2 + npost]
        w3 = bw[o3 : o3 + npost]
        w4 = bw[o4 : o4 + npost]
        for i in range(npost):
            dst[i] += (w1[i] + w2[i]) + (w3[i] + w4[i])
            over += dst[i] > SAT
        e += 4
    while e < e1:
        o1 = woff + (act[e] - pre0) * npost
        w1 = bw[o1 : o1 + npost]
        for i in range(npost):
            dst[i] += w1[i]
            over += dst[i] > SAT
        e += 1
    return over


#: rows of uint8 weights summed in int16 before one add into the ring: 32 * 255 < 2**15
U8_GROUP = 32


@njit(cache=True, nogil=True)
def _add_rows_u8(dst, bw, woff, npost, act, e0, e1, pre0, tmp):
    """:func:`_add_rows` for uint8 blocks: up to :data:`U8_GROUP` rows are summed in the int16
    scratch ``tmp`` (eight per pass; 16-bit lanes, twice as many per vector as int32, exact since
    32 * 255 < 2**15), then added into ``dst`` once. Returns how many entries exceed 0xFFFF."""
    over = 0
    e = e0
    acc = tmp[:npost]
    while e < e1:
        g = min(e + U8_GROUP, e1)
        acc[:] = 0
        while e + 7 < g:
            o = woff + (act[e] - pre0) * npost
            w1 = bw[o : o + npost]
            o = woff + (act[e + 1] - pre0) * npost
            w2 = bw[o : o + npost]
            o = woff + (act[e + 2] - pre0) * npost
            w3 = bw[o : o + npost]
            o = woff + (act[e + 3] - pre0) * npost
            w4 = bw[o : o + npost]
            o = woff + (act[e + 4] - pre0) * npost
            w5 = bw[o : o + npost]
            o = woff + (act[e + 5] - pre0) * npost
            w6 = bw[o : o + npost]
            o = woff + (act[e + 6] - pre0) * npost
            w7 = bw[o : o + npost]
            o = woff + (act[e + 7] - pre0) * npost
            w8 = bw[o : o + npost]
            for i in range(npost):
                acc[i] += ((w1[i] + w2[i]) + (w3[i] + w4[i])) + ((w5[i] + w6[i]) + (w7[i] + w8[i]))
            e += 8
        while e < g:
            o = woff + (act[e] - pre0) * npost
            w1 = bw[o : o + npost]
            for i in range(npost):
                acc[i] += w1[i]
            e += 1
        for i in range(npost):
            dst[i] += acc[i]
            over += dst[i] > SAT
    return over


@njit(inline="always")
def _neuron_loop(V, refract, ie, ii, uu, spk, re, ri, p, mode):
    """The loop of :func:`_neuron_range` on views (plain ``range`` indices: numba's negative-index
    wrap on an offset index would make the addresses non-affine for LLVM's vectorizer)."""
    any_wrap = False
    for n in range(V.size):
        if mode == KIND_EXP:
            exp = True
        elif mode == KIND_DELTA:
            exp = False
        else:
            exp = p[N_KIND][n] == KIND_EXP
        V[n], refract[n], ie[n], ii[n], u, spiked, wrapped = neuron_step(
            V[n],
            refract[n],
            ie[n],
            ii[n],
            min(np.int64(re[n]), SAT),
            min(np.int64(ri[n]), SAT),
            exp,
            p[N_SHE][n],
            p[N_SHI][n],
            p[N_INITE][n],
            p[N_INITI][n],
            p[N_IOFF][n],
            p[N_DSCALE][n],
            p[N_R][n],
            p[N_VREST][n],
            p[N_EXPTC][n],
            p[N_VTH][n],
            p[N_VRESET][n],
            p[N_TREF][n],
            p[N_DECE][n],
            p[N_DECI][n],
        )
        uu[n] = u
        spk[n] = spiked
        any_wrap |= wrapped
    return any_wrap


@njit(cache=True, nogil=True)
def _neuron_range(V, refract, ie, ii, uu, spk, rb, base, NL, par, lo, hi, mode):
    """The tick of neurons ``lo:hi`` (:func:`.arith.neuron_step`) on the ring-buffer slot at ``base``
    (read here, cleared by the caller); an entry holds the unclamped sum of its w16 and enters
    clamped at 0xFFFF, as the chip's saturating adds leave it. ``mode``: :data:`.arith.KIND_EXP` or
    :data:`.arith.KIND_DELTA` when every neuron of the range is of that kind (one branch-free loop
    that LLVM vectorizes), -1 to read the kind per neuron. Writes u and spiked per neuron to
    ``uu``, ``spk``; returns whether an int32 wrapped."""
    p = (
        par[0][lo:hi],
        par[1][lo:hi],
        par[2][lo:hi],
        par[3][lo:hi],
        par[4][lo:hi],
        par[5][lo:hi],
        par[6][lo:hi],
        par[7][lo:hi],
        par[8][lo:hi],
        par[9][lo:hi],
        par[10][lo:hi],
        par[11][lo:hi],
        par[12][lo:hi],
        par[13][lo:hi],
        par[14][lo:hi],
        par[15][lo:hi],
    )  # one contiguous view per column N_* (N_COLS = 16, checked at import)
    Vv, rv, ev, iv, uv, sv = V[lo:hi], refract[lo:hi], ie[lo:hi], ii[lo:hi], uu[lo:hi], spk[lo:hi]
    re, ri = rb[base + lo : base + hi], rb[base + NL + lo : base + NL + hi]
    if mode == KIND_EXP:
        return _neuron_loop(Vv, rv, ev, iv, uv, sv, re, ri, p, KIND_EXP)
    if mode == KIND_DELTA:
        return _neuron_loop(Vv, rv, ev, iv, uv, sv, re, ri, p, KIND_DELTA)
    return _neuron_loop(Vv, rv, ev, iv, uv, sv, re, ri, p, -1)


@njit(inline="always")
def _uniform_loop(V, refract, ie, ii, uu, spk, re, ri, par, lo, ioff, mode):
    """:func:`_neuron_loop` when every parameter but ``I_offset`` (the view ``ioff``) is neuron
    ``lo``'s: the loop reads them as scalars, no per-neuron loads."""
    exp = mode == KIND_EXP
    she, shi, inite, initi = par[N_SHE][lo], par[N_SHI][lo], par[N_INITE][lo], par[N_INITI][lo]
    dscale, r, vrest, exptc = par[N_DSCALE][lo], par[N_R][lo], par[N_VREST][lo], par[N_EXPTC][lo]
    vth, vreset, tref = par[N_VTH][lo], par[N_VRESET][lo], par[N_TREF][lo]
    dece, deci = par[N_DECE][lo], par[N_DECI][lo]
    any_wrap = False
    for n in range(V.size):
        V[n], refract[n], ie[n], ii[n], u, spiked, wrapped = neuron_step(
            V[n],
            refract[n],
            ie[n],
            ii[n],
            min(np.int64(re[n]), SAT),
            min(np.int64(ri[n]), SAT),
            exp,
            she,
            shi,
            inite,
            initi,
            ioff[n],
            dscale,
            r,
            vrest,
            exptc,
            vth,
            vreset,
            tref,
            dece,
            deci,
        )
        uu[n] = u
        spk[n] = spiked
        any_wrap |= wrapped
    return any_wrap


@njit(cache=True, nogil=True)
def _neuron_range_uniform(V, refract, ie, ii, uu, spk, rb, base, NL, par, lo, hi, mode):
    """:func:`_neuron_range` for a population whose neurons share every ``ntab`` column but
    ``I_offset`` (``Network.pop_uni``; ``mode``: its kind): the shared parameters are scalars
    (measured 1.4x faster than the per-neuron loads on the dense bench's population)."""
    Vv, rv, ev, iv, uv, sv = V[lo:hi], refract[lo:hi], ie[lo:hi], ii[lo:hi], uu[lo:hi], spk[lo:hi]
    re, ri = rb[base + lo : base + hi], rb[base + NL + lo : base + NL + hi]
    ioff = par[N_IOFF][lo:hi]
    if mode == KIND_EXP:
        return _uniform_loop(Vv, rv, ev, iv, uv, sv, re, ri, par, lo, ioff, KIND_EXP)
    return _uniform_loop(Vv, rv, ev, iv, uv, sv, re, ri, par, lo, ioff, KIND_DELTA)


@njit(inline="always")
def _neurons(t, V, refract, ie, ii, uu, spk, rb, base, net, ovf):
    """(a), (b) for every population (its kind from ``net.pop_kind``, shared parameters as scalars
    when ``net.pop_uni``), then the slot is cleared; the first int32 wrap per population goes to
    ``ovf``."""
    NL, par, pop_ptr, pop_kind, pop_uni = net.NL, net.par, net.pop_ptr, net.pop_kind, net.pop_uni
    for k in range(pop_ptr.size - 1):
        lo, hi = pop_ptr[k], pop_ptr[k + 1]
        if pop_uni[k] and hi > lo:
            w = _neuron_range_uniform(V, refract, ie, ii, uu, spk, rb, base, NL, par, lo, hi, pop_kind[k])
        elif pop_kind[k] == KIND_EXP:
            w = _neuron_range(V, refract, ie, ii, uu, spk, rb, base, NL, par, lo, hi, KIND_EXP)
        elif pop_kind[k] == KIND_DELTA:
            w = _neuron_range(V, refract, ie, ii, uu, spk, rb, base, NL, par, lo, hi, KIND_DELTA)
        else:
            w = _neuron_range(V, refract, ie, ii, uu, spk, rb, base, NL, par, lo, hi, -1)
        if w and ovf[k, O_WRAP] == 0:
            ovf[k, O_WRAP] = t + 1
    rb[base : base + 2 * NL] = 0


@njit(inline="always")
def _record(t, V0, uu, spk, rec, out):
    """Recorded v (before the tick, ``V0``), u and spikes of tick ``t``."""
    for j in range(rec.v.size):
        out.v[t, j] = V0[j]
    for j in range(rec.u.size):
        out.u[t, j] = uu[rec.u[j]]
    for j in range(rec.s.size):
        out.s[t, j] = spk[rec.s[j]]


@njit(inline="always")
def _run_start(idx):
    """``idx[0]`` when ``idx`` is the run ``idx[0], idx[0] + 1, ...`` (as ``record_index`` gives
    for one population), else -1 (also when empty)."""
    if idx.size == 0:
        return -1
    for j in range(idx.size):
        if idx[j] != idx[0] + j:
            return -1
    return idx[0]


@njit(inline="always")
def _record_runs(t, V0, uu, spk, rec, out, u0, s0):
    """:func:`_record`, copying ``uu`` / ``spk`` as one slice when the recorded neurons are a run
    starting at ``u0`` / ``s0`` (:func:`_run_start`, -1: gathered one by one)."""
    for j in range(rec.v.size):
        out.v[t, j] = V0[j]
    if u0 >= 0:
        out.u[t, :] = uu[u0 : u0 + rec.u.size]
    else:
        for j in range(rec.u.size):
            out.u[t, j] = uu[rec.u[j]]
    if s0 >= 0:
        out.s[t, :] = spk[s0 : s0 + rec.s.size]
    else:
        for j in range(rec.s.size):
            out.s[t, j] = spk[rec.s[j]]


@njit(inline="always")
def _compact(t, in_ptr, in_act, spk, NI, src_ptr, src_out, act, act_ptr):
    """The active sources of tick ``t`` (global indices, ascending) per source population: the
    inputs' from ``in_act[in_ptr[t]:in_ptr[t + 1]]``, the neurons' compacted from ``spk`` (only
    for populations with outgoing synapses, ``src_out``)."""
    c = 0
    k0 = 0
    n_src = src_ptr.size - 1
    while k0 < n_src and src_ptr[k0] < NI:  # input populations: the run's events, precomputed
        k0 += 1
    e = in_ptr[t]
    for k in range(k0):
        act_ptr[k] = c
        hi = src_ptr[k + 1]
        while e < in_ptr[t + 1] and in_act[e] < hi:
            act[c] = in_act[e]
            c += 1
            e += 1
    for k in range(k0, n_src):
        act_ptr[k] = c
        if src_out[k]:
            for g in range(src_ptr[k], src_ptr[k + 1]):
                act[c] = g
                c += spk[g - NI]
    act_ptr[n_src] = c
    return c


@njit(inline="always")
def _active(t, inp, spk, NI, src_ptr, src_out, act, act_ptr):
    """:func:`_compact` reading the inputs' row ``inp[t]`` itself (one branch-free pass per tick
    instead of :func:`input_events`' two passes over the run, measured ~2x cheaper at 10 % input):
    the active sources of tick ``t`` (global indices, ascending) per source population, only for
    populations with outgoing synapses (``src_out``; the others' spikes reach no synapse)."""
    c = 0
    n_src = src_ptr.size - 1
    row = inp[t]
    for k in range(n_src):
        act_ptr[k] = c
        if src_out[k]:
            if src_ptr[k] < NI:  # a source population is all inputs or all neurons
                for g in range(src_ptr[k], src_ptr[k + 1]):
                    act[c] = g
                    c += row[g] != 0
            else:
                for g in range(src_ptr[k], src_ptr[k + 1]):
                    act[c] = g
                    c += spk[g - NI]
    act_ptr[n_src] = c
    return c


@njit(inline="always")
def scratch(net):
    """The int16 scratch of :func:`_add_rows_u8` (the widest block's n_post entries)."""
    m = 1
    for k in range(net.btab.shape[0]):
        m = max(m, net.btab[k, B_NPOST])
    return np.zeros(m, np.int16)


@njit(cache=True, nogil=True)
def input_events(inp):
    """The active inputs of every tick: ``(ptr (T + 1,), idx)``, tick t's at ``idx[ptr[t]:ptr[t + 1]]``
    (for :func:`_compact`; the static kernel compacts each tick's row itself, :func:`_active`)."""
    T, NI = inp.shape
    ptr = np.zeros(T + 1, np.int64)
    for t in range(T):
        c = 0
        for g in range(NI):
            c += inp[t, g] != 0
        ptr[t + 1] = ptr[t] + c
    idx = np.zeros(ptr[T], np.int64)
    for t in range(T):
        c = ptr[t]
        for g in range(NI):
            if inp[t, g] != 0:
                idx[c] = g
                c += 1
    return ptr, idx


@njit(inline="always")
def _deliver_static(t, net, rb, slotb, act, act_ptr, n_act, ovf, tmp):
    """(c) the static synapses of the active sources into their slots ``t + d``: dense blocks by
    rows, then the CSR synapses one by one; a sum above 0xFFFF flags its population at ``t``.
    ``tmp``: int16 scratch of the largest block's n_post (:func:`scratch`)."""
    NL, btab, bw = net.NL, net.btab, net.bw
    popn = net.par[N_POP]
    for k in range(btab.shape[0]):
        sp = btab[k, B_SP]
        e0, e1 = act_ptr[sp], act_ptr[sp + 1]
        if e0 == e1:
            continue
        npost = btab[k, B_NPOST]
        off = slotb[btab[k, B_DEL]] + btab[k, B_TYPE] * NL + btab[k, B_POST0]
        dst, woff, pre0 = rb[off : off + npost], btab[k, B_WOFF], btab[k, B_PRE0]
        if bw.itemsize == 1:
            over = _add_rows_u8(dst, bw, woff, npost, act, e0, e1, pre0, tmp)
        else:
            over = _add_rows(dst, bw, woff, npost, act, e0, e1, pre0)
        if over and ovf[btab[k, B_POP], O_SAT] == 0:
            ovf[btab[k, B_POP], O_SAT] = t + 1
    frow, foff, fdel, fw = net.frow, net.foff, net.fdel, net.fw
    for e in range(n_act):
        g = act[e]
        for q in range(frow[g], frow[g + 1]):
            a = slotb[fdel[q]] + foff[q]
            y = rb[a] + fw[q]
            rb[a] = y
            if y > SAT:
                c = foff[q] if foff[q] < NL else foff[q] - NL
                if ovf[popn[c], O_SAT] == 0:
                    ovf[popn[c], O_SAT] = t + 1


@njit(cache=True, nogil=True)
def run_sample(inp, T, net, rec, out):
    """Run one sample for T ticks. ``inp``: (T, NI) uint8 spikes of the spike sources; ``net``:
    :class:`Network`; ``rec``: :class:`Recorded`; ``out``: :class:`Outputs` of this sample.

    Event driven: per tick the active sources are compacted per source population, dense
    blocks add whole rows (four at a time) and the CSR synapses are added one by one. A
    ring-buffer entry holds the plain sum of its w16 (``net.ring``'s dtype, which the plan proves
    wide enough) and is clamped at 0xFFFF when the neuron reads it. That is the chip's result: all
    w16 are >= 0, so a chain of adds saturating at S gives ``min(sum, S)`` in any order, and a
    saturating add happens in tick t exactly when an entry's sum exceeds S after tick t's adds
    (the flag :data:`.arith.O_SAT` records the first such tick per population, as the reference
    kernel's ``sat_add`` does)."""
    R, NI, NL = net.R, net.NI, net.NL
    W2 = 2 * NL
    V = net.v0.copy()
    refract = np.zeros(NL, np.int64)
    ie = np.zeros(NL, np.int64)
    ii = np.zeros(NL, np.int64)
    rb = np.zeros(R * W2, net.ring.dtype)
    uu = np.zeros(NL, np.int64)
    spk = np.zeros(NL, np.uint8)
    V0 = np.zeros(rec.v.size, np.int64)
    act = np.zeros(NI + NL, np.int64)
    act_ptr = np.zeros(net.src_ptr.size, np.int64)
    slotb = np.zeros(R, np.int64)
    tmp = scratch(net)
    v0, u0, s0 = _run_start(rec.v), _run_start(rec.u), _run_start(rec.s)
    for t in range(T):
        if v0 >= 0:
            V0[:] = V[v0 : v0 + rec.v.size]
        else:
            for j in range(rec.v.size):
                V0[j] = V[rec.v[j]]
        _neurons(t, V, refract, ie, ii, uu, spk, rb, (t % R) * W2, net, out.ovf)
        _record_runs(t, V0, uu, spk, rec, out, u0, s0)
        n_act = _active(t, inp, spk, NI, net.src_ptr, net.src_out, act, act_ptr)
        for d in range(R):
            slotb[d] = ((t + d) % R) * W2
        _deliver_static(t, net, rb, slotb, act, act_ptr, n_act, out.ovf, tmp)


@njit(cache=True, parallel=True)
def run_batch(inp, T, net, rec, out):
    """:func:`run_sample` over the batch axis (independent samples, ``prange``): ``inp`` (B, T, NI),
    ``out``: :class:`Outputs` with a leading batch axis."""
    for b in prange(inp.shape[0]):
        run_sample(inp[b], T, net, rec, Outputs(out.u[b], out.v[b], out.s[b], out.ovf[b]))
