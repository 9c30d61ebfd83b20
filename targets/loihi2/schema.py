"""The ``loihi2`` Program schema (limits from :mod:`.spec`).

:func:`validate_program` checks every field of every population and projection against the
limits in :mod:`.spec` and raises a typed error naming the population or projection, the field
and the limit:

* :class:`~neurocompile.errors.RangeError`: an integer outside its hardware range;
* :class:`~neurocompile.errors.ParameterError`: a missing/unknown field, a wrong type or shape;
* :class:`~neurocompile.errors.GraphError`: a projection or input/output naming a population
  that does not exist or cannot play that role.

Weights must lie in their sign mode's 8-bit range (MIXED -256..255, EXCITATORY 0..255,
INHIBITORY -255..0): Lava would silently clip them, we refuse instead. The LSB truncation by
``num_weight_bits`` is not an error; it is the documented arithmetic the backends apply.
"""

from __future__ import annotations

import numpy as np

from neurocompile.errors import GraphError, ParameterError, RangeError
from neurocompile.program import Program, check_semantics
from neurocompile.schema import (
    check_fields,
    check_int,
    check_int_array,
    check_population_header,
    check_projection_header,
    is_int,
)

from . import spec
from .signals import SIGNAL_FIELDS

_COMMON_PROJ = ("weight_exp", "num_weight_bits", "sign_mode", "num_message_bits")
_POP_FIELDS = {
    "input": {"num_message_bits"},
    "lif": {"du", "dv", "vth", "bias_mant", "bias_exp", "u_init", "v_init"},
    "lif_reset": {
        "du",
        "dv",
        "vth",
        "bias_mant",
        "bias_exp",
        "u_init",
        "v_init",
        "reset_interval",
        "reset_offset",
    },
    # learning post neuron (targets/loihi2/learning_validate.py documents the fields)
    "lif_3f": {
        "du",
        "dv",
        "vth",
        "bias_mant",
        "bias_exp",
        "u_init",
        "v_init",
        "y1_impulse",
        "y1_decay",
        "y3_impulse",
        "y3_decay",
        "reward",
    }
    | set(SIGNAL_FIELDS),  # learning signals (targets/loihi2/signals.py), optional
}
_POP_OPTIONAL = {"u_init", "v_init"} | set(SIGNAL_FIELDS)
_PROJ_FIELDS = {
    "dense": set(_COMMON_PROJ) | {"weights", "feedback"},
    "delay_dense": set(_COMMON_PROJ) | {"weights", "delays"},
    "sparse": set(_COMMON_PROJ) | {"pre", "post", "weights"},
    "delay_sparse": set(_COMMON_PROJ) | {"pre", "post", "weights", "delays"},
    "learning_dense": set(_COMMON_PROJ)
    | {
        "weights",
        "dw",
        "dd",
        "dt",
        "t_epoch",
        "rng_seed",
        "three_factor",
        "tag_1",
        "tag_2",
        "graded_spike_cfg",
    }
    | {f"{k}_{f}" for k in ("x1", "x2", "y1", "y2", "y3") for f in ("impulse", "tau")},
}
_PROJ_OPTIONAL = {"tag_1", "tag_2", "graded_spike_cfg", "feedback"}


