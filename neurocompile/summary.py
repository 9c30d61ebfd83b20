"""``inspect``: what a model or a Program is, and the ``.npz`` data it needs.

:func:`summarize` returns a frozen :class:`ModelSummary` (for anything :func:`neurocompile.load`
takes) or :class:`ProgramSummary` (for a :class:`~neurocompile.program.Program`), each with
``as_dict()`` (JSON, with ``schema_version``) and ``to_text(width=80)`` (rich tables rendered to
plain text no wider than ``width``).

* A model: its layers in execution order (the float reference's order, hop delay 0: the order
  ``simulate`` evaluates them in), each with its kind, output shape, neuron count and
  parameters summarised (``tau 0.02 = 20 dt``, ``weight 10x128, |w| max 0.8``,
  ``v_threshold 1 (all 128)``); the Input / Output ``.npz`` keys with their array shapes
  ``(batch, time, *shape)``; ``dt`` (``--dt`` or the file's metadata), the graph's conventions
  (``Graph.conventions``), the NIR version, the nodes that predate ``v_reset``.
* A Program: target, populations (kind, shape, neurons, cores and the largest ESTIMATED
  synapse memory of one of its cores), projections (pre -> post, kind, synapses), the input and
  output keys and shapes, the semantics (dt, reset, hop delay), and cores used: from
  ``program.placement``, or the target's ``place`` hook without writing the Program (as
  ``report`` does).

``Program.__str__`` prints :func:`summarize_program`'s text; :func:`io_line` is the one-line
``inputs: ...; outputs: ...`` that ``check`` and ``report`` print.

Knowingly incomplete: a parameter of a kind this module does not know is summarised generically
(arrays by shape and range, other values by ``repr`` cut to 40 characters).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import NeurocompileError
from .ir import NEURON_KINDS, PRIMITIVES, TAU_PARAMS, Graph
from .jsonable import jsonable
from .program import Counts, Program, counts, stored_synapses
from .target import INPUT_KINDS, get_target

__all__ = [
    "SCHEMA_VERSION",
    "Port",
    "LayerRow",
    "ModelSummary",
    "PopulationRow",
    "ProjectionRow",
    "ProgramSummary",
    "summarize",
    "summarize_model",
    "summarize_program",
    "model_ports",
    "program_ports",
    "io_line",
]

#: Version of the JSON layout of ``as_dict()`` (bumped when a key changes meaning or goes away).
SCHEMA_VERSION = 1


def natural_key(name: Any) -> tuple:
    """Sort key that orders names as people do: ``pop2`` before ``pop10``, ``4->8`` before
    ``10->12`` (digit runs compare as numbers). Every text table sorts its rows by it."""
    parts = re.split(r"(\d+)", str(name))
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in parts if t != "")


DEFAULT_WIDTH = 80


# ------------------------------------------------------------------------------ ports
@dataclass(frozen=True)
class Port:
    """One ``.npz`` key: its name, the shape of one time step, and what it carries."""

    key: str
    shape: tuple[int, ...]
    #: the node (model) or population (Program) behind it
    node: str
    #: "values" (real-valued), "spikes", "graded (N-bit)" (integer payloads) or "v" (membrane readout)
    carries: str = ""

    @property
    def npz_shape(self) -> str:
        return "(" + ", ".join(["batch", "time", *map(str, self.shape)]) + ")"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "shape": list(self.shape), "node": self.node, "carries": self.carries}


def _node_shape(node: Any) -> tuple[int, ...] | None:
    shape = node.output_shape
    if shape is None:
        shape = node.params.get("shape")
    try:
        return None if shape is None else tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        return None


def model_ports(graph: Graph) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """``(inputs, outputs)`` of a loaded graph: the Input / Output node names and shapes that
    ``simulate`` reads and writes (the shapes inferred at load; ``()`` when unknown)."""
    ins = tuple(Port(n, _node_shape(graph.nodes[n]) or (), n, "values") for n in graph.inputs)
    outs = []
    for n in graph.outputs:
        src = graph.predecessors(n)
        kind = graph.nodes[src[0]].kind if src and src[0] in graph.nodes else ""
        carries = (
            "spikes" if kind in ("IF", "LIF", "CubaLIF") else ("v" if kind in NEURON_KINDS else "values")
        )
        outs.append(Port(n, _node_shape(graph.nodes[n]) or (), n, carries))
    return ins, tuple(outs)


def program_ports(program: Program) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """``(inputs, outputs)`` of a Program: the keys ``Program.run`` reads and returns, each with
    its population's shape."""

    def shape(pop: str) -> tuple[int, ...]:
        p = program.populations.get(pop)
        return tuple(int(s) for s in p.shape) if p is not None else ()

    def carries(pop: str) -> str:
        p = program.populations.get(pop)
        bits = p.params.get("num_message_bits", 0) if p is not None else 0
        return f"graded ({bits}-bit)" if isinstance(bits, (int, np.integer)) and bits > 0 else "spikes"

    ins = tuple(Port(k, shape(pop), pop, carries(pop)) for k, pop in program.inputs.items())
    outs = tuple(Port(k, shape(o.population), o.population, o.observable) for k, o in program.outputs.items())
    return ins, outs


