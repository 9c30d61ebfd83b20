"""``--backend spinnaker``: map a spinnaker Program on a virtual SpiNN-5 board with sPyNNaker 1!7.4.1.

A virtual board runs sPyNNaker's whole mapping flow (partitioning, placement, routing, key
allocation, routing-table generation, data-spec generation, ``docs/reference/spinnaker.md`` §1.3)
but loads and runs nothing: **it produces no spikes and no state**. :func:`run_board` therefore
returns a :class:`BoardRunResult` with empty outputs, fidelity label ``mapping-only``
(:data:`FIDELITY_MAPPING_ONLY`: the numbers are sPyNNaker's placement, routing and quantised
weights, not a simulation) and a warning saying so; the mapping itself is in ``.mapping``.

What is checked against the Program, from sPyNNaker's own objects:

* the weights and delays of every projection, read back with ``Projection.get(["weight",
  "delay"])`` after mapping: ``|w| * 2**(15 - shift)`` must be the Program's ``w16`` and
  ``delay / tick_ms`` its ``delays``, synapse for synapse;
* the ring-buffer shifts each population actually used (``get_ring_buffer_shifts``) against
  the Program's ``ring_buffer_shifts``.

sPyNNaker always runs in a subprocess (:mod:`.pynn_worker`) with a private ``HOME`` holding a
minimal ``.spynnaker.cfg`` (sPyNNaker raises without one and writes config/matplotlib caches
into HOME) and a CWD holding ``spynnaker.cfg`` with ``virtual_board = True``, ``version = 5``,
``mode = Info``, ``write_network_graph = False``. The interpreter is ``$NEUROCOMPILE_SPINNAKER_PYTHON``
or the current one (sPyNNaker lives in the main ``.venv``).

Several Programs can share one sPyNNaker run (:func:`map_on_board` with a list; labels get a
``n<i>_`` prefix): each run costs ~2-3 s of imports and setup, the mapping of small nets < 1 s.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from neurocompile.data import RunResult
from neurocompile.errors import BackendUnavailableError
from neurocompile.program import Program

from . import emit, spec

SPINNAKER_PYTHON_ENV = "NEUROCOMPILE_SPINNAKER_PYTHON"
FIDELITY_MAPPING_ONLY = "mapping-only"
BOARD_REFERENCE = "sPyNNaker 1!7.4.1 on a virtual SpiNN-5 board (version 5, 48 chips)"
BACKEND = "spinnaker"
DEFAULT_TIMEOUT = 1800.0
NO_SPIKES_WARNING = (
    "virtual board: sPyNNaker mapped the network (placement, routing, quantised weights) "
    "but a virtual board runs nothing, so there are no spikes and no recorded state; "
    'run the emulator (backend="emulator") for spikes, or the emitted bundle on a real board'
)

USER_CFG = "[Machine]\n"
WORK_CFG = """\
[Machine]
virtual_board = True
version = 5

[Mode]
mode = Info

