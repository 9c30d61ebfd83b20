"""The ``spinnaker`` profile with sPyNNaker 1!7.4.1 STDP (``"stdp"`` projections), bit-exact.

Used by :func:`.run.run_program` (``targets/spinnaker/emulator/run.py``) when a Program has STDP
projections. The neuron arithmetic is the static profile's (``engine.py``, same per-tick
order and integers; a test checks the two kernels agree when learning is off). Plasticity is the
deferred, pre-triggered scheme of sPyNNaker's ``synapse_dynamics_stdp_mad_impl.c``
(``docs/learning-spinnaker.md``, "Emulator arithmetic"), per tick ``t``:

(b) a neuron that spikes appends ``(t, trace)`` to its post history (at most 16 entries including
    the ``t = 0`` sentinel; when full the oldest real entry is dropped, ``post_events.h``):
    pair ``o = int16(mul16(o_last, LUT-(t - t_last)) + 2048)``; Pfister also
    ``o2 = 0 if t_last == 0 else int16(mul16(o2_last + 2048, LUTy(t - t_last)))``;
(c) a spike of pre neuron j at tick ``tp`` updates each plastic row of j (one per STDP
    projection): new pre trace as above (``LUT+``, Pfister ``r2`` with ``LUTx``), then for
    each synapse (post i, dendritic delay dd = its delay since backprop_delay is True):
    ``w = w16 << shift`` (s16.15); the post events of i with ``max(lt-dd,0) < t_e <= max(tp-dd,0)``
    potentiate, oldest first, ``w += mulaf(A+, mul16(r_last, LUT+(t_e + dd - lt)))`` (Pfister: plus
    ``mulaf(A3+, mul16(that, o2_e))``; multiplicative: ``mulaf(mul_k(w_max - w, A+), ...)``), additive
    rules clamp at ``w_max``; then the latest event at or before the window (not the sentinel)
    depresses ``w -= mulaf(A-, mul16(o_prev, LUT-(tp - t_prev - dd)))`` (Pfister: plus
    ``mulaf(A3-, mul16(that, r2_new))``; multiplicative ``mul_k(w - w_min, A-)``), additive rules
    clamp at ``w_min``; time differences are uint32 and a zero difference skips its term; the
    weight is written back as ``uint16(w >> shift)`` and **that** updated weight goes into
    ring-buffer slot ``tp + d`` (saturating at 0xFFFF).

``mul16(a, b) = (int16(a) * int16(b)) >> 11`` (``__smulbb``), ``mulaf(A, x) = (A * int32(x << 4)) >> 15``
and ``mul_k`` are floor operations with int32 wrap, as compiled. Updates happen only at pre
spikes: the learned weights (``Projection.get("weight")`` after a run) miss the post spikes after
each synapse's last pre spike, exactly as on chip.
"""

from __future__ import annotations

import copy

import numpy as np
from numba import njit, prange

from neurocompile.program import Program
from neurocompile.targets.spinnaker import spec
from neurocompile.targets.spinnaker.learning import TIMING_CODES, WEIGHT_CODES, stdp_constants

from .arith import N_POP, O_SAT, O_WRAP, flag, i16, mul_k, mul16, mulaf, neuron_tick, positions, ring_add, w32
from .engine import build_plan

_M32 = spec.UINT32_MAX
_W16 = spec.W16_MAX
_ONE = spec.STDP_ONE
_H = spec.STDP_MAX_POST_EVENTS
# rule table columns
(R_TIMING, R_WEIGHT, R_WMIN, R_WMAX, R_A2P, R_A2M, R_A3P, R_A3M, R_OFFP, R_SIZEP, R_SHP, R_OFFM, R_SIZEM, R_SHM,
 R_OFFX, R_SIZEX, R_SHX, R_OFFY, R_SIZEY, R_SHY) = range(20)
R_COLS = 20


@njit(inline="always")
def _lut(luts, off, size, shift, dt):
    i = (dt & _M32) >> shift
    if i < size:
        return luts[off + i]
    return 0