def io_line(inputs: tuple[Port, ...], outputs: tuple[Port, ...]) -> str:
    """``inputs: in (batch, time, 64); outputs: out (batch, time, 10)``: the ``.npz`` keys."""

    def part(ports: tuple[Port, ...]) -> str:
        return ", ".join(f"{p.key} {p.npz_shape}" for p in ports) or "none"

    return f"inputs: {part(inputs)}; outputs: {part(outputs)}"


# ------------------------------------------------------------------------------ formatting
def _g(x: float) -> str:
    return f"{x:.4g}"


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "?"
    return "x".join(map(str, shape)) if shape else "scalar"


def _array_text(name: str, arr: np.ndarray, dt: float | None) -> str:
    a = np.asarray(arr)
    if a.dtype.kind not in "biuf":
        return f"{name} {a.dtype}"
    if a.size == 0:
        return f"{name} (empty)"
    if a.size > SUMMARY_ELEMENT_LIMIT:
        return f"{name} {_shape_text(a.shape)} (not summarised: {a.size} values)"
    a = np.asarray(a, dtype=np.float64)
    if name == "weight" or (a.ndim >= 2 and name not in PER_NEURON):
        finite = a[np.isfinite(a)]
        top = _g(float(np.abs(finite).max())) if finite.size else "nan"
        return f"{name} {_shape_text(a.shape)}, |w| max {top}"
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return f"{name} {_g(float(a.flat[0]))}"
    lo, hi = float(finite.min()), float(finite.max())
    if finite.size == a.size and lo == hi:
        text = f"{name} {_g(lo)}"
        return text + (f" = {_g(lo / dt)} dt" if name in TAU_PARAMS and dt else "")
    return f"{name} {_g(lo)}..{_g(hi)}" + ("" if finite.size == a.size else " (some not finite)")


#: arrays larger than this (elements) are shown by shape only: no copy of a huge parameter is made.
SUMMARY_ELEMENT_LIMIT = 2**24
#: per-neuron parameters: summarised by range, never as a weight matrix.
PER_NEURON = frozenset({"r", "tau", "tau_syn", "tau_mem", "v_leak", "v_threshold", "v_reset", "w_in"})
_SKIP = {"shape", "input_shape"}


def _value_text(name: str, v: Any) -> str:
    if isinstance(v, (tuple, list)) and all(isinstance(x, (int, np.integer)) for x in v):
        return f"{name} {'x'.join(map(str, v))}"
    text = repr(v)
    return f"{name} {text if len(text) <= 40 else text[:37] + '...'}"


