"""``run_program``: run a spinnaker Program on the bit-exact emulator (the ``emulator`` backend).

Validates the Program and its inputs, builds the plan (:func:`.engine.build_plan`, or
:class:`.stdp.StdpPlan` when the Program has ``"stdp"`` projections), runs the numba kernels and
turns their integers into a :class:`~neurocompile.data.RunResult` (mV / nA floats, spikes, learned
weights), with one warning per population for int32 wraps and ring-buffer saturation. Its
``semantics`` are what the chip ran (``run_semantics`` in ``targets/spinnaker/units.py``: reset to
zero when the Program asked for subtraction); :func:`neurocompile.target.run_program` then
puts v and u in model units (``targets/spinnaker/units.py``).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from numba import njit

from neurocompile.data import (
    FIDELITY_BIT_EXACT,
    RunResult,
    check_inputs,
    parse_record,
    progress_chunks,
    record_index,
)
from neurocompile.errors import InputDataError, NumericOverflowError
from neurocompile.program import Program
from neurocompile.targets.spinnaker import spec
from neurocompile.targets.spinnaker.units import run_semantics

from .arith import O_SAT, O_WRAP
from .engine import Outputs, Recorded, build_plan, run_batch, run_sample
from .reference import run_batch_reference, run_sample_reference

_PLANS: "OrderedDict[tuple, Any]" = OrderedDict()
_PLANS_KEPT = 8
#: the digest's per-position coefficients: c[j] for position j of a block of DIGEST_BLOCK entries,
#: times d[b] for block b (fixed random odd 64-bit numbers; ``_BLOCKS`` grows with the arrays)
DIGEST_BLOCK = 4096
_rng = np.random.default_rng(0x5EED)
_COEFFS = _rng.integers(0, 2**63, DIGEST_BLOCK, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_BLOCKS = np.zeros(0, np.uint64)


def _digest(a: np.ndarray) -> tuple:
    """A content digest of an array: sum of bits_i * c[i % K] * d[i // K] mod 2^64 with fixed random
    odd c, d (K = :data:`DIGEST_BLOCK`) over the entries' 64-bit patterns (ints widened,
    floats as float64 bits). Each product c * d is odd, so one changed entry always changes it;
    several collide with probability about 2^-64. It reads the array once (a block's coefficients
    stay in cache): ~0.15 ms per million int64 entries."""
    global _BLOCKS
    a = np.ascontiguousarray(a)
    if a.dtype.kind == "f":
        flat = a.astype(np.float64, copy=False).reshape(-1).view(np.uint64)
    elif a.dtype.kind in "iub":
        flat = a.astype(np.int64, copy=False).reshape(-1).view(np.uint64)
    else:
        return (a.shape, str(a.dtype), repr(a.tolist()))
    n_blocks = flat.size // DIGEST_BLOCK + 1  # the full blocks and the (maybe empty) last one
    if _BLOCKS.size < n_blocks:
        rng = np.random.default_rng(0xB10C5)
        n = max(n_blocks, 2 * _BLOCKS.size, 64)
        _BLOCKS = rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return (a.shape, str(a.dtype), int(_dot(flat, _COEFFS, _BLOCKS)))


@njit(cache=True, nogil=True)
def _dot(flat, coeffs, blocks):
    """sum of flat[i] * coeffs[i % K] * blocks[i // K] mod 2^64 (K = coeffs.size)."""
    K = coeffs.size
    s = np.uint64(0)
    full = flat.size // K
    for b in range(full):
        w = flat[b * K : (b + 1) * K]
        part = np.uint64(0)
        for j in range(K):
            part += w[j] * coeffs[j]
        s += part * blocks[b]
    part = np.uint64(0)
    for j in range(flat.size - full * K):
        part += flat[full * K + j] * coeffs[j]
    return s + part * blocks[full]


def _fingerprint(program: Program) -> tuple:
    def params(d: Mapping[str, Any]) -> tuple:
        return tuple((k, _digest(v) if isinstance(v, np.ndarray) else repr(v)) for k, v in sorted(d.items()))

    return (
        program.target,
        repr(sorted(program.semantics.items())),
        tuple(sorted(program.inputs.items())),
        tuple(sorted((k, o.population, o.observable, float(o.scale)) for k, o in program.outputs.items())),
        tuple((p.name, p.kind, tuple(p.shape), params(p.params)) for p in program.populations.values()),
        tuple((p.name, p.pre, p.post, p.kind, params(p.params)) for p in program.projections.values()),
    )


def plan_for(program: Program):
    """Validate and flatten a Program (:func:`.engine.build_plan`, or :class:`.stdp.StdpPlan` when it
    has STDP projections), memoized on its content (the last few Programs), so repeated runs of one
    network (validation sets, benchmarks) pay both once. The key covers every field validation
    reads (target, semantics, inputs, outputs, every parameter, arrays by digest)."""
    from neurocompile.targets.spinnaker.schema import validate_program

    key = _fingerprint(program)
    planned = _PLANS.get(key)
    if planned is None:
        validate_program(program)
        if any(p.kind == "stdp" for p in program.projections.values()):
            from .stdp import StdpPlan

            planned = StdpPlan(program)
        else:
            planned = build_plan(program)
        _PLANS[key] = planned
        while len(_PLANS) > _PLANS_KEPT:
            _PLANS.popitem(last=False)
    else:
        _PLANS.move_to_end(key)
    return planned


def _zero_one(arr: np.ndarray) -> bool:
    """Every entry is 0 or 1 (integer and bool arrays: min >= 0 and max <= 1, without temporaries)."""
    if arr.dtype.kind in "ub":
        return int(arr.max()) <= 1
    if arr.dtype.kind == "i":
        return int(arr.min()) >= 0 and int(arr.max()) <= 1
    return bool(np.all((arr == 0) | (arr == 1)))


def _spike_inputs(
    inputs: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]]
) -> tuple[dict[str, np.ndarray], int, int]:
    """:func:`neurocompile.data.check_inputs` without its float64 copy when every input is a bool or
    integer array of the right shape (always finite): those are returned as given. Anything else
    (a missing key, a wrong shape, float input, differing batch/time, no input) goes through
    ``check_inputs`` itself, so its typed errors and float handling are unchanged."""
    arrays: dict[str, np.ndarray] = {}
    sizes = set()
    for name, shape in shapes.items():
        arr = np.asarray(inputs[name]) if name in inputs else None
        want = tuple(int(s) for s in shape)
        if arr is None or arr.dtype.kind not in "biu" or arr.shape[2:] != want or arr.ndim != 2 + len(want):
            return check_inputs(inputs, shapes)
        arrays[name] = arr
        sizes.add(arr.shape[:2])
    if len(sizes) != 1:
        return check_inputs(inputs, shapes)
    batch, steps = sizes.pop()
    return arrays, int(batch), int(steps)


