"""The spinnaker sections of ``neurocompile report``: learning mapping and signed weights.

The learning section has one entry per plastic projection: the NIR weight node it came from,
the PyNN ``STDPMechanism`` call and the plasticity block.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from neurocompile.report import learning_nodes


def effective_weights(proj) -> np.ndarray:
    """The on-chip 16-bit weights, negative for the inhibitory receptor."""
    w = np.asarray(proj.params["w16"]).astype(np.int64)
    return -w if proj.params.get("receptor") == "inhibitory" else w


def learning_section(program, learning: Mapping[str, Any]) -> dict[str, Any]:
    nodes = learning_nodes(learning)
    out: dict[str, Any] = {}
    for name, rep in (learning.get("spinnaker") or {}).items():
        proj = program.projections.get(name)
        out[name] = {
            "node": nodes.get(name),
            "kind": proj.kind if proj is not None else None,
            "rule": rep.get("kind"),
            "pynn": rep.get("pynn"),
            "plasticity": dict(rep.get("plasticity", {})),
            "notes": list(rep.get("notes", [])),
        }
    for name, proj in program.projections.items():  # blocks given directly (builder plasticity=...)
        if proj.kind == "stdp" and name not in out:
            out[name] = {
                "node": nodes.get(name),
                "kind": "stdp",
                "plasticity": dict(proj.params.get("plasticity", {})),
            }
    return {
        "status": "frozen" if learning.get("frozen_from") else "configured",
        "target": "spinnaker",
        "projections": out,
        "attachments": dict(learning.get("attachments") or {}),
    }


__all__ = ["learning_section", "effective_weights"]
