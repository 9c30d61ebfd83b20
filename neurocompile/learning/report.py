"""The learning section of ``neurocompile report`` (``neurocompile.report.LEARNING_HOOKS``).

One entry per plastic projection: the NIR weight node it came from (when compiled with
``--learning``), the rule (kind, expressions, parameters), and the target mapping: on Loihi 2
the Lava rule strings and, per product, the requested next to the effective coefficient after
Lava's rounding; on SpiNNaker the PyNN ``STDPMechanism`` call and the plasticity block.
"""

from __future__ import annotations

from typing import Any, Mapping


def _node_of(learning: Mapping[str, Any]) -> dict[str, str]:
    return {a["projection"]: node for node, a in (learning.get("attachments") or {}).items()}


def loihi2_section(program, learning: Mapping[str, Any]) -> dict[str, Any]:
    nodes = _node_of(learning)
    out: dict[str, Any] = {}
    for name, rep in (learning.get("projections") or {}).items():
        proj = program.projections.get(name)
        entry: dict[str, Any] = {"node": nodes.get(name), "kind": proj.kind if proj is not None else None,
                                 "lava": rep.get("lava", {})}
        if "rule" in rep:
            entry["rule"] = {k: rep["rule"].get(k) for k in ("name", "kind", "expressions", "params", "third_factor",
                                                             "t_epoch", "w_min", "w_max")}
            entry["products"] = [{k: p.get(k) for k in ("target", "requested", "requested_coeff", "effective",
                                                         "effective_coeff", "relative_error", "note")}
                                 for p in rep.get("products", [])]
            entry["findings"] = list(rep.get("findings", []))
        if proj is not None:
            entry.update(t_epoch=proj.params.get("t_epoch"), rng_seed=proj.params.get("rng_seed"),
                         three_factor=bool(proj.params.get("three_factor", 0)))
        out[name] = entry
    return {"status": "frozen" if learning.get("frozen_from") else "configured", "target": "loihi2",
            "projections": out, "attachments": dict(learning.get("attachments") or {})}


def spinnaker_section(program, learning: Mapping[str, Any]) -> dict[str, Any]:
    nodes = _node_of(learning)
    out: dict[str, Any] = {}
    for name, rep in (learning.get("spinnaker") or {}).items():
        proj = program.projections.get(name)
        out[name] = {"node": nodes.get(name), "kind": proj.kind if proj is not None else None,
                     "rule": rep.get("kind"), "pynn": rep.get("pynn"), "plasticity": dict(rep.get("plasticity", {})),
                     "notes": list(rep.get("notes", []))}
    for name, proj in program.projections.items():  # blocks given directly (builder plasticity=...)
        if proj.kind == "stdp" and name not in out:
            out[name] = {"node": nodes.get(name), "kind": "stdp", "plasticity": dict(proj.params.get("plasticity", {}))}
    return {"status": "frozen" if learning.get("frozen_from") else "configured", "target": "spinnaker",
            "projections": out, "attachments": dict(learning.get("attachments") or {})}


__all__ = ["loihi2_section", "spinnaker_section"]
