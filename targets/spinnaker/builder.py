"""``SpiNNakerBuilder``: assemble a validated ``spinnaker`` Program, quantizing weights as sPyNNaker does.

Usage::

    b = SpiNNakerBuilder(tick_ms=1.0)
    b.spike_source("in", 4)
    b.if_curr_exp("lif", 8, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0)
    b.from_list("in", "lif", pre=[0, 1], post=[0, 1], weights=[5.0, 3.0], delays=[1, 2])
    prog = b.build({"out": ("lif", "spikes")})

Weights are given either as floats in nA (``weights=``; magnitudes, or all <= 0: the sign comes
from ``receptor`` as on sPyNNaker's host path, which takes ``abs`` of a single-signed list), or
as the on-chip integers (``w16=``), which need the post population's ``ring_buffer_shifts``.

Ring-buffer shifts (``docs/reference/spinnaker.md`` §2.3): when a population does not pin them, the
builder computes them with :func:`host_ring_buffer_shifts`, a port of sPyNNaker 7.4.1's
``PopulationVertex.get_ring_buffer_shifts`` for FromList projections from spike sources or
populations (neither implements ``AbstractMaxSpikes``, so the default 30 spikes/s and one spike
per tick apply) with the default ``ring_buffer_sigma = 5``. Then ``w16 = rint(|w| * 2**(15 -
shift))``; values above 0xFFFF (possible only when shifts are pinned too low) are clipped and
counted (sPyNNaker's host would wrap them with ``& 0xFFFF``). The Program pins the shifts in PyNN
through ``max_expected_summed_weight = spec.pinning_weight(shift)`` per receptor, so sPyNNaker
derives exactly these integers again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from neurocompile.errors import GraphError, ParameterError, RangeError
from neurocompile.program import Population, Program, Projection, output_specs
from neurocompile.schema import unique_projection_name

from . import spec
from .schema import check_float, validate_population, validate_program, validate_projection


# ----------------------------------------------------------------------- the host's shift rule
class _RunningStats:
    """sPyNNaker's ``RunningStats`` (Welford / Chan merge of (mean, variance, n) summaries)."""

    def __init__(self) -> None:
        self.mean = 0.0
        self.mean_2 = 0.0
        self.n_items = 0

    def add_items(self, mean: float, variance: float, n_items: int) -> None:
        if n_items > 0:
            new_n = self.n_items + n_items
            mean_2 = variance * (n_items - 1.0)
            delta = mean - self.mean
            new_mean = ((self.n_items * self.mean) + (n_items * mean)) / new_n
            self.mean_2 = self.mean_2 + mean_2 + (delta * delta * self.n_items * n_items) / new_n
            self.n_items = new_n
            self.mean = new_mean

    @property
    def variance(self) -> float:
        return 0.0 if self.n_items <= 1 else self.mean_2 / (self.n_items - 1.0)


def _gamma_terms(a: float, x: float) -> tuple[float, float]:
    """(gammaln(a), gammaincc(a, x)); scipy.special when importable (what sPyNNaker uses)."""
    try:
        from scipy import special  # optional: only the statistical branch with weight spread needs it

        return float(special.gammaln(a)), float(special.gammaincc(a, x))
    except ImportError:  # pragma: no cover - fallback for environments without scipy
        lg = math.lgamma(a)
        # regularized lower incomplete gamma by its series (a is a small positive integer + 1 here)
        term = total = 1.0 / a
        k = 1
        while abs(term) > 1e-17 * abs(total) and k < 10000:
            term *= x / (a + k)
            total += term
            k += 1
        p = math.exp(-x + a * math.log(x) - lg) * total if x > 0 else 0.0
        return lg, 1.0 - p


