"""The ``spinnaker`` Program schema (limits from :mod:`.spec`).

:func:`validate_program` checks every field of every population and projection against the
limits in :mod:`.spec` and raises a typed error naming the population or projection, the field
and the limit:

* :class:`~neurocompile.errors.RangeError`: an integer outside its hardware range (``w16``,
  delays, ring-buffer shifts, neurons per core), or a float that does not fit s16.15 once encoded
  or derived on chip (``R = tau_m / cm``);
* :class:`~neurocompile.errors.ParameterError`: a missing/unknown field, a wrong type or shape,
  NaN/inf, a non-positive time constant or capacitance;
* :class:`~neurocompile.errors.GraphError`: a projection or input/output naming a population that
  does not exist or cannot play that role.

Neuron parameters stay floats in PyNN units (mV, nF, ms, nA) because that is what the host ships;
the integers the chip computes from them (:mod:`.fixed`) are derived identically by the emulator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurocompile.errors import GraphError, ParameterError, RangeError
from neurocompile.program import Program, check_semantics
from neurocompile.schema import (
    check_fields,
    check_int,
    check_int_array,
    check_population_header,
    check_projection_header,
)

from . import fixed, spec

_POP_FIELDS = {
    "spike_source": set(),
    "if_curr_exp": set(spec.NEURON_SCALAR_PARAMS["if_curr_exp"])
    | set(spec.NEURON_ARRAY_PARAMS)
    | {"ring_buffer_shifts", "neurons_per_core"},
    "if_curr_delta": set(spec.NEURON_SCALAR_PARAMS["if_curr_delta"])
    | set(spec.NEURON_ARRAY_PARAMS)
    | {"ring_buffer_shifts", "neurons_per_core"},
}
_POP_OPTIONAL = {"neurons_per_core"}
_PROJ_FIELDS = {
    "from_list": {"pre", "post", "w16", "delays", "receptor"},
    "stdp": {"pre", "post", "w16", "delays", "receptor", "plasticity"},
}
_POSITIVE = ("cm", "tau_m", "tau_syn_E", "tau_syn_I")


def _s1615_fits(x: float) -> bool:
    return spec.S1615_MIN <= x <= spec.S1615_MAX - 1.0 / spec.S1615_ONE


def check_float(
    value: Any, *, what: str, node: str, field: str, positive: bool = False, nonnegative: bool = False
) -> float:
    """A finite float scalar that fits s16.15 (and is > 0 / >= 0 when asked)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(
            f"{what} field must be a number, got {value!r}", node=node, parameter=field, expected="a float"
        )
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(
            f"{what} {field}={v} is not finite", node=node, parameter=field, expected="a finite float"
        )
    if positive and v <= 0:
        raise ParameterError(
            f"{what} {field}={v} must be positive", node=node, parameter=field, expected=f"{field} > 0"
        )
    if nonnegative and v < 0:
        raise ParameterError(
            f"{what} {field}={v} must not be negative", node=node, parameter=field, expected=f"{field} >= 0"
        )
    if not _s1615_fits(v):
        raise RangeError(
            f"{what} {field}={v} does not fit s16.15",
            node=node,
            parameter=field,
            expected=f"{spec.S1615_MIN} <= {field} < {spec.S1615_MAX}",
        )
    return v


