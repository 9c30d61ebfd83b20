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
* **target**: the target's own ``report_section`` (e.g. the Loihi 2 cost model).

Knowingly approximate: SynOps count a spike once when it is emitted, also for delayed synapses
whose delivery falls after the last step; a readout population (read only as ``v``/``u`` and
projecting nowhere) is left out of the activation sparsity, since its spikes are not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import InputDataError, NeurocompileError
from .jsonable import jsonable
from .program import Program
from .summary import io_line, program_ports
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
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
        }

    def to_text(self, max_cores: int = 40) -> str:
        return _text(self, max_cores)


# ------------------------------------------------------------------------------ building
_POP_PARAM_KEYS = ("du", "dv", "vth", "num_message_bits", "reset_interval", "reset_offset")


def _pop_rows(program: Program) -> tuple[PopulationRow, ...]:
    rows = []
    for p in program.populations.values():
        params = {k: _plain(p.params[k]) for k in _POP_PARAM_KEYS if k in p.params}
        if "bias_mant" in p.params:
            bias = np.asarray(p.params["bias_mant"]).astype(np.int64) << np.asarray(
                p.params["bias_exp"]
            ).astype(np.int64)
            params["bias_min"] = int(bias.min()) if bias.size else 0
            params["bias_max"] = int(bias.max()) if bias.size else 0
        rows.append(PopulationRow(p.name, p.kind, tuple(int(s) for s in p.shape), int(p.size), params))
    return tuple(rows)


def _n_synapses(program: Program, proj) -> int:
    if "pre" in proj.params:
        return int(np.size(proj.params["pre"]))
    w = proj.params.get("weights")
    return int(np.size(w)) if w is not None else 0


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
    spc = lim.get("synapse_bytes_per_core")
    cores = []
    for c in pl.get("cores", []):
        c = dict(c)
        if npc:
            c["neuron_utilization"] = round(c["neurons"] / npc, 4)
        if spc:
            c["synapse_memory_utilization"] = round(c["synapse_bytes"] / spc, 4)
        cores.append(c)
    per_chip = list(pl.get("per_chip", []))
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
    )


# ------------------------------------------------------------------------------ text
def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    def f(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return "-" if v is None else str(v)

    cells = [[f(v) for v in r] for r in rows]
    w = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(headers)).rstrip()]
    out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    return ["  " + line for line in out]


def _text(r: Report, max_cores: int) -> str:
    pl = r.placement
    L = [
        f"{r.target} Program{' ' + r.source if r.source else ''}: {r.neurons} neurons, {r.synapses} synapses"
    ]
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
    L.append("populations:")
    L += _table(
        ["name", "kind", "shape", "neurons", "params"],
        [
            [
                p.name,
                p.kind,
                "x".join(map(str, p.shape)),
                p.neurons,
                " ".join(f"{k}={v}" for k, v in p.params.items()),
            ]
            for p in r.populations
        ],
    )
    L.append("projections:")
    L += _table(
        ["name", "kind", "synapses", "nonzero", "params"],
        [
            [p.name, p.kind, p.synapses, p.nonzero, " ".join(f"{k}={v}" for k, v in p.params.items())]
            for p in r.projections
        ],
    )
    if not pl.error and pl.cores:
        lim = pl.limits
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
            for c in pl.cores[:max_cores]
        ]
        L += _table(["chip", "core", "population", "slice", "neurons", "syn_bytes~", "syn_util~"], rows)
        if len(pl.cores) > max_cores:
            L.append(f"  ... {len(pl.cores) - max_cores} more cores (see --json)")
        L.append("chips:")
        L += _table(
            ["chip", "cores", "neurons", "syn_bytes~"],
            [[c["chip"], c["cores"], c["neurons"], c["synapse_bytes"]] for c in pl.per_chip],
        )
    qp, qj = r.quantization.get("populations", {}), r.quantization.get("projections", {})
    if qp or qj:
        L.append("quantization:")
        for title, tab in (("population", qp), ("projection", qj)):
            keys: list[str] = []
            for v in tab.values():
                keys += [k for k in v if k not in keys and not isinstance(v[k], (dict, list))]
            if tab:
                L += _table([title] + keys, [[n] + [_plain(v.get(k)) for k in keys] for n, v in tab.items()])
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
        L += _table(
            ["population", "spikes/step", "rate", "sparsity"],
            [
                [n, v["spikes_per_step"], v["rate"], v["activation_sparsity"]]
                for n, v in a.populations.items()
            ],
        )
        if a.missing:
            L.append(f"  not recorded: {', '.join(a.missing)}")
    if r.findings:
        L.append("findings:")
        L += [
            f"  {f.get('severity')} {f.get('code')} {f.get('node') or '-'}: {f.get('message')}"
            for f in r.findings
        ]
    L.append(f"learning: {r.learning.get('status', 'configured')}")
    return "\n".join(L)