def expected_upper_bound(
    weight_mean: float,
    weight_std_dev: float,
    spikes_per_second: float,
    n_synapses_in: int,
    sigma: float,
    steps_per_second: float,
) -> float:
    """``PopulationVertex._ring_buffer_expected_upper_bound`` (population_vertex.py L1954-2024)."""
    avg = float(n_synapses_in * spikes_per_second) / steps_per_second
    poisson_variance = avg * (weight_mean**2)
    upper_bound = int(round(avg + spec.POISSON_SIGMA_SUMMATION_LIMIT * math.sqrt(avg)))
    weight_variance = 0.0
    if weight_std_dev > 0:
        lngamma, gammai = _gamma_terms(1 + upper_bound, avg)
        big_ratio = math.log(avg) * upper_bound - lngamma
        if -701.0 < big_ratio < 701.0 and big_ratio != 0.0:
            log_weight_variance = (
                -avg
                + math.log(avg)
                + 2.0 * math.log(weight_std_dev)
                + math.log(math.exp(avg) * gammai - math.exp(big_ratio))
            )
            weight_variance = math.exp(log_weight_variance)
    return (avg * weight_mean) + (sigma * math.sqrt(poisson_variance + weight_variance))


def shifts_from_max_weights(max_weights: Sequence[float]) -> list[int]:
    """``get_ring_buffer_shifts``' last step: ``ceil(log2 w)`` (0 for w <= 0), plus one when 2**p <= w."""
    out = []
    for w in max_weights:
        p = 0 if w <= 0 else int(math.ceil(max(0, math.log2(w))))
        out.append(p + 1 if (2**p) <= w else p)
    return out


@dataclass(frozen=True)
class HostShifts:
    """Result of :func:`host_ring_buffer_shifts`: the shifts and the summed-weight bounds behind them."""

    shifts: tuple[int, ...]
    max_weights: tuple[float, ...]
    #: per receptor: "delay variance 0: max(total, biggest)" or "statistical" (the sigma bound)
    rule: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"shifts": list(self.shifts), "max_weights": list(self.max_weights), "rule": list(self.rule)}


def host_ring_buffer_shifts(
    projections: Iterable[tuple[str, Any, Any, Any]],
    *,
    tick_ms: float,
    spikes_per_second: float = spec.SPIKES_PER_SECOND,
    ring_buffer_sigma: float = spec.RING_BUFFER_SIGMA,
) -> HostShifts:
    """The ring-buffer shifts sPyNNaker 7.4.1's host computes for one post population.

    ``projections``: every FromList projection into the population as ``(receptor, post_idx,
    weights, delays_ticks)`` with the float PyNN weights written to the connection list (signed
    or magnitudes; the host uses ``abs``) and integer delays in ticks (the list holds
    ``delay_ticks * tick_ms`` ms, which the host rounds to ``rint(d * per_ms) * dt_ms``).
    Empty projections are skipped (sPyNNaker cannot take an empty FromList).
    A pure function of its arguments, so H8's virtual-board tests can compare it with
    ``pop._vertex.get_ring_buffer_shifts()`` of an unpinned population.
    """
    us = int(round(float(tick_ms) * 1000))
    dt_ms = us / 1000.0
    per_ms = 1000.0 / us
    per_s = 1000000.0 / us
    w_scale = spec.GLOBAL_WEIGHT_SCALE_CURRENT
    n = spec.N_SYNAPSE_TYPES
    running = [_RunningStats() for _ in range(n)]
    delay_running = [_RunningStats() for _ in range(n)]
    rates = [_RunningStats() for _ in range(n)]
    total = np.zeros(n)
    biggest = np.zeros(n, dtype=np.double)
    spikes_per_tick = max(1.0, spikes_per_second / per_s)
    for item in projections:
        receptor, post_idx, weights, delays = item[:4]
        # STDP (5th element): get_weight_maximum = max(max |w|, weight dependence w_max)
        plastic_w_max = float(item[4]) if len(item) > 4 else 0.0
        s = spec.SYNAPSE_TYPES.index(receptor)
        post_idx = np.asarray(post_idx).reshape(-1)
        if post_idx.size == 0:
            continue
        w = np.abs(np.asarray(weights, dtype=np.float64).reshape(-1))
        d_ms = np.asarray(delays, dtype=np.float64).reshape(-1) * float(tick_ms)
        d_ms = np.rint(d_ms * per_ms) * dt_ms
        n_conns = int(np.max(np.bincount(post_idx.astype(np.int64))))
        w_mean, w_var, w_max = float(np.mean(w)), float(np.var(w)), max(float(np.amax(w)), plastic_w_max)
        d_var = float(np.var(d_ms))
        running[s].add_items(w_mean * w_scale, w_var * w_scale**2, n_conns)
        biggest[s] = max(biggest[s], w_max * w_scale)
        delay_running[s].add_items(0.0, d_var, n_conns)
        rates[s].add_items(spikes_per_second, 0, n_conns)
        total[s] += spikes_per_tick * (w_max * n_conns)
    max_w, rule = [], []
    for s in range(n):
        if delay_running[s].variance == 0.0:
            max_w.append(float(max(total[s], biggest[s])))
            rule.append("delay variance 0: max(total, biggest)")
        else:
            st = running[s]
            bound = expected_upper_bound(
                st.mean, math.sqrt(st.variance), rates[s].mean, st.n_items, ring_buffer_sigma, per_s
            )
            max_w.append(float(max(min(bound, total[s]), biggest[s])))
            rule.append("statistical")
    return HostShifts(tuple(shifts_from_max_weights(max_w)), tuple(max_w), tuple(rule))


