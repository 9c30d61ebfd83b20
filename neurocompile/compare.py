"""``validate``: a compiled Program against the trained model (or the float reference under the
Program's own semantics), layer by layer, on the same input, with a pass/fail verdict.

:func:`validate` runs the Program on a backend (the bit-exact emulator by default) and the float
reference simulator (:func:`neurocompile.simulate`) on the same input, recording every NIR neuron
node ("layer") and the population it became (``program.provenance["node_map"]``; a Program
without a node map is matched by name). Two references (``against``):

* ``"trained"`` (default): the model as it was trained -- the graph's own ``dt``, discretization
  and reset (its metadata's ``dt``/``discretization``/``reset`` keys, or ``trained=`` overrides)
  and ``hop_delay`` 0 (frameworks deliver a spike in the same step). A Program compiled with
  another ``dt`` or reset than the model was trained with shows the cost here. When the graph
  stores no ``dt`` and none is given, the Program's dt is used and the report says so
  (``trained_source``), so such a file cannot reveal a wrong ``--dt``.
* ``"program"``: the float reference under the Program's semantics (``program.semantics``: its
  dt, discretization, reset, and the chip's ``hop_delay`` 1): the difference is quantization alone.

With ``both=True`` (default) the output row of the other reference is computed too (one more float
run, no second Program run), so the conventions' cost and quantization's cost show side by side.
The Program run records every population's spikes, and the report carries the modelled (not
measured) energy and latency of that run on the target (:mod:`neurocompile.energy`), padding steps
included.

Timing: with ``hop_delay`` 1 each synaptic hop adds one step, so a layer whose longest input
path passes ``k`` neuron layers (itself included) lags the trained model by ``k`` steps. The
Program gets ``H`` trailing silent input steps (``H`` = the largest such ``k`` of an Output), and
against ``trained`` layer ``L`` of the Program is compared over steps ``k .. k + T - 1`` with the
trained model's steps ``0 .. T - 1`` (``T`` input steps). Reported steps are Program steps.
Knowingly incomplete: Program spikes outside that window (before the first input can arrive,
e.g. from a bias) are not compared; in a recurrent layer the hop delay is not a pure shift and
its cost shows as mismatches. Against ``program`` both sides run the padded input (``T + H``
steps), unshifted.

Per layer:

* spiking layers (IF, LIF, CubaLIF): ``count_correlation`` (Pearson correlation of per sample x
  neuron spike counts), ``exact_agreement`` (|ref AND prog| / |ref OR prog| over sample x step x
  neuron spike bins; 1.0 when neither spikes), ``bin_agreement`` (fraction of equal bins),
  ``recall`` (fraction of reference spikes the Program emits within +-1
  step of the same neuron: penalises missed spikes), ``precision`` (fraction of Program spikes
  with a reference spike within +-1 step: penalises extra spikes), ``f1`` (their harmonic mean;
  1.0 when neither spikes), spike totals, and the first mismatching (sample, step, neuron);
* non-spiking readouts (LI, CubaLI, I): ``trace_correlation`` of ``v`` over sample x step x
  neuron (scale-free, so the integer v needs no scale), and ``rms_error`` in float units when
  the layer is read by an output with a scale.

A correlation is 1.0 when both arrays are identical, and 0.0 when exactly one of them is
constant (no variance to correlate).

The **first divergence** (a diagnostic, not the verdict) is the diverged layer with the earliest
first mismatching step (ties: the layer earlier in the graph): a spiking layer diverges when its
fraction of mismatching spikes exceeds ``tolerance`` (default 0: any mismatch), a readout when
its trace correlation falls below ``trace_correlation_min``.

Outputs: ``agreement`` = fraction of samples whose prediction (argmax of the output's spike
counts, or of its ``v`` readout reduced over time by ``readout``: "sum", "max" or "last")
agrees between reference and Program, ``count_correlation`` of the per sample x neuron output
scores; with ``labels`` also the accuracy of each.

**Verdict** (``ValidationReport.passed``): every compared output has ``agreement >=
min_agreement`` (default :data:`MIN_AGREEMENT` = 0.95) and ``count_correlation >=
min_correlation`` (default :data:`MIN_CORRELATION` = 0.9), against the chosen reference. The
principle (``docs/report.md``): weight quantization to 8 bits is known to cost an SNN classifier
about a percentage point of accuracy, which flips the prediction of a few percent of samples
(near-ties flip both ways), and leaves spike counts tracking the float model closely; 95 % and
0.9 leave that room with a margin, while a wrong ``dt``, reset or a broken weight flips tens of
percent. They were fixed before the zoo table (``docs/validate.md``) was computed, not fitted to it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .errors import GraphError, InputDataError, NeurocompileError, ParameterError
from .ir import NEURON_KINDS, SPIKING_KINDS, Graph
from .jsonable import jsonable
from .program import Program

__all__ = [
    "validate",
    "ValidationReport",
    "LayerAgreement",
    "OutputAgreement",
    "Divergence",
    "correlation",
    "spike_agreement",
    "READOUTS",
    "AGAINST",
    "MIN_AGREEMENT",
    "MIN_CORRELATION",
    "load_labels",
    "trained_semantics",
    "hop_depths",
]

READOUTS = ("sum", "max", "last")
AGAINST = ("trained", "program")
#: default verdict thresholds (principle in the module doc and docs/report.md).
MIN_AGREEMENT = 0.95
MIN_CORRELATION = 0.9
#: progress callback: (stage description, stages done, stages in all).
Progress = Callable[[str, int, int], None]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally shaped arrays, flattened (1.0 if identical, 0.0 if
    exactly one has no variance)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.size == 0 or np.array_equal(a, b):
        return 1.0
    da, db = a - a.mean(), b - b.mean()
    na, nb = float(np.sqrt((da * da).sum())), float(np.sqrt((db * db).sum()))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float((da * db).sum() / (na * nb))


@dataclass(frozen=True)
class LayerAgreement:
    node: str
    kind: str
    population: str | None
    observable: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    diverged: bool = False
    #: (sample, Program step, neuron) of the earliest mismatch, None if none.
    first_mismatch: tuple[int, int, int] | None = None
    #: steps the Program lags the reference in this layer (hop depth against "trained", else 0).
    shift: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kind": self.kind,
            "population": self.population,
            "observable": self.observable,
            "shift": self.shift,
            "metrics": dict(self.metrics),
            "diverged": self.diverged,
            "first_mismatch": None
            if self.first_mismatch is None
            else {
                "sample": self.first_mismatch[0],
                "step": self.first_mismatch[1],
                "neuron": self.first_mismatch[2],
            },
        }


@dataclass(frozen=True)
class OutputAgreement:
    name: str
    observable: str
    agreement: float
    count_correlation: float
    accuracy_reference: float | None = None
    accuracy_program: float | None = None
    #: which reference this row compares with: "trained" or "program".
    against: str = "program"

    def passes(self, min_agreement: float, min_correlation: float) -> bool:
        return self.agreement >= min_agreement and self.count_correlation >= min_correlation

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "observable": self.observable,
            "against": self.against,
            "agreement": self.agreement,
            "count_correlation": self.count_correlation,
            "accuracy_reference": self.accuracy_reference,
            "accuracy_program": self.accuracy_program,
        }


@dataclass(frozen=True)
class Divergence:
    node: str
    population: str | None
    sample: int
    step: int
    neuron: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "population": self.population,
            "sample": self.sample,
            "step": self.step,
            "neuron": self.neuron,
        }


@dataclass(frozen=True)
class ValidationReport:
    batch: int
    steps: int
    backend: str
    #: semantics of the reference the layers and ``outputs`` compare with.
    semantics: Mapping[str, Any]
    layers: tuple[LayerAgreement, ...]
    outputs: tuple[OutputAgreement, ...]
    first_divergence: Divergence | None
    tolerance: float
    unmapped: tuple[str, ...] = ()
    against: str = "trained"
    min_agreement: float = MIN_AGREEMENT
    min_correlation: float = MIN_CORRELATION
    #: output rows against the other reference (empty unless ``both``).
    other_outputs: tuple[OutputAgreement, ...] = ()
    other_semantics: Mapping[str, Any] | None = None
    program_semantics: Mapping[str, Any] = field(default_factory=dict)
    #: where each trained semantic came from: "file" (graph metadata), "given" or "program".
    trained_source: Mapping[str, str] = field(default_factory=dict)
    #: trailing silent steps the Program got.
    padding: int = 0
    #: modelled (not measured) energy and latency of the Program's run on its target
    #: (:class:`neurocompile.energy.EnergyEstimate`; None when the target has no cost model)
    energy: Any = None

    @property
    def exact(self) -> bool:
        """True when no layer diverged (every spike bin equal within ``tolerance``)."""
        return self.first_divergence is None

    @property
    def passed(self) -> bool:
        """The verdict: every output meets both thresholds (False when no output was compared)."""
        return bool(self.outputs) and all(
            o.passes(self.min_agreement, self.min_correlation) for o in self.outputs
        )

    def failures(self) -> list[str]:
        """Why the verdict failed (one line per failing criterion; empty when it passed)."""
        if not self.outputs:
            return ["no Program output matches a graph Output"]
        out = []
        for o in self.outputs:
            if o.agreement < self.min_agreement:
                out.append(
                    f"output {o.name}: prediction agreement {o.agreement:.4f} < {self.min_agreement:g}"
                )
            if o.count_correlation < self.min_correlation:
                out.append(
                    f"output {o.name}: count correlation {o.count_correlation:.4f} < {self.min_correlation:g}"
                )
        return out

    def layer(self, node: str) -> LayerAgreement:
        for lay in self.layers:
            if lay.node == node:
                return lay
        raise KeyError(node)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "steps": self.steps,
            "backend": self.backend,
            "against": self.against,
            "semantics": dict(self.semantics),
            "program_semantics": dict(self.program_semantics),
            "trained_source": dict(self.trained_source),
            "padding": self.padding,
            "tolerance": self.tolerance,
            "exact": self.exact,
            "verdict": {
                "passed": self.passed,
                "min_agreement": self.min_agreement,
                "min_correlation": self.min_correlation,
                "failures": self.failures(),
            },
            "layers": [lay.as_dict() for lay in self.layers],
            "outputs": [o.as_dict() for o in self.outputs],
            "other_outputs": [o.as_dict() for o in self.other_outputs],
            "other_semantics": None if self.other_semantics is None else dict(self.other_semantics),
            "first_divergence": None if self.first_divergence is None else self.first_divergence.as_dict(),
            "unmapped": list(self.unmapped),
            "energy": None if self.energy is None else jsonable(self.energy.as_dict(), summarize_over=16),
        }

    def to_text(self) -> str:
        def sem(s: Mapping[str, Any]) -> str:
            fw = f"framework {s['framework']}, " if s.get("framework") else ""
            return f"{fw}dt {s.get('dt')}, reset {s.get('reset')}, hop_delay {s.get('hop_delay')}"

        src = ""
        if self.against == "trained" and self.trained_source.get("dt") == "program":
            src = " (the file stores no dt: the Program's is used)"
        L = [
            f"validate: {self.batch} sample(s) x {self.steps} steps (+{self.padding} silent on the "
            f"Program), {self.backend} against the {self.against} model ({sem(self.semantics)}){src}"
        ]
        for lay in self.layers:
            m = lay.metrics
            if lay.observable == "spikes":
                body = (
                    f"F1 {m['f1']:.4f} (precision {m['precision']:.4f}, recall {m['recall']:.4f}), "
                    f"count corr {m['count_correlation']:.4f}, exact {m['exact_agreement']:.4f}, "
                    f"spikes ref/prog {m['spikes_reference']}/{m['spikes_program']}"
                )
            else:
                body = f"v trace corr {m['trace_correlation']:.4f}"
                if m.get("rms_error") is not None:
                    body += f", rms error {m['rms_error']:.4g}"
            flag = "  diverged" if lay.diverged else ""
            lag = f", lag {lay.shift}" if lay.shift else ""
            L.append(f"  {lay.node} ({lay.kind} -> {lay.population}{lag}): {body}{flag}")
        for label, rows in ((self.against, self.outputs), (self._other(), self.other_outputs)):
            for o in rows:
                acc = ""
                if o.accuracy_reference is not None:
                    acc = f", accuracy {label} {o.accuracy_reference:.4f} / Program {o.accuracy_program:.4f}"
                L.append(
                    f"  output {o.name} vs {label}: prediction agreement {o.agreement:.4f}, count corr "
                    f"{o.count_correlation:.4f}{acc}"
                )
        if self.other_outputs and self.other_semantics is not None:
            L.append(f"  ({self._other()} reference: {sem(self.other_semantics)})")
        if self.unmapped:
            L.append(f"  not in the Program: {', '.join(self.unmapped)}")
        d = self.first_divergence
        L.append(
            "first divergence: none (every layer agrees)"
            if d is None
            else f"first divergence: layer {d.node} (population {d.population}) at step {d.step}, sample "
            f"{d.sample}, neuron {d.neuron}"
        )
        crit = (
            f"prediction agreement >= {self.min_agreement:g} and count correlation >= "
            f"{self.min_correlation:g}"
        )
        if self.passed:
            L.append(f"verdict: PASS against {self.against} ({crit})")
        else:
            L.append(f"verdict: FAIL against {self.against} ({'; '.join(self.failures())})")
        if self.energy is not None:
            L += self.energy.text_lines()
        return "\n".join(L)

    def _other(self) -> str:
        return "program" if self.against == "trained" else "trained"


# ------------------------------------------------------------------------------ helpers
def load_labels(spec: Any, inputs: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Labels from an array, a key of ``inputs``, or a ``.npy``/``.npz`` file (its ``labels`` key
    or its only array). One-hot (batch, classes) labels become class indices."""
    if spec is None:
        raise InputDataError("no labels given", parameter="labels")
    if isinstance(spec, np.ndarray) or isinstance(spec, (list, tuple)):
        arr = np.asarray(spec)
    elif inputs is not None and str(spec) in inputs:
        arr = np.asarray(inputs[str(spec)])
    else:
        from pathlib import Path

        p = Path(str(spec))
        if not p.exists():
            raise InputDataError(
                f"labels {spec!r} are neither a key of the input file nor a file",
                node=str(spec),
                parameter="labels",
                expected="an input .npz key or a .npy/.npz path",
            )
        try:
            if p.suffix == ".npz":
                with np.load(p, allow_pickle=False) as f:
                    keys = [k for k in f.files if k != "__meta__"]
                    key = "labels" if "labels" in keys else (keys[0] if len(keys) == 1 else None)
                    if key is None:
                        raise InputDataError(
                            f"{p} holds several arrays and none is named 'labels'",
                            parameter="labels",
                            expected="a 'labels' key",
                        )
                    arr = f[key]
            else:
                arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputDataError(f"cannot read labels from {p}: {exc}", parameter="labels") from None
    if arr.ndim == 2:
        arr = arr.argmax(axis=1)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise InputDataError(
            f"labels have shape {arr.shape}",
            parameter="labels",
            expected="(batch,) class indices or (batch, classes) one-hot",
        )
    return arr.astype(np.int64)


