"""``report``: what a Program costs on its target, and (from a run) how active it is.

:func:`report` returns a frozen :class:`Report` (``as_dict()`` for JSON, ``to_text()`` for the
CLI) with target-generic sections:

* **populations** and **projections** as stored in the Program (sizes, synapse counts, weight
  exponent, weight bits, sign mode, weight and delay ranges);
* **placement**: chips and cores used, per core the population slice, neurons and synapse
  memory (labelled ESTIMATED: the synapse cost model is not published by the chip vendors),
  per chip totals. Taken from ``program.placement``; when it is empty the target's placer is run
  with default limits (without writing the Program) and the section says so; when the network
  does not fit, the section carries the placer's error instead of failing the report;
* **quantization**: the table ``program.quantization`` holds (written by ``compile``), one row
  per population and per projection, keys as the lowering wrote them;
* **activity** (only with a run): NeuroBench metric names computed from the recorded spikes of
  every population times each neuron's fan-out of nonzero (effective, after the target's weight
  truncation) weights: ``synaptic_operations`` ``{"Effective_ACs", "Effective_MACs", "Dense"}``
  per sample, ``synops_per_step``, ``activation_sparsity`` (1 - nonzero activations / all
  activations over spiking non-input populations and steps), ``membrane_updates`` per step;
  per population its spike rate and per projection its SynOps per step;
* **findings** from ``program.provenance["findings"]``;
* **learning**: the target's ``learning_section`` hook; ``{"status": "none"}`` when the
  Program has no learning configuration, the raw configuration otherwise;
* **target**: the target's own ``report_section`` (e.g. the Loihi 2 cost model);
* **energy** (only with a run, when the target has a cost model): modelled, not measured, energy
  (J) and latency (s) per sample from the run's operation counts and the target's published
  per-operation figures (:mod:`neurocompile.energy`, ``docs/energy.md``).

Knowingly approximate: SynOps count a spike once when it is emitted, also for delayed synapses
whose delivery falls after the last step; a readout population (read only as ``v``/``u`` and
projecting nowhere) is left out of the activation sparsity, since its spikes are not used.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .data import rate_unit
from .errors import InputDataError, NeurocompileError
from .jsonable import jsonable
from .program import Counts, Program, counts, stored_synapses
from .summary import SCHEMA_VERSION, io_line, natural_key, program_ports
from .target import INPUT_KINDS as _INPUT_KINDS
from .target import get_target

__all__ = [
    "Report",
    "PopulationRow",
    "ProjectionRow",
    "PlacementSection",
    "ActivitySection",
    "report",
    "activity_run",
    "INPUT_KINDS",
    "learning_nodes",
]

#: population kinds that are spike sources fed from data (not neurons on the chip).
INPUT_KINDS = _INPUT_KINDS


def _hook(program: Program, name: str):
    """The hook ``name`` of the Program's target (``None`` when the target has none or is unknown)."""
    try:
        return get_target(program.target).hook(name)
    except NeurocompileError:
        return None


def learning_nodes(learning: Mapping[str, Any]) -> dict[str, str]:
    """Projection name -> the NIR weight node its rule was attached to (``compile --learning``)."""
    return {a["projection"]: node for node, a in (learning.get("attachments") or {}).items()}


def _plain(x: Any) -> Any:
    """JSON-safe copy (numpy scalars/arrays to Python; arrays longer than 16 summarised)."""
    return jsonable(x, summarize_over=16)


# ------------------------------------------------------------------------------ sections
@dataclass(frozen=True)
class PopulationRow:
    name: str
    kind: str
    shape: tuple[int, ...]
    neurons: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "neurons": self.neurons,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class ProjectionRow:
    name: str
    pre: str
    post: str
    kind: str
    synapses: int
    nonzero: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pre": self.pre,
            "post": self.post,
            "kind": self.kind,
            "synapses": self.synapses,
            "nonzero": self.nonzero,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class PlacementSection:
    """``source``: "program" (stored), "computed" (default limits, not stored) or "failed"."""

    source: str
    chips: int = 0
    cores_used: int = 0
    cores: tuple[Mapping[str, Any], ...] = ()
    per_chip: tuple[Mapping[str, Any], ...] = ()
    limits: Mapping[str, Any] = field(default_factory=dict)
    estimated: bool = True
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "chips": self.chips,
            "cores_used": self.cores_used,
            "cores": [dict(c) for c in self.cores],
            "per_chip": [dict(c) for c in self.per_chip],
            "limits": dict(self.limits),
            "estimated": self.estimated,
            "error": self.error,
            **{k: self.extra[k] for k in sorted(self.extra)},
        }


