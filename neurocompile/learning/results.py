"""Learned weights back into Programs: :func:`with_learned_weights` and :func:`freeze`."""

from __future__ import annotations

import copy

import numpy as np

from neurocompile.errors import InputDataError
from neurocompile.program import Program

_LEARNING_ONLY = ("dw", "dd", "dt", "t_epoch", "rng_seed", "three_factor", "tag_1", "tag_2", "graded_spike_cfg")


def with_learned_weights(program: Program, result, *, keep_learning: bool = True, sample: int = 0) -> Program:
    """A new Program whose plastic projections start from the weights learned in ``result``.

    loihi2 ``learning_dense`` and spinnaker ``stdp`` projections (``PROJ.weights``: the learned
    integer weights; w16 per synapse on spinnaker, where freezing gives a plain ``from_list``).

    ``keep_learning=True`` keeps them ``learning_dense`` (tags carried over too, so training
    continues); ``False`` turns them into static ``dense`` projections (frozen). Lava's
    ``truncate_weights`` is idempotent on learned weights, so a frozen Program computes with
    exactly the learned values. ``sample`` picks the batch sample whose weights are taken.
    """
    new = copy.deepcopy(program)
    for name, proj in new.projections.items():
        if proj.kind == "stdp":  # spinnaker: the learned w16 per synapse, in the Program's synapse order
            w = _learned(result, name, sample)
            if w.shape != np.shape(proj.params["w16"]):
                raise InputDataError(f"learned weights of '{name}' have shape {w.shape}", node=name,
                                     parameter="weights", expected=f"{np.shape(proj.params['w16'])} (w16 per synapse)")
            proj.params["w16"] = w
            if not keep_learning:
                proj.kind = "from_list"
                proj.params.pop("plasticity", None)
            continue
        if proj.kind != "learning_dense":
            continue
        w = _learned(result, name, sample)
        proj.params["weights"] = w
        if keep_learning:
            for tag in ("tag_1", "tag_2"):
                k = f"{name}.{tag}_final"
                if k in result.recordings:
                    proj.params[tag] = np.asarray(result.recordings[k])[sample].astype(np.int64)
        else:
            proj.kind = "dense"
            for k in list(proj.params):
                if k in _LEARNING_ONLY or k.endswith("_impulse") or k.endswith("_tau"):
                    del proj.params[k]
    for pop in new.populations.values():
        if pop.kind == "lif_3f" and not keep_learning:
            pop.kind = "lif"
            for k in ("y1_impulse", "y1_decay", "y3_impulse", "y3_decay", "reward"):
                pop.params.pop(k, None)
    if not keep_learning:
        # reward inputs feed nothing once frozen; they stay (still named in Program.inputs)
        new.learning = {**new.learning, "frozen_from": "learning run"}
        sp = new.learning.get("spinnaker")
        if isinstance(sp, dict):
            new.learning["spinnaker"] = {k: v for k, v in sp.items() if k in new.projections
                                         and new.projections[k].kind == "stdp"}
    return new


def _learned(result, name: str, sample: int) -> np.ndarray:
    key = f"{name}.weights"
    if key not in result.recordings:
        raise InputDataError(f"the run result has no learned weights for '{name}'", node=name,
                             parameter="weights", expected=f"recording '{key}'")
    rec = np.asarray(result.recordings[key])
    if not 0 <= sample < rec.shape[0]:
        raise InputDataError(f"sample {sample} outside the batch of {rec.shape[0]}", node=name, parameter="sample",
                             expected=f"0..{rec.shape[0] - 1}")
    return rec[sample].astype(np.int64)


def freeze(program: Program, result, *, sample: int = 0) -> Program:
    """``with_learned_weights(program, result, keep_learning=False)``."""
    return with_learned_weights(program, result, keep_learning=False, sample=sample)
