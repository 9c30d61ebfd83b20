"""Modelled energy and latency of a run on its target: operation counts times published figures.

**Modelled, not measured.** Nothing here touches a chip: :func:`count_operations` counts what a
run on the bit-exact emulator made the chip do, and the target's cost model (its ``costs`` hook,
a :class:`CostModel` in ``targets/<chip>/energy.py``) multiplies the counts by per-operation
energies and timings taken from published papers or from the pinned toolchain's own energy
model. Every figure carries its citation, the place it was read, and whether that place could be
checked here (:class:`CostFigure`); ``docs/energy.md`` lists them.

Operation counts (:class:`OperationCounts`, per sample over the run's ``steps`` steps):

* **synaptic operations**: spikes x the fan-out actually delivered, i.e. for every spike of a
  pre neuron (input populations included) the number of its synapses whose effective weight
  (after the target's truncation, the ``effective_weights`` hook) is non-zero. The same count as
  ``report``'s ``Effective_ACs + Effective_MACs``; spikes whose delayed delivery falls after
  the last step are counted too.
* **neuron updates**: every non-input neuron every step (Loihi 2 updates every compartment each
  time step; sPyNNaker's timer callback updates every neuron of its core each tick), split into
  *active* (the neuron spiked in that step) and *inactive*.
* **spike messages**: per spike, one message to every distinct core that holds a non-zero
  synapse of that neuron (``core_messages``), and how many of those cores are on another chip
  than the spiking neuron (``chip_messages``; from the host for input populations whose target
  places them on no core). Cores and chips come from the Program's placement (stored, or the
  target's placer with default limits).
* **learning updates**: for the projections a cost model calls plastic, either every stored
  synapse once per learning epoch (``mode="epoch"``, Loihi's learning engine; an upper bound,
  since the engine may skip synapses whose traces are zero) or the pre neuron's row on every
  pre spike (``mode="pre_spike"``, sPyNNaker's deferred STDP update).

The per-core loads (synaptic operations, active and all neurons, per step) are kept for cost
models whose step time depends on the busiest core (Loihi 2's unthrottled time step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import scipy.sparse as sp

from .errors import InputDataError, NeurocompileError
from .program import Program
from .target import INPUT_KINDS, get_target

__all__ = [
    "MODELLED",
    "CostFigure",
    "CostModel",
    "OperationCounts",
    "EnergyEstimate",
    "count_operations",
    "estimate",
    "cost_model",
    "energy_run",
]

#: the label every modelled figure carries
MODELLED = "modelled, not measured"


@dataclass(frozen=True)
class CostFigure:
    """One published per-operation figure and where it comes from.

    ``chip``: the chip generation the figure was published for (e.g. "Loihi 1", "SpiNNaker 1");
    ``source``: authors, title, venue, year; ``location``: table / section / file and line;
    ``verified``: how it was checked here ("read in ..." with the place, or "unverified here").
    """

    key: str
    value: float
    unit: str
    what: str
    chip: str
    source: str
    location: str
    verified: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "what": self.what,
            "chip": self.chip,
            "source": self.source,
            "location": self.location,
            "verified": self.verified,
            "note": self.note,
        }


@dataclass(frozen=True)
class CostModel:
    """A target's cost model: its figures and the function that turns counts into J and s.

    ``model(program, counts, figures) -> {"energy_j": {...}, "latency_s": {...}, "notes": [...]}``
    (per sample; ``energy_j["total"]`` and ``latency_s["per_sample"]`` required).
    ``plastic_kinds`` / ``learning_mode``: which projection kinds learn and how their updates
    are counted (:func:`count_operations`). ``input_on_cores``: whether input populations occupy
    cores of the placement (SpiNNaker's spike sources) or come from the host (Loihi 2).
    """

    target: str
    chip: str
    figures: tuple[CostFigure, ...]
    model: Callable[..., Mapping[str, Any]]
    plastic_kinds: tuple[str, ...] = ()
    learning_mode: str = "epoch"
    notes: tuple[str, ...] = ()

    def value(self, key: str) -> float:
        for f in self.figures:
            if f.key == key:
                return float(f.value)
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "chip": self.chip,
            "figures": [f.as_dict() for f in self.figures],
            "plastic_kinds": list(self.plastic_kinds),
            "learning_mode": self.learning_mode,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class OperationCounts:
    """What the run made the chip do, per sample (means over the batch) over ``steps`` steps."""

    batch: int
    steps: int
    synaptic_operations: float
    neuron_updates: float
    active_neuron_updates: float
    spikes: float
    input_spikes: float
    core_messages: float
    chip_messages: float
    learning_updates: float
    learning_epochs: float
    neurons: int
    chips: int
    cores_used: int
    per_projection: Mapping[str, float] = field(default_factory=dict)
    placement_source: str = "program"
    #: (batch, steps, cores) synaptic operations landing on each core, and active neurons
    core_synops: Any = None
    core_active: Any = None
    #: (cores,) neurons on each core; (cores,) chip of each core
    core_neurons: Any = None
    core_chip: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "steps": self.steps,
            "per_sample": {
                "synaptic_operations": self.synaptic_operations,
                "neuron_updates": self.neuron_updates,
                "active_neuron_updates": self.active_neuron_updates,
                "spikes": self.spikes,
                "input_spikes": self.input_spikes,
                "core_messages": self.core_messages,
                "chip_messages": self.chip_messages,
                "learning_updates": self.learning_updates,
            },
            "learning_epochs": self.learning_epochs,
            "learning_updates_per_epoch": (
                self.learning_updates / self.learning_epochs if self.learning_epochs else 0.0
            ),
            "neurons": self.neurons,
            "chips": self.chips,
            "cores_used": self.cores_used,
            "placement_source": self.placement_source,
            "synaptic_operations_per_projection": dict(self.per_projection),
        }


@dataclass(frozen=True)
class EnergyEstimate:
    """The modelled energy (J) and latency (s) of a run on the Program's target, with sources."""

    target: str
    chip: str
    counts: OperationCounts
    energy_j: Mapping[str, float]
    latency_s: Mapping[str, float]
    figures: tuple[CostFigure, ...]
    notes: tuple[str, ...] = ()
    label: str = MODELLED

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "target": self.target,
            "chip": self.chip,
            "operations": self.counts.as_dict(),
            "energy_j_per_sample": {k: float(v) for k, v in self.energy_j.items()},
            "latency_s": {k: float(v) for k, v in self.latency_s.items()},
            "figures": [f.as_dict() for f in self.figures],
            "notes": list(self.notes),
        }

    def text_lines(self, indent: str = "  ", width: int = 100) -> list[str]:
        """The text section, each line at most ``width`` columns (continuations indented)."""
        import textwrap

        out = []
        for line in self._lines(indent):
            lead = " " * (len(line) - len(line.lstrip()) + 4)
            out += textwrap.wrap(line, width, subsequent_indent=lead, break_on_hyphens=False) or [line]
        return out

    def _lines(self, indent: str) -> list[str]:
        c, e, t = self.counts, self.energy_j, self.latency_s
        parts = ", ".join(f"{k} {_si(v, 'J')}" for k, v in e.items() if k != "total")
        lines = [
            f"energy and latency on {self.chip} ({self.label.upper()}; figures and sources in "
            "docs/energy.md and --json 'energy.figures'):",
            f"{indent}per sample ({c.steps} steps): energy {_si(e['total'], 'J')} ({parts})",
            f"{indent}latency: {_si(t['per_step_mean'], 's')} per step (max {_si(t['per_step_max'], 's')}), "
            f"{_si(t['per_sample'], 's')} per sample",
            f"{indent}operations per sample: synaptic {c.synaptic_operations:.4g}, neuron updates "
            f"{c.neuron_updates:.4g} ({c.active_neuron_updates:.4g} active), spike messages to cores "
            f"{c.core_messages:.4g} ({c.chip_messages:.4g} to other chips or from the host)"
            + (f", learning updates {c.learning_updates:.4g}" if c.learning_updates else ""),
        ]
        lines += [f"{indent}note: {n}" for n in self.notes]
        return lines


