"""Learned weights back into Programs: :func:`with_learned_weights` and :func:`freeze`.

The core copies the Program and asks its target (hook ``apply_learned``) to write the learned
weights of each plastic projection; :func:`learned_weights` reads them from a run result.
"""

from __future__ import annotations

import copy

import numpy as np

from neurocompile.errors import InputDataError, UnsupportedError
from neurocompile.program import Program
from neurocompile.target import get_target


def with_learned_weights(program: Program, result, *, keep_learning: bool = True, sample: int = 0) -> Program:
    """A new Program whose plastic projections start from the weights learned in ``result``.

    ``keep_learning=True`` keeps them plastic (with the learning state the target carries over,
    so training continues); ``False`` turns them into static projections (frozen) computing with
    exactly the learned values. ``sample`` picks the batch sample whose weights are taken. What
    "plastic" and "static" are is the target's (``docs/learning.md``).
    """
    apply = get_target(program.target).hook("apply_learned")
    if apply is None:
        raise UnsupportedError(
            f"target {program.target!r} has no learned-weights hook",
            parameter="target",
            expected="a target with on-chip learning",
        )
    new = copy.deepcopy(program)
    apply(new, result, keep_learning=keep_learning, sample=sample)
    if not keep_learning:
        new.learning = {**new.learning, "frozen_from": "learning run"}
    return new


def learned_weights(result, name: str, sample: int) -> np.ndarray:
    """The learned integer weights of projection ``name`` in ``result`` (recording ``NAME.weights``)."""
    key = f"{name}.weights"
    if key not in result.recordings:
        raise InputDataError(
            f"the run result has no learned weights for '{name}'",
            node=name,
            parameter="weights",
            expected=f"recording '{key}'",
        )
    rec = np.asarray(result.recordings[key])
    if not 0 <= sample < rec.shape[0]:
        raise InputDataError(
            f"sample {sample} outside the batch of {rec.shape[0]}",
            node=name,
            parameter="sample",
            expected=f"0..{rec.shape[0] - 1}",
        )
    return rec[sample].astype(np.int64)


def freeze(program: Program, result, *, sample: int = 0) -> Program:
    """``with_learned_weights(program, result, keep_learning=False)``."""
    return with_learned_weights(program, result, keep_learning=False, sample=sample)