def _predict(x: np.ndarray, observable: str, readout: str) -> tuple[np.ndarray, np.ndarray]:
    """(per-sample score vector (batch, features), prediction (batch,))."""
    x = np.asarray(x, dtype=np.float64).reshape(x.shape[0], x.shape[1], -1)
    if observable == "spikes" or readout == "sum":
        score = x.sum(axis=1)
    elif readout == "max":
        score = x.max(axis=1)
    else:
        score = x[:, -1]
    return score, score.argmax(axis=1)


def _near(x: np.ndarray) -> np.ndarray:
    """Bins with a spike of the same neuron within +-1 step (x: bool (sample, step, neuron))."""
    near = x.copy()
    near[:, 1:] |= x[:, :-1]
    near[:, :-1] |= x[:, 1:]
    return near


def spike_agreement(ref: np.ndarray, prog: np.ndarray) -> dict[str, Any]:
    """Two-sided agreement of two spike arrays shaped (sample, step, neuron) (anything nonzero is
    a spike): the one fidelity metric of neurocompile (``validate``, the quantization-fidelity
    test and benchmark, the docs' figures all use it).

    ``recall``: fraction of ``ref`` spikes with a ``prog`` spike of the same neuron within +-1 step
    (missed spikes cost); ``precision``: fraction of ``prog`` spikes with a ``ref`` spike within
    +-1 step (extra spikes cost); ``f1``: their harmonic mean (1.0 when neither spikes, 0.0 when
    exactly one does), so neither a silent array nor one that fires at every step scores well;
    ``count_correlation``: Pearson correlation of the per (sample, neuron) spike counts (0.0 when
    exactly one side's counts are all equal, e.g. every neuron firing every step);
    ``exact_agreement`` (|ref AND prog| / |ref OR prog|), ``bin_agreement`` (fraction of equal
    bins), ``spikes_reference``, ``spikes_program``, ``mismatching_bins``."""
    r = np.asarray(ref) != 0
    p = np.asarray(prog) != 0
    if r.shape != p.shape or r.ndim != 3:
        raise InputDataError(
            f"spike arrays of shapes {r.shape} and {p.shape}",
            parameter="spikes",
            expected="two arrays of one shape (sample, step, neuron)",
        )
    both, either = int(np.count_nonzero(r & p)), int(np.count_nonzero(r | p))
    n_mism = int(np.count_nonzero(r != p))
    n_ref, n_prog = int(np.count_nonzero(r)), int(np.count_nonzero(p))
    recall = 1.0 if n_ref == 0 else int(np.count_nonzero(r & _near(p))) / n_ref
    precision = 1.0 if n_prog == 0 else int(np.count_nonzero(p & _near(r))) / n_prog
    if n_ref == 0 and n_prog == 0:
        f1 = 1.0
    elif n_ref == 0 or n_prog == 0:
        f1 = 0.0
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {
        "count_correlation": correlation(r.sum(axis=1), p.sum(axis=1)),
        "exact_agreement": 1.0 if either == 0 else both / either,
        "bin_agreement": 1.0 - n_mism / r.size if r.size else 1.0,
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "spikes_reference": n_ref,
        "spikes_program": n_prog,
        "mismatching_bins": n_mism,
    }


