"""The ``loihi2`` plan: flattens a loihi2 Program into the engine's tables (``engine.py``).

Bit-exact with Lava 0.10.0's ``fixed_pt`` models (``docs/reference/loihi2.md`` §1.2, §2):

* weights: clipped to 8 bits per sign mode and LSB-truncated by ``num_weight_bits`` (MIXED drops
  one more LSB), once, as Lava's first ``run_spk`` does (``targets/loihi2/weights.py``);
* ``weight_exp`` shifts the per-step *sum* of a projection (floor for negative exponents), per
  delay column for Delay* projections; positive exponents are folded into the weights (a
  multiplication, exact modulo 2^32, which is all an int32 channel keeps);
* graded projections (``num_message_bits > 0``) multiply weight by payload; Lava's int32 dot
  products (Dense, Sparse, DelaySparse) wrap the sum to int32 *before* a right shift, DelayDense
  sums int32 products in int64 (no wrap); binary projections count any nonzero payload as 1;
* every projection output, the LIF's sum over ports and ``a << 6`` are int32 (wrapping);
* LIF: round-toward-zero decays with ``du + 1``, single-shot 24-bit wrap of u, v saturation,
  strict ``>`` against ``vth << 6``, reset of v only; LIFReset zeroes u and v at step start.

Knowingly not modelled (cannot occur in a validated Program): int32 wrap of a single
weight*payload product (payloads are limited to signed 24 bit), DelaySparse's int32 sum of
*binary* events (needs a fan-in above 8 million), negative ``bias_exp`` (rejected by the spec).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from neurocompile.program import Program
from neurocompile.targets.loihi2 import spec
from neurocompile.targets.loihi2.weights import effective_weights

from . import engine as E
from .arith import decay_factor_u, decay_factor_v

PROFILE = "loihi2"


@dataclass
class Loihi2Plan:
    """A Program flattened into the engine's arrays (see :mod:`.engine`)."""

    in_names: list[str]
    in_slices: dict[str, tuple[int, int]]
    lif_names: list[str]
    lif_slices: dict[str, tuple[int, int]]
    in_tab: np.ndarray
    lif_tab: np.ndarray
    bias: np.ndarray
    u0: np.ndarray
    v0: np.ndarray
    fu: np.ndarray
    fv: np.ndarray
    pj_tab: np.ndarray
    wd: np.ndarray
    rowptr: np.ndarray
    cpost: np.ndarray
    cw: np.ndarray
    cdel: np.ndarray
    R: int
    NL: int
    NI: int
    tmp_size: int
    src_off: np.ndarray
    n_src_total: int
    #: per projection (post offset, sum of |weight| per post neuron, pre population, graded)
    bounds: list = field(default_factory=list)

    def network(self, ring_dtype: type = np.int64) -> E.Network:
        """The kernels' table; ``ring_dtype``: :func:`ring_dtype` of the run's data."""
        return E.Network(
            self.in_tab,
            self.lif_tab,
            self.bias,
            self.u0,
            self.v0,
            self.fu,
            self.fv,
            self.pj_tab,
            self.wd,
            self.rowptr,
            self.cpost,
            self.cw,
            self.cdel,
            self.src_off,
            np.zeros(0, ring_dtype),
            int(self.R),
            int(self.NL),
            int(self.tmp_size),
            int(self.n_src_total),
        )


