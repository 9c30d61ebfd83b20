"""The integer arithmetic every SpiNNaker emulator kernel inlines: one copy, numba ``inline="always"``.

sPyNNaker 1!7.4.1 as compiled for the ARM968 (``docs/targets/spinnaker.md``, "Emulator
semantics"; ``docs/learning-spinnaker.md``, "Emulator arithmetic"): values are held in int64 and
wrapped to int32 / int16 where the C does; multiplies are the 64-bit product shifted right (floor),
never rounded. The host-side functions that run once at load time (s16.15 encoding, ``expk``,
``lif_init`` ...) are plain Python in ``targets/spinnaker/fixed.py``; the static kernel is in
``engine.py``, the STDP kernel in ``stdp.py``. Every constant comes from
``targets/spinnaker/spec.py``.

Numba caches a kernel by its own file only: after editing this module, delete the ``*.nbi`` /
``*.nbc`` files of ``engine.py`` and ``stdp.py`` in ``__pycache__`` (the inlined copies are stale).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurocompile.targets.spinnaker import spec

# per-neuron parameter table columns (``ntab``, int64), written by :func:`.engine.build_plan`
(N_VREST, N_R, N_EXPTC, N_IOFF, N_VRESET, N_VTH, N_TREF, N_KIND, N_DECE, N_DECI, N_INITE, N_INITI,
 N_SHE, N_SHI, N_DSCALE, N_POP) = range(16)
N_COLS = 16
#: ``ntab[:, N_KIND]``: IF_curr_exp / IF_curr_delta
KIND_EXP, KIND_DELTA = 0, 1
#: ovf columns: first tick (+1) of an int32 wrap, first tick (+1) of a ring-buffer saturation
O_WRAP, O_SAT = 0, 1

_TWO31 = -spec.INT32_MIN
_MASK32 = spec.INT32_MAX - spec.INT32_MIN
_TWO15 = -spec.INT16_MIN
_MASK16 = spec.INT16_MAX - spec.INT16_MIN
_S1615 = spec.S1615_FRAC_BITS
_U032 = spec.U032_FRAC_BITS
_FP = spec.STDP_FIXED_POINT
_S2S = spec.S1615_TO_STDP_SHIFT
SAT = spec.RING_BUFFER_SATURATION
_EXC = spec.EXCITATORY


# ----------------------------------------------------------------------- wraps and multiplies
@njit(inline="always")
def w32(x):
    """Two's-complement wrap to int32."""
    return ((x + _TWO31) & _MASK32) - _TWO31


@njit(inline="always")
def i16(x):
    """Two's-complement wrap to int16."""
    return ((x + _TWO15) & _MASK16) - _TWO15


@njit(inline="always")
def mul_k(a, b):
    """``accum * accum``: ``(a * b) >> 15`` (floor), wrapped to int32."""
    return w32((a * b) >> _S1615)


@njit(inline="always")
def mul16(a, b):
    """STDP ``__smulbb`` product of two s4.11 traces: ``(int16(a) * int16(b)) >> 11``."""
    return (i16(a) * i16(b)) >> _FP


@njit(inline="always")
def mulaf(a, x):
    """STDP ``mul_accum_fixed``: s16.15 ``a`` times s4.11 ``x`` (``x << 4`` as an accum)."""
    return w32((a * w32(x << _S2S)) >> _S1615)


@njit(inline="always")
def flag(ovf, pk, col, t):
    """Remember the first tick (+1) population ``pk`` hit ``col`` (:data:`O_WRAP` / :data:`O_SAT`)."""
    if ovf[pk, col] == 0:
        ovf[pk, col] = t + 1


# ----------------------------------------------------------------------- ring buffer
@njit(inline="always")
def ring_add(rb, slot, ty, post, w16):
    """A spike's 16-bit weight into ``rb[slot, ty, post]``, saturating at 0xFFFF; True if it saturated."""
    x = rb[slot, ty, post] + w16
    if x > SAT:
        rb[slot, ty, post] = SAT
        return True
    rb[slot, ty, post] = x
    return False