[Reports]
default_report_file_path = {reports}
write_network_graph = False
"""


@dataclass(frozen=True)
class ProjectionCheck:
    """One projection's weights/delays as sPyNNaker mapped them vs the Program."""

    program: int
    projection: str
    synapses: int
    mapped: int
    shift: int
    weight_mismatches: int
    delay_mismatches: int
    non_integer_weights: int
    #: some delay lies beyond 2 x the post core's slots (2nd+ delay-extension stage), where
    #: sPyNNaker 7.4.1's Projection.get misreports pre indices (docs/targets/spinnaker-board.md)
    beyond_first_delay_stage: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.synapses == self.mapped
            and not self.weight_mismatches
            and not self.delay_mismatches
            and not self.non_integer_weights
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class ShiftCheck:
    program: int
    population: str
    expected: tuple[int, ...]
    mapped: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return tuple(self.expected) == tuple(self.mapped)

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class BoardMapping:
    """sPyNNaker's mapping of one virtual-board run (all Programs mapped together)."""

    chips: int
    cores_used: int
    system_cores: int
    cores: tuple[dict, ...]
    cores_per_population: dict[str, int]
    routing_entries_max: int
    routing_entries_total: int
    routing_chips: int
    sdram_bytes_total: int
    machine: dict
    projection_checks: tuple[ProjectionCheck, ...] = ()
    shift_checks: tuple[ShiftCheck, ...] = ()
    #: every neuron parameter sPyNNaker holds (Population.get) that differs from the Program
    #: (:func:`parameter_mismatches`); empty when all agree
    parameter_mismatches: tuple[str, ...] = ()
    timings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def weights_ok(self) -> bool:
        return all(c.ok for c in self.projection_checks)

    @property
    def shifts_ok(self) -> bool:
        return all(c.ok for c in self.shift_checks)

    @property
    def parameters_ok(self) -> bool:
        return not self.parameter_mismatches

    def placement(self, limits: Mapping[str, Any] | None = None) -> dict:
        """``program.placement``-style dict (``estimated: false``: sPyNNaker's actual placement)."""
        return {
            "chips": self.chips,
            "cores_used": self.cores_used,
            "cores": [dict(c) for c in self.cores],
            "limits": dict(limits or {}),
            "source": BOARD_REFERENCE,
            "routing_entries_max": self.routing_entries_max,
            "system_cores": self.system_cores,
        }

    def summary(self) -> dict:
        return {
            "chips": self.chips,
            "cores_used": self.cores_used,
            "system_cores": self.system_cores,
            "cores_per_population": dict(self.cores_per_population),
            "routing_entries_max": self.routing_entries_max,
            "routing_entries_total": self.routing_entries_total,
            "sdram_bytes_total": self.sdram_bytes_total,
            "weights_ok": self.weights_ok,
            "shifts_ok": self.shifts_ok,
            "parameters_ok": self.parameters_ok,
            "projections_checked": len(self.projection_checks),
            "populations_checked": len(self.shift_checks),
            "timings": dict(self.timings),
            "versions": dict(self.versions),
        }

    def as_dict(self) -> dict:
        d = self.summary()
        d.update(
            cores=[dict(c) for c in self.cores],
            machine=dict(self.machine),
            projection_checks=[c.as_dict() for c in self.projection_checks],
            shift_checks=[c.as_dict() for c in self.shift_checks],
            parameter_mismatches=list(self.parameter_mismatches),
        )
        return d


@dataclass
class BoardRunResult(RunResult):
    """A :class:`RunResult` with no outputs plus the board mapping."""

    mapping: BoardMapping | None = None

    def meta(self) -> dict[str, Any]:
        m = super().meta()
        if self.mapping is not None:
            m["mapping"] = self.mapping.summary()
        return m


# ---------------------------------------------------------------------------- environment
def spinnaker_python() -> str:
    """The interpreter with sPyNNaker: ``$NEUROCOMPILE_SPINNAKER_PYTHON`` or this one."""
    env = os.environ.get(SPINNAKER_PYTHON_ENV)
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise BackendUnavailableError(
                f"${SPINNAKER_PYTHON_ENV}={env} is not an executable Python",
                parameter=SPINNAKER_PYTHON_ENV,
                expected="a Python with spynnaker 1!7.4.1",
            )
        return env
    if importlib.util.find_spec("spynnaker") is None or importlib.util.find_spec("pyNN") is None:
        raise BackendUnavailableError(
            "sPyNNaker is not installed in this interpreter; "
            "`make venvs` installs spynnaker==1!7.4.1 in .venv, "
            f"or point {SPINNAKER_PYTHON_ENV} at a Python that has it",
            parameter=SPINNAKER_PYTHON_ENV,
            expected="spynnaker 1!7.4.1",
        )
    return sys.executable


def spinnaker_available() -> bool:
    try:
        spinnaker_python()
    except BackendUnavailableError:
        return False
    return True


def prepare_dirs(root: str | os.PathLike) -> tuple[Path, Path]:
    """Create ``root/home`` (HOME with a minimal ``.spynnaker.cfg``) and ``root/work`` (CWD with the
    virtual-board ``spynnaker.cfg``); returns ``(home, work)``."""
    root = Path(root)
    home, work = root / "home", root / "work"
    home.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (home / ".spynnaker.cfg").write_text(USER_CFG)
    (work / "spynnaker.cfg").write_text(WORK_CFG.format(reports=work / "reports"))
    return home, work


def private_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        MPLCONFIGDIR=str(home / ".matplotlib"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
    )
    return env


def run_subprocess(
    cmd: list[str], cwd: Path, home: Path, timeout: float, what: str
) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=private_env(home), capture_output=True, text=True, timeout=timeout
        )
    except OSError as exc:
        raise BackendUnavailableError(
            f"cannot start {cmd[0]}: {exc.strerror}", parameter=SPINNAKER_PYTHON_ENV
        ) from None
    except subprocess.TimeoutExpired:
        raise BackendUnavailableError(
            f"{what} did not finish within {timeout:.0f} s", parameter="timeout"
        ) from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(" ")]
        last = lines[-1].strip() if lines else f"exit code {proc.returncode}, no message"
        raise BackendUnavailableError(f"{what} failed: {last}", parameter=SPINNAKER_PYTHON_ENV)
    return proc


