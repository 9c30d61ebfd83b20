"""Fast epoch learning for rules with ``w``/``d``/``t`` factors (R-STDP, multiplicative STDP, e-prop).

A product with a synaptic factor (the weight ``w``, tag_2 ``d`` or tag_1 ``t`` of the synapse,
each ``clip(v + c)`` or ``sgn(v + c)``) cannot be tabulated per neuron as in :mod:`.separable`,
but its *neuron* part still can: per epoch, every product's pre factors (x0, x1, x2,
constants) are multiplied once per pre neuron and trace time s into ``TP[r, s, j]`` and its
post factors (y0, y1..y3) once per post neuron into ``TQ[r, s, i]``, wrapped to 32 bits. At
synapse (j, i) the product is then ``finish(wrap32(wrap32(TP * TQ) * f1(v1) * f2(v2) ...))``:
because the 32-bit wrap is a ring homomorphism this equals Lava's factor-by-factor wrapped
product, whatever the order (docs/reference/loihi2.md §3.3).

The synapse pass walks the weight matrix row by row (pre j) and, inside a row, *product by
product* in rule order (each product one simple loop over the row's posts, which LLVM
vectorizes), so each synapse sees Lava's clip chain exactly: accumulator ``Z << 7``, each
product clipped to [-2^15 - 1, 2^15 - 1] after it is added, sign clamp, stochastic rounding with
the epoch's shared draw, final clip. The old w/d/t of the row are copied (once per row, before
any write), so every target reads the values from before the epoch. Which synapses are visited is
Lava's rule (the generic interpreter ``learning._learn_flat``): rows of pre neurons that spiked
in the epoch (x0-gated products) and every row in a u epoch in full, other rows only at the posts
with a bAP; y0-gated products of a full row touch only the bAP posts (through the bAP list when
few posts spiked).

What is skipped, and why it is exact:

* a product whose pre part ``TP[r, s, j]`` is 0, or whose post part ``TQ[r, s, .]`` is 0 for
  every post, is 0 at every synapse of the row; adding 0 is the clip ``accumulate(a, 0)``, the
  identity for any accumulator already in range - which it is after any product, and from the
  start for weights and tag_2 (``old << 7`` lies in the accumulator range for every stored
  value). For tag_1, whose -257 lies outside, a skipped product before any applied one is
  replaced by that clip (cheap, exact).
* a target none of whose products applied on a row is not written: its accumulator is
  ``old << 7``, which the sign clamp, rounding (no fraction bits) and range clip return unchanged.
* tables over every old value [-257, 255] where the new value is a function of the old one
  (entries computed by the same chain, so exact by construction): :func:`_lut_row` for full rows of
  at least ``LUT_MIN_POSTS`` posts whose applied row-wide products are 0 on the row or read no
  post factor and no synaptic variable but the target's own (R-STDP's ``u*t``: one table per epoch;
  the bAP posts, where y0 products join the chain, recomputed one by one when few, through a second
  table per pre value of the y0 products when many, :func:`_bap_table_row`); :func:`_ylut_row` for
  rows without a pre spike, t_epoch 1, when each target's only y0 product reads no post factor and
  no synaptic variable but its own (multiplicative STDP's ``y0*x1*(w - w_max)``: one table per
  pre value).

* t_epoch 1 (every gated product reads its neuron parts at s = 1), at most ``CH_MAX`` products per
  target and row and at most one synaptic factor each: the target's chain runs synapse by synapse
  in one vectorized pass (:func:`_chain_full`; y0 products masked to the bAP posts), with no
  accumulator arrays and no tables; rows without a pre spike at their bAP posts likewise
  (:func:`_chain_bap`, or :func:`_chain_full` over the row when at least 1/8 of the posts have a
  bAP). On AVX-512 this beats the tables (a table lookup is a gather); the tables above serve the
  other rules (t_epoch > 1, more products or factors).

Typical cases: R-STDP's ``dw = lr * u * t * y2`` costs nothing in epochs without reward (y2 = 0
everywhere); its eligibility decay ``-u * t / tau`` joins the STDP products in one pass per row.
Every pass also
counts the synapses whose written value saturation changed (:func:`.arith.saturated`), for the
run's warnings, exactly as the other kernels do.

Numba caches a kernel by its own file's timestamp, and :func:`.separable.learn_separable` and
``learning.fused_run`` compile this module's code into theirs: after editing it delete
``targets/loihi2/emulator/__pycache__/*.nb?``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .arith import (
    SYN_VAR_SHIFT,
    TAG1_HI,
    TAG1_LO,
    accumulate,
    clip_factor,
    finish_product,
    round_threshold_jit,
    saturated,
    stochastic_round,
    target_bounds,
    wrap32,
)

KIND_PRE, KIND_POST, KIND_BOTH, KIND_SYN = 0, 1, 2, 3
#: variable codes of ``learning._VAR``
PRE_VARS = (0, 2, 3, 10)  # x0, x1, x2, C
POST_VARS = (1, 4, 5, 6)  # y0, y1, y2, y3
SYN_VARS = (7, 8, 9)  # w, d, t
MAX_SYN = 8  # synaptic factors per product the kernel holds (Lava's rule strings use a few)
LUT_LO = TAG1_LO  # the lookup tables cover every stored w, d, t: [-257, 255]
LUT_N = TAG1_HI - TAG1_LO + 1
LUT_MIN_POSTS = LUT_N  # rows at least this long use a table (built once per epoch and chain)
YL_SLOTS = 128  # tables per target of bAP-only rows, one per pre value (direct-mapped)


@njit(inline="always")
def _apply_neuron_factor(TP, TQ, rl, var, c0, wd, T_e, n_pre, n_post, hx, hy, TXv, TYv):
    """Multiply one pre (x0, x1, x2, constant) or post (y0..y3) factor of product row ``rl`` into its
    per-neuron table for every trace time (shared by this kernel and the separable one)."""
    for s in range(1, T_e + 1):
        if var == 0 or var == 2 or var == 3 or var == 10:
            for j in range(n_pre):
                if var == 0:
                    v = (1 if TXv[j] > 0 else 0) + c0
                elif var == 10:
                    v = c0
                else:
                    v = hx[s, var - 2, j] + c0
                TP[rl, s, j] = wrap32(TP[rl, s, j] * clip_factor(v, wd))
        else:
            for i in range(n_post):
                if var == 1:
                    v = (1 if TYv[i] > 0 else 0) + c0
                else:
                    v = hy[s, var - 4, i] + c0
                TQ[rl, s, i] = wrap32(TQ[rl, s, i] * clip_factor(v, wd))


@njit(cache=True)
def _neuron_tables(TP, TQ, pj, pr, hx, hy, TXv, TYv):
    """Raw (wrapped, not finished) pre and post parts of every product for s = 1..T_e; s = 0
    (no spike) is 0 so that gathers at bAP times give nothing for posts without a bAP."""
    PT, FT, FC, WIDTH = pr.PT, pr.FT, pr.FC, pr.WIDTH
    p0, np_, n_pre, n_post, T_e = pj.p0, pj.np_, pj.n_pre, pj.n_post, pj.T_e
    for rl in range(np_):
        r = p0 + rl
        for s in range(T_e + 1):
            for j in range(n_pre):
                TP[rl, s, j] = 1
            for i in range(n_post):
                TQ[rl, s, i] = 1
        for f in range(PT[r, 5], PT[r, 5] + PT[r, 6]):
            var, c0 = FT[f, 0], FC[f]
            wd = WIDTH[var]
            if var >= 7 and var <= 9:
                continue
            _apply_neuron_factor(TP, TQ, rl, var, c0, wd, T_e, n_pre, n_post, hx, hy, TXv, TYv)
        for j in range(n_pre):
            TP[rl, 0, j] = 0
        for i in range(n_post):
            TQ[rl, 0, i] = 0


@njit(inline="always")
def _syn_factor(old, k, c0, sg, wd):
    """One synaptic factor of post k of the row: ``clip(v + c)`` or ``sgn(v + c)``."""
    val = old[k] + c0
    if sg:
        val = 1 if val > 0 else (-1 if val < 0 else 0)
    return clip_factor(val, wd)


@njit(cache=True)
def _product_row(m, p, tq, SV, SC, SS, SW, ns, OLD, mant, shift, sexp, n):
    """``m[i] = finish(p * tq[i] * syn factors of post i)`` over a row (every post)."""
    for i in range(n):
        m[i] = wrap32(p * tq[i])
    for k in range(ns):
        old = OLD[SV[k]]
        c0, sg, wd = SC[k], SS[k], SW[k]
        for i in range(n):
            m[i] = wrap32(m[i] * _syn_factor(old, i, c0, sg, wd))
    for i in range(n):
        m[i] = finish_product(m[i], mant, shift, sexp)


@njit(inline="always")
def _old_row(OLD, HAVE, v, Zs, base, n):
    """Copy variable v (0 w, 1 d, 2 t) of the row into ``OLD[v]`` once per row, before any write."""
    if not HAVE[v]:
        # through views indexed by range(n): ``Zv[base + i]`` with a signed base compiled to a
        # per-element negative-index wraparound and insert (a scalar gather, ~1/6 of e-prop's step)
        src = Zs[v][base : base + n]
        dst = OLD[v]
        for i in range(n):
            dst[i] = src[i]
        HAVE[v] = True


@njit(cache=True)
def _acc_row0(acc, raw, p, tq, mant, shift, sexp, n):
    """A product without synaptic factors added to a row's accumulators (one fused pass)."""
    for i in range(n):
        mm = finish_product(wrap32(p * tq[i]), mant, shift, sexp)
        acc[i] = accumulate(acc[i], mm)
        raw[i] += mm


