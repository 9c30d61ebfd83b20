"""Model units and the run's semantics for a spinnaker run: the ``to_model_units`` hook of
:data:`neurocompile.targets.spinnaker.TARGET` and :func:`run_semantics`.

sPyNNaker holds V in mV as s16.15 (resolution 2^-15 mV) and the synaptic currents in nA. The
lowering (``targets/spinnaker/lower.py``, "Units") maps the model's v to mV by one factor ``sv``
per population (``V = sv * v``; ``v_rest = sv * v_leak``, so no offset) and stores
``program.quantization["populations"][POP]`` = ``{"sv", "scale": 1/sv, "R_chip", "a_chip", ...}``:

* ``POP.v`` in model units is ``V_mV * scale``; its resolution (``step``) is ``scale * 2^-15``.
  sPyNNaker records V before each tick's update, so ``POP.v`` at tick t is the float reference's v
  at step t-1 (finding ``spinnaker-v-before-update``).
* ``POP.u`` (``isyn_exc - isyn_inh``, nA) in model units is what it adds to V per tick, in model v
  units: ``(1 - a_chip) * R_chip * I / sv`` with ``I = u`` (IF_curr_exp) or ``u / tick_ms``
  (IF_curr_delta, whose input the chip scales by 1/ts): the reference's synaptic current (CubaLIF)
  times the node's input gain ``g*r``, without the bias (``i_offset``).
* Outputs read as ``v`` are already scaled by the backend (``OutputSpec.scale`` is ``1/sv``).

Raw units (``units="raw"``) are what the emulator returned before: mV and nA as floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import spec

RAW_V = "mV (sPyNNaker s16.15 V, resolution 2^-15 mV)"
RAW_U = "nA (sPyNNaker isyn_exc - isyn_inh, s16.15)"
MODEL_V = "model"
MODEL_U = "model v per step"
U_NOTE = (
    "u times the node's input gain g*r: what the synaptic current adds to v per tick, without the "
    "bias (i_offset); divide by g*r for the float reference's u"
)
RESET_NOTE = (
    "reset by subtraction is not available on SpiNNaker: V is set to v_reset = 0 after a spike "
    "(finding spinnaker-reset-subtract)"
)


def _quant(program: Any, pop: str) -> dict[str, Any] | None:
    q = (program.quantization or {}).get("populations", {}).get(pop)
    if not q or not isinstance(q.get("scale"), (int, float)) or not q["scale"] > 0:
        return None
    return q


def to_model_units(program: Any, key: str, array: np.ndarray) -> tuple[np.ndarray, dict[str, Any] | None]:
    """``(array in model units, its unit meta)`` for a recorded ``POP.v`` / ``POP.u`` or an output
    key; ``(array, None)`` for anything without a unit (spikes, weights)."""
    out = program.outputs.get(key)
    if out is not None:
        if out.observable == "spikes":
            return array, None
        s = float(out.scale)
        return array, {
            "unit": MODEL_V,
            "scale": s,
            "step": s / spec.S1615_ONE,
            "raw_unit": RAW_V,
            "note": "outputs read as v are scaled by the backend (OutputSpec.scale) in both modes",
        }
    pop, _, obs = key.rpartition(".")
    if obs not in ("v", "u") or pop not in program.populations:
        return array, None
    raw = RAW_V if obs == "v" else RAW_U
    q = _quant(program, pop)
    if q is None:
        why = "the Program records no scale for this population (hand-built or not lowered)"
        return array, {"unit": raw, "scale": None, "step": None, "raw_unit": raw, "note": why}
    s = float(q["scale"])
    if obs == "v":
        return np.asarray(array, dtype=np.float64) * s, {
            "unit": MODEL_V,
            "scale": s,
            "step": s / spec.S1615_ONE,
            "raw_unit": raw,
        }
    gain = (1.0 - float(q["a_chip"])) * float(q["R_chip"]) * s
    if program.populations[pop].kind == "if_curr_delta":
        gain /= float(program.semantics.get("tick_ms", 1.0))
    return np.asarray(array, dtype=np.float64) * gain, {
        "unit": MODEL_U,
        "scale": gain,
        "step": gain / spec.S1615_ONE,
        "raw_unit": raw,
        "note": U_NOTE,
    }


def run_semantics(program: Any) -> dict[str, Any]:
    """The Program's semantics as the chip ran them: a Program compiled with ``reset="subtract"``
    ran with reset to zero (sPyNNaker has only ``v_reset``), so the run says ``reset: zero`` and
    keeps what was asked as ``reset_requested``."""
    sem = dict(program.semantics)
    if sem.get("reset") == "subtract":
        sem["reset_requested"] = "subtract"
        sem["reset"] = "zero"
        sem["reset_note"] = RESET_NOTE
    return sem


__all__ = ["to_model_units", "run_semantics", "RAW_V", "RAW_U"]
