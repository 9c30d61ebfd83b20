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
    each synapse (post i, dendritic delay dd = its row delay since backprop_delay is True; the row
    delay is the delay masked by the post population's ring size, ``d & (slots - 1)``: 0 for a
    delay equal to the slot count, :func:`.spec.stdp_row_delay`):
    ``w = w16 << shift`` (s16.15); the post events of i with ``max(lt-dd,0) < t_e <= max(tp-dd,0)``
    potentiate, oldest first, ``w += mulaf(A+, mul16(r_last, LUT+(t_e + dd - lt)))`` (Pfister: plus
    ``mulaf(A3+, mul16(that, o2_e))``; multiplicative: ``mulaf(mul_k(w_max - w, A+), ...)``), additive
    rules clamp at ``w_max``; then the latest event at or before the window (not the sentinel)
    depresses ``w -= mulaf(A-, mul16(o_prev, LUT-(tp - t_prev - dd)))`` (Pfister: plus
    ``mulaf(A3-, mul16(that, r2_new))``; multiplicative ``mul_k(w - w_min, A-)``), additive rules
    clamp at ``w_min``; time differences are uint32; a zero difference skips a potentiation
    (``timing_apply_post_spike``) but not the depression (``timing_apply_pre_spike`` has no such test:
    the 7.4.1 pair binary applies ``LUT-(0)``; its instruction words are read by
    ``tests/test_spinnaker_gcc.py``); the
    weight is written back as ``uint16(w >> shift)`` and **that** updated weight goes into
    ring-buffer slot ``tp + dd`` (saturating at 0xFFFF); a row delay of 0 is never delivered.

``mul16(a, b) = (int16(a) * int16(b)) >> 11`` (``__smulbb``), ``mulaf(A, x) = (A * int32(x << 4)) >> 15``
and ``mul_k`` are floor operations with int32 wrap, as compiled. Updates happen only at pre
spikes: the learned weights (``Projection.get("weight")`` after a run) miss the post spikes after
each synapse's last pre spike, exactly as on chip.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from neurocompile.program import Program
from neurocompile.targets.spinnaker import spec
from neurocompile.targets.spinnaker.learning import TIMING_CODES, WEIGHT_CODES, stdp_constants

from .arith import (
    N_POP,
    O_SAT,
    O_WRAP,
    SAT,
    depress,
    mul16,
    mulaf,
    potentiate,
    trace2_decay,
    trace_add,
    weight_in,
    weight_out,
)
from .engine import (
    Outputs,
    Recorded,
    _compact,
    _deliver_static,
    _neurons,
    _record,
    build_plan,
    input_events,
    scratch,
)

_M32 = spec.UINT32_MAX
_H = spec.STDP_MAX_POST_EVENTS
# rule table columns
(
    R_TIMING,
    R_WEIGHT,
    R_WMIN,
    R_WMAX,
    R_A2P,
    R_A2M,
    R_A3P,
    R_A3M,
    R_OFFP,
    R_SIZEP,
    R_SHP,
    R_OFFM,
    R_SIZEM,
    R_SHM,
    R_OFFX,
    R_SIZEX,
    R_SHX,
    R_OFFY,
    R_SIZEY,
    R_SHY,
) = range(20)
R_COLS = 20


@njit(inline="always")
def _lut(luts, off, size, shift, dt):
    i = (dt & _M32) >> shift
    if i < size:
        return luts[off + i]
    return 0


class Plastic(NamedTuple):
    """The STDP projections as the kernels read them (:meth:`StdpPlan.plastic`)."""

    rtab: np.ndarray  # (n_rules, R_COLS) int64: one row per STDP projection, columns R_*
    luts: np.ndarray  # the rules' exp LUTs, concatenated (offsets/sizes/shifts in rtab)
    nrule: np.ndarray  # (NL,) rule of the STDP projection into each neuron, -1: none
    prow_ptr: np.ndarray  # (NI + NL + 1,) CSR over sources into the plastic rows
    row_rule: np.ndarray  # per plastic row: its rule
    syn_ptr: np.ndarray  # (n_rows + 1,) CSR over rows into the plastic synapses
    ps_post: np.ndarray  # per plastic synapse: global post neuron
    ps_del: np.ndarray  # per plastic synapse: the binaries' row delay (ticks; also its dendritic
    #                     delay; 0: masked by the ring size, never delivered: spec.stdp_row_delay)
    ps_type: np.ndarray  # per plastic synapse: synapse type
    ps_shift: np.ndarray  # per plastic synapse: the post population's ring-buffer shift of that type
    row_col0: np.ndarray  # per plastic row: type * NL + first post when its posts are consecutive
    #                       neurons with one delay and type (delivered as one vector add), else -1


class Weights(NamedTuple):
    """The learned weights: ``w`` (n_plastic,) w16, updated in place; ``traj`` (T, n_plastic) w16
    after each tick when ``record``, else unused. The batch kernel: a leading batch axis on both."""

    w: np.ndarray
    traj: np.ndarray
    record: bool


@njit(inline="always")
def _post_event(n, t, k, rtab, luts, h_t, h_o1, h_o2, h_cm1):
    """A post spike of neuron n at tick t into its history (``post_events.h``, rule k's traces)."""
    c = h_cm1[n]
    lt = h_t[n, c]
    dt = t - lt
    o1 = trace_add(h_o1[n, c], _lut(luts, rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM], dt))
    o2 = 0
    if rtab[k, R_TIMING] == 1 and lt != 0:
        o2 = trace2_decay(h_o2[n, c], _lut(luts, rtab[k, R_OFFY], rtab[k, R_SIZEY], rtab[k, R_SHY], dt))
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