@njit(cache=True)
def _acc_row1(acc, raw, p, old, c0, sg, wd, mant, shift, sexp, n):
    """A product with one synaptic factor and no post factor (its post part is 1)."""
    if sg:
        for i in range(n):
            v = old[i] + c0
            f = clip_factor(1 if v > 0 else (-1 if v < 0 else 0), wd)
            mm = finish_product(wrap32(p * f), mant, shift, sexp)
            acc[i] = accumulate(acc[i], mm)
            raw[i] += mm
    else:
        for i in range(n):
            mm = finish_product(wrap32(p * clip_factor(old[i] + c0, wd)), mant, shift, sexp)
            acc[i] = accumulate(acc[i], mm)
            raw[i] += mm


@njit(cache=True)
def _acc_row1q(acc, raw, p, tq, old, c0, sg, wd, mant, shift, sexp, n):
    """A product with one synaptic factor and post factors."""
    for i in range(n):
        mm = wrap32(wrap32(p * tq[i]) * _syn_factor(old, i, c0, sg, wd))
        mm = finish_product(mm, mant, shift, sexp)
        acc[i] = accumulate(acc[i], mm)
        raw[i] += mm


class SynEpoch(NamedTuple):
    """One projection's epoch as :func:`_lut_row` reads it: the neuron tables ``TP``/``TQ``, the
    post parts at the bAP times ``QY``, which post parts are 0 everywhere ``QZ``, post-factor
    counts ``QP``, synaptic factors (``NS`` per product; ``SV`` variable, ``SC`` constant, ``SS``
    sgn flag, ``SWd`` width), spike times ``TYv`` and the bAP list ``ylist[:ny]``, the rounding
    threshold ``thr``, the row's old values ``OLD`` (copied once: ``HAVE``), per target the
    lookup tables ``LUTF`` (new value) / ``LUTG`` (saturated) of the chain in ``KEY`` (``NKEY``
    products; -1: none yet), ``NEEDZ`` (a later target reads this variable), ``HASY0`` (has y0
    products) and scratch ``SAVE``, ``KS``; for bAP posts of dense rows (``YB``: t_epoch 1 and the
    target's y0 products read no post factor and no synaptic variable but its own) tables ``YBF`` /
    ``YBG`` per y0 pre values, direct-mapped, keyed ``YBK`` (generation ``GEN`` of the row table,
    then the pre values)."""

    TP: np.ndarray
    TQ: np.ndarray
    QY: np.ndarray
    QZ: np.ndarray
    QP: np.ndarray
    NS: np.ndarray
    SV: np.ndarray
    SC: np.ndarray
    SS: np.ndarray
    SWd: np.ndarray
    TYv: np.ndarray
    YM: np.ndarray
    ylist: np.ndarray
    ny: int
    thr: int
    OLD: np.ndarray
    HAVE: np.ndarray
    LUTF: np.ndarray
    LUTG: np.ndarray
    KEY: np.ndarray
    NKEY: np.ndarray
    NEEDZ: np.ndarray
    HASY0: np.ndarray
    SAVE: np.ndarray
    KS: np.ndarray
    YB: np.ndarray
    YBF: np.ndarray
    YBG: np.ndarray
    YBK: np.ndarray
    GEN: np.ndarray


