"""``run_program``: run a loihi2 Program on the bit-exact emulator (Lava 0.10.0 fixed_pt).

Inputs follow the ``.npz`` convention: ``{key: (batch, time, *shape)}`` with the keys of
``Program.inputs``. Samples of a batch are independent (Lava has no batch; each sample is what
a fresh Lava network would compute). Recording keys ``POP.spikes``, ``POP.v``, ``POP.u`` hold the
value after each step's update, i.e. what a Lava ``Monitor`` reads at that step.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from neurocompile.data import (
    FIDELITY_BIT_EXACT,
    RunResult,
    check_inputs,
    parse_record,
    progress_chunks,
    record_index,
)
from neurocompile.errors import InputDataError, NumericOverflowError, UnsupportedError
from neurocompile.program import Program

from . import engine

_SUPPORTED = ("loihi2",)


def _gather_inputs(
    program: Program, inputs: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], int, int]:
    """The input arrays by key, shape-checked, without copies when they are numeric ndarrays
    of the right layout (anything else goes through :func:`check_inputs` for its errors)."""
    from neurocompile.targets.loihi2.schema import input_shapes

    shapes = input_shapes(program)
    arrays: dict[str, np.ndarray] = {}
    bt = None
    for key, shape in shapes.items():
        arr = inputs.get(key) if hasattr(inputs, "get") else None
        if (
            not isinstance(arr, np.ndarray)
            or arr.dtype.kind not in "biuf"
            or arr.ndim != 2 + len(shape)
            or tuple(arr.shape[2:]) != tuple(shape)
            or (bt is not None and arr.shape[:2] != bt)
        ):
            return check_inputs(inputs, shapes)
        bt = arr.shape[:2]
        arrays[key] = arr
    if bt is None:
        return check_inputs(inputs, shapes)
    return arrays, int(bt[0]), int(bt[1])


def _check_values(program: Program, arrays: dict[str, np.ndarray]) -> dict[str, int]:
    """Spikes must be 0/1, graded payloads integers within signed 24 bit. Returns the largest
    |payload| per input population (for the engine's int32 proof)."""
    from neurocompile.targets.loihi2 import spec

    pmax = {}
    for key, arr in arrays.items():
        pop = program.populations[program.inputs[key]]
        nmb = int(pop.params["num_message_bits"])
        if arr.size == 0:
            pmax[pop.name] = 0
            continue
        if nmb == 0:
            if arr.dtype == np.bool_:
                ok = True
            else:
                ok = np.count_nonzero(arr) == np.count_nonzero(arr == 1)  # NaN/inf/0.5/2 all fail
            if not ok:
                raise InputDataError(
                    f"binary input population '{pop.name}' got values other than 0 and 1",
                    node=key,
                    parameter="input",
                    expected="spikes 0/1 (or num_message_bits > 0 for graded payloads)",
                )
            pmax[pop.name] = 1
            continue
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and np.array_equal(arr, np.rint(arr))):
            raise InputDataError(
                "input values must be finite integers (graded payloads)",
                node=key,
                parameter="input",
                expected="integer values",
            )
        lo, hi = arr.min(), arr.max()
        if lo < spec.PAYLOAD_MIN or hi > spec.PAYLOAD_MAX:
            raise InputDataError(
                f"graded payload out of range for population '{pop.name}'",
                node=key,
                parameter="input",
                expected=f"{spec.PAYLOAD_MIN} <= payload <= {spec.PAYLOAD_MAX}",
            )
        pmax[pop.name] = int(max(abs(int(lo)), abs(int(hi))))
    return pmax