@njit(inline="always")
def _synapse(q, t, k, lt, lr1, nr2, w, pl, h_t, h_o1, h_o2, h_cm1):
    """The reference kernel's update of plastic synapse q at a pre spike at t (the window walk over
    the post history, potentiations oldest first, then the depression); returns the new w16."""
    rtab, luts = pl.rtab, pl.luts
    wk = rtab[k, R_WEIGHT]
    n = pl.ps_post[q]
    dd = pl.ps_del[q]
    sh = pl.ps_shift[q]
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
            dr1 = mul16(lr1, _lut(luts, rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP], dtl))
            wt = potentiate(wk, wt, rtab[k, R_A2P], rtab[k, R_A3P], rtab[k, R_WMAX], dr1, h_o2[n, e])
        prev = e
        valid = True
    if valid:  # no zero-difference test here (the 7.4.1 binary has none: LUT(0) applies)
        dtl = (t - (h_t[n, prev] + dd)) & _M32
        do1 = mul16(h_o1[n, prev], _lut(luts, rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM], dtl))
        wt = depress(wk, wt, rtab[k, R_A2M], rtab[k, R_A3M], rtab[k, R_WMIN], do1, nr2)
    return weight_out(wt, sh)


@njit(inline="always")
def _row_fast(q0, q1, t, k, lt, nr2, w, pl, last_t, last_o1, h_cm1, slow):
    """The synapses of one row whose post neuron has no event after the window's start (the usual
    case): no potentiation, and the depression by the newest event (if any), exactly as
    :func:`_synapse` computes it then; a branch-free loop. The others are left unchanged and
    marked in ``slow`` (a compacted list would cost the loop its vectorization); returns how many."""
    rtab, luts, ps_post, ps_del, ps_shift = pl.rtab, pl.luts, pl.ps_post, pl.ps_del, pl.ps_shift
    wk = rtab[k, R_WEIGHT]
    a2m, a3m, wmin = rtab[k, R_A2M], rtab[k, R_A3M], rtab[k, R_WMIN]
    off, size, shm = rtab[k, R_OFFM], rtab[k, R_SIZEM], rtab[k, R_SHM]
    n_slow = 0
    for q in range(q0, q1):
        n = ps_post[q]
        dd = ps_del[q]
        sh = ps_shift[q]
        begin = lt - dd if lt >= dd else 0
        tl = last_t[n]
        fast = tl <= begin
        w0 = w[q]
        wt = weight_in(w0, sh)
        do1 = mul16(last_o1[n], _lut(luts, off, size, shm, (t - (tl + dd)) & _M32))
        wd = depress(wk, wt, a2m, a3m, wmin, do1, nr2)
        w1 = weight_out(wd if h_cm1[n] > 0 else wt, sh)
        w[q] = w1 if fast else w0
        slow[q - q0] = not fast
        n_slow += not fast
    return n_slow


# The dense rows (consecutive posts, one delay and type, ``Plastic.row_col0 >= 0``): per tick and
# (rule, delay, shift) a table of each post neuron's depression (:func:`_dep_table`), the window's
# potentiations from the post-spike log, tick by tick (:func:`_dense_row`), and per row flags that
# let a row whose update is the identity skip its pass (and its delivery when every weight is 0).
_NO_DEP = -(1 << 40)  # ``lo`` of a neuron without a depression event: max(w16 + 0, _NO_DEP) == w16
# prefix-count rows of the table: neurons with a depression that changes some w16 (c != 0), that
# can raise one (c > 0), that the w16 shortcut does not cover (int32 wrap possible), with do1 != 0
B_CHG, B_UP, B_WIDE, B_DO1 = range(4)
# row flags: weights seen (the other bits valid), every w16 >= w_min >> sh, every w16 == w_min >> sh, all 0
F_KNOWN, F_GE, F_FLOOR, F_ZERO = 1, 2, 4, 8
_RING = 64  # ticks of post spikes kept as flags per neuron (a power of 2)


