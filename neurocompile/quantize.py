"""Target-independent quantization helpers: exponent choice, mantissa/exponent split,
rounding statistics and calibration ranges.

Targets keep their bit widths in their own ``spec`` module and pass them in; nothing here
knows a chip. Every function is pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np

#: Calibration peaks are multiplied by this margin before scales are chosen from them.
CALIBRATION_MARGIN = 1.5


def choose_shift(max_abs: float, mant_max: int, exp_min: int, exp_max: int) -> int:
    """Smallest ``e`` in [exp_min, exp_max] with ``max_abs / 2**e <= mant_max`` (exp_max if none).

    ``max_abs == 0`` gives ``exp_min`` (an all-zero layer needs no range).
    """
    if not math.isfinite(max_abs) or max_abs <= 0:
        return exp_min
    e = math.ceil(math.log2(max_abs / mant_max))
    # guard float round-off at exact powers of two
    while e > exp_min and max_abs / 2.0 ** (e - 1) <= mant_max:
        e -= 1
    while max_abs / 2.0**e > mant_max and e < exp_max:
        e += 1
    return int(min(max(e, exp_min), exp_max))


def mant_exp(
    values: np.ndarray, mant_min: int, mant_max: int, exp_min: int, exp_max: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per element ``value ~ mant << exp`` with the smallest exponent whose mantissa fits.

    Returns (mant, exp, clipped mask). Values beyond ``mant_max << exp_max`` are clipped.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    mant = np.zeros(v.shape, dtype=np.int64)
    exp = np.full(v.shape, exp_min, dtype=np.int64)
    done = np.zeros(v.shape, dtype=bool)
    for e in range(exp_min, exp_max + 1):
        m = np.rint(v / 2.0**e)
        ok = ~done & (m >= mant_min) & (m <= mant_max)
        mant[ok] = m[ok].astype(np.int64)
        exp[ok] = e
        done |= ok
    clipped = ~done
    if clipped.any():
        mant[clipped] = np.clip(np.rint(v[clipped] / 2.0**exp_max), mant_min, mant_max).astype(np.int64)
        exp[clipped] = exp_max
    return mant, exp, clipped


@dataclass(frozen=True)
class ErrorStats:
    """How well integers represent floats: ``n`` values, fractions clipped / zeroed, RMS relative error."""

    n: int
    fraction_clipped: float
    fraction_zeroed: float
    rms_relative_error: float
    max_abs_error: float

    def as_dict(self) -> dict:
        return asdict(self)


def error_stats(target: np.ndarray, achieved: np.ndarray, clipped: np.ndarray | None = None) -> ErrorStats:
    """Compare float ``target`` with the float value the integers ``achieved``.

    ``fraction_zeroed``: nonzero targets that became 0; RMS relative error is
    ``||achieved - target|| / ||target||`` (0 for an all-zero target).
    """
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    a = np.asarray(achieved, dtype=np.float64).reshape(-1)
    n = int(t.size)
    if n == 0:
        return ErrorStats(0, 0.0, 0.0, 0.0, 0.0)
    nz = t != 0
    zeroed = float(np.count_nonzero(nz & (a == 0)) / n)
    norm = float(np.sqrt(np.sum(t * t)))
    err = a - t
    rms = float(np.sqrt(np.sum(err * err)) / norm) if norm > 0 else 0.0
    frac_clip = float(np.count_nonzero(clipped) / n) if clipped is not None else 0.0
    return ErrorStats(n, frac_clip, zeroed, rms, float(np.max(np.abs(err))))


def calibration_peaks(netlist, inputs: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Run the float netlist on calibration ``inputs`` and return per-neuron peaks of each group.

    ``{group: {"x": max |x|, "u": max |u|, "v": max |v|}}`` (arrays (size,), float units), where
    ``x`` is the per-step input (synaptic sum plus bias).
    """
    from .netlist import simulate_netlist

    names = tuple(netlist.groups)
    res = simulate_netlist(netlist, inputs, record=names)
    out = {}
    for g in names:
        size = netlist.groups[g].size
        out[g] = {
            ob: np.abs(res.recordings[f"{g}.{ob}"]).reshape(-1, size).max(axis=0, initial=0.0)
            for ob in ("x", "u", "v")
        }
    return out


__all__ = ["choose_shift", "mant_exp", "error_stats", "ErrorStats", "calibration_peaks", "CALIBRATION_MARGIN"]