def _spike_metrics(
    ref: np.ndarray, prog: np.ndarray
) -> tuple[dict[str, Any], tuple[int, int, int] | None, float]:
    """(:func:`spike_agreement`, the earliest mismatching (sample, step, neuron), mismatching
    bins per reference spike)."""
    metrics = spike_agreement(ref, prog)
    first = None
    if metrics["mismatching_bins"]:
        idx = np.argwhere((ref != 0) != (prog != 0))  # (sample, step, neuron) rows
        k = np.lexsort((idx[:, 2], idx[:, 0], idx[:, 1]))[0]  # earliest step, then sample, then neuron
        first = (int(idx[k, 0]), int(idx[k, 1]), int(idx[k, 2]))
    frac = metrics["mismatching_bins"] / max(metrics["spikes_reference"], 1)
    return metrics, first, frac


def _population_of(program: Program, node: str) -> str | None:
    node_map = (program.provenance or {}).get("node_map") or {}
    for name in node_map.get(node, []):
        if name in program.populations:
            return name
    return node if node in program.populations else None


def _layer_order(graph: Graph) -> list[str]:
    from .reference import execution_order

    try:
        order, _ = execution_order(graph, 0)
    except GraphError:
        order = list(graph.nodes)
    return [n for n in order if graph.nodes[n].kind in NEURON_KINDS]