@njit(cache=True, nogil=True)
def _dep_table(t, dd, sh, k, rtab, lutm, h_t, h_o1, h_cm1, last_t, last_o1, plog_n, plog_ptr, tmp, tab):
    """Per post neuron n, the depression that a pre spike at t with dendritic delay dd applies after
    its potentiations, whichever the row: the one by the newest retained event at or before
    ``t - dd`` (the event :func:`_synapse`'s window walk depresses with, window events or not),
    ``do1[n] = mul16(o1, LUT-(t - (t_e + dd)))``, ``lo[n] = w_min >> sh``; without such an event
    ``do1 = 0``, ``lo = _NO_DEP`` (no depression). For the additive rule the same in w16 terms:
    ``depress`` then ``weight_out`` of ``w16 << sh`` is ``max(w16 + cc[n], lo[n]) & 0xFFFF`` with
    ``cc = (-mulaf(A-, do1)) >> sh`` (the floor shift is monotone, so it commutes with the w_min clamp)
    whenever ``(w16 << sh) - mulaf(A-, do1)`` cannot wrap int32 for any w16 (else counted in
    ``B_WIDE``). ``tab``: ``(do1, lo, cc, bad)`` with ``bad[b, n + 1]`` the prefix counts of the
    neurons with property ``B_*``; ``tmp``: ``(t_e, o1, bits)`` scratch; ``lutm``: rule k's LUT-
    followed by a 0. The event is the newest one (``last_t``) except for the neurons that spiked
    after ``t - dd`` (found in the log): those walk their history. Returns True when the table is
    the same at every later tick until the next post event: no event after ``t - dd`` and every
    depression's LUT- run out."""
    do1, lo, cc, bad = tab
    te, o1, bits = tmp
    NL = h_cm1.size
    end = t - dd if t >= dd else 0
    size, shm = rtab[k, R_SIZEM], rtab[k, R_SHM]
    a2m = rtab[k, R_A2M]
    lo_v = rtab[k, R_WMIN] >> sh
    # x < xmin: (w16 << sh) - x may wrap int32 (every x when w16 << sh itself may)
    xmin = (spec.W16_MAX << sh) - spec.INT32_MAX if sh <= 15 else 1 << 62
    for n in range(NL):
        te[n] = last_t[n] if h_cm1[n] > 0 else -1  # -1: no event
        o1[n] = last_o1[n]
    late = False
    for e in range(plog_ptr[end + 1], plog_ptr[t + 1]):  # spiked after end: the newest before
        late = True
        n = plog_n[e]
        c = h_cm1[n]
        while c > 0 and h_t[n, c] > end:
            c -= 1
        te[n] = h_t[n, c] if c > 0 else -1
        o1[n] = h_o1[n, c]
    alive = 0
    for n in range(NL):  # branch-free (vectorized)
        ok = te[n] >= 0
        i = ((t - (te[n] + dd)) & _M32) >> shm
        v = mul16(o1[n], lutm[min(i, size)])
        v = v if ok else 0
        x = mulaf(a2m, v)
        ci = (-x) >> sh
        do1[n] = v
        cc[n] = ci
        lo[n] = lo_v if ok else _NO_DEP
        alive += ok & (i < size)
        bits[n] = (ci != 0) + 2 * (ci > 0) + 4 * (ok & (x < xmin)) + 8 * (v != 0)
    for b in range(4):
        bad[b, 0] = 0
    c0 = c1 = c2 = c3 = 0
    for n in range(NL):
        f = bits[n]
        c0 += f & 1
        c1 += (f >> 1) & 1
        c2 += (f >> 2) & 1
        c3 += f >> 3
        bad[B_CHG, n + 1] = c0
        bad[B_UP, n + 1] = c1
        bad[B_WIDE, n + 1] = c2
        bad[B_DO1, n + 1] = c3
    return t >= dd and not late and alive == 0


@njit(inline="always")
def _lower(a, i, j, x):
    """The first index in ``i:j`` of the ascending ``a`` with ``a[idx] >= x`` (``j`` if none)."""
    while i < j:
        h = (i + j) >> 1
        if a[h] < x:
            i = h + 1
        else:
            j = h
    return i


@njit(inline="always")
def _pass_short(w, cc, lo):
    """The additive rule without potentiation in w16 terms (:func:`_dep_table`), on views."""
    for i in range(w.size):
        y = w[i] + cc[i]
        w[i] = (y if y > lo[i] else lo[i]) & spec.W16_MAX


@njit(inline="always")
def _pass_generic(w, acc, from_acc, sh, do1, lo, wk, a2m, a3m, wmin, nr2):
    """``weight_out(depress(wt))`` (no depression where ``lo == _NO_DEP``) with ``wt`` the s16.15
    weight after the potentiations (``acc``) or ``weight_in(w16)``, on views."""
    for i in range(w.size):
        wt = acc[i] if from_acc else weight_in(w[i], sh)
        wd = depress(wk, wt, a2m, a3m, wmin, do1[i], nr2)
        w[i] = weight_out(wd if lo[i] != _NO_DEP else wt, sh)


@njit(inline="always")
def _pots(acc, e0, e1, p0, dr1, chk, plog_n, plog_k, plog_o2, ev_cnt, wk, a2p, a3p, wmax):
    """One tick's potentiations of a row: its post events ``e0:e1`` of the log (posts ``p0 + i``)."""
    for e in range(e0, e1):
        n = plog_n[e]
        if chk and ev_cnt[n] - plog_k[e] >= _H - 1:
            continue  # no longer in the post history (15 newer events): the walk does not see it
        i = n - p0
        acc[i] = potentiate(wk, acc[i], a2p, a3p, wmax, dr1, plog_o2[e])


@njit(inline="always")
def _unchanged(wk, sh, flag, bad, k, p0, p1):
    """A dense row of known flags without window events is left as it is: every depressing neuron of
    its posts ``p0:p1`` has ``do1 == 0`` (multiplicative ``w - 0``; additive ``max(w, w_min)``, the
    identity on w16 >= w_min >> sh), or (additive, w16 shortcut) ``cc == 0`` and every w16 >=
    w_min >> sh, or ``cc <= 0`` and every w16 == w_min >> sh."""
    if sh <= 15 and bad[k, B_DO1, p1] == bad[k, B_DO1, p0] and (wk == 1 or flag & F_GE != 0):
        return True
    if wk != 0 or bad[k, B_WIDE, p1] != bad[k, B_WIDE, p0]:
        return False
    if bad[k, B_CHG, p1] == bad[k, B_CHG, p0] and flag & F_GE != 0:
        return True
    return bad[k, B_UP, p1] == bad[k, B_UP, p0] and flag & F_FLOOR != 0