def validate_population(pop) -> None:
    name = pop.name
    check_population_header(pop, spec.POPULATION_KINDS, schema="loihi2")
    what = f"{pop.kind} population"
    p = pop.params
    check_fields(p, _POP_FIELDS[pop.kind], _POP_OPTIONAL, what=what, node=name, schema="loihi2")
    if pop.kind == "input":
        check_int(
            p["num_message_bits"],
            spec.NUM_MESSAGE_BITS_MIN,
            spec.NUM_MESSAGE_BITS_MAX,
            what=what,
            node=name,
            field="num_message_bits",
        )
        return
    n = pop.size
    for key, lo, hi in (("du", spec.DU_MIN, spec.DU_MAX), ("dv", spec.DV_MIN, spec.DV_MAX)):
        if pop.kind in spec.PER_NEURON_DECAY_KINDS and np.ndim(p[key]) > 0:
            # per-neuron decays (lava_models/lifdecays.py); a scalar is one decay for all
            check_int_array(p[key], (n,), lo, hi, what=what, node=name, field=key)
        else:
            check_int(p[key], lo, hi, what=what, node=name, field=key)
    check_int(p["vth"], spec.VTH_MIN, spec.VTH_MAX, what=what, node=name, field="vth")
    check_int_array(
        p["bias_mant"], (n,), spec.BIAS_MANT_MIN, spec.BIAS_MANT_MAX, what=what, node=name, field="bias_mant"
    )
    check_int_array(
        p["bias_exp"], (n,), spec.BIAS_EXP_MIN, spec.BIAS_EXP_MAX, what=what, node=name, field="bias_exp"
    )
    if "u_init" in p:
        check_int_array(
            p["u_init"], (n,), spec.U_INIT_MIN, spec.U_INIT_MAX, what=what, node=name, field="u_init"
        )
    if "v_init" in p:
        check_int_array(
            p["v_init"], (n,), spec.V_INIT_MIN, spec.V_INIT_MAX, what=what, node=name, field="v_init"
        )
    if pop.kind == "lif_reset":
        check_int(
            p["reset_interval"], spec.RESET_INTERVAL_MIN, None, what=what, node=name, field="reset_interval"
        )
        check_int(p["reset_offset"], spec.RESET_OFFSET_MIN, None, what=what, node=name, field="reset_offset")
    if pop.kind == "lif_3f":
        from .learning_validate import validate_lif_3f

        validate_lif_3f(pop)


def validate_projection(proj, program: Program) -> None:
    name = proj.name
    post = check_projection_header(
        proj,
        program,
        spec.PROJECTION_KINDS,
        spec.NEURON_KINDS,
        "a lif, lif_reset or lif_3f population",
        schema="loihi2",
    )
    what = f"{proj.kind} projection"
    p = proj.params
    check_fields(p, _PROJ_FIELDS[proj.kind], _PROJ_OPTIONAL, what=what, node=name, schema="loihi2")
    check_int(
        p["weight_exp"], spec.WEIGHT_EXP_MIN, spec.WEIGHT_EXP_MAX, what=what, node=name, field="weight_exp"
    )
    check_int(
        p["num_weight_bits"],
        spec.NUM_WEIGHT_BITS_MIN,
        spec.NUM_WEIGHT_BITS_MAX,
        what=what,
        node=name,
        field="num_weight_bits",
    )
    sm = p["sign_mode"]
    if not is_int(sm) or int(sm) not in spec.SIGN_MODES:
        raise RangeError(
            f"{what} sign_mode={sm!r} is not a sign mode",
            node=name,
            parameter="sign_mode",
            expected="1 (MIXED), 2 (EXCITATORY) or 3 (INHIBITORY)",
        )
    sm = int(sm)
    check_int(
        p["num_message_bits"],
        spec.NUM_MESSAGE_BITS_MIN,
        spec.NUM_MESSAGE_BITS_MAX,
        what=what,
        node=name,
        field="num_message_bits",
    )
    n_pre = program.populations[proj.pre].size
    n_post = post.size
    wlo, whi = spec.WEIGHT_RANGE[sm]
    wfield = f"weights ({spec.SIGN_MODES[sm]} sign mode)"
    if proj.kind == "learning_dense":
        from .learning_validate import validate_learning_dense

        _weights(p["weights"], (n_post, n_pre), wlo, whi, wfield, what, name)
        validate_learning_dense(proj, program)
        return
    if int(p.get("feedback", 0)):
        from .learning_validate import validate_feedback

        validate_feedback(proj, program)
    if proj.kind in ("dense", "delay_dense"):
        _weights(p["weights"], (n_post, n_pre), wlo, whi, wfield, what, name)
        if proj.kind == "delay_dense":
            check_int_array(
                p["delays"],
                (n_post, n_pre),
                spec.DELAY_MIN,
                spec.DELAY_MAX,
                what=what,
                node=name,
                field="delays",
            )
        return
    pre_idx = np.asarray(p["pre"])
    if pre_idx.ndim != 1:
        raise ParameterError(
            f"{what} field 'pre' must be a 1-D index array",
            node=name,
            parameter="pre",
            expected="shape (n_synapses,)",
        )
    m = pre_idx.shape[0]
    pre_idx = check_int_array(pre_idx, (m,), 0, n_pre - 1, what=what, node=name, field="pre")
    post_idx = check_int_array(p["post"], (m,), 0, n_post - 1, what=what, node=name, field="post")
    _weights(p["weights"], (m,), wlo, whi, wfield, what, name)
    if proj.kind == "delay_sparse":
        check_int_array(
            p["delays"], (m,), spec.DELAY_MIN, spec.DELAY_MAX, what=what, node=name, field="delays"
        )
    if m:
        key = post_idx.astype(np.int64, copy=False) * n_pre + pre_idx.astype(np.int64, copy=False)
        if np.all(np.diff(key) > 0):  # increasing (post, pre), as the lowering writes: unique
            return
        uniq, counts = np.unique(key, return_counts=True)
        if (counts > 1).any():
            k = int(uniq[np.argmax(counts > 1)])
            raise ParameterError(
                f"{what} has duplicate synapse (pre={k % n_pre}, post={k // n_pre})",
                node=name,
                parameter="pre",
                expected="at most one synapse per (pre, post) pair",
            )