def _kernel_input(
    program: Program, plan, arrays: dict[str, np.ndarray], batch: int, steps: int
) -> np.ndarray:
    """The kernels' (batch, steps, NI) uint8 spikes (read only by them): the caller's array itself
    when it is the only input, covers every spike source and is a C-contiguous, writeable uint8 or
    bool array (numba compiles one kernel per array layout and flag); else a copy."""
    if len(program.inputs) == 1:
        (key,) = program.inputs
        arr = arrays[key]
        if (
            arr.dtype in (np.uint8, np.bool_)
            and arr.size == batch * steps * plan.NI
            and arr.flags.c_contiguous
            and arr.flags.writeable
            and arr.flags.aligned
        ):
            return arr.view(np.uint8).reshape(batch, steps, plan.NI)
    inp = np.zeros((batch, steps, plan.NI), np.uint8)
    for key, popname in program.inputs.items():
        off, size = plan.in_slices[popname]
        inp[:, :, off : off + size] = arrays[key].reshape(batch, steps, size)
    return inp


def run_program(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    *,
    record: Iterable[Any] | str | None = (),
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    reference: bool = False,
) -> RunResult:
    """Run a spinnaker Program bit-exactly as sPyNNaker 1!7.4.1 would compute it (on-time delivery).

    Inputs: ``{key: (batch, time, *shape)}`` of 0/1 spikes per tick for each spike source.
    Recordings ``POP.v`` (mV, float, the s16.15 value before the tick's update, as sPyNNaker
    records it), ``POP.u`` (nA, ``isyn_exc - isyn_inh`` at the same moment) and ``POP.spikes``.
    ``strict``: raise :class:`NumericOverflowError` on the first int32 wrap.
    ``progress``: called as ``progress(samples_done, batch)`` after each chunk of samples.
    ``reference``: run the simple kernels of :mod:`.reference` (the same integers, many times slower;
    for differential tests and benchmarks).
    """
    from neurocompile.targets.spinnaker.schema import input_shapes

    planned = plan_for(program)
    arrays, batch, steps = _spike_inputs(inputs, input_shapes(program))
    for key, arr in arrays.items():
        if arr.size and not _zero_one(arr):
            raise InputDataError(
                "spike-source input must be 0/1 per tick",
                node=key,
                parameter="input",
                expected="spikes 0/1 (SpikeSourceArray emits at most one spike per tick)",
            )
    rec = parse_record(record)
    pops = program.populations
    # STDP projections (stdp.py): learned weights; ("PROJ", "weights") records them per tick
    stdp = [n for n, p in program.projections.items() if p.kind == "stdp"]
    rec_weights = [pop for pop, obs in rec if obs == "weights"]
    for name in rec_weights:
        if name not in stdp:
            raise InputDataError(
                f"cannot record weights of '{name}'",
                node=name,
                parameter="record",
                expected="an stdp projection: " + (", ".join(stdp) or "none in this Program"),
            )
    rec = [(pop, obs) for pop, obs in rec if obs != "weights"]
    for pop, obs in rec:
        if pop not in pops:
            raise InputDataError(
                f"cannot record unknown population '{pop}'",
                node=pop,
                parameter="record",
                expected="one of " + ", ".join(sorted(pops)),
            )
        if obs not in spec.OBSERVABLES or (pops[pop].kind in spec.SOURCE_KINDS and obs != "spikes"):
            raise InputDataError(
                f"cannot record {obs!r} of {pops[pop].kind} population '{pop}'",
                node=pop,
                parameter="record",
                expected="spikes, v or u (spike sources: spikes)",
            )
    if stdp:
        from .stdp import run_stdp_kernels

        splan = planned
        plan = splan.plan
    else:
        plan = planned
    needed = list(dict.fromkeys(rec + [(o.population, o.observable) for o in program.outputs.values()]))
    cols: dict[str, list[str]] = {"u": [], "v": [], "spikes": []}
    for pop, obs in needed:
        if pops[pop].kind in spec.NEURON_KINDS and pop not in cols[obs]:
            cols[obs].append(pop)

    rec_u, where_u = record_index(cols["u"], plan.neuron_slices)
    rec_v, where_v = record_index(cols["v"], plan.neuron_slices)
    rec_s, where_s = record_index(cols["spikes"], plan.neuron_slices)
    inp = _kernel_input(program, plan, arrays, batch, steps)
    out_u = np.zeros((batch, steps, rec_u.size), np.int64)
    out_v = np.zeros((batch, steps, rec_v.size), np.int64)
    out_s = np.zeros((batch, steps, rec_s.size), np.uint8)
    NP = len(plan.neuron_names)
    ovf = np.zeros((batch, max(NP, 1), 2), np.int64)
    rec_idx, out = Recorded(rec_u, rec_v, rec_s), Outputs(out_u, out_v, out_s, ovf)
    if stdp:
        w_final, w_traj = run_stdp_kernels(splan, inp, steps, rec_idx, out, bool(rec_weights), reference)
    elif batch == 1:
        one = run_sample_reference if reference else run_sample
        one(inp[0], steps, plan.network(), rec_idx, Outputs(out_u[0], out_v[0], out_s[0], ovf[0]))
    elif batch > 1:
        net = plan.network()
        many = run_batch_reference if reference else run_batch
        for a, b in progress_chunks(batch, progress):  # one chunk (the whole batch) without progress
            many(inp[a:b], steps, net, rec_idx, Outputs(out_u[a:b], out_v[a:b], out_s[a:b], ovf[a:b]))
            if progress is not None:
                progress(b, batch)

    messages = []
    for k, name in enumerate(plan.neuron_names):
        for c, what in (
            (O_WRAP, "an int32 value wrapped (isyn, I, alpha or V)"),
            (O_SAT, "a ring-buffer entry saturated at 0xFFFF"),
        ):
            hit = np.nonzero(ovf[:, k, c])[0]
            if not hit.size:
                continue
            b = int(hit[np.argmin(ovf[hit, k, c])])
            t = int(ovf[b, k, c]) - 1
            if strict and c == O_WRAP:
                raise NumericOverflowError(
                    f"{what} at tick {t} of sample {b} (strict mode)",
                    node=name,
                    parameter="v",
                    expected="no int32 wrap; lower the weights or i_offset",
                )
            messages.append(
                f"population '{name}': {what} in {hit.size} sample(s), first at tick {t} of sample {b}"
                + (
                    " (bit-exact with sPyNNaker, but the values are no longer meaningful; strict=True raises)"
                    if c == O_WRAP
                    else " (as on chip: inputs above the shift's range are lost)"
                )
            )

    def state(pop: str, obs: str) -> np.ndarray:
        shape = (batch, steps) + tuple(pops[pop].shape)
        if pops[pop].kind in spec.SOURCE_KINDS:
            return arrays[program.input_key(pop)].astype(np.int8).reshape(shape)
        src, where = {"u": (out_u, where_u), "v": (out_v, where_v), "spikes": (out_s, where_s)}[obs]
        c, size = where[pop]
        part = src[:, :, c : c + size]
        if obs == "spikes":
            return part.astype(np.int8).reshape(shape)
        return (part.astype(np.float64) / spec.S1615_ONE).reshape(shape)

    recordings = {f"{pop}.{obs}": state(pop, obs) for pop, obs in rec}
    for name in stdp:  # final w16 per synapse, in the Program's order: PROJ.weights (batch, n_synapses)
        where = splan.where[name]
        recordings[f"{name}.weights"] = np.take(w_final, where, axis=1)  # ~4x faster than fancy indexing
        if name in rec_weights:  # after each tick: PROJ.weights_t (batch, T, n_synapses)
            recordings[f"{name}.weights_t"] = np.take(w_traj, where, axis=2)
    outputs = {}
    for key, o in program.outputs.items():
        val = state(o.population, o.observable)
        outputs[key] = val if o.observable == "spikes" else val * float(o.scale)
    for m in messages:
        warnings.warn(m, RuntimeWarning, stacklevel=2)
    return RunResult(
        outputs=outputs,
        recordings=recordings,
        backend="emulator:spinnaker",
        fidelity=FIDELITY_BIT_EXACT,
        reference=spec.REFERENCE,
        semantics=run_semantics(program),  # what the chip did: reset zero when subtract was asked
        warnings=messages,
    )


__all__ = ["run_program"]