# ---------------------------------------------------------------------------- mapping
def _prefix(i: int, n: int) -> str:
    return "" if n == 1 else f"n{i}_"


def merged_network(
    programs: Sequence[Program], inputs: Sequence[Mapping[str, np.ndarray] | None], steps: int | None
) -> tuple[dict, dict[str, np.ndarray]]:
    """One ``network.npz`` description holding every Program (labels prefixed ``n<i>_``)."""
    net: dict | None = None
    arrays: dict[str, np.ndarray] = {}
    n_steps = 1
    for i, (prog, inp) in enumerate(zip(programs, inputs)):
        sub, sub_arrays = emit.network_arrays(prog, inp, steps, prefix=_prefix(i, len(programs)))
        n_steps = max(n_steps, sub["n_steps"])
        if net is None:
            net = dict(sub, populations=[], projections=[])
        elif sub["tick_ms"] != net["tick_ms"]:
            raise BackendUnavailableError(
                "Programs with different tick_ms cannot share one sPyNNaker run",
                parameter="tick_ms",
                expected=str(net["tick_ms"]),
            )
        p0, q0 = len(net["populations"]), len(net["projections"])
        for k, v in sub_arrays.items():
            head, _, rest = k.partition(".")
            num = int(head[4:]) if head.startswith("proj") else int(head[3:])
            new = f"proj{num + q0}" if head.startswith("proj") else f"pop{num + p0}"
            arrays[f"{new}.{rest}"] = v
        net["populations"] += sub["populations"]
        net["projections"] += sub["projections"]
    assert net is not None  # programs is non-empty (checked by the caller)
    net["n_steps"] = n_steps
    return net, arrays


def _check_readback(
    programs: Sequence[Program], net: dict, arrays: Mapping[str, np.ndarray], rb: Mapping[str, np.ndarray]
) -> tuple[list[ProjectionCheck], list[ShiftCheck]]:
    tick = float(net["tick_ms"])
    owners = []
    for i, prog in enumerate(programs):
        owners += [(i, name) for name in prog.projections]
    proj_checks = []
    for j, q in enumerate(net["projections"]):
        i, name = owners[j]
        scale = emit.weight_scale(q["shift"])
        want = np.stack(
            [
                arrays[f"proj{j}.pre"],
                arrays[f"proj{j}.post"],
                np.round(arrays[f"proj{j}.delay"] / tick).astype(np.int64),
                arrays[f"proj{j}.w16"],
            ]
        )
        w = np.abs(rb.get(f"proj{j}.weight", np.zeros(0))) * scale
        w16 = np.rint(w).astype(np.int64)
        got = np.stack(
            [
                rb.get(f"proj{j}.pre", np.zeros(0, np.int64)),
                rb.get(f"proj{j}.post", np.zeros(0, np.int64)),
                np.rint(rb.get(f"proj{j}.delay", np.zeros(0)) / tick).astype(np.int64),
                w16,
            ]
        )
        n_ok = want.shape[1] == got.shape[1]
        wrong_w = wrong_d = want.shape[1]
        if n_ok:
            a = want[:, np.lexsort(want[::-1])]
            b = got[:, np.lexsort(got[::-1])]
            wrong_w = int(np.count_nonzero(np.any(a[[0, 1, 3]] != b[[0, 1, 3]], axis=0)))
            wrong_d = int(np.count_nonzero(a[2] != b[2]))
        post = next(p for p in net["populations"] if p["label"] == q["post"])
        slots = spec.core_delay_slots(min(int(post["size"]), int(post.get("neurons_per_core", 256))))
        deep = bool(want.shape[1] and int(want[2].max()) > 2 * slots)
        proj_checks.append(
            ProjectionCheck(
                i,
                name,
                int(want.shape[1]),
                int(got.shape[1]),
                int(q["shift"]),
                wrong_w,
                wrong_d,
                int(np.count_nonzero(w != np.rint(w))),
                deep,
            )
        )
    shift_checks = []
    pop_owner = []
    for i, prog in enumerate(programs):
        pop_owner += [(i, name) for name in prog.populations]
    for k, p in enumerate(net["populations"]):
        if "ring_buffer_shifts" not in p:
            continue
        i, name = pop_owner[k]
        mapped = tuple(int(s) for s in rb.get(f"pop{k}.ring_buffer_shifts", np.zeros(0, np.int64)))
        shift_checks.append(ShiftCheck(i, name, tuple(int(s) for s in p["ring_buffer_shifts"]), mapped))
    return proj_checks, shift_checks


