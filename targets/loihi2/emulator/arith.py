"""The Loihi 2 emulator's integer arithmetic, written once (Lava 0.10.0 ``fixed_pt``).

Every kernel, the per-step reference loop and the fused learning kernel call these helpers
(``@njit(inline="always")``: numba inlines them, so they cost nothing). Every width and limit
comes from ``targets/loihi2/spec.py``; no kernel writes a literal 4096, 2**23 or 127.

* int32 wrap: :func:`wrap32` (scalar, in kernels) and :func:`wrap32_array` (numpy);
* the LIF neuron (``PyLifModelBitAcc``): :func:`decay` (round toward zero), :func:`decay_factor_u`
  / :func:`decay_factor_v` (``4096 - (d + offset)``), :func:`lif_uv` (one step of u and v,
  with the overflow flags the fast engine reports), :func:`lif_uv_array` (the same, over arrays;
  :func:`lif_uv_flags_array` with the flags);
* ``lif_3f``'s post traces: :func:`y_trace`; the weight exponent: :func:`shift_exp`;
* the learning engine (``PyLearningDenseModelBitApproximate``): trace decay and impulses
  (:func:`trace_decay`, :func:`trace_impulse`; :func:`trace_impulse_sat` says whether it clipped),
  factor and accumulator clips
  (:func:`clip_factor`, :func:`accumulate`), the end of a product (:func:`finish_product`),
  stochastic rounding (:func:`round_threshold`, :func:`stochastic_round`) and the write-back
  bounds per target and sign mode (:func:`target_bounds`, :func:`write_back`; :func:`write_back_sat`
  and :func:`saturated` say whether saturation changed the value, for the run's warnings).

Importing this module (every kernel does) sets ``OMP_WAIT_POLICY=passive`` unless the environment
already sets it: the parallel kernels' OpenMP threads (numba's ``omp`` layer, libgomp, which reads the
variable when numba first starts its threads) then sleep between parallel regions instead of spinning.
A spinning worker made a 2-thread e-prop run on a 2-core machine whose other core was busy many times
slower than one thread; passive, it ran as fast as one thread (docs/learning.md).

Numba caches a kernel by its own file's timestamp: after editing this module delete
``targets/loihi2/emulator/__pycache__/*.nb?``.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

from neurocompile.targets.loihi2 import spec

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

# ----------------------------------------------------------------------- int32
_TWO31 = -spec.INT32_MIN
_MASK32 = spec.INT32_MAX - spec.INT32_MIN

# ----------------------------------------------------------------------- LIF
DECAY_SHIFT = spec.DECAY_SHIFT
DECAY_UNITY = spec.DECAY_UNITY
ACT_SHIFT = spec.ACT_SHIFT
UV_WRAP_LIMIT = spec.UV_WRAP_LIMIT
V_MAX = spec.V_MAX
Y_DECAY_BITS = spec.Y_DECAY_BITS

# ----------------------------------------------------------------------- learning
TRACE_MAX = spec.TRACE_MAX
ACC_MIN = spec.ACCUMULATOR_MIN
ACC_MAX = spec.ACCUMULATOR_MAX
SYN_VAR_SHIFT = spec.SYN_VAR_SHIFT  # accumulator = Z << 7
ROUND_MASK = (1 << SYN_VAR_SHIFT) - 1  # the 7 bits stochastic rounding looks at
ROUND_SCALE = float(1 << SYN_VAR_SHIFT)
SIGN_MIXED = spec.SIGN_MODE_MIXED
SIGN_EXCITATORY = spec.SIGN_MODE_EXCITATORY
W_MIXED_LO, W_MIXED_HI = spec.WEIGHT_RANGE[spec.SIGN_MODE_MIXED]
W_EXC_LO, W_EXC_HI = spec.WEIGHT_RANGE[spec.SIGN_MODE_EXCITATORY]
W_INH_LO, W_INH_HI = spec.WEIGHT_RANGE[spec.SIGN_MODE_INHIBITORY]
TAG2_LO, TAG2_HI = spec.TAG_2_RANGE
TAG1_LO, TAG1_HI = spec.TAG_1_RANGE
#: "no sign clamp" bound: beyond any accumulator value (tag_1 = -257 lies below ACC_MIN and
#: must stay where Lava leaves it)
UNBOUNDED = 2**40


@njit(inline="always")
def wrap32(x):
    """Two's complement int32 wrap of an int64 value."""
    return ((x + _TWO31) & _MASK32) - _TWO31


