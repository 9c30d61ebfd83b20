"""The end-to-end demo behind ``neurocompile demo`` and ``make demo`` (printed by ``cli/demo_cmd.py``).

One bundled model goes through the whole pipeline for every registered target
(``neurocompile.target.target_names()``): ``check``, ``compile``, the float reference and each
target's bit-exact ``emulator`` backend (its first backend when it has none) on the test set,
a second backend on a small subset where a target names one (loihi2: Lava, when its
interpreter exists), the resource report of every Program, a spike raster and a
core-placement picture (``cli/demo_plots.py``).

The demo names no chip. What it shows of a target beyond the core's hooks comes from the
target's ``demo`` dict (``targets/<chip>/__init__.py``), all entries optional:

``fidelity``
    The emulator row's label when the run gives none (e.g. it failed).
``quantization``
    A format string over a projection's quantization record (e.g. ``"{num_weight_bits}-bit"``)
    for the compile step's quantization table.
``reset_fallback`` and ``chip``
    ``{reset: what is compiled instead}`` for resets the chip cannot do, and the chip's name for
    the note that says so.
``subset``
    ``{"backend", "label", "fidelity", "available", "interpreter", "hint"}``: the backend run on
    the first K samples (``--lava-samples``) and compared spike for spike with the emulator;
    ``available()`` says whether it runs in this interpreter, else ``interpreter()`` raises
    :class:`neurocompile.errors.BackendUnavailableError` when it cannot run at all (a skip,
    ``hint`` appended). Its result is ``results.json``'s entry under the backend's name.
``cores_per_chip``, ``system_cores``, ``placement``
    For the placement picture (see ``cli/demo_plots.py``).

:class:`Demo` holds the state and has one method per step, so that the CLI can print between
steps; :func:`run_demo` runs them all and returns the frozen :class:`DemoResult`
(``as_dict()`` is what ``results.json`` holds). No printing here: progress goes through an
optional callback ``progress(task, done, total)``.

Models: a zoo name (``neurocompile.models.list_models()``: ``model.nir``, ``test.npz`` with
labels, ``card.json`` with the framework's simulation semantics), ``"default"`` (the
foundation's unlabelled placeholder network ``models/default``), or a ``.nir`` path with an
``--input`` ``.npz`` (optional ``labels`` key).

Compile options per target come from the card's ``"compile"`` section when it has one
(``{target name: {...}}``: keyword arguments of :func:`neurocompile.compile`),
otherwise from its float semantics (dt, discretization, reset). A reset the chip cannot do
(its ``reset_fallback``, e.g. Loihi 2 cannot reset by subtraction) is replaced (``zero``) and
the demo says so (the accuracy table shows what that approximation costs).

Knowingly simple: the chips add one step per synaptic hop (``hop_delay`` 1) while the
frameworks add none, and the demo runs the test set's inputs unchanged, so the last spikes of a
short input may not reach the output on the chip; the table measures that effect with the
rest. Without labels (the default model) "accuracy" is left empty and only the agreement of
predictions with the float reference is shown.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from neurocompile.errors import BackendUnavailableError, InputDataError, ModelLoadError, NeurocompileError
from neurocompile.files import atomic_write, output_path
from neurocompile.target import INPUT_KINDS, get_target, resolve, target_names

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SUBSET_SAMPLES",
    "DemoModel",
    "AccuracyRow",
    "SubsetCheck",
    "DemoResult",
    "Demo",
    "resolve_model",
    "compile_options",
    "predict",
    "run_chunked",
    "quantization_rows",
    "run_demo",
    "FLOAT",
]

#: The zoo model the demo uses unless told otherwise.
DEFAULT_MODEL = "digits_cnn_sinabs"
#: Samples run on each target's ``subset`` backend (``--lava-samples``).
DEFAULT_SUBSET_SAMPLES = 20
#: The CLI option that sets the subset size (named after the first subset backend, Lava).
SUBSET_OPTION = "--lava-samples"
#: Samples per emulator/reference call (one progress bar tick each).
CHUNK = 40
#: Samples per subset-backend call (each may pay a subprocess start-up of a few seconds).
SUBSET_CHUNK = 5
#: The float rows' label; chip rows carry the label the run itself returns (docs/fidelity.md).
FLOAT = "float"

Progress = Callable[[str, int, int], None]


# ------------------------------------------------------------------------------ model
@dataclass(frozen=True)
class DemoModel:
    """What the demo runs: the model file, its test inputs, labels (or None) and float semantics."""

    name: str
    path: Path
    inputs: Mapping[str, np.ndarray]
    labels: np.ndarray | None
    reference: Mapping[str, Any]
    card: Mapping[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(next(iter(self.inputs.values())).shape[0])

    def as_dict(self) -> dict[str, Any]:
        shapes = {k: list(v.shape) for k, v in self.inputs.items()}
        return {
            "name": self.name,
            "path": str(self.path),
            "inputs": shapes,
            "samples": self.samples,
            "labelled": self.labels is not None,
            "reference": dict(self.reference),
            "card_accuracy": dict(self.card.get("accuracy", {})),
        }


def _default_dir() -> Path:
    from neurocompile.models import ZOO_DIR

    return ZOO_DIR / "default"


def resolve_model(
    model: str | Path | None = None,
    input: str | Path | None = None,
    samples: int | None = None,
    *,
    dt: float | None = None,
    reset: str | None = None,
) -> DemoModel:
    """A zoo name, ``"default"``, or a ``.nir`` path (with ``input``) -> :class:`DemoModel`.

    Keeps the first ``samples`` samples. ``dt`` and ``reset`` (``--dt``, ``--reset``) are the
    semantics of a ``.nir`` model's check, compile and float reference (NIR files store no dt and
    paper-era files no v_reset); a zoo model carries its own and refuses them.
    """
    from neurocompile import models as zoo
    from neurocompile.data import load_npz
    from neurocompile.files import model_path

    name = str(model) if model is not None else DEFAULT_MODEL
    if samples is not None and samples < 1:
        raise InputDataError(
            f"--samples must be at least 1, got {samples}", parameter="samples", expected=">= 1"
        )
    card: dict[str, Any] = {}
    if name in zoo.list_models() and input is None:
        path = zoo.model_path(name)
        inputs, labels = zoo.load_test_set(name)
        card = zoo.load_card(name)
        reference = zoo.reference_semantics(name)
        if dt is not None or reset is not None:
            raise InputDataError(
                f"the zoo model {name!r} carries its own dt and reset",
                parameter="dt" if dt is not None else "reset",
                expected="no dt or reset for a zoo model (they apply to a .nir model)",
            )
    else:
        if name == "default":
            path, in_path = (
                _default_dir() / "default.nir",
                Path(input) if input else _default_dir() / "input.npz",
            )
        else:
            path = Path(name)
            if path.suffix == ".nir" and os.path.lexists(path):
                model_path(path, what="--model")  # a FIFO, folder or empty file: refused unopened
            if path.suffix != ".nir" or not path.is_file():
                raise ModelLoadError(
                    f"no bundled model or .nir file named {name!r}",
                    parameter="model",
                    expected="default, " + ", ".join(zoo.list_models()) + ", or a .nir path",
                )
            if input is None:
                raise InputDataError(
                    f"--model {name} needs --input IN.npz (inputs, optional 'labels')",
                    parameter="input",
                    expected="an .npz file",
                )
            in_path = Path(input)
            name = path.stem
        raw = load_npz(in_path, what="--input")
        labels = np.asarray(raw.pop("labels")).astype(np.int64) if "labels" in raw else None
        inputs = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        reference = {"hop_delay": 0}
        if dt is not None:
            reference["dt"] = dt
        if reset is not None:
            reference["reset"] = reset
    if samples is not None:
        inputs = {k: v[:samples] for k, v in inputs.items()}
        labels = None if labels is None else labels[:samples]
    return DemoModel(name=name, path=Path(path), inputs=inputs, labels=labels, reference=reference, card=card)


def compile_options(dm: DemoModel, target: str) -> tuple[dict[str, Any], list[str]]:
    """Keyword arguments of :func:`neurocompile.compile` for ``target``, and notes on the choices."""
    notes: list[str] = []
    given = (dm.card.get("compile") or {}).get(target)
    if given is not None:
        return dict(given), [f"compile options from {dm.name}'s card"]
    opts = {k: dm.reference[k] for k in ("dt", "discretization", "reset") if k in dm.reference}
    facts = get_target(target).demo
    instead = (facts.get("reset_fallback") or {}).get(opts.get("reset"))
    if instead is not None:
        chip = facts.get("chip", target)
        notes.append(
            f"{chip} cannot reset by {_ING.get(opts['reset'], opts['reset'])}: compiled with "
            f"reset={instead} (an approximation; the accuracy table shows its cost)"
        )
        opts["reset"] = instead
    return opts, notes


_ING = {"subtract": "subtraction"}


def predict(outputs: np.ndarray) -> np.ndarray:
    """Class per sample: argmax of the output spike counts over time (ties: lowest index)."""
    counts = np.asarray(outputs, dtype=np.float64).sum(axis=1)
    return counts.reshape(counts.shape[0], -1).argmax(axis=1)


def run_chunked(
    fn: Callable[[Mapping[str, np.ndarray]], Any],
    inputs: Mapping[str, np.ndarray],
    *,
    chunk: int = CHUNK,
    task: str = "",
    progress: Progress | None = None,
) -> list[Any]:
    """``fn`` on consecutive sample chunks of ``inputs`` (progress after each); the list of results."""
    n = int(next(iter(inputs.values())).shape[0])
    out = []
    if progress:
        progress(task, 0, n)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        out.append(fn({k: v[a:b] for k, v in inputs.items()}))
        if progress:
            progress(task, b, n)
    return out


def _label(result: Any, default: str) -> str:
    """The run's own fidelity label, e.g. ``bit-exact vs lava-nc 0.10.0 fixed_pt``."""
    fid = getattr(result, "fidelity", None)
    if not fid:
        return default
    ref = getattr(result, "reference", None)
    return f"{fid} vs {ref}" if ref else fid