def _summarise(doc: dict, labels: list[str]) -> dict[str, Any]:
    app = [c for c in doc["placements"] if c["kind"] != "system"]
    chips_xy = sorted({(c["x"], c["y"]) for c in app})
    chip_index = {xy: i for i, xy in enumerate(chips_xy)}
    cores = []
    per_pop = {lab: 0 for lab in labels}
    for c in sorted(app, key=lambda c: (c["x"], c["y"], c["p"])):
        owner = c["app_vertex"] if c["kind"] == "population" else c.get("source") or c["app_vertex"]
        if c["kind"] == "population":
            per_pop[owner] = per_pop.get(owner, 0) + 1
        lo = c["lo_atom"] or 0
        n = c["n_atoms"] or 0
        cores.append(
            {
                "chip": chip_index[(c["x"], c["y"])],
                "chip_xy": [c["x"], c["y"]],
                "core": c["p"],
                "population": owner,
                "kind": c["kind"],
                "start": lo,
                "stop": lo + n,
                "neurons": n,
                "sdram_bytes": c["sdram"],
                "synapse_bytes": None,
                "estimated": False,
            }
        )
    tables = doc["routing"].get("precompressed") or doc["routing"].get("uncompressed") or []
    entries = [t["entries"] for t in tables]
    return {
        "chips": len(chips_xy),
        "cores_used": len(app),
        "system_cores": len(doc["placements"]) - len(app),
        "cores": tuple(cores),
        "cores_per_population": per_pop,
        "routing_entries_max": max(entries, default=0),
        "routing_entries_total": int(sum(entries)),
        "routing_chips": len(entries),
        "sdram_bytes_total": int(sum(c["sdram"] or 0 for c in doc["placements"])),
        "machine": doc["machine"],
    }


def run_worker(
    net: dict,
    arrays: Mapping[str, np.ndarray],
    *,
    readback: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    keep_dir: str | os.PathLike | None = None,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Map a ``network.npz`` description (``emit.network_arrays`` layout) with :mod:`.pynn_worker`;
    returns ``(mapping.json dict, readback arrays)``. Populations whose
    ``max_expected_summed_weight`` is ``None`` are left to sPyNNaker's own shift rule."""
    python = spinnaker_python()
    with tempfile.TemporaryDirectory(prefix="neurocompile-spinnaker-") as tmp:
        root = Path(keep_dir) if keep_dir is not None else Path(tmp)
        home, work = prepare_dirs(root)
        emit.save_network(work / "network.npz", net, arrays)
        cmd = [python, "-m", "neurocompile.targets.spinnaker.pynn_worker", "network.npz", str(work)]
        if not readback:
            cmd.append("--no-readback")
        run_subprocess(cmd, work, home, timeout, "the sPyNNaker virtual-board run")
        doc = json.loads((work / "mapping.json").read_text())
        rb: dict[str, np.ndarray] = {}
        if readback:
            with np.load(work / "readback.npz", allow_pickle=False) as f:
                rb = {k: f[k] for k in f.files}
    return doc, rb


def parameter_mismatches(
    net: dict, arrays: Mapping[str, np.ndarray], rb: Mapping[str, np.ndarray]
) -> list[str]:
    """Every neuron parameter of ``net`` (``emit.network_arrays`` layout) against sPyNNaker's
    read-back (``bundle_run.readback``: ``Population.get`` per neuron); one line per population
    parameter that differs or was not read back."""
    bad = []
    for k, p in enumerate(net["populations"]):
        if p["model"] == "SpikeSourceArray":
            continue
        n = int(p["size"])
        want = {name: np.full(n, float(v)) for name, v in p.get("params", {}).items()}
        want.update({name: np.asarray(arrays[f"pop{k}.{name}"], np.float64) for name in p.get("arrays", ())})
        for name, w in want.items():
            if name == "v_init":
                continue
            got = rb.get(f"pop{k}.param.{name}")
            if got is None or got.shape != w.shape:
                bad.append(f"{p['label']}.{name}: not read back")
            elif not np.allclose(got, w, rtol=1e-12, atol=0.0):
                i = int(np.argmax(~np.isclose(got, w, rtol=1e-12, atol=0.0)))
                bad.append(f"{p['label']}.{name}[{i}]: sPyNNaker holds {got[i]!r}, the Program {w[i]!r}")
    return bad


def map_on_board(
    programs: Program | Sequence[Program],
    inputs: Any = None,
    *,
    steps: int | None = None,
    readback: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    keep_dir: str | os.PathLike | None = None,
) -> BoardMapping:
    """Map one Program (or several, in one sPyNNaker run) on a virtual SpiNN-5 board.

    ``inputs`` is one input mapping (or a list, one per Program); only used to fill the
    ``SpikeSourceArray`` times and the run length (which sizes the recording buffers).
    ``keep_dir`` keeps the working directory (network.npz, reports, mapping.json) there.
    """
    progs = [programs] if isinstance(programs, Program) else list(programs)
    if not progs:
        raise BackendUnavailableError("no Program to map", parameter="programs")
    ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs] * len(progs)
    t0 = time.perf_counter()
    net, arrays = merged_network(progs, ins, steps)
    doc, rb = run_worker(net, arrays, readback=readback, timeout=timeout, keep_dir=keep_dir)
    summary = _summarise(doc, [p["label"] for p in net["populations"]])
    pchecks, schecks = _check_readback(progs, net, arrays, rb) if readback else ([], [])
    mism = tuple(parameter_mismatches(net, arrays, rb)) if readback else ()
    timings = dict(doc.get("timings", {}), wall_s=time.perf_counter() - t0)
    return BoardMapping(
        **summary,
        projection_checks=tuple(pchecks),
        shift_checks=tuple(schecks),
        parameter_mismatches=mism,
        timings=timings,
        versions=doc.get("versions", {}),
    )


