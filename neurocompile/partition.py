"""Target-generic partitioning and placement: populations -> core-sized slices -> cores -> chips.

A target describes its hardware with :class:`CoreLimits` and its synapse-memory cost model as
one :class:`PopulationDemand` per neuron population (bits of synapse memory each neuron needs
on the core that holds it, per incoming projection, plus a fixed per-core header per incoming
projection). This module then

1. **splits** every population into contiguous C-order slices (``start:stop``) so that each
   slice fits one core: at most ``neurons_per_core`` neurons and at most
   ``synapse_bytes_per_core`` bytes of synapse memory (greedy: each slice takes as many
   neurons as fit, so the slice count is the minimum for contiguous slices);
2. **allocates** slices to cores and cores to chips with a pluggable allocator
   (:data:`ALLOCATORS`): ``"sequential"`` packs cores in order, so a population larger than a
   chip simply continues on the next chip; ``"chip_aligned"`` starts a population on a fresh
   chip when it would fit one chip entirely but not the rest of the current one (fewer
   inter-chip spikes, possibly one more chip);
3. raises :class:`~neurocompile.errors.ResourceError` when a network does not fit, naming the
   layer (population and, for memory, the projection that dominates), the resource and by
   how much.

Everything is deterministic: the same demands give the same placement (populations are taken
in the order given, which for a Program is its population order).

Knowingly incomplete (documented for users in ``docs/targets/loihi2-placement.md``):

* one population slice per core: two small populations never share a core (as nengo-loihi's
  allocators); a network of many tiny layers uses more cores than hardware would need;
* synapse memory is an additive per-neuron cost plus a per-(projection, core) header; input-axon
  tables, routing tables and the neuron-state memory beyond the neurons-per-core limit are not
  modelled (their sizes are not public for Loihi 2);
* slices are contiguous index ranges, not a graph partition minimising traffic (no METIS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import ParameterError, ResourceError

__all__ = [
    "CoreLimits",
    "InputDemand",
    "PopulationDemand",
    "Slice",
    "CoreAssignment",
    "Placement",
    "split_population",
    "allocate",
    "place_demands",
    "ALLOCATORS",
]


@dataclass(frozen=True)
class CoreLimits:
    """Per-core and per-chip limits of a target. ``estimated`` names the limits that are
    estimates (reported as such), ``extra`` holds informational limits (e.g. max delay)."""

    neurons_per_core: int
    synapse_bytes_per_core: int
    cores_per_chip: int
    max_chips: int | None = None
    estimated: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("neurons_per_core", "synapse_bytes_per_core", "cores_per_chip"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(
                    f"{name}={v!r} is not a positive integer", parameter=name, expected="an integer >= 1"
                )
        m = self.max_chips
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1):
            raise ParameterError(
                f"max_chips={m!r} is not valid",
                parameter="max_chips",
                expected="None (unlimited) or an integer >= 1",
            )

    def as_dict(self) -> dict[str, Any]:
        d = {
            "neurons_per_core": int(self.neurons_per_core),
            "synapse_bytes_per_core": int(self.synapse_bytes_per_core),
            "cores_per_chip": int(self.cores_per_chip),
            "max_chips": None if self.max_chips is None else int(self.max_chips),
            "estimated": list(self.estimated),
        }
        d.update({k: self.extra[k] for k in sorted(self.extra)})
        return d


@dataclass(frozen=True)
class InputDemand:
    """Synapse memory one incoming projection needs on the cores of its post population.

    ``bits_per_neuron`` is a scalar (every post neuron needs the same, e.g. dense) or an int64
    array of shape (post size,); ``header_bits`` is charged once on every core of the post
    population; ``synapses`` is the number of synapses stored (for reports).
    """

    projection: str
    bits_per_neuron: Any
    header_bits: int
    synapses: int
    encoding: str = ""


@dataclass(frozen=True)
class PopulationDemand:
    """What one neuron population needs: its size and the synapse memory of its inputs."""

    name: str
    size: int
    inputs: tuple[InputDemand, ...] = ()

    def neuron_bits(self) -> np.ndarray | int:
        """Total synapse bits per neuron (array of shape (size,) or a scalar when uniform)."""
        total: Any = 0
        for d in self.inputs:
            b = d.bits_per_neuron
            total = total + (np.asarray(b, dtype=np.int64) if np.ndim(b) else int(b))
        return total

    def header_bits(self) -> int:
        return int(sum(int(d.header_bits) for d in self.inputs))


@dataclass(frozen=True)
class Slice:
    population: str
    start: int
    stop: int
    synapse_bits: int

    @property
    def neurons(self) -> int:
        return self.stop - self.start

    @property
    def synapse_bytes(self) -> int:
        return -(-int(self.synapse_bits) // 8)


@dataclass(frozen=True)
class CoreAssignment:
    chip: int
    core: int
    population: str
    start: int
    stop: int
    neurons: int
    synapse_bytes: int
    estimated: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "chip": self.chip,
            "core": self.core,
            "population": self.population,
            "start": self.start,
            "stop": self.stop,
            "neurons": self.neurons,
            "synapse_bytes": self.synapse_bytes,
            "estimated": self.estimated,
        }


@dataclass(frozen=True)
class Placement:
    """Result of placement; :meth:`as_dict` is the ``Program.placement`` layout."""

    chips: int
    cores_used: int
    cores: tuple[CoreAssignment, ...]
    limits: CoreLimits
    allocator: str
    #: per population: {"cores", "chips", "neurons", "synapse_bytes", "synapses", "spans_chips"}
    populations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: per chip: {"chip", "cores", "neurons", "synapse_bytes"}
    per_chip: tuple[Mapping[str, Any], ...] = ()
    #: target-specific extras (cost model, inter-chip traffic, ...)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = {
            "chips": int(self.chips),
            "cores_used": int(self.cores_used),
            "cores": [c.as_dict() for c in self.cores],
            "limits": self.limits.as_dict(),
            "allocator": self.allocator,
            "populations": {k: dict(v) for k, v in self.populations.items()},
            "per_chip": [dict(c) for c in self.per_chip],
        }
        d.update({k: self.extra[k] for k in sorted(self.extra)})
        return d


# ---------------------------------------------------------------------------------- splitting
def _dominant_input(demand: PopulationDemand, neuron: int) -> tuple[str, int]:
    best, bits = "", -1
    for d in demand.inputs:
        b = int(d.bits_per_neuron[neuron]) if np.ndim(d.bits_per_neuron) else int(d.bits_per_neuron)
        if b > bits:
            best, bits = d.projection, b
    return best, bits


def split_population(demand: PopulationDemand, limits: CoreLimits) -> list[Slice]:
    """Contiguous slices of ``demand`` that each fit one core (greedy, fewest slices).

    Raises :class:`ResourceError` when a single neuron's synapses (plus the per-core headers)
    exceed one core's synapse memory: such a population cannot be split any further.
    """
    n = int(demand.size)
    budget = int(limits.synapse_bytes_per_core) * 8
    header = demand.header_bits()
    per = demand.neuron_bits()
    cap = int(limits.neurons_per_core)
    room = budget - header
    if room < 0:
        raise ResourceError(
            f"population '{demand.name}' has {len(demand.inputs)} incoming projections "
            f"whose per-core headers alone need {-(-header // 8)} bytes of synapse memory, "
            f"over the per-core budget of {limits.synapse_bytes_per_core} bytes "
            f"by {-(-header // 8) - limits.synapse_bytes_per_core} bytes",
            node=demand.name,
            parameter="synapse_bytes_per_core",
            expected=f"<= {limits.synapse_bytes_per_core} bytes per core (ESTIMATED budget)",
        )
    if np.ndim(per) == 0:
        per = int(per)
        if per > room:
            proj, bits = _dominant_input(demand, 0)
            need = -(-(per + header) // 8)
            raise ResourceError(
                f"one neuron of population '{demand.name}' needs {need} bytes of synapse memory "
                f"(largest input: projection '{proj}', {-(-bits // 8)} bytes), over the per-core budget of "
                f"{limits.synapse_bytes_per_core} bytes by {need - limits.synapse_bytes_per_core} bytes; "
                "reduce its fan-in or weight bits, or raise synapse_bytes_per_core",
                node=demand.name,
                parameter="synapse_bytes_per_core",
                expected=f"<= {limits.synapse_bytes_per_core} bytes per core (ESTIMATED budget)",
            )
        k = cap if per == 0 else max(1, min(cap, room // per))
        out = []
        for s in range(0, n, k):
            e = min(n, s + k)
            out.append(Slice(demand.name, s, e, header + per * (e - s)))
        return out
    per = np.asarray(per, dtype=np.int64)
    if per.shape != (n,):
        raise ParameterError(
            f"synapse bits per neuron have shape {per.shape}",
            node=demand.name,
            parameter="bits_per_neuron",
            expected=f"({n},)",
        )
    worst = int(per.argmax()) if n else 0
    if n and int(per[worst]) > room:
        proj, bits = _dominant_input(demand, worst)
        need = -(-(int(per[worst]) + header) // 8)
        raise ResourceError(
            f"neuron {worst} of population '{demand.name}' needs {need} bytes of synapse memory "
            f"(largest input: projection '{proj}', {-(-bits // 8)} bytes), over the per-core budget of "
            f"{limits.synapse_bytes_per_core} bytes by {need - limits.synapse_bytes_per_core} bytes; "
            "reduce its fan-in or weight bits, or raise synapse_bytes_per_core",
            node=demand.name,
            parameter="synapse_bytes_per_core",
            expected=f"<= {limits.synapse_bytes_per_core} bytes per core (ESTIMATED budget)",
        )
    csum = np.concatenate(([0], np.cumsum(per)))
    out = []
    s = 0
    while s < n:
        # largest e with csum[e] - csum[s] <= room, and e - s <= cap
        e = int(np.searchsorted(csum, csum[s] + room, side="right")) - 1
        e = max(s + 1, min(e, s + cap, n))
        out.append(Slice(demand.name, s, e, header + int(csum[e] - csum[s])))
        s = e
    return out


# ---------------------------------------------------------------------------------- allocation
def _sequential(groups: Sequence[list[Slice]], limits: CoreLimits) -> list[tuple[int, int, Slice]]:
    out, g = [], 0
    for slices in groups:
        for sl in slices:
            out.append((g // limits.cores_per_chip, g % limits.cores_per_chip, sl))
            g += 1
    return out


def _chip_aligned(groups: Sequence[list[Slice]], limits: CoreLimits) -> list[tuple[int, int, Slice]]:
    out, g = [], 0
    cpc = limits.cores_per_chip
    for slices in groups:
        used = g % cpc
        if used and len(slices) <= cpc and used + len(slices) > cpc:
            g += cpc - used  # start this population on a fresh chip
        for sl in slices:
            out.append((g // cpc, g % cpc, sl))
            g += 1
    return out


#: name -> allocator(groups of slices per population, limits) -> [(chip, core, slice)]
ALLOCATORS: dict[str, Callable[[Sequence[list[Slice]], CoreLimits], list[tuple[int, int, Slice]]]] = {
    "sequential": _sequential,
    "chip_aligned": _chip_aligned,
}


def allocate(
    groups: Sequence[list[Slice]], limits: CoreLimits, allocator: str = "sequential"
) -> list[CoreAssignment]:
    """Assign slices (grouped per population, in order) to (chip, core); check ``max_chips``."""
    fn = ALLOCATORS.get(allocator)
    if fn is None:
        raise ParameterError(
            f"unknown allocator {allocator!r}",
            parameter="allocator",
            expected=" or ".join(sorted(ALLOCATORS)),
        )
    placed = fn(groups, limits)
    if limits.max_chips is not None and placed and placed[-1][0] + 1 > limits.max_chips:
        avail = limits.max_chips * limits.cores_per_chip
        first = next(sl for chip, core, sl in placed if chip >= limits.max_chips)
        need_cores = (
            len(placed)
            if allocator == "sequential"
            else placed[-1][0] * limits.cores_per_chip + placed[-1][1] + 1
        )
        chips = placed[-1][0] + 1
        raise ResourceError(
            f"the network needs {chips} chips ({need_cores} cores of {limits.cores_per_chip} per chip), "
            f"but max_chips={limits.max_chips} allows {avail} cores: "
            f"over by {chips - limits.max_chips} chip(s) / {need_cores - avail} core(s); "
            f"population '{first.population}' (neurons {first.start}:) is the first that does not fit",
            node=first.population,
            parameter="max_chips",
            expected=f"<= {limits.max_chips} chips of {limits.cores_per_chip} cores",
        )
    return [
        CoreAssignment(
            chip=int(c),
            core=int(k),
            population=sl.population,
            start=int(sl.start),
            stop=int(sl.stop),
            neurons=int(sl.neurons),
            synapse_bytes=int(sl.synapse_bytes),
        )
        for c, k, sl in placed
    ]


def place_demands(
    demands: Sequence[PopulationDemand],
    limits: CoreLimits,
    *,
    allocator: str = "sequential",
    extra: Mapping[str, Any] | None = None,
) -> Placement:
    """Split every population, allocate the slices and summarise per population and chip."""
    groups = [split_population(d, limits) for d in demands]
    cores = allocate(groups, limits, allocator)
    chips = (cores[-1].chip + 1) if cores else 0
    pops: dict[str, dict[str, Any]] = {}
    for d in demands:
        pops[d.name] = {
            "cores": 0,
            "chips": [],
            "neurons": int(d.size),
            "synapse_bytes": 0,
            "synapses": int(sum(int(i.synapses) for i in d.inputs)),
        }
    per_chip = [{"chip": c, "cores": 0, "neurons": 0, "synapse_bytes": 0} for c in range(chips)]
    for c in cores:
        p = pops[c.population]
        p["cores"] += 1
        p["synapse_bytes"] += c.synapse_bytes
        if not p["chips"] or p["chips"][-1] != c.chip:
            p["chips"].append(c.chip)
        pc = per_chip[c.chip]
        pc["cores"] += 1
        pc["neurons"] += c.neurons
        pc["synapse_bytes"] += c.synapse_bytes
    for p in pops.values():
        p["spans_chips"] = len(p["chips"]) > 1
    return Placement(
        chips=chips,
        cores_used=len(cores),
        cores=tuple(cores),
        limits=limits,
        allocator=allocator,
        populations=pops,
        per_chip=tuple(per_chip),
        extra=dict(extra or {}),
    )