@njit(cache=True)
def _lut_row(z, j, base, x0j, sxj, u_on, pj, pr, Zs, E):
    """Target z of a full row through a lookup table, when every row-wide product that applies
    is 0 on the row or has no post factor and no synaptic factor but z's own variable: then at
    the posts without a bAP the new value (and whether it saturated) is a function of the old
    value alone, tabulated over [-257, 255] by running the same chain (rebuilt only when the
    chain's pre parts change, i.e. once per epoch for R-STDP's ``u*t``). The bAP posts, where y0
    products join the chain, are then recomputed synapse by synapse. Returns (done, saturated)."""
    PT, p0, np_, n_post, T_e = pr.PT, pj.p0, pj.np_, pj.n_post, pj.T_e
    TP, QZ, NS, SV = E.TP, E.QZ, E.NS, E.SV
    nk = 0
    same = E.NKEY[z] >= 0
    for rl in range(np_):
        r = p0 + rl
        if PT[r, 0] != z or PT[r, 1] == 1:
            continue
        dep = PT[r, 1]
        if (dep == 0 and not x0j) or (dep == 2 and not u_on):
            continue
        s = sxj if dep == 0 else T_e
        p = TP[rl, s, j]
        zero = p == 0 or QZ[rl, s]
        if not zero:
            if E.QP[rl] > 0:
                return False, 0
            for k in range(NS[rl]):
                if SV[rl, k] != z:
                    return False, 0
        pv = 0 if zero else p
        if same and (nk >= E.NKEY[z] or E.KEY[z, nk, 0] != rl or E.KEY[z, nk, 1] != pv):
            same = False
        E.KS[nk, 0] = rl
        E.KS[nk, 1] = pv
        nk += 1
    if same and nk != E.NKEY[z]:
        same = False
    if not same:
        E.GEN[z] += 1
        for kk in range(nk):
            E.KEY[z, kk, 0] = E.KS[kk, 0]
            E.KEY[z, kk, 1] = E.KS[kk, 1]
    plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
    thr = E.thr
    if not same:
        E.NKEY[z] = nk
        for idx in range(LUT_N):
            o = np.int64(idx + LUT_LO)
            a = o << SYN_VAR_SHIFT
            raw = a
            inr = z != 2
            for kk in range(nk):
                rl, pv = E.KEY[z, kk, 0], E.KEY[z, kk, 1]
                if pv == 0:
                    if not inr:
                        a = accumulate(a, 0)
                        inr = True
                    continue
                mm = pv
                for k in range(NS[rl]):
                    mm = wrap32(mm * _syn_factor1(o, E.SC[rl, k], E.SS[rl, k], E.SWd[rl, k]))
                r = p0 + rl
                mm = finish_product(mm, PT[r, 2], PT[r, 4], PT[r, 3])
                a = accumulate(a, mm)
                raw += mm
                inr = True
            c = min(max(a, plo), phi)
            rr = stochastic_round(c, thr)
            E.LUTF[z, idx] = min(max(rr, lo), hi)
            E.LUTG[z, idx] = saturated(c, raw, rr, lo, hi)
    Z = Zs[z]
    n = n_post
    if E.NEEDZ[z]:  # a later target reads z's old values
        _old_row(E.OLD, E.HAVE, z, Zs, base, n)
    fix = E.HASY0[z] and E.ny > 0
    ylist, ny = E.ylist, E.ny
    if fix and E.YB[z] and ny * 8 >= n:
        return True, _bap_table_row(z, j, base, pj, pr, Zs, E, nk, plo, phi, lo, hi)
    if fix:
        for k in range(NS.shape[0]):  # old values of other variables the y0 products read
            if PT[p0 + k, 0] == z and PT[p0 + k, 1] == 1:
                for q in range(NS[k]):
                    if SV[k, q] != z:
                        _old_row(E.OLD, E.HAVE, SV[k, q], Zs, base, n)
        for c in range(ny):
            E.SAVE[c] = Z[base + ylist[c]]
    row = Z[base : base + n]
    F = E.LUTF[z]
    G = E.LUTG[z]
    nsat = 0
    for i in range(n):
        idx = row[i] - LUT_LO
        nsat += G[idx]
        row[i] = F[idx]
    if not fix:
        return True, nsat
    for c in range(ny):
        i = ylist[c]
        o = np.int64(E.SAVE[c])
        nsat -= G[o - LUT_LO]
        a = o << SYN_VAR_SHIFT
        raw = a
        for rl in range(np_):
            r = p0 + rl
            if PT[r, 0] != z:
                continue
            dep = PT[r, 1]
            if dep == 1:
                s = E.TYv[i]
                mm = wrap32(TP[rl, s, j] * E.QY[rl, i])
            elif (dep == 0 and x0j) or (dep == 2 and u_on):
                s = sxj if dep == 0 else T_e
                mm = wrap32(TP[rl, s, j] * E.TQ[rl, s, i])
            else:
                continue
            for k in range(NS[rl]):
                v = SV[rl, k]
                ov = o if v == z else E.OLD[v, i]
                mm = wrap32(mm * _syn_factor1(ov, E.SC[rl, k], E.SS[rl, k], E.SWd[rl, k]))
            mm = finish_product(mm, PT[r, 2], PT[r, 4], PT[r, 3])
            a = accumulate(a, mm)
            raw += mm
        cc = min(max(a, plo), phi)
        rr = stochastic_round(cc, thr)
        row[i] = min(max(rr, lo), hi)
        nsat += saturated(cc, raw, rr, lo, hi)
    return True, nsat


@njit(cache=True)
def _ylut_row(j, base, pj, pr, Zs, E, YR, YF, YG, YK, nsat):
    """A row without x0/u products, at its bAP posts, when each target's only y0 product has a pre
    part p (``TP[r, 1, j]``) and no synaptic factor but the target's own variable (multiplicative
    STDP's ``y0*x1*(w - w_max)``): the new value is a function of the old one and p, tabulated over
    [-257, 255] once per p value and epoch (a direct-mapped cache of ``YL_SLOTS`` tables)."""
    PT, p0 = pr.PT, pj.p0
    for z in range(3):
        rl = YR[z]
        if rl < 0 or not pj.tgt_has[z]:
            continue
        r = p0 + rl
        p = E.TP[rl, 1, j]
        slot = p & (YL_SLOTS - 1)
        F = YF[z, slot]
        G = YG[z, slot]
        if YK[z, slot, 1] != 1 or YK[z, slot, 0] != p:
            YK[z, slot, 0] = p
            YK[z, slot, 1] = 1
            plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
            for idx in range(LUT_N):
                o = np.int64(idx + LUT_LO)
                mm = p
                for k in range(E.NS[rl]):
                    mm = wrap32(mm * _syn_factor1(o, E.SC[rl, k], E.SS[rl, k], E.SWd[rl, k]))
                mm = finish_product(mm, PT[r, 2], PT[r, 4], PT[r, 3])
                a0 = o << SYN_VAR_SHIFT
                c = min(max(accumulate(a0, mm), plo), phi)
                rr = stochastic_round(c, E.thr)
                F[idx] = min(max(rr, lo), hi)
                G[idx] = saturated(c, a0 + mm, rr, lo, hi)
        Z = Zs[z]
        ns_ = 0
        for c in range(E.ny):
            idx = base + E.ylist[c]
            k = Z[idx] - LUT_LO
            ns_ += G[k]
            Z[idx] = F[k]
        nsat[z] += ns_