@njit(cache=True, nogil=True)
def run_sample_stdp(inp, T, ntab, v0, rowptr, cpost, cw, cdel, ctype, R, NI, NL, NP, rec_u, rec_v, rec_s,
                    out_u, out_v, out_s, ovf,
                    rtab, luts, nrule, prow_ptr, row_rule, syn_ptr, ps_post, ps_del, ps_type, ps_shift, w,
                    rec_w, out_w):
    """One sample; ``w`` (n_plastic,) holds the w16 weights and is updated in place.
    ``out_w``: (T, n_plastic) when ``rec_w`` else unused."""
    V = v0.copy()
    refract = np.zeros(NL, np.int64)
    ie = np.zeros(NL, np.int64)
    ii = np.zeros(NL, np.int64)
    rb = np.zeros((R, 2, NL), np.int64)
    spk = np.zeros(NL, np.uint8)
    nrows = row_rule.size
    row_t = np.zeros(nrows, np.int64)
    row_r1 = np.zeros(nrows, np.int64)
    row_r2 = np.zeros(nrows, np.int64)
    h_t = np.zeros((NL, _H), np.int64)
    h_o1 = np.zeros((NL, _H), np.int64)
    h_o2 = np.zeros((NL, _H), np.int64)
    h_cm1 = np.zeros(NL, np.int64)
    pos_u = positions(rec_u, NL)
    pos_v = positions(rec_v, NL)
    pos_s = positions(rec_s, NL)
    for t in range(T):
        slot = t % R
        for n in range(NL):
            spk[n] = neuron_tick(n, t, slot, ntab, V, refract, ie, ii, rb, ovf, pos_u, pos_v, pos_s, out_u, out_v,
                                 out_s)
            k = nrule[n]
            if spk[n] and k >= 0:  # post event into the history (synapse_dynamics_process_post_synaptic_event)
                c = h_cm1[n]
                lt = h_t[n, c]
                dt = t - lt
                o1 = i16(mul16(h_o1[n, c], _lut(luts, rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM], dt)) + _ONE)
                o2 = 0
                if rtab[k, R_TIMING] == 1 and lt != 0:
                    o2 = i16(mul16(h_o2[n, c] + _ONE,
                                   _lut(luts, rtab[k, R_OFFY], rtab[k, R_SIZEY], rtab[k, R_SHY], dt)))
                if c < _H - 1:
                    c += 1
                    h_cm1[n] = c
                else:
                    for e in range(2, _H):
                        h_t[n, e - 1] = h_t[n, e]
                        h_o1[n, e - 1] = h_o1[n, e]
                        h_o2[n, e - 1] = h_o2[n, e]
                h_t[n, c] = t
                h_o1[n, c] = o1
                h_o2[n, c] = o2
        for g in range(NI + NL):
            if g < NI:
                if inp[t, g] == 0:
                    continue
            elif spk[g - NI] == 0:
                continue
            for q in range(rowptr[g], rowptr[g + 1]):
                post = cpost[q]
                if ring_add(rb, (t + cdel[q]) % R, ctype[q], post, cw[q]):
                    flag(ovf, ntab[post, N_POP], O_SAT, t)
            # plastic rows of source g (synapse_dynamics_process_plastic_synapses), tp = t
            for r in range(prow_ptr[g], prow_ptr[g + 1]):
                k = row_rule[r]
                tim = rtab[k, R_TIMING]
                wk = rtab[k, R_WEIGHT]
                lt = row_t[r]
                lr1 = row_r1[r]
                lr2 = row_r2[r]
                dtp = t - lt
                nr1 = i16(mul16(lr1, _lut(luts, rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP], dtp)) + _ONE)
                nr2 = 0
                if tim == 1 and lt != 0:
                    nr2 = i16(mul16(lr2 + _ONE, _lut(luts, rtab[k, R_OFFX], rtab[k, R_SIZEX], rtab[k, R_SHX], dtp)))
                row_t[r] = t
                row_r1[r] = nr1
                row_r2[r] = nr2
                wmin = rtab[k, R_WMIN]
                wmax = rtab[k, R_WMAX]
                for q in range(syn_ptr[r], syn_ptr[r + 1]):
                    n = ps_post[q]
                    dd = ps_del[q]
                    sh = ps_shift[q]
                    wt = w32(w[q] << sh)
                    begin = lt - dd if lt >= dd else 0
                    end = t - dd if t >= dd else 0
                    cnt = h_cm1[n] + 1
                    p = cnt
                    end_i = cnt
                    nxt = cnt
                    while True:  # post_events_get_window_delayed: walk back from the newest event
                        if p < cnt and h_t[n, p] > end:
                            end_i = p
                        nxt = p
                        p -= 1
                        if not (h_t[n, p] > begin and p != 0):
                            break
                    prev = p
                    valid = p != 0
                    for e in range(nxt, end_i):
                        dtl = (h_t[n, e] + dd - lt) & _M32
                        if dtl > 0:
                            dr1 = mul16(lr1, _lut(luts, rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP], dtl))
                            if wk == 0:
                                wt = w32(wt + mulaf(rtab[k, R_A2P], dr1))
                                if wt > wmax:
                                    wt = wmax
                            elif wk == 1:
                                scale = mul_k(w32(wmax - wt), rtab[k, R_A2P])
                                wt = w32(wt + mulaf(scale, dr1))
                            else:
                                dr1o2 = mul16(dr1, h_o2[n, e])
                                wt = w32(wt + mulaf(rtab[k, R_A2P], dr1))
                                wt = w32(wt + mulaf(rtab[k, R_A3P], dr1o2))
                                if wt > wmax:
                                    wt = wmax
                        prev = e
                        valid = True
                    if valid:
                        dtl = (t - (h_t[n, prev] + dd)) & _M32
                        if dtl > 0:
                            do1 = mul16(h_o1[n, prev], _lut(luts, rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM],
                                                             dtl))
                            if wk == 0:
                                wt = w32(wt - mulaf(rtab[k, R_A2M], do1))
                                if wt < wmin:
                                    wt = wmin
                            elif wk == 1:
                                scale = mul_k(w32(wt - wmin), rtab[k, R_A2M])
                                wt = w32(wt - mulaf(scale, do1))
                            else:
                                do1r2 = mul16(do1, nr2)
                                wt = w32(wt - mulaf(rtab[k, R_A2M], do1))
                                wt = w32(wt - mulaf(rtab[k, R_A3M], do1r2))
                                if wt < wmin:
                                    wt = wmin
                    w16 = (wt >> sh) & _W16
                    w[q] = w16
                    if ring_add(rb, (t + ps_del[q]) % R, ps_type[q], n, w16):
                        flag(ovf, ntab[n, N_POP], O_SAT, t)
        if rec_w:
            for q in range(w.size):
                out_w[t, q] = w[q]