@njit(inline="always")
def _pots_vec(acc, fl, dr1, wk, a2p, wmax):
    """:func:`_pots` (pair rules) for the posts flagged in ``fl`` (one tick of the spike ring), a
    vector pass over the row."""
    for i in range(fl.size):
        v = potentiate(wk, acc[i], a2p, 0, wmax, dr1, 0)
        acc[i] = v if fl[i] else acc[i]


@njit(cache=True, nogil=True)
def _dense_row(
    t, k, lt, lr1, nr2, q0, m, p0, dd, sh, flag, w, rtab, luts, tab, plog_n, plog_ptr, plog_k, plog_o2,
    ev_cnt, ring, acc, sub,
):  # fmt: skip
    """The update of dense row ``w[q0:q0 + m]`` (posts ``p0 ..``) at a pre spike at ``t`` (the same
    integers as :func:`_synapse` per synapse); ``tab``: the ``(do1, lo, cc, bad)`` of
    :func:`_dep_table` at (t, dd, sh); ``flag``: the row's ``F_*`` bits. The post events of the window
    ``max(lt - dd, 0) < t_e <= max(t - dd, 0)`` come from the log, tick by tick (each tick's
    events are in ascending neuron order: a binary search finds the row's posts); with none the row
    is one pass (w16 shortcut for the additive rule, else s16.15), skipped when it is the identity:
    no change where every depressing neuron has ``cc == 0`` and every w16 >= w_min >> sh, or
    ``cc <= 0`` and every w16 == w_min >> sh (multiplicative: ``do1 == 0``). With window events:
    ``acc = w16 << sh``, each tick's potentiations oldest first, then the depression pass. Returns
    the new flags."""
    do1, lo, cc, bad = tab
    wk = rtab[k, R_WEIGHT]
    a2m, a3m, wmin = rtab[k, R_A2M], rtab[k, R_A3M], rtab[k, R_WMIN]
    begin = lt - dd if lt >= dd else 0
    end = t - dd if t >= dd else 0
    ns = 0
    if end > begin and plog_ptr[end + 1] > plog_ptr[begin + 1]:
        for tau in range(begin + 1, end + 1):
            a, b = plog_ptr[tau], plog_ptr[tau + 1]
            if a == b:
                continue
            e0 = _lower(plog_n, a, b, p0)
            e1 = _lower(plog_n, e0, b, p0 + m)
            if e0 < e1:
                sub[ns, 0] = tau
                sub[ns, 1] = e0
                sub[ns, 2] = e1
                ns += 1
    p1 = p0 + m
    wv, dv, lv, cv = w[q0 : q0 + m], do1[p0:p1], lo[p0:p1], cc[p0:p1]
    lo_v = wmin >> sh
    if flag == 0:
        flag = _flags(wv, lo_v)  # F_KNOWN only when every w16 is in 0..0xFFFF
    if ns == 0:
        if flag & F_KNOWN:
            if _unchanged(wk, sh, flag, bad, k, p0, p1):
                return flag
            if wk == 0 and bad[k, B_WIDE, p1] == bad[k, B_WIDE, p0]:
                _pass_short(wv, cv, lv)
                return _flags(wv, lo_v)
        if wk == 0:
            _pass_generic(wv, acc, False, sh, dv, lv, 0, a2m, a3m, wmin, nr2)
        elif wk == 1:
            _pass_generic(wv, acc, False, sh, dv, lv, 1, a2m, a3m, wmin, nr2)
        else:
            _pass_generic(wv, acc, False, sh, dv, lv, 2, a2m, a3m, wmin, nr2)
        return _flags(wv, lo_v)
    for i in range(m):
        acc[i] = weight_in(wv[i], sh)
    a2p, a3p, wmax = rtab[k, R_A2P], rtab[k, R_A3P], rtab[k, R_WMAX]
    offp, sizep, shp = rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP]
    for s in range(ns):
        tau = sub[s, 0]
        dtl = (tau + dd - lt) & _M32
        if dtl == 0:
            continue  # timing_apply_post_spike's zero-difference test (the walk still counts it)
        dr1 = mul16(lr1, _lut(luts, offp, sizep, shp, dtl))
        chk = t - tau >= _H - 1
        e0, e1 = sub[s, 1], sub[s, 2]
        if wk != 2 and not chk and t - tau < _RING and 4 * (e1 - e0) >= m:  # many: a vector pass
            fl = ring[tau & (_RING - 1), p0:p1]
            if wk == 0:
                _pots_vec(acc, fl, dr1, 0, a2p, wmax)
            else:
                _pots_vec(acc, fl, dr1, 1, a2p, wmax)
        elif wk == 0:
            _pots(acc, e0, e1, p0, dr1, chk, plog_n, plog_k, plog_o2, ev_cnt, 0, a2p, a3p, wmax)
        elif wk == 1:
            _pots(acc, e0, e1, p0, dr1, chk, plog_n, plog_k, plog_o2, ev_cnt, 1, a2p, a3p, wmax)
        else:
            _pots(acc, e0, e1, p0, dr1, chk, plog_n, plog_k, plog_o2, ev_cnt, 2, a2p, a3p, wmax)
    if wk == 0:
        _pass_generic(wv, acc, True, sh, dv, lv, 0, a2m, a3m, wmin, nr2)
    elif wk == 1:
        _pass_generic(wv, acc, True, sh, dv, lv, 1, a2m, a3m, wmin, nr2)
    else:
        _pass_generic(wv, acc, True, sh, dv, lv, 2, a2m, a3m, wmin, nr2)
    return _flags(wv, lo_v)