@dataclass(frozen=True)
class ActivitySection:
    batch: int
    steps: int
    #: NeuroBench ``synaptic_operations``: per sample over the whole run.
    synaptic_operations: Mapping[str, float]
    synops_per_step: float
    activation_sparsity: float | None
    membrane_updates_per_step: int
    spikes_per_step: float
    populations: Mapping[str, Mapping[str, Any]]
    projections: Mapping[str, Mapping[str, Any]]
    missing: tuple[str, ...] = ()
    #: the unit of each population's ``rate_hz`` / text rate: "Hz" when dt is in seconds, else "per step"
    rate_unit: str = "per step"

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "steps": self.steps,
            "synaptic_operations": dict(self.synaptic_operations),
            "synops_per_step": self.synops_per_step,
            "activation_sparsity": self.activation_sparsity,
            "membrane_updates_per_step": self.membrane_updates_per_step,
            "spikes_per_step": self.spikes_per_step,
            "populations": {k: dict(v) for k, v in self.populations.items()},
            "projections": {k: dict(v) for k, v in self.projections.items()},
            "missing": list(self.missing),
            "rate_unit": self.rate_unit,
        }


@dataclass(frozen=True)
class Report:
    target: str
    neurons: int
    synapses: int
    populations: tuple[PopulationRow, ...]
    projections: tuple[ProjectionRow, ...]
    placement: PlacementSection
    quantization: Mapping[str, Any]
    activity: ActivitySection | None
    findings: tuple[Mapping[str, Any], ...]
    learning: Mapping[str, Any]
    target_section: Mapping[str, Any]
    semantics: Mapping[str, Any]
    source: str | None = None
    #: ``inputs: KEY (batch, time, *shape); outputs: ...`` (text only; JSON has populations and shapes)
    io: str | None = None
    #: :func:`neurocompile.program.counts` (what compile, inspect and emit print)
    counts: Counts | None = None
    #: :class:`neurocompile.energy.EnergyEstimate` of the run (None without a run or a cost model)
    energy: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "report",
            "target": self.target,
            "source": self.source,
            "counts": None if self.counts is None else self.counts.as_dict(),
            "summary": {
                "neurons": self.neurons,
                "synapses": self.synapses,
                "chips": self.placement.chips,
                "cores_used": self.placement.cores_used,
                "placement_estimated": self.placement.estimated,
            },
            "semantics": _plain(dict(self.semantics)),
            "populations": [p.as_dict() for p in self.populations],
            "projections": [p.as_dict() for p in self.projections],
            "placement": _plain(self.placement.as_dict()),
            "quantization": _plain(dict(self.quantization)),
            "activity": None if self.activity is None else _plain(self.activity.as_dict()),
            "findings": [dict(f) for f in self.findings],
            "learning": _plain(dict(self.learning)),
            "target_section": _plain(dict(self.target_section)),
            "energy": None if self.energy is None else _plain(self.energy.as_dict()),
        }

    def to_text(self, max_cores: int = 40, width: int | None = None) -> str:
        """The text report, every line at most ``width`` columns (default 100): tables too wide are
        split column-wise, long lines wrapped."""
        return _text(self, max_cores, DEFAULT_WIDTH if width is None else max(40, int(width)))


# ------------------------------------------------------------------------------ building
_POP_PARAM_KEYS = ("du", "dv", "vth", "num_message_bits", "reset_interval", "reset_offset")


def _pop_rows(program: Program) -> tuple[PopulationRow, ...]:
    rows = []
    for p in program.populations.values():
        params = {
            k: _plain(p.params[k]) for k in _POP_PARAM_KEYS if k in p.params and np.ndim(p.params[k]) == 0
        }
        for k in _POP_PARAM_KEYS:  # one value per neuron (per-neuron decays): its range
            if k in p.params and np.ndim(p.params[k]) > 0:
                a = np.asarray(p.params[k]).reshape(-1)
                params[k] = {"min": _plain(a.min()), "max": _plain(a.max())} if a.size else None
        if "bias_mant" in p.params:
            bias = np.asarray(p.params["bias_mant"]).astype(np.int64) << np.asarray(
                p.params["bias_exp"]
            ).astype(np.int64)
            params["bias_min"] = int(bias.min()) if bias.size else 0
            params["bias_max"] = int(bias.max()) if bias.size else 0
        rows.append(PopulationRow(p.name, p.kind, tuple(int(s) for s in p.shape), int(p.size), params))
    return tuple(rows)