def _concat(results: Sequence[Any], key: str, where: str = "outputs") -> np.ndarray:
    return np.concatenate([np.asarray(getattr(r, where)[key]) for r in results], axis=0)


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class AccuracyRow:
    """One line of the accuracy table."""

    backend: str
    fidelity: str
    samples: int
    accuracy: float | None = None
    agreement: float | None = None  # fraction of predictions equal to the float reference's
    seconds: float = 0.0
    note: str = ""
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "fidelity": self.fidelity,
            "samples": self.samples,
            "accuracy": self.accuracy,
            "agreement": self.agreement,
            "seconds": round(self.seconds, 3),
            "note": self.note,
            "error": self.error,
        }


@dataclass(frozen=True)
class SubsetCheck:
    """A target's ``subset`` backend (loihi2: Lava) on the first ``samples`` test samples vs its
    emulator on the same samples."""

    status: str  # "ran", "skipped" or "failed"
    samples: int = 0
    identical: int = 0
    accuracy: float | None = None
    emulator_accuracy: float | None = None
    seconds: float = 0.0
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "samples": self.samples,
            "identical": self.identical,
            "accuracy": self.accuracy,
            "emulator_accuracy": self.emulator_accuracy,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DemoResult:
    model: Mapping[str, Any]
    checks: Mapping[str, Any]
    compiled: Mapping[str, Any]
    accuracy: tuple[AccuracyRow, ...]
    #: subset backend name (e.g. ``"lava"``) -> its check; each is a top-level key of ``as_dict()``
    subsets: Mapping[str, SubsetCheck]
    resources: Mapping[str, Any]
    files: Mapping[str, str]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": dict(self.model),
            "checks": dict(self.checks),
            "compiled": dict(self.compiled),
            "accuracy": [r.as_dict() for r in self.accuracy],
            **{name: c.as_dict() for name, c in self.subsets.items()},
            "resources": dict(self.resources),
            "files": dict(self.files),
            "seconds": round(self.seconds, 3),
        }

    @property
    def ok(self) -> bool:
        """No backend failed (a skipped subset run is not a failure; a mismatch is)."""
        return all(r.error is None for r in self.accuracy) and all(
            c.status != "failed" and c.identical == c.samples for c in self.subsets.values()
        )