def quantize_weights(weights: Any, shift: int) -> tuple[np.ndarray, dict[str, float]]:
    """sPyNNaker's host weight path, ``rint(|w| * weight_scale)``, clipped to 0..0xFFFF (counted).

    Returns ``(w16 int64, stats)`` with the fraction clipped, the fraction of nonzero weights
    rounded to zero and the RMS relative rounding error of the nonzero weights."""
    w = np.abs(np.asarray(weights, dtype=np.float64).reshape(-1))
    scale = spec.weight_scale(shift)
    q = np.rint(w * scale)
    clipped = q > spec.W16_MAX
    q = np.minimum(q, spec.W16_MAX).astype(np.int64)
    nz = w > 0
    back = q / scale
    rel = np.abs(back[nz] - w[nz]) / w[nz] if nz.any() else np.zeros(0)
    stats = {
        "weight_scale": scale,
        "ring_buffer_shift": int(shift),
        "fraction_clipped": float(clipped.mean()) if w.size else 0.0,
        "fraction_zeroed": float(((q == 0) & nz).sum() / max(int(nz.sum()), 1)),
        "rms_relative_error": float(np.sqrt(np.mean(rel**2))) if rel.size else 0.0,
    }
    return q, stats


# ----------------------------------------------------------------------- builder
def _shape(size: int | tuple[int, ...], name: str) -> tuple[int, ...]:
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if not shape or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1 for s in shape):
        raise ParameterError(
            f"population shape {size!r} is not valid",
            node=name,
            parameter="shape",
            expected="a positive integer or a tuple of them",
        )
    return tuple(int(s) for s in shape)


def _index_array(value: Any, node: str, field: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    arr = arr.reshape(-1)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.number) or not np.all(arr == np.round(arr)):
            raise ParameterError(
                f"{field} must be integers", node=node, parameter=field, expected="integer indices"
            )
    return arr.astype(np.int64)