def _si(x: float, unit: str) -> str:
    x = float(x)
    if x == 0:
        return f"0{unit}"
    for p, s in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(x) >= p:
            return f"{x / p:.4g}{s}{unit}"  # no space: a wrapped line keeps a value with its unit
    return f"{x:.3g}{unit}"


# ------------------------------------------------------------------------------ counting
def _spikes(program: Program, run: Any, name: str) -> np.ndarray | None:
    rec = getattr(run, "recordings", {}) or {}
    if f"{name}.spikes" in rec:
        return np.asarray(rec[f"{name}.spikes"])
    for key, o in program.outputs.items():
        if o.population == name and o.observable == "spikes" and key in run.outputs:
            return np.asarray(run.outputs[key])
    return None


def _placement(program: Program) -> tuple[dict[str, Any], str]:
    if program.placement:
        return program.placement, "program"
    placer = get_target(program.target).hook("place")
    if placer is None:
        return {}, "none"
    return placer(program, write=False).as_dict(), "computed"


def _synapses(program: Program, proj, weights_fn) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) index arrays of the synapses with a non-zero effective weight."""
    w = np.asarray(weights_fn(proj) if weights_fn else proj.params["weights"])
    if "pre" in proj.params:
        pre = np.asarray(proj.params["pre"]).ravel().astype(np.int64)
        post = np.asarray(proj.params["post"]).ravel().astype(np.int64)
        nz = w.ravel() != 0
        return pre[nz], post[nz]
    post, pre = np.nonzero(w.reshape(program.populations[proj.post].size, -1))
    return pre.astype(np.int64), post.astype(np.int64)


def _per_core(s: np.ndarray, pre: np.ndarray, core: np.ndarray, n_cores: int) -> np.ndarray:
    """(batch, steps, n_cores): per step, the spikes of ``s`` (batch, steps, n_pre) summed over the
    (pre, core) pairs given (one pair per synapse: a pre neuron's spike counts once per synapse)."""
    b, t, n_pre = s.shape
    m = sp.csr_matrix((np.ones(pre.size), (pre, core)), shape=(n_pre, n_cores))
    return np.asarray((m.T @ s.reshape(b * t, n_pre).T).T).reshape(b, t, n_cores)


def count_operations(program: Program, run: Any, costs: CostModel | None = None) -> OperationCounts:
    """The operation counts of ``run`` (a RunResult of ``program`` with ``POP.spikes`` recorded for
    every population; see :func:`energy_run`). ``costs`` says which projections learn and how."""
    target = get_target(program.target)
    weights_fn = target.hook("effective_weights")
    spikes: dict[str, np.ndarray] = {}
    for pop in program.populations.values():
        s = _spikes(program, run, pop.name)
        if s is not None:
            spikes[pop.name] = (np.asarray(s).reshape(s.shape[0], s.shape[1], -1) != 0).astype(np.float64)
    missing = [p for p in program.populations if p not in spikes]
    if missing or not spikes:
        raise InputDataError(
            f"the run recorded no spikes of population '{missing[0] if missing else '?'}'; the "
            "energy model needs POP.spikes of every population (neurocompile.energy.energy_run records them)",
            node=missing[0] if missing else None,
            parameter="run",
            expected="recordings 'POP.spikes' of every population",
        )
    batch, steps = next(iter(spikes.values())).shape[:2]
    pl, source = _placement(program)
    cores = sorted(pl.get("cores", []), key=lambda c: (int(c["chip"]), int(c["core"])))
    cores = [c for c in cores if c.get("kind", "population") == "population" and c.get("population")]
    n_cores = max(1, len(cores))
    core_of = {n: np.full(p.size, -1, np.int64) for n, p in program.populations.items()}
    core_chip = np.zeros(n_cores, np.int64)
    core_neurons = np.zeros(n_cores, np.int64)
    for i, c in enumerate(cores):
        core_of[c["population"]][int(c["start"]) : int(c["stop"])] = i
        core_chip[i] = int(c["chip"])
        if program.populations[c["population"]].kind not in INPUT_KINDS:
            core_neurons[i] = int(c["stop"]) - int(c["start"])
    neuron_core = {n: np.maximum(a, 0) for n, a in core_of.items()}  # unplaced -> core 0 (no placement)

    synops = np.zeros((batch, steps, n_cores))
    per_proj: dict[str, float] = {}
    dest: dict[str, list[np.ndarray]] = {}  # pre population -> codes pre * n_cores + core of its synapses
    plastic = set(costs.plastic_kinds) if costs is not None else set()
    learning_updates = 0.0
    epochs = 0.0
    for proj in program.projections.values():
        pre, post = _synapses(program, proj, weights_fn)
        n_pre = program.populations[proj.pre].size
        pc = neuron_core[proj.post][post] if post.size else post
        load = _per_core(spikes[proj.pre], pre, pc, n_cores)
        synops += load
        per_proj[proj.name] = float(load.sum()) / batch
        dest.setdefault(proj.pre, []).append(np.unique(pre * n_cores + pc))
        if proj.kind in plastic:
            stored = int(np.size(proj.params["pre"] if "pre" in proj.params else proj.params["weights"]))
            if costs is not None and costs.learning_mode == "pre_spike":
                row = np.bincount(np.asarray(proj.params["pre"]).ravel().astype(np.int64), minlength=n_pre)
                learning_updates += float((spikes[proj.pre].sum(axis=(0, 1)) * row).sum()) / batch
            else:
                t_epoch = max(1, int(np.asarray(proj.params.get("t_epoch", 1)).ravel()[0]))
                n_ep = steps // t_epoch
                epochs = max(epochs, float(n_ep))
                learning_updates += float(stored * n_ep)
    core_messages = chip_messages = 0.0
    n_chips = int(core_chip.max()) + 1
    for name, codes in dest.items():
        n_pre = program.populations[name].size
        counts = spikes[name].sum(axis=(0, 1))  # spikes per neuron over batch and steps
        pairs = np.unique(np.concatenate(codes))  # distinct (pre neuron, destination core)
        pre_of, core_to = pairs // n_cores, pairs % n_cores
        core_messages += float((counts * np.bincount(pre_of, minlength=n_pre)).sum())
        src_chip = np.where(core_of[name] >= 0, core_chip[neuron_core[name]], -1)
        chip_pairs = np.unique(pre_of * n_chips + core_chip[core_to])  # distinct (pre, destination chip)
        pre_c, chip_c = chip_pairs // n_chips, chip_pairs % n_chips
        other = np.bincount(pre_c[chip_c != src_chip[pre_c]], minlength=n_pre)
        chip_messages += float((counts * other).sum())
    core_active = np.zeros((batch, steps, n_cores))
    n_updates = active_updates = spikes_total = input_spikes = 0.0
    neurons = 0
    for name, s in spikes.items():
        pop = program.populations[name]
        total = float(s.sum())
        if pop.kind in INPUT_KINDS:
            input_spikes += total
            continue
        neurons += pop.size
        spikes_total += total
        active_updates += total
        n_updates += float(batch * steps * pop.size)
        core_active += _per_core(s, np.arange(pop.size), neuron_core[name], n_cores)
    return OperationCounts(
        batch=int(batch),
        steps=int(steps),
        synaptic_operations=float(synops.sum()) / batch,
        neuron_updates=n_updates / batch,
        active_neuron_updates=active_updates / batch,
        spikes=spikes_total / batch,
        input_spikes=input_spikes / batch,
        core_messages=core_messages / batch,
        chip_messages=chip_messages / batch,
        learning_updates=learning_updates,
        learning_epochs=epochs,
        neurons=int(neurons),
        chips=int(pl.get("chips", 0) or (1 if cores else 0)),
        cores_used=int(pl.get("cores_used", len(cores))),
        per_projection=per_proj,
        placement_source=source,
        core_synops=synops,
        core_active=core_active,
        core_neurons=core_neurons,
        core_chip=core_chip,
    )


# ------------------------------------------------------------------------------ estimating
def cost_model(program_or_target: Any) -> CostModel | None:
    """The :class:`CostModel` of a Program's target (or a target name); ``None`` when it has none."""
    name = program_or_target if isinstance(program_or_target, str) else program_or_target.target
    try:
        target = get_target(name)
    except NeurocompileError:
        return None
    hook = target.hook("costs")
    return hook if hook is None or isinstance(hook, CostModel) else hook()


def estimate(program: Program, run: Any) -> EnergyEstimate | None:
    """The modelled energy and latency of ``run`` on ``program``'s target (``None`` when the target
    has no cost model). ``run`` needs ``POP.spikes`` of every population (:func:`energy_run`)."""
    costs = cost_model(program)
    if costs is None:
        return None
    counts = count_operations(program, run, costs)
    out = costs.model(program, counts, costs)
    return EnergyEstimate(
        target=program.target,
        chip=costs.chip,
        counts=counts,
        energy_j=dict(out["energy_j"]),
        latency_s=dict(out["latency_s"]),
        figures=costs.figures,
        notes=tuple(costs.notes) + tuple(out.get("notes", ())),
    )


def energy_run(program: Program, inputs: Mapping[str, np.ndarray], backend: str = "emulator"):
    """Run ``program`` recording the spikes of every population (what :func:`estimate` needs)."""
    import warnings

    record = [(p.name, "spikes") for p in program.populations.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return program.run(inputs, backend=backend, record=record)
