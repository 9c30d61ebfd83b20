"""Run a loihi2 Program on stock Lava 0.10.0 processes (``Loihi2SimCfg(select_tag="fixed_pt")``).

This module is the *reference* backend: what it returns is by definition what lava-nc 0.10.0's
fixed-point CPU models compute, so its fidelity label is ``bit-exact`` against
``lava-nc 0.10.0 fixed_pt``. It must run in the Lava interpreter (Python 3.10, no torch, no nir);
Lava is imported lazily so that the module itself imports anywhere.

Mapping (``targets/loihi2/schema.py``, ``docs/reference/loihi2.md`` §1-§2), one Lava process per
Program element, every population flattened to shape ``(size,)`` (C order):

* ``input``     -> ``lava.proc.io.source.RingBuffer(data=(size, T))`` (int32 payloads)
* ``lif``       -> ``lava.proc.lif.process.LIF``; ``lif_reset`` -> ``LIFReset``; a ``lif`` with
  per-neuron ``du``/``dv`` arrays -> our ``lava_models.lifdecays.LIFDecays`` (Lava's fixed-point
  LIF update with du/dv Vars per neuron)
* ``dense`` / ``delay_dense`` / ``sparse`` / ``delay_sparse`` -> ``Dense`` / ``DelayDense`` /
  ``Sparse`` / ``DelaySparse`` with explicit ``weight_exp``, ``num_weight_bits``, ``sign_mode``
  and ``num_message_bits`` (the user's integer weights: Lava clips and truncates them itself).
* one ``lava.proc.monitor.Monitor`` per recorded (population, observable): Lava's Monitor can
  probe only one target.

Samples run one after another, each in a fresh network (Lava has no batch dimension). For
tests and benchmarks :func:`run_jobs` packs several independent (Program, sample) jobs into
ONE Lava network and one ``run`` call (Lava's per-run compile and process spawn cost is paid
once). Lava's compiler only sees processes connected to the one ``run`` is called on, so
disjoint components are tied together by a zero-valued ``RingBuffer`` feeding a zero-weight
``Dense`` into one LIF population of each component: it adds exactly 0 to that ``a_in``.

Knowingly incomplete: ``strict=True`` can only look at what Lava lets us read (the state after
each step). It raises when a ``v`` sits at the saturation bound ``±(2^23-1)`` or a ``u`` lies
outside the 24-bit range after the single-shot wrap; a wrap that lands back inside the range is
invisible here (the emulator's strict mode sees it).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from neurocompile.data import FIDELITY_BIT_EXACT, OBSERVABLES, RunResult, check_inputs, load_npz, parse_record
from neurocompile.errors import (
    InputDataError,
    NeurocompileError,
    NumericOverflowError,
    UnsupportedError,
)
from neurocompile.program import Program

from . import spec
from .signals import SIGNAL_FIELDS

BACKEND = "lava"
LAVA_VERSION = spec.LAVA_VERSION
LAVA_REFERENCE = spec.REFERENCE
LIF_KINDS = ("lif", "lif_reset", "lif_3f")
INPUT_KIND = "input"
PROJECTION_KINDS = ("dense", "delay_dense", "sparse", "delay_sparse", "learning_dense")
#: projection observables of learning_dense (Lava Var names)
LEARNING_VARS = {
    "w": "weights",
    "tag_1": "tag_1",
    "tag_2": "tag_2",
    "x1": "x1",
    "x2": "x2",
    "y1": "y1",
    "y2": "y2",
    "y3": "y3",
}
#: ``v`` saturates at +-(2^23 - 1); ``u`` is wrapped once into (-2^23, 2^23] (loihi2.md §1.2).
V_MAX = spec.V_MAX
U_MAX = spec.UV_WRAP_LIMIT


# --------------------------------------------------------------------------- inputs / records
def normalize_record(record: Iterable[Any] | str | None) -> list[tuple[str, str]]:
    """``"A.v,B.spikes"``, ``["A.v"]`` or ``[("A", "v")]`` -> ``[("A", "v"), ...]`` (order kept);
    learning observables (PROJ.w, PROJ.x1, PROJ.tag_1, ...) are accepted too."""
    return parse_record(record, observables=OBSERVABLES + tuple(LEARNING_VARS))


def input_shapes(program: Program) -> dict[str, tuple[int, ...]]:
    return {key: tuple(program.populations[pop].shape) for key, pop in program.inputs.items()}


def prepare_inputs(
    program: Program, inputs: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], int, int]:
    """Check run data against the Program's inputs; return ``{population: int64 (batch, T, size)}``.

    Values must be integers: spikes 0/1, or graded payloads within ``spec.PAYLOAD_MIN..MAX`` when
    the input population has ``num_message_bits > 0`` (the emulator's rule); Lava's RingBuffer
    holds them as int32.
    """
    arrays, batch, steps = check_inputs(inputs, input_shapes(program))
    out: dict[str, np.ndarray] = {}
    for key, arr in arrays.items():
        pop = program.inputs[key]
        if not np.all(arr == np.round(arr)):
            raise InputDataError(
                "input values must be integers (spikes or graded payloads)",
                node=key,
                parameter="input",
                expected="integer values",
            )
        ints = arr.astype(np.int64)
        if int(program.populations[pop].params.get("num_message_bits", 0)) == 0:
            if ints.size and not np.all((ints == 0) | (ints == 1)):
                raise InputDataError(
                    f"binary input population '{pop}' got values other than 0 and 1",
                    node=key,
                    parameter="input",
                    expected="spikes 0/1 (or num_message_bits > 0 for graded payloads)",
                )
        elif ints.size and (ints.min() < spec.PAYLOAD_MIN or ints.max() > spec.PAYLOAD_MAX):
            raise InputDataError(
                f"graded payload out of range for population '{pop}'",
                node=key,
                parameter="input",
                expected=f"{spec.PAYLOAD_MIN} <= payload <= {spec.PAYLOAD_MAX}",
            )
        out[pop] = ints.reshape(batch, steps, -1)
    for name, pop in program.populations.items():
        if pop.kind == INPUT_KIND and name not in out:
            raise InputDataError(
                f"input population '{name}' is not fed by any run-data key",
                node=name,
                parameter="inputs",
                expected="an entry in Program.inputs",
            )
    return out, batch, steps


def needed_observables(
    program: Program, record: Sequence[tuple[str, str]], strict: bool
) -> list[tuple[str, str]]:
    """Outputs and recordings, plus u and v of every LIF population in strict mode (de-duplicated)."""
    need: list[tuple[str, str]] = []

    def add(pop: str, obs: str) -> None:
        if (
            pop in program.projections
            and program.projections[pop].kind == "learning_dense"
            and obs in LEARNING_VARS
        ):
            if (pop, obs) not in need:
                need.append((pop, obs))
            return
        if pop not in program.populations:
            raise UnsupportedError(
                f"no population '{pop}' in the Program",
                node=pop,
                parameter="record",
                expected=" or ".join(sorted(program.populations)),
            )
        if program.populations[pop].kind == INPUT_KIND and obs != "spikes":
            raise UnsupportedError(
                f"an input population has no '{obs}'", node=pop, parameter="record", expected=f"{pop}.spikes"
            )
        if (pop, obs) not in need:
            need.append((pop, obs))

    for out_spec in program.outputs.values():
        add(out_spec.population, out_spec.observable)
    for pop, obs in record:
        add(pop, obs)
    if strict:
        for name, pop in program.populations.items():
            if pop.kind in LIF_KINDS:
                add(name, "u")
                add(name, "v")
    return need


def check_program(program: Program) -> None:
    """The shared loihi2 validation (``targets/loihi2/schema.py``): every field, range and edge."""
    from .schema import validate_program

    validate_program(program)


# --------------------------------------------------------------------------- Lava network
def _int(x: Any) -> int:
    return int(np.asarray(x).reshape(-1)[0]) if np.ndim(x) else int(x)


def _vec(params: Mapping[str, Any], key: str, size: int) -> np.ndarray:
    val = params.get(key, 0)
    arr = np.asarray(val, dtype=np.int64).reshape(-1)
    if arr.size == 1 and size != 1:
        arr = np.full(size, int(arr[0]), dtype=np.int64)
    return arr


def _make_population(name: str, pop, data: np.ndarray | None):
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF, LIFReset

    size = pop.size
    p = pop.params
    if pop.kind == INPUT_KIND:
        return RingBuffer(data=np.ascontiguousarray(data.T))  # (size, T)
    if pop.kind == "lif" and (np.ndim(p["du"]) > 0 or np.ndim(p["dv"]) > 0):
        # per-neuron decays: Lava's fixed-point LIF with du/dv Vars per neuron (our own process)
        from .lava_models.lifdecays import LIFDecays

        return LIFDecays(
            shape=(size,),
            du=_vec(p, "du", size),
            dv=_vec(p, "dv", size),
            vth=_int(p["vth"]),
            bias_mant=_vec(p, "bias_mant", size),
            bias_exp=_vec(p, "bias_exp", size),
            u=_vec(p, "u_init", size),
            v=_vec(p, "v_init", size),
        )
    kw = dict(
        shape=(size,),
        du=_int(p["du"]),
        dv=_int(p["dv"]),
        vth=_int(p["vth"]),
        bias_mant=_vec(p, "bias_mant", size),
        bias_exp=_vec(p, "bias_exp", size),
        u=_vec(p, "u_init", size),
        v=_vec(p, "v_init", size),
    )
    if pop.kind == "lif_3f":
        from .lava_models.lif3f import LIF3F

        return LIF3F(
            y1_impulse=_int(p["y1_impulse"]),
            y1_decay=_int(p["y1_decay"]),
            y3_impulse=_int(p["y3_impulse"]),
            y3_decay=_int(p["y3_decay"]),
            **{k: _int(p.get(k, 0)) for k in SIGNAL_FIELDS},
            **kw,
        )
    if pop.kind == "lif_reset":
        return LIFReset(
            reset_interval=_int(p["reset_interval"]), reset_offset=_int(p.get("reset_offset", 0)), **kw
        )
    return LIF(**kw)


def _make_projection(proj, n_pre: int, n_post: int):
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.sparse.process import DelaySparse, Sparse
    from lava.utils.weightutils import SignMode
    from scipy.sparse import csr_matrix

    p = proj.params
    if proj.kind == "learning_dense":
        return _make_learning_dense(proj, n_pre, n_post)
    kw = dict(
        weight_exp=_int(p.get("weight_exp", 0)),
        num_weight_bits=_int(p.get("num_weight_bits", 8)),
        sign_mode=SignMode(_int(p["sign_mode"])),
        num_message_bits=_int(p.get("num_message_bits", 0)),
    )
    if proj.kind in ("dense", "delay_dense"):
        w = np.asarray(p["weights"], dtype=np.int64).reshape(n_post, n_pre)
        if proj.kind == "dense":
            return Dense(weights=w, **kw)
        d = np.asarray(p["delays"], dtype=np.int64).reshape(n_post, n_pre)
        return DelayDense(weights=w, delays=d, max_delay=int(d.max()) if d.size else 0, **kw)
    rows = np.asarray(p["post"], dtype=np.int64).reshape(-1)
    cols = np.asarray(p["pre"], dtype=np.int64).reshape(-1)
    w = csr_matrix(
        (np.asarray(p["weights"], dtype=np.int64).reshape(-1), (rows, cols)), shape=(n_post, n_pre)
    )
    if proj.kind == "sparse" or rows.size == 0:
        return Sparse(weights=w, **kw)
    dl = np.asarray(p["delays"], dtype=np.int64).reshape(-1)
    d = csr_matrix((dl, (rows, cols)), shape=(n_post, n_pre), dtype=np.int64)
    return DelaySparse(weights=w, delays=d, max_delay=int(dl.max()), **kw)


def build_lava_network(program: Program, pop_data: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Build one sample's network: ``{population or projection name: Lava process}``.

    ``pop_data`` maps each input population to its int64 ``(T, size)`` payloads.
    """
    procs: dict[str, Any] = {}
    for name, pop in program.populations.items():
        procs[name] = _make_population(name, pop, pop_data.get(name))
    for name, proj in program.projections.items():
        pre, post = program.populations[proj.pre], program.populations[proj.post]
        conn = _make_projection(proj, pre.size, post.size)
        procs[name] = conn
        if _int(proj.params.get("feedback", 0)):  # errors -> third-factor input (targets/loihi2/signals.py)
            procs[pre.name].s_out_err.connect(conn.s_in)
            conn.a_out.connect(procs[post.name].a_third_factor_in)
            continue
        procs[pre.name].s_out.connect(conn.s_in)
        conn.a_out.connect(procs[post.name].a_in)
        if proj.kind == "learning_dense":  # bAP (and y1..y3 for three-factor rules) from the post neuron
            if post.kind == "lif_3f":
                procs[post.name].s_out_bap.connect(conn.s_in_bap)
                if _int(proj.params["three_factor"]):
                    for k in ("y1", "y2", "y3"):
                        getattr(procs[post.name], f"s_out_{k}").connect(getattr(conn, f"s_in_{k}"))
            else:
                procs[post.name].s_out.connect(conn.s_in_bap)
    for name, pop in program.populations.items():
        if pop.kind == "lif_3f" and pop.params.get("reward"):
            procs[pop.params["reward"]].s_out.connect(procs[name].a_third_factor_in)
    return procs


def _make_learning_dense(proj, n_pre: int, n_post: int):
    """Lava ``LearningDense`` with a ``LoihiLearningRule`` (2-factor) or ``Loihi3FLearningRule``."""
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
    from lava.proc.dense.process import LearningDense
    from lava.utils.weightutils import SignMode

    p = proj.params
    three = bool(_int(p["three_factor"]))
    kw = {k: (p[k] or None) for k in ("dw", "dd", "dt")}
    kw.update({f"x{k}_{f}": float(p[f"x{k}_{f}"]) for k in (1, 2) for f in ("impulse", "tau")})
    if not three:
        kw.update({f"y{k}_{f}": float(p[f"y{k}_{f}"]) for k in (1, 2, 3) for f in ("impulse", "tau")})
    rule = (Loihi3FLearningRule if three else Loihi2FLearningRule)(
        t_epoch=_int(p["t_epoch"]), rng_seed=_int(p["rng_seed"]), **kw
    )
    extra = {}
    for tag in ("tag_1", "tag_2"):
        if tag in p:
            extra[tag] = np.asarray(p[tag], dtype=np.int64).reshape(n_post, n_pre)
    return LearningDense(
        weights=np.asarray(p["weights"], dtype=np.int64).reshape(n_post, n_pre),
        learning_rule=rule,
        weight_exp=_int(p["weight_exp"]),
        num_weight_bits=_int(p["num_weight_bits"]),
        sign_mode=SignMode(_int(p["sign_mode"])),
        num_message_bits=0,
        **extra,
    )


def components(program: Program) -> list[list[str]]:
    """Connected components of the population graph (projections as undirected edges), in order."""
    parent = {n: n for n in program.populations}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for proj in program.projections.values():
        parent[find(proj.pre)] = find(proj.post)
    groups: dict[str, list[str]] = {}
    for n in program.populations:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


@dataclass
class Job:
    """One (Program, sample) to run: input payloads per input population, steps, what to read."""

    program: Program
    pop_data: dict[str, np.ndarray]  # population -> int64 (T, size)
    steps: int
    needs: list[tuple[str, str]] = field(default_factory=list)


def run_jobs(jobs: Sequence[Job]) -> list[dict[tuple[str, str], np.ndarray]]:
    """Run independent jobs in ONE Lava network for ``max(steps)`` steps.

    Returns per job ``{(population, observable): int64 (steps, size)}`` - what a Monitor read at
    each step. Jobs never interact (disjoint processes); longer runs than a job's ``steps`` do
    not change its first ``steps`` values (RingBuffer data is zero-padded).
    """
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode

    if not jobs:
        return []
    total = max(j.steps for j in jobs)
    anchors: list[Any] = []  # one LIF process per connected component
    probes: list[list[tuple[tuple[str, str], Any, Any, Any]]] = []
    results: list[dict[tuple[str, str], np.ndarray]] = []
    finals: list[list[tuple[str, Any]]] = []
    for job in jobs:
        prog = job.program
        pad = {}
        for pop, arr in job.pop_data.items():
            padded = np.zeros((total, arr.shape[1]), dtype=np.int64)
            padded[: arr.shape[0]] = arr
            pad[pop] = padded
        procs = build_lava_network(prog, pad)
        for comp in components(prog):
            lifs = [n for n in comp if prog.populations[n].kind in LIF_KINDS]
            if lifs:
                anchors.append(procs[lifs[0]])
        mine = []
        res: dict[tuple[str, str], np.ndarray] = {}
        for pop, obs in job.needs:
            if pop in prog.projections:  # learning_dense Var (weights, tags, traces)
                proc = procs[pop]
                target = getattr(proc, LEARNING_VARS[obs])
                mon = Monitor()
                mon.probe(target, total)
                mine.append(((pop, obs), mon, proc, target))
                continue
            if prog.populations[pop].kind == INPUT_KIND:
                # what the RingBuffer sends: its data cast to the int32 channel
                res[(pop, obs)] = job.pop_data[pop][: job.steps].astype(np.int32).astype(np.int64)
                continue
            proc = procs[pop]
            target = {"u": proc.u, "v": proc.v, "spikes": proc.s_out}[obs]
            mon = Monitor()
            mon.probe(target, total)
            mine.append(((pop, obs), mon, proc, target))
        probes.append(mine)
        results.append(res)
        finals.append([(n, procs[n]) for n, pj in prog.projections.items() if pj.kind == "learning_dense"])
    if not anchors:
        raise UnsupportedError(
            "the Program has no lif or lif_reset population to run", parameter="populations"
        )
    if len(anchors) > 1:
        link = RingBuffer(data=np.zeros((1, 1), dtype=np.int64))
        for lif in anchors:
            n = lif.a_in.shape[0]
            zero = Dense(weights=np.zeros((n, 1), dtype=np.int64), sign_mode=SignMode.EXCITATORY)
            link.s_out.connect(zero.s_in)
            zero.a_out.connect(lif.a_in)
    root = anchors[0]
    try:
        root.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        for job, mine, res in zip(jobs, probes, results):
            for key, mon, proc, target in mine:
                data = mon.get_data()[proc.name][target.name]
                res[key] = np.asarray(data)[: job.steps].astype(np.int64).reshape(job.steps, -1)
        for res, fin in zip(results, finals):  # learned state at the end of the run (after max(steps))
            for n, proc in fin:
                for var in ("weights", "tag_1", "tag_2"):
                    res[(n, f"final_{var}")] = np.asarray(getattr(proc, var).get()).astype(np.int64)
    finally:
        root.stop()
    return results


# --------------------------------------------------------------------------- RunResult
def assemble_result(
    program: Program,
    per_sample: Sequence[Mapping[tuple[str, str], np.ndarray]],
    record: Sequence[tuple[str, str]],
    batch: int,
    steps: int,
    *,
    strict: bool,
    backend: str = BACKEND,
) -> RunResult:
    """Stack per-sample traces into the ``.npz`` layout (batch, time, *shape) and check overflow."""

    def stacked(pop: str, obs: str) -> np.ndarray:
        shape = tuple(program.populations[pop].shape)
        arr = (
            np.stack([s[(pop, obs)] for s in per_sample]) if per_sample else np.zeros((0, steps, 1), np.int64)
        )
        return arr.reshape((batch, steps) + shape)

    warnings: list[str] = []
    for name, pop in program.populations.items():
        if pop.kind not in LIF_KINDS or not per_sample:
            continue
        for obs, bad in (("v", lambda a: np.abs(a) >= V_MAX), ("u", lambda a: (a > U_MAX) | (a <= -U_MAX))):
            if (name, obs) not in per_sample[0]:
                continue
            if any(np.any(bad(s[(name, obs)])) for s in per_sample):
                what = (
                    "v reached the saturation bound +-(2^23-1)"
                    if obs == "v"
                    else "u left the 24-bit range after its single wrap"
                )
                if strict:
                    raise NumericOverflowError(
                        what, node=name, parameter=obs, expected="|v| < 2^23-1 and u in (-2^23, 2^23]"
                    )
                warnings.append(f"population '{name}': {what}")

    outputs: dict[str, np.ndarray] = {}
    for key, out_spec in program.outputs.items():
        arr = stacked(out_spec.population, out_spec.observable)
        outputs[key] = (
            arr if out_spec.observable == "spikes" else arr.astype(np.float64) * float(out_spec.scale)
        )

    def stacked_any(name: str, obs: str) -> np.ndarray:
        if name not in program.projections:
            return stacked(name, obs)
        return np.stack([s[(name, obs)] for s in per_sample]).reshape(
            (batch, steps) + _proj_shape(program, name, obs)
        )

    recordings = {f"{pop}.{obs}": stacked_any(pop, obs) for pop, obs in record}
    if per_sample:
        for name, pj in program.projections.items():
            if pj.kind == "learning_dense":
                for var in ("weights", "tag_1", "tag_2"):
                    recordings[f"{name}.weights" if var == "weights" else f"{name}.{var}_final"] = np.stack(
                        [s[(name, f"final_{var}")] for s in per_sample]
                    )
    return RunResult(
        outputs=outputs,
        recordings=recordings,
        backend=backend,
        fidelity=FIDELITY_BIT_EXACT,
        reference=LAVA_REFERENCE,
        semantics=dict(program.semantics),
        warnings=warnings,
    )


def _proj_shape(program: Program, name: str, obs: str) -> tuple[int, ...]:
    pj = program.projections[name]
    n_pre, n_post = program.populations[pj.pre].size, program.populations[pj.post].size
    if obs in ("w", "tag_1", "tag_2"):
        return (n_post, n_pre)
    return (n_pre,) if obs.startswith("x") else (n_post,)


def run_program_lava(
    program: Program, inputs: Mapping[str, np.ndarray], *, record: Any = (), strict: bool = False
) -> RunResult:
    """In-process Lava run (needs lava-nc): one fresh network per sample, one after another."""
    check_program(program)
    rec = normalize_record(record)
    pop_data, batch, steps = prepare_inputs(program, inputs)
    needs = needed_observables(program, rec, strict)
    per_sample = []
    for b in range(batch):
        job = Job(program, {pop: arr[b] for pop, arr in pop_data.items()}, steps, needs)
        per_sample.extend(run_jobs([job]))
    return assemble_result(program, per_sample, rec, batch, steps, strict=strict)


# --------------------------------------------------------------------------- subprocess entry
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m neurocompile.targets.loihi2.lava_runner PROG IN OUT [--record ...] [--strict]``.

    Errors: one line on stderr (the last line), exit code 2.
    """
    ap = argparse.ArgumentParser(prog="neurocompile.targets.loihi2.lava_runner")
    ap.add_argument("program")
    ap.add_argument("inputs")
    ap.add_argument("output")
    ap.add_argument("--record", default="")
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args(argv)
    try:
        prog = Program.load(args.program)
        result = run_program_lava(prog, load_npz(args.inputs), record=args.record, strict=args.strict)
        result.save(args.output)
    except NeurocompileError as exc:
        sys.stderr.write(exc.one_line() + "\n")
        return 2
    except Exception as exc:  # a Lava failure: report it on one line too
        sys.stderr.write(f"lava error: {type(exc).__name__}: {' '.join(str(exc).split())}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
