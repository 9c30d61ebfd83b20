"""sPyNNaker 1!7.4.1's on-chip fixed-point functions, in exact Python integer arithmetic.

Our own implementation of the algorithm described in ``docs/reference/spinnaker.md`` §2.1, §2.2 and
§2.8 (spinn_common 7.4.1 ``stdfix-exp.c``, ``utils.h``; sPyNNaker ``maths-util.h``, ``decay.h``,
``neuron_model_lif_impl.h``, ``exp_synapse_utils.h``, ``input_type_delta.h``), as compiled for
ARMv5TE with GCC ``-Ofast`` and confirmed by disassembly of the 7.4.1 binaries:

* ``accum`` (REAL) is s16.15 in an int32; ``accum * accum`` is the 64-bit product shifted right
  by 15 (floor), wrapped to int32, never saturated or rounded (7.4.1 does NOT round; later
  upstream versions do);
* ``decay_t`` is u0.32; ``decay_s1615(x, d) = (x * d) >> 32`` (floor);
* ``kdivk``/``kdivui`` are unsigned 64-bit divisions (operands must be positive);
* ``expk``/``expulr`` evaluate exp with a table of e^n at integers, a 16-entry table of
  e^(-k/16) - 1 and a short polynomial, with ``round64``/``scale64`` from ``utils.h``.

These functions run once per population at load time (the on-chip neuron builder), so plain
Python integers are fine; the per-tick arithmetic lives in the numba emulator profile.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from . import spec

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1

#: e^n * 2^32 for n = -13..12, rounded (``__exp_hi`` of stdfix-exp.c); index 13 is e^0.
EXP_HI = (
    9708,
    26389,
    71733,
    194991,
    530041,
    1440801,
    3916503,
    10646160,
    28939262,
    78665070,
    213833830,
    581260615,
    1580030169,
    4294967296,
    11674931555,
    31735754293,
    86266724208,
    234497268814,
    637429664642,
    1732713474316,
    4710003551159,
    12803117065094,
    34802480465680,
    94602950235157,
    257157480542844,
    699026506411923,
)
#: (1 - e^(-k/16)) * 2^32 for k = 0..15 (``__expm1_mid``).
EXPM1_MID = (
    0,
    260218914,
    504671961,
    734314346,
    950043403,
    1152702096,
    1343082321,
    1521927990,
    1689937949,
    1847768698,
    1996036966,
    2135322113,
    2266168400,
    2389087112,
    2504558555,
    2613033936,
)
#: coefficients of the small-argument series (u0.32).
EXP_SERIES = (5294, 4293434720, 2081624032)
#: argument range of expk / expulr (s16.15): above it the result saturates, below it is 0.
EXP_ARG_MAX = 363408
EXP_ARG_MIN = -340695


# ----------------------------------------------------------------------- encodings
def s1615(x: Any) -> int:
    """Host encoding of a float as S1615 (``DataType.S1615.encode_as_int``): round-half-even of the
    *decimal string* of the value times 2^15. Values outside s16.15 raise ``OverflowError``. An
    array (one value per neuron) gives :func:`s1615_array`."""
    if np.ndim(x) > 0:
        return s1615_array(x)  # type: ignore[return-value]
    v = int(round(Decimal(str(float(x))) * spec.S1615_ONE))
    if not spec.INT32_MIN <= v <= spec.INT32_MAX:
        raise OverflowError(f"{x!r} does not fit s16.15")
    return v


def s1615_array(x: Any) -> np.ndarray:
    """:func:`s1615` element-wise (int64 array of the same shape)."""
    arr = np.asarray(x, dtype=np.float64)
    flat = arr.reshape(-1)
    uniq, inv = np.unique(flat, return_inverse=True)
    enc = np.array([s1615(u) for u in uniq], np.int64)
    return enc[inv].reshape(arr.shape) if flat.size else np.zeros(arr.shape, np.int64)


def to_float(k: Any) -> Any:
    """s16.15 integer(s) to float mV/nA/ms."""
    return np.asarray(k, dtype=np.float64) / spec.S1615_ONE if np.ndim(k) else int(k) / spec.S1615_ONE


def wrap32(x: int) -> int:
    """Two's-complement wrap of a Python int to int32."""
    x &= M32
    return x - (1 << 32) if x & 0x80000000 else x


