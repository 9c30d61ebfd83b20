"""Fast epoch learning for *separable* rules (no ``w``/``d``/``t`` factor in any product).

In such a rule a product's value at synapse (pre j, post i) depends on j and i only through
per-neuron quantities (x0/x1/x2/constants of j, y0/y1..y3 of i) at the trace time s the
product sees (``tx[j]`` for x0-gated, ``ty[i]`` for y0-gated, ``t_epoch`` for u-gated products).
So, per epoch, every product is tabulated once per neuron instead of being interpreted once
per synapse:

* PRE kind (only pre factors, e.g. the ``y0*x1`` half of pair STDP): ``TP[r, s, j]`` holds the
  product's final, clipped accumulator contribution;
* POST kind (only post factors, e.g. ``x0*y1``): ``TQ[r, s, i]`` likewise;
* BOTH (pre and post factors, e.g. ``x0*x1*y1``): ``TP``/``TQ`` hold the wrapped 32-bit partial
  products and the synapse loop does the last multiply, shift and clip. Because the 32-bit
  wrap is a ring homomorphism, ``wrap32(P * Q * mant)`` equals Lava's factor-by-factor wrapped
  product whatever the order.

The synapse loop then walks the weight matrix row by row (pre j), with a row accumulator per
target: rows of pre neurons that spiked in the epoch (x0-gated products) or every row in a
u epoch are visited in full; other rows only at the post neurons with a bAP (y0-gated
products), densely with a masked write when many posts spiked and through the bAP list when
few did. The arithmetic is Lava's (docs/reference/loihi2.md §3.3) in the same order: accumulator
``Z << 7``, products of each target in rule order with a clip to [-2^15 - 1, 2^15 - 1] after
each, sign-mode clamp, one shared stochastic rounding draw per epoch (``rw < f/128`` is
computed as the exact integer test ``f > floor(128 rw)``), final clip. A gate that is off
never clips (values outside the accumulator range, e.g. tag_1 = -257, stay as Lava leaves
them). Rules with ``w``/``d``/``t`` factors run in :mod:`.synaptic` (per-neuron tables of
their neuron factors, per-synapse product passes); :func:`learn_separable` hands them over.
Every row pass also counts the synapses whose written value
saturation changed (:func:`.arith.saturated`: the clipped chain ends away from the plain sum of
the products, or the final range clip moved the value), for the run's warnings; the composed
chain is exact for this too (it equals the clipped chain, ``x + C`` the plain sum).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .arith import (
    SYN_VAR_SHIFT,
    UNBOUNDED,
    accumulate,
    finish_product,
    round_threshold_jit,
    saturated,
    stochastic_round,
    target_bounds,
    wrap32,
)
from .synaptic import (
    KIND_BOTH,
    KIND_POST,
    KIND_PRE,
    KIND_SYN,
    POST_VARS,
    PRE_VARS,
    SYN_VARS,
    _apply_neuron_factor,
    learn_synaptic,
)


def classify(ptab: np.ndarray, ftab: np.ndarray) -> tuple[bool, np.ndarray]:
    """(fast kernel, kind per product) from a projection's product/factor tables. Every rule has
    one: products with a w/d/t factor are ``KIND_SYN`` and their rule runs in :mod:`.synaptic`."""
    kinds = np.zeros(ptab.shape[0], np.int64)
    for r in range(ptab.shape[0]):
        vs = [int(ftab[f, 0]) for f in range(ptab[r, 5], ptab[r, 5] + ptab[r, 6])]
        pre = any(v in PRE_VARS for v in vs)
        post = any(v in POST_VARS for v in vs)
        if any(v in SYN_VARS for v in vs):
            kinds[r] = KIND_SYN
        else:
            kinds[r] = KIND_BOTH if pre and post else (KIND_POST if post else KIND_PRE)
    return True, kinds


class Proj(NamedTuple):
    """One separable learning projection as the kernels read it: sizes, weight offset into the
    flat learned state, t_epoch, the u-decimation exponent (-1: no u products), sign mode, its
    products ``p0 .. p0 + np_ - 1`` of :class:`Products`, and which targets (dw, dd, dt) it has."""

    n_pre: int
    n_post: int
    woff: int
    T_e: int
    k_dec: int
    sign_mode: int
    p0: int
    np_: int
    tgt_has: np.ndarray


class Products(NamedTuple):
    """The product tables of all learning projections: ``PT`` (target, dependency, mantissa,
    exponent, pre-shift, first factor, factor count), kinds ``PK`` (KIND_*), factors ``FT``
    (variable, sign flag), constants ``FC``, and the factor width per variable ``WIDTH``."""

    PT: np.ndarray
    PK: np.ndarray
    FT: np.ndarray
    FC: np.ndarray
    WIDTH: np.ndarray


class Epoch(NamedTuple):
    """One projection's epoch, tabulated by :func:`learn_separable`: spike times ``TXv``/``TYv``
    (contiguous copies), the bAP mask ``YM`` and list ``ylist[:ny]``, product tables ``TP``/``TQ``
    (module docstring) and ``QY`` (POST-kind y0 products at each post's bAP time), which gates
    apply (``has_x0``, ``has_y0``, ``u_on``) and the rounding threshold ``thr``."""

    TXv: np.ndarray
    TYv: np.ndarray
    YM: np.ndarray
    ylist: np.ndarray
    ny: int
    TP: np.ndarray
    TQ: np.ndarray
    QY: np.ndarray
    has_x0: bool
    has_y0: bool
    u_on: bool
    thr: int


class Bounds(NamedTuple):
    """:func:`.arith.target_bounds` of one target: sign clamp (plo, phi), final range (lo, hi)."""

    plo: int
    phi: int
    lo: int
    hi: int


@njit(cache=True)
def _tables(TP, TQ, pj, pr, hx, hy, TXv, TYv):
    """Per-product pre (TP) and post (TQ) tables for s = 1..T_e (see module docstring)."""
    PT, PK, FT, FC, WIDTH = pr.PT, pr.PK, pr.FT, pr.FC, pr.WIDTH
    p0, np_, n_pre, n_post, T_e = pj.p0, pj.np_, pj.n_pre, pj.n_post, pj.T_e
    for rl in range(np_):
        r = p0 + rl
        mant, shift, sexp, kind = PT[r, 2], PT[r, 4], PT[r, 3], PK[r]
        for s in range(T_e + 1):
            for j in range(n_pre):
                TP[rl, s, j] = 1
            for i in range(n_post):
                TQ[rl, s, i] = 1
        for f in range(PT[r, 5], PT[r, 5] + PT[r, 6]):
            var, c0 = FT[f, 0], FC[f]
            wd = WIDTH[var]
            _apply_neuron_factor(TP, TQ, rl, var, c0, wd, T_e, n_pre, n_post, hx, hy, TXv, TYv)
        if kind == KIND_PRE:
            for s in range(1, T_e + 1):
                for j in range(n_pre):
                    TP[rl, s, j] = finish_product(TP[rl, s, j], mant, shift, sexp)
        elif kind == KIND_POST:
            for s in range(1, T_e + 1):
                for i in range(n_post):
                    TQ[rl, s, i] = finish_product(TQ[rl, s, i], mant, shift, sexp)
        for j in range(n_pre):
            TP[rl, 0, j] = 0
        for i in range(n_post):
            TQ[rl, 0, i] = 0


@njit(cache=True)
def _row_dense(Z, base, z, j, full, pj, pr, ep, bd, acc, raw, cs):
    """Target z of row j over all posts; a non-full row writes only where the post had a bAP.
    ``acc``, ``raw`` (n_post,), ``cs`` (T_e + 1,): scratch (``raw``: the sum without the
    accumulator's clips). Returns how many written synapses saturated."""
    PT, PK, TP, TQ, QY, TYv = pr.PT, pr.PK, ep.TP, ep.TQ, ep.QY, ep.TYv
    p0, np_, n_post, T_e = pj.p0, pj.np_, pj.n_post, pj.T_e
    sxj = ep.TXv[j]
    x0j = sxj > 0
    u_on, thr, plo, phi, lo, hi = ep.u_on, ep.thr, bd.plo, bd.phi, bd.lo, bd.hi
    row = Z[base : base + n_post]
    for i in range(n_post):
        acc[i] = np.int64(row[i]) << SYN_VAR_SHIFT
        raw[i] = acc[i]
    for rl in range(np_):
        r = p0 + rl
        if PT[r, 0] != z:
            continue
        dep, kind = PT[r, 1], PK[r]
        if dep == 1:
            if kind == KIND_PRE and T_e == 1:
                c = TP[rl, 1, j]
                for i in range(n_post):
                    a = acc[i]
                    v = accumulate(a, c)
                    acc[i] = v if TYv[i] > 0 else a
                    raw[i] += c if TYv[i] > 0 else 0
            elif kind == KIND_PRE:
                for s in range(T_e + 1):
                    cs[s] = TP[rl, s, j]
                for i in range(n_post):
                    a = acc[i]
                    v = accumulate(a, cs[TYv[i]])
                    acc[i] = v if TYv[i] > 0 else a
                    raw[i] += cs[TYv[i]]  # cs[0] = 0: no bAP adds nothing
            elif kind == KIND_POST:
                qy = QY[rl]
                for i in range(n_post):
                    a = acc[i]
                    v = accumulate(a, qy[i])
                    acc[i] = v if TYv[i] > 0 else a
                    raw[i] += qy[i]  # TQ[., 0, .] = 0: no bAP adds nothing
            else:
                mant, shift, sexp = PT[r, 2], PT[r, 4], PT[r, 3]
                for i in range(n_post):
                    s = TYv[i]
                    if s > 0:
                        m = finish_product(wrap32(TP[rl, s, j] * TQ[rl, s, i]), mant, shift, sexp)
                        acc[i] = accumulate(acc[i], m)
                        raw[i] += m
            continue
        if dep == 0:
            if not x0j:
                continue
            s = sxj
        else:
            if not u_on:
                continue
            s = T_e
        if kind == KIND_PRE:
            c = TP[rl, s, j]
            for i in range(n_post):
                acc[i] = accumulate(acc[i], c)
                raw[i] += c
        elif kind == KIND_POST:
            tq = TQ[rl, s]
            for i in range(n_post):
                acc[i] = accumulate(acc[i], tq[i])
                raw[i] += tq[i]
        else:
            mant, shift, sexp = PT[r, 2], PT[r, 4], PT[r, 3]
            p = TP[rl, s, j]
            tq = TQ[rl, s]
            for i in range(n_post):
                m = finish_product(wrap32(p * tq[i]), mant, shift, sexp)
                acc[i] = accumulate(acc[i], m)
                raw[i] += m
    nsat = 0
    if full:
        for i in range(n_post):
            a = min(max(acc[i], plo), phi)
            rr = stochastic_round(a, thr)
            row[i] = min(max(rr, lo), hi)
            nsat += saturated(a, raw[i], rr, lo, hi)
    else:
        for i in range(n_post):
            a = min(max(acc[i], plo), phi)
            rr = stochastic_round(a, thr)
            old = row[i]
            row[i] = min(max(rr, lo), hi) if TYv[i] > 0 else old
            nsat += saturated(a, raw[i], rr, lo, hi) & (TYv[i] > 0)
    return nsat


@njit(cache=True)
def _compose(CLH, z, j, pj, pr, ep, bd):
    """For a row without x0/u products: the y0-gated PRE products of target z in rule order
    (each ``a -> accumulate(a, c_s)``) and the sign clamp, composed per trace time s
    into one ``a -> clip(a + C, L, H)`` (shift-and-clamp maps are closed under composition:
    ``clip(clip(x + C, L, H) + c, A, B) = clip(x + C + c, clip(L + c, A, B), clip(H + c, A, B))``)."""
    PT, TP, p0, np_, plo, phi = pr.PT, ep.TP, pj.p0, pj.np_, bd.plo, bd.phi
    for s in range(1, pj.T_e + 1):
        C, L, H = 0, -UNBOUNDED, UNBOUNDED
        for rl in range(np_):
            r = p0 + rl
            if PT[r, 0] != z or PT[r, 1] != 1:
                continue
            c = TP[rl, s, j]
            C += c
            L = accumulate(L, c)
            H = accumulate(H, c)
        CLH[0, s] = C
        CLH[1, s] = min(max(L, plo), phi)
        CLH[2, s] = min(max(H, plo), phi)


@njit(inline="always")
def _unsaturated_olds(C, L, H, thr, lo, hi):
    """The old values [olo, ohi] whose update ``R(clip((old << 7) + C, L, H))`` (R: stochastic
    rounding with threshold ``thr``, then the clip to [lo, hi]) does not saturate. The rounded
    value exceeds hi iff ``a > (hi << 7) + thr`` and falls below lo iff ``a <= ((lo - 1) << 7) +
    thr``, so the whole update is clean iff ``(old << 7) + C`` lies in [L2, H2] below."""
    L2 = max(L, ((lo - 1) << SYN_VAR_SHIFT) + thr + 1)
    H2 = min(H, (hi << SYN_VAR_SHIFT) + thr)
    return -((C - L2) >> SYN_VAR_SHIFT), (H2 - C) >> SYN_VAR_SHIFT  # ceil, floor of /128


@njit(cache=True)
def _count_y0pre1(Z, base, C, L, H, ep, bd):
    """How many bAP synapses of a row :func:`_row_y0pre1` saturates (call it before the update).
    Stored values always lie in [lo, hi] (validated, then written clipped), so a row whose clean
    window covers that range is not scanned (e.g. every row with C = 0)."""
    YM = ep.YM
    n_post = YM.shape[0]
    olo, ohi = _unsaturated_olds(C, L, H, ep.thr, bd.lo, bd.hi)
    if olo <= bd.lo and ohi >= bd.hi:
        return 0
    row = Z[base : base + n_post]
    nsat = 0
    for i in range(n_post):
        nsat += ((row[i] < olo) | (row[i] > ohi)) & YM[i]
    return nsat


@njit(cache=True)
def _count_y0pre(Z, base, CLH, ep, bd, win):
    """:func:`_count_y0pre1` for t_epoch > 1 (the window of each post's bAP time s; ``win``
    (2, T_e + 1): scratch)."""
    TYv, YM, T_e = ep.TYv, ep.YM, CLH.shape[1] - 1
    win[0, 0], win[1, 0] = bd.lo, bd.hi  # s = 0: no bAP, never written
    scan = False
    for s in range(1, T_e + 1):
        win[0, s], win[1, s] = _unsaturated_olds(CLH[0, s], CLH[1, s], CLH[2, s], ep.thr, bd.lo, bd.hi)
        scan |= (win[0, s] > bd.lo) | (win[1, s] < bd.hi)
    if not scan:
        return 0
    n_post = YM.shape[0]
    row = Z[base : base + n_post]
    nsat = 0
    for i in range(n_post):
        s = TYv[i]
        nsat += ((row[i] < win[0, s]) | (row[i] > win[1, s])) & YM[i]
    return nsat


@njit(cache=True)
def _row_y0pre1(Z, base, C, L, H, ep, bd):
    """One fused pass over a row without x0/u products whose y0 products are all PRE kind,
    t_epoch 1: ``Z = R(clip((Z << 7) + C, L, H))`` where the post had a bAP. (A separate
    function from the t_epoch > 1 gather variant: merged, LLVM no longer vectorises it; so is the
    saturation count, :func:`_count_y0pre1`.)"""
    YM, lo, hi, thr = ep.YM, bd.lo, bd.hi, ep.thr
    n_post = YM.shape[0]
    row = Z[base : base + n_post]  # a view: computed indices would cost a wraparound test each
    for i in range(n_post):
        old = row[i]
        a = min(max((np.int64(old) << SYN_VAR_SHIFT) + C, L), H)
        rr = min(max(stochastic_round(a, thr), lo), hi)
        row[i] = rr if YM[i] else old


@njit(cache=True)
def _row_y0pre(Z, base, CLH, ep, bd):
    """:func:`_row_y0pre1` for t_epoch > 1: (C, L, H) of the post's bAP time s (count first:
    :func:`_count_y0pre`)."""
    TYv, YM, lo, hi, thr = ep.TYv, ep.YM, bd.lo, bd.hi, ep.thr
    n_post = YM.shape[0]
    row = Z[base : base + n_post]
    for i in range(n_post):
        s = TYv[i]
        old = row[i]
        a = min(max((np.int64(old) << SYN_VAR_SHIFT) + CLH[0, s], CLH[1, s]), CLH[2, s])
        rr = min(max(stochastic_round(a, thr), lo), hi)
        row[i] = rr if YM[i] else old


@njit(cache=True)
def _row_sparse_y0pre(Z, base, CLH, ep, bd):
    """:func:`_row_y0pre` at the bAP posts only (few bAPs)."""
    TYv, ylist, ny, lo, hi, thr = ep.TYv, ep.ylist, ep.ny, bd.lo, bd.hi, ep.thr
    nsat = 0
    for c in range(ny):
        i = ylist[c]
        s = TYv[i]
        a0 = (np.int64(Z[base + i]) << SYN_VAR_SHIFT) + CLH[0, s]
        a = min(max(a0, CLH[1, s]), CLH[2, s])
        r0 = stochastic_round(a, thr)
        Z[base + i] = min(max(r0, lo), hi)
        nsat += saturated(a, a0, r0, lo, hi)
    return nsat


@njit(cache=True)
def _row_sparse(Z, base, z, j, pj, pr, ep, bd):
    """Target z of a non-full row j at the bAP posts only (only y0-gated products apply)."""
    PT, PK, TP, TQ, QY, TYv, ylist, ny = pr.PT, pr.PK, ep.TP, ep.TQ, ep.QY, ep.TYv, ep.ylist, ep.ny
    p0, np_, plo, phi, lo, hi, thr = pj.p0, pj.np_, bd.plo, bd.phi, bd.lo, bd.hi, ep.thr
    nsat = 0
    for c in range(ny):
        i = ylist[c]
        s = TYv[i]
        a = np.int64(Z[base + i]) << SYN_VAR_SHIFT
        raw = a
        for rl in range(np_):
            r = p0 + rl
            if PT[r, 0] != z or PT[r, 1] != 1:
                continue
            kind = PK[r]
            if kind == KIND_PRE:
                m = TP[rl, s, j]
            elif kind == KIND_POST:
                m = QY[rl, i]
            else:
                m = finish_product(wrap32(TP[rl, s, j] * TQ[rl, s, i]), PT[r, 2], PT[r, 4], PT[r, 3])
            a = accumulate(a, m)
            raw += m
        a = min(max(a, plo), phi)
        rr = stochastic_round(a, thr)
        Z[base + i] = min(max(rr, lo), hi)
        nsat += saturated(a, raw, rr, lo, hi)
    return nsat


@njit(cache=True)
def learn_separable(t, pj, pr, st, TXv, TYv, rw):
    """Epoch learning of one separable projection ``pj`` (:class:`Proj`) with products ``pr``
    (:class:`Products`) at step t. ``st``: the learned state and trace histories (fields ``WT``,
    ``D2T``, ``T1T``, ``hx``, ``hy`` of :class:`.learning.State`; histories already advanced by the
    caller); ``TXv``/``TYv``: this projection's tx/ty, not yet reset; ``rw``: the epoch's draw.
    Returns how many synapse updates of weights, tag_2 and tag_1 saturated. A rule with w/d/t
    factors (a ``KIND_SYN`` product) runs in :func:`.synaptic.learn_synaptic` instead."""
    PT, PK = pr.PT, pr.PK
    p0, np_, n_pre, n_post, T_e = pj.p0, pj.np_, pj.n_pre, pj.n_post, pj.T_e
    for r in range(p0, p0 + np_):
        if PK[r] == KIND_SYN:
            return learn_synaptic(t, pj, pr, st, TXv, TYv, rw)
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
    TYv = TYv.copy()  # contiguous (the caller passes a slice of the flat state)
    TXv = TXv.copy()
    YM = np.empty(n_post, np.bool_)
    ylist = np.empty(n_post, np.int64)
    ny = 0
    for i in range(n_post):
        YM[i] = TYv[i] > 0
        if TYv[i] > 0:
            ylist[ny] = i
            ny += 1
    TP = np.empty((np_, T_e + 1, n_pre), np.int64)
    TQ = np.empty((np_, T_e + 1, n_post), np.int64)
    _tables(TP, TQ, pj, pr, st.hx, st.hy, TXv, TYv)
    QY = np.zeros((np_, n_post), np.int64)
    for rl in range(np_):
        if PT[p0 + rl, 1] == 1 and PK[p0 + rl] == KIND_POST:
            for i in range(n_post):
                QY[rl, i] = TQ[rl, TYv[i], i]
    ep = Epoch(TXv, TYv, YM, ylist, ny, TP, TQ, QY, has_x0, has_y0, u_on, round_threshold_jit(rw))
    nw = _target_rows(st.WT, 0, pj, pr, ep) if pj.tgt_has[0] else 0
    nd = _target_rows(st.D2T, 1, pj, pr, ep) if pj.tgt_has[1] else 0
    nt = _target_rows(st.T1T, 2, pj, pr, ep) if pj.tgt_has[2] else 0
    return nw, nd, nt


@njit(cache=True)
def _target_rows(Z, z, pj, pr, ep):
    """Every visited synapse of target z (0 weights, 1 tag_2, 2 tag_1), row by row. Returns how
    many of them saturated."""
    PT, PK = pr.PT, pr.PK
    p0, np_, n_pre, n_post, T_e = pj.p0, pj.np_, pj.n_pre, pj.n_post, pj.T_e
    acc = np.empty(n_post, np.int64)
    raw = np.empty(n_post, np.int64)
    nsat = 0
    cs = np.empty(T_e + 1, np.int64)
    CLH = np.zeros((3, T_e + 1), np.int64)
    win = np.empty((2, T_e + 1), np.int64)
    dense = ep.ny * 8 >= n_post
    plo, phi, lo, hi = target_bounds(z, pj.sign_mode)
    bd = Bounds(plo, phi, lo, hi)
    y0pre = True  # every y0 product of z is PRE kind: non-full rows take the fused pass
    for r in range(p0, p0 + np_):
        if PT[r, 0] == z and PT[r, 1] == 1 and PK[r] != KIND_PRE:
            y0pre = False
    for j in range(n_pre):
        full = ep.u_on or (ep.TXv[j] > 0 and ep.has_x0)
        base = pj.woff + j * n_post
        if full:
            nsat += _row_dense(Z, base, z, j, True, pj, pr, ep, bd, acc, raw, cs)
        elif not ep.has_y0 or ep.ny == 0:
            continue
        elif y0pre:
            _compose(CLH, z, j, pj, pr, ep, bd)
            if dense:
                if T_e == 1:
                    nsat += _count_y0pre1(Z, base, CLH[0, 1], CLH[1, 1], CLH[2, 1], ep, bd)
                    _row_y0pre1(Z, base, CLH[0, 1], CLH[1, 1], CLH[2, 1], ep, bd)
                else:
                    nsat += _count_y0pre(Z, base, CLH, ep, bd, win)
                    _row_y0pre(Z, base, CLH, ep, bd)
            else:
                nsat += _row_sparse_y0pre(Z, base, CLH, ep, bd)
        elif dense:
            nsat += _row_dense(Z, base, z, j, False, pj, pr, ep, bd, acc, raw, cs)
        else:
            nsat += _row_sparse(Z, base, z, j, pj, pr, ep, bd)
    return nsat