@njit(inline="always")
def _flags(w, lo_v):
    """The ``F_*`` flags of a row's w16 (``lo_v = w_min >> sh``); 0 if one is outside 0..0xFFFF."""
    mn = w[0]
    mx = w[0]
    for i in range(1, w.size):
        mn = min(mn, w[i])
        mx = max(mx, w[i])
    if mn < 0 or mx > spec.W16_MAX:
        return 0
    return (
        F_KNOWN
        | (F_GE if mn >= lo_v else 0)
        | (F_FLOOR if mn == lo_v and mx == lo_v else 0)
        | (F_ZERO if mx == 0 else 0)
    )


@njit(cache=True, nogil=True)
def _post_events(
    t, spk, nrule, rtab, luts, h_t, h_o1, h_o2, h_cm1, last_t, last_o1, ev_cnt, plog_n, plog_k, plog_o2,
    n_log, ring,
):  # fmt: skip
    """The tick's post spikes into the histories (``synapse_dynamics_process_post_synaptic_event``),
    the newest event per neuron (``last_t``, ``last_o1``), the event count per neuron and the log
    (neuron, its event count then, o2; ascending neurons within a tick) and ``ring`` (this tick's
    row of the spike ring: 1 per logged neuron); returns the log's length."""
    for n in range(spk.size):
        if spk[n] and nrule[n] >= 0:
            _post_event(n, t, nrule[n], rtab, luts, h_t, h_o1, h_o2, h_cm1)
            last_t[n] = t
            last_o1[n] = h_o1[n, h_cm1[n]]
            ev_cnt[n] += 1
            plog_n[n_log] = n
            plog_k[n_log] = ev_cnt[n]
            plog_o2[n_log] = h_o2[n, h_cm1[n]]
            ring[n] = 1
            n_log += 1
    return n_log