def _n_synapses(program: Program, proj) -> int:
    return stored_synapses(proj)


def _proj_rows(program: Program) -> tuple[ProjectionRow, ...]:
    rows = []
    weights_fn = _hook(program, "effective_weights")
    for p in program.projections.values():
        w = np.asarray(weights_fn(p) if weights_fn else p.params.get("weights", np.zeros(0, np.int64)))
        params: dict[str, Any] = {
            k: _plain(p.params[k])
            for k in ("weight_exp", "num_weight_bits", "sign_mode", "num_message_bits")
            if k in p.params
        }
        params["weight_min"] = int(w.min()) if w.size else 0
        params["weight_max"] = int(w.max()) if w.size else 0
        if "delays" in p.params:
            d = np.asarray(p.params["delays"])
            params["delay_max"] = int(d.max()) if d.size else 0
        rows.append(
            ProjectionRow(
                p.name, p.pre, p.post, p.kind, _n_synapses(program, p), int(np.count_nonzero(w)), params
            )
        )
    return tuple(rows)


def _placement(program: Program) -> PlacementSection:
    pl = program.placement
    source = "program"
    if not pl:
        placer = _hook(program, "place")
        if placer is None:
            return PlacementSection(source="none", error=f"no placer for target {program.target!r}")
        try:
            pl = placer(program, write=False).as_dict()
        except NeurocompileError as exc:
            return PlacementSection(source="failed", error=exc.one_line())
        source = "computed"
    lim = dict(pl.get("limits", {}))
    npc = lim.get("neurons_per_core")
    # against the limit the placer names for synapse memory (a core's own memory, or the chip's
    # shared SDRAM); then the per-core figure is the core's share of it
    lname, spc = synapse_limit(lim)
    per_chip_limit = bool(lname and lname.endswith("_per_chip"))
    cores = []
    for c in pl.get("cores", []):
        c = dict(c)
        if npc:
            c["neuron_utilization"] = round(c["neurons"] / npc, 4)
        if spc:
            c["synapse_memory_utilization"] = round(c["synapse_bytes"] / spc, 4)
            c["synapse_memory_limit"] = lname
        cores.append(c)
    per_chip = [dict(c) for c in pl.get("per_chip", [])]
    if not per_chip and cores:  # targets whose placer gives only the core list
        chips: dict[int, dict[str, int]] = {}
        for c in cores:
            row = chips.setdefault(
                int(c["chip"]), {"chip": int(c["chip"]), "cores": 0, "neurons": 0, "synapse_bytes": 0}
            )
            row["cores"] += 1
            row["neurons"] += int(c.get("neurons", 0))
            row["synapse_bytes"] += int(c.get("synapse_bytes", 0))
        per_chip = [chips[k] for k in sorted(chips)]
    for row in per_chip:
        if spc and "synapse_bytes" in row:
            # a per-core limit has no chip total: the chip figure is then the mean over its cores
            den = spc if per_chip_limit else spc * max(1, int(row.get("cores", 1) or 1))
            row["synapse_memory_utilization"] = round(int(row["synapse_bytes"]) / den, 4)
    known = {"chips", "cores_used", "cores", "per_chip", "limits"}
    extra = {k: v for k, v in pl.items() if k not in known}
    return PlacementSection(
        source=source,
        chips=int(pl.get("chips", 0)),
        cores_used=int(pl.get("cores_used", 0)),
        cores=tuple(cores),
        per_chip=tuple(dict(c) for c in per_chip),
        limits=lim,
        estimated=True,
        extra=extra,
    )


def _is_readout(program: Program, name: str) -> bool:
    if any(p.pre == name for p in program.projections.values()):
        return False
    reads = [o.observable for o in program.outputs.values() if o.population == name]
    return bool(reads) and "spikes" not in reads


