"""The ``lif_3f`` neuron's learning-signal arithmetic, in one place for the emulator and Lava.

Both the emulator (``emulator/learning.py``) and our Lava ProcessModel (``lava_models/lif3f.py``)
call :func:`lif3f_traces` after the bit-accurate LIF step of a ``lif_3f`` population, so the two
cannot drift. Integers only (numpy int64, results in the 7-bit trace range 0..127).

With s the spike of this step (0/1), v the membrane voltage of this step *before* the reset,
theta = vth << 6 and r the third-factor input received this step (a reward / host learning
signal from an input population, or the sum of the feedback projections: fixed weights times the
errors of the learning-signal population of the previous step, Lava's one-step Dense buffer):

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
SIGNAL_FIELDS = {"psi_height": 0, "psi_shift": 0, "signal_mode": 0, "error_out": 0}


def _trace(y: np.ndarray, decay: int, impulse: int, s: np.ndarray) -> np.ndarray:
    return np.minimum(((y * int(decay)) >> Y_DECAY_BITS) + int(impulse) * s, TRACE_MAX)


def pseudo_derivative(v: np.ndarray, theta: int, height: int, shift: int) -> np.ndarray:
    """``max(0, height - (|v - theta| >> shift))`` (int64)."""
    d = np.abs(np.asarray(v, np.int64) - int(theta)) >> int(shift)
    return np.maximum(int(height) - d, 0)


def lif3f_traces(
    y: np.ndarray, s: np.ndarray, v: np.ndarray, theta: int, r: np.ndarray, p
) -> tuple[np.ndarray, np.ndarray | None]:
    """New (y1, y2, y3) as a (3, n) int64 array and the error payload (None unless ``error_out``).

    ``y``: the previous (3, n) traces; ``s`` spikes 0/1; ``v`` voltage before the reset;
    ``theta`` = vth << 6; ``r`` the third-factor input of this step; ``p`` the population's params
    (``y1_impulse``, ``y1_decay``, ``y3_impulse``, ``y3_decay`` and :data:`SIGNAL_FIELDS`)."""
    y = np.asarray(y, np.int64)
    s = np.asarray(s, np.int64)
    r = np.asarray(r, np.int64)
    g = {k: int(p.get(k, d)) for k, d in SIGNAL_FIELDS.items()}
    out = np.empty_like(y)
    if g["psi_height"] > 0:
        out[0] = pseudo_derivative(v, theta, g["psi_height"], g["psi_shift"])
    else:
        out[0] = _trace(y[0], p["y1_decay"], p["y1_impulse"], s)
    out[1] = np.clip(r, 0, TRACE_MAX)
    if g["signal_mode"] == 1:
        out[2] = np.clip(-r, 0, TRACE_MAX)
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