@njit(cache=True, nogil=True)
def run_sample_stdp(inp, T, net, rec, out, pl, wts):
    """:func:`.engine.run_sample` with STDP: ``pl``: :class:`Plastic`, ``wts``: :class:`Weights`.

    The neurons, the static synapses and the ring buffer are the static kernel's. A pre spike's
    dense plastic row (consecutive posts, one delay and type) is updated by :func:`_dense_row` from
    the tick's depression table (:func:`_dep_table`, once per tick and (rule, delay, shift), kept
    while nothing can change it) and the post-spike log; the other rows in two passes: the synapses
    whose post neuron has no event after the window's start (:func:`_row_fast`, branch-free), then
    the others by the reference kernel's window walk (:func:`_synapse`). The row's new weights are
    then added into the ring buffer (one vector add for a dense row; none when they are all 0)."""
    R, NI, NL = net.R, net.NI, net.NL
    W2 = 2 * NL
    rtab, luts, nrule, prow_ptr, row_rule, syn_ptr = (
        pl.rtab,
        pl.luts,
        pl.nrule,
        pl.prow_ptr,
        pl.row_rule,
        pl.syn_ptr,
    )
    ps_post, ps_del, ps_type, row_col0 = pl.ps_post, pl.ps_del, pl.ps_type, pl.row_col0
    w, out_w = wts.w, wts.traj
    popn = net.par[N_POP]
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
    in_ptr, in_act = input_events(inp)
    tmp = scratch(net)
    nrows = row_rule.size
    row_t = np.zeros(nrows, np.int64)
    row_r1 = np.zeros(nrows, np.int64)
    row_r2 = np.zeros(nrows, np.int64)
    row_flag = np.zeros(nrows, np.int64)  # F_* bits of each dense row's weights (0: not yet seen)
    row_dd = np.zeros(nrows, np.int64)  # a dense row's delay, first post and shift (read once here:
    row_p0 = np.zeros(nrows, np.int64)  # rows are far apart in the synapse arrays)
    row_sh = np.zeros(nrows, np.int64)
    for r in range(nrows):
        if row_col0[r] >= 0:
            row_dd[r] = ps_del[syn_ptr[r]]
            row_p0[r] = ps_post[syn_ptr[r]]
            row_sh[r] = pl.ps_shift[syn_ptr[r]]
    h_t = np.zeros((NL, _H), np.int64)
    h_o1 = np.zeros((NL, _H), np.int64)
    h_o2 = np.zeros((NL, _H), np.int64)
    h_cm1 = np.zeros(NL, np.int64)
    last_t = np.zeros(NL, np.int64)  # h_t[n, h_cm1[n]]: the newest event (0: the sentinel)
    last_o1 = np.zeros(NL, np.int64)  # h_o1[n, h_cm1[n]]
    ev_cnt = np.zeros(NL, np.int64)  # post events so far per neuron
    max_row = 0
    for r in range(nrows):
        max_row = max(max_row, syn_ptr[r + 1] - syn_ptr[r])
    slow = np.zeros(max_row, np.bool_)  # the synapses a sparse row's fast pass left
    acc = np.zeros(max_row, np.int64)  # a dense row's s16.15 weights during its potentiations
    sub = np.zeros((T + 1, 3), np.int64)  # a dense row's window ticks with events: (tick, log range)
    ring = np.zeros((_RING, NL), np.uint8)  # the logged post spikes of the last _RING ticks, as flags
    cap = max(NL, 16)
    plog_n = np.zeros(cap, np.int64)  # every post event, tick by tick: neuron,
    plog_k = np.zeros(cap, np.int64)  # its event count then (for the history's 15-event bound),
    plog_o2 = np.zeros(cap, np.int64)  # its o2 trace
    plog_ptr = np.zeros(T + 2, np.int64)
    n_log = 0
    n_rules = rtab.shape[0]
    t_do1 = np.zeros((n_rules, NL), np.int64)  # per rule: the depression table (_dep_table)
    t_lo = np.zeros((n_rules, NL), np.int64)
    t_cc = np.zeros((n_rules, NL), np.int64)
    t_bad = np.zeros((n_rules, 4, NL + 1), np.int64)
    tscr = (np.zeros(NL, np.int64), np.zeros(NL, np.int64), np.zeros(NL, np.uint8))  # its scratch
    lutm = np.zeros((n_rules, rtab[:, R_SIZEM].max() + 1), np.int64)  # each rule's LUT-, then 0s
    # additive rules whose depression is >= 0 while every o1 is (0 <= do1 <= 32767, no int32 wrap)
    floor_ok = (rtab[:, R_WEIGHT] == 0) & (rtab[:, R_A2M] >= 0) & (rtab[:, R_A2M] < 1 << 27)
    neg_o1 = 0  # logged post events with o1 < 0 (an int16 wrap of the trace)
    for k in range(n_rules):
        for i in range(rtab[k, R_SIZEM]):
            lutm[k, i] = luts[rtab[k, R_OFFM] + i]
            if not 0 <= lutm[k, i] <= spec.STDP_ONE:
                floor_ok[k] = False
    tab_t = np.full(n_rules, -1, np.int64)  # its tick, delay, shift, log length and whether it stays
    tab_d = np.full(n_rules, -1, np.int64)
    tab_s = np.full(n_rules, -1, np.int64)
    tab_n = np.full(n_rules, -1, np.int64)
    tab_dead = np.zeros(n_rules, np.bool_)
    for t in range(T):
        for j in range(rec.v.size):
            V0[j] = V[rec.v[j]]
        _neurons(t, V, refract, ie, ii, uu, spk, rb, (t % R) * W2, net, out.ovf)
        _record(t, V0, uu, spk, rec, out)
        if n_log + NL > plog_n.size:  # room for every neuron spiking (grown outside the loop below:
            cap = 2 * plog_n.size + NL  # an array rebound inside a loop costs numba reference
            plog_n = _grown(plog_n, n_log, cap)  # counting at every iteration)
            plog_k = _grown(plog_k, n_log, cap)
            plog_o2 = _grown(plog_o2, n_log, cap)
        ring[t & (_RING - 1)] = 0
        n_log = _post_events(
            t, spk, nrule, rtab, luts, h_t, h_o1, h_o2, h_cm1, last_t, last_o1, ev_cnt, plog_n, plog_k,
            plog_o2, n_log, ring[t & (_RING - 1)],
        )  # fmt: skip
        for e in range(plog_ptr[t], n_log):
            neg_o1 += h_o1[plog_n[e], h_cm1[plog_n[e]]] < 0
        plog_ptr[t + 1] = n_log
        n_act = _compact(t, in_ptr, in_act, spk, NI, net.src_ptr, net.src_out, act, act_ptr)
        for d in range(R):
            slotb[d] = ((t + d) % R) * W2
        _deliver_static(t, net, rb, slotb, act, act_ptr, n_act, out.ovf, tmp)
        for e in range(n_act):  # plastic rows of the active sources, tp = t
            g = act[e]
            for r in range(prow_ptr[g], prow_ptr[g + 1]):
                k = row_rule[r]
                lt = row_t[r]
                lr1 = row_r1[r]
                dtp = t - lt
                nr1 = trace_add(lr1, _lut(luts, rtab[k, R_OFFP], rtab[k, R_SIZEP], rtab[k, R_SHP], dtp))
                nr2 = 0
                if rtab[k, R_TIMING] == 1 and lt != 0:
                    nr2 = trace2_decay(
                        row_r2[r], _lut(luts, rtab[k, R_OFFX], rtab[k, R_SIZEX], rtab[k, R_SHX], dtp)
                    )
                row_t[r] = t
                row_r1[r] = nr1
                row_r2[r] = nr2
                q0, q1 = syn_ptr[r], syn_ptr[r + 1]
                c0 = row_col0[r]
                if c0 >= 0:  # consecutive posts, one delay and type
                    dd = row_dd[r]
                    p0 = row_p0[r]
                    sh = row_sh[r]
                    flag = row_flag[r]
                    end = t - dd if t >= dd else 0
                    begin = lt - dd if lt >= dd else 0
                    no_win = end <= begin or plog_ptr[end + 1] == plog_ptr[begin + 1]
                    # at w_min with additive depressions that cannot raise a weight (A- >= 0, every
                    # o1 >= 0: mulaf(A-, do1) >= 0): the weights stay, without the table
                    stays = no_win and flag & F_FLOOR != 0 and sh <= 15 and floor_ok[k] and neg_o1 == 0
                    if not stays:
                        kept = tab_t[k] == t or (tab_dead[k] and tab_n[k] == n_log)
                        if tab_d[k] != dd or tab_s[k] != sh or not kept:
                            tab_dead[k] = _dep_table(
                                t, dd, sh, k, rtab, lutm[k], h_t, h_o1, h_cm1, last_t, last_o1, plog_n,
                                plog_ptr, tscr, (t_do1[k], t_lo[k], t_cc[k], t_bad[k]),
                            )  # fmt: skip
                            tab_t[k] = t
                            tab_d[k] = dd
                            tab_s[k] = sh
                            tab_n[k] = n_log
                        stays = (  # no window event and the identity: the weights stay (_dense_row's test)
                            flag & F_KNOWN != 0
                            and no_win
                            and _unchanged(rtab[k, R_WEIGHT], sh, flag, t_bad, k, p0, p0 + q1 - q0)
                        )
                    if not stays:
                        row_flag[r] = _dense_row(
                            t, k, lt, lr1, nr2, q0, q1 - q0, p0, dd, sh, flag, w, rtab, luts,
                            (t_do1[k], t_lo[k], t_cc[k], t_bad), plog_n, plog_ptr, plog_k, plog_o2, ev_cnt,
                            ring, acc, sub,
                        )  # fmt: skip
                    if dd != 0 and not row_flag[r] & F_ZERO:  # delay 0: never delivered (spec.stdp_row_delay)
                        base = slotb[dd] + c0
                        over = _add_weights(rb[base : base + q1 - q0], w[q0:q1])
                        if over and out.ovf[popn[p0], O_SAT] == 0:
                            out.ovf[popn[p0], O_SAT] = t + 1
                    continue
                n_slow = _row_fast(q0, q1, t, k, lt, nr2, w, pl, last_t, last_o1, h_cm1, slow)
                if n_slow:
                    for q in range(q0, q1):
                        if slow[q - q0]:
                            w[q] = _synapse(q, t, k, lt, lr1, nr2, w, pl, h_t, h_o1, h_o2, h_cm1)
                for q in range(q0, q1):
                    if ps_del[q] == 0:
                        continue  # never delivered (spec.stdp_row_delay)
                    n = ps_post[q]
                    a = slotb[ps_del[q]] + ps_type[q] * NL + n
                    y = rb[a] + w[q]
                    rb[a] = y
                    if y > SAT and out.ovf[popn[n], O_SAT] == 0:
                        out.ovf[popn[n], O_SAT] = t + 1
        if wts.record:
            for q in range(w.size):
                out_w[t, q] = w[q]