def _param_texts(kind: str, params: Mapping[str, Any], dt: float | None) -> tuple[str, ...]:
    defaults = PRIMITIVES.get(kind, ((), {}))[1]
    out = []
    for k, v in params.items():
        if k in _SKIP or v is None:
            continue
        if k in defaults and _same(v, defaults[k]):
            continue
        if isinstance(v, np.ndarray):
            out.append(_array_text(k, v, dt))
        else:
            out.append(_value_text(k, v))
    return tuple(out)


def _same(v: Any, default: Any) -> bool:
    try:
        if isinstance(v, (tuple, list)) and isinstance(default, (tuple, list)):
            return tuple(v) == tuple(default)
        if isinstance(v, (tuple, list)) and isinstance(default, int):
            return all(x == default for x in v)
        return bool(v == default)
    except (TypeError, ValueError):
        return False


def _render(parts: list[Any], width: int) -> str:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(
        file=buf,
        width=max(int(width), 40),
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    for p in parts:
        console.print(p)
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").splitlines())


def _table(title: str | None, headers: list[tuple[str, str]], rows: list[list[str]]):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False
    )
    for h, justify in headers:
        table.add_column(h, justify=justify, overflow="fold")
    for r in rows:
        table.add_row(*(Text(c) for c in r))
    return table


def _ports_table(inputs: tuple[Port, ...], outputs: tuple[Port, ...], population: bool = False):
    headers = [("", "left"), ("key", "left"), ("array shape", "left")]
    headers += [("population", "left")] if population else []
    rows = []
    for role, ports in (("input", inputs), ("output", outputs)):
        for p in ports:
            rows.append([role, p.key, p.npz_shape] + ([p.node] if population else []) + [p.carries])
    return _table(".npz keys:", headers + [("carries", "left")], rows)


def _kv(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items()) if d else "none recorded"


# ------------------------------------------------------------------------------ models
@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    neurons: int
    params: tuple[str, ...] = ()
    #: number of parameter values (array elements) the node holds
    values: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "neurons": self.neurons,
            "params": list(self.params),
            "values": self.values,
        }