@njit(cache=True)
def _bap_table_row(z, j, base, pj, pr, Zs, E, nk, plo, phi, lo, hi):
    """:func:`_lut_row` for dense bAP rows (t_epoch 1): at the bAP posts the chain adds the y0
    products, whose pre parts p (``TP[r, 1, j]``) are the same at every bAP post and whose only
    synaptic variable is the target's, so there too the new value is a function of the old one: a
    second table per (row table, y0 pre values), cached direct-mapped. One pass, a table per post."""
    PT, p0, np_ = pr.PT, pj.p0, pj.np_
    h = 0
    ky = 0
    for rl in range(np_):
        if PT[p0 + rl, 0] == z and PT[p0 + rl, 1] == 1:
            h += E.TP[rl, 1, j] * (ky + 1)
            ky += 1
    slot = h & (YL_SLOTS - 1)
    hit = E.YBK[z, slot, 0] == E.GEN[z]
    ky = 0
    for rl in range(np_):
        if PT[p0 + rl, 0] == z and PT[p0 + rl, 1] == 1:
            hit &= E.YBK[z, slot, 1 + ky] == E.TP[rl, 1, j]
            ky += 1
    FB = E.YBF[z, slot]
    GB = E.YBG[z, slot]
    if not hit:
        E.YBK[z, slot, 0] = E.GEN[z]
        ky = 0
        for rl in range(np_):
            if PT[p0 + rl, 0] == z and PT[p0 + rl, 1] == 1:
                E.YBK[z, slot, 1 + ky] = E.TP[rl, 1, j]
                ky += 1
        for idx in range(LUT_N):
            o = np.int64(idx + LUT_LO)
            a = o << SYN_VAR_SHIFT
            raw = a
            kk = 0
            for rl in range(np_):
                r = p0 + rl
                if PT[r, 0] != z:
                    continue
                if PT[r, 1] == 1:
                    pv = E.TP[rl, 1, j]
                elif kk < nk and E.KEY[z, kk, 0] == rl:
                    pv = E.KEY[z, kk, 1]
                    kk += 1
                else:
                    continue  # gated off on this row
                mm = pv
                for k in range(E.NS[rl]):
                    mm = wrap32(mm * _syn_factor1(o, E.SC[rl, k], E.SS[rl, k], E.SWd[rl, k]))
                mm = finish_product(mm, PT[r, 2], PT[r, 4], PT[r, 3])
                a = accumulate(a, mm)
                raw += mm
            c = min(max(a, plo), phi)
            rr = stochastic_round(c, E.thr)
            FB[idx] = min(max(rr, lo), hi)
            GB[idx] = saturated(c, raw, rr, lo, hi)
    F = E.LUTF[z]
    G = E.LUTG[z]
    YM = E.YM
    row = Zs[z][base : base + pj.n_post]
    nsat = 0
    for i in range(pj.n_post):
        idx = row[i] - LUT_LO
        b = YM[i]
        nsat += GB[idx] if b else G[idx]
        row[i] = FB[idx] if b else F[idx]
    return nsat


@njit(inline="always")
def _syn_factor1(v, c0, sg, wd):
    """A synaptic factor of the value v: ``clip(v + c)`` or ``sgn(v + c)``."""
    val = v + c0
    if sg:
        val = 1 if val > 0 else (-1 if val < 0 else 0)
    return clip_factor(val, wd)


# ------------------------------------------------------------------ one-pass chains (t_epoch 1)
# With t_epoch 1 every gated product reads its neuron parts at s = 1: pre part TP[r, 1, j], post
# part TQ[r, 1, i] (for y0 products the post part at the bAP time, QY, is the same). A target's
# chain on a row is then at most CH_MAX products, each with at most one synaptic factor, evaluated
# synapse by synapse in one vectorized pass (old << 7, each product clipped into the accumulator in
# rule order, sign clamp, rounding, range clip): no accumulator arrays, no tables. CK columns per
# product of a chain: pre part, product row, synaptic variable (3: none, OLD[3] is 0 with constant 1),
# constant, sgn flag, width, mantissa, pre-shift, exponent, y0-gated (only at the bAP posts).
CH_MAX = 3
CK_P, CK_R, CK_V, CK_C, CK_S, CK_W, CK_MANT, CK_SHIFT, CK_EXP, CK_Y0 = range(10)
CK_COLS = 10
#: row sets of :func:`_chain_rows` (rows j = c, c + ROW_SETS, ...), spread over numba's threads; a
#: constant, so the kernel caches and its counts do not depend on the thread count
ROW_SETS = 8


@njit(inline="always")
def _ch_step(a, raw, p, q, v, c0, sg, wd, mant, shift, sexp, app):
    """One product at one synapse: ``finish(wrap32(wrap32(p * q) * f(v)))`` added to the
    accumulator when ``app`` (the product is gated on there). Branch-free (selects), so loops over it
    vectorize."""
    val = v + c0
    sv = 1 if val > 0 else (-1 if val < 0 else 0)
    f = clip_factor(sv if sg else val, wd)
    mm = finish_product(wrap32(wrap32(p * q) * f), mant, shift, sexp)
    return (accumulate(a, mm) if app else a), (raw + mm if app else raw)


@njit(inline="always")
def _ch_end(a, raw, thr, plo, phi, lo, hi):
    """Write-back of one synapse: the new value and whether it saturated."""
    c = min(max(a, plo), phi)
    rr = stochastic_round(c, thr)
    return min(max(rr, lo), hi), saturated(c, raw, rr, lo, hi)


