"""The compiled integer engine: one numba call runs all T steps of a flattened network.

The engine knows nothing about Programs; ``plan.py`` flattens a Program into the
tables below. Arithmetic is done in int64 and every place where the reference implementation
(Lava 0.10.0 ``fixed_pt``) works in int32 is wrapped explicitly with :func:`.arith.wrap32`.

Layout
------
* LIF neurons of all populations share one global index ``0..NL-1`` (C-order inside a
  population). Input neurons share another, ``0..NI-1``.
* A *source* is a population that emits events: every input population and every LIF
  population. Per step, each source has a list of active local indices and payloads (LIF: 1,
  input: the data value).
* A *ring* ``(R, NL)`` of int64 holds the synaptic input that will be delivered at step
  ``t`` in row ``t % R`` (R = 1 + the largest delay). A projection processing the events of
  step ``t`` with delay ``d`` adds into row ``(t + 1 + d) % R``: one step per synaptic hop.
  Only values mod 2^32 matter (Lava's int32 channels), except for overflow detection.
* Projections are event driven: for each active presynaptic neuron, its row of weights is
  added. Format 0: a dense row ``(n_post,)`` (Dense); format 1: a CSR row of
  ``(post, weight, delay)`` (Sparse, DelayDense, DelaySparse; zero weights dropped).
* ``weight_exp`` shifts the *sum*: for ``exp >= 0`` it is a multiplication, folded into the
  stored weights by the plan (exact mod 2^32), so events go straight into the ring. For
  ``exp < 0`` each projection accumulates into a temporary ``(D+1, n_post)`` block which is
  floor-shifted (optionally wrapped to int32 first, as Lava's int32 dot products are) and then
  added to the ring.

Tables (int64, one row per entry)
--------------------------------
``lif_tab[k]``: off, n, fu, fv (the decay factors of :func:`.arith.decay_factor_u` / ``_v``; -1
when the population has per-neuron decays), vth_eff (vth << 6), reset_interval (0: plain LIF),
reset_offset % interval, source index.
``in_tab[k]``: off (into the input columns), n, source index.
``pj_tab[q]``: source, post_off, n_post, fmt, graded, weight_exp, wrap_before_shift, D,
weight offset, row-pointer offset, tmp offset, left shift of the stored dense weights.
``fu``, ``fv`` (NL,): the decay factors per LIF neuron (the kernel reads these, so populations
with per-neuron du/dv run through the same loop).
The neuron arithmetic is :func:`.arith.lif_uv` (constants from ``targets/loihi2/spec.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .arith import lif_uv, wrap32

# lif_tab columns
L_OFF, L_N, L_FU, L_FV, L_VTH, L_RINT, L_ROFF, L_SRC = range(8)
LIF_COLS = 8
# in_tab columns
I_OFF, I_N, I_SRC = range(3)
IN_COLS = 3
# pj_tab columns
P_SRC, P_POST, P_NPOST, P_FMT, P_GRADED, P_EXP, P_WRAP, P_D, P_WOFF, P_ROFF, P_TOFF, P_WSH = range(12)
PJ_COLS = 12
FMT_DENSE, FMT_CSR = 0, 1


@njit(cache=True)
def _add_row(dst, w, p, sh):
    """dst += (w << sh) * p over a contiguous row (vectorized by LLVM: plain range index on
    views). Dense rows are stored divided by 2^sh (their truncated LSBs and positive weight
    exponent), which lets most of them fit int8 and halves the memory traffic again."""
    if p == 1:
        if sh == 0:
            for i in range(dst.shape[0]):
                dst[i] += w[i]
        else:
            s32 = np.int32(sh)
            for i in range(dst.shape[0]):
                dst[i] += np.int32(w[i]) << s32  # 32-bit lanes: |w << sh| <= 255 << 8
    else:
        m = p << sh
        for i in range(dst.shape[0]):
            dst[i] += w[i] * m


@njit(cache=True)
def _add_rows_binary(dst, wd, woff, npost, act_idx, abase, cnt, sh):
    """Binary events of one dense projection: dst += sum of the active rows << sh, four rows per
    pass over ``dst`` (a quarter of its loads/stores; short rows are dominated by them). Exact:
    the stored quotients are at most 256 (or 255 << 8 unscaled) in magnitude, so the sum of four
    shifted by sh fits int32."""
    s32 = np.int32(sh)
    n = dst.shape[0]
    e = 0
    while e + 3 < cnt:
        j1 = act_idx[abase + e]
        j2 = act_idx[abase + e + 1]
        j3 = act_idx[abase + e + 2]
        j4 = act_idx[abase + e + 3]
        w1 = wd[woff + j1 * npost : woff + (j1 + 1) * npost]
        w2 = wd[woff + j2 * npost : woff + (j2 + 1) * npost]
        w3 = wd[woff + j3 * npost : woff + (j3 + 1) * npost]
        w4 = wd[woff + j4 * npost : woff + (j4 + 1) * npost]
        for i in range(n):
            dst[i] += ((np.int32(w1[i]) + np.int32(w2[i])) + (np.int32(w3[i]) + np.int32(w4[i]))) << s32
        e += 4
    while e < cnt:
        j = act_idx[abase + e]
        w = wd[woff + j * npost : woff + (j + 1) * npost]
        for i in range(n):
            dst[i] += np.int32(w[i]) << s32
        e += 1


class Network(NamedTuple):
    """The flattened network as the kernels read it (:meth:`.plan.Loihi2Plan.network`)."""

    in_tab: np.ndarray  # (n_in_pops, IN_COLS) int64, columns I_*
    lif_tab: np.ndarray  # (n_lif_pops, LIF_COLS) int64, columns L_*
    bias: np.ndarray  # (NL,) int64
    u0: np.ndarray  # (NL,) initial u
    v0: np.ndarray  # (NL,) initial v
    fu: np.ndarray  # (NL,) decay factor of u per neuron
    fv: np.ndarray  # (NL,) decay factor of v per neuron
    pj_tab: np.ndarray  # (n_proj, PJ_COLS) int64, columns P_*
    wd: np.ndarray  # dense rows (pre-major), stored >> P_WSH; int8..int64
    rowptr: np.ndarray  # CSR row pointers (per projection, offset P_ROFF)
    cpost: np.ndarray  # CSR: post index in the projection
    cw: np.ndarray  # CSR: weight
    cdel: np.ndarray  # CSR: delay
    src_off: np.ndarray  # per source: first slot in the active-event arrays
    ring: np.ndarray  # empty; its dtype is the ring's (int32 when proven safe, else int64)
    R: int  # ring rows (1 + largest delay)
    NL: int  # LIF neurons
    tmp_size: int  # scratch of the negative-weight_exp projections
    n_src_total: int  # neurons of all sources


class Recorded(NamedTuple):
    """Per observable, the global LIF indices a kernel records (``neurocompile.data.record_index``)."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray


class Outputs(NamedTuple):
    """What a kernel writes: ``u``, ``v`` (int32) and ``s`` (int8) of shape (T, len(Recorded.*)),
    ``ovf`` (n_lif_pops, 2): the first step (1-based) of a u overflow / v saturation (0: never).
    :func:`run_batch` takes the same with a leading batch axis."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray
    ovf: np.ndarray


@njit(cache=True, nogil=True)
def run_sample(inp, T, net, rec, out):
    """Run one sample for T steps.

    ``inp`` (T, NI) integer input payloads (int8 or int32); ``net``: :class:`Network` (its
    ``ring`` dtype: int32 when the caller has proven that no delivered sum can leave int32, then
    the ring wraps exactly as Lava's int32 channels do at half the memory traffic, else int64);
    ``rec``: :class:`Recorded`; ``out``: :class:`Outputs` of this sample.
    """
    in_tab, lif_tab, bias, pj_tab = net.in_tab, net.lif_tab, net.bias, net.pj_tab
    fu_all, fv_all = net.fu, net.fv
    wd, rowptr, cpost, cw, cdel, src_off = net.wd, net.rowptr, net.cpost, net.cw, net.cdel, net.src_off
    R, NL, tmp_size, n_src_total = net.R, net.NL, net.tmp_size, net.n_src_total
    rec_u, rec_v, rec_s = rec.u, rec.v, rec.s
    out_u, out_v, out_s, ovf = out.u, out.v, out.s, out.ovf
    n_in_pops = in_tab.shape[0]
    n_lif_pops = lif_tab.shape[0]
    n_proj = pj_tab.shape[0]
    n_src = n_in_pops + n_lif_pops

    u = net.u0.copy()
    v = net.v0.copy()
    ring = np.zeros(R * NL, net.ring.dtype)
    tmp = np.zeros(max(tmp_size, 1), np.int64)
    act_idx = np.zeros(max(n_src_total, 1), np.int64)
    act_val = np.zeros(max(n_src_total, 1), np.int64)
    act_cnt = np.zeros(max(n_src, 1), np.int64)
    slots = np.zeros(R, np.int64)
    spk = np.zeros(max(NL, 1), np.int8)
    n_ru = rec_u.shape[0]
    n_rv = rec_v.shape[0]
    n_rs = rec_s.shape[0]

    for t in range(1, T + 1):
        cur = t % R
        cbase = cur * NL
        # ---------------------------------------------------------------- neurons
        for k in range(n_lif_pops):
            off = lif_tab[k, L_OFF]
            n = lif_tab[k, L_N]
            vth = lif_tab[k, L_VTH]
            rint = lif_tab[k, L_RINT]
            do_reset = rint > 0 and (t % rint) == lif_tab[k, L_ROFF]
            s_idx = lif_tab[k, L_SRC]
            abase = src_off[s_idx]
            rview = ring[cbase + off : cbase + off + n]
            uview = u[off : off + n]
            vview = v[off : off + n]
            bview = bias[off : off + n]
            sview = spk[off : off + n]
            fuview = fu_all[off : off + n]
            fvview = fv_all[off : off + n]
            keep = 0 if do_reset else 1
            u_bad = 0
            v_bad = 0
            # branch-free body (selects, min/max): LLVM vectorizes it
            for i in range(n):
                raw = np.int64(rview[i])
                rview[i] = 0
                a = wrap32(raw)
                x, y, ub, vb = lif_uv(uview[i] * keep, vview[i] * keep, a, fuview[i], fvview[i], bview[i])
                u_bad |= (raw != a) | ub
                v_bad |= vb
                uview[i] = x
                fire = y > vth
                sview[i] = fire
                vview[i] = 0 if fire else y
            cnt = 0
            for i in range(n):  # branch-free compaction (spikes are unpredictable)
                act_idx[abase + cnt] = i
                act_val[abase + cnt] = 1
                cnt += sview[i]
            act_cnt[s_idx] = cnt
            if u_bad and ovf[k, 0] == 0:
                ovf[k, 0] = t
            if v_bad and ovf[k, 1] == 0:
                ovf[k, 1] = t
        # ---------------------------------------------------------------- record
        for r in range(n_ru):
            out_u[t - 1, r] = u[rec_u[r]]
        for r in range(n_rv):
            out_v[t - 1, r] = v[rec_v[r]]
        for r in range(n_rs):
            out_s[t - 1, r] = spk[rec_s[r]]
        # ---------------------------------------------------------------- input events
        for k in range(n_in_pops):
            off = in_tab[k, I_OFF]
            n = in_tab[k, I_N]
            s_idx = in_tab[k, I_SRC]
            abase = src_off[s_idx]
            cnt = 0
            row = inp[t - 1, off : off + n]
            for j in range(n):  # branch-free compaction
                p = np.int64(row[j])
                act_idx[abase + cnt] = j
                act_val[abase + cnt] = p
                cnt += p != 0
            act_cnt[s_idx] = cnt
        # ---------------------------------------------------------------- synapses
        for d in range(R):
            slots[d] = ((t + 1 + d) % R) * NL
        for q in range(n_proj):
            s_idx = pj_tab[q, P_SRC]
            cnt = act_cnt[s_idx]
            if cnt == 0:
                continue
            abase = src_off[s_idx]
            post = pj_tab[q, P_POST]
            npost = pj_tab[q, P_NPOST]
            fmt = pj_tab[q, P_FMT]
            graded = pj_tab[q, P_GRADED] != 0
            wexp = pj_tab[q, P_EXP]
            woff = pj_tab[q, P_WOFF]
            roff = pj_tab[q, P_ROFF]
            toff = pj_tab[q, P_TOFF]
            wsh = pj_tab[q, P_WSH]
            direct = wexp >= 0
            if fmt == FMT_DENSE and not graded:
                if direct:
                    _add_rows_binary(
                        ring[slots[0] + post : slots[0] + post + npost],
                        wd,
                        woff,
                        npost,
                        act_idx,
                        abase,
                        cnt,
                        wsh,
                    )
                else:
                    _add_rows_binary(tmp[toff : toff + npost], wd, woff, npost, act_idx, abase, cnt, wsh)
                cnt = 0  # events consumed
            for e in range(cnt):
                j = act_idx[abase + e]
                p = act_val[abase + e] if graded else 1
                if fmt == FMT_DENSE:
                    w = wd[woff + j * npost : woff + (j + 1) * npost]
                    if direct:
                        _add_row(ring[slots[0] + post : slots[0] + post + npost], w, p, wsh)
                    else:
                        _add_row(tmp[toff : toff + npost], w, p, wsh)
                else:
                    r0 = rowptr[roff + j]
                    r1 = rowptr[roff + j + 1]
                    if direct:
                        for s in range(r0, r1):
                            ring[slots[cdel[s]] + post + cpost[s]] += cw[s] * p
                    else:
                        for s in range(r0, r1):
                            tmp[toff + cdel[s] * npost + cpost[s]] += cw[s] * p
            if not direct:
                sh = -wexp
                wrap_first = pj_tab[q, P_WRAP] != 0
                for d in range(pj_tab[q, P_D] + 1):
                    tb = toff + d * npost
                    rb = slots[d] + post
                    for i in range(npost):
                        val = tmp[tb + i]
                        if val != 0:
                            tmp[tb + i] = 0
                            if wrap_first:
                                val = wrap32(val)
                            ring[rb + i] += val >> sh


@njit(cache=True, parallel=True)
def run_batch(inp, T, net, rec, out):
    """:func:`run_sample` for every sample of ``inp`` (B, T, NI), in parallel over the batch;
    ``out``: :class:`Outputs` with a leading batch axis."""
    for b in prange(inp.shape[0]):
        run_sample(inp[b], T, net, rec, Outputs(out.u[b], out.v[b], out.s[b], out.ovf[b]))


@njit(cache=True, parallel=True)
def fill_events(src, dst, off, binary, lo, hi):
    """Copy one input (B, T, n) into the event array ``dst[:, :, off:off + n]`` as integers,
    checking every value in the same pass (parallel over the batch): spikes must be 0/1,
    payloads integers in [lo, hi]. Returns (number of bad values, max |value|)."""
    B = src.shape[0]
    T = src.shape[1]
    n = src.shape[2]
    bad = np.zeros(B, np.int64)
    mx = np.zeros(B, np.int64)
    for b in prange(B):
        nb = 0
        m = 0
        for t in range(T):
            srow = src[b, t]
            drow = dst[b, t, off : off + n]
            for j in range(n):
                v = srow[j]
                iv = np.int64(v)
                if binary:
                    ok = (v == iv) and (iv == 0 or iv == 1)
                else:
                    ok = (v == iv) and iv >= lo and iv <= hi
                nb += not ok
                a = abs(iv) if ok else 0
                m = max(m, a)
                drow[j] = iv
        bad[b] = nb
        mx[b] = m
    return bad.sum(), mx.max() if B > 0 else 0
