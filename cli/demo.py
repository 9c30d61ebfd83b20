"""The end-to-end demo behind ``neurocompile demo`` and ``make demo``.

One bundled model goes through the whole pipeline: ``check`` for both chips, ``compile`` for
``loihi2`` and ``spinnaker``, the float reference and both bit-exact emulators on the test set,
Lava on a small subset (when the Lava interpreter exists), the resource report of both
Programs, a spike raster and a core-placement picture.

:class:`Demo` holds the state and has one method per step, so that the CLI can print between
steps; :func:`run_demo` runs them all and returns the frozen :class:`DemoResult`
(``as_dict()`` is what ``results.json`` holds). No printing here: progress goes through an
optional callback ``progress(task, done, total)``.

Models: a zoo name (``neurocompile.models.list_models()``: ``model.nir``, ``test.npz`` with
labels, ``card.json`` with the framework's simulation semantics), ``"default"`` (the
foundation's unlabelled placeholder network ``models/default``), or a ``.nir`` path with an
``--input`` ``.npz`` (optional ``labels`` key).

Compile options per target come from the card's ``"compile"`` section when it has one
(``{"loihi2": {...}, "spinnaker": {...}}``: keyword arguments of :func:`neurocompile.compile`),
otherwise from its float semantics (dt, discretization, reset). Loihi 2 cannot reset by
subtraction, so a ``subtract`` model is compiled for it with ``reset="zero"`` and the demo says
so (the accuracy table shows what that approximation costs).

Knowingly simple: the chips add one step per synaptic hop (``hop_delay`` 1) while the
frameworks add none, and the demo runs the test set's inputs unchanged, so the last spikes of a
short input may not reach the output on the chip; the table measures that effect with the
rest. Without labels (the default model) "accuracy" is left empty and only the agreement of
predictions with the float reference is shown.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import BackendUnavailableError, InputDataError, ModelLoadError, NeurocompileError

__all__ = ["TARGETS", "DEFAULT_MODEL", "DEFAULT_LAVA_SAMPLES", "DemoModel", "AccuracyRow", "LavaCheck",
           "DemoResult", "Demo", "resolve_model", "compile_options", "predict", "run_chunked",
           "quantization_rows", "plot_raster", "plot_placement", "run_demo", "FIDELITY"]

TARGETS = ("loihi2", "spinnaker")
#: The zoo model the demo uses unless told otherwise.
DEFAULT_MODEL = "digits_cnn_sinabs"
DEFAULT_LAVA_SAMPLES = 20
#: Samples per emulator/reference call (one progress bar tick each).
CHUNK = 40
#: Samples per Lava subprocess (each pays Lava's start-up of a few seconds).
LAVA_CHUNK = 5
#: Fallback labels; rows carry the label the run itself returns (docs/fidelity.md explains them).
FIDELITY = {
    "float": "float",
    "loihi2": "bit-exact vs lava-nc 0.10.0 fixed_pt",
    "spinnaker": "bit-exact vs sPyNNaker 1!7.4.1",
    "lava": "bit-exact vs lava-nc 0.10.0 fixed_pt",
}

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
        return {"name": self.name, "path": str(self.path), "inputs": shapes, "samples": self.samples,
                "labelled": self.labels is not None, "reference": dict(self.reference),
                "card_accuracy": dict(self.card.get("accuracy", {}))}


def _default_dir() -> Path:
    from neurocompile.models import ZOO_DIR

    return ZOO_DIR / "default"


def resolve_model(model: str | Path | None = None, input: str | Path | None = None,
                  samples: int | None = None) -> DemoModel:
    """A zoo name, ``"default"``, or a ``.nir`` path (with ``input``) -> :class:`DemoModel` (first ``samples``)."""
    from neurocompile import models as zoo
    from neurocompile.data import load_npz

    name = str(model) if model is not None else DEFAULT_MODEL
    if samples is not None and samples < 1:
        raise InputDataError(f"--samples must be at least 1, got {samples}", parameter="samples",
                             expected=">= 1")
    card: dict[str, Any] = {}
    if name in zoo.list_models() and input is None:
        path = zoo.model_path(name)
        inputs, labels = zoo.load_test_set(name)
        card = zoo.load_card(name)
        reference = zoo.reference_semantics(name)
    else:
        if name == "default":
            path, in_path = _default_dir() / "default.nir", Path(input) if input else _default_dir() / "input.npz"
        else:
            path = Path(name)
            if path.suffix != ".nir" or not path.is_file():
                raise ModelLoadError(f"no bundled model or .nir file named {name!r}", parameter="model",
                                     expected="default, " + ", ".join(zoo.list_models()) + ", or a .nir path")
            if input is None:
                raise InputDataError(f"--model {name} needs --input IN.npz (inputs, optional 'labels')",
                                     parameter="input", expected="an .npz file")
            in_path = Path(input)
            name = path.stem
        raw = load_npz(in_path)
        labels = np.asarray(raw.pop("labels")).astype(np.int64) if "labels" in raw else None
        inputs = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        reference = {"hop_delay": 0}
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
    if target == "loihi2" and opts.get("reset") == "subtract":
        opts["reset"] = "zero"
        notes.append("Loihi 2 cannot reset by subtraction: compiled with reset=zero (an approximation; "
                     "the accuracy table shows its cost)")
    return opts, notes


def predict(outputs: np.ndarray) -> np.ndarray:
    """Class per sample: argmax of the output spike counts over time (ties: lowest index)."""
    counts = np.asarray(outputs, dtype=np.float64).sum(axis=1)
    return counts.reshape(counts.shape[0], -1).argmax(axis=1)


def run_chunked(fn: Callable[[Mapping[str, np.ndarray]], Any], inputs: Mapping[str, np.ndarray], *,
                chunk: int = CHUNK, task: str = "", progress: Progress | None = None) -> list[Any]:
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
        return {"backend": self.backend, "fidelity": self.fidelity, "samples": self.samples,
                "accuracy": self.accuracy, "agreement": self.agreement, "seconds": round(self.seconds, 3),
                "note": self.note, "error": self.error}


@dataclass(frozen=True)
class LavaCheck:
    """Lava on the first ``samples`` test samples vs the loihi2 emulator on the same samples."""

    status: str  # "ran", "skipped" or "failed"
    samples: int = 0
    identical: int = 0
    accuracy: float | None = None
    emulator_accuracy: float | None = None
    seconds: float = 0.0
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "samples": self.samples, "identical": self.identical,
                "accuracy": self.accuracy, "emulator_accuracy": self.emulator_accuracy,
                "seconds": round(self.seconds, 3), "reason": self.reason}


@dataclass(frozen=True)
class DemoResult:
    model: Mapping[str, Any]
    checks: Mapping[str, Any]
    compiled: Mapping[str, Any]
    accuracy: tuple[AccuracyRow, ...]
    lava: LavaCheck
    resources: Mapping[str, Any]
    files: Mapping[str, str]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"model": dict(self.model), "checks": dict(self.checks), "compiled": dict(self.compiled),
                "accuracy": [r.as_dict() for r in self.accuracy], "lava": self.lava.as_dict(),
                "resources": dict(self.resources), "files": dict(self.files), "seconds": round(self.seconds, 3)}

    @property
    def ok(self) -> bool:
        """No backend failed (a skipped Lava run is not a failure; a Lava mismatch is)."""
        return all(r.error is None for r in self.accuracy) and self.lava.status != "failed" and \
            self.lava.identical == self.lava.samples


def quantization_rows(program: Any) -> list[dict[str, Any]]:
    """A short per-projection quantization summary (what each target's lowering recorded)."""
    q = (program.quantization or {}).get("projections", {})
    rows = []
    for name, v in q.items():
        if program.target == "loihi2":
            scheme = f"{v.get('num_weight_bits')}-bit x 2^{v.get('weight_exp')} {v.get('sign_mode_name', '')}".strip()
        else:
            scheme = f"w16, ring-buffer shift {v.get('ring_buffer_shift')}"
        rows.append({"projection": name, "scheme": scheme,
                     "rms_relative_error": v.get("rms_relative_error"),
                     "fraction_zeroed": v.get("fraction_zeroed"),
                     "fraction_clipped": v.get("fraction_clipped")})
    return rows


def _resources(program: Any) -> dict[str, Any]:
    from .report import report

    pl = report(program).placement
    return {"chips": pl.chips, "cores_used": pl.cores_used, "source": pl.source, "error": pl.error,
            "cores": [dict(c) for c in pl.cores], "per_chip": [dict(c) for c in pl.per_chip],
            "limits": dict(pl.limits), "estimated": pl.estimated,
            "spike_sources": [p.name for p in program.populations.values() if p.kind in ("input", "spike_source")]}


# ------------------------------------------------------------------------------ the demo
class Demo:
    """The demo's state; call the steps in order (``run_demo`` does)."""

    def __init__(self, model: str | Path | None = None, *, input: str | Path | None = None,
                 samples: int | None = None, lava_samples: int = DEFAULT_LAVA_SAMPLES,
                 out: str | Path = "out/demo", progress: Progress | None = None) -> None:
        import neurocompile as nc

        self.t0 = time.perf_counter()
        if lava_samples < 0:
            raise InputDataError(f"--lava-samples must be >= 0, got {lava_samples}", parameter="lava_samples",
                                 expected=">= 0")
        self.dm = resolve_model(model, input, samples)
        self.graph = nc.load(self.dm.path)
        self.lava_samples = min(lava_samples, self.dm.samples)
        self.out = Path(out)
        self.progress = progress
        self.checks: dict[str, Any] = {}
        self.programs: dict[str, Any] = {}
        self.compiled: dict[str, Any] = {}
        self.rows: list[AccuracyRow] = []
        self.outputs: dict[str, np.ndarray] = {}
        self.lava = LavaCheck(status="skipped", reason="not run")
        self.lava_label = FIDELITY["lava"]
        self.resources: dict[str, Any] = {}
        self.files: dict[str, str] = {}
        # what the chips get: zoo models use the zoo's chip settings (models/accuracy.py: spikes for
        # analog inputs, trailing silent steps for the hop delay), so the table matches docs/accuracy.md
        self.zoo = bool(self.dm.card)
        self.chip_inputs = self.dm.inputs
        if self.zoo:
            from neurocompile.models import accuracy as zoo_acc

            self.chip_inputs = zoo_acc.chip_inputs(self.dm.name, self.graph, self.dm.inputs)

    # -- 1. check and compile
    def check(self) -> dict[str, Any]:
        from .check import check

        for t in TARGETS:
            self.checks[t] = check(self.graph, target=t, dt=self.dm.reference.get("dt"))
        return self.checks

    def compile(self) -> dict[str, Any]:
        import neurocompile as nc

        self.out.mkdir(parents=True, exist_ok=True)
        for t in TARGETS:
            opts, notes = compile_options(self.dm, t)
            t1 = time.perf_counter()
            try:
                if self.zoo:
                    from neurocompile.models import accuracy as zoo_acc

                    calibrated = self.dm.name not in zoo_acc.UNCALIBRATED
                    opts = {"reset": zoo_acc.chip_reset(self.dm.name),
                            "calibration": "training images" if calibrated else None}
                    notes = [f"compiled as docs/accuracy.md does (models/accuracy.py compile_for: reset "
                             f"{opts['reset']}, " + ("calibration from training images)" if calibrated
                                                     else "no calibration data)")]
                    prog = zoo_acc.compile_for(self.dm.name, t)
                else:
                    prog = nc.compile(self.graph, t, **opts)
            except NeurocompileError as exc:
                self.compiled[t] = {"options": opts, "notes": notes, "error": exc.one_line()}
                continue
            path = self.out / f"{t}.ncp"
            prog.save(path)
            self.files[f"program_{t}"] = str(path)
            self.programs[t] = prog
            self.compiled[t] = {
                "options": opts, "notes": notes, "error": None, "seconds": round(time.perf_counter() - t1, 3),
                "program": str(path),
                "populations": sum(1 for p in prog.populations.values() if p.kind not in ("input", "spike_source")),
                "neurons": int(sum(p.size for p in prog.populations.values() if p.kind not in ("input", "spike_source"))),
                "projections": len(prog.projections),
                "findings": list(prog.provenance.get("findings", [])),
                "quantization": quantization_rows(prog),
                "semantics": dict(prog.semantics),
            }
        return self.compiled

    # -- 2. runs
    def _row(self, backend: str, fidelity: str, pred: np.ndarray, seconds: float, note: str = "") -> AccuracyRow:
        labels = self.dm.labels
        acc = None if labels is None else float((pred == labels[: pred.size]).mean())
        ref = self.outputs.get("float")
        agree = None if ref is None else float((pred == predict(ref)[: pred.size]).mean())
        return AccuracyRow(backend, fidelity, int(pred.size), acc, agree, seconds, note)

    def run_reference(self) -> AccuracyRow:
        import neurocompile as nc

        t1 = time.perf_counter()
        out_name = self.graph.outputs[0]
        res = run_chunked(lambda x: nc.simulate(self.graph, x, **self.dm.reference), self.dm.inputs,
                          task="float reference", progress=self.progress)
        self.outputs["float"] = _concat(res, out_name)
        sem = ", ".join(f"{k} {v}" for k, v in self.dm.reference.items())
        row = self._row("float reference", FIDELITY["float"], predict(self.outputs["float"]),
                        time.perf_counter() - t1, note=f"framework conventions ({sem})")
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
        kw = {"dt": sem.get("dt"), "discretization": sem.get("discretization", "forward"),
              "reset": sem.get("reset", "file"), "hop_delay": int(sem.get("hop_delay", 1))}
        if all(self.dm.reference.get(k) == v for k, v in kw.items()):
            return None
        t1 = time.perf_counter()
        out_name = self.graph.outputs[0]
        res = run_chunked(lambda x: nc.simulate(self.graph, x, **kw), self.chip_inputs,
                          task=f"float, {target} sem.", progress=self.progress)
        self.outputs[f"float_{target}"] = _concat(res, out_name)
        row = self._row(f"float, {target} semantics", FIDELITY["float"], predict(self.outputs[f"float_{target}"]),
                        time.perf_counter() - t1,
                        note=f"the float reference with the {target} Program's conventions (hop_delay {kw['hop_delay']}, "
                             f"reset {kw['reset']}); the gap to the emulator row is what the chip arithmetic "
                             f"costs (quantization and the approximations the compile findings list)")
        self.rows.append(row)
        return row

    def run_emulator(self, target: str) -> AccuracyRow:
        t1 = time.perf_counter()
        name = f"{target} emulator"
        prog = self.programs.get(target)
        if prog is None:
            row = AccuracyRow(name, FIDELITY[target], 0, error=self.compiled[target].get("error") or "not compiled")
            self.rows.append(row)
            return row
        key = next(iter(prog.outputs))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = run_chunked(lambda x: prog.run(x, backend="emulator"), self.chip_inputs,
                                  task=name, progress=self.progress)
        except NeurocompileError as exc:
            row = AccuracyRow(name, FIDELITY[target], 0, seconds=time.perf_counter() - t1, error=exc.one_line())
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
            notes.append(f"{nwarn} overflow warning(s) (v saturation / u wrap, bit-exact with the chip reference)")
        row = self._row(name, _label(res[0], FIDELITY[target]), predict(self.outputs[target]), time.perf_counter() - t1,
                        note="; ".join(notes))
        self.rows.append(row)
        return row

    def run_lava(self) -> LavaCheck:
        k = self.lava_samples
        prog = self.programs.get("loihi2")
        if k == 0:
            self.lava = LavaCheck(status="skipped", reason="--lava-samples 0")
        elif prog is None or "loihi2" not in self.outputs:
            self.lava = LavaCheck(status="skipped", reason="no loihi2 emulator result to compare with")
        else:
            self.lava = self._run_lava(prog, k)
        if self.lava.status == "ran":
            note = f"identical to the emulator on {self.lava.identical}/{self.lava.samples} samples"
            row = AccuracyRow(f"Lava (first {k})", self.lava_label, k, self.lava.accuracy, None,
                              self.lava.seconds, note)
            ref = self.outputs.get("float")
            if ref is not None and "lava" in self.outputs:
                agree = float((predict(self.outputs["lava"]) == predict(ref)[:k]).mean())
                row = AccuracyRow(row.backend, row.fidelity, k, row.accuracy, agree, row.seconds, note)
            self.rows.append(row)
        else:
            self.rows.append(AccuracyRow("Lava", FIDELITY["lava"], 0, seconds=self.lava.seconds,
                                         note=f"{self.lava.status}: {self.lava.reason}",
                                         error=self.lava.reason if self.lava.status == "failed" else None))
        return self.lava

    def _run_lava(self, prog: Any, k: int) -> LavaCheck:
        from neurocompile.targets.loihi2.run import lava_available, lava_python

        t1 = time.perf_counter()
        if not lava_available():
            try:
                lava_python()
            except BackendUnavailableError as exc:
                return LavaCheck(status="skipped", reason=f"{exc.one_line()} (`make venvs` builds it in ~2 min)")
        sub = {n: v[:k] for n, v in self.chip_inputs.items()}
        key = next(iter(prog.outputs))
        try:
            res = run_chunked(lambda x: prog.run(x, backend="lava"), sub, chunk=LAVA_CHUNK,
                              task="Lava", progress=self.progress)
        except NeurocompileError as exc:
            return LavaCheck(status="failed", samples=k, seconds=time.perf_counter() - t1, reason=exc.one_line())
        lava_out = _concat(res, key)
        self.outputs["lava"] = lava_out
        self.lava_label = _label(res[0], FIDELITY["lava"])
        emu = self.outputs["loihi2"][:k]
        same = int(sum(np.array_equal(lava_out[i], emu[i]) for i in range(k)))
        labels = self.dm.labels
        acc = None if labels is None else float((predict(lava_out) == labels[:k]).mean())
        eacc = None if labels is None else float((predict(emu) == labels[:k]).mean())
        return LavaCheck(status="ran", samples=k, identical=same, accuracy=acc, emulator_accuracy=eacc,
                         seconds=time.perf_counter() - t1)

    # -- 3. resources
    def report(self) -> dict[str, Any]:
        for t, prog in self.programs.items():
            self.resources[t] = _resources(prog)
        return self.resources

    # -- 4. pictures
    def pictures(self, sample: int = 0) -> dict[str, str]:
        self.out.mkdir(parents=True, exist_ok=True)
        if "loihi2" in self.programs and "loihi2" in self.outputs:
            path = self.out / "raster.png"
            plot_raster(self.graph, self.programs["loihi2"], self.dm, path, sample=sample, inputs=self.chip_inputs)
            self.files["raster"] = str(path)
        if self.resources:
            path = self.out / "placement.png"
            plot_placement({t: self.resources[t] for t in TARGETS if t in self.resources}, path,
                           title=f"{self.dm.name}: core placement")
            self.files["placement"] = str(path)
        return self.files

    def result(self) -> DemoResult:
        checks = {t: {"errors": r.count("error"), "warnings": r.count("warning"), "info": r.count("info"),
                      "findings": [f.as_dict() for f in r.findings]} for t, r in self.checks.items()}
        res = DemoResult(model=self.dm.as_dict(), checks=checks,
                         compiled={t: {k: v for k, v in c.items()} for t, c in self.compiled.items()},
                         accuracy=tuple(self.rows), lava=self.lava,
                         resources={t: {k: v for k, v in r.items() if k != "cores"} | {"cores": r["cores"][:64]}
                                    for t, r in self.resources.items()},
                         files=dict(self.files), seconds=time.perf_counter() - self.t0)
        return res

    def write_results(self) -> Path:
        path = self.out / "results.json"
        self.files["results"] = str(path)
        path.write_text(json.dumps(self.result().as_dict(), indent=2, sort_keys=True, default=_json_default) + "\n")
        return path


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def run_demo(model: str | Path | None = None, *, input: str | Path | None = None, samples: int | None = None,
             lava_samples: int = DEFAULT_LAVA_SAMPLES, out: str | Path = "out/demo",
             progress: Progress | None = None) -> DemoResult:
    """Every step of the demo, silently; the result (also written to ``OUT/results.json``)."""
    d = Demo(model, input=input, samples=samples, lava_samples=lava_samples, out=out, progress=progress)
    d.check()
    d.compile()
    d.run_reference()
    for t in TARGETS:
        d.run_reference_chip(t)
        d.run_emulator(t)
    d.run_lava()
    d.report()
    d.pictures()
    d.write_results()
    return d.result()


# ------------------------------------------------------------------------------ pictures
def _layers(graph: Any, program: Any) -> list[tuple[str, str]]:
    """(NIR node, population) for the input and every spiking neuron node, in graph order."""
    from .ir import SPIKING_KINDS

    node_map = (program.provenance or {}).get("node_map", {})
    order = []
    for name in _bfs_order(graph):
        node = graph.nodes[name]
        if node.kind == "Input" or node.kind in SPIKING_KINDS:
            pops = [p for p in node_map.get(name, [name]) if p in program.populations]
            if pops:
                order.append((name, pops[0]))
    return order


def _bfs_order(graph: Any) -> list[str]:
    """Nodes in breadth-first order from the inputs (cycles visited once), then any left over."""
    seen: list[str] = []
    queue = list(graph.inputs)
    while queue:
        n = queue.pop(0)
        if n in seen:
            continue
        seen.append(n)
        queue += [d for d in graph.successors(n) if d not in seen]
    return seen + [n for n in graph.nodes if n not in seen]


def plot_raster(graph: Any, program: Any, dm: DemoModel, path: str | Path, *, sample: int = 0,
                inputs: Mapping[str, np.ndarray] | None = None) -> Path:
    """Spike raster of one sample: input and every spiking layer, float reference vs the Program's emulator.

    The float reference runs under the Program's own semantics (its ``hop_delay`` 1 and reset)
    so that matching spikes fall on the same step; the panel titles say so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import neurocompile as nc

    x = {k: v[sample:sample + 1] for k, v in (dm.inputs if inputs is None else inputs).items()}
    layers = _layers(graph, program)
    sem = program.semantics
    ref_kw = {"dt": sem.get("dt"), "discretization": sem.get("discretization", "forward"),
              "reset": sem.get("reset", "file"), "hop_delay": int(sem.get("hop_delay", 1))}
    rec_nodes = [n for n, _ in layers if graph.nodes[n].kind != "Input"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = nc.simulate(graph, x, record=[f"{n}.spikes" for n in rec_nodes], **ref_kw)
        emu = program.run(x, backend="emulator",
                          record=[(p, "spikes") for n, p in layers if graph.nodes[n].kind != "Input"])

    def flat(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)[0]
        return a.reshape(a.shape[0], -1)

    fig, axes = plt.subplots(len(layers), 2, figsize=(11, 2.0 + 2.1 * len(layers)), squeeze=False,
                             gridspec_kw={"height_ratios": [max(1.0, min(3.0, np.log10(max(2, int(np.prod(
                                 graph.nodes[n].output_shape or (1,)))))) ) for n, _ in layers]})
    label = "" if dm.labels is None else f", label {int(dm.labels[sample])}"
    for row, (node, pop) in enumerate(layers):
        if graph.nodes[node].kind == "Input":
            r = e = flat(x[node])
        else:
            r = flat(ref.recordings[f"{node}.spikes"])
            e = flat(emu.recordings[f"{pop}.spikes"])
        n_neurons = r.shape[1]
        same = int(np.logical_and(r != 0, e != 0).sum())
        for col, (data, who) in enumerate(((r, "float reference"), (e, f"{program.target} emulator"))):
            ax = axes[row][col]
            t, i = np.nonzero(data)
            ax.scatter(t, i, s=4 if n_neurons > 64 else 9, marker="|" if n_neurons <= 64 else ".",
                       c="black" if col == 0 else "tab:blue", linewidths=0.8)
            ax.set_xlim(-0.5, data.shape[0] - 0.5)
            ax.set_ylim(-0.5, n_neurons - 0.5)
            kind = graph.nodes[node].kind
            extra = f", {same} on the reference's step" if kind != "Input" and col == 1 else ""
            what = "input" if kind == "Input" else f"'{node}' {kind}"
            ax.set_title(f"{who}: {what} ({n_neurons} neurons), {int((data != 0).sum())} spikes{extra}",
                         fontsize=8)
            ax.set_ylabel("neuron", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == len(layers) - 1:
                ax.set_xlabel(f"time step (dt {sem.get('dt')})", fontsize=8)
    fig.suptitle(f"{dm.name}, sample {sample}{label}: float reference (the Program's semantics: hop_delay "
                 f"{ref_kw['hop_delay']}, reset {ref_kw['reset']}) vs {program.target} emulator (bit-exact)",
                 fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _system_cores(target: str, chip: int) -> int:
    """Cores of a chip the runtime keeps for itself (SpiNNaker: monitor, extra monitor, packet gatherer)."""
    if target != "spinnaker":
        return 0
    from neurocompile.targets.spinnaker import spec

    return spec.MONITOR_CORES_PER_CHIP + spec.EXTRA_MONITOR_CORES_PER_CHIP + \
        (spec.PACKET_GATHERER_CORES_PER_ETHERNET_CHIP if chip == 0 else 0)


def _cores_per_chip(target: str, resources: Mapping[str, Any]) -> int:
    lim = resources.get("limits", {})
    if lim.get("cores_per_chip"):
        return int(lim["cores_per_chip"])
    if target == "spinnaker":
        from neurocompile.targets.spinnaker import spec

        return int(spec.CORES_PER_CHIP)
    return max([int(c["core"]) + 1 for c in resources.get("cores", [])] or [1])


def plot_placement(resources: Mapping[str, Mapping[str, Any]], path: str | Path, *, title: str = "",
                   max_chips: int = 6) -> Path:
    """A chips x cores grid per target, each used core coloured by its population (ESTIMATED figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    targets = [t for t, r in resources.items() if not r.get("error")]
    all_pops: list[str] = []  # one colour per population name across targets
    for t in targets:
        for c in resources[t]["cores"]:
            if c["population"] not in all_pops:
                all_pops.append(c["population"])
    cmap = plt.get_cmap("tab10" if len(all_pops) <= 10 else "tab20")
    colour = {p: cmap(i % cmap.N) for i, p in enumerate(all_pops)}
    fig, axes = plt.subplots(len(targets) or 1, 1, figsize=(12, 3.2 * max(1, len(targets))), squeeze=False)
    for ax, t in zip(axes[:, 0], targets):
        res = resources[t]
        per_chip = _cores_per_chip(t, res)
        cols = 16 if per_chip > 32 else 6
        rows = -(-per_chip // cols)
        chips = max(1, int(res.get("chips", 1)))
        shown = min(chips, max_chips)
        pops = [p for p in all_pops if any(c["population"] == p for c in res["cores"])]
        gap = 1
        for chip in range(shown):
            x0 = chip * (cols + gap)
            for k in range(per_chip):
                r, c = divmod(k, cols)
                face = "#dddddd" if k >= _system_cores(t, chip) else "#888888"
                ax.add_patch(Rectangle((x0 + c, rows - 1 - r), 0.92, 0.92, facecolor=face, edgecolor="white"))
            ax.text(x0 + cols / 2, rows + 0.15, f"chip {chip}", ha="center", va="bottom", fontsize=8)
        for c in res["cores"]:
            chip, k = int(c["chip"]), int(c["core"])
            if chip >= shown:
                continue
            r, cc = divmod(k, cols)
            x0 = chip * (cols + gap)
            ax.add_patch(Rectangle((x0 + cc, rows - 1 - r), 0.92, 0.92, facecolor=colour[c["population"]],
                                   edgecolor="black", linewidth=0.6))
            if cols <= 16 and (shown * cols) <= 48:
                ax.text(x0 + cc + 0.46, rows - 1 - r + 0.46, f"{c['neurons']}", ha="center", va="center",
                        fontsize=6, color="white")
        ax.set_xlim(-0.3, shown * (cols + gap) - gap + 0.3)
        ax.set_ylim(-0.3, rows + 0.8)
        ax.set_aspect("equal")
        ax.axis("off")
        more = f" (first {shown} of {chips} chips drawn)" if chips > shown else ""
        kind = "placement" if t == "loihi2" else "placement estimate (virtual board)"
        syn = sum(int(c.get("synapse_bytes", 0)) for c in res["cores"])
        ax.set_title(f"{t} {kind}: {chips} chip(s), {res['cores_used']} core(s) used of {per_chip} per chip{more}; "
                     f"synapse memory ~{syn / 1024:.1f} KiB ESTIMATED; numbers = neurons per core", fontsize=9)
        sources = set(res.get("spike_sources", ()))
        handles = [Patch(facecolor=colour[p], edgecolor="black",
                         label=f"population {p}" + (" (spike source)" if p in sources else "")) for p in pops]
        handles.append(Patch(facecolor="#dddddd", label="free core"))
        if t == "spinnaker":
            handles.append(Patch(facecolor="#888888", label="system core (monitor, extra monitor, gatherer)"))
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