@njit(cache=True)
def _chain_full(row, OLD, z, n, YM, CK, nk, TQ1, thr, plo, phi, lo, hi, clip0):
    """Target z of a full row in one pass over its n posts (``OLD[z]`` holds the row's old values,
    ``OLD[v]`` those of every variable a product reads). ``clip0``: clip the accumulator into its
    range before the first product (tag_1's -257: a product skipped as 0 everywhere came first).
    Returns how many writes saturated."""
    own = OLD[z]
    nsat = 0
    p0, q0, v0 = CK[0, CK_P], TQ1[CK[0, CK_R]], OLD[CK[0, CK_V]]
    c0, s0, w0, m0, h0, e0, y0 = (
        CK[0, CK_C],
        CK[0, CK_S],
        CK[0, CK_W],
        CK[0, CK_MANT],
        CK[0, CK_SHIFT],
        CK[0, CK_EXP],
        CK[0, CK_Y0],
    )
    if nk == 1:
        for i in range(n):
            a = own[i] << SYN_VAR_SHIFT
            if clip0:
                a = accumulate(a, 0)
            raw = own[i] << SYN_VAR_SHIFT
            a, raw = _ch_step(a, raw, p0, q0[i], v0[i], c0, s0, w0, m0, h0, e0, YM[i] | (y0 == 0))
            row[i], g = _ch_end(a, raw, thr, plo, phi, lo, hi)
            nsat += g
        return nsat
    p1, q1, v1 = CK[1, CK_P], TQ1[CK[1, CK_R]], OLD[CK[1, CK_V]]
    c1, s1, w1, m1, h1, e1, y1 = (
        CK[1, CK_C],
        CK[1, CK_S],
        CK[1, CK_W],
        CK[1, CK_MANT],
        CK[1, CK_SHIFT],
        CK[1, CK_EXP],
        CK[1, CK_Y0],
    )
    if nk == 2:
        for i in range(n):
            a = own[i] << SYN_VAR_SHIFT
            if clip0:
                a = accumulate(a, 0)
            raw = own[i] << SYN_VAR_SHIFT
            a, raw = _ch_step(a, raw, p0, q0[i], v0[i], c0, s0, w0, m0, h0, e0, YM[i] | (y0 == 0))
            a, raw = _ch_step(a, raw, p1, q1[i], v1[i], c1, s1, w1, m1, h1, e1, YM[i] | (y1 == 0))
            row[i], g = _ch_end(a, raw, thr, plo, phi, lo, hi)
            nsat += g
        return nsat
    p2, q2, v2 = CK[2, CK_P], TQ1[CK[2, CK_R]], OLD[CK[2, CK_V]]
    c2, s2, w2, m2, h2, e2, y2 = (
        CK[2, CK_C],
        CK[2, CK_S],
        CK[2, CK_W],
        CK[2, CK_MANT],
        CK[2, CK_SHIFT],
        CK[2, CK_EXP],
        CK[2, CK_Y0],
    )
    for i in range(n):
        a = own[i] << SYN_VAR_SHIFT
        if clip0:
            a = accumulate(a, 0)
        raw = own[i] << SYN_VAR_SHIFT
        a, raw = _ch_step(a, raw, p0, q0[i], v0[i], c0, s0, w0, m0, h0, e0, YM[i] | (y0 == 0))
        a, raw = _ch_step(a, raw, p1, q1[i], v1[i], c1, s1, w1, m1, h1, e1, YM[i] | (y1 == 0))
        a, raw = _ch_step(a, raw, p2, q2[i], v2[i], c2, s2, w2, m2, h2, e2, YM[i] | (y2 == 0))
        row[i], g = _ch_end(a, raw, thr, plo, phi, lo, hi)
        nsat += g
    return nsat


@njit(cache=True)
def _chain_bap(Z, base, z, ylist, ny, CK, nk, TQ1, thr, plo, phi, lo, hi):
    """Target z of a row without x0/u products at its bAP posts ``ylist[:ny]``: the y0 products,
    each reading no synaptic variable but z's own (so the row's other targets do not matter)."""
    nsat = 0
    for c in range(ny):
        i = ylist[c]
        o = np.int64(Z[base + i])
        a = o << SYN_VAR_SHIFT
        raw = a
        for k in range(nk):
            v = o if CK[k, CK_V] == z else 0
            a, raw = _ch_step(
                a,
                raw,
                CK[k, CK_P],
                TQ1[CK[k, CK_R], i],
                v,
                CK[k, CK_C],
                CK[k, CK_S],
                CK[k, CK_W],
                CK[k, CK_MANT],
                CK[k, CK_SHIFT],
                CK[k, CK_EXP],
                True,
            )
        Z[base + i], g = _ch_end(a, raw, thr, plo, phi, lo, hi)
        nsat += g
    return nsat


@njit(cache=True)
def _ck_fill(CK, k, rl, p, p0, PT, NS, SV, SC, SS, SWd):
    """Row k of a chain: product rl with pre part p."""
    r = p0 + rl
    CK[k, CK_P] = p
    CK[k, CK_R] = rl
    if NS[rl] == 1:
        CK[k, CK_V], CK[k, CK_C], CK[k, CK_S], CK[k, CK_W] = SV[rl, 0], SC[rl, 0], SS[rl, 0], SWd[rl, 0]
    else:  # no synaptic factor: OLD[3] (0) + 1
        CK[k, CK_V], CK[k, CK_C], CK[k, CK_S], CK[k, CK_W] = 3, 1, 0, 8
    CK[k, CK_MANT], CK[k, CK_SHIFT], CK[k, CK_EXP] = PT[r, 2], PT[r, 4], PT[r, 3]
    CK[k, CK_Y0] = 1 if PT[r, 1] == 1 else 0


@njit(cache=True)
def _ck_row(CK, z, j, x0j, u_on, ny, p0, PT, TP, QZ, NS, SV, SC, SS, SWd):
    """The chain of target z on full row j (t_epoch 1): (products, clip0); 0 products: use the
    other paths. A row-wide product that is 0 at every post is skipped when the accumulator is
    already in range there (any target but tag_1, or after a row-wide product); for tag_1 before
    any product it becomes ``clip0``, after y0 products only it is kept (a zero product)."""
    nk = 0
    clip0 = False
    wide = z != 2
    np_ = NS.shape[0]
    for rl in range(np_):
        r = p0 + rl
        if PT[r, 0] != z:
            continue
        dep = PT[r, 1]
        if dep == 1:
            if ny == 0:
                continue
        elif (dep == 0 and x0j) or (dep == 2 and u_on):
            if TP[rl, 1, j] == 0 or QZ[rl, 1]:
                if wide:
                    continue
                if nk == 0:
                    clip0 = True
                    wide = True
                    continue
            wide = True
        else:
            continue
        if NS[rl] > 1 or nk == CH_MAX:
            return 0, False
        _ck_fill(CK, nk, rl, TP[rl, 1, j], p0, PT, NS, SV, SC, SS, SWd)
        nk += 1
    return nk, clip0


@njit(inline="always")
def _live(z, j, x0j, sxj, u_on, ny, p0, np_, T_e, PT, TP, QZ):
    """Does any product of target z change row j? (else the row keeps its values: docstring)"""
    live = False
    for rl in range(np_):
        r = p0 + rl
        if PT[r, 0] != z:
            continue
        dep = PT[r, 1]
        if dep == 1:
            live |= ny > 0
        elif (dep == 0 and x0j) or (dep == 2 and u_on):
            s = sxj if dep == 0 else T_e
            live |= z == 2 or not (TP[rl, s, j] == 0 or QZ[rl, s])
    return live


@njit(inline="always")
def _has_y0(z, p0, np_, PT):
    """Has target z a y0 product?"""
    for rl in range(np_):
        if PT[p0 + rl, 0] == z and PT[p0 + rl, 1] == 1:
            return True
    return False