@dataclass(frozen=True)
class ModelSummary:
    source: str
    nir_version: str | None
    dt: float | None
    #: where dt came from: "--dt", "file" (graph metadata) or None (neither)
    dt_source: str | None
    conventions: Mapping[str, Any]
    layers: tuple[LayerRow, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    legacy_reset: tuple[str, ...] = ()
    load_problems: tuple[str, ...] = ()
    #: the graph's own metadata (scalars and short strings only)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def neurons(self) -> int:
        return sum(r.neurons for r in self.layers)

    @property
    def values(self) -> int:
        return sum(r.values for r in self.layers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "model",
            "source": self.source,
            "nir_version": self.nir_version,
            "dt": self.dt,
            "dt_source": self.dt_source,
            "conventions": jsonable(dict(self.conventions), summarize_over=16),
            "neurons": self.neurons,
            "parameter_values": self.values,
            "inputs": [p.as_dict() for p in self.inputs],
            "outputs": [p.as_dict() for p in self.outputs],
            "layers": [r.as_dict() for r in self.layers],
            "legacy_reset": list(self.legacy_reset),
            "load_problems": list(self.load_problems),
            "metadata": jsonable(dict(self.metadata), summarize_over=16),
        }

    def io_line(self) -> str:
        return io_line(self.inputs, self.outputs)

    def to_text(self, width: int = DEFAULT_WIDTH) -> str:
        if self.dt is None:
            dt = "dt not stored (pass --dt)"
        else:
            dt = f"dt {_g(self.dt)} ({self.dt_source})"
        nir = self.nir_version or "version not recorded"
        head = (
            f"{self.source}: NIR {nir}, {dt}, {len(self.layers)} nodes, "
            f"{self.neurons} neurons, {self.values} parameter values"
        )
        parts: list[Any] = [head, f"conventions: {_kv(self.conventions)}"]
        if self.metadata:
            parts.append(f"metadata: {_kv(self.metadata)}")
        if self.legacy_reset:
            parts.append(
                f"reset: {len(self.legacy_reset)} spiking node(s) predate v_reset (nir <= 1.0.4): "
                "choose --reset subtract or zero"
            )
        for p in self.load_problems:
            parts.append(f"load problem: {p}")
        parts.append(_ports_table(self.inputs, self.outputs))
        rows = [
            [
                str(i),
                r.name,
                r.kind,
                _shape_text(r.output_shape),
                str(r.neurons) if r.neurons else "",
                "; ".join(r.params),
            ]
            for i, r in enumerate(self.layers)
        ]
        parts.append(
            _table(
                "layers (execution order):",
                [
                    ("#", "right"),
                    ("node", "left"),
                    ("kind", "left"),
                    ("shape", "left"),
                    ("neurons", "right"),
                    ("parameters", "left"),
                ],
                rows,
            )
        )
        return _render(parts, width)

    def __str__(self) -> str:
        return self.to_text()


def _order(graph: Graph) -> list[str]:
    from .reference import execution_order

    try:
        order, _ = execution_order(graph, 0)
    except NeurocompileError:
        return list(graph.nodes)
    return list(order) + [n for n in graph.nodes if n not in order]


def _n_values(params: Mapping[str, Any]) -> int:
    return int(sum(np.size(v) for k, v in params.items() if isinstance(v, np.ndarray) and k not in _SKIP))


def summarize_model(model: Any, *, dt: float | None = None, source: str | None = None) -> ModelSummary:
    """The summary of ``model`` (anything :func:`neurocompile.load` takes, or a loaded Graph).

    ``dt`` (the ``--dt`` of ``simulate``/``compile``) overrides the file's; a bad one raises the
    same :class:`~neurocompile.errors.SemanticsError` those commands raise.
    """
    from .load import load
    from .semantics import resolve_semantics

    graph = model if isinstance(model, Graph) else load(model)
    if dt is not None:
        dt_val, dt_source = resolve_semantics(graph, dt=dt).dt, "--dt"
    else:
        dt_val = graph.metadata_dt()
        dt_source = "file" if dt_val is not None else None
    layers = []
    for name in _order(graph):
        node = graph.nodes[name]
        shape = _node_shape(node)
        neurons = int(math.prod(shape)) if node.is_neuron and shape is not None else 0
        layers.append(
            LayerRow(
                name,
                node.kind,
                shape,
                neurons,
                _param_texts(node.kind, node.params, dt_val),
                _n_values(node.params),
            )
        )
    ins, outs = model_ports(graph)
    return ModelSummary(
        source=source or graph.source,
        nir_version=graph.nir_version,
        dt=dt_val,
        dt_source=dt_source,
        conventions=dict(graph.conventions),
        layers=tuple(layers),
        inputs=ins,
        outputs=outs,
        legacy_reset=tuple(graph.legacy_reset),
        load_problems=tuple(
            f"{code} {node or '-'}: {msg}" for code, node, msg in getattr(graph, "load_problems", ())
        ),
        metadata={k: _short(v) for k, v in graph.metadata.items() if _short(v) is not None},
    )


def _short(v: Any) -> Any:
    """A metadata value worth printing (a number or a string of at most 60 characters), else None."""
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.reshape(-1)[0]
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, (bool, int, float)) or (isinstance(v, str) and len(v) <= 60):
        return v
    return None


# ------------------------------------------------------------------------------ Programs
@dataclass(frozen=True)
class PopulationRow:
    name: str
    kind: str
    shape: tuple[int, ...]
    neurons: int
    cores: int = 0
    #: the largest synapse memory of one of its cores (bytes, ESTIMATED), None when not placed
    synapse_bytes_max: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "neurons": self.neurons,
            "cores": self.cores,
            "synapse_bytes_max": self.synapse_bytes_max,
        }


