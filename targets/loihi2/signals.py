"""The ``lif_3f`` neuron's learning-signal arithmetic, in one place for the emulator and Lava.

Both the emulator (``emulator/learning.py``) and our Lava ProcessModel (``lava_models/lif3f.py``)
call :func:`lif3f_traces` after the bit-accurate LIF step of a ``lif_3f`` population, so the two
cannot drift. Integers only (numpy int64, results in the 7-bit trace range 0..127).

With s the spike of this step (0/1), v the membrane voltage of this step *before* the reset,
theta = vth << 6 and r the third-factor input received this step (a reward / host learning
signal from an input population, or the sum of the feedback projections: fixed weights times the
errors of the learning-signal population of the previous step, Lava's one-step Dense buffer),
and, when ``signal_shift`` k or ``signal_lsb`` l is > 0, rounded stochastically to a multiple of 2^l
after dropping k fractional bits: ``r <- ((r + d) >> (k + l)) << l`` with d a dither uniform in
[0, 2^(k+l)) (:func:`dither`, a hash of the step and the neuron's index), so that E[r] is kept.
Why: the learning engine floors, and floors never cancel on a signed learning signal L. A feedback
projection with a negative weight exponent floors its sum (a bias of about -1/2 on L: send the sum
with k more fractional bits, ``weight_exp`` + k); and a rule product ``t * y2`` is pre-shifted (9 + 7 +
4 - 15 = 5 bits for tag times trace) and floored, which on ``lr * t * (y2 - y3)`` keeps a negative
part and drops a positive one of the same size: exact only when ``mant * y`` is a multiple of 2^5, so
l = 5 - log2(mant) (3 for mantissa 4) makes every product exact:

* y1: ``psi_height == 0``: the spike trace ``min(((y1 * y1_decay) >> 12) + y1_impulse * s, 127)``;
  ``psi_height > 0``: the pseudo-derivative (surrogate) of the spike function,
  ``max(0, psi_height - (|v - theta| >> psi_shift))`` - a triangle of v around the threshold
  (Bellec et al. 2020's ``gamma * max(0, 1 - |v - theta| / theta)`` when
  ``2^psi_shift = theta / psi_height``);
* y2: ``clip(r, 0, 127)`` (the positive part of the learning signal / the reward / the target);
* y3: ``signal_mode == 0``: the spike trace with ``y3_impulse``/``y3_decay``;
  ``signal_mode == 1``: ``clip(-r, 0, 127)`` (the negative part of a signed learning signal), so a
  rule's ``y2 - y3`` is the signed third factor;
* error (``error_out == 1``, the neuron is a learning-signal population): ``y2 - y3`` is sent as a
  graded payload on the error port every step (target minus own spike trace for an output layer).
"""

from __future__ import annotations

import numpy as np

TRACE_MAX = 127
Y_DECAY_BITS = 12

#: the optional lif_3f fields of learning signals and their defaults (old lif_3f behaviour).
SIGNAL_FIELDS = {
    "psi_height": 0,
    "psi_shift": 0,
    "signal_mode": 0,
    "error_out": 0,
    "signal_shift": 0,
    "signal_lsb": 0,
}
M32 = 0xFFFFFFFF


def _trace(y: np.ndarray, decay: int, impulse: int, s: np.ndarray) -> np.ndarray:
    return np.minimum(((y * int(decay)) >> Y_DECAY_BITS) + int(impulse) * s, TRACE_MAX)


def pseudo_derivative(v: np.ndarray, theta: int, height: int, shift: int) -> np.ndarray:
    """``max(0, height - (|v - theta| >> shift))`` (int64)."""
    d = np.abs(np.asarray(v, np.int64) - int(theta)) >> int(shift)
    return np.maximum(int(height) - d, 0)


def dither(step: int, n: int, bits: int) -> np.ndarray:
    """(n,) int64 dither in [0, 2^bits) for neurons 0..n-1 at ``step``: the top ``bits`` of a 32-bit
    integer hash of (step, index) (the emulator's kernel computes the same, ``arith.dither``)."""
    h = np.uint64(step) * np.uint64(0x9E3779B1) + np.arange(n, dtype=np.uint64) * np.uint64(0x85EBCA77)
    h &= np.uint64(M32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x7FEB352D)) & np.uint64(M32)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x846CA68B)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    return (h >> np.uint64(32 - bits)).astype(np.int64)


def lif3f_traces(
    y: np.ndarray, s: np.ndarray, v: np.ndarray, theta: int, r: np.ndarray, p, step: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """New (y1, y2, y3) as a (3, n) int64 array and the error payload (None unless ``error_out``).

    ``y``: the previous (3, n) traces; ``s`` spikes 0/1; ``v`` voltage before the reset;
    ``theta`` = vth << 6; ``r`` the third-factor input of this step; ``p`` the population's params
    (``y1_impulse``, ``y1_decay``, ``y3_impulse``, ``y3_decay`` and :data:`SIGNAL_FIELDS`); ``step``
    the time step (from 1; it seeds the dither)."""
    y = np.asarray(y, np.int64)
    s = np.asarray(s, np.int64)
    r = np.asarray(r, np.int64)
    g = {k: int(p.get(k, d)) for k, d in SIGNAL_FIELDS.items()}
    out = np.empty_like(y)
    b = g["signal_shift"] + g["signal_lsb"]
    if b > 0:
        r = ((r + dither(step, r.shape[0], b)) >> b) << g["signal_lsb"]
    if g["psi_height"] > 0:
        out[0] = pseudo_derivative(v, theta, g["psi_height"], g["psi_shift"])
    else:
        out[0] = _trace(y[0], p["y1_decay"], p["y1_impulse"], s)
    hi = (TRACE_MAX >> g["signal_lsb"]) << g["signal_lsb"]  # a multiple of 2^l
    out[1] = np.clip(r, 0, hi)
    if g["signal_mode"] == 1:
        out[2] = np.clip(-r, 0, hi)
    else:
        out[2] = _trace(y[2], p["y3_decay"], p["y3_impulse"], s)
    err = out[1] - out[2] if g["error_out"] else None
    return out, err


def uses_signals(program) -> bool:
    """Whether a Program uses learning-signal features (pseudo-derivative, signed signals, error
    ports or feedback projections); the emulator's fused kernel does not model them."""
    for pop in program.populations.values():
        if pop.kind == "lif_3f" and any(int(pop.params.get(k, 0)) for k in SIGNAL_FIELDS):
            return True
    return any(int(pj.params.get("feedback", 0)) for pj in program.projections.values())
