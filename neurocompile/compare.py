"""``validate``: the float reference against a compiled Program, layer by layer, on the same input.

:func:`validate` runs the model's float reference simulator (:func:`neurocompile.simulate`) with
the Program's own semantics (``program.semantics``: dt, discretization, reset, and the chip
convention ``hop_delay`` = 1 unless the Program says otherwise) and the Program on a backend
(the bit-exact emulator by default), recording every NIR neuron node ("layer") and the
population it became (``program.provenance["node_map"]``; a Program without a node map is
matched by name). Per layer:

* spiking layers (IF, LIF, CubaLIF): ``count_correlation`` (Pearson correlation of per sample x
  neuron spike counts), ``exact_agreement`` (|ref AND prog| / |ref OR prog| over sample x step x
  neuron spike bins; 1.0 when neither spikes), ``bin_agreement`` (fraction of equal bins),
  ``within_one_step`` (fraction of reference spikes the Program emits within +-1 step of the same
  neuron), spike totals, and the first mismatching (sample, step, neuron);
* non-spiking readouts (LI, CubaLI, I): ``trace_correlation`` of ``v`` over sample x step x
  neuron (scale-free, so the integer v needs no scale), and ``rms_error`` in float units when
  the layer is read by an output with a scale.

A correlation is 1.0 when both arrays are identical, and 0.0 when exactly one of them is
constant (no variance to correlate).

The **first divergence** is the diverged layer with the earliest first mismatching step (ties:
the layer earlier in the graph): a spiking layer diverges when its fraction of mismatching
spikes exceeds ``tolerance`` (default 0: any mismatch), a readout when its trace correlation
falls below ``trace_correlation_min``. With hop_delay 1 a perturbation shows up first in the
layer that holds it, one step before its successors see it.

Outputs: ``agreement`` = fraction of samples whose prediction (argmax of the output's spike
counts, or of its ``v`` readout reduced over time by ``readout``: "sum", "max" or "last")
agrees between reference and Program; with ``labels`` also the accuracy of each.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import GraphError, InputDataError, ParameterError
from .ir import NEURON_KINDS, SPIKING_KINDS, Graph
from .program import Program

__all__ = [
    "validate",
    "ValidationReport",
    "LayerAgreement",
    "OutputAgreement",
    "Divergence",
    "correlation",
    "READOUTS",
    "load_labels",
]

READOUTS = ("sum", "max", "last")


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
    #: (sample, step, neuron) of the earliest mismatch, None if none.
    first_mismatch: tuple[int, int, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kind": self.kind,
            "population": self.population,
            "observable": self.observable,
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "observable": self.observable,
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
    semantics: Mapping[str, Any]
    layers: tuple[LayerAgreement, ...]
    outputs: tuple[OutputAgreement, ...]
    first_divergence: Divergence | None
    tolerance: float
    unmapped: tuple[str, ...] = ()

    @property
    def exact(self) -> bool:
        """True when no layer diverged (every spike bin equal within ``tolerance``)."""
        return self.first_divergence is None

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
            "semantics": dict(self.semantics),
            "tolerance": self.tolerance,
            "exact": self.exact,
            "layers": [lay.as_dict() for lay in self.layers],
            "outputs": [o.as_dict() for o in self.outputs],
            "first_divergence": None if self.first_divergence is None else self.first_divergence.as_dict(),
            "unmapped": list(self.unmapped),
        }

    def to_text(self) -> str:
        L = [
            f"validate: {self.batch} sample(s) x {self.steps} steps, float reference (hop_delay "
            f"{self.semantics.get('hop_delay')}, dt {self.semantics.get('dt')}) vs {self.backend}"
        ]
        for lay in self.layers:
            m = lay.metrics
            if lay.observable == "spikes":
                body = (
                    f"count corr {m['count_correlation']:.4f}, exact {m['exact_agreement']:.4f}, "
                    f"within 1 step {m['within_one_step']:.4f}, spikes ref/prog "
                    f"{m['spikes_reference']}/{m['spikes_program']}"
                )
            else:
                body = f"v trace corr {m['trace_correlation']:.4f}"
                if m.get("rms_error") is not None:
                    body += f", rms error {m['rms_error']:.4g}"
            flag = "  DIVERGED" if lay.diverged else ""
            L.append(f"  {lay.node} ({lay.kind} -> {lay.population}): {body}{flag}")
        for o in self.outputs:
            acc = ""
            if o.accuracy_reference is not None:
                acc = f", accuracy ref {o.accuracy_reference:.4f} / prog {o.accuracy_program:.4f}"
            L.append(
                f"  output {o.name}: prediction agreement {o.agreement:.4f}, count corr "
                f"{o.count_correlation:.4f}{acc}"
            )
        if self.unmapped:
            L.append(f"  not in the Program: {', '.join(self.unmapped)}")
        d = self.first_divergence
        L.append(
            "first divergence: none (every layer agrees)"
            if d is None
            else f"first divergence: layer {d.node} (population {d.population}) at step {d.step}, sample "
            f"{d.sample}, neuron {d.neuron}"
        )
        return "\n".join(L)


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


def _spike_metrics(
    ref: np.ndarray, prog: np.ndarray
) -> tuple[dict[str, Any], tuple[int, int, int] | None, float]:
    r = ref != 0
    p = prog != 0
    both, either = int(np.count_nonzero(r & p)), int(np.count_nonzero(r | p))
    mism = r != p
    n_mism = int(np.count_nonzero(mism))
    # reference spikes with a Program spike of the same neuron within +-1 step
    near = p.copy()
    near[:, 1:] |= p[:, :-1]
    near[:, :-1] |= p[:, 1:]
    n_ref = int(np.count_nonzero(r))
    metrics = {
        "count_correlation": correlation(r.sum(axis=1), p.sum(axis=1)),
        "exact_agreement": 1.0 if either == 0 else both / either,
        "bin_agreement": 1.0 - n_mism / r.size if r.size else 1.0,
        "within_one_step": 1.0 if n_ref == 0 else int(np.count_nonzero(r & near)) / n_ref,
        "spikes_reference": n_ref,
        "spikes_program": int(np.count_nonzero(p)),
        "mismatching_bins": n_mism,
    }
    first = None
    if n_mism:
        idx = np.argwhere(mism)  # (sample, step, neuron) rows
        k = np.lexsort((idx[:, 2], idx[:, 0], idx[:, 1]))[0]  # earliest step, then sample, then neuron
        first = (int(idx[k, 0]), int(idx[k, 1]), int(idx[k, 2]))
    frac = n_mism / max(n_ref, 1)
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
) -> ValidationReport:
    """Compare ``model``'s float reference with ``program`` on ``inputs`` (see the module doc).

    ``model``: anything :func:`neurocompile.load` takes, or a Graph. ``inputs``: ``{NIR Input
    name: (batch, time, *shape)}`` spikes. ``labels``: class indices (batch,), one-hot, a key of
    ``inputs`` or a file. Raises :class:`InputDataError` for bad inputs/labels and
    :class:`SemanticsError` when the Program carries no dt.
    """
    from .load import load
    from .reference import simulate

    if readout not in READOUTS:
        raise ParameterError(
            f"unknown readout {readout!r}", parameter="readout", expected=" or ".join(READOUTS)
        )
    if not 0.0 <= float(tolerance) <= 1.0:
        raise ParameterError(
            f"tolerance={tolerance} is not a fraction", parameter="tolerance", expected="0 <= tolerance <= 1"
        )
    graph = model if isinstance(model, Graph) else load(model)
    sem = dict(program.semantics or {})
    hop = int(sem.get("hop_delay", 1))
    label_arr = None
    inputs = dict(inputs)
    if labels is not None:
        label_arr = load_labels(labels, inputs)
        if not isinstance(labels, (np.ndarray, list, tuple)) and str(labels) in inputs:
            inputs.pop(str(labels))

    layers = _layer_order(graph)
    plan: list[tuple[str, str | None, str]] = []
    unmapped = []
    for node in layers:
        pop = _population_of(program, node)
        obs = "spikes" if graph.nodes[node].kind in SPIKING_KINDS else "v"
        if pop is None:
            unmapped.append(node)
        plan.append((node, pop, obs))

    ref_inputs = {k: inputs[k] for k in graph.inputs if k in inputs}
    ref = simulate(
        graph,
        ref_inputs,
        dt=sem.get("dt"),
        discretization=sem.get("discretization", "forward"),
        reset=sem.get("reset", "file"),
        hop_delay=hop,
        record=[(n, o) for n, p, o in plan if p is not None],
    )
    missing = [k for k in program.inputs if k not in inputs]
    if missing:
        raise InputDataError(
            f"input data has no key '{missing[0]}' the Program needs",
            node=missing[0],
            parameter="input",
            expected="the NIR Input names",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = program.run(
            {k: inputs[k] for k in program.inputs},
            backend=backend,
            record=sorted({(p, o) for n, p, o in plan if p is not None}),
        )
    batch, steps = next(iter(ref.outputs.values())).shape[:2] if ref.outputs else (0, 0)

    # v scale per population, when an output reads it
    scale = {o.population: float(o.scale) for o in program.outputs.values() if o.observable == "v"}
    results = []
    candidates = []
    for rank, (node, pop, obs) in enumerate(plan):
        if pop is None:
            continue
        r = np.asarray(ref.recordings[f"{node}.{obs}"]).reshape(batch, steps, -1)
        p = np.asarray(run.recordings[f"{pop}.{obs}"]).reshape(
            run.recordings[f"{pop}.{obs}"].shape[0], run.recordings[f"{pop}.{obs}"].shape[1], -1
        )
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
        lay = LayerAgreement(node, graph.nodes[node].kind, pop, obs, metrics, bool(diverged), first)
        results.append(lay)
        if diverged:
            step = first[1] if first is not None else steps
            candidates.append((step, rank, lay))
    first_div = None
    if candidates:
        step, _, lay = min(candidates, key=lambda c: (c[0], c[1]))
        s, t, n = lay.first_mismatch if lay.first_mismatch is not None else (0, step, 0)
        first_div = Divergence(lay.node, lay.population, s, t, n)

    outs = []
    for key, spec in program.outputs.items():
        if key not in ref.outputs or key not in run.outputs:
            continue
        ref_score, ref_pred = _predict(ref.outputs[key], spec.observable, readout)
        prog_score, prog_pred = _predict(run.outputs[key], spec.observable, readout)
        acc_r = acc_p = None
        if label_arr is not None:
            if label_arr.shape[0] != ref_pred.shape[0]:
                raise InputDataError(
                    f"{label_arr.shape[0]} labels for {ref_pred.shape[0]} samples",
                    parameter="labels",
                    expected=f"{ref_pred.shape[0]} labels",
                )
            acc_r = float(np.mean(ref_pred == label_arr))
            acc_p = float(np.mean(prog_pred == label_arr))
        outs.append(
            OutputAgreement(
                key,
                spec.observable,
                float(np.mean(ref_pred == prog_pred)) if batch else 1.0,
                correlation(ref_score, prog_score),
                acc_r,
                acc_p,
            )
        )
    return ValidationReport(
        batch=int(batch),
        steps=int(steps),
        backend=run.backend,
        semantics={**sem, "hop_delay": hop},
        layers=tuple(results),
        outputs=tuple(outs),
        first_divergence=first_div,
        tolerance=float(tolerance),
        unmapped=tuple(unmapped),
    )