@njit(cache=True, parallel=True)
def _chain_rows(done, pj, PT, TP, QZ, NS, SV, SC, SS, SWd, TXv, YM, ylist, ny, TQ1, thr, Zs, flags):
    """The rows served by the one-pass chains alone, split across numba's threads (``prange`` over
    ``ROW_SETS`` strided row sets, each with its own ``OLD``/``HAVE``/``CK`` scratch):
    rows without a pre spike at their bAP posts (``chb_ok``) and full rows on which every live
    target has a chain (``ch_ok``). A row reads and writes only its own synapses (its old values
    copied before any write) and the epoch's neuron tables, so rows are independent and the result
    does not depend on the split. Marks ``done[j]``; returns the saturation counts per target, each
    row set's own counts summed after the loop (no shared accumulator). ``flags``: u_on, has_x0,
    has_y0, ch_ok, chb_ok."""
    u_on, has_x0, has_y0, ch_ok, chb_ok = flags[0], flags[1], flags[2], flags[3], flags[4]
    p0, np_, n_pre, n_post, T_e = pj.p0, pj.np_, pj.n_pre, pj.n_post, pj.T_e
    nth = ROW_SETS
    NSAT = np.zeros((nth, 3), np.int64)
    dense = ny * 8 >= n_post
    for c in prange(nth):
        OLD = np.zeros((4, n_post), np.int64)  # row 3: 0 (the "no synaptic factor" of the chains)
        HAVE = np.zeros(3, np.bool_)
        CK = np.zeros((CH_MAX, CK_COLS), np.int64)
        for j in range(c, n_pre, nth):
            sxj = TXv[j]
            x0j = sxj > 0
            full = u_on or (x0j and has_x0)
            if not full and (not has_y0 or ny == 0):
                continue
            base = pj.woff + j * n_post
            if not full:
                if not chb_ok:
                    continue
                # many bAPs: a vectorized pass over the whole row (a post without a bAP gets no
                # product: old << 7, which the write-back returns unchanged); few: the bAP posts one
                # by one
                for v in range(3):
                    HAVE[v] = False
                for z in range(3):
                    if pj.tgt_has[z] and _has_y0(z, p0, np_, PT):
                        nk = 0
                        for rl in range(np_):
                            if PT[p0 + rl, 0] == z and PT[p0 + rl, 1] == 1:
                                _ck_fill(CK, nk, rl, TP[rl, 1, j], p0, PT, NS, SV, SC, SS, SWd)
                                nk += 1
                        plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
                        if dense:
                            _old_row(OLD, HAVE, z, Zs, base, n_post)
                            Z = Zs[z]
                            NSAT[c, z] += _chain_full(
                                Z[base : base + n_post],
                                OLD,
                                z,
                                n_post,
                                YM,
                                CK,
                                nk,
                                TQ1,
                                thr,
                                plo,
                                phi,
                                lo,
                                hi,
                                False,
                            )
                        else:
                            NSAT[c, z] += _chain_bap(
                                Zs[z], base, z, ylist, ny, CK, nk, TQ1, thr, plo, phi, lo, hi
                            )
                done[j] = True
                continue
            if not ch_ok:
                continue
            # every live target must have a chain, else the whole row goes the sequential way
            ok = True
            for z in range(3):
                if pj.tgt_has[z] and _live(z, j, x0j, sxj, u_on, ny, p0, np_, T_e, PT, TP, QZ):
                    nk, clip0 = _ck_row(CK, z, j, x0j, u_on, ny, p0, PT, TP, QZ, NS, SV, SC, SS, SWd)
                    if nk == 0:
                        ok = False
                        break
            if not ok:
                continue
            for v in range(3):
                HAVE[v] = False
            for z in range(3):
                if not pj.tgt_has[z] or not _live(z, j, x0j, sxj, u_on, ny, p0, np_, T_e, PT, TP, QZ):
                    continue
                nk, clip0 = _ck_row(CK, z, j, x0j, u_on, ny, p0, PT, TP, QZ, NS, SV, SC, SS, SWd)
                _old_row(OLD, HAVE, z, Zs, base, n_post)
                for k in range(nk):
                    if CK[k, CK_V] < 3:
                        _old_row(OLD, HAVE, CK[k, CK_V], Zs, base, n_post)
                plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
                Z = Zs[z]
                NSAT[c, z] += _chain_full(
                    Z[base : base + n_post], OLD, z, n_post, YM, CK, nk, TQ1, thr, plo, phi, lo, hi, clip0
                )
            done[j] = True
    nsat = np.zeros(3, np.int64)
    for c in range(nth):
        for z in range(3):
            nsat[z] += NSAT[c, z]
    return nsat