@njit(inline="always")
def ring_to_synapses(rb, slot, n, ntab, ie, ii):
    """(a) drain slot ``slot`` of neuron ``n`` into its synapses: exp ``isyn += ((v16 << shift) * init)
    >> 32``, delta ``isyn += v16 << shift``. True if an int32 wrapped."""
    wrapped = False
    exp = ntab[n, N_KIND] == KIND_EXP
    for s in range(2):
        v16 = rb[slot, s, n]
        if v16 != 0:
            rb[slot, s, n] = 0
            exc = s == _EXC
            x = w32(v16 << (ntab[n, N_SHE] if exc else ntab[n, N_SHI]))
            if exp:
                x = (x * (ntab[n, N_INITE] if exc else ntab[n, N_INITI])) >> _U032
            if exc:
                y = ie[n] + x
                ie[n] = w32(y)
            else:
                y = ii[n] + x
                ii[n] = w32(y)
            wrapped = wrapped or y != w32(y)
    return wrapped


# ----------------------------------------------------------------------- neuron
@njit(inline="always")
def lif_update(n, ntab, V, refract, ie, ii):
    """(b) IF_curr_exp / IF_curr_delta update of neuron ``n``: ``I = exc - inh + I_offset`` (delta:
    each receptor times ``kdivk(1.0, ts)`` first); unless refractory the closed form ``alpha = I*R +
    V_rest; V = alpha - exp_TC*(alpha - V)``, else the timer counts down; then ``V >= V_thresh``
    spikes (also while refractory), resets V and starts the timer. Returns ``(spiked, wrapped)``."""
    if ntab[n, N_KIND] == KIND_EXP:
        y = ie[n] - ii[n] + ntab[n, N_IOFF]
    else:
        sc = ntab[n, N_DSCALE]
        y = w32((ie[n] * sc) >> _S1615) - w32((ii[n] * sc) >> _S1615) + ntab[n, N_IOFF]
    cur = w32(y)
    wrapped = y != cur
    if refract[n] <= 0:
        a = ((cur * ntab[n, N_R]) >> _S1615) + ntab[n, N_VREST]
        alpha = w32(a)
        wrapped = wrapped or a != alpha
        dlt = alpha - V[n]
        dl = w32(dlt)
        wrapped = wrapped or dlt != dl
        vn = alpha - ((ntab[n, N_EXPTC] * dl) >> _S1615)
        V[n] = w32(vn)
        wrapped = wrapped or vn != V[n]
    else:
        refract[n] -= 1
    if V[n] >= ntab[n, N_VTH]:
        V[n] = ntab[n, N_VRESET]
        refract[n] = ntab[n, N_TREF]
        return True, wrapped
    return False, wrapped


@njit(inline="always")
def synapse_decay(n, ntab, ie, ii):
    """End of the tick: exp synapses ``isyn = (isyn * decay) >> 32``, delta synapses cleared."""
    if ntab[n, N_KIND] == KIND_EXP:
        ie[n] = (ie[n] * ntab[n, N_DECE]) >> _U032
        ii[n] = (ii[n] * ntab[n, N_DECI]) >> _U032
    else:
        ie[n] = 0
        ii[n] = 0


@njit(inline="always")
def neuron_tick(n, t, slot, ntab, V, refract, ie, ii, rb, ovf, pos_u, pos_v, pos_s, out_u, out_v, out_s):
    """One tick of neuron ``n``: (a) ring buffer -> synapses, record V and ``isyn_exc - isyn_inh``
    (before the update, as sPyNNaker records them), (b) :func:`lif_update`, record the spike, decay
    the synapses. Wraps are flagged in ``ovf``. Returns 1 if the neuron spiked, else 0."""
    pk = ntab[n, N_POP]
    if ring_to_synapses(rb, slot, n, ntab, ie, ii):
        flag(ovf, pk, O_WRAP, t)
    if pos_v[n] >= 0:
        out_v[t, pos_v[n]] = V[n]
    if pos_u[n] >= 0:
        out_u[t, pos_u[n]] = w32(ie[n] - ii[n])
    spiked, wrapped = lif_update(n, ntab, V, refract, ie, ii)
    if wrapped:
        flag(ovf, pk, O_WRAP, t)
    s = 1 if spiked else 0
    if pos_s[n] >= 0:
        out_s[t, pos_s[n]] = s
    synapse_decay(n, ntab, ie, ii)
    return s


@njit(inline="always")
def positions(rec, size):
    """Column of each neuron in a recording (``-1``: not recorded), from the recorded indices."""
    pos = np.full(size, -1, np.int64)
    for j in range(rec.size):
        pos[rec[j]] = j
    return pos