def check_float_array(value: Any, n: int, *, what: str, node: str, field: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(
            f"{what} field must be a float array, got dtype {arr.dtype}",
            node=node,
            parameter=field,
            expected=f"floats, shape ({n},)",
        )
    if arr.shape != (n,):
        raise ParameterError(
            f"{what} field has shape {arr.shape}", node=node, parameter=field, expected=f"shape ({n},)"
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(
            f"{what} {field} contains NaN or inf", node=node, parameter=field, expected="finite floats"
        )
    if arr.size and not (_s1615_fits(float(arr.min())) and _s1615_fits(float(arr.max()))):
        i = int(np.argmax((arr < spec.S1615_MIN) | (arr >= spec.S1615_MAX)))
        raise RangeError(
            f"{what} {field}[{i}]={arr[i]} does not fit s16.15",
            node=node,
            parameter=field,
            expected=f"{spec.S1615_MIN} <= {field} < {spec.S1615_MAX}",
        )
    return arr


def tick_ms_of(program: Program) -> float:
    """The PyNN timestep (ms) of a spinnaker Program (``program.semantics['tick_ms']``)."""
    t = program.semantics.get("tick_ms")
    if t is None:
        raise ParameterError(
            "the spinnaker Program has no tick_ms in its semantics",
            parameter="tick_ms",
            expected="semantics['tick_ms'] (the PyNN timestep, e.g. 1.0 or 0.1)",
        )
    t = check_float(t, what="program semantics", node="semantics", field="tick_ms", positive=True)
    if int(round(t * 1000)) <= 0 or abs(int(round(t * 1000)) - t * 1000) > 1e-9:
        raise ParameterError(
            f"tick_ms={t} is not a whole number of microseconds",
            node="semantics",
            parameter="tick_ms",
            expected="a multiple of 0.001 ms (e.g. 1.0 or 0.1)",
        )
    return t


def validate_population(pop, tick_ms: float | None = None) -> None:
    name = pop.name
    check_population_header(pop, spec.POPULATION_KINDS, schema="spinnaker")
    what = f"{pop.kind} population"
    p = pop.params
    check_fields(p, _POP_FIELDS[pop.kind], _POP_OPTIONAL, what=what, node=name, schema="spinnaker")
    if pop.kind in spec.SOURCE_KINDS:
        return
    vals = {}
    n = pop.size
    for f in spec.NEURON_SCALAR_PARAMS[pop.kind]:
        if np.ndim(p[f]) > 0:
            # one value per neuron (PyNN takes per-neuron arrays; sPyNNaker stores them per neuron):
            # each entry is checked as the scalar would be, the range checks below take the extremes
            arr = check_float_array(p[f], n, what=what, node=name, field=f)
            lo = check_float(
                float(arr.min()),
                what=what,
                node=name,
                field=f,
                positive=f in _POSITIVE,
                nonnegative=f == "tau_refrac",
            )
            vals[f] = float(arr.max()) if f in ("tau_refrac",) else lo
            vals[f + ":arr"] = arr
        else:
            vals[f] = check_float(
                p[f], what=what, node=name, field=f, positive=f in _POSITIVE, nonnegative=f == "tau_refrac"
            )
    for f in spec.NEURON_ARRAY_PARAMS:
        check_float_array(p[f], n, what=what, node=name, field=f)
    shifts = p["ring_buffer_shifts"]
    if not isinstance(shifts, (list, tuple, np.ndarray)) or len(shifts) != spec.N_SYNAPSE_TYPES:
        raise ParameterError(
            f"{what} ring_buffer_shifts must be [excitatory, inhibitory]",
            node=name,
            parameter="ring_buffer_shifts",
            expected=f"{spec.N_SYNAPSE_TYPES} integers",
        )
    for s, rec in zip(shifts, spec.SYNAPSE_TYPES):
        check_int(
            s,
            spec.RING_BUFFER_SHIFT_MIN,
            spec.RING_BUFFER_SHIFT_MAX,
            what=what,
            node=name,
            field=f"ring_buffer_shifts ({rec})",
        )
    if "neurons_per_core" in p:
        check_int(
            p["neurons_per_core"],
            1,
            spec.NEURONS_PER_CORE_MAX,
            what=what,
            node=name,
            field="neurons_per_core",
        )
    # values the chip derives at load time must fit s16.15 as well
    r = float(
        np.max(np.asarray(vals.get("tau_m:arr", vals["tau_m"])) / np.asarray(vals.get("cm:arr", vals["cm"])))
    )
    if not _s1615_fits(r):
        raise RangeError(
            f"{what} R = tau_m / cm = {r:g} MOhm does not fit s16.15",
            node=name,
            parameter="tau_m",
            expected=f"tau_m / cm < {spec.S1615_MAX}",
        )
    if tick_ms is not None:
        for f in ("tau_m", "tau_syn_E", "tau_syn_I"):
            if f in vals and vals[f] < tick_ms / 2.0**15:
                raise RangeError(
                    f"{what} {f}={vals[f]} is too short for tick_ms={tick_ms}",
                    node=name,
                    parameter=f,
                    expected=f"tick_ms / {f} < 2^15",
                )
        tr = vals["tau_refrac"] / tick_ms
        if tr >= 2.0**16:
            raise RangeError(
                f"{what} tau_refrac={vals['tau_refrac']} is {tr:g} ticks",
                node=name,
                parameter="tau_refrac",
                expected="tau_refrac / tick_ms < 65536",
            )


def validate_projection(proj, program: Program) -> None:
    name = proj.name
    post = check_projection_header(
        proj,
        program,
        spec.PROJECTION_KINDS,
        spec.NEURON_KINDS,
        "an if_curr_exp or if_curr_delta population",
        schema="spinnaker",
    )
    what = f"{proj.kind} projection"
    p = proj.params
    check_fields(p, _PROJ_FIELDS[proj.kind], set(), what=what, node=name, schema="spinnaker")
    if p["receptor"] not in spec.SYNAPSE_TYPES:
        raise ParameterError(
            f"{what} receptor {p['receptor']!r} is not a receptor of {post.kind}",
            node=name,
            parameter="receptor",
            expected=" or ".join(spec.SYNAPSE_TYPES),
        )
    pre_idx = np.asarray(p["pre"])
    if pre_idx.ndim != 1:
        raise ParameterError(
            f"{what} field 'pre' must be a 1-D index array",
            node=name,
            parameter="pre",
            expected="shape (n_synapses,)",
        )
    m = pre_idx.shape[0]
    n_pre = program.populations[proj.pre].size
    check_int_array(pre_idx, (m,), 0, n_pre - 1, what=what, node=name, field="pre")
    check_int_array(p["post"], (m,), 0, post.size - 1, what=what, node=name, field="post")
    check_int_array(p["w16"], (m,), spec.W16_MIN, spec.W16_MAX, what=what, node=name, field="w16")
    npc = int(post.params.get("neurons_per_core", spec.NEURONS_PER_CORE))
    check_int_array(
        p["delays"],
        (m,),
        spec.DELAY_MIN_TICKS,
        spec.max_delay_ticks(min(npc, post.size)),
        what=what,
        node=name,
        field="delays",
    )
    if proj.kind == "stdp":
        _validate_stdp(proj, program, post, npc)


def _validate_stdp(proj, program: Program, post, npc: int) -> None:
    """STDP projections: the plasticity block (learning.py) and delays without a delay-extension core."""
    from .learning import validate_plasticity

    p = proj.params
    slots = spec.core_delay_slots(min(npc, post.size))
    d = np.asarray(p["delays"])
    if d.size and int(d.max()) > slots:
        raise RangeError(
            f"stdp projection delay {int(d.max())} ticks needs a delay-extension core; sPyNNaker's STDP "
            "row would then see the extension's send time as the pre time (not modelled)",
            node=proj.name,
            parameter="delays",
            expected=f"delays <= {slots} ticks (the post core's slots)",
        )
    shift = int(post.params["ring_buffer_shifts"][spec.SYNAPSE_TYPES.index(p["receptor"])])
    validate_plasticity(
        p["plasticity"], node=proj.name, tick_ms=tick_ms_of(program), shift=shift, post_kind=post.kind
    )


def input_shapes(program: Program) -> dict[str, tuple[int, ...]]:
    """``{data key: shape}`` of the spike-source populations fed from run inputs."""
    return {key: tuple(program.populations[pop].shape) for key, pop in program.inputs.items()}


def validate_program(program: Program) -> Program:
    """Check a whole spinnaker Program; returns it unchanged (raises a typed error otherwise)."""
    if program.target != "spinnaker":
        raise ParameterError(
            f"Program target is {program.target!r}", parameter="target", expected="'spinnaker'"
        )
    check_semantics(program.semantics)
    tick_ms = tick_ms_of(program)
    for pop in program.populations.values():
        validate_population(pop, tick_ms)
    rule_of: dict[str, Any] = {}
    for proj in program.projections.values():
        validate_projection(proj, program)
        if proj.kind == "stdp":
            first = rule_of.setdefault(proj.post, (proj.name, proj.params["plasticity"]))
            if dict(first[1]) != dict(proj.params["plasticity"]):
                raise ParameterError(
                    f"stdp projections '{first[0]}' and '{proj.name}' into '{proj.post}' have different "
                    "plasticity; sPyNNaker requires one STDP rule per post population",
                    node=proj.name,
                    parameter="plasticity",
                    expected=f"the plasticity of '{first[0]}'",
                )
    for key, popname in program.inputs.items():
        pop = program.populations.get(popname)
        if pop is None or pop.kind not in spec.SOURCE_KINDS:
            raise GraphError(
                f"input '{key}' feeds '{popname}', which is not a spike_source population",
                node=key,
                parameter="inputs",
                expected="a spike_source population",
            )
    fed = set(program.inputs.values())
    for n, p in program.populations.items():
        if p.kind in spec.SOURCE_KINDS and n not in fed:
            raise GraphError(
                "spike_source population is not fed by any input key",
                node=n,
                parameter="inputs",
                expected="an entry in Program.inputs",
            )
    for key, o in program.outputs.items():
        pop = program.populations.get(o.population)
        if pop is None:
            raise GraphError(
                f"output reads population '{o.population}', which does not exist",
                node=key,
                parameter="outputs",
                expected="one of " + ", ".join(sorted(program.populations)),
            )
        if o.observable not in spec.OBSERVABLES or (
            pop.kind in spec.SOURCE_KINDS and o.observable != "spikes"
        ):
            raise ParameterError(
                f"output observable {o.observable!r} of a {pop.kind} population",
                node=key,
                parameter="outputs",
                expected="spikes, v or u (spike sources: spikes)",
            )
    return program


__all__ = [
    "validate_program",
    "validate_population",
    "validate_projection",
    "input_shapes",
    "tick_ms_of",
    "check_float",
    "check_float_array",
    "fixed",
]