class _Fields(dict):
    """A quantization record for ``str.format_map``: a field the record lacks reads empty."""

    def __missing__(self, key: str) -> Any:
        return ""


def quantization_rows(program: Any) -> list[dict[str, Any]]:
    """A short per-projection quantization summary (what each target's lowering recorded), the
    weight scheme written with the target's ``demo["quantization"]`` format."""
    q = (program.quantization or {}).get("projections", {})
    fmt = get_target(program.target).demo.get("quantization")
    rows = []
    for name, v in q.items():
        scheme = fmt.format_map(_Fields(v)).strip() if fmt else "-"
        rows.append(
            {
                "projection": name,
                "scheme": scheme,
                "rms_relative_error": v.get("rms_relative_error"),
                "fraction_zeroed": v.get("fraction_zeroed"),
                "fraction_clipped": v.get("fraction_clipped"),
            }
        )
    return rows


def _resources(program: Any) -> dict[str, Any]:
    from neurocompile.report import report

    pl = report(program).placement
    return {
        "chips": pl.chips,
        "cores_used": pl.cores_used,
        "source": pl.source,
        "error": pl.error,
        "cores": [dict(c) for c in pl.cores],
        "per_chip": [dict(c) for c in pl.per_chip],
        "limits": dict(pl.limits),
        "estimated": pl.estimated,
        "spike_sources": [p.name for p in program.populations.values() if p.kind in INPUT_KINDS],
    }


