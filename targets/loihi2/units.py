"""Model units for a loihi2 run: the ``to_model_units`` hook of :data:`neurocompile.targets.loihi2.TARGET`.

Lava's fixed-point LIF holds ``v`` and ``u`` as integers: a weight mantissa enters u shifted left
by ``6 + weight_exp`` and the threshold is ``vth << 6`` (``docs/reference/loihi2.md`` §1.2). The
lowering (``targets/loihi2/lower.py``) ties them to the trained model's float units by one scale
``s`` per population, "float v per integer v unit", stored in
``program.quantization["populations"][POP]["scale"]``:

* ``POP.v`` in model units is ``v_int * s`` (the float reference's ``v``, up to quantization);
  one integer unit, ``s``, is the resolution (``step`` in the meta).
* ``POP.u`` in model units is ``u_int * s``: the drive u adds to v per step, in model v units,
  i.e. the reference's synaptic current (CubaLIF) times the node's input gain ``g*r`` (the gain is
  a float of the source graph, not stored in the Program), without the bias.
* Outputs read as ``v`` are already scaled by the backend (``OutputSpec.scale`` is ``s``); the
  hook only describes them.

A population whose neurons have different scales (a spiking group with different thresholds:
``s_i = v_threshold_i / (64 vth)``) has only their range in the Program, so its state stays in
integers and the meta says why; so does a hand-built Program (no ``quantization``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

RAW_V = "loihi2 integer v (a weight mantissa enters as mant << (6 + weight_exp); threshold vth << 6)"
RAW_U = "loihi2 integer u (a weight mantissa enters as mant << (6 + weight_exp))"
MODEL_V = "model"
MODEL_U = "model v per step"
U_NOTE = (
    "u times the node's input gain g*r (g = 1 - decay; dt*r for IF): what u adds to v per step, "
    "without the bias; divide by g*r for the float reference's u"
)


def population_scale(program: Any, pop: str) -> tuple[float | None, str | None]:
    """``(s, None)`` for a population with one scale, else ``(None, why not)``."""
    q = (program.quantization or {}).get("populations", {}).get(pop)
    if not q or "scale" not in q:
        return None, "the Program records no scale for this population (hand-built or not lowered)"
    s = q["scale"]
    if isinstance(s, (int, float)) and not isinstance(s, bool) and np.isfinite(s) and s > 0:
        return float(s), None
    return None, f"the scale differs per neuron ({s}); the Program stores only its range"


def to_model_units(program: Any, key: str, array: np.ndarray) -> tuple[np.ndarray, dict[str, Any] | None]:
    """``(array in model units, its unit meta)`` for a recorded ``POP.v`` / ``POP.u`` or an output
    key; ``(array, None)`` for anything without a unit (spikes, weights, traces)."""
    out = program.outputs.get(key)
    if out is not None:
        if out.observable == "spikes":
            return array, None
        return array, {
            "unit": MODEL_V,
            "scale": float(out.scale),
            "step": float(out.scale),
            "raw_unit": RAW_V,
            "note": "outputs read as v are scaled by the backend (OutputSpec.scale) in both modes",
        }
    pop, _, obs = key.rpartition(".")
    if obs not in ("v", "u") or pop not in program.populations:
        return array, None
    raw = RAW_V if obs == "v" else RAW_U
    s, why = population_scale(program, pop)
    if s is None:
        return array, {"unit": raw, "scale": None, "step": None, "raw_unit": raw, "note": why}
    meta = {"unit": MODEL_V if obs == "v" else MODEL_U, "scale": s, "step": s, "raw_unit": raw}
    if obs == "u":
        meta["note"] = U_NOTE
    return np.asarray(array, dtype=np.float64) * s, meta


__all__ = ["to_model_units", "population_scale", "RAW_V", "RAW_U"]