def _synapses(proj, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pre, post, effective weight, delay) of every synapse whose effective weight is nonzero."""
    p = proj.params
    sm, nwb = int(p["sign_mode"]), int(p["num_weight_bits"])
    if proj.kind in ("dense", "delay_dense"):
        w = effective_weights(np.asarray(p["weights"]).reshape(n_post, n_pre), sm, nwb)
        post, pre = np.nonzero(w)
        d = (
            np.asarray(p["delays"]).reshape(n_post, n_pre)[post, pre]
            if proj.kind == "delay_dense"
            else np.zeros(post.size, np.int64)
        )
        return pre.astype(np.int64), post.astype(np.int64), w[post, pre], d.astype(np.int64)
    pre = np.asarray(p["pre"], np.int64).reshape(-1)
    post = np.asarray(p["post"], np.int64).reshape(-1)
    w = effective_weights(np.asarray(p["weights"]).reshape(-1), sm, nwb)
    d = (
        np.asarray(p["delays"], np.int64).reshape(-1)
        if proj.kind == "delay_sparse"
        else np.zeros(pre.size, np.int64)
    )
    keep = w != 0
    return pre[keep], post[keep], w[keep], d[keep]


_PLAN_CACHE: "OrderedDict[tuple, Loihi2Plan]" = OrderedDict()
_PLAN_CACHE_SIZE = 8
_COEFFS = np.zeros(0, np.uint64)


def _digest(a: np.ndarray) -> tuple:
    """A content digest of an integer array: sum of a_i * c_i mod 2^64 with fixed random odd c_i.

    Any single changed entry changes it (c_i odd), several changes collide with probability
    about 2^-64. One pass over the data, ~1 ms per million weights: far cheaper than rebuilding.
    """
    global _COEFFS
    a = np.asarray(a)
    flat = np.ascontiguousarray(a).reshape(-1)
    flat = flat.view(np.uint64) if flat.dtype == np.int64 else flat.astype(np.uint64)
    if _COEFFS.size < flat.size:
        rng = np.random.default_rng(0x5EED)
        _COEFFS = rng.integers(0, 2**63, max(flat.size, 2 * _COEFFS.size), dtype=np.uint64) * np.uint64(
            2
        ) + np.uint64(1)
    with np.errstate(over="ignore"):
        return (a.shape, str(a.dtype), int(np.dot(flat, _COEFFS[: flat.size])))


def _fingerprint(program: Program) -> tuple:
    def params(d: dict) -> tuple:
        return tuple((k, _digest(v) if isinstance(v, np.ndarray) else repr(v)) for k, v in sorted(d.items()))

    return (
        program.target,
        tuple(sorted(program.inputs.items())),
        tuple(sorted((k, o.population, o.observable, float(o.scale)) for k, o in program.outputs.items())),
        tuple((p.name, p.kind, tuple(p.shape), params(p.params)) for p in program.populations.values()),
        tuple((p.name, p.pre, p.post, p.kind, params(p.params)) for p in program.projections.values()),
    )


def plan_for(program: Program) -> Loihi2Plan:
    """Validate and flatten a Program, memoized on its content (a few recent Programs are kept),
    so repeated runs of one network (validation sets, benchmarks) pay both once. The key covers
    every field validation looks at (target, inputs, outputs, every parameter's digest)."""
    from neurocompile.targets.loihi2.schema import validate_program

    key = _fingerprint(program)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        validate_program(program)
        plan = build_plan(program)
        _PLAN_CACHE[key] = plan
        while len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    else:
        _PLAN_CACHE.move_to_end(key)
    return plan


def build_plan(program: Program) -> Loihi2Plan:
    """Flatten a *validated* loihi2 Program."""
    pops = program.populations
    in_names = [n for n, p in pops.items() if p.kind == "input"]
    lif_names = [n for n, p in pops.items() if p.kind in spec.NEURON_KINDS]
    n_in = len(in_names)
    src_index = {n: i for i, n in enumerate(in_names)}
    src_index.update({n: n_in + i for i, n in enumerate(lif_names)})
    src_sizes = [pops[n].size for n in in_names] + [pops[n].size for n in lif_names]
    src_off = np.zeros(max(len(src_sizes), 1), np.int64)
    if src_sizes:
        src_off[: len(src_sizes)] = np.concatenate([[0], np.cumsum(src_sizes)[:-1]])

    in_tab = np.zeros((n_in, E.IN_COLS), np.int64)
    in_slices: dict[str, tuple[int, int]] = {}
    off = 0
    for k, n in enumerate(in_names):
        size = pops[n].size
        in_tab[k] = (off, size, src_index[n])
        in_slices[n] = (off, size)
        off += size
    NI = off

    lif_tab = np.zeros((len(lif_names), E.LIF_COLS), np.int64)
    lif_slices: dict[str, tuple[int, int]] = {}
    bias, u0, v0, fu, fv = [], [], [], [], []
    off = 0
    for k, n in enumerate(lif_names):
        pop = pops[n]
        p = pop.params
        size = pop.size
        rint = int(p["reset_interval"]) if pop.kind == "lif_reset" else 0
        roff = int(p["reset_offset"]) % rint if rint else 0
        fu.append(_factors(decay_factor_u, p["du"], size))
        fv.append(_factors(decay_factor_v, p["dv"], size))
        lif_tab[k] = (
            off,
            size,
            decay_factor_u(p["du"]) if np.ndim(p["du"]) == 0 else -1,
            decay_factor_v(p["dv"]) if np.ndim(p["dv"]) == 0 else -1,
            int(p["vth"]) << spec.VTH_SHIFT,
            rint,
            roff,
            src_index[n],
        )
        lif_slices[n] = (off, size)
        mant = np.asarray(p["bias_mant"], np.int64).reshape(-1)
        bexp = np.asarray(p["bias_exp"], np.int64).reshape(-1)
        bias.append(np.where(bexp >= 0, mant << np.maximum(bexp, 0), mant >> np.maximum(-bexp, 0)))
        u0.append(np.asarray(p.get("u_init", 0), np.int64).reshape(-1) * np.ones(size, np.int64))
        v0.append(np.asarray(p.get("v_init", 0), np.int64).reshape(-1) * np.ones(size, np.int64))
        off += size
    NL = off

    def cat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    pj_rows, wd_parts, rp_parts, cpost_parts, cw_parts, cdel_parts = [], [], [], [], [], []
    bounds: list[tuple[int, np.ndarray, str, bool]] = []
    woff = roff_ = coff = tmp_size = 0
    max_d = 0
    for proj in program.projections.values():
        p = proj.params
        pre_pop, post_pop = pops[proj.pre], pops[proj.post]
        n_pre, n_post = pre_pop.size, post_pop.size
        wexp = int(p["weight_exp"])
        graded = int(int(p["num_message_bits"]) > 0)
        post_off = lif_slices[proj.post][0]
        wrap = int(graded and proj.kind != "delay_dense")
        if proj.kind == "dense":
            # dense rows by presynaptic neuron: (n_pre, n_post), zero weights kept (vectorized adds)
            w = effective_weights(
                np.asarray(p["weights"]).reshape(n_post, n_pre),
                int(p["sign_mode"]),
                int(p["num_weight_bits"]),
            )
            if wexp > 0:
                w = w << wexp
            D = 0
            toff = tmp_size if wexp < 0 else 0
            tmp_size += n_post if wexp < 0 else 0
            # every effective weight is a multiple of 2^(truncated bits + positive exponent): store
            # the quotient (usually int8) and shift it back in the kernel
            sm, nwb = int(p["sign_mode"]), int(p["num_weight_bits"])
            wsh = spec.WEIGHT_BITS - nwb + int(sm == spec.SIGN_MODE_MIXED) + max(wexp, 0)
            small = w >> wsh
            if not np.array_equal(small << wsh, w):  # cannot happen after truncation; stay exact anyway
                small, wsh = w, 0
            pj_rows.append(
                (
                    src_index[proj.pre],
                    post_off,
                    n_post,
                    E.FMT_DENSE,
                    graded,
                    wexp,
                    wrap,
                    D,
                    woff,
                    0,
                    toff,
                    wsh,
                )
            )
            wd_parts.append(np.ascontiguousarray(small.T).reshape(-1))
            woff += w.size
            bounds.append((post_off, np.abs(w).sum(axis=1).astype(np.float64), proj.pre, bool(graded)))
            continue
        pre, post, w, d = _synapses(proj, n_pre, n_post)
        if wexp > 0:
            w = w << wexp
        D = int(d.max()) if d.size else 0
        max_d = max(max_d, D)
        toff = 0
        if wexp < 0:
            toff = tmp_size
            tmp_size += (D + 1) * n_post
        order = np.lexsort((post, pre))
        pre, post, w, d = pre[order], post[order], w[order], d[order]
        rp = np.zeros(n_pre + 1, np.int64)
        np.cumsum(np.bincount(pre, minlength=n_pre), out=rp[1:])
        pj_rows.append(
            (src_index[proj.pre], post_off, n_post, E.FMT_CSR, graded, wexp, wrap, D, 0, roff_, toff, 0)
        )
        rp_parts.append(rp + coff)
        cpost_parts.append(post)
        cw_parts.append(w)
        cdel_parts.append(d)
        roff_ += n_pre + 1
        coff += pre.size
        bounds.append(
            (
                post_off,
                np.bincount(post, weights=np.abs(w).astype(np.float64), minlength=n_post),
                proj.pre,
                bool(graded),
            )
        )
    pj_tab = np.array(pj_rows, np.int64).reshape(-1, E.PJ_COLS)
    wd = cat(wd_parts, np.int64)
    cw = cat(cw_parts, np.int64)
    # narrow storage cuts the memory traffic of the event loop (values are at most 255 << 8)
    wd = _narrow(wd)
    # CSR weights stay int32 (indirect access is not bandwidth-bound; fewer numba specializations)
    cw = cw.astype(np.int32) if cw.size == 0 or int(np.abs(cw).max()) < 2**31 else cw
    return Loihi2Plan(
        in_names=in_names,
        in_slices=in_slices,
        lif_names=lif_names,
        lif_slices=lif_slices,
        in_tab=in_tab,
        lif_tab=lif_tab,
        bias=cat(bias, np.int64),
        u0=cat(u0, np.int64),
        v0=cat(v0, np.int64),
        fu=cat(fu, np.int64),
        fv=cat(fv, np.int64),
        pj_tab=pj_tab,
        wd=wd,
        rowptr=cat(rp_parts, np.int64) if rp_parts else np.zeros(1, np.int64),
        cpost=cat(cpost_parts, np.int64),
        cw=cw,
        cdel=cat(cdel_parts, np.int64),
        R=max_d + 1,
        NL=NL,
        NI=NI,
        tmp_size=tmp_size,
        src_off=src_off,
        n_src_total=int(sum(src_sizes)),
        bounds=bounds,
    )


def _factors(fn, d, size: int) -> np.ndarray:
    """The decay factors ``fn(d)`` of a population's neurons (``d`` one decay or one per neuron)."""
    if np.ndim(d) == 0:
        return np.full(size, fn(d), np.int64)
    return np.array([fn(x) for x in np.asarray(d).reshape(-1)], np.int64)


def _narrow(a: np.ndarray) -> np.ndarray:
    m = int(np.abs(a).max()) if a.size else 0
    if m < 2**7:
        return a.astype(np.int8)
    if m < 2**15:
        return a.astype(np.int16)
    if m < 2**31:
        return a.astype(np.int32)
    return a


def ring_dtype(plan: Loihi2Plan, payload_max: dict[str, int]) -> type:
    """int32 when no delivered sum can leave int32 (|sum| <= sum of |w| * max |payload|), else int64.

    ``payload_max``: input population -> max |payload| in the run's data. LIF sources and binary
    projections carry 1.
    """
    bound = np.zeros(plan.NL, np.float64)
    for post_off, abs_sum, pre, graded in plan.bounds:
        pmax = payload_max.get(pre, 1) if graded else 1
        bound[post_off : post_off + abs_sum.size] += abs_sum * pmax
    return np.int32 if (bound.size == 0 or bound.max() < 2**31 - 1) else np.int64