# ----------------------------------------------------------------------- arithmetic (§2.1)
def mul_k(a: int, b: int) -> int:
    """``accum * accum``: floor of the 64-bit product >> 15, wrapped to int32."""
    return wrap32((a * b) >> spec.S1615_FRAC_BITS)


def decay_s1615(x: int, d: int) -> int:
    """``decay_s1615``: s16.15 times u0.32, floor of the product >> 32."""
    return wrap32((x * d) >> 32)


def kdivk(a: int, b: int) -> int:
    """``kdivk``: s16.15 / s16.15 as an unsigned 64-bit division of ``a << 15`` by ``b``."""
    return wrap32(((a << spec.S1615_FRAC_BITS) & M64) // (b & M64))


def kdivui(a: int, n: int) -> int:
    """``kdivui``: s16.15 / unsigned integer (unsigned 64-bit division)."""
    return wrap32((a & M64) // n)


def _round64(x: int) -> int:
    return (x >> 32) + (1 if (x & M32) >= 0x7FFFFFFF else 0)


def _scale64(x: int, y: int) -> int:
    # 64-bit x times 32-bit y, keeping the top 64 bits of the 96-bit product (utils.h scale64)
    return (_round64((x & M32) * y) + (x >> 32) * y) & M64


def _mul_u032(c: int, x: int) -> int:
    return ((c * x) >> 32) & M32


def _series(x: int) -> int:
    c0, c1, c2 = EXP_SERIES
    return (_mul_u032((c1 - _mul_u032(c2, x)) & M32, x) + c0) & M32


def _exp_i64(n: int) -> int:
    """e^(n / 2^15) as a 64-bit u32.32 value: table at the integer above, then two multiplicative
    corrections (a 1/16 step from EXPM1_MID and the series for the rest)."""
    z = n >> spec.S1615_FRAC_BITS
    f = n - (z << spec.S1615_FRAC_BITS)
    if f <= 0:
        return EXP_HI[13 + z]
    z += 1
    f = spec.S1615_ONE - f  # distance down from the next integer, 1..32767
    t = EXP_HI[13 + z]
    t = (t - _scale64(t, EXPM1_MID[f >> 11])) & M64
    t = (t - _scale64(t, _series(((f & 0x7FF) << 17) & M32))) & M64
    return t


def expk(n: int) -> int:
    """``expk``: e^x for s16.15 x, result s16.15 (saturated above, 0 below the range)."""
    if n > EXP_ARG_MAX:
        return spec.INT32_MAX
    if n < EXP_ARG_MIN:
        return 0
    return wrap32(_exp_i64(n) >> 17)


def expulr(n: int) -> int:
    """``expulr``: e^x for s16.15 x <= 0, result u0.32 (the low 32 bits of the u32.32 value)."""
    if n > EXP_ARG_MAX:
        return spec.INT32_MAX
    if n < EXP_ARG_MIN:
        return 0
    return _exp_i64(n) & M32


def ceil_accum(k: int) -> int:
    """``lif_ceil_accum``: smallest integer >= a non-negative s16.15 value."""
    return (k >> spec.S1615_FRAC_BITS) + (1 if k & (spec.S1615_ONE - 1) else 0)


# ----------------------------------------------------------------------- on-chip initialisation (§2.2)
def time_step(dt_ms: float, n_steps: int = spec.N_STEPS_PER_TIMESTEP) -> int:
    """``ts = kdivui(s1615(dt), n_steps)``."""
    return kdivui(s1615(dt_ms), int(n_steps))


def _per_neuron(fn, scalars: dict[str, Any]) -> dict[str, Any] | None:
    """``fn(**scalars)`` once per distinct combination of the arguments given per neuron (arrays),
    assembled into per-neuron int64 arrays; None when every argument is a scalar. sPyNNaker derives
    each neuron's constants from that neuron's own parameters the same way."""
    varying = [k for k, v in scalars.items() if np.ndim(v) > 0]
    if not varying:
        return None
    n = max(int(np.size(scalars[k])) for k in varying)
    cols = np.stack(
        [np.broadcast_to(np.asarray(scalars[k], np.float64).reshape(-1), (n,)) for k in varying], 1
    )
    uniq, inv = np.unique(cols, axis=0, return_inverse=True)
    parts = [fn(**{**scalars, **{k: float(x) for k, x in zip(varying, row)}}) for row in uniq]
    return {k: np.array([int(p[k]) for p in parts], np.int64)[inv.reshape(-1)] for k in parts[0]}


def lif_init(
    *,
    v_init: float,
    v_rest: float,
    cm: float,
    tau_m: float,
    i_offset: float,
    v_reset: float,
    tau_refrac: float,
    dt_ms: float,
    n_steps: int = spec.N_STEPS_PER_TIMESTEP,
) -> dict[str, int]:
    """What the neuron builder writes into a LIF neuron (``neuron_model_lif_impl.h`` init):
    ``V, V_rest, R = tau_m / cm, exp_TC = expk(-ts / tau_m), I_offset, V_reset, T_refract =
    ceil(tau_refrac / ts)`` and a zero refractory timer. Parameters given per neuron (arrays) give
    per-neuron int64 arrays, each element what the scalars of that neuron give."""
    args = dict(v_init=v_init, v_rest=v_rest, cm=cm, tau_m=tau_m, i_offset=i_offset, v_reset=v_reset)
    per = _per_neuron(
        lambda **a: lif_init(**a, dt_ms=dt_ms, n_steps=n_steps), {**args, "tau_refrac": tau_refrac}
    )
    if per is not None:
        return per
    ts = time_step(dt_ms, n_steps)
    tr = kdivk(s1615(tau_refrac), ts)
    return {
        "V": s1615(v_init),
        "V_rest": s1615(v_rest),
        "R": kdivk(s1615(tau_m), s1615(cm)),
        "exp_TC": expk(-kdivk(ts, s1615(tau_m))),
        "I_offset": s1615(i_offset),
        "V_reset": s1615(v_reset),
        "T_refract": ceil_accum(tr),
        "refract": 0,
    }


def exp_syn_init(tau_syn: float, dt_ms: float, n_steps: int = spec.N_STEPS_PER_TIMESTEP) -> dict[str, int]:
    """Exponential synapse init (``exp_synapse_utils.h``): ``decay = expulr(-ts / tau)`` (u0.32) and
    ``init = (tau / ts) * (1.0ulr - decay)`` (u0.32; 1.0ulr saturates to 0xFFFFFFFF). An array
    of ``tau_syn`` (one per neuron) gives per-neuron arrays."""
    per = _per_neuron(lambda tau_syn: exp_syn_init(tau_syn, dt_ms, n_steps), {"tau_syn": tau_syn})
    if per is not None:
        return per
    ts = time_step(dt_ms, n_steps)
    t = s1615(tau_syn)
    d = expulr(-kdivk(ts, t))
    return {"decay": d, "init": syn_init_factor(kdivk(t, ts), d), "isyn": 0}


def syn_init_factor(tau_over_ts: int, decay: int) -> int:
    """``decay_s1615_to_u032(tau_over_ts, 1.0ulr - decay)``: the s16.15 ``tau / ts`` (sign-extended to
    64 bits) times the u0.32 ``0xFFFFFFFF - decay``, ``>> 15``, low 32 bits (u0.32)."""
    return (((tau_over_ts & M64) * (spec.U032_ONE_SAT - decay)) >> spec.S1615_FRAC_BITS) & M32


def delta_input_scale(dt_ms: float, n_steps: int = spec.N_STEPS_PER_TIMESTEP) -> int:
    """``input_type_delta``: the per-receptor scale ``kdivk(1.0, ts)`` (s16.15; 1.0 at dt = 1 ms)."""
    return kdivk(spec.S1615_ONE, time_step(dt_ms, n_steps))


def exp_syn_add(isyn: int, w16: int, shift: int, init: int) -> int:
    """One ring-buffer entry into an exponential synapse: ``isyn + ((w16 << shift) * init) >> 32``."""
    return wrap32(isyn + ((wrap32(w16 << shift) * init) >> 32))


def lif_closed_form(v: int, i: int, *, R: int, V_rest: int, exp_TC: int) -> int:
    """``lif_neuron_closed_form``: ``alpha = I * R + V_rest; V = alpha - exp_TC * (alpha - V)``."""
    alpha = wrap32(mul_k(i, R) + V_rest)
    return wrap32(alpha - mul_k(exp_TC, wrap32(alpha - v)))