@dataclass(frozen=True)
class ProjectionRow:
    name: str
    pre: str
    post: str
    kind: str
    synapses: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pre": self.pre,
            "post": self.post,
            "kind": self.kind,
            "synapses": self.synapses,
        }


@dataclass(frozen=True)
class ProgramSummary:
    target: str
    populations: tuple[PopulationRow, ...]
    projections: tuple[ProjectionRow, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    semantics: Mapping[str, Any]
    #: "program" (stored), "computed" (the target's placer, not stored), "failed" or "none"
    placement_source: str
    chips: int = 0
    cores_used: int = 0
    #: ``[{"chip", "core", "population", "neurons", "synapse_bytes"}]``
    cores: tuple[Mapping[str, Any], ...] = ()
    limits: Mapping[str, Any] = field(default_factory=dict)
    placement_error: str | None = None
    learning: str = "none"
    source: str | None = None
    #: :func:`neurocompile.program.counts` (the counts compile, report and emit print)
    counts: Counts | None = None

    @property
    def neurons(self) -> int:
        return sum(p.neurons for p in self.populations if p.kind not in INPUT_KINDS)

    @property
    def synapses(self) -> int:
        """Stored synapses (:func:`neurocompile.program.stored_synapses` summed)."""
        return sum(p.synapses for p in self.projections)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "program",
            "source": self.source,
            "target": self.target,
            "neurons": self.neurons,
            "synapses": self.synapses,
            "counts": None if self.counts is None else self.counts.as_dict(),
            "inputs": [p.as_dict() for p in self.inputs],
            "outputs": [p.as_dict() for p in self.outputs],
            "semantics": jsonable(dict(self.semantics), summarize_over=16),
            "populations": [p.as_dict() for p in self.populations],
            "projections": [p.as_dict() for p in self.projections],
            "placement": {
                "source": self.placement_source,
                "chips": self.chips,
                "cores_used": self.cores_used,
                "cores": [jsonable(dict(c), summarize_over=16) for c in self.cores],
                "limits": jsonable(dict(self.limits), summarize_over=16),
                "estimated": True,
                "error": self.placement_error,
            },
            "learning": self.learning,
        }

    def io_line(self) -> str:
        return io_line(self.inputs, self.outputs)

    def to_text(self, width: int = DEFAULT_WIDTH) -> str:
        n_in = sum(p.kind in INPUT_KINDS for p in self.populations)
        what = (
            self.counts.text()
            if self.counts is not None
            else f"{len(self.populations)} populations ({n_in} input), {self.neurons} neurons, "
            f"{len(self.projections)} projections, {self.synapses} stored synapses"
        )
        head = f"{self.target} Program{' ' + self.source if self.source else ''}: {what}"
        sem = self.semantics
        dt = sem.get("dt")
        bits = [f"dt {_g(dt)}" if isinstance(dt, (int, float)) else "dt not recorded"]
        bits += [f"reset {sem['reset']}"] if "reset" in sem else []
        bits += [f"hop delay {sem['hop_delay']}"] if "hop_delay" in sem else []
        bits += [str(sem[k]) for k in ("discretization", "threshold") if k in sem]
        parts: list[Any] = [head, "semantics: " + ", ".join(bits)]
        if self.placement_error:
            parts.append(f"placement ({self.placement_source}): {self.placement_error}")
        else:
            lim = self.limits
            shown = [
                f"{lim[k]} {label}"
                for k, label in (("neurons_per_core", "neurons"), ("synapse_bytes_per_core", "synapse bytes"))
                if lim.get(k)
            ]
            parts.append(
                f"placement ({self.placement_source}): {self.chips} chip(s), {self.cores_used} core(s)"
                + (f"; per core at most {' and '.join(shown)}" if shown else "")
                + "; synapse bytes are ESTIMATED"
            )
        parts.append(f"learning: {self.learning}")
        parts.append(_ports_table(self.inputs, self.outputs, population=True))
        placed = bool(self.cores)
        headers = [("population", "left"), ("kind", "left"), ("shape", "left"), ("neurons", "right")]
        if placed:
            headers += [("cores", "right"), ("syn bytes/core~", "right")]
        rows = []
        for p in sorted(self.populations, key=lambda p: natural_key(p.name)):
            row = [p.name, p.kind, _shape_text(p.shape), str(p.neurons)]
            if placed:
                row += [
                    str(p.cores) if p.cores else "-",
                    "-" if p.synapse_bytes_max is None else str(p.synapse_bytes_max),
                ]
            rows.append(row)
        parts.append(_table("populations:", headers, rows))
        parts.append(
            _table(
                "projections:",
                [
                    ("projection", "left"),
                    ("pre -> post", "left"),
                    ("kind", "left"),
                    ("stored synapses", "right"),
                ],
                [
                    [p.name, f"{p.pre} -> {p.post}", p.kind, str(p.synapses)]
                    for p in sorted(self.projections, key=lambda p: natural_key(p.name))
                ],
            )
        )
        return _render(parts, width)

    def __str__(self) -> str:
        return self.to_text()


