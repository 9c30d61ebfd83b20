"""The integer arithmetic every SpiNNaker emulator kernel inlines: one copy, numba ``inline="always"``.

sPyNNaker 1!7.4.1 as compiled for the ARM968 (``docs/targets/spinnaker.md``, "Emulator
semantics"; ``docs/learning-spinnaker.md``, "Emulator arithmetic"): values are held in int64 and
wrapped to int32 / int16 where the C does; multiplies are the 64-bit product shifted right (floor),
never rounded. The host-side functions that run once at load time (s16.15 encoding, ``expk``,
``lif_init`` ...) are plain Python in ``targets/spinnaker/fixed.py``; the static kernel is in
``engine.py``, the STDP kernel in ``stdp.py``. Every constant comes from
``targets/spinnaker/spec.py``.

The helpers take and return scalars only: array arguments to inlined helpers made the kernels
several times slower (measured), so the kernels index their arrays and pass the values.

Numba caches a kernel by its own file only: after editing this module, delete the ``*.nbi`` /
``*.nbc`` files of ``engine.py`` and ``stdp.py`` in ``__pycache__`` (the inlined copies are stale).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from neurocompile.targets.spinnaker import spec

# per-neuron parameter table columns (``ntab``, int64), written by :func:`.engine.build_plan`
(
    N_VREST,
    N_R,
    N_EXPTC,
    N_IOFF,
    N_VRESET,
    N_VTH,
    N_TREF,
    N_KIND,
    N_DECE,
    N_DECI,
    N_INITE,
    N_INITI,
    N_SHE,
    N_SHI,
    N_DSCALE,
    N_POP,
) = range(16)
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
_ONE = spec.STDP_ONE
_W16 = spec.W16_MAX
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
def trace_add(last, decay):
    """STDP pair / Pfister ``r1``, ``o1`` after a spike: ``int16(mul16(last, LUT) + 1.0)`` (s4.11)."""
    return i16(mul16(last, decay) + _ONE)


@njit(inline="always")
def trace2_decay(last, decay):
    """Pfister ``r2``, ``o2`` at a spike: ``int16(mul16(last + 1.0, LUT))`` (s4.11)."""
    return i16(mul16(last + _ONE, decay))


@njit(inline="always")
def weight_in(w16, shift):
    """STDP ``weight_get_initial``: the stored uint16 weight as an s16.15 accum, ``w16 << shift``."""
    return w32(w16 << shift)


@njit(inline="always")
def weight_out(w, shift):
    """STDP ``weight_get_final``: ``uint16(w >> shift)`` (arithmetic shift, then the low 16 bits)."""
    return (w >> shift) & _W16


@njit(inline="always")
def potentiate(wk, w, a2, a3, w_max, dr1, o2):
    """One potentiation of weight ``w`` (s16.15) by the decayed pre trace ``dr1``: ``wk`` 0 additive
    ``min(w + mulaf(A2+, dr1), w_max)``; 1 multiplicative ``w + mulaf(mul_k(w_max - w, A2+), dr1)``;
    2 additive two-term (Pfister) ``min(w + mulaf(A2+, dr1) + mulaf(A3+, mul16(dr1, o2)), w_max)``."""
    if wk == 0:
        w = w32(w + mulaf(a2, dr1))
        if w > w_max:
            w = w_max
    elif wk == 1:
        w = w32(w + mulaf(mul_k(w32(w_max - w), a2), dr1))
    else:
        dr1o2 = mul16(dr1, o2)
        w = w32(w + mulaf(a2, dr1))
        w = w32(w + mulaf(a3, dr1o2))
        if w > w_max:
            w = w_max
    return w


@njit(inline="always")
def depress(wk, w, a2, a3, w_min, do1, r2):
    """One depression by the decayed post trace ``do1``, mirror of :func:`potentiate` (clamp at
    ``w_min``; multiplicative ``w - mulaf(mul_k(w - w_min, A2-), do1)``; Pfister with ``mul16(do1, r2)``)."""
    if wk == 0:
        w = w32(w - mulaf(a2, do1))
        if w < w_min:
            w = w_min
    elif wk == 1:
        w = w32(w - mulaf(mul_k(w32(w - w_min), a2), do1))
    else:
        do1r2 = mul16(do1, r2)
        w = w32(w - mulaf(a2, do1))
        w = w32(w - mulaf(a3, do1r2))
        if w < w_min:
            w = w_min
    return w


# ----------------------------------------------------------------------- ring buffer and neuron (scalars)
@njit(inline="always")
def sat_add(x, w16):
    """A 16-bit weight into a ring-buffer entry, saturating at 0xFFFF: ``(entry, saturated)``."""
    y = x + w16
    if y > SAT:
        return SAT, True
    return y, False


@njit(inline="always")
def neuron_step(
    v,
    refract,
    ie,
    ii,
    e16,
    i16_,
    exp,
    she,
    shi,
    inite,
    initi,
    ioff,
    dscale,
    r,
    vrest,
    exptc,
    vth,
    vreset,
    tref,
    dece,
    deci,
):
    """One tick of one neuron, on scalars: (a) the ring-buffer entries ``e16``/``i16_`` into the synapses
    (exp ``isyn += ((v16 << shift) * init) >> 32``, delta ``isyn += v16 << shift``); the recorded
    ``u = isyn_exc - isyn_inh`` (before the update); (b) ``I = exc - inh + I_offset`` (delta: each
    receptor times ``kdivk(1.0, ts)`` first), unless refractory the closed form ``alpha = I*R + V_rest;
    V = alpha - exp_TC*(alpha - V)``, else the timer counts down; ``V >= V_thresh`` spikes (also while
    refractory), resets V and starts the timer; exp synapses decay ``(isyn * decay) >> 32``, delta
    synapses clear. Returns ``(v, refract, ie, ii, u, spiked, wrapped)``; ``wrapped``: an int32 wrapped."""
    wrapped = False
    if e16 != 0:
        x = w32(e16 << she)
        if exp:
            x = (x * inite) >> _U032
        y = ie + x
        ie = w32(y)
        wrapped = y != ie
    if i16_ != 0:
        x = w32(i16_ << shi)
        if exp:
            x = (x * initi) >> _U032
        y = ii + x
        ii = w32(y)
        wrapped = wrapped or y != ii
    u = w32(ie - ii)
    if exp:
        y = ie - ii + ioff
    else:
        y = w32((ie * dscale) >> _S1615) - w32((ii * dscale) >> _S1615) + ioff
    cur = w32(y)
    wrapped = wrapped or y != cur
    if refract <= 0:
        a = ((cur * r) >> _S1615) + vrest
        alpha = w32(a)
        wrapped = wrapped or a != alpha
        dlt = alpha - v
        dl = w32(dlt)
        wrapped = wrapped or dlt != dl
        vn = alpha - ((exptc * dl) >> _S1615)
        v = w32(vn)
        wrapped = wrapped or vn != v
    else:
        refract -= 1
    spiked = v >= vth
    if spiked:
        v = vreset
        refract = tref
    if exp:
        ie = (ie * dece) >> _U032
        ii = (ii * deci) >> _U032
    else:
        ie = 0
        ii = 0
    return v, refract, ie, ii, u, spiked, wrapped


class State(NamedTuple):
    """What the neurons carry from tick to tick (one sample): the kernels update it in place around
    :func:`neuron_step`."""

    V: np.ndarray  # (NL,) membrane potential, s16.15
    refract: np.ndarray  # (NL,) refractory ticks left
    ie: np.ndarray  # (NL,) excitatory synaptic current, s16.15
    ii: np.ndarray  # (NL,) inhibitory synaptic current, s16.15
    rb: np.ndarray  # (R, 2, NL) ring buffer of summed w16 per delay slot and synapse type


@njit(inline="always")
def new_state(v0, R):
    """The state at tick 0: ``V = v0``, everything else 0."""
    NL = v0.size
    return State(
        v0.copy(),
        np.zeros(NL, np.int64),
        np.zeros(NL, np.int64),
        np.zeros(NL, np.int64),
        np.zeros((R, 2, NL), np.int64),
    )


@njit(inline="always")
def positions(rec, size):
    """Column of each neuron in a recording (``-1``: not recorded), from the recorded indices."""
    pos = np.full(size, -1, np.int64)
    for j in range(rec.size):
        pos[rec[j]] = j
    return pos
