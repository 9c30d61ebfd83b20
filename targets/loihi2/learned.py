"""Learned weights into a loihi2 Program (the ``apply_learned`` hook of ``with_learned_weights``).

``learning_dense`` projections take the learned weights (``PROJ.weights``); kept plastic, their
tags carry over (``PROJ.tag_1_final``, ``PROJ.tag_2_final``) so training continues; frozen,
they become static ``dense`` projections and ``lif_3f`` post neurons plain ``lif``. Lava's
``truncate_weights`` is idempotent on learned weights, so a frozen Program computes with exactly
the learned values. Reward inputs feed nothing once frozen; they stay in ``Program.inputs``.
"""

from __future__ import annotations

import numpy as np

from neurocompile.learning.results import learned_weights
from neurocompile.program import Program

_LEARNING_ONLY = (
    "dw",
    "dd",
    "dt",
    "t_epoch",
    "rng_seed",
    "three_factor",
    "tag_1",
    "tag_2",
    "graded_spike_cfg",
)
_LIF_3F_ONLY = (
    "y1_impulse",
    "y1_decay",
    "y3_impulse",
    "y3_decay",
    "reward",
    "psi_height",
    "psi_shift",
    "signal_mode",
    "error_out",
    "signal_shift",
    "signal_lsb",
)


def apply_learned(program: Program, result, *, keep_learning: bool, sample: int) -> None:
    for name, proj in program.projections.items():
        if proj.kind != "learning_dense":
            continue
        proj.params["weights"] = learned_weights(result, name, sample)
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
    if not keep_learning:  # feedback projections only feed third factors: gone with them
        for name in [n for n, pj in program.projections.items() if int(pj.params.get("feedback", 0))]:
            del program.projections[name]
        for pop in program.populations.values():
            if pop.kind == "lif_3f":
                pop.kind = "lif"
                for k in _LIF_3F_ONLY:
                    pop.params.pop(k, None)


__all__ = ["apply_learned"]