def _spikes_of(program: Program, run: Any, name: str) -> np.ndarray | None:
    rec = getattr(run, "recordings", {}) or {}
    key = f"{name}.spikes"
    if key in rec:
        return np.asarray(rec[key])
    for out_key, o in program.outputs.items():
        if o.population == name and o.observable == "spikes" and out_key in run.outputs:
            return np.asarray(run.outputs[out_key])
    return None


def _activity(program: Program, run: Any) -> ActivitySection:
    weights_fn = _hook(program, "effective_weights")
    spikes: dict[str, np.ndarray] = {}
    missing = []
    batch = steps = None
    for pop in program.populations.values():
        s = _spikes_of(program, run, pop.name)
        if s is None:
            missing.append(pop.name)
            continue
        s = s.reshape(s.shape[0], s.shape[1], -1)
        if batch is None:
            batch, steps = int(s.shape[0]), int(s.shape[1])
        spikes[pop.name] = s
    if batch is None:
        raise InputDataError(
            "the run recorded no spikes of any population; record POP.spikes for every "
            "population (neurocompile.report.activity_run does)",
            parameter="run",
            expected="recordings 'POP.spikes'",
        )
    pops: dict[str, dict[str, Any]] = {}
    dt = program.semantics.get("dt")
    unit = rate_unit(dt)
    act_nonzero = act_total = 0
    total_spikes = 0.0
    for name, s in spikes.items():
        pop = program.populations[name]
        nz = int(np.count_nonzero(s))
        readout = _is_readout(program, name)
        is_input = pop.kind in INPUT_KINDS
        pops[name] = {
            "kind": pop.kind,
            "spikes_per_step": nz / (batch * steps),
            "rate": nz / (batch * steps * pop.size),
            "rate_hz": nz / (batch * steps * pop.size) / float(dt) if unit == "Hz" else None,
            "activation_sparsity": 1.0 - nz / s.size,
            "readout": readout,
        }
        if not is_input:
            total_spikes += nz / (batch * steps)
        if not is_input and not readout:
            act_nonzero += nz
            act_total += s.size
    projs: dict[str, dict[str, Any]] = {}
    acs = macs = dense = 0.0
    for proj in program.projections.values():
        n_pre = program.populations[proj.pre].size
        m = _n_synapses(program, proj)
        dense += m * steps
        if proj.pre not in spikes:
            projs[proj.name] = {"synops_per_step": None, "missing": proj.pre}
            continue
        w = np.asarray(weights_fn(proj) if weights_fn else proj.params["weights"])
        if "pre" in proj.params:
            pre = np.asarray(proj.params["pre"])
            fanout = np.bincount(pre[w != 0], minlength=n_pre).astype(np.float64)
        else:
            fanout = np.count_nonzero(w, axis=0).astype(np.float64)
        s = spikes[proj.pre]
        active = (s != 0).reshape(-1, n_pre)
        ops = float((active.astype(np.float64) @ fanout).sum()) / batch
        graded = (
            int(program.populations[proj.pre].params.get("num_message_bits", 0) or 0) > 0
            or int(proj.params.get("num_message_bits", 0) or 0) > 0
        )
        if graded:
            macs += ops
        else:
            acs += ops
        projs[proj.name] = {
            "synops_per_step": ops / steps,
            "op": "MAC" if graded else "AC",
            "mean_fanout_nonzero": float(fanout.mean()) if fanout.size else 0.0,
        }
    neurons = sum(p.size for p in program.populations.values() if p.kind not in INPUT_KINDS)
    return ActivitySection(
        batch=batch,
        steps=steps,
        synaptic_operations={"Effective_ACs": acs, "Effective_MACs": macs, "Dense": dense},
        synops_per_step=(acs + macs) / steps,
        activation_sparsity=(1.0 - act_nonzero / act_total) if act_total else None,
        membrane_updates_per_step=int(neurons),
        spikes_per_step=total_spikes,
        populations=pops,
        projections=projs,
        missing=tuple(missing),
        rate_unit=unit,
    )