def wrap32_array(x: np.ndarray) -> np.ndarray:
    """:func:`wrap32` over a numpy int64 array."""
    return ((x + _TWO31) & _MASK32) - _TWO31


@njit(inline="always")
def shift_exp(x, e):
    """``x * 2**e``: a left shift for e > 0, a floor shift for e <= 0 (weight_exp on a sum)."""
    return (x << e) if e > 0 else (x >> (-e))


# ----------------------------------------------------------------------- LIF neuron
def decay_factor_u(du: int) -> int:
    """The multiplier of u's decay: ``4096 - (du + ds_offset)``."""
    return DECAY_UNITY - (int(du) + spec.DS_OFFSET)


def decay_factor_v(dv: int) -> int:
    """The multiplier of v's decay: ``4096 - (dv + dm_offset)``."""
    return DECAY_UNITY - (int(dv) + spec.DM_OFFSET)


@njit(inline="always")
def decay(x, factor, shift):
    """sign(x * factor) * (|x * factor| >> shift): Lava's round-toward-zero decay (branch-free
    select, so loops over it vectorize)."""
    p = x * factor
    q = np.abs(p) >> shift
    return q if p >= 0 else -q


@njit(inline="always")
def lif_uv(u, v, a, fu, fv, bias):
    """One LIF step: ``a`` the int32 synaptic input, ``fu``/``fv`` the decay factors.

    u <- wrap24(wrap32(decay(u) + wrap32(a << 6))) (single-shot wrap by 2**24), then
    v <- sat(wrap32(decay(v) + u + bias)). Returns (u, v, u_bad, v_bad): u_bad when an int32
    intermediate wrapped or u left its 24-bit range, v_bad when v saturated."""
    du = decay(u, fu, DECAY_SHIFT)
    x = wrap32(du + wrap32(a << ACT_SHIFT))
    hi = x > UV_WRAP_LIMIT
    lo = x <= -UV_WRAP_LIMIT
    u_bad = (x != du + a * (1 << ACT_SHIFT)) | hi | lo
    x = x - 2 * UV_WRAP_LIMIT if hi else (x + 2 * UV_WRAP_LIMIT if lo else x)
    y = wrap32(decay(v, fv, DECAY_SHIFT) + x + bias)
    v_bad = (y > V_MAX) | (y < -V_MAX)
    y = min(max(y, -V_MAX), V_MAX)
    return x, y, u_bad, v_bad


@njit(cache=True)
def lif_uv_array(u, v, a, fu, fv, bias):
    """:func:`lif_uv` over arrays (``a`` already int32-wrapped): the new (u, v)."""
    n = u.shape[0]
    x = np.empty(n, np.int64)
    y = np.empty(n, np.int64)
    for i in range(n):
        x[i], y[i], _, _ = lif_uv(u[i], v[i], a[i], fu, fv, bias[i])
    return x, y


@njit(cache=True)
def lif_uv_flags_array(u, v, a, fu, fv, bias):
    """:func:`lif_uv_array` plus whether any neuron's u wrapped / v saturated this step."""
    n = u.shape[0]
    x = np.empty(n, np.int64)
    y = np.empty(n, np.int64)
    ub = False
    vb = False
    for i in range(n):
        x[i], y[i], b1, b2 = lif_uv(u[i], v[i], a[i], fu, fv, bias[i])
        ub |= b1
        vb |= b2
    return x, y, ub, vb


@njit(inline="always")
def y_trace(y, decay_, impulse, spike):
    """``lif_3f`` post trace y1/y3: ``min(((y * decay) >> 12) + impulse * s, 127)``."""
    return min(((y * decay_) >> Y_DECAY_BITS) + impulse * spike, TRACE_MAX)


@njit(inline="always")
def dither(step, i, bits):
    """``signals.dither`` for one neuron: the top ``bits`` of a 32-bit hash of (step, index)."""
    h = (step * 0x9E3779B1 + i * 0x85EBCA77) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x7FEB352D) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x846CA68B) & 0xFFFFFFFF
    h ^= h >> 16
    return h >> (32 - bits)


# ----------------------------------------------------------------------- learning engine
@njit(inline="always")
def clip(x, lo, hi):
    return min(max(x, lo), hi)