@njit(cache=True)
def learn_synaptic(t, pj, pr, st, TXv, TYv, rw):
    """Epoch learning of one projection ``pj`` (:class:`.separable.Proj`) whose rule has w/d/t
    factors, with products ``pr`` (:class:`.separable.Products`) at step t; arguments and result
    as :func:`.separable.learn_separable` (which calls this for such rules)."""
    PT, FT, FC, WIDTH = pr.PT, pr.FT, pr.FC, pr.WIDTH
    p0, np_, n_pre, n_post, T_e = pj.p0, pj.np_, pj.n_pre, pj.n_post, pj.T_e
    u = 0
    if pj.k_dec >= 0:
        u = 1 if (t // T_e) % (1 << pj.k_dec) == 0 else 0
    has_x0 = False
    has_y0 = False
    u_on = False
    for r in range(p0, p0 + np_):
        if PT[r, 1] == 2:
            u_on = u == 1
        elif PT[r, 1] == 0:
            has_x0 = True
        else:
            has_y0 = True
    TYv = TYv.copy()
    TXv = TXv.copy()
    YM = np.empty(n_post, np.bool_)
    ylist = np.empty(n_post, np.int64)
    ny = 0
    for i in range(n_post):
        YM[i] = TYv[i] > 0
        if TYv[i] > 0:
            ylist[ny] = i
            ny += 1
    if not u_on and not has_x0 and (not has_y0 or ny == 0):
        return 0, 0, 0
    TP = np.empty((np_, T_e + 1, n_pre), np.int64)
    TQ = np.empty((np_, T_e + 1, n_post), np.int64)
    _neuron_tables(TP, TQ, pj, pr, st.hx, st.hy, TXv, TYv)
    # per product: its synaptic factors (variable 0 w / 1 d / 2 t, constant, sgn flag, width),
    # whether its post part is 0 at every post (per s) and, for y0 products, its post part at
    # each post's bAP time
    NS = np.zeros(np_, np.int64)
    SV = np.zeros((np_, MAX_SYN), np.int64)
    SC = np.zeros((np_, MAX_SYN), np.int64)
    SS = np.zeros((np_, MAX_SYN), np.int64)
    SWd = np.zeros((np_, MAX_SYN), np.int64)
    QZ = np.zeros((np_, T_e + 1), np.bool_)
    QP = np.zeros(np_, np.int64)  # how many post factors (0: TQ is 1 at every post)
    QY = np.zeros((np_, n_post), np.int64)
    for rl in range(np_):
        r = p0 + rl
        for f in range(PT[r, 5], PT[r, 5] + PT[r, 6]):
            var = FT[f, 0]
            if var >= 7 and var <= 9:
                k = NS[rl]
                SV[rl, k], SC[rl, k], SS[rl, k], SWd[rl, k] = var - 7, FC[f], FT[f, 1], WIDTH[var]
                NS[rl] = k + 1
            elif var == 1 or (var >= 4 and var <= 6):
                QP[rl] += 1
        for s in range(T_e + 1):
            z = True
            for i in range(n_post):
                if TQ[rl, s, i] != 0:
                    z = False
                    break
            QZ[rl, s] = z
        if PT[r, 1] == 1:
            for i in range(n_post):
                QY[rl, i] = TQ[rl, TYv[i], i]
    thr = round_threshold_jit(rw)
    OLD = np.zeros((4, n_post), np.int64)  # row 3: 0 (the "no synaptic factor" of the chains)
    HAVE = np.zeros(3, np.bool_)
    acc = np.empty(n_post, np.int64)
    raw = np.empty(n_post, np.int64)
    m = np.empty(n_post, np.int64)
    cs = np.empty(T_e + 1, np.int64)
    sparse_y = ny * 8 < n_post
    NEEDZ = np.zeros(3, np.bool_)
    HASY0 = np.zeros(3, np.bool_)
    for rl in range(np_):
        r = p0 + rl
        if PT[r, 1] == 1:
            HASY0[PT[r, 0]] = True
        for k in range(NS[rl]):
            if PT[r, 0] > SV[rl, k]:
                NEEDZ[SV[rl, k]] = True
    # one-pass chains (t_epoch 1, at most one synaptic factor per product); bAP-only rows also need
    # every y0 product to read no synaptic variable but its target's own
    ch_ok = T_e == 1
    chb_ok = T_e == 1
    for rl in range(np_):
        if NS[rl] > 1:
            ch_ok = False
            chb_ok = False
        if PT[p0 + rl, 1] == 1 and NS[rl] == 1 and SV[rl, 0] != PT[p0 + rl, 0]:
            chb_ok = False
    ny0 = np.zeros(3, np.int64)  # y0 products per target (a chain holds CH_MAX)
    for rl in range(np_):
        if PT[p0 + rl, 1] == 1:
            ny0[PT[p0 + rl, 0]] += 1
    chb_ok &= ny0.max() <= CH_MAX
    use_lut = n_post >= LUT_MIN_POSTS
    # rows without x0/u products (bAP posts only) through per-pre-value tables (_ylut_row): t_epoch
    # 1, long rows, each target with y0 products has exactly one, with no post factor and no
    # synaptic factor but its own variable, and no target reads another's variable
    YR = np.full(3, -1, np.int64)  # the target's y0 product
    yl_ok = use_lut and T_e == 1 and ny * 4 >= LUT_MIN_POSTS // 8
    for rl in range(np_):
        r = p0 + rl
        z = PT[r, 0]
        for k in range(NS[rl]):
            if SV[rl, k] != z:
                yl_ok = False
        if PT[r, 1] == 1:
            if YR[z] >= 0 or QP[rl] > 0:
                yl_ok = False
            YR[z] = rl
    for v in range(3):
        yl_ok &= not NEEDZ[v]
    yl_ok &= not chb_ok  # those rows go through _chain_bap
    nc = YL_SLOTS if yl_ok else 1
    YF = np.zeros((3, nc, LUT_N if yl_ok else 1), np.int16)
    YG = np.zeros((3, nc, LUT_N if yl_ok else 1), np.uint8)
    YK = np.full((3, nc, 2), -1, np.int64)  # slot -> (p, valid)
    nl = LUT_N if use_lut else 1
    YB = np.zeros(3, np.bool_)
    for z in range(3):
        YB[z] = use_lut and T_e == 1 and HASY0[z]
    for rl in range(np_):
        r = p0 + rl
        if PT[r, 1] == 1:
            z = PT[r, 0]
            if QP[rl] > 0:
                YB[z] = False
            for k in range(NS[rl]):
                if SV[rl, k] != z:
                    YB[z] = False
    if ch_ok:  # the one-pass chains serve these rows (the tables only in their fallbacks)
        YB[:] = False
    nb = YL_SLOTS if YB.any() else 1
    E = SynEpoch(
        TP,
        TQ,
        QY,
        QZ,
        QP,
        NS,
        SV,
        SC,
        SS,
        SWd,
        TYv,
        YM,
        ylist,
        ny,
        thr,
        OLD,
        HAVE,
        np.zeros((3, nl), np.int64),
        np.zeros((3, nl), np.int64),
        np.zeros((3, np_ + 1, 2), np.int64),
        np.full(3, -1, np.int64),
        NEEDZ,
        HASY0,
        np.zeros(n_post, np.int64),
        np.zeros((np_ + 1, 2), np.int64),
        YB,
        np.zeros((3, nb, LUT_N if nb > 1 else 1), np.int16),
        np.zeros((3, nb, LUT_N if nb > 1 else 1), np.uint8),
        np.full((3, nb, np_ + 1), -1, np.int64),
        np.zeros(3, np.int64),
    )
    nsat = np.zeros(3, np.int64)
    Zs = (st.WT, st.D2T, st.T1T)
    CK = np.zeros((CH_MAX, CK_COLS), np.int64)
    TQ1 = np.ascontiguousarray(TQ[:, min(1, T_e), :])  # C layout: the chain loops vectorize
    rdone = np.zeros(n_pre, np.bool_)
    if ch_ok or chb_ok:  # the chain-only rows across the threads (_chain_rows), the rest below
        flags = np.array([u_on, has_x0, has_y0, ch_ok, chb_ok])
        cs_ = _chain_rows(rdone, pj, PT, TP, QZ, NS, SV, SC, SS, SWd, TXv, YM, ylist, ny, TQ1, thr, Zs, flags)
        nsat += cs_
    for j in range(n_pre):
        if rdone[j]:
            continue
        sxj = TXv[j]
        x0j = sxj > 0
        full = u_on or (x0j and has_x0)
        if not full and (not has_y0 or ny == 0):
            continue
        base = pj.woff + j * n_post
        # non-full rows of a chb_ok rule were all served by _chain_rows (rdone)
        if not full and yl_ok:
            _ylut_row(j, base, pj, pr, Zs, E, YR, YF, YG, YK, nsat)
            continue
        if not full and sparse_y:
            _sparse_row(j, base, pj, pr, st, TP, QY, NS, SV, SC, SS, SWd, TYv, ylist, ny, thr, nsat)
            continue
        for v in range(3):
            HAVE[v] = False
        for z in range(3):
            if not pj.tgt_has[z]:
                continue
            # does any product of z change this row? (else the row keeps its values: docstring)
            live = False
            for rl in range(np_):
                r = p0 + rl
                if PT[r, 0] != z:
                    continue
                dep = PT[r, 1]
                if dep == 1:
                    live |= ny > 0
                elif (dep == 0 and x0j) or (dep == 2 and u_on):
                    s = sxj if dep == 0 else T_e
                    live |= z == 2 or not (TP[rl, s, j] == 0 or QZ[rl, s])
            if not live:
                continue
            Z = Zs[z]
            if ch_ok:
                nk, clip0 = _ck_row(CK, z, j, x0j, u_on, ny, p0, PT, TP, QZ, NS, SV, SC, SS, SWd)
                if nk > 0:
                    _old_row(OLD, HAVE, z, Zs, base, n_post)
                    for k in range(nk):
                        if CK[k, CK_V] < 3:
                            _old_row(OLD, HAVE, CK[k, CK_V], Zs, base, n_post)
                    plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
                    nsat[z] += _chain_full(
                        Z[base : base + n_post], OLD, z, n_post, YM, CK, nk, TQ1, thr, plo, phi, lo, hi, clip0
                    )
                    continue
            if full and n_post >= LUT_MIN_POSTS and (sparse_y or not HASY0[z] or YB[z]):
                done, c = _lut_row(z, j, base, x0j, sxj, u_on, pj, pr, Zs, E)
                if done:
                    nsat[z] += c
                    continue
            _old_row(OLD, HAVE, z, Zs, base, n_post)
            for i in range(n_post):
                acc[i] = OLD[z, i] << SYN_VAR_SHIFT
                raw[i] = acc[i]
            inrange = z != 2  # old << 7 lies in the accumulator range (module docstring)
            for rl in range(np_):
                r = p0 + rl
                if PT[r, 0] != z:
                    continue
                dep = PT[r, 1]
                mant, shift, sexp = PT[r, 2], PT[r, 4], PT[r, 3]
                ns = NS[rl]
                for k in range(ns):
                    _old_row(OLD, HAVE, SV[rl, k], Zs, base, n_post)
                if dep == 1:  # y0: the bAP posts only, at their bAP time
                    if ny == 0:
                        continue
                    if sparse_y:
                        for c in range(ny):
                            i = ylist[c]
                            mm = wrap32(TP[rl, TYv[i], j] * QY[rl, i])
                            for k in range(ns):
                                f = _syn_factor(OLD[SV[rl, k]], i, SC[rl, k], SS[rl, k], SWd[rl, k])
                                mm = wrap32(mm * f)
                            mm = finish_product(mm, mant, shift, sexp)
                            acc[i] = accumulate(acc[i], mm)
                            raw[i] += mm
                    else:
                        for s in range(T_e + 1):
                            cs[s] = TP[rl, s, j]
                        for i in range(n_post):
                            m[i] = wrap32(cs[TYv[i]] * QY[rl, i])
                        for k in range(ns):
                            old = OLD[SV[rl, k]]
                            c0, sg, wd = SC[rl, k], SS[rl, k], SWd[rl, k]
                            for i in range(n_post):
                                m[i] = wrap32(m[i] * _syn_factor(old, i, c0, sg, wd))
                        for i in range(n_post):
                            mm = finish_product(m[i], mant, shift, sexp)
                            a = acc[i]
                            acc[i] = accumulate(a, mm) if YM[i] else a
                            raw[i] += mm if YM[i] else 0
                    continue
                if dep == 0:
                    if not x0j:
                        continue
                    s = sxj
                else:
                    if not u_on:
                        continue
                    s = T_e
                p = TP[rl, s, j]
                if p == 0 or QZ[rl, s]:  # 0 at every post of the row
                    if not inrange:
                        for i in range(n_post):
                            acc[i] = accumulate(acc[i], 0)
                        inrange = True
                    continue
                if ns == 0:
                    _acc_row0(acc, raw, p, TQ[rl, s], mant, shift, sexp, n_post)
                elif ns == 1 and QP[rl] == 0:  # one synaptic factor, no post factor (e.g. u*t)
                    _acc_row1(
                        acc,
                        raw,
                        p,
                        OLD[SV[rl, 0]],
                        SC[rl, 0],
                        SS[rl, 0],
                        SWd[rl, 0],
                        mant,
                        shift,
                        sexp,
                        n_post,
                    )
                elif ns == 1:
                    _acc_row1q(
                        acc,
                        raw,
                        p,
                        TQ[rl, s],
                        OLD[SV[rl, 0]],
                        SC[rl, 0],
                        SS[rl, 0],
                        SWd[rl, 0],
                        mant,
                        shift,
                        sexp,
                        n_post,
                    )
                else:
                    _product_row(
                        m, p, TQ[rl, s], SV[rl], SC[rl], SS[rl], SWd[rl], ns, OLD, mant, shift, sexp, n_post
                    )
                    for i in range(n_post):
                        acc[i] = accumulate(acc[i], m[i])
                        raw[i] += m[i]
                inrange = True
            plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
            row = Z[base : base + n_post]
            ns_ = 0
            if full:
                for i in range(n_post):
                    a = min(max(acc[i], plo), phi)
                    rr = stochastic_round(a, thr)
                    row[i] = min(max(rr, lo), hi)
                    ns_ += saturated(a, raw[i], rr, lo, hi)
            else:
                for i in range(n_post):
                    a = min(max(acc[i], plo), phi)
                    rr = stochastic_round(a, thr)
                    o = row[i]
                    row[i] = min(max(rr, lo), hi) if YM[i] else o
                    ns_ += saturated(a, raw[i], rr, lo, hi) & YM[i]
            nsat[z] += ns_
    return nsat[0], nsat[1], nsat[2]


@njit(cache=True)
def _sparse_row(j, base, pj, pr, st, TP, QY, NS, SV, SC, SS, SWd, TYv, ylist, ny, thr, nsat):
    """A non-full row at its few bAP posts: only y0 products apply (synapse by synapse)."""
    PT = pr.PT
    p0, np_ = pj.p0, pj.np_
    for c in range(ny):
        i = ylist[c]
        s = TYv[i]
        idx = base + i
        o0 = np.int64(st.WT[idx])
        o1 = np.int64(st.D2T[idx])
        o2 = np.int64(st.T1T[idx])
        for z in range(3):
            if not pj.tgt_has[z]:
                continue
            a = (o0 if z == 0 else (o1 if z == 1 else o2)) << SYN_VAR_SHIFT
            raw = a
            for rl in range(np_):
                r = p0 + rl
                if PT[r, 0] != z or PT[r, 1] != 1:
                    continue
                mm = wrap32(TP[rl, s, j] * QY[rl, i])
                for k in range(NS[rl]):
                    v = SV[rl, k]
                    val = (o0 if v == 0 else (o1 if v == 1 else o2)) + SC[rl, k]
                    if SS[rl, k]:
                        val = 1 if val > 0 else (-1 if val < 0 else 0)
                    mm = wrap32(mm * clip_factor(val, SWd[rl, k]))
                mm = finish_product(mm, PT[r, 2], PT[r, 4], PT[r, 3])
                a = accumulate(a, mm)
                raw += mm
            plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
            a = min(max(a, plo), phi)
            rr = stochastic_round(a, thr)
            w = min(max(rr, lo), hi)
            if z == 0:
                st.WT[idx] = w
            elif z == 1:
                st.D2T[idx] = w
            else:
                st.T1T[idx] = w
            nsat[z] += saturated(a, raw, rr, lo, hi)