def activity_run(program: Program, inputs: Mapping[str, np.ndarray], backend: str = "emulator"):
    """Run ``program`` recording the spikes of every population (what :func:`report` needs)."""
    import warnings

    record = [(p.name, "spikes") for p in program.populations.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return program.run(inputs, backend=backend, record=record)


def report(
    program: Program,
    run: Any = None,
    *,
    inputs: Mapping[str, np.ndarray] | None = None,
    source: str | None = None,
) -> Report:
    """The resource (and, with ``run`` or ``inputs``, activity) report of ``program``.

    ``run``: a ``RunResult`` with ``POP.spikes`` recordings (see :func:`activity_run`);
    ``inputs``: run the emulator on them to get one.
    """
    if run is None and inputs is not None:
        run = activity_run(program, inputs)
    pops = _pop_rows(program)
    projs = _proj_rows(program)
    learn_hook = _hook(program, "learning_section")
    if not program.learning:
        learning: dict[str, Any] = {"status": "none"}
    elif learn_hook is not None:
        learning = dict(learn_hook(program, program.learning))
    else:
        learning = {
            "status": "configured",
            "config": program.learning,
            "note": "this target has no learning report section",
        }
    thook = _hook(program, "report_section")
    q = program.quantization or {}
    return Report(
        target=program.target,
        neurons=int(sum(p.neurons for p in pops if p.kind not in INPUT_KINDS)),
        synapses=int(sum(p.synapses for p in projs)),
        populations=pops,
        projections=projs,
        placement=_placement(program),
        quantization={
            "populations": dict(q.get("populations", {})),
            "projections": dict(q.get("projections", {})),
            **{k: v for k, v in q.items() if k not in ("populations", "projections")},
        },
        activity=None if run is None else _activity(program, run),
        findings=tuple(dict(f) for f in (program.provenance or {}).get("findings", [])),
        learning=learning,
        target_section=thook(program) if thook else {},
        semantics=dict(program.semantics),
        source=source,
        io=io_line(*program_ports(program)),
        counts=counts(program),
        energy=None if run is None else _energy(program, run),
    )


def _energy(program: Program, run: Any):
    """The modelled energy of ``run`` (None when the target has no cost model or a population's
    spikes were not recorded)."""
    from .energy import estimate

    try:
        return estimate(program, run)
    except NeurocompileError:  # a population's spikes not recorded, or a placement that fails
        return None


# ------------------------------------------------------------------------------ text
#: default text width (the CLI passes the terminal's)
DEFAULT_WIDTH = 100


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, Mapping) and "min" in v and "max" in v:
        return f"{_fmt(v['min'])}..{_fmt(v['max'])}"
    return "-" if v is None else str(v)


#: columns holding names (left-aligned even when the names are numbers)
_NAME_HEADERS = {"pre", "post", "population", "name", "projection", "kind", "pre -> post"}


def _table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> list[str]:
    cells = [[_fmt(v) for v in r] for r in rows]
    w = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if right is None:
        right = {i for i, h in enumerate(headers) if i and h not in _NAME_HEADERS and _numeric(cells, i)}

    def line(vals: list[str]) -> str:
        return "  ".join(v.rjust(w[i]) if i in right else v.ljust(w[i]) for i, v in enumerate(vals)).rstrip()

    return ["  " + line(headers)] + ["  " + line(r) for r in cells]


def _numeric(cells: list[list[str]], i: int) -> bool:
    vals = [r[i] for r in cells if r[i] != "-"]
    return bool(vals) and all(re.fullmatch(r"[-+0-9.e]+(\.\.[-+0-9.e]+)?( -> [-+0-9.e.]+)?", v) for v in vals)


def _split_table(
    title: str, headers: list[str], rows: list[list[Any]], width: int, keep: int = 1
) -> list[str]:
    """``title`` and the table, split column-wise into as many tables as ``width`` needs (the first
    ``keep`` columns, the row names, repeated in each)."""
    out: list[str] = []
    cols = list(range(keep, len(headers)))
    part = 0
    while cols:
        take: list[int] = []
        for c in cols:
            trial = list(range(keep)) + take + [c]
            lines = _table([headers[i] for i in trial], [[r[i] for i in trial] for r in rows])
            if take and max(len(x) for x in lines) > width:
                break
            take.append(c)
        idx = list(range(keep)) + take
        part += 1
        out.append(title if part == 1 else f"{title} (continued)")
        out += _table([headers[i] for i in idx], [[r[i] for i in idx] for r in rows])
        cols = cols[len(take) :]
    return out


def _wrap(lines: list[str], width: int) -> list[str]:
    out = []
    for ln in lines:
        if len(ln) <= width:
            out.append(ln)
            continue
        lead = len(ln) - len(ln.lstrip())
        out += textwrap.wrap(
            ln, width, initial_indent="", subsequent_indent=" " * (lead + 4), break_on_hyphens=False
        ) or [ln]
    return out