def _weights(value, shape, lo, hi, field, what, node) -> None:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(
            f"{what} field must be an integer array, got dtype {arr.dtype}",
            node=node,
            parameter="weights",
            expected=f"integers, shape {shape}",
        )
    if arr.shape != tuple(shape):
        raise ParameterError(
            f"{what} field has shape {arr.shape}",
            node=node,
            parameter="weights",
            expected=f"shape {tuple(shape)}",
        )
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = (arr < lo) | (arr > hi)
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RangeError(
            f"{what} weights{list(idx)}={int(arr[idx])} is out of range for its sign mode "
            f"({int(bad.sum())} entries)",
            node=node,
            parameter="weights",
            expected=f"{lo} <= {field} <= {hi}",
        )


def validate_program(program: Program) -> Program:
    """Check a loihi2 Program completely; return it unchanged or raise a typed error."""
    if program.target != "loihi2":
        raise ParameterError(f"Program target is {program.target!r}", parameter="target", expected="'loihi2'")
    check_semantics(program.semantics)
    for key, pop in program.populations.items():
        if key != pop.name:
            raise ParameterError(
                f"population stored under key '{key}' is named '{pop.name}'",
                node=pop.name,
                parameter="name",
                expected="the key and the name to agree",
            )
        validate_population(pop)
    for key, proj in program.projections.items():
        if key != proj.name:
            raise ParameterError(
                f"projection stored under key '{key}' is named '{proj.name}'",
                node=proj.name,
                parameter="name",
                expected="the key and the name to agree",
            )
        validate_projection(proj, program)
    fed: dict[str, str] = {}
    for key, popname in program.inputs.items():
        pop = program.populations.get(popname)
        if pop is None or pop.kind != "input":
            raise GraphError(
                f"input '{key}' names population '{popname}', which is not an input population",
                node=key,
                parameter="inputs",
                expected="an input population",
            )
        if popname in fed:
            raise GraphError(
                f"inputs '{fed[popname]}' and '{key}' both feed population '{popname}'",
                node=popname,
                parameter="inputs",
                expected="one data key per input population",
            )
        fed[popname] = key
    for pop in program.populations.values():
        if pop.kind == "input" and pop.name not in fed:
            raise GraphError(
                "input population is fed by no key of Program.inputs",
                node=pop.name,
                parameter="inputs",
                expected="every input population listed in Program.inputs",
            )
    for key, out in program.outputs.items():
        pop = program.populations.get(out.population)
        if pop is None:
            raise GraphError(
                f"output '{key}' reads unknown population '{out.population}'",
                node=key,
                parameter="outputs",
                expected="one of " + ", ".join(sorted(program.populations)),
            )
        if out.observable not in spec.OBSERVABLES or (pop.kind == "input" and out.observable != "spikes"):
            raise ParameterError(
                f"output '{key}' reads observable {out.observable!r} of {pop.kind} population '{pop.name}'",
                node=key,
                parameter="observable",
                expected="spikes, v or u (input populations: spikes)",
            )
    return program


def input_shapes(program: Program) -> dict[str, tuple[int, ...]]:
    """Run-data key -> the shape of one time step of that input."""
    return {key: tuple(program.populations[pop].shape) for key, pop in program.inputs.items()}
