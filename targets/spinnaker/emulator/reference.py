"""The simple kernels: the static and STDP emulator as first written, kept as the slow reference path.

These are the kernels of ``engine.py`` and ``stdp.py`` before the event-driven rewrite (issue 14),
unchanged: per tick every neuron through :func:`.arith.neuron_step` (scalars, ``ntab`` by row),
then every spike's synapses one by one into the ``(R, 2, NL)`` int64 ring buffer with
:func:`.arith.sat_add` in the chip's order (source by source, synapse by synapse). Same arguments
and outputs as the fast kernels (:class:`.engine.Network`, :class:`.engine.Recorded`,
:class:`.engine.Outputs`; :class:`.stdp.Plastic`, :class:`.stdp.Weights`). The differential tests
(``tests/test_spinnaker_fast.py``) compare the fast kernels with these on random networks, and
``benchmarks/bench_spinnaker_emulator.py`` times them in the same run as the fast ones.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neurocompile.targets.spinnaker import spec

from .arith import (
    KIND_EXP,
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
    depress,
    mul16,
    neuron_step,
    new_state,
    positions,
    potentiate,
    sat_add,
    trace2_decay,
    trace_add,
    weight_in,
    weight_out,
)
from .engine import Outputs as _Outputs
from .stdp import (
    R_A2M,
    R_A2P,
    R_A3M,
    R_A3P,
    R_OFFM,
    R_OFFP,
    R_OFFX,
    R_OFFY,
    R_SHM,
    R_SHP,
    R_SHX,
    R_SHY,
    R_SIZEM,
    R_SIZEP,
    R_SIZEX,
    R_SIZEY,
    R_TIMING,
    R_WEIGHT,
    R_WMAX,
    R_WMIN,
    _lut,
)
from .stdp import Weights as _Weights

EXC, INH = spec.EXCITATORY, spec.INHIBITORY
_M32 = spec.UINT32_MAX
_H = spec.STDP_MAX_POST_EVENTS


@njit(cache=True, nogil=True)
def run_sample_reference(inp, T, net, rec, out):
    """Run one sample for T ticks. ``inp``: (T, NI) uint8 spikes of the spike sources; ``net``:
    :class:`Network`; ``rec``: :class:`Recorded`; ``out``: :class:`Outputs` of this sample."""
    ntab, rowptr, cpost, cw, cdel, ctype = net.ntab, net.rowptr, net.cpost, net.cw, net.cdel, net.ctype
    R, NI, NL = net.R, net.NI, net.NL
    V, refract, ie, ii, rb = new_state(net.v0, R)
    pos_u, pos_v, pos_s = positions(rec.u, NL), positions(rec.v, NL), positions(rec.s, NL)
    out_u, out_v, out_s, ovf = out.u, out.v, out.s, out.ovf
    spk = np.zeros(NL, np.uint8)
    for t in range(T):
        slot = t % R
        for n in range(NL):  # (a), (b)
            e16, i16_ = rb[slot, EXC, n], rb[slot, INH, n]
            rb[slot, EXC, n] = 0
            rb[slot, INH, n] = 0
            if pos_v[n] >= 0:
                out_v[t, pos_v[n]] = V[n]
            V[n], refract[n], ie[n], ii[n], u, spiked, wrapped = neuron_step(
                V[n],
                refract[n],
                ie[n],
                ii[n],
                e16,
                i16_,
                ntab[n, N_KIND] == KIND_EXP,
                ntab[n, N_SHE],
                ntab[n, N_SHI],
                ntab[n, N_INITE],
                ntab[n, N_INITI],
                ntab[n, N_IOFF],
                ntab[n, N_DSCALE],
                ntab[n, N_R],
                ntab[n, N_VREST],
                ntab[n, N_EXPTC],
                ntab[n, N_VTH],
                ntab[n, N_VRESET],
                ntab[n, N_TREF],
                ntab[n, N_DECE],
                ntab[n, N_DECI],
            )
            if pos_u[n] >= 0:
                out_u[t, pos_u[n]] = u
            if wrapped and ovf[ntab[n, N_POP], O_WRAP] == 0:
                ovf[ntab[n, N_POP], O_WRAP] = t + 1
            spk[n] = 1 if spiked else 0
            if pos_s[n] >= 0:
                out_s[t, pos_s[n]] = spk[n]
        # (c) spikes of tick t into slots t + d
        for g in range(NI + NL):
            if g < NI:
                if inp[t, g] == 0:
                    continue
            elif spk[g - NI] == 0:
                continue
            for q in range(rowptr[g], rowptr[g + 1]):
                sl, ty, post = (t + cdel[q]) % R, ctype[q], cpost[q]
                rb[sl, ty, post], sat = sat_add(rb[sl, ty, post], cw[q])
                if sat and ovf[ntab[post, N_POP], O_SAT] == 0:
                    ovf[ntab[post, N_POP], O_SAT] = t + 1


@njit(cache=True, parallel=True)
def run_batch_reference(inp, T, net, rec, out):
    """:func:`run_sample_reference` over the batch axis (independent samples, ``prange``): ``inp`` (B, T, NI),
    ``out``: :class:`Outputs` with a leading batch axis."""
    for b in prange(inp.shape[0]):
        run_sample_reference(inp[b], T, net, rec, _Outputs(out.u[b], out.v[b], out.s[b], out.ovf[b]))


@njit(cache=True, nogil=True)
def run_sample_stdp_reference(inp, T, net, rec, out, pl, wts):
    """:func:`run_sample_reference` with STDP: ``pl``: :class:`Plastic`, ``wts``: :class:`Weights`."""
    ntab, rowptr, cpost, cw, cdel, ctype = net.ntab, net.rowptr, net.cpost, net.cw, net.cdel, net.ctype
    R, NI, NL = net.R, net.NI, net.NL
    rtab, luts, nrule, prow_ptr, row_rule, syn_ptr = (
        pl.rtab,
        pl.luts,
        pl.nrule,
        pl.prow_ptr,
        pl.row_rule,
        pl.syn_ptr,
    )
    ps_post, ps_del, ps_type, ps_shift = pl.ps_post, pl.ps_del, pl.ps_type, pl.ps_shift
    w, out_w = wts.w, wts.traj
    V, refract, ie, ii, rb = new_state(net.v0, R)
    pos_u, pos_v, pos_s = positions(rec.u, NL), positions(rec.v, NL), positions(rec.s, NL)
    out_u, out_v, out_s, ovf = out.u, out.v, out.s, out.ovf
    spk = np.zeros(NL, np.uint8)
    nrows = row_rule.size
    row_t = np.zeros(nrows, np.int64)
    row_r1 = np.zeros(nrows, np.int64)
    row_r2 = np.zeros(nrows, np.int64)
    h_t = np.zeros((NL, _H), np.int64)
    h_o1 = np.zeros((NL, _H), np.int64)
    h_o2 = np.zeros((NL, _H), np.int64)
    h_cm1 = np.zeros(NL, np.int64)
    for t in range(T):
        slot = t % R
        for n in range(NL):  # the static kernel's neuron tick (engine.run_sample), then the post history
            e16, i16_ = rb[slot, EXC, n], rb[slot, INH, n]
            rb[slot, EXC, n] = 0
            rb[slot, INH, n] = 0
            if pos_v[n] >= 0:
                out_v[t, pos_v[n]] = V[n]
            V[n], refract[n], ie[n], ii[n], u, spiked, wrapped = neuron_step(
                V[n],
                refract[n],
                ie[n],
                ii[n],
                e16,
                i16_,
                ntab[n, N_KIND] == KIND_EXP,
                ntab[n, N_SHE],
                ntab[n, N_SHI],
                ntab[n, N_INITE],
                ntab[n, N_INITI],
                ntab[n, N_IOFF],
                ntab[n, N_DSCALE],
                ntab[n, N_R],
                ntab[n, N_VREST],
                ntab[n, N_EXPTC],
                ntab[n, N_VTH],
                ntab[n, N_VRESET],
                ntab[n, N_TREF],
                ntab[n, N_DECE],
                ntab[n, N_DECI],
            )
            if pos_u[n] >= 0:
                out_u[t, pos_u[n]] = u
            if wrapped and ovf[ntab[n, N_POP], O_WRAP] == 0:
                ovf[ntab[n, N_POP], O_WRAP] = t + 1
            spk[n] = 1 if spiked else 0
            if pos_s[n] >= 0:
                out_s[t, pos_s[n]] = spk[n]
            k = nrule[n]
            if (
                spk[n] and k >= 0
            ):  # post event into the history (synapse_dynamics_process_post_synaptic_event)
                c = h_cm1[n]
                lt = h_t[n, c]
                dt = t - lt
                o1 = trace_add(h_o1[n, c], _lut(luts, rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM], dt))
                o2 = 0
                if rtab[k, R_TIMING] == 1 and lt != 0:
                    o2 = trace2_decay(
                        h_o2[n, c], _lut(luts, rtab[k, R_OFFY], rtab[k, R_SIZEY], rtab[k, R_SHY], dt)
                    )
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
                sl, ty, post = (t + cdel[q]) % R, ctype[q], cpost[q]
                rb[sl, ty, post], sat = sat_add(rb[sl, ty, post], cw[q])
                if sat and ovf[ntab[post, N_POP], O_SAT] == 0:
                    ovf[ntab[post, N_POP], O_SAT] = t + 1
            # plastic rows of source g (synapse_dynamics_process_plastic_synapses), tp = t
            for r in range(prow_ptr[g], prow_ptr[g + 1]):
                k = row_rule[r]
                tim = rtab[k, R_TIMING]
                wk = rtab[k, R_WEIGHT]
                lt = row_t[r]
                lr1 = row_r1[r]
                lr2 = row_r2[r]
                dtp = t - lt
                nr1 = trace_add(lr1, _lut(luts, rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP], dtp))
                nr2 = 0
                if tim == 1 and lt != 0:
                    nr2 = trace2_decay(
                        lr2, _lut(luts, rtab[k, R_OFFX], rtab[k, R_SIZEX], rtab[k, R_SHX], dtp)
                    )
                row_t[r] = t
                row_r1[r] = nr1
                row_r2[r] = nr2
                wmin = rtab[k, R_WMIN]
                wmax = rtab[k, R_WMAX]
                for q in range(syn_ptr[r], syn_ptr[r + 1]):
                    n = ps_post[q]
                    dd = ps_del[q]
                    sh = ps_shift[q]
                    wt = weight_in(w[q], sh)
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
                            dr1 = mul16(
                                lr1, _lut(luts, rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP], dtl)
                            )
                            wt = potentiate(wk, wt, rtab[k, R_A2P], rtab[k, R_A3P], wmax, dr1, h_o2[n, e])
                        prev = e
                        valid = True
                    if valid:  # no zero-difference test here (the 7.4.1 binary has none: LUT(0) applies)
                        dtl = (t - (h_t[n, prev] + dd)) & _M32
                        do1 = mul16(
                            h_o1[n, prev], _lut(luts, rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM], dtl)
                        )
                        wt = depress(wk, wt, rtab[k, R_A2M], rtab[k, R_A3M], wmin, do1, nr2)
                    w16 = weight_out(wt, sh)
                    w[q] = w16
                    if dd == 0:  # masked to 0 by the ring size: never delivered (spec.stdp_row_delay)
                        continue
                    sl, ty = (t + ps_del[q]) % R, ps_type[q]
                    rb[sl, ty, n], sat = sat_add(rb[sl, ty, n], w16)
                    if sat and ovf[ntab[n, N_POP], O_SAT] == 0:
                        ovf[ntab[n, N_POP], O_SAT] = t + 1
        if wts.record:
            for q in range(w.size):
                out_w[t, q] = w[q]


@njit(cache=True, parallel=True)
def run_batch_stdp_reference(inp, T, net, rec, out, pl, wts):
    """:func:`run_sample_stdp_reference` over the batch (``out``, ``wts``: a leading batch axis)."""
    for b in prange(inp.shape[0]):
        run_sample_stdp_reference(
            inp[b],
            T,
            net,
            rec,
            _Outputs(out.u[b], out.v[b], out.s[b], out.ovf[b]),
            pl,
            _Weights(wts.w[b], wts.traj[b], wts.record),
        )
