"""Validation of the learning kinds of a loihi2 Program.

``lif_3f`` population (a LIF, bit-identical to ``lif``, that also sends its traces to the
learning projections it is post of and receives a reward; our own Lava ProcessModel, see
``lava_runner.py`` and ``docs/learning.md``). Extra params:

* ``y1_impulse``, ``y3_impulse`` (int 0..127), ``y1_decay``, ``y3_decay`` (int 0..4096): per
  step, after the LIF update with spike s: ``y <- min(((y * decay) >> 12) + impulse * s, 127)``;
* ``reward`` (str): name of an input population of the same size whose payload of this step
  is the reward; ``y2 <- clip(reward, 0, 127)``; ``""`` = no reward (y2 = 0).

Learning signals (optional ``lif_3f`` fields, equations in ``signals.py``): ``psi_height`` (0..127;
> 0: y1 is the pseudo-derivative ``max(0, psi_height - (|v - theta| >> psi_shift))``),
``psi_shift`` (0..24), ``signal_mode`` (0: y3 is a spike trace; 1: y2/y3 are the positive/negative
parts of the third-factor input), ``error_out`` (1: the population is a learning-signal population
and sends ``y2 - y3`` on its error port).

``dense`` projection with ``feedback = 1`` (a feedback projection): fixed weights from a ``lif_3f``
with ``error_out = 1`` (its error payloads, graded: ``num_message_bits`` > 0) into the third-factor
input of a ``lif_3f`` post population (summed, shifted by ``weight_exp``, received one step later).

``learning_dense`` projection (Lava ``LearningDense``, fixed_pt bit-approximate model): the
``dense`` fields plus ``dw``, ``dd``, ``dt`` (Lava rule strings, see ``learning.py``),
``x1_impulse`` .. ``y3_impulse`` (float, multiples of 1/256, 0..127), ``x1_tau`` .. ``y3_tau``
(float >= 0), ``t_epoch`` (1..63), ``rng_seed`` (int), ``three_factor`` (0/1; 1 needs a
``lif_3f`` post population), optional ``tag_1`` / ``tag_2`` int arrays (n_post, n_pre) and
``graded_spike_cfg`` (0 only: regular impulses); binary pre spikes only (``num_message_bits`` 0).
"""

from __future__ import annotations

import math

import numpy as np

from neurocompile.errors import GraphError, ParameterError, RangeError, UnsupportedError
from neurocompile.schema import check_int, check_int_array

from . import spec
from .learning import parse_projection_rules


def validate_lif_3f(pop) -> None:
    p, name, what = pop.params, pop.name, "lif_3f population"
    for k in ("y1", "y3"):
        check_int(p[f"{k}_impulse"], 0, spec.TRACE_MAX, what=what, node=name, field=f"{k}_impulse")
        check_int(p[f"{k}_decay"], 0, spec.Y_DECAY_MAX, what=what, node=name, field=f"{k}_decay")
    if not isinstance(p["reward"], str):
        raise ParameterError("reward must be an input population name or ''", node=name, parameter="reward")
    check_int(p.get("psi_height", 0), 0, spec.TRACE_MAX, what=what, node=name, field="psi_height")
    check_int(p.get("psi_shift", 0), 0, spec.PSI_SHIFT_MAX, what=what, node=name, field="psi_shift")
    check_int(p.get("signal_mode", 0), 0, 1, what=what, node=name, field="signal_mode")
    check_int(p.get("error_out", 0), 0, 1, what=what, node=name, field="error_out")
    check_int(p.get("signal_shift", 0), 0, spec.SIGNAL_SHIFT_MAX, what=what, node=name, field="signal_shift")
    check_int(p.get("signal_lsb", 0), 0, spec.SIGNAL_LSB_MAX, what=what, node=name, field="signal_lsb")
    if int(p.get("signal_shift", 0)) + int(p.get("signal_lsb", 0)) > spec.SIGNAL_SHIFT_MAX:
        raise ParameterError(
            f"signal_shift + signal_lsb must be <= {spec.SIGNAL_SHIFT_MAX}", node=name, parameter="signal_lsb"
        )


