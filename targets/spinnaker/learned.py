"""Learned weights into a spinnaker Program (the ``apply_learned`` hook of ``with_learned_weights``).

``stdp`` projections take the learned 16-bit weights (``PROJ.weights``: w16 per synapse, in the
Program's synapse order); frozen, they become plain ``from_list`` projections without their
plasticity block, and the learning report keeps only the projections still plastic.
"""

from __future__ import annotations

import numpy as np

from neurocompile.errors import InputDataError
from neurocompile.learning.results import learned_weights
from neurocompile.program import Program


def apply_learned(program: Program, result, *, keep_learning: bool, sample: int) -> None:
    for name, proj in program.projections.items():
        if proj.kind != "stdp":
            continue
        w = learned_weights(result, name, sample)
        if w.shape != np.shape(proj.params["w16"]):
            raise InputDataError(
                f"learned weights of '{name}' have shape {w.shape}",
                node=name,
                parameter="weights",
                expected=f"{np.shape(proj.params['w16'])} (w16 per synapse)",
            )
        proj.params["w16"] = w
        if not keep_learning:
            proj.kind = "from_list"
            proj.params.pop("plasticity", None)
    sp = program.learning.get("spinnaker")
    if not keep_learning and isinstance(sp, dict):
        program.learning["spinnaker"] = {
            k: v for k, v in sp.items() if k in program.projections and program.projections[k].kind == "stdp"
        }


__all__ = ["apply_learned"]