@njit(cache=True, nogil=True)
def _grown(a, n, size):
    """``a[:n]`` in a new array of ``size`` entries."""
    b = np.zeros(size, a.dtype)
    b[:n] = a[:n]
    return b


@njit(cache=True, nogil=True)
def _add_weights(dst, w):
    """``dst += w`` (one plastic row's new w16 into consecutive ring-buffer entries); returns how many
    entries exceed 0xFFFF."""
    over = 0
    for i in range(dst.size):
        dst[i] += w[i]
        over += dst[i] > SAT
    return over


@njit(cache=True, parallel=True)
def run_batch_stdp(inp, T, net, rec, out, pl, wts):
    """:func:`run_sample_stdp` over the batch (``out``, ``wts``: a leading batch axis)."""
    for b in prange(inp.shape[0]):
        run_sample_stdp(
            inp[b],
            T,
            net,
            rec,
            Outputs(out.u[b], out.v[b], out.s[b], out.ovf[b]),
            pl,
            Weights(wts.w[b], wts.traj[b], wts.record),
        )


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
        max_in: dict[str, int] = {}  # per post population: its largest incoming delay (every projection)
        for q in program.projections.values():
            if np.asarray(q.params["delays"]).size:
                max_in[q.post] = max(max_in.get(q.post, 0), int(np.max(q.params["delays"])))
        #: plastic synapses whose delay the binaries mask to 0 (never delivered): spec.stdp_row_delay
        self.n_dropped = 0
        for k, name in enumerate(self.stdp_names):
            proj = program.projections[name]
            p = proj.params
            c = stdp_constants(p["plasticity"], tick_ms, node=name)
            row = rtab[k]
            row[R_TIMING], row[R_WEIGHT] = TIMING_CODES[c.timing], WEIGHT_CODES[c.weight]
            row[R_WMIN], row[R_WMAX] = c.w_min, c.w_max
            row[R_A2P], row[R_A2M], row[R_A3P], row[R_A3M] = c.a2_plus, c.a2_minus, c.a3_plus, c.a3_minus
            for (co, cs, csh), lut, sh in (
                ((R_OFFP, R_SIZEP, R_SHP), c.lut_plus, c.shift_plus),
                ((R_OFFM, R_SIZEM, R_SHM), c.lut_minus, c.shift_minus),
                ((R_OFFX, R_SIZEX, R_SHX), c.lut_x, c.shift_x),
                ((R_OFFY, R_SIZEY, R_SHY), c.lut_y, c.shift_y),
            ):
                row[co], row[cs], row[csh] = off, lut.size, sh
                luts.append(lut)
                off += lut.size
            post_off = plan.neuron_slices[proj.post][0]
            npost = pops[proj.post].size
            nrule[post_off : post_off + npost] = k
            shifts = [int(s) for s in pops[proj.post].params["ring_buffer_shifts"]]
            ty = spec.SYNAPSE_TYPES.index(p["receptor"])
            pre = np.asarray(p["pre"], np.int64).reshape(-1)
            post = np.asarray(p["post"], np.int64).reshape(-1)
            d = np.asarray(p["delays"], np.int64).reshape(-1)
            w0 = np.asarray(p["w16"], np.int64).reshape(-1)
            gbase = (
                plan.in_slices[proj.pre][0]
                if proj.pre in plan.in_slices
                else plan.NI + plan.neuron_slices[proj.pre][0]
            )
            order = np.argsort(pre, kind="stable")
            counts = np.bincount(pre, minlength=pops[proj.pre].size)
            for j in np.nonzero(counts)[0]:
                rows_g.append(int(j) + gbase)
                rows_k.append(k)
                syn_counts.append(int(counts[j]))
            post_l.append(post[order] + post_off)
            atoms = min(npost, int(pops[proj.post].params.get("neurons_per_core", spec.NEURONS_PER_CORE)))
            d_row = spec.stdp_row_delay(d, max_in.get(proj.post, 1), atoms) if d.size else d
            self.n_dropped += int(np.count_nonzero(d_row == 0))
            del_l.append(d_row[order])
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
        flat_of_kernel = cat(order_l)[perm]  # program-order flat index (base + original i) per kernel slot
        inv = np.empty_like(flat_of_kernel)
        inv[flat_of_kernel] = np.arange(flat_of_kernel.size)
        self.where = {}
        for name in self.stdp_names:
            order, base = self.slices[name]
            self.where[name] = inv[base + np.arange(order.size)]
        self._extra: tuple[np.ndarray, np.ndarray] | None = None  # network()'s bound, memoized
        self.rtab = rtab
        self.luts = cat(luts)
        self.nrule = nrule
        self.row_col0 = np.full(self.row_rule.size, -1, np.int64)
        for r in range(self.row_rule.size):
            a, b = self.syn_ptr[r], self.syn_ptr[r + 1]
            posts = self.ps_post[a:b]
            if (
                b - a >= 8
                and np.all(np.diff(posts) == 1)
                and np.all(self.ps_del[a:b] == self.ps_del[a])
                and np.all(self.ps_type[a:b] == self.ps_type[a])
            ):
                self.row_col0[r] = self.ps_type[a] * plan.NL + posts[0]

    def plastic(self) -> Plastic:
        """The kernels' table of the STDP projections."""
        return Plastic(
            self.rtab,
            self.luts,
            self.nrule,
            self.prow_ptr,
            self.row_rule,
            self.syn_ptr,
            self.ps_post,
            self.ps_del,
            self.ps_type,
            self.ps_shift,
            self.row_col0,
        )

    def network(self):
        """:meth:`.engine.SpiNNakerPlan.network` with the plastic synapses counted in the ring's
        dtype bound (each can deliver up to 0xFFFF) and their source populations compacted."""
        plan = self.plan
        if self._extra is not None:
            return plan.network(extra_bound=self._extra[0], extra_out=self._extra[1])
        bound = np.bincount(self.ps_type * plan.NL + self.ps_post, minlength=2 * plan.NL).astype(
            np.float64
        ) * float(spec.W16_MAX)
        sizes = [plan.in_slices[n][1] for n in plan.in_names]
        sizes += [plan.neuron_slices[n][1] for n in plan.neuron_names]
        src_ptr = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        out = (self.prow_ptr[src_ptr[1:]] > self.prow_ptr[src_ptr[:-1]]).astype(np.uint8)
        self._extra = (bound, out)
        return plan.network(extra_bound=bound, extra_out=out)