def _placement(program: Program) -> tuple[str, dict[str, Any], str | None]:
    """``(source, placement dict, error)``: stored, or computed by the target's placer unwritten."""
    if program.placement:
        return "program", dict(program.placement), None
    try:
        placer = get_target(program.target).hook("place")
    except NeurocompileError:
        placer = None
    if placer is None:
        return "none", {}, f"no placer for target {program.target!r}"
    try:
        return "computed", dict(placer(program, write=False).as_dict()), None
    except NeurocompileError as exc:
        return "failed", {}, exc.one_line()


def summarize_program(program: Program, *, source: str | None = None) -> ProgramSummary:
    """The summary of a Program (placement computed, not stored, when it has none)."""
    where, pl, error = _placement(program)
    cores = tuple(
        {k: c.get(k) for k in ("chip", "core", "population", "neurons", "synapse_bytes")}
        for c in pl.get("cores", [])
    )
    per_pop: dict[str, list[Mapping[str, Any]]] = {}
    for c in cores:
        per_pop.setdefault(str(c["population"]), []).append(c)
    pops = []
    for p in program.populations.values():
        mine = per_pop.get(p.name, [])
        syn = [int(c["synapse_bytes"]) for c in mine if c.get("synapse_bytes") is not None]
        pops.append(
            PopulationRow(
                p.name,
                p.kind,
                tuple(int(s) for s in p.shape),
                int(p.size),
                len(mine),
                max(syn) if syn else None,
            )
        )
    projs = tuple(
        ProjectionRow(p.name, p.pre, p.post, p.kind, stored_synapses(p)) for p in program.projections.values()
    )
    ins, outs = program_ports(program)
    learning = "none"
    if program.learning:
        attached = sorted(
            a.get("projection", "?") for a in (program.learning.get("attachments") or {}).values()
        )
        learning = "configured" + (f" on {', '.join(attached)}" if attached else "")
    return ProgramSummary(
        target=program.target,
        populations=tuple(pops),
        projections=projs,
        inputs=ins,
        outputs=outs,
        semantics=dict(program.semantics),
        placement_source=where,
        chips=int(pl.get("chips", 0) or 0),
        cores_used=int(pl.get("cores_used", len(cores)) or 0),
        cores=cores,
        limits=dict(pl.get("limits", {})),
        placement_error=error,
        learning=learning,
        source=source,
        counts=counts(program),
    )


def summarize(x: Any, *, dt: float | None = None, source: str | None = None) -> ModelSummary | ProgramSummary:
    """:func:`summarize_program` for a Program, :func:`summarize_model` for anything else."""
    if isinstance(x, Program):
        return summarize_program(x, source=source)
    return summarize_model(x, dt=dt, source=source)