def run_program(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    *,
    record: Iterable[Any] | str | None = (),
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run ``program`` on ``inputs`` bit-exactly as its reference (Lava 0.10.0 fixed_pt for loihi2).

    ``record``: ``"POP.v,POP.u"`` or an iterable of ``"POP.obs"`` / ``(POP, obs)``.
    ``strict``: raise :class:`NumericOverflowError` on the first u wrap / v saturation instead of
    warning once per population (Programs with learning: also on the first saturated weight, tag or
    trace, warned once per projection otherwise; ``learning.learning_overflow_messages``).
    ``progress``: called as ``progress(samples_done, batch)`` after each chunk of samples.
    """
    if program.target not in _SUPPORTED:
        raise UnsupportedError(
            f"the emulator has no profile for target {program.target!r}",
            parameter="target",
            expected=" or ".join(_SUPPORTED),
        )
    from neurocompile.targets.loihi2 import spec

    from .learning import has_learning
    from .plan import plan_for, ring_dtype

    if has_learning(program):  # learning_dense / lif_3f: own kernel (learning.py); the fast path is untouched
        from .learning import run_learning_entry

        res = run_learning_entry(program, inputs, record, strict=strict)
        for m in res.warnings:
            warnings.warn(m, RuntimeWarning, stacklevel=2)
        return res

    plan = plan_for(program)  # validates the Program (memoized with the flattened plan)
    arrays, batch, steps = _gather_inputs(program, inputs)

    rec = parse_record(record)
    pops = program.populations
    for pop, obs in rec:
        if pop not in pops:
            raise InputDataError(
                f"cannot record unknown population '{pop}'",
                node=pop,
                parameter="record",
                expected="one of " + ", ".join(sorted(pops)),
            )
        if obs not in spec.OBSERVABLES or (pops[pop].kind == "input" and obs != "spikes"):
            raise InputDataError(
                f"cannot record {obs!r} of {pops[pop].kind} population '{pop}'",
                node=pop,
                parameter="record",
                expected="spikes, v or u (input populations: spikes)",
            )

    # which (population, observable) the kernel must record
    needed = list(dict.fromkeys(rec + [(o.population, o.observable) for o in program.outputs.values()]))
    cols: dict[str, list[str]] = {"u": [], "v": [], "spikes": []}
    for pop, obs in needed:
        if pops[pop].kind != "input" and pop not in cols[obs]:
            cols[obs].append(pop)

    rec_u, where_u = record_index(cols["u"], plan.lif_slices)
    rec_v, where_v = record_index(cols["v"], plan.lif_slices)
    rec_s, where_s = record_index(cols["spikes"], plan.lif_slices)

    # int8 events when every input is binary: a quarter of the memory of int32
    graded_in = any(int(pops[p].params["num_message_bits"]) > 0 for p in program.inputs.values())
    inp = np.empty((batch, steps, plan.NI), np.int32 if graded_in else np.int8)
    pmax: dict[str, int] = {}
    for key, popname in program.inputs.items():
        off, size = plan.in_slices[popname]
        binary = int(pops[popname].params["num_message_bits"]) == 0
        src = arrays[key].reshape(batch, steps, size)
        nbad, mx = engine.fill_events(src, inp, off, binary, spec.PAYLOAD_MIN, spec.PAYLOAD_MAX)
        if nbad:
            _check_values(program, {key: arrays[key]})  # raises the precise error
            raise InputDataError(
                f"{nbad} input values are not valid",
                node=key,
                parameter="input",
                expected="spikes 0/1 or integer payloads within signed 24 bit",
            )
        pmax[popname] = int(mx)
    out_u = np.zeros((batch, steps, rec_u.size), np.int32)  # u, v are int32 Vars in Lava
    out_v = np.zeros((batch, steps, rec_v.size), np.int32)
    out_s = np.zeros((batch, steps, rec_s.size), np.int8)
    ovf = np.zeros((batch, len(plan.lif_names), 2), np.int64)
    net = plan.network(ring_dtype(plan, pmax))
    recorded = engine.Recorded(rec_u, rec_v, rec_s)
    if batch == 1:
        engine.run_sample(inp[0], steps, net, recorded, engine.Outputs(out_u[0], out_v[0], out_s[0], ovf[0]))
    elif batch > 1:
        for a, b in progress_chunks(batch, progress):  # one chunk (the whole batch) without progress
            engine.run_batch(
                inp[a:b], steps, net, recorded, engine.Outputs(out_u[a:b], out_v[a:b], out_s[a:b], ovf[a:b])
            )
            if progress is not None:
                progress(b, batch)

    messages = _overflow_messages(plan.lif_names, ovf, strict)

    def state(pop: str, obs: str) -> np.ndarray:
        shape = (batch, steps) + tuple(pops[pop].shape)
        if pops[pop].kind == "input":
            return arrays[program.input_key(pop)].astype(np.int64).reshape(shape)
        src, where = {"u": (out_u, where_u), "v": (out_v, where_v), "spikes": (out_s, where_s)}[obs]
        c, size = where[pop]
        part = src[:, :, c : c + size]
        return part.reshape(shape)

    recordings = {f"{pop}.{obs}": state(pop, obs) for pop, obs in rec}
    outputs = {}
    for key, o in program.outputs.items():
        val = state(o.population, o.observable)
        outputs[key] = val if o.observable == "spikes" else val.astype(np.float64) * float(o.scale)
    for m in messages:
        warnings.warn(m, RuntimeWarning, stacklevel=2)
    return RunResult(
        outputs=outputs,
        recordings=recordings,
        backend="emulator:loihi2",
        fidelity=FIDELITY_BIT_EXACT,
        reference=spec.REFERENCE,
        semantics=dict(program.semantics),
        warnings=messages,
    )


def _overflow_messages(lif_names: list[str], ovf: np.ndarray, strict: bool) -> list[str]:
    if not ovf.any():
        return []
    if strict:
        first = None  # (step, sample, pop, variable)
        for b in range(ovf.shape[0]):
            for k, name in enumerate(lif_names):
                for c, var in ((0, "u"), (1, "v")):
                    t = int(ovf[b, k, c])
                    if t and (first is None or (t, b) < first[:2]):
                        first = (t, b, name, var)
        t, b, name, var = first
        what = (
            "u left its 24-bit range (single-shot wrap) or an int32 intermediate wrapped"
            if var == "u"
            else "v saturated at +-(2^23 - 1)"
        )
        raise NumericOverflowError(
            f"{what} at step {t} of sample {b} (strict mode)",
            node=name,
            parameter=var,
            expected="no wrap or saturation; lower the weights, weight_exp or bias",
        )
    msgs = []
    for k, name in enumerate(lif_names):
        parts = []
        for c, var, what in ((0, "u", "u wrapped (24-bit/int32 overflow)"), (1, "v", "v saturated")):
            hit = np.nonzero(ovf[:, k, c])[0]
            if hit.size:
                b = int(hit[np.argmin(ovf[hit, k, c])])
                parts.append(
                    f"{what} in {hit.size} sample(s), first at step {int(ovf[b, k, c])} of sample {b}"
                )
        if parts:
            msgs.append(
                f"population '{name}': "
                + "; ".join(parts)
                + " (bit-exact with Lava, but the values are no longer meaningful; strict=True raises)"
            )
    return msgs
