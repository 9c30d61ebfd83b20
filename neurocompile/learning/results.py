"""Learned weights back into Programs: :func:`with_learned_weights` and :func:`freeze`."""

from __future__ import annotations

import copy

import numpy as np

from neurocompile.errors import InputDataError
from neurocompile.program import Program

_LEARNING_ONLY = ("dw", "dd", "dt", "t_epoch", "rng_seed", "three_factor", "tag_1", "tag_2", "graded_spike_cfg")


def with_learned_weights(program: Program, result, *, keep_learning: bool = True, sample: int = 0) -> Program:
    """A new Program whose plastic projections start from the weights learned in ``result``.

    ``keep_learning=True`` keeps them ``learning_dense`` (tags carried over too, so training
    continues); ``False`` turns them into static ``dense`` projections (frozen). Lava's
    ``truncate_weights`` is idempotent on learned weights, so a frozen Program computes with
    exactly the learned values. ``sample`` picks the batch sample whose weights are taken.
    """
    new = copy.deepcopy(program)
    for name, proj in new.projections.items():
        if proj.kind != "learning_dense":
            continue
        key = f"{name}.weights"
        if key not in result.recordings:
            raise InputDataError(f"the run result has no learned weights for '{name}'", node=name,
                                 parameter="weights", expected=f"recording '{key}'")
        w = np.asarray(result.recordings[key])[sample].astype(np.int64)
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
        new.learning = {**new.learning, "frozen_from": "learning run"}
        used = {p.params.get("reward") for p in program.populations.values() if p.kind == "lif_3f"}
        for r in used:  # reward inputs feed nothing once frozen; keep them (still named in Program.inputs)
            pass
    return new


def freeze(program: Program, result, *, sample: int = 0) -> Program:
    """``with_learned_weights(program, result, keep_learning=False)``."""
    return with_learned_weights(program, result, keep_learning=False, sample=sample)
