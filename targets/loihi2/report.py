"""The loihi2 sections of ``neurocompile report``: learning mapping and effective weights.

The learning section has one entry per plastic projection: the NIR weight node it came from
(when compiled with ``--learning``), the rule (kind, expressions, parameters), the Lava rule
strings and, per product, the requested next to the effective coefficient after Lava's rounding.
The cost-model section is :func:`.partition.report_section`.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from neurocompile.report import learning_nodes

from .weights import effective_weights as _effective


def effective_weights(proj) -> np.ndarray:
    """The weights the synapse adds after the sign mode and ``num_weight_bits`` truncation."""
    return _effective(
        np.asarray(proj.params["weights"]), int(proj.params["sign_mode"]), int(proj.params["num_weight_bits"])
    )


def learning_section(program, learning: Mapping[str, Any]) -> dict[str, Any]:
    nodes = learning_nodes(learning)
    out: dict[str, Any] = {}
    for name, rep in (learning.get("projections") or {}).items():
        proj = program.projections.get(name)
        entry: dict[str, Any] = {
            "node": nodes.get(name),
            "kind": proj.kind if proj is not None else None,
            "lava": rep.get("lava", {}),
        }
        if "rule" in rep:
            entry["rule"] = {
                k: rep["rule"].get(k)
                for k in (
                    "name",
                    "kind",
                    "expressions",
                    "params",
                    "third_factor",
                    "t_epoch",
                    "w_min",
                    "w_max",
                )
            }
            entry["products"] = [
                {
                    k: p.get(k)
                    for k in (
                        "target",
                        "requested",
                        "requested_coeff",
                        "effective",
                        "effective_coeff",
                        "relative_error",
                        "note",
                    )
                }
                for p in rep.get("products", [])
            ]
            entry["findings"] = list(rep.get("findings", []))
        if proj is not None:
            entry.update(
                t_epoch=proj.params.get("t_epoch"),
                rng_seed=proj.params.get("rng_seed"),
                three_factor=bool(proj.params.get("three_factor", 0)),
            )
        out[name] = entry
    return {
        "status": "frozen" if learning.get("frozen_from") else "configured",
        "target": "loihi2",
        "projections": out,
        "attachments": dict(learning.get("attachments") or {}),
    }


__all__ = ["learning_section", "effective_weights"]