@njit(inline="always")
def trace_impulse(v, imp_int, imp_frac, r):
    """A trace after an impulse: integer part plus a stochastic 1 (``r < frac``), in [0, 127]."""
    return min(max(v + imp_int + (1 if r < imp_frac else 0), 0), TRACE_MAX)


@njit(inline="always")
def trace_impulse_sat(v, imp_int, imp_frac, r):
    """:func:`trace_impulse` and whether the clip to [0, 127] changed it (the trace saturated)."""
    x = v + imp_int + (1 if r < imp_frac else 0)
    return min(max(x, 0), TRACE_MAX), (x > TRACE_MAX) | (x < 0)


@njit(inline="always")
def trace_decay(h, fac, r):
    """One step of stochastic trace decay: ``floor(fac * h) + (r < frac(fac * h))``."""
    p = fac * np.float64(h)
    fl = np.floor(p)
    return np.int64(fl) + (1 if r < p - fl else 0)


@njit(inline="always")
def clip_factor(val, width):
    """A product factor clipped to its signed width: [-2**w, 2**w - 1]."""
    return min(max(val, -(1 << width)), (1 << width) - 1)


@njit(inline="always")
def accumulate(a, m):
    """Accumulator plus one product, clipped to [-2**15 - 1, 2**15 - 1]."""
    return min(max(a + m, ACC_MIN), ACC_MAX)


@njit(inline="always")
def finish_product(m, mant, shift, exp):
    """The end of a product (its factors already multiplied into ``m``, wrapping): times the
    mantissa, the pre-shift, ``<< (exp + 7)``, each int32, clipped to the accumulator range."""
    m = wrap32(m * mant) >> shift
    m = wrap32(m << (exp + SYN_VAR_SHIFT))
    return min(max(m, ACC_MIN), ACC_MAX)


def round_threshold(rw: float) -> int:
    """The epoch's W draw as an integer threshold: ``rw < f / 128`` iff ``f > floor(128 rw)``."""
    return int(np.floor(rw * ROUND_SCALE))


@njit(inline="always")
def round_threshold_jit(rw):
    """:func:`round_threshold` inside kernels."""
    return np.int64(np.floor(rw * ROUND_SCALE))


@njit(inline="always")
def stochastic_round(a, thr):
    """``(a >> 7) + (1 if rw < (a & 127) / 128)`` with ``thr`` from :func:`round_threshold`."""
    return (a >> SYN_VAR_SHIFT) + (1 if (a & ROUND_MASK) > thr else 0)


@njit(inline="always")
def target_bounds(z, sign_mode):
    """(plo, phi, lo, hi) of target z (0 weights, 1 tag_2, 2 tag_1): the sign clamp applied to
    the accumulator before rounding, then the final range."""
    if z == 0:
        if sign_mode == SIGN_MIXED:
            return -UNBOUNDED, UNBOUNDED, W_MIXED_LO, W_MIXED_HI
        if sign_mode == SIGN_EXCITATORY:
            return 0, UNBOUNDED, W_EXC_LO, W_EXC_HI
        return -UNBOUNDED, 0, W_INH_LO, W_INH_HI
    if z == 1:
        return 0, UNBOUNDED, TAG2_LO, TAG2_HI
    return -UNBOUNDED, UNBOUNDED, TAG1_LO, TAG1_HI


@njit(inline="always")
def write_back(a, thr, plo, phi, lo, hi):
    """The new value of a synaptic variable from its accumulator."""
    r = stochastic_round(min(max(a, plo), phi), thr)
    return min(max(r, lo), hi)


@njit(inline="always")
def write_back_sat(a, raw, thr, plo, phi, lo, hi):
    """:func:`write_back` and whether saturation changed the value: ``a`` is the accumulator after
    its clips (each product and each partial sum to the 16-bit range), ``raw`` the same sum of the
    (clipped) products without the accumulator's clips. Saturated: the clipped chain and the sign
    clamp end away from ``raw``, or the final range clip moves the rounded value."""
    c = min(max(a, plo), phi)
    r = stochastic_round(c, thr)
    w = min(max(r, lo), hi)
    return w, (c != raw) | (w != r)


@njit(inline="always")
def saturated(c, raw, r, lo, hi):
    """Whether a write-back saturated: ``c`` the clipped and sign-clamped accumulator, ``raw`` its
    unclipped sum, ``r`` the rounded value before the final clip to [lo, hi]."""
    return (c != raw) | (r < lo) | (r > hi)