def hop_depths(graph: Graph) -> dict[str, int]:
    """For every node: neuron nodes on the longest acyclic Input -> node path, the node itself
    included (the steps by which ``hop_delay`` 1 delays it against ``hop_delay`` 0 in a
    feed-forward graph: every edge from an Input or a neuron adds one)."""
    succ: dict[str, list[str]] = {}
    for s, d in graph.edges:
        succ.setdefault(s, []).append(d)
    depth: dict[str, int] = {}

    def walk(node: str, d: int, seen: frozenset) -> None:
        d += graph.nodes[node].kind in NEURON_KINDS
        if depth.get(node, -1) >= d and node not in graph.inputs:
            return  # a longer (or equal) path reached it already; its successors follow from there
        depth[node] = max(depth.get(node, 0), d)
        for nxt in succ.get(node, []):
            if nxt not in seen:
                walk(nxt, d, seen | {nxt})

    for name in graph.inputs:
        walk(name, 0, frozenset({name}))
    return depth


def trained_semantics(
    graph: Graph, program: Program, trained: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(semantics of the trained model, where each came from). ``trained`` overrides (keys
    ``dt``, ``discretization``, ``reset``; "given"); else the graph metadata ("file"); else the
    Program's semantics ("program"; for discretization and reset the defaults "forward"/"file"
    are "default"). ``hop_delay`` is always 0 (the frameworks' convention)."""
    from .semantics import DISCRETIZATIONS, RESETS

    trained = dict(trained or {})
    unknown = set(trained) - {"dt", "discretization", "reset"}
    if unknown:
        raise ParameterError(
            f"unknown trained semantics {sorted(unknown)}",
            parameter="trained",
            expected="dt, discretization, reset",
        )
    meta = dict(getattr(graph, "metadata", {}) or {})
    psem = dict(program.semantics or {})
    out: dict[str, Any] = {"hop_delay": 0}
    src: dict[str, str] = {}
    if trained.get("dt") is not None:
        out["dt"], src["dt"] = float(trained["dt"]), "given"
    elif graph.metadata_dt() is not None:
        out["dt"], src["dt"] = float(graph.metadata_dt()), "file"
    else:
        out["dt"], src["dt"] = psem.get("dt"), "program"
    for key, allowed, default in (("discretization", DISCRETIZATIONS, "forward"), ("reset", RESETS, "file")):
        if trained.get(key) is not None:
            out[key], src[key] = str(trained[key]), "given"
        elif str(meta.get(key)) in allowed:
            out[key], src[key] = str(meta[key]), "file"
        elif src["dt"] == "program" and psem.get(key) in allowed:
            out[key], src[key] = psem[key], "program"
        else:
            out[key], src[key] = default, "default"
    return out, src


def _aligned(x: np.ndarray, shift: int, steps: int) -> np.ndarray:
    """Program recording (batch, T', n) -> its steps shift .. shift + steps - 1 (zero padded)."""
    seg = x[:, shift : shift + steps]
    if seg.shape[1] < steps:
        seg = np.concatenate([seg, np.zeros((x.shape[0], steps - seg.shape[1]) + x.shape[2:])], axis=1)
    return seg


def _compare_outputs(
    program: Program,
    ref_outputs: Mapping[str, np.ndarray],
    run_outputs: Mapping[str, np.ndarray],
    shifts: Mapping[str, int],
    labels: np.ndarray | None,
    readout: str,
    against: str,
) -> tuple[OutputAgreement, ...]:
    outs = []
    for key, spec in program.outputs.items():
        if key not in ref_outputs or key not in run_outputs:
            continue
        r = np.asarray(ref_outputs[key], dtype=np.float64)
        p = _aligned(np.asarray(run_outputs[key], dtype=np.float64), shifts.get(key, 0), r.shape[1])
        ref_score, ref_pred = _predict(r, spec.observable, readout)
        prog_score, prog_pred = _predict(p, spec.observable, readout)
        acc_r = acc_p = None
        if labels is not None:
            if labels.shape[0] != ref_pred.shape[0]:
                raise InputDataError(
                    f"{labels.shape[0]} labels for {ref_pred.shape[0]} samples",
                    parameter="labels",
                    expected=f"{ref_pred.shape[0]} labels",
                )
            acc_r = float(np.mean(ref_pred == labels))
            acc_p = float(np.mean(prog_pred == labels))
        outs.append(
            OutputAgreement(
                key,
                spec.observable,
                float(np.mean(ref_pred == prog_pred)) if r.shape[0] else 1.0,
                correlation(ref_score, prog_score),
                acc_r,
                acc_p,
                against,
            )
        )
    return tuple(outs)


# ------------------------------------------------------------------------------ validate
def validate(
    model: Any,
    program: Program,
    inputs: Mapping[str, np.ndarray],
    *,
    labels: Any = None,
    backend: str = "emulator",
    readout: str = "sum",
    tolerance: float = 0.0,
    trace_correlation_min: float = 0.99,
    against: str = "trained",
    trained: Mapping[str, Any] | None = None,
    both: bool = True,
    min_agreement: float = MIN_AGREEMENT,
    min_correlation: float = MIN_CORRELATION,
    progress: Progress | None = None,
    cluster: Any = None,
    framework: str | None = None,
) -> ValidationReport:
    """Compare ``program`` with ``model``'s float reference on ``inputs`` (see the module doc).

    ``framework`` (as in :func:`neurocompile.simulate`; default: the Program's, else the graph's
    mark): the trained reference runs what the framework computes (its translation, exact form)
    and the program reference the translation the compiler lowered (its ``neurons`` form).

    ``model``: anything :func:`neurocompile.load` takes, or a Graph. ``inputs``: ``{NIR Input
    name: (batch, time, *shape)}`` spikes. ``labels``: class indices (batch,), one-hot, a key of
    ``inputs`` or a file. ``against``: "trained" or "program"; ``trained``: overrides of the
    trained model's dt/discretization/reset; ``both``: also the other reference's output row.
    ``progress(stage, done, total)`` is called as the stages run. ``cluster`` (``"local:N"``,
    ``"tcp://HOST:PORT"``, a ``distributed.Client``): the Program's run is sharded over Dask workers
    (:mod:`neurocompile.distributed`; bit-identical to one process). Raises
    :class:`InputDataError` for bad inputs/labels and :class:`ParameterError` for bad options.
    """
    from .compiler import simulate
    from .load import load

    if readout not in READOUTS:
        raise ParameterError(
            f"unknown readout {readout!r}", parameter="readout", expected=" or ".join(READOUTS)
        )
    if against not in AGAINST:
        raise ParameterError(
            f"unknown reference {against!r}", parameter="against", expected=" or ".join(AGAINST)
        )
    for name, val in (("tolerance", tolerance), ("min_agreement", min_agreement)):
        if not 0.0 <= float(val) <= 1.0:
            raise ParameterError(
                f"{name}={val} is not a fraction", parameter=name, expected=f"0 <= {name} <= 1"
            )
    if not -1.0 <= float(min_correlation) <= 1.0:
        raise ParameterError(
            f"min_correlation={min_correlation} is not a correlation",
            parameter="min_correlation",
            expected="-1 <= min_correlation <= 1",
        )
    graph = model if isinstance(model, Graph) else load(model)
    from .frameworks import apply as fw_apply
    from .frameworks import resolve as fw_resolve

    pfw = (program.provenance or {}).get("framework") or {}
    fw = fw_resolve(graph, framework if framework is not None else pfw.get("name"))
    fw_reset = (trained or {}).get("reset") or pfw.get("reset") or "file"
    psem = dict(program.semantics or {})
    hop = int(psem.get("hop_delay", 1))
    psem = {**psem, "hop_delay": hop}
    tsem, tsrc = trained_semantics(graph, program, trained)
    label_arr = None
    inputs = dict(inputs)
    if labels is not None:
        label_arr = load_labels(labels, inputs)
        if not isinstance(labels, (np.ndarray, list, tuple)) and str(labels) in inputs:
            inputs.pop(str(labels))
    missing = [k for k in program.inputs if k not in inputs]
    if missing:
        raise InputDataError(
            f"input data has no key '{missing[0]}' the Program needs",
            node=missing[0],
            parameter="input",
            expected="the NIR Input names",
        )

    layers = _layer_order(graph)
    plan: list[tuple[str, str | None, str]] = []
    unmapped = []
    for node in layers:
        pop = _population_of(program, node)
        obs = "spikes" if graph.nodes[node].kind in SPIKING_KINDS else "v"
        if pop is None:
            unmapped.append(node)
        plan.append((node, pop, obs))
    record = [(n, o) for n, p, o in plan if p is not None]

    # the Program lags hop_delay-0 semantics by the hop depth (none when it has hop_delay 0)
    depth = hop_depths(graph) if hop else {}
    out_shift = {k: depth.get(k, 0) for k in graph.outputs}
    pad = max(out_shift.values(), default=0)
    ref_inputs = {k: np.asarray(inputs[k]) for k in graph.inputs if k in inputs}
    padded = {
        k: np.concatenate([x, np.zeros((x.shape[0], pad) + x.shape[2:], dtype=x.dtype)], axis=1)
        if pad and x.ndim >= 2
        else x
        for k, x in ((k, np.asarray(v)) for k, v in inputs.items())
    }

    todo = ["Program on " + backend]
    todo += ["float reference (" + a + ")" for a in AGAINST if a == against or both]
    todo.append("comparing layers")
    done = 0

    def tick(stage: str) -> None:
        nonlocal done
        if progress is not None:
            progress(stage, done, len(todo))
        done += 1

    refs: dict[str, Any] = {}
    for a in (against,) + (tuple(x for x in AGAINST if x != against) if both else ()):
        tick(f"float reference ({a})")
        if a == "trained" and fw is not None:
            refs[a] = simulate(
                graph, ref_inputs, record=record if a == against else (), framework=fw, reset=fw_reset
            )
            tsem = {k: refs[a].semantics.get(k) for k in ("dt", "discretization", "reset", "hop_delay")}
            tsem["framework"] = fw
            tsrc = {k: "framework" for k in ("dt", "discretization", "reset")}
        elif a == "trained":
            refs[a] = simulate(graph, ref_inputs, record=record if a == against else (), **tsem)
        else:
            refs[a] = simulate(
                graph if fw is None else fw_apply(graph, fw, reset=fw_reset, form="neurons")[0],
                {k: padded[k] for k in ref_inputs},
                record=record if a == against else (),
                **{k: psem.get(k) for k in ("dt", "discretization", "reset", "hop_delay")},
            )
    tick("Program on " + backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = program.run(
            {k: padded[k] for k in program.inputs},
            backend=backend,
            # every population's spikes too: the energy model counts the whole Program's operations
            record=sorted(
                {(p, o) for n, p, o in plan if p is not None} | {(p, "spikes") for p in program.populations}
            ),
            cluster=cluster,
        )
    tick("comparing layers")
    ref = refs[against]
    shifts = depth if against == "trained" else {}
    batch, steps = next(iter(ref.outputs.values())).shape[:2] if ref.outputs else (0, 0)

    # v scale per population, when an output reads it
    scale = {o.population: float(o.scale) for o in program.outputs.values() if o.observable == "v"}
    results = []
    candidates = []
    for rank, (node, pop, obs) in enumerate(plan):
        if pop is None:
            continue
        k = int(shifts.get(node, 0))
        r = np.asarray(ref.recordings[f"{node}.{obs}"]).reshape(batch, steps, -1)
        raw = np.asarray(run.recordings[f"{pop}.{obs}"])
        p = _aligned(raw.reshape(raw.shape[0], raw.shape[1], -1).astype(np.float64), k, steps)
        if r.shape != p.shape:
            raise GraphError(
                f"layer '{node}' has {r.shape[2]} neurons but population '{pop}' has {p.shape[2]}",
                node=node,
                parameter="node_map",
                expected="a population of the layer's size",
            )
        if obs == "spikes":
            metrics, first, frac = _spike_metrics(r, p)
            diverged = frac > float(tolerance) and metrics["mismatching_bins"] > 0
        else:
            metrics = {"trace_correlation": correlation(r, p)}
            metrics["rms_error"] = (
                float(np.sqrt(np.mean((r - p * scale[pop]) ** 2))) if pop in scale else None
            )
            diverged = metrics["trace_correlation"] < float(trace_correlation_min)
            first = None
            if diverged:
                # earliest step at which the per-step correlation is not near 1
                for t in range(steps):
                    if correlation(r[:, : t + 1], p[:, : t + 1]) < trace_correlation_min:
                        zr = (r[:, t] - r.mean()) / (r.std() or 1.0)
                        zp = (p[:, t] - p.mean()) / (p.std() or 1.0)
                        b, n = np.unravel_index(int(np.argmax(np.abs(zr - zp))), zr.shape)
                        first = (int(b), t, int(n))
                        break
        if first is not None:
            first = (first[0], first[1] + k, first[2])  # Program steps
        lay = LayerAgreement(node, graph.nodes[node].kind, pop, obs, metrics, bool(diverged), first, k)
        results.append(lay)
        if diverged:
            step = first[1] if first is not None else steps + k
            candidates.append((step, rank, lay))
    first_div = None
    if candidates:
        step, _, lay = min(candidates, key=lambda c: (c[0], c[1]))
        s, t, n = lay.first_mismatch if lay.first_mismatch is not None else (0, step, 0)
        first_div = Divergence(lay.node, lay.population, s, t, n)

    def rows(a: str) -> tuple[OutputAgreement, ...]:
        sh = out_shift if a == "trained" else {}
        return _compare_outputs(program, refs[a].outputs, run.outputs, sh, label_arr, readout, a)

    other = tuple(a for a in AGAINST if a != against and a in refs)
    if progress is not None:
        progress("done", len(todo), len(todo))
    return ValidationReport(
        batch=int(batch),
        steps=int(steps),
        backend=run.backend,
        semantics=tsem if against == "trained" else psem,
        layers=tuple(results),
        outputs=rows(against),
        first_divergence=first_div,
        tolerance=float(tolerance),
        unmapped=tuple(unmapped),
        against=against,
        min_agreement=float(min_agreement),
        min_correlation=float(min_correlation),
        other_outputs=rows(other[0]) if other else (),
        other_semantics=(psem if other[0] == "program" else tsem) if other else None,
        program_semantics=psem,
        trained_source=tsrc,
        padding=int(pad),
        energy=_energy(program, run),
    )


def _energy(program: Program, run: Any):
    """The run's modelled energy and latency (None when the target has no cost model or it fails)."""
    from .energy import estimate

    try:
        return estimate(program, run)
    except NeurocompileError:  # a population's spikes not recorded, or a placement that fails
        return None