@njit(cache=True, parallel=True)
def run_batch_stdp(inp, T, ntab, v0, rowptr, cpost, cw, cdel, ctype, R, NI, NL, NP, rec_u, rec_v, rec_s,
                   out_u, out_v, out_s, ovf, rtab, luts, nrule, prow_ptr, row_rule, syn_ptr, ps_post, ps_del, ps_type,
                   ps_shift, w, rec_w, out_w):
    """:func:`run_sample_stdp` over the batch (``w``: (batch, n_plastic), ``out_w``: (batch, T', n_plastic))."""
    for b in prange(inp.shape[0]):
        run_sample_stdp(inp[b], T, ntab, v0, rowptr, cpost, cw, cdel, ctype, R, NI, NL, NP, rec_u, rec_v, rec_s,
                        out_u[b], out_v[b], out_s[b], ovf[b], rtab, luts, nrule, prow_ptr, row_rule, syn_ptr, ps_post,
                        ps_del, ps_type, ps_shift, w[b], rec_w, out_w[b])


class StdpPlan:
    """The static plan of :func:`.engine.build_plan` plus the plastic rows, synapses and rules."""

    def __init__(self, program: Program) -> None:
        from neurocompile.targets.spinnaker.schema import tick_ms_of

        tick_ms = tick_ms_of(program)
        static = copy.copy(program)
        static.projections = {k: p for k, p in program.projections.items() if p.kind != "stdp"}
        plan = build_plan(static)
        self.plan = plan
        self.stdp_names = [k for k, p in program.projections.items() if p.kind == "stdp"]
        pops = program.populations
        rows_g, rows_k, syn_counts = [], [], []
        post_l, del_l, type_l, shift_l, w0_l, order_l = [], [], [], [], [], []
        rtab = np.zeros((max(len(self.stdp_names), 1), R_COLS), np.int64)
        luts: list[np.ndarray] = []
        off = 0
        nrule = np.full(plan.NL, -1, np.int64)
        self.slices: dict[str, tuple[np.ndarray, int]] = {}
        base_syn = 0
        max_d = 1
        for k, name in enumerate(self.stdp_names):
            proj = program.projections[name]
            p = proj.params
            c = stdp_constants(p["plasticity"], tick_ms, node=name)
            row = rtab[k]
            row[R_TIMING], row[R_WEIGHT] = TIMING_CODES[c.timing], WEIGHT_CODES[c.weight]
            row[R_WMIN], row[R_WMAX] = c.w_min, c.w_max
            row[R_A2P], row[R_A2M], row[R_A3P], row[R_A3M] = c.a2_plus, c.a2_minus, c.a3_plus, c.a3_minus
            for (co, cs, csh), lut, sh in (((R_OFFP, R_SIZEP, R_SHP), c.lut_plus, c.shift_plus),
                                           ((R_OFFM, R_SIZEM, R_SHM), c.lut_minus, c.shift_minus),
                                           ((R_OFFX, R_SIZEX, R_SHX), c.lut_x, c.shift_x),
                                           ((R_OFFY, R_SIZEY, R_SHY), c.lut_y, c.shift_y)):
                row[co], row[cs], row[csh] = off, lut.size, sh
                luts.append(lut)
                off += lut.size
            post_off = plan.neuron_slices[proj.post][0]
            npost = pops[proj.post].size
            nrule[post_off:post_off + npost] = k
            shifts = [int(s) for s in pops[proj.post].params["ring_buffer_shifts"]]
            ty = spec.SYNAPSE_TYPES.index(p["receptor"])
            pre = np.asarray(p["pre"], np.int64).reshape(-1)
            post = np.asarray(p["post"], np.int64).reshape(-1)
            d = np.asarray(p["delays"], np.int64).reshape(-1)
            w0 = np.asarray(p["w16"], np.int64).reshape(-1)
            gbase = (plan.in_slices[proj.pre][0] if proj.pre in plan.in_slices
                     else plan.NI + plan.neuron_slices[proj.pre][0])
            order = np.argsort(pre, kind="stable")
            counts = np.bincount(pre, minlength=pops[proj.pre].size)
            for j in np.nonzero(counts)[0]:
                rows_g.append(int(j) + gbase)
                rows_k.append(k)
                syn_counts.append(int(counts[j]))
            post_l.append(post[order] + post_off)
            del_l.append(d[order])
            type_l.append(np.full(pre.size, ty, np.int64))
            shift_l.append(np.full(pre.size, shifts[ty], np.int64))
            w0_l.append(w0[order])
            order_l.append(order + base_syn)
            self.slices[name] = (order, base_syn)
            base_syn += pre.size
            if d.size:
                max_d = max(max_d, int(d.max()))
        plan.R = max(plan.R, max_d + 1)

        def cat(parts):
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

        rows_g_a = np.asarray(rows_g, np.int64)
        # rows of one projection are contiguous and their synapses follow in row order; sort rows by source
        syn_start = np.concatenate([[0], np.cumsum(syn_counts)]).astype(np.int64)
        rorder = np.argsort(rows_g_a, kind="stable")
        self.row_rule = np.asarray(rows_k, np.int64)[rorder]
        starts, ends = syn_start[:-1][rorder], syn_start[1:][rorder]
        perm = cat([np.arange(a, b) for a, b in zip(starts, ends)]) if len(starts) else np.zeros(0, np.int64)
        self.syn_ptr = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
        self.prow_ptr = np.zeros(plan.NI + plan.NL + 1, np.int64)
        np.cumsum(np.bincount(rows_g_a, minlength=plan.NI + plan.NL), out=self.prow_ptr[1:])
        self.ps_post = cat(post_l)[perm]
        self.ps_del = cat(del_l)[perm]
        self.ps_type = cat(type_l)[perm]
        self.ps_shift = cat(shift_l)[perm]
        self.w0 = cat(w0_l)[perm]
        #: kernel position of each projection's synapse i: ``where[name][i]``
        flat_of_kernel = cat(order_l)[perm]        # program-order flat index (base + original i) per kernel slot
        inv = np.empty_like(flat_of_kernel)
        inv[flat_of_kernel] = np.arange(flat_of_kernel.size)
        self.where = {}
        for name in self.stdp_names:
            order, base = self.slices[name]
            self.where[name] = inv[base + np.arange(order.size)]
        self.rtab = rtab
        self.luts = cat(luts)
        self.nrule = nrule

    def kernel_args(self) -> tuple:
        return (self.rtab, self.luts, self.nrule, self.prow_ptr, self.row_rule, self.syn_ptr, self.ps_post,
                self.ps_del, self.ps_type, self.ps_shift)