def validate_feedback(proj, program) -> None:
    """A feedback projection: lif_3f (error_out) -> lif_3f third factor, graded, dense."""
    p, name = proj.params, proj.name
    pre, post = program.populations[proj.pre], program.populations[proj.post]
    check_int(p["feedback"], 0, 1, what="feedback projection", node=name, field="feedback")
    if proj.kind != "dense":
        raise UnsupportedError(
            f"a feedback projection must be dense, got {proj.kind}",
            node=name,
            parameter="kind",
            expected="dense",
        )
    if pre.kind != "lif_3f" or not int(pre.params.get("error_out", 0)):
        raise GraphError(
            f"feedback projection '{name}' comes from '{pre.name}', which sends no error",
            node=name,
            parameter="pre",
            expected="a lif_3f population with error_out = 1",
        )
    if post.kind != "lif_3f":
        raise GraphError(
            f"feedback projection '{name}' ends at '{post.name}' ({post.kind})",
            node=name,
            parameter="post",
            expected="a lif_3f population (its third-factor input)",
        )
    if post.params.get("reward"):
        raise UnsupportedError(
            f"'{post.name}' reads both a reward input and feedback projections",
            node=post.name,
            parameter="reward",
            expected="one source of the third factor",
        )
    if int(p["num_message_bits"]) == 0:
        raise ParameterError(
            "a feedback projection carries graded errors",
            node=name,
            parameter="num_message_bits",
            expected=">= 1 (graded payloads)",
        )


def validate_learning_dense(proj, program) -> None:
    p, name, what = proj.params, proj.name, "learning_dense projection"
    n_pre = program.populations[proj.pre].size
    post = program.populations[proj.post]
    n_post = post.size
    if int(p["num_message_bits"]) != 0:
        raise UnsupportedError(
            "graded pre spikes into a learning_dense are not supported",
            node=name,
            parameter="num_message_bits",
            expected="0 (binary spikes)",
        )
    if int(p.get("graded_spike_cfg", 0)) != 0:
        raise UnsupportedError(
            "only GradedSpikeCfg.USE_REGULAR_IMPULSE (0) is modelled",
            node=name,
            parameter="graded_spike_cfg",
            expected="0",
        )
    check_int(p["t_epoch"], spec.T_EPOCH_MIN, spec.T_EPOCH_MAX, what=what, node=name, field="t_epoch")
    check_int(p["rng_seed"], spec.RNG_SEED_MIN, spec.RNG_SEED_MAX, what=what, node=name, field="rng_seed")
    three = check_int(p["three_factor"], 0, 1, what=what, node=name, field="three_factor")
    for k in ("x1", "x2", "y1", "y2", "y3"):
        for f in ("impulse", "tau"):
            v = p[f"{k}_{f}"]
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float, np.integer, np.floating))
                or not math.isfinite(v)
            ):
                raise ParameterError(
                    f"{k}_{f} must be a finite number, got {v!r}", node=name, parameter=f"{k}_{f}"
                )
            if v < 0:
                raise RangeError(f"{k}_{f}={v} is negative", node=name, parameter=f"{k}_{f}", expected=">= 0")
        imp = float(p[f"{k}_impulse"])
        if imp > spec.TRACE_MAX or imp * 2**spec.TRACE_FRACTION_BITS != round(
            imp * 2**spec.TRACE_FRACTION_BITS
        ):
            raise RangeError(
                f"{k}_impulse={imp} is not a multiple of 1/256 in 0..127",
                node=name,
                parameter=f"{k}_impulse",
                expected="0 <= impulse <= 127, 8 fractional bits",
            )
    if three and post.kind != "lif_3f":
        raise GraphError(
            f"a three-factor rule needs a lif_3f post population, '{post.name}' is {post.kind}",
            node=name,
            parameter="post",
            expected="a lif_3f population",
        )
    if post.kind == "lif_3f" and post.params["reward"]:
        r = program.populations.get(post.params["reward"])
        if r is None or r.kind != "input" or r.size != n_post:
            raise GraphError(
                f"reward population '{post.params['reward']}' is not an input population of size {n_post}",
                node=post.name,
                parameter="reward",
                expected="an input population of the post size",
            )
    for tag, (lo, hi) in (("tag_1", spec.TAG_1_RANGE), ("tag_2", spec.TAG_2_RANGE)):
        if tag in p:
            check_int_array(np.asarray(p[tag]), (n_post, n_pre), lo, hi, what=what, node=name, field=tag)
    for k in ("dw", "dd", "dt"):
        if not isinstance(p[k], str):
            raise ParameterError(f"{k} must be a rule string ('' for none)", node=name, parameter=k)
    parse_projection_rules(p, name)