class SpiNNakerBuilder:
    """Accumulates populations and FromList projections; :meth:`build` returns a validated Program."""

    def __init__(self, tick_ms: float = 1.0) -> None:
        self.tick_ms = check_float(tick_ms, what="builder", node="semantics", field="tick_ms", positive=True)
        self._pops: dict[str, Population] = {}
        self._projs: dict[str, Projection] = {}
        self._float_w: dict[str, np.ndarray] = {}  # projection -> float magnitudes awaiting a shift
        self._inputs: dict[str, str] = {}
        self._pinned: dict[str, bool] = {}
        self._stdp: dict[str, tuple[Any, float]] = {}  # stdp projection -> (block or rule, weight_scale)

    # ------------------------------------------------------------------ populations
    def _add_pop(self, pop: Population) -> Population:
        if pop.name in self._pops:
            raise GraphError(
                "a population of this name exists already",
                node=pop.name,
                parameter="name",
                expected="a unique population name",
            )
        self._pops[pop.name] = pop
        return pop

    def spike_source(self, name: str, size: int | tuple[int, ...], *, key: str | None = None) -> Population:
        """A PyNN ``SpikeSourceArray`` fed from the run data under ``key`` (default ``name``).

        0/1 per tick.
        """
        key = name if key is None else str(key)
        if key in self._inputs:
            raise GraphError(
                f"data key '{key}' already feeds population '{self._inputs[key]}'",
                node=name,
                parameter="key",
                expected="a unique input key",
            )
        pop = self._add_pop(Population(name, "spike_source", _shape(size, name), {}))
        self._inputs[key] = name
        return pop

    def _neuron(
        self, kind: str, name: str, size, params: dict[str, Any], ring_buffer_shifts, neurons_per_core
    ):
        shape = _shape(size, name)
        n = int(np.prod(shape))
        p: dict[str, Any] = {}
        for f in spec.NEURON_SCALAR_PARAMS[kind]:
            v = params.get(f)
            if v is not None and not isinstance(v, (bool, str)) and np.ndim(v) > 0:
                # one value per neuron (the schema checks the shape and every value)
                p[f] = np.asarray(v).reshape(-1) if np.ndim(v) > 1 else np.asarray(v)
                if np.issubdtype(p[f].dtype, np.number) and p[f].dtype != np.bool_:
                    p[f] = p[f].astype(np.float64)
                continue
            p[f] = float(spec.PYNN_DEFAULTS[f] if v is None else v) if not isinstance(v, (bool, str)) else v
        for f in spec.NEURON_ARRAY_PARAMS:
            v = params.get(f)
            if v is None:
                v = p["v_rest"] if f == "v_init" else spec.PYNN_DEFAULTS[f]
            arr = np.asarray(v, dtype=np.float64)
            try:
                p[f] = np.ascontiguousarray(np.broadcast_to(arr.reshape(-1) if arr.ndim > 1 else arr, (n,)))
            except ValueError:
                raise ParameterError(
                    f"{f} has shape {arr.shape}", node=name, parameter=f, expected=f"a scalar or {n} values"
                ) from None
        self._pinned[name] = ring_buffer_shifts is not None
        p["ring_buffer_shifts"] = (
            [int(s) for s in ring_buffer_shifts]
            if ring_buffer_shifts is not None
            else [0] * spec.N_SYNAPSE_TYPES
        )
        p["neurons_per_core"] = int(spec.NEURONS_PER_CORE if neurons_per_core is None else neurons_per_core)
        pop = Population(name, kind, shape, p)
        validate_population(pop, self.tick_ms)
        return self._add_pop(pop)

    def if_curr_exp(
        self,
        name: str,
        size: int | tuple[int, ...],
        *,
        cm: float | None = None,
        tau_m: float | None = None,
        v_rest: float | None = None,
        v_reset: float | None = None,
        v_thresh: float | None = None,
        tau_refrac: float | None = None,
        tau_syn_E: float | None = None,
        tau_syn_I: float | None = None,
        i_offset: Any = None,
        v_init: Any = None,
        ring_buffer_shifts: Sequence[int] | None = None,
        neurons_per_core: int | None = None,
    ) -> Population:
        """A PyNN ``IF_curr_exp`` population (PyNN units and defaults; ``v_init`` defaults to ``v_rest``).
        ``ring_buffer_shifts=None``: computed at :meth:`build` as sPyNNaker's host would."""
        return self._neuron(
            "if_curr_exp",
            name,
            size,
            dict(
                cm=cm,
                tau_m=tau_m,
                v_rest=v_rest,
                v_reset=v_reset,
                v_thresh=v_thresh,
                tau_refrac=tau_refrac,
                tau_syn_E=tau_syn_E,
                tau_syn_I=tau_syn_I,
                i_offset=i_offset,
                v_init=v_init,
            ),
            ring_buffer_shifts,
            neurons_per_core,
        )

    def if_curr_delta(
        self,
        name: str,
        size: int | tuple[int, ...],
        *,
        cm: float | None = None,
        tau_m: float | None = None,
        v_rest: float | None = None,
        v_reset: float | None = None,
        v_thresh: float | None = None,
        tau_refrac: float | None = None,
        i_offset: Any = None,
        v_init: Any = None,
        ring_buffer_shifts: Sequence[int] | None = None,
        neurons_per_core: int | None = None,
    ) -> Population:
        """A PyNN ``IF_curr_delta`` population (a weight-w spike adds w nA for one tick; see the emulator)."""
        return self._neuron(
            "if_curr_delta",
            name,
            size,
            dict(
                cm=cm,
                tau_m=tau_m,
                v_rest=v_rest,
                v_reset=v_reset,
                v_thresh=v_thresh,
                tau_refrac=tau_refrac,
                i_offset=i_offset,
                v_init=v_init,
            ),
            ring_buffer_shifts,
            neurons_per_core,
        )

    # ------------------------------------------------------------------ projections
    def _name(self, pre: str, post: str, receptor: str, name: str | None) -> str:
        return unique_projection_name(self._projs, f"{pre}->{post}:{receptor[:3]}", name)

    def from_list(
        self,
        pre: str,
        post: str,
        *,
        pre_idx: Any,
        post_idx: Any,
        weights: Any = None,
        w16: Any = None,
        delays: Any = 1,
        receptor: str = "excitatory",
        name: str | None = None,
    ) -> Projection:
        """A ``FromListConnector`` projection: one synapse per ``(pre_idx[i], post_idx[i])`` (flat C-order
        indices), delay in ticks (>= 1; scalar broadcasts), weight as float nA (``weights``) or as the
        on-chip integer (``w16``). Duplicated pairs are separate synapses (their inputs add)."""
        name = self._name(pre, post, str(receptor), name)
        for end, role in ((pre, "pre"), (post, "post")):
            if end not in self._pops:
                raise GraphError(
                    f"projection {role} population '{end}' does not exist (add it first)",
                    node=name,
                    parameter=role,
                    expected="one of " + ", ".join(sorted(self._pops)),
                )
        if receptor not in spec.SYNAPSE_TYPES:
            raise ParameterError(
                f"receptor {receptor!r} is not known",
                node=name,
                parameter="receptor",
                expected=" or ".join(spec.SYNAPSE_TYPES),
            )
        pi = _index_array(pre_idx, name, "pre")
        qi = _index_array(post_idx, name, "post")
        m = pi.size
        if qi.size != m:
            raise ParameterError(
                f"pre_idx has {m} entries, post_idx {qi.size}",
                node=name,
                parameter="post",
                expected="index arrays of equal length",
            )
        d = np.asarray(delays)
        if d.size and (not np.issubdtype(d.dtype, np.number) or not np.all(d == np.round(d))):
            raise ParameterError(
                "delays must be whole ticks",
                node=name,
                parameter="delays",
                expected=f"integers >= {spec.DELAY_MIN_TICKS}",
            )
        try:
            d = np.ascontiguousarray(
                np.broadcast_to(d.astype(np.int64).reshape(-1) if d.ndim else d.astype(np.int64), (m,))
            )
        except ValueError:
            raise ParameterError(
                f"delays has shape {d.shape}",
                node=name,
                parameter="delays",
                expected=f"a scalar or {m} values",
            ) from None
        if (weights is None) == (w16 is None):
            raise ParameterError(
                "give exactly one of weights (float nA) or w16 (on-chip integers)",
                node=name,
                parameter="weights",
                expected="weights=... or w16=...",
            )
        params = {"pre": pi, "post": qi, "delays": d, "receptor": receptor}
        if w16 is not None:
            if not self._pinned.get(post, False):
                raise ParameterError(
                    "w16 given but the post population's ring_buffer_shifts are not pinned",
                    node=name,
                    parameter="w16",
                    expected=f"ring_buffer_shifts=[exc, inh] on population '{post}'",
                )
            params["w16"] = _index_array(w16, name, "w16")
            if params["w16"].size != m:
                raise ParameterError(
                    f"w16 has {params['w16'].size} entries",
                    node=name,
                    parameter="w16",
                    expected=f"{m} values",
                )
        else:
            w = np.asarray(weights, dtype=np.float64)
            try:
                w = np.ascontiguousarray(np.broadcast_to(w.reshape(-1) if w.ndim else w, (m,)))
            except ValueError:
                raise ParameterError(
                    f"weights has shape {w.shape}",
                    node=name,
                    parameter="weights",
                    expected=f"a scalar or {m} values",
                ) from None
            if not np.all(np.isfinite(w)):
                raise ParameterError(
                    "weights contain NaN or inf", node=name, parameter="weights", expected="finite floats"
                )
            if w.size and w.min() < 0 < w.max():
                raise ParameterError(
                    "weights of one FromList projection must not mix signs",
                    node=name,
                    parameter="weights",
                    expected="all >= 0 or all <= 0 (split into excitatory and inhibitory)",
                )
            self._float_w[name] = np.abs(w)
            params["w16"] = np.zeros(m, np.int64)  # filled in at build()
        proj = Projection(name, pre, post, "from_list", params)
        if w16 is not None:
            validate_projection(proj, self._partial())
        self._projs[name] = proj
        return proj

    def stdp(
        self,
        pre: str,
        post: str,
        *,
        pre_idx: Any,
        post_idx: Any,
        plasticity: Any = None,
        rule: Any = None,
        rule_weight_scale: float = 1.0,
        weights: Any = None,
        w16: Any = None,
        delays: Any = 1,
        receptor: str = "excitatory",
        name: str | None = None,
    ) -> Projection:
        """A FromList projection with sPyNNaker STDP (kind ``"stdp"``): like :meth:`from_list` plus either a
        ``plasticity`` block (PyNN parameters, :mod:`.learning`) or a library ``rule``
        (:func:`.learning.map_rule` at :meth:`build`, once the ring-buffer shift is known;
        ``rule_weight_scale`` = nA per rule weight unit). Delays must stay within the post core's
        ring-buffer slots (no delay extension). Unpinned shifts follow the host, which counts
        ``max(max|w|, w_max)`` as the projection's largest weight."""
        if (plasticity is None) == (rule is None):
            raise ParameterError(
                "give exactly one of plasticity (a PyNN block) or rule (a library rule)",
                node=name or f"{pre}->{post}",
                parameter="plasticity",
                expected="plasticity={...} or rule=stdp_pair(...)",
            )
        proj = self.from_list(
            pre,
            post,
            pre_idx=pre_idx,
            post_idx=post_idx,
            weights=weights,
            w16=w16,
            delays=delays,
            receptor=receptor,
            name=name,
        )
        proj.kind = "stdp"
        self._stdp[proj.name] = (
            dict(plasticity) if plasticity is not None else rule,
            float(rule_weight_scale),
        )
        if plasticity is not None:
            proj.params["plasticity"] = dict(plasticity)
        return proj

    def _stdp_w_max(self, pname: str) -> float:
        spec_or_rule, ws = self._stdp[pname]
        if isinstance(spec_or_rule, dict):
            return float(spec_or_rule.get("w_max", 0.0))
        w = (getattr(spec_or_rule, "params", {}) or {}).get("w_max")
        return 0.0 if w is None else float(w) * ws

    def _map_stdp(self) -> dict[str, Any]:
        from .learning import map_rule

        out = {}
        for pname, (spec_or_rule, ws) in self._stdp.items():
            proj = self._projs[pname]
            if isinstance(spec_or_rule, dict):
                continue
            post = self._pops[proj.post]
            shift = int(post.params["ring_buffer_shifts"][spec.SYNAPSE_TYPES.index(proj.params["receptor"])])
            m = map_rule(
                spec_or_rule,
                tick_ms=self.tick_ms,
                shift=shift,
                weight_scale=ws,
                post_kind=post.kind,
                node=pname,
            )
            proj.params["plasticity"] = dict(m.plasticity)
            out[pname] = m.as_dict()
        return out

    # ------------------------------------------------------------------ result
    def _partial(self) -> Program:
        return Program(
            target="spinnaker",
            populations=self._pops,
            projections=self._projs,
            semantics={"tick_ms": self.tick_ms},
        )

    def host_shifts(self, population: str) -> HostShifts:
        """What sPyNNaker would compute for ``population`` from the float weights given so far."""
        projs = []
        for pname, proj in self._projs.items():
            if proj.post != population:
                continue
            if pname not in self._float_w:
                raise ParameterError(
                    "cannot compute ring-buffer shifts from w16 weights",
                    node=pname,
                    parameter="w16",
                    expected=f"pinned ring_buffer_shifts on '{population}'",
                )
            p = proj.params
            entry = (p["receptor"], p["post"], self._float_w[pname], p["delays"])
            if pname in self._stdp:
                entry += (self._stdp_w_max(pname),)
            projs.append(entry)
        return host_ring_buffer_shifts(projs, tick_ms=self.tick_ms)

    def build(
        self,
        outputs: Mapping[str, Any] | None = None,
        *,
        semantics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Program:
        """Compute unpinned shifts, quantize float weights, and return the validated Program.

        ``outputs``: key -> ``OutputSpec`` or ``(population, observable[, scale])``.
        ``program.quantization`` gets per population the shifts, the summed-weight bound behind them
        and the ``max_expected_summed_weight`` that pins them, and per projection the weight scale,
        shift, fractions clipped/zeroed and RMS relative rounding error.
        """
        qpops: dict[str, Any] = {}
        qprojs: dict[str, Any] = {}
        for name, pop in self._pops.items():
            if pop.kind not in spec.NEURON_KINDS:
                continue
            if self._pinned.get(name, True):
                info: dict[str, Any] = {"shift_rule": "pinned"}
            else:
                hs = self.host_shifts(name)
                too_big = [s for s in hs.shifts if s > spec.RING_BUFFER_SHIFT_MAX]
                if too_big:
                    raise RangeError(
                        f"summed input weight bound {max(hs.max_weights):g} nA needs ring-buffer "
                        f"shift {max(too_big)}",
                        node=name,
                        parameter="ring_buffer_shifts",
                        expected=f"shift <= {spec.RING_BUFFER_SHIFT_MAX} (scale the weights down)",
                    )
                pop.params["ring_buffer_shifts"] = list(hs.shifts)
                info = {"shift_rule": "sPyNNaker host statistics", **hs.as_dict()}
            shifts = [int(s) for s in pop.params["ring_buffer_shifts"]]
            info["ring_buffer_shifts"] = shifts
            info["max_expected_summed_weight"] = [spec.pinning_weight(s) for s in shifts]
            info["weight_scales"] = [spec.weight_scale(s) for s in shifts]
            qpops[name] = info
        for pname, proj in self._projs.items():
            shift = int(
                self._pops[proj.post].params["ring_buffer_shifts"][
                    spec.SYNAPSE_TYPES.index(proj.params["receptor"])
                ]
            )
            if pname in self._float_w:
                q, stats = quantize_weights(self._float_w[pname], shift)
                proj.params["w16"] = q
            else:
                stats = {
                    "weight_scale": spec.weight_scale(shift),
                    "ring_buffer_shift": shift,
                    "fraction_clipped": 0.0,
                    "fraction_zeroed": 0.0,
                    "rms_relative_error": 0.0,
                    "given_as": "w16",
                }
            qprojs[pname] = stats
        learning = self._map_stdp() if self._stdp else {}
        outs = output_specs(outputs)
        sem = {
            "hop_delay": 1,
            "reset": "value",
            "threshold": "v >= v_thresh",
            "tick_ms": self.tick_ms,
            "source": "SpiNNakerBuilder",
        }
        if semantics:
            sem.update(semantics)
        prog = Program(
            target="spinnaker",
            populations=dict(self._pops),
            projections=dict(self._projs),
            inputs=dict(self._inputs),
            outputs=outs,
            semantics=sem,
            provenance=dict(
                provenance or {"builder": "neurocompile.targets.spinnaker.builder.SpiNNakerBuilder"}
            ),
            quantization={"populations": qpops, "projections": qprojs},
            learning={"spinnaker": learning} if learning else {},
        )
        prog = validate_program(prog)
        self._warn_dropped_stdp(prog)
        return prog

    @staticmethod
    def _warn_dropped_stdp(prog: Program) -> None:
        """A ``UserWarning`` (and ``quantization["projections"][name]["stdp_delay_dropped"]``) per STDP
        projection with synapses sPyNNaker 1!7.4.1's STDP binaries drop (``spinnaker-stdp-delay-dropped``,
        :func:`.spec.stdp_row_delay`); the emulator models the drop."""
        import warnings

        from .rules import dropped_stdp_synapses, stdp_delay_dropped_message

        rows = ((n, q.post, q.params["delays"], q.kind == "stdp") for n, q in prog.projections.items())
        atoms = {
            k: min(p.size, int(p.params.get("neurons_per_core", spec.NEURONS_PER_CORE)))
            for k, p in prog.populations.items()
        }
        for name, post, n, size, dmax, slots in dropped_stdp_synapses(rows, atoms):
            prog.quantization["projections"].setdefault(name, {})["stdp_delay_dropped"] = n
            msg = stdp_delay_dropped_message(name, post, n, size, dmax, slots)
            warnings.warn(f"spinnaker-stdp-delay-dropped: {msg}", stacklevel=3)


__all__ = [
    "SpiNNakerBuilder",
    "host_ring_buffer_shifts",
    "quantize_weights",
    "shifts_from_max_weights",
    "expected_upper_bound",
    "HostShifts",
    "spec",
]