def _first(d: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in d:
            return d[k]
    return None


def _arrow(a: Any, b: Any) -> Any:
    """``a -> b`` (a model value and what the chip achieves), or whichever is known."""
    if a is None or b is None:
        return b if a is None else a
    return f"{_fmt(a)} -> {_fmt(b)}"


#: quantization columns in pipeline order: (table, header, keys (the first one present), format)
#: a key list of two means "model value -> chip value". Keys no column names go to a last table.
_Q_POP_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("scale and threshold", "kind", ("kind", "model")),
    ("scale and threshold", "neurons", ("neurons",)),
    ("scale and threshold", "scale", ("scale",)),
    ("scale and threshold", "threshold -> achieved", ("threshold_float", "threshold_before")),
    ("scale and threshold", "vth (int)", ("vth",)),
    ("decay and bias", "tau_m (ms)", ("tau_m_ms",)),
    ("decay and bias", "decay v -> int", ("decay_v_float",)),
    ("decay and bias", "dv (int)", ("dv",)),
    ("decay and bias", "decay u -> int", ("decay_u_float",)),
    ("decay and bias", "du (int)", ("du",)),
    ("decay and bias", "a_chip", ("a_chip",)),
    ("decay and bias", "R_chip", ("R_chip",)),
    ("decay and bias", "cm", ("cm",)),
    ("decay and bias", "bias rms err", ("bias",)),
    ("decay and bias", "floor comp", ("floor_compensation",)),
    ("state range", "peak u (int)", ("expected_peak_u",)),
    ("state range", "peak v (int)", ("expected_peak_v",)),
    ("state range", "limit (int)", ("state_limit",)),
    ("state range", "peak from", ("peak_source",)),
    ("state range", "u_init (int)", ("u_init",)),
)
#: the second value of an ``a -> b`` column
_Q_POP_PAIRS = {
    "threshold_float": "threshold_int",
    "threshold_before": "threshold_after",
    "decay_v_float": "decay_v_int",
    "decay_u_float": "decay_u_int",
}
_Q_POP_HIDDEN = {"scale_unit", "group", "sources"}
_Q_PROJ_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("weights", "pre", ("pre",)),
    ("weights", "post", ("post",)),
    ("weights", "kind", ("kind",)),
    ("weights", "weight (model) -> int", ("__weight_range__",)),
    ("weights", "exp", ("weight_exp",)),
    ("weights", "bits", ("num_weight_bits",)),
    ("weights", "sign mode", ("sign_mode_name", "sign_mode")),
    ("weights", "delay", ("max_delay", "__delay_max__")),
    ("error", "stored synapses", ("__stored__",)),
    ("error", "density", ("density",)),
    ("error", "weight_scale", ("weight_scale",)),
    ("error", "clipped", ("fraction_clipped",)),
    ("error", "zeroed", ("fraction_zeroed",)),
    ("error", "rms rel err", ("rms_relative_error",)),
    ("error", "rb shift", ("ring_buffer_shift",)),
)
_Q_PROJ_HIDDEN = {"connection", "sources", "weight_scale_unit", "synapses", "sign_mode"}