def run_stdp_kernels(sp: StdpPlan, inp: np.ndarray, steps: int, rec_u, rec_v, rec_s, out_u, out_v, out_s, ovf,
                     record_weights: bool) -> tuple[np.ndarray, np.ndarray]:
    """Run the batch; returns ``(final w16 (batch, n_plastic), trajectory (batch, T, n_plastic) or empty)``."""
    batch = inp.shape[0]
    n_ps = sp.w0.size
    w = np.ascontiguousarray(np.broadcast_to(sp.w0, (batch, n_ps))).copy()
    out_w = np.zeros((batch, steps if record_weights else 1, n_ps if record_weights else 1), np.int64)
    args = sp.plan.kernel_args()
    if batch == 1:
        run_sample_stdp(inp[0], steps, *args, rec_u, rec_v, rec_s, out_u[0], out_v[0], out_s[0], ovf[0],
                        *sp.kernel_args(), w[0], record_weights, out_w[0])
    elif batch > 1:
        run_batch_stdp(inp, steps, *args, rec_u, rec_v, rec_s, out_u, out_v, out_s, ovf, *sp.kernel_args(), w,
                       record_weights, out_w)
    return w, out_w


__all__ = ["StdpPlan", "run_sample_stdp", "run_batch_stdp", "run_stdp_kernels", "O_SAT", "O_WRAP"]