def run_stdp_kernels(
    sp: StdpPlan,
    inp: np.ndarray,
    steps: int,
    rec: Recorded,
    out: Outputs,
    record_weights: bool,
    reference: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the batch (``out`` with a leading batch axis); returns ``(final w16 (batch, n_plastic),
    trajectory (batch, T, n_plastic) or a placeholder)``. ``reference``: the simple kernels of
    :mod:`.reference`."""
    from .reference import run_batch_stdp_reference, run_sample_stdp_reference

    batch = inp.shape[0]
    n_ps = sp.w0.size
    w = np.empty((batch, n_ps), np.int64)
    w[...] = sp.w0
    out_w = np.zeros((batch, steps if record_weights else 1, n_ps if record_weights else 1), np.int64)
    net, pl, record = sp.network(), sp.plastic(), bool(record_weights)
    one = run_sample_stdp_reference if reference else run_sample_stdp
    many = run_batch_stdp_reference if reference else run_batch_stdp
    if batch == 1:
        one(
            inp[0],
            steps,
            net,
            rec,
            Outputs(out.u[0], out.v[0], out.s[0], out.ovf[0]),
            pl,
            Weights(w[0], out_w[0], record),
        )
    elif batch > 1:
        many(inp, steps, net, rec, out, pl, Weights(w, out_w, record))
    return w, out_w


__all__ = [
    "O_SAT",
    "O_WRAP",
    "Plastic",
    "StdpPlan",
    "Weights",
    "run_batch_stdp",
    "run_sample_stdp",
    "run_stdp_kernels",
]
