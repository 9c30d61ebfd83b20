"""Weight arithmetic of Lava 0.10.0's bit-accurate connection models (our own implementation).

Lava applies, on the first time step of every Dense/Sparse/DelayDense/DelaySparse, a clip of
the weights to 8 bits per sign mode and then an LSB truncation to ``num_weight_bits``
(``docs/reference/loihi2.md`` §2.1). Programs store the user's integers; backends call
:func:`effective_weights` to get the values Lava really multiplies with.
"""

from __future__ import annotations

import numpy as np

from . import spec


def determine_sign_mode(weights: np.ndarray) -> int:
    """Lava's rule: all >= 0 -> EXCITATORY, else all <= 0 -> INHIBITORY, else MIXED.

    An empty weight set (no synapse) counts as EXCITATORY, as ``min([]) >= 0`` would for an
    all-zero matrix.
    """
    w = np.asarray(weights)
    if w.size == 0 or w.min() >= 0:
        return spec.SIGN_MODE_EXCITATORY
    if w.max() <= 0:
        return spec.SIGN_MODE_INHIBITORY
    return spec.SIGN_MODE_MIXED


def clip_weights(weights: np.ndarray, sign_mode: int, num_bits: int = spec.WEIGHT_BITS) -> np.ndarray:
    """Clip to the sign mode's range: MIXED [-2^b, 2^b-1], EXC [0, 2^b-1], INH [-(2^b-1), 0]."""
    w = np.asarray(weights).astype(np.int64)
    inh = sign_mode == spec.SIGN_MODE_INHIBITORY
    if inh:
        w = -w
    lo = -(2**num_bits) if sign_mode == spec.SIGN_MODE_MIXED else 0
    hi = 2**num_bits - 1
    w = np.clip(w, lo, hi)
    return -w if inh else w


def truncate_weights(weights: np.ndarray, sign_mode: int, num_weight_bits: int) -> np.ndarray:
    """Zero the ``8 - num_weight_bits (+1 in MIXED)`` least significant bits (floor, on the
    magnitude for INHIBITORY): MIXED 3 -> 2, -3 -> -4 even with 8 bits."""
    w = np.asarray(weights).astype(np.int64)
    inh = sign_mode == spec.SIGN_MODE_INHIBITORY
    if inh:
        w = -w
    tb = spec.WEIGHT_BITS - int(num_weight_bits) + int(sign_mode == spec.SIGN_MODE_MIXED)
    w = (w >> tb) << tb
    return -w if inh else w


def effective_weights(weights: np.ndarray, sign_mode: int, num_weight_bits: int) -> np.ndarray:
    """The weights Lava uses from its first step on: clip (8 bit) then truncate (int64)."""
    return truncate_weights(clip_weights(weights, sign_mode), sign_mode, num_weight_bits)