# ------------------------------------------------------------------------------ the demo
@dataclass(frozen=True)
class Subset:
    """A target's ``demo["subset"]`` entry: the backend the demo runs on the first K samples."""

    target: str
    backend: str
    label: str
    fidelity: str = "bit-exact"
    available: Any = None  # hook: () -> bool, the backend runs in this interpreter
    interpreter: Any = None  # hook: () -> Any, raises BackendUnavailableError when it cannot run
    hint: str = ""

    @classmethod
    def of(cls, target: str) -> "Subset | None":
        given = get_target(target).demo.get("subset")
        if not given:
            return None
        backend = given["backend"]
        return cls(
            target=target,
            backend=backend,
            label=given.get("label", backend),
            fidelity=given.get("fidelity", "bit-exact"),
            available=given.get("available"),
            interpreter=given.get("interpreter"),
            hint=given.get("hint", ""),
        )

    def unavailable(self) -> str | None:
        """Why the backend cannot run here (a skip), or None."""
        if self.available is not None and resolve(self.available)():
            return None
        if self.interpreter is None:
            return None if self.available is None else f"{self.label} is not available"
        try:
            resolve(self.interpreter)()
        except BackendUnavailableError as exc:
            return exc.one_line() + (f" ({self.hint})" if self.hint else "")
        return None