def run_board(
    program: Program, inputs: Mapping[str, np.ndarray] | None = None, **opts: Any
) -> BoardRunResult:
    """Backend ``("spinnaker", "spinnaker")``: map on a virtual board; no spikes (see module doc).

    Options: ``steps`` (run length without inputs), ``timeout``, ``keep_dir``; ``record`` and
    ``strict`` (the generic run options) are accepted and ignored with a warning for ``record``.
    The returned result's ``mapping`` holds the placement and the readback checks; a weight or
    shift mismatch is reported as a warning (it would be a bug in the lowering or in sPyNNaker's pin).
    """
    record = opts.pop("record", ())
    opts.pop("strict", None)
    mapping = map_on_board(
        program,
        inputs,
        steps=opts.pop("steps", None),
        timeout=opts.pop("timeout", DEFAULT_TIMEOUT),
        keep_dir=opts.pop("keep_dir", None),
    )
    if opts:
        raise BackendUnavailableError(
            f"unknown options {sorted(opts)} for the spinnaker backend",
            parameter=sorted(opts)[0],
            expected="steps, timeout, keep_dir",
        )
    warnings = [NO_SPIKES_WARNING]
    if record:
        warnings.append("record ignored: a virtual board records nothing")
    for c in mapping.projection_checks:
        if not c.ok:
            known = (
                (
                    " (its delays reach the 2nd delay-extension stage, "
                    "where sPyNNaker 7.4.1's Projection.get misreports pre indices: "
                    "see docs/targets/spinnaker-board.md)"
                )
                if c.beyond_first_delay_stage
                else ""
            )
            warnings.append(
                f"projection '{c.projection}': sPyNNaker mapped {c.mapped}/{c.synapses} synapses, "
                f"{c.weight_mismatches} weight and {c.delay_mismatches} delay mismatches vs the Program"
                + known
            )
    for c in mapping.shift_checks:
        if not c.ok:
            warnings.append(
                f"population '{c.population}': ring-buffer shifts {list(c.mapped)} "
                f"differ from the Program's {list(c.expected)}"
            )
    m = mapping.summary()
    warnings.append(
        f"mapping: {m['cores_used']} application cores on {m['chips']} chips "
        f"(+{m['system_cores']} system cores), max {m['routing_entries_max']} routing entries per chip, "
        f"weights {'match' if mapping.weights_ok else 'DIFFER'}, shifts "
        f"{'match' if mapping.shifts_ok else 'DIFFER'}"
    )
    from .units import run_semantics

    return BoardRunResult(
        outputs={},
        recordings={},
        backend=BACKEND,
        fidelity=FIDELITY_MAPPING_ONLY,
        reference=BOARD_REFERENCE,
        semantics=run_semantics(program),  # reset zero when subtract was asked (units.py)
        warnings=warnings,
        mapping=mapping,
    )