def _q_value(v: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in v:
            if k in _Q_POP_PAIRS:
                return _arrow(v[k], v.get(_Q_POP_PAIRS[k]))
            if k == "bias" and isinstance(v[k], Mapping):
                return v[k].get("rms_relative_error")
            return _plain(v[k])
    return None


def _quant_tables(
    what: str,
    tab: Mapping[str, Mapping[str, Any]],
    columns: tuple[tuple[str, str, tuple[str, ...]], ...],
    hidden: set[str],
    notes: Mapping[str, str],
    width: int,
    order: list[str],
) -> list[str]:
    L: list[str] = []
    used: set[str] = set(hidden)
    groups: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for group, header, keys in columns:
        if any(k in v for v in tab.values() for k in keys):
            groups.setdefault(group, []).append((header, keys))
            for k in keys:
                used.add(k)
                used.add(_Q_POP_PAIRS.get(k, k))
    rest: list[str] = []
    for v in tab.values():
        rest += [
            k for k in v if k not in used and k not in rest and not isinstance(v[k], (dict, list, tuple))
        ]
    if rest:
        groups["other"] = [(k, (k,)) for k in rest]
    for group, cols in groups.items():
        title = f"  {what}: {group}" + (f" ({notes[group]})" if notes.get(group) else "")
        rows = [[n] + [_q_value(tab[n], keys) for _, keys in cols] for n in order]
        L += _split_table(title, [what] + [h for h, _ in cols], rows, width)
    return L


def _weight_range(proj: ProjectionRow, q: Mapping[str, Any]) -> Any:
    """``float range -> integer range`` of a projection (the float side when the lowering recorded a
    scalar weight scale in float units per integer unit)."""
    lo, hi = proj.params.get("weight_min"), proj.params.get("weight_max")
    if lo is None:
        return None
    ints = f"{lo}..{hi}"
    ws, unit = q.get("weight_scale"), str(q.get("weight_scale_unit", ""))
    if isinstance(ws, (int, float)) and not isinstance(ws, bool) and unit.startswith("float"):
        return f"{_fmt(lo * ws)}..{_fmt(hi * ws)} -> {ints}"
    return ints


def _pop_order(r: Report) -> list[str]:
    """Input populations first, then the rest, each in natural order."""
    return [
        p.name for p in sorted(r.populations, key=lambda p: (p.kind not in INPUT_KINDS, natural_key(p.name)))
    ]


def synapse_limit(lim: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The name and value of the limit a core's synapse bytes count against (the placer says which:
    ``limits["synapse_memory_limit"]``; ``synapse_bytes_per_core`` when it does not)."""
    name = lim.get("synapse_memory_limit") or (
        "synapse_bytes_per_core" if "synapse_bytes_per_core" in lim else None
    )
    value = lim.get(name) if name else None
    return (name, int(value)) if isinstance(value, (int, float)) and value else (name, None)


def _findings_text(findings: tuple[Mapping[str, Any], ...]) -> list[str]:
    """Findings grouped by code (:func:`neurocompile.check.group_findings`): one line per code, the
    message once (a template when nodes differ in numbers), then the nodes."""
    from .check import group_findings

    return [line for g in group_findings(findings) for line in g.text_lines(indent="  ")]


def _text(r: Report, max_cores: int, width: int = DEFAULT_WIDTH) -> str:
    pl = r.placement
    c = r.counts
    what = c.text() if c is not None else f"{r.neurons} neurons, {r.synapses} stored synapses"
    L = [f"{r.target} Program{' ' + r.source if r.source else ''}: {what}"]
    if pl.error:
        L.append(f"placement: {pl.source}: {pl.error}")
    else:
        L.append(
            f"placement ({pl.source}): {pl.chips} chip(s), {pl.cores_used} core(s); "
            "per-core figures marked ~ are ESTIMATED"
        )
    if r.io:
        L.append(".npz " + r.io)
    L.append("")
    order = _pop_order(r)
    pops = {p.name: p for p in r.populations}
    L.append("populations (chip integers):")
    L += _table(
        ["name", "kind", "shape", "neurons", "params"],
        [
            [
                n,
                pops[n].kind,
                "x".join(map(str, pops[n].shape)),
                pops[n].neurons,
                " ".join(
                    f"{k}={_fmt(v) if isinstance(v, Mapping) else v}" for k, v in pops[n].params.items()
                ),
            ]
            for n in order
        ],
        right={3},
    )
    projs = sorted(r.projections, key=lambda p: natural_key(p.name))
    L.append("projections (stored: synapse entries the chip stores; non-zero: weight != 0 on chip):")
    L += _table(
        ["name", "pre -> post", "kind", "stored", "non-zero", "weights (int)", "delay"],
        [
            [
                p.name,
                f"{p.pre} -> {p.post}",
                p.kind,
                p.synapses,
                p.nonzero,
                f"{p.params.get('weight_min')}..{p.params.get('weight_max')}",
                p.params.get("delay_max"),
            ]
            for p in projs
        ],
        right={3, 4, 6},
    )
    if not pl.error and pl.cores:
        lim = pl.limits
        lname, lval = synapse_limit(lim)
        shown = [
            f"{k}={lim[k]}"
            for k in (
                "neurons_per_core",
                "synapse_bytes_per_core",
                "cores_per_chip",
                "app_cores_per_chip",
                "dtcm_bytes",
                "sdram_bytes_per_chip",
                "router_entries",
            )
            if lim.get(k) is not None
        ]
        L.append(f"cores (limits: {', '.join(shown)}):")
        if lname:
            L.append(f"  syn_util~ = syn_bytes~ / {lname} ({lval if lval else 'unknown'})")
        cores = sorted(pl.cores, key=lambda c: (int(c["chip"]), int(c["core"])))
        rows = [
            [
                c["chip"],
                c["core"],
                c["population"],
                f"{c['start']}:{c['stop']}",
                c["neurons"],
                c["synapse_bytes"],
                c.get("synapse_memory_utilization"),
            ]
            for c in cores[:max_cores]
        ]
        L += _table(
            ["chip", "core", "population", "slice", "neurons", "syn_bytes~", "syn_util~"],
            rows,
            right={0, 1, 4, 5, 6},
        )
        if len(pl.cores) > max_cores:
            L.append(f"  ... {len(pl.cores) - max_cores} more cores (see --json)")
        L.append("chips:")
        L += _table(
            ["chip", "cores", "neurons", "syn_bytes~", "syn_util~"],
            [
                [c["chip"], c["cores"], c["neurons"], c["synapse_bytes"], c.get("synapse_memory_utilization")]
                for c in pl.per_chip
            ],
            right={0, 1, 2, 3, 4},
        )
    qp, qj = r.quantization.get("populations", {}), r.quantization.get("projections", {})
    if qp or qj:
        units = sorted({str(v["scale_unit"]) for v in qp.values() if "scale_unit" in v})
        L.append(
            "quantization (model units are the NIR graph's: v, threshold, weight; (int) = chip integers; "
            "a -> b = model value -> what the chip achieves):"
        )
        if qp:
            L += _quant_tables(
                "population",
                qp,
                _Q_POP_COLUMNS,
                _Q_POP_HIDDEN,
                {"scale and threshold": "scale: " + "; ".join(units)} if units else {},
                width,
                [n for n in order if n in qp] + sorted((n for n in qp if n not in pops), key=natural_key),
            )
        if qj:
            rows = {p.name: p for p in r.projections}
            tab = {}
            for n, v in qj.items():
                v = dict(v)
                if n in rows:
                    v["__weight_range__"] = _weight_range(rows[n], v)
                    v["__stored__"] = rows[n].synapses
                    if "delay_max" in rows[n].params:
                        v["__delay_max__"] = rows[n].params["delay_max"]
                tab[n] = v
            wunits = sorted({str(v["weight_scale_unit"]) for v in qj.values() if "weight_scale_unit" in v})
            L += _quant_tables(
                "projection",
                tab,
                _Q_PROJ_COLUMNS,
                _Q_PROJ_HIDDEN,
                {"error": "weight_scale: " + "; ".join(wunits)} if wunits else {},
                width,
                sorted(qj, key=natural_key),
            )
    else:
        L.append("quantization: none recorded (Program not produced by compile)")
    a = r.activity
    if a is not None:
        so = a.synaptic_operations
        sp = "-" if a.activation_sparsity is None else f"{a.activation_sparsity:.4f}"
        L.append(
            f"activity ({a.batch} sample(s) x {a.steps} steps): SynOps/step {a.synops_per_step:.4g} "
            f"(Effective_ACs {so['Effective_ACs']:.4g}, Effective_MACs {so['Effective_MACs']:.4g}, "
            f"Dense {so['Dense']:.4g} per sample); activation_sparsity {sp}; "
            f"membrane_updates/step {a.membrane_updates_per_step}; spikes/step {a.spikes_per_step:.4g}"
        )
        unit = a.rate_unit
        L += _table(
            [
                "population",
                "spikes/step",
                f"rate ({'Hz' if unit == 'Hz' else 'per neuron per step'})",
                "sparsity",
            ],
            [
                [
                    n,
                    v["spikes_per_step"],
                    v["rate_hz"] if unit == "Hz" else v["rate"],
                    v["activation_sparsity"],
                ]
                for n, v in sorted(a.populations.items(), key=lambda kv: natural_key(kv[0]))
            ],
        )
        if a.missing:
            L.append(f"  not recorded: {', '.join(sorted(a.missing, key=natural_key))}")
    if r.energy is not None:
        L += r.energy.text_lines()
    if r.findings:
        L.append("findings:")
        L += _findings_text(r.findings)
    L.append(f"learning: {r.learning.get('status', 'configured')}")
    return "\n".join(_wrap(L, width))