class Demo:
    """The demo's state; call the steps in order (``run_demo`` does)."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        input: str | Path | None = None,
        samples: int | None = None,
        subset_samples: int = DEFAULT_SUBSET_SAMPLES,
        out: str | Path = "out/demo",
        progress: Progress | None = None,
        dt: float | None = None,
        reset: str | None = None,
        cluster: Any = None,
    ) -> None:
        import neurocompile as nc

        self.t0 = time.perf_counter()
        if subset_samples < 0:
            raise InputDataError(
                f"{SUBSET_OPTION} must be >= 0, got {subset_samples}",
                parameter=SUBSET_OPTION.lstrip("-").replace("-", "_"),
                expected=">= 0",
            )
        self.dm = resolve_model(model, input, samples, dt=dt, reset=reset)
        #: every registered target, in registration order
        self.targets: list[str] = target_names()
        # what the demo writes into --out: refused before any work when that would replace an input
        members = [f"{t}.ncp" for t in self.targets] + ["raster.png", "placement.png", "results.json"]
        self.out = output_path(
            out,
            what="--out",
            kind="directory",
            inputs={"--model": self.dm.path, "--input": input},
            members=members,
        )
        self.graph = nc.load(self.dm.path)
        self.subset_samples = min(subset_samples, self.dm.samples)
        self.progress = progress
        #: a Dask cluster (``"local:N"``, an address or a Client): the emulator runs are sharded over it
        self.cluster = cluster
        #: subset backend name -> what runs it (from the targets' ``demo["subset"]``)
        self.subsets: dict[str, Subset] = {}
        for t in self.targets:
            sub = Subset.of(t)
            if sub is not None:
                self.subsets[sub.backend if sub.backend not in self.subsets else f"{t}_{sub.backend}"] = sub
        self.checks: dict[str, Any] = {}
        self.programs: dict[str, Any] = {}
        self.compiled: dict[str, Any] = {}
        self.rows: list[AccuracyRow] = []
        self.outputs: dict[str, np.ndarray] = {}
        self.subset_checks: dict[str, SubsetCheck] = {
            name: SubsetCheck(status="skipped", reason="not run") for name in self.subsets
        }
        self.subset_labels: dict[str, str] = {name: sub.fidelity for name, sub in self.subsets.items()}
        self.resources: dict[str, Any] = {}
        self.files: dict[str, str] = {}
        # what the chips get: zoo models use the zoo's chip settings (models/accuracy.py: spikes for
        # analog inputs, trailing silent steps for the hop delay), so the table matches docs/accuracy.md
        self.zoo = bool(self.dm.card)
        self.chip_inputs = self.dm.inputs
        if self.zoo:
            from neurocompile.models import accuracy as zoo_acc

            self.chip_inputs = zoo_acc.chip_inputs(self.dm.name, self.graph, self.dm.inputs)

    def backend(self, target: str) -> str:
        """The backend the whole test set runs on: ``emulator``, else the target's first backend."""
        backends = list(get_target(target).backends)
        return "emulator" if "emulator" in backends or not backends else backends[0]

    def fidelity(self, target: str) -> str:
        """The emulator row's label when the run gives none (the target's ``demo["fidelity"]``)."""
        return get_target(target).demo.get("fidelity", "bit-exact")

    # -- 1. check and compile
    def check(self) -> dict[str, Any]:
        from neurocompile.check import check

        for t in self.targets:
            self.checks[t] = check(self.graph, target=t, dt=self.dm.reference.get("dt"))
        return self.checks

    def compile(self) -> dict[str, Any]:
        import neurocompile as nc

        for t in self.targets:
            opts, notes = compile_options(self.dm, t)
            t1 = time.perf_counter()
            try:
                if self.zoo:
                    from neurocompile.models import accuracy as zoo_acc

                    chosen = zoo_acc.chosen_options(self.dm.name, t)
                    calibrated = bool(chosen.pop("calibration", False))
                    opts = {
                        "reset": zoo_acc.chip_reset(self.dm.name),
                        "calibration": "training images" if calibrated else None,
                        **chosen,
                    }
                    notes = [
                        f"compiled as docs/accuracy.md does (models/accuracy.py compile_for: reset "
                        f"{opts['reset']}, "
                        + ("calibration from training images" if calibrated else "no calibration data")
                        + "".join(f", {k} {v}" for k, v in chosen.items())
                        + "; options chosen on the validation split, models/<name>/options.json)"
                    ]
                    prog = zoo_acc.compile_for(self.dm.name, t)
                else:
                    prog = nc.compile(self.graph, t, **opts)
            except NeurocompileError as exc:
                self.compiled[t] = {"options": opts, "notes": notes, "error": exc.one_line()}
                continue
            path = self.out / f"{t}.ncp"
            atomic_write(path, prog.to_bytes(), what="--out")
            self.files[f"program_{t}"] = str(path)
            self.programs[t] = prog
            self.compiled[t] = {
                "options": opts,
                "notes": notes,
                "error": None,
                "seconds": round(time.perf_counter() - t1, 3),
                "program": str(path),
                "populations": sum(1 for p in prog.populations.values() if p.kind not in INPUT_KINDS),
                "neurons": int(sum(p.size for p in prog.populations.values() if p.kind not in INPUT_KINDS)),
                "projections": len(prog.projections),
                "findings": list(prog.provenance.get("findings", [])),
                "quantization": quantization_rows(prog),
                "semantics": dict(prog.semantics),
            }
        return self.compiled

    # -- 2. runs
    def _row(
        self, backend: str, fidelity: str, pred: np.ndarray, seconds: float, note: str = ""
    ) -> AccuracyRow:
        labels = self.dm.labels
        acc = None if labels is None else float((pred == labels[: pred.size]).mean())
        ref = self.outputs.get("float")
        agree = None if ref is None else float((pred == predict(ref)[: pred.size]).mean())
        return AccuracyRow(backend, fidelity, int(pred.size), acc, agree, seconds, note)

    def run_reference(self) -> AccuracyRow:
        import neurocompile as nc

        t1 = time.perf_counter()
        out_name = self.graph.outputs[0]
        res = run_chunked(
            lambda x: nc.simulate(self.graph, x, **self.dm.reference),
            self.dm.inputs,
            task="float reference",
            progress=self.progress,
        )
        self.outputs["float"] = _concat(res, out_name)
        sem = ", ".join(f"{k} {v}" for k, v in self.dm.reference.items())
        row = self._row(
            "float reference",
            FLOAT,
            predict(self.outputs["float"]),
            time.perf_counter() - t1,
            note=f"framework conventions ({sem})",
        )
        self.rows.append(row)
        return row

    def run_reference_chip(self, target: str) -> AccuracyRow | None:
        """The float reference under ``target``'s Program semantics (hop_delay 1, its reset): it
        separates what the chip's timing and reset conventions cost from what quantization costs.
        None when the Program's semantics equal the framework's (nothing new to show)."""
        import neurocompile as nc

        prog = self.programs.get(target)
        if prog is None:
            return None
        sem = prog.semantics
        kw = {
            "dt": sem.get("dt"),
            "discretization": sem.get("discretization", "forward"),
            "reset": sem.get("reset", "file"),
            "hop_delay": int(sem.get("hop_delay", 1)),
        }
        if all(self.dm.reference.get(k) == v for k, v in kw.items()):
            return None
        t1 = time.perf_counter()
        out_name = self.graph.outputs[0]
        res = run_chunked(
            lambda x: nc.simulate(self.graph, x, **kw),
            self.chip_inputs,
            task=f"float, {target} sem.",
            progress=self.progress,
        )
        self.outputs[f"float_{target}"] = _concat(res, out_name)
        row = self._row(
            f"float, {target} semantics",
            FLOAT,
            predict(self.outputs[f"float_{target}"]),
            time.perf_counter() - t1,
            note=f"the float reference with the {target} Program's conventions (hop_delay {kw['hop_delay']}, "
            f"reset {kw['reset']}); the gap to the emulator row is what the chip arithmetic "
            f"costs (quantization and the approximations the compile findings list)",
        )
        self.rows.append(row)
        return row

    def run_emulator(self, target: str) -> AccuracyRow:
        t1 = time.perf_counter()
        backend = self.backend(target)
        name = f"{target} {backend}"
        prog = self.programs.get(target)
        if prog is None:
            row = AccuracyRow(
                name, self.fidelity(target), 0, error=self.compiled[target].get("error") or "not compiled"
            )
            self.rows.append(row)
            return row
        key = next(iter(prog.outputs))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if self.cluster is not None:  # one sharded run; progress as shards finish
                    prog_cb = self.progress
                    res = [
                        prog.run(
                            self.chip_inputs,
                            backend=backend,
                            cluster=self.cluster,
                            progress=(lambda d, n: prog_cb(name, d, n)) if prog_cb else None,
                        )
                    ]
                else:
                    res = run_chunked(
                        lambda x: prog.run(x, backend=backend),
                        self.chip_inputs,
                        task=name,
                        progress=self.progress,
                    )
        except NeurocompileError as exc:
            row = AccuracyRow(
                name, self.fidelity(target), 0, seconds=time.perf_counter() - t1, error=exc.one_line()
            )
            self.rows.append(row)
            return row
        self.outputs[target] = _concat(res, key)
        nwarn = sum(len(r.warnings) for r in res)
        notes = []
        same_sem = self.outputs.get(f"float_{target}")
        if same_sem is not None:
            agree = float((predict(self.outputs[target]) == predict(same_sem)).mean())
            notes.append(f"same class as 'float, {target} semantics' on {100 * agree:.1f} % of the samples")
        if nwarn:
            notes.append(
                f"{nwarn} overflow warning(s) (v saturation / u wrap, bit-exact with the chip reference)"
            )
        row = self._row(
            name,
            _label(res[0], self.fidelity(target)),
            predict(self.outputs[target]),
            time.perf_counter() - t1,
            note="; ".join(notes),
        )
        self.rows.append(row)
        return row

    def run_subsets(self) -> dict[str, SubsetCheck]:
        """Every target's ``subset`` backend on the first K samples, compared with its emulator."""
        for name in self.subsets:
            self.run_subset(name)
        return self.subset_checks

    def run_subset(self, name: str) -> SubsetCheck:
        sub = self.subsets[name]
        k = self.subset_samples
        prog = self.programs.get(sub.target)
        if k == 0:
            check = SubsetCheck(status="skipped", reason=f"{SUBSET_OPTION} 0")
        elif prog is None or sub.target not in self.outputs:
            check = SubsetCheck(status="skipped", reason=f"no {sub.target} emulator result to compare with")
        else:
            check = self._run_subset(name, sub, prog, k)
        self.subset_checks[name] = check
        if check.status == "ran":
            note = f"identical to the emulator on {check.identical}/{check.samples} samples"
            row = AccuracyRow(
                f"{sub.label} (first {k})",
                self.subset_labels[name],
                k,
                check.accuracy,
                None,
                check.seconds,
                note,
            )
            ref = self.outputs.get("float")
            if ref is not None and name in self.outputs:
                agree = float((predict(self.outputs[name]) == predict(ref)[:k]).mean())
                row = AccuracyRow(row.backend, row.fidelity, k, row.accuracy, agree, row.seconds, note)
            self.rows.append(row)
        else:
            self.rows.append(
                AccuracyRow(
                    sub.label,
                    sub.fidelity,
                    0,
                    seconds=check.seconds,
                    note=f"{check.status}: {check.reason}",
                    error=check.reason if check.status == "failed" else None,
                )
            )
        return check

    def _run_subset(self, name: str, sub: Subset, prog: Any, k: int) -> SubsetCheck:
        t1 = time.perf_counter()
        reason = sub.unavailable()
        if reason is not None:
            return SubsetCheck(status="skipped", reason=reason)
        inputs = {n: v[:k] for n, v in self.chip_inputs.items()}
        key = next(iter(prog.outputs))
        try:
            res = run_chunked(
                lambda x: prog.run(x, backend=sub.backend),
                inputs,
                chunk=SUBSET_CHUNK,
                task=sub.label,
                progress=self.progress,
            )
        except NeurocompileError as exc:
            return SubsetCheck(
                status="failed", samples=k, seconds=time.perf_counter() - t1, reason=exc.one_line()
            )
        out = _concat(res, key)
        self.outputs[name] = out
        self.subset_labels[name] = _label(res[0], sub.fidelity)
        emu = self.outputs[sub.target][:k]
        same = int(sum(np.array_equal(out[i], emu[i]) for i in range(k)))
        labels = self.dm.labels
        acc = None if labels is None else float((predict(out) == labels[:k]).mean())
        eacc = None if labels is None else float((predict(emu) == labels[:k]).mean())
        return SubsetCheck(
            status="ran",
            samples=k,
            identical=same,
            accuracy=acc,
            emulator_accuracy=eacc,
            seconds=time.perf_counter() - t1,
        )

    # -- 3. resources
    def report(self) -> dict[str, Any]:
        for t, prog in self.programs.items():
            self.resources[t] = _resources(prog)
        return self.resources

    # -- 4. pictures
    def pictures(self, sample: int = 0) -> dict[str, str]:
        """``raster.png`` (the first target with an emulator run) and ``placement.png`` (every target)."""
        from neurocompile.cli.demo_plots import plot_placement, plot_raster

        first = next((t for t in self.targets if t in self.programs and t in self.outputs), None)
        if first is not None:
            path = self.out / "raster.png"
            atomic_write(
                path,
                lambda tmp: plot_raster(
                    self.graph,
                    self.programs[first],
                    self.dm,
                    tmp,
                    sample=sample,
                    inputs=self.chip_inputs,
                    backend=self.backend(first),
                ),
                what="--out",
            )
            self.files["raster"] = str(path)
        if self.resources:
            path = self.out / "placement.png"
            atomic_write(
                path,
                lambda tmp: plot_placement(
                    {t: self.resources[t] for t in self.targets if t in self.resources},
                    tmp,
                    title=f"{self.dm.name}: core placement",
                ),
                what="--out",
            )
            self.files["placement"] = str(path)
        return self.files

    def result(self) -> DemoResult:
        checks = {
            t: {
                "errors": r.count("error"),
                "warnings": r.count("warning"),
                "info": r.count("info"),
                "findings": [f.as_dict() for f in r.findings],
            }
            for t, r in self.checks.items()
        }
        res = DemoResult(
            model=self.dm.as_dict(),
            checks=checks,
            compiled={t: {k: v for k, v in c.items()} for t, c in self.compiled.items()},
            accuracy=tuple(self.rows),
            subsets=dict(self.subset_checks),
            resources={
                t: {k: v for k, v in r.items() if k != "cores"} | {"cores": r["cores"][:64]}
                for t, r in self.resources.items()
            },
            files=dict(self.files),
            seconds=time.perf_counter() - self.t0,
        )
        return res

    def write_results(self) -> Path:
        path = self.out / "results.json"
        self.files["results"] = str(path)
        atomic_write(
            path,
            json.dumps(self.result().as_dict(), indent=2, sort_keys=True, default=_json_default) + "\n",
            what="--out",
        )
        return path


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def run_demo(
    model: str | Path | None = None,
    *,
    input: str | Path | None = None,
    samples: int | None = None,
    subset_samples: int = DEFAULT_SUBSET_SAMPLES,
    out: str | Path = "out/demo",
    progress: Progress | None = None,
    dt: float | None = None,
    reset: str | None = None,
    cluster: Any = None,
) -> DemoResult:
    """Every step of the demo, silently; the result (also written to ``OUT/results.json``)."""
    d = Demo(
        model,
        input=input,
        samples=samples,
        subset_samples=subset_samples,
        out=out,
        progress=progress,
        dt=dt,
        reset=reset,
        cluster=cluster,
    )
    d.check()
    d.compile()
    d.run_reference()
    for t in d.targets:
        d.run_reference_chip(t)
        d.run_emulator(t)
    d.run_subsets()
    d.report()
    d.pictures()
    d.write_results()
    return d.result()
