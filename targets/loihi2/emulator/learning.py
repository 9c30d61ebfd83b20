"""Emulator path for loihi2 Programs with on-chip learning (``learning_dense``, ``lif_3f``).

Bit-exact with Lava 0.10.0's ``PyLearningDenseModelBitApproximate`` (docs/reference/loihi2.md
§3.3), including its stochastic rounding: the PCG64 streams are replayed in Lava's order
(per projection: X.decay = rng_seed, X.imp = rng_seed+1, Y.decay = rng_seed+2,
Y.imp = rng_seed+3, W = 2; one draw at build, X and Y advance twice per step, W once per
epoch), so the draws are generated up front with numpy and indexed by step.

Step t (first step 1), in Lava's phase order:
1. every neuron population updates from the input delivered for t (exactly the ``lif``
   equations of the non-learning engine; ``lif_3f`` then updates y1, y3 and reads y2 from its
   reward input of step t);
2. every projection turns the spikes of step t into input for t+1 (``learning_dense`` with
   its current, learned weights, not re-truncated);
3. each ``learning_dense`` records pre spikes and bAPs (the post population's spikes of step t;
   three-factor: also y1..y3 from the ``lif_3f``), and when ``t % t_epoch == 0`` runs the epoch
   learning (trace histories, products, stochastic rounding, clipping).

The non-learning engine (``engine.py``) is not touched: Programs without learning kinds never
come here. Knowingly limited: in a Program with learning, static projections must be
``dense`` (no delays, no sparse) and pre spikes into ``learning_dense`` binary; samples of a
batch run one after another. These are typed errors, not silent approximations.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

import numpy as np
from numba import njit

from neurocompile.data import FIDELITY_BIT_EXACT, RunResult
from neurocompile.errors import InputDataError, NumericOverflowError, UnsupportedError
from neurocompile.program import Program
from neurocompile.targets.loihi2 import spec
from neurocompile.targets.loihi2.learning import parse_projection_rules
from neurocompile.targets.loihi2.signals import SIGNAL_FIELDS, lif3f_traces, uses_signals
from neurocompile.targets.loihi2.weights import effective_weights, truncate_weights

from .arith import (
    SYN_VAR_SHIFT,
    TRACE_MAX,
    accumulate,
    clip,
    clip_factor,
    decay_factor_u,
    decay_factor_v,
    dither,
    finish_product,
    lif_uv,
    lif_uv_flags_array,
    round_threshold_jit,
    shift_exp,
    target_bounds,
    trace_decay,
    trace_impulse_sat,
    wrap32,
    wrap32_array,
    write_back_sat,
    y_trace,
)
from .separable import Products, Proj, classify, learn_separable

_VAR = {"x0": 0, "y0": 1, "x1": 2, "x2": 3, "y1": 4, "y2": 5, "y3": 6, "w": 7, "d": 8, "t": 9, "C": 10}
_DEP = {"x0": 0, "y0": 1, "u": 2}
_TGT = {"dw": 0, "dd": 1, "dt": 2}
_W = {v: spec.FACTOR_WIDTHS[k] for k, v in _VAR.items()}
_WIDTH = np.array([_W[i] for i in range(11)], np.int64)


# Saturation counters per learning projection (the run's warnings; strict mode raises): synapse
# updates of weights / tag_2 / tag_1 whose written value saturation changed (arith.saturated),
# and trace impulses clipped to [0, 127].
SAT_W, SAT_D, SAT_T, SAT_TRACES = range(4)
SAT_COLS = 4
SAT_WHAT = ("weights", "tag_2", "tag_1", "traces")


def has_learning(program: Program) -> bool:
    return any(p.kind in spec.LEARNING_NEURON_KINDS for p in program.populations.values()) or any(
        p.kind in spec.LEARNING_PROJECTION_KINDS for p in program.projections.values()
    )


# The reference path's kernels take named tables too: per projection its rule (:class:`RefRule`),
# learned variables (:class:`Learned`), spike times and traces (:class:`Traces`), trace
# parameters (:class:`TraceSide`, x and y) and the epoch's random draws (:class:`Draws`).


class RefRule(NamedTuple):
    """One learning projection's rule: t_epoch ``T_e``, the u-decimation exponent ``k_dec`` (-1:
    no u products), ``three`` (three-factor: y traces come from the lif_3f), ``sign_mode``,
    products ``ptab`` (target, dependency, mantissa, exponent, pre-shift, first factor, factor
    count), factors ``ftab`` (variable, sign flag), constants ``fconst``, targets ``tgt_has``."""

    T_e: int
    k_dec: int
    three: bool
    sign_mode: int
    ptab: np.ndarray
    ftab: np.ndarray
    fconst: np.ndarray
    tgt_has: np.ndarray


class Learned(NamedTuple):
    """Weights, tag_2, tag_1 of one projection, (n_pre, n_post), updated in place."""

    WT: np.ndarray
    D2T: np.ndarray
    T1T: np.ndarray


class Traces(NamedTuple):
    """Last spike time in the epoch (``tx`` pre, ``ty`` post; 0: none) and the traces ``xtr``
    (x1, x2) and ``ytr`` (y1..y3), updated in place."""

    tx: np.ndarray
    ty: np.ndarray
    xtr: np.ndarray
    ytr: np.ndarray


class Draws(NamedTuple):
    """The replayed random draws an epoch at step t uses: X.decay, X.imp, Y.decay, Y.imp (draw
    2t) and W (the epoch's)."""

    rxd: float
    rxi: int
    ryd: float
    ryi: int
    rw: float


class TraceSide(NamedTuple):
    """The pre (x1, x2) or post (y1..y3) trace parameters of one learning projection."""

    fac: np.ndarray
    has_tau: np.ndarray
    imp_int: np.ndarray
    imp_frac: np.ndarray


@njit(cache=True)
def spike_phase(t, T_e, spk, bap, tr, xs, ys, yimp_r, sat):
    """Pre spikes (deterministic multi-spike impulse) and bAPs (stochastic, Y.imp draw 2t-1):
    ``tr`` :class:`Traces`, ``xs``/``ys`` :class:`TraceSide`; clipped impulses are counted in
    ``sat[SAT_TRACES]``."""
    tx, ty, xtr, ytr = tr.tx, tr.ty, tr.xtr, tr.ytr
    wet = t % T_e
    if wet == 0:
        wet = T_e
    for j in range(spk.shape[0]):
        if spk[j]:
            if tx[j] > 0:
                for k in range(2):
                    xtr[k, j], c = trace_impulse_sat(xtr[k, j], xs.imp_int[k], xs.imp_frac[k], 0)
                    sat[SAT_TRACES] += c
            tx[j] = wet
    for i in range(bap.shape[0]):
        if bap[i]:
            if ty[i] > 0:
                for k in range(3):
                    ytr[k, i], c = trace_impulse_sat(ytr[k, i], ys.imp_int[k], ys.imp_frac[k], yimp_r)
                    sat[SAT_TRACES] += c
            ty[i] = wet


@njit(cache=True)
def _history(tr, tspk, T_e, side, rdec, rimp, sat):
    K, n = tr.shape
    h = np.zeros((T_e + 1, K, n), np.int64)
    h[0] = tr
    for s in range(1, T_e + 1):
        for k in range(K):
            if side.has_tau[k]:
                f = side.fac[k]
                for j in range(n):
                    h[s, k, j] = trace_decay(h[s - 1, k, j], f, rdec)
        for j in range(n):
            if tspk[j] == s:
                for k in range(K):
                    h[s, k, j], c = trace_impulse_sat(h[s, k, j], side.imp_int[k], side.imp_frac[k], rimp)
                    sat[SAT_TRACES] += c
    return h


@njit(cache=True)
def learn_phase(t, rule, syn, tr, xs, ys, dr, sat):
    """Epoch learning at step t (t % T_e == 0) of one projection: ``rule`` :class:`RefRule`,
    ``syn`` :class:`Learned` and ``tr`` :class:`Traces` (updated in place), ``xs``/``ys``
    :class:`TraceSide`, ``dr`` :class:`Draws`; saturations are counted in ``sat`` (SAT_*)."""
    T_e, k_dec, three, sign_mode = rule.T_e, rule.k_dec, rule.three, rule.sign_mode
    ptab, ftab, fconst, tgt_has = rule.ptab, rule.ftab, rule.fconst, rule.tgt_has
    WT, D2T, T1T = syn.WT, syn.D2T, syn.T1T
    tx, ty, xtr, ytr = tr.tx, tr.ty, tr.xtr, tr.ytr
    n_pre = tx.shape[0]
    n_post = ty.shape[0]
    hx = _history(xtr, tx, T_e, xs, dr.rxd, dr.rxi, sat)
    hy = _history(ytr, ty, T_e, ys, dr.ryd, dr.ryi, sat)
    for k in range(2):
        for j in range(n_pre):
            xtr[k, j] = hx[T_e, k, j]
    if not three:
        for k in range(3):
            for i in range(n_post):
                ytr[k, i] = hy[T_e, k, i]
    u = 0
    if k_dec >= 0:
        u = 1 if (t // T_e) % (1 << k_dec) == 0 else 0
    n_prod = ptab.shape[0]
    has_u = False
    has_x0 = False
    has_y0 = False
    for q in range(n_prod):
        if ptab[q, 1] == 2:
            has_u = u == 1
        elif ptab[q, 1] == 0:
            has_x0 = True
        else:
            has_y0 = True
    ylist = np.zeros(n_post, np.int64)
    ny = 0
    for i in range(n_post):
        if ty[i] > 0:
            ylist[ny] = i
            ny += 1
    thr = round_threshold_jit(dr.rw)
    old = np.zeros(3, np.int64)
    acc = np.zeros(3, np.int64)
    raw = np.zeros(3, np.int64)
    for j in range(n_pre):
        x0 = 1 if tx[j] > 0 else 0
        full = has_u or (has_x0 and x0 == 1)
        cnt = n_post if full else (ny if has_y0 else 0)
        for c in range(cnt):
            i = c if full else ylist[c]
            y0 = 1 if ty[i] > 0 else 0
            old[0] = WT[j, i]
            old[1] = D2T[j, i]
            old[2] = T1T[j, i]
            for z in range(3):
                acc[z] = old[z] << SYN_VAR_SHIFT
                raw[z] = acc[z]
            for q in range(n_prod):
                dep = ptab[q, 1]
                g = x0 if dep == 0 else (y0 if dep == 1 else u)
                if g == 0:
                    continue
                z = ptab[q, 0]
                m = np.int64(1)
                for f in range(ptab[q, 5], ptab[q, 5] + ptab[q, 6]):
                    var = ftab[f, 0]
                    c0 = fconst[f]
                    if var == 0:
                        val = x0 + c0
                    elif var == 1:
                        val = y0 + c0
                    elif var <= 3:
                        s = tx[j] if dep == 0 else (ty[i] if dep == 1 else T_e)
                        val = hx[s, var - 2, j] + c0
                    elif var <= 6:
                        s = tx[j] if dep == 0 else (ty[i] if dep == 1 else T_e)
                        val = hy[s, var - 4, i] + c0
                    elif var <= 9:
                        val = old[var - 7] + c0
                        if ftab[f, 1]:
                            val = 1 if val > 0 else (-1 if val < 0 else 0)
                    else:
                        val = c0
                    m = wrap32(m * clip_factor(val, _WIDTH[var]))
                m = finish_product(m, ptab[q, 2], ptab[q, 4], ptab[q, 3])
                acc[z] = accumulate(acc[z], m)
                raw[z] += m
            for z in range(3):
                if not tgt_has[z]:
                    continue
                plo, phi, lo, hi = target_bounds(z, sign_mode)
                r, c = write_back_sat(acc[z], raw[z], thr, plo, phi, lo, hi)
                sat[z] += c
                if z == 0:
                    WT[j, i] = r
                elif z == 1:
                    D2T[j, i] = r
                else:
                    T1T[j, i] = r
    for j in range(n_pre):
        tx[j] = 0
    for i in range(n_post):
        ty[i] = 0


@njit(cache=True)
def forward(WT, spk, out):
    """out[i] += sum_j spk[j] * WT[j, i] (binary spikes)."""
    n_post = WT.shape[1]
    for j in range(spk.shape[0]):
        if spk[j]:
            for i in range(n_post):
                out[i] += WT[j, i]


def _decay_groups(p: dict, size: int) -> list:
    """[(neurons, fu, fv)]: the decay factors of a population's neurons, one entry per distinct
    (du, dv) (``slice(None)`` when the population has one; per-neuron du/dv of a ``lif``)."""
    if np.ndim(p["du"]) == 0 and np.ndim(p["dv"]) == 0:
        return [(slice(None), decay_factor_u(p["du"]), decay_factor_v(p["dv"]))]
    d = np.stack([np.broadcast_to(np.asarray(p[k], np.int64).reshape(-1), (size,)) for k in ("du", "dv")], 1)
    uniq, inv = np.unique(d, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    return [
        (np.flatnonzero(inv == k), decay_factor_u(du), decay_factor_v(dv)) for k, (du, dv) in enumerate(uniq)
    ]


def _lif_step(u, v, a, groups, bias):
    """:func:`.arith.lif_uv_flags_array` over the decay groups of :func:`_decay_groups`."""
    if len(groups) == 1:
        _, fu, fv = groups[0]
        return lif_uv_flags_array(u, v, a, fu, fv, bias)
    x, y = np.empty_like(u), np.empty_like(v)
    ub = vb = False
    for idx, fu, fv in groups:
        x[idx], y[idx], b1, b2 = lif_uv_flags_array(u[idx], v[idx], a[idx], fu, fv, bias[idx])
        ub, vb = ub or b1, vb or b2
    return x, y, ub, vb


def _shift(a: np.ndarray, wexp: int) -> np.ndarray:
    return a << wexp if wexp > 0 else a >> (-wexp)


class _LearnProj:
    """Per-projection state and constant tables."""

    def __init__(self, proj, n_pre: int, n_post: int, steps: int):
        p = proj.params
        self.name, self.pre, self.post = proj.name, proj.pre, proj.post
        self.sign_mode = int(p["sign_mode"])
        self.wexp = int(p["weight_exp"])
        w = np.asarray(p["weights"], np.int64).reshape(n_post, n_pre)
        self.WT = np.ascontiguousarray(truncate_weights(w, self.sign_mode, int(p["num_weight_bits"])).T)
        self.D2T = np.ascontiguousarray(
            np.asarray(p.get("tag_2", np.zeros((n_post, n_pre))), np.int64).reshape(n_post, n_pre).T
        )
        self.T1T = np.ascontiguousarray(
            np.asarray(p.get("tag_1", np.zeros((n_post, n_pre))), np.int64).reshape(n_post, n_pre).T
        )
        self.t_epoch = int(p["t_epoch"])
        self.three = bool(int(p["three_factor"]))
        prods, k = parse_projection_rules(p, proj.name)
        self.k_dec = -1 if k is None else int(k)
        ptab, ftab, fconst = [], [], []
        for lp in prods:
            ptab.append(
                (_TGT[lp.target], _DEP[lp.dependency], lp.mant, lp.exp, lp.shift, len(ftab), len(lp.factors))
            )
            for v, c, sg in lp.factors:
                ftab.append((_VAR[v], int(sg)))
                fconst.append(c)
        self.ptab = np.array(ptab, np.int64).reshape(-1, 7)
        self.ftab = np.array(ftab, np.int64).reshape(-1, 2)
        self.fconst = np.array(fconst, np.int64)
        self.tgt_has = np.array([any(lp.target == t for lp in prods) for t in ("dw", "dd", "dt")], np.bool_)

        def imp(names):
            vals = np.array([float(p[f"{k}_impulse"]) for k in names])
            ii = np.floor(vals)
            return ii.astype(np.int64), np.round((vals - ii) * 2**spec.TRACE_FRACTION_BITS).astype(np.int64)

        def taus(names):
            t = np.array([p[f"{k}_tau"] for k in names])
            has = t != 0
            fac = np.zeros(len(names))
            fac[has] = np.exp(-1 / t[has].reshape(-1, 1)).reshape(-1)  # Lava: np.exp(-t / taus), t = 1
            return fac, has

        self.ximp_int, self.ximp_frac = imp(("x1", "x2"))
        self.yimp_int, self.yimp_frac = imp(("y1", "y2", "y3"))
        self.xfac, self.xhas = taus(("x1", "x2"))
        self.yfac, self.yhas = taus(("y1", "y2", "y3"))
        seed = int(p["rng_seed"])
        n = 2 * steps + 1
        self.rxd = np.random.default_rng(seed).random(n)
        self.rxi = np.random.default_rng(seed + 1).integers(0, 2**spec.TRACE_BITS, size=n, dtype=int)
        self.ryd = np.random.default_rng(seed + 2).random(n)
        self.ryi = np.random.default_rng(seed + 3).integers(0, 2**spec.TRACE_BITS, size=n, dtype=int)
        self.rw = np.random.default_rng(spec.CONN_VAR_SEED).random(steps // self.t_epoch + 1)
        self.tx = np.zeros(n_pre, np.int64)
        self.ty = np.zeros(n_post, np.int64)
        self.xtr = np.zeros((2, n_pre), np.int64)
        self.ytr = np.zeros((3, n_post), np.int64)
        # the kernels' tables: views of the arrays above (updated in place)
        self.rule = RefRule(
            self.t_epoch,
            self.k_dec,
            self.three,
            self.sign_mode,
            self.ptab,
            self.ftab,
            self.fconst,
            self.tgt_has,
        )
        self.syn = Learned(self.WT, self.D2T, self.T1T)
        self.traces = Traces(self.tx, self.ty, self.xtr, self.ytr)
        self.xside = TraceSide(self.xfac, self.xhas, self.ximp_int, self.ximp_frac)
        self.yside = TraceSide(self.yfac, self.yhas, self.yimp_int, self.yimp_frac)
        self.sat = np.zeros(SAT_COLS, np.int64)  # saturations so far (SAT_* columns)
        self.first = np.zeros(SAT_COLS, np.int64)  # the step of the first of each (0: none)

    def step(self, t: int, spk: np.ndarray, bap: np.ndarray, y3f: np.ndarray | None) -> None:
        spike_phase(
            t, self.t_epoch, spk, bap, self.traces, self.xside, self.yside, self.ryi[2 * t - 1], self.sat
        )
        if self.three:
            self.ytr[:] = y3f
        if t % self.t_epoch == 0:
            draws = Draws(
                self.rxd[2 * t], self.rxi[2 * t], self.ryd[2 * t], self.ryi[2 * t], self.rw[t // self.t_epoch]
            )
            learn_phase(t, self.rule, self.syn, self.traces, self.xside, self.yside, draws, self.sat)
        self.first[(self.first == 0) & (self.sat > 0)] = t


_PROJ_OBS = ("weights", "w", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3")


def run_learning_program(
    program: Program,
    arrays: Mapping[str, np.ndarray],
    batch: int,
    steps: int,
    rec: Iterable[tuple[str, str]],
    fused: bool | None = None,
    separable: bool = True,
    strict: bool = False,
) -> RunResult:
    """Run a validated Program with learning. ``arrays``: data key -> (batch, steps, *shape).

    ``fused`` (default: when only population spikes/v/u are recorded) runs every step inside one
    compiled kernel (:func:`fused_run`); ``False`` forces the per-step Python loop, which can also
    record per-step projection state (w, tags, traces). Both compute the same numbers.
    ``separable=False`` makes the fused kernel use the generic per-synapse product interpreter for every
    rule (otherwise every rule has a fast kernel: :mod:`.separable` for rules without w/d/t factors,
    :mod:`.synaptic` for rules with them); for tests and benchmarks. ``strict``: raise
    :class:`NumericOverflowError` on the first u wrap / v saturation or learning saturation (weights,
    tags, traces) instead of reporting them in ``RunResult.warnings``
    (:func:`learning_overflow_messages`)."""
    pops, projs = program.populations, program.projections
    for proj in projs.values():
        if proj.kind not in ("dense", "learning_dense"):
            raise UnsupportedError(
                f"{proj.kind} projections are not supported next to learning in the emulator",
                node=proj.name,
                parameter="kind",
                expected="dense or learning_dense",
            )
    rec = list(rec)
    needed = list(dict.fromkeys(rec + [(o.population, o.observable) for o in program.outputs.values()]))
    for name, obs in needed:
        if name in projs:
            if obs not in _PROJ_OBS:
                raise InputDataError(
                    f"cannot record {obs!r} of projection '{name}'",
                    node=name,
                    parameter="record",
                    expected=", ".join(_PROJ_OBS),
                )
        elif name not in pops:
            raise InputDataError(f"cannot record unknown population '{name}'", node=name, parameter="record")
    # learning signals (pseudo-derivative, signed third factors, error ports, feedback projections)
    # run in the fused kernel as long as it models every field signals.py defines
    signals = uses_signals(program) and not set(SIGNAL_FIELDS) <= set(FUSED_SIGNAL_FIELDS)
    if fused and signals:
        raise UnsupportedError(
            "the fused kernel does not model the learning-signal fields "
            f"{sorted(set(SIGNAL_FIELDS) - set(FUSED_SIGNAL_FIELDS))}",
            parameter="fused",
            expected="fused=False or None",
        )
    if fused is None:
        fused = not signals and all(n in pops and o in _FUSED_POP_OBS for n, o in needed)
    if fused:
        return _run_fused(program, arrays, batch, steps, rec, needed, separable, strict)
    key_of = {pop: key for key, pop in program.inputs.items()}
    neurons = [n for n, p in pops.items() if p.kind in spec.NEURON_KINDS]
    lnames = [n for n, p in projs.items() if p.kind == "learning_dense"]
    ovf = np.zeros((batch, len(neurons), 2), np.int64)  # first step of a u wrap / v saturation
    sat = np.zeros((batch, len(lnames), SAT_COLS), np.int64)
    first = np.zeros((batch, len(lnames), SAT_COLS), np.int64)
    results: dict[str, list[np.ndarray]] = {f"{n}.{o}": [] for n, o in needed}
    finals: dict[str, list[np.ndarray]] = {
        f"{n}.weights": [] for n, p in projs.items() if p.kind == "learning_dense"
    }
    for n, p in projs.items():
        if p.kind == "learning_dense":
            finals[f"{n}.tag_1_final"] = []
            finals[f"{n}.tag_2_final"] = []
    for b in range(batch):
        state = {}
        for n in neurons:
            p = pops[n].params
            size = pops[n].size
            mant = np.asarray(p["bias_mant"], np.int64).reshape(-1)
            bexp = np.asarray(p["bias_exp"], np.int64).reshape(-1)
            state[n] = dict(
                u=np.asarray(p.get("u_init", 0), np.int64).reshape(-1) * np.ones(size, np.int64),
                v=np.asarray(p.get("v_init", 0), np.int64).reshape(-1) * np.ones(size, np.int64),
                bias=np.where(bexp >= 0, mant << np.maximum(bexp, 0), mant >> np.maximum(-bexp, 0)),
                decays=_decay_groups(p, size),
                a=np.zeros(size, np.int64),
                s=np.zeros(size, np.int64),
                y=np.zeros((3, size), np.int64),
                r=np.zeros(size, np.int64),
                err=np.zeros(size, np.int64),
            )
        static, learn = [], {}
        for n, proj in projs.items():
            n_pre, n_post = pops[proj.pre].size, pops[proj.post].size
            if proj.kind == "dense":
                w = effective_weights(
                    np.asarray(proj.params["weights"]).reshape(n_post, n_pre),
                    int(proj.params["sign_mode"]),
                    int(proj.params["num_weight_bits"]),
                )
                static.append(
                    (proj, w, int(proj.params["weight_exp"]), int(proj.params["num_message_bits"]) > 0)
                )
            else:
                learn[n] = _LearnProj(proj, n_pre, n_post, steps)
        per = {k: np.zeros((steps,) + _obs_shape(program, *k.rsplit(".", 1)), np.int64) for k in results}
        for t in range(1, steps + 1):
            out_spk = {}
            for key, pop in program.inputs.items():
                out_spk[pop] = np.asarray(arrays[key][b, t - 1]).reshape(-1).astype(np.int64)
            for kn, n in enumerate(neurons):
                pop, st = pops[n], state[n]
                p = pop.params
                a = wrap32_array(st["a"])
                st["a"] = np.zeros_like(st["a"])
                u, v = st["u"], st["v"]
                if pop.kind == "lif_reset" and t % int(p["reset_interval"]) == int(p["reset_offset"]) % int(
                    p["reset_interval"]
                ):
                    u = np.zeros_like(u)
                    v = np.zeros_like(v)
                x, y, ub, vb = _lif_step(u, v, a, st["decays"], st["bias"])
                for c, bad in ((0, ub), (1, vb)):
                    if bad and not ovf[b, kn, c]:
                        ovf[b, kn, c] = t
                fire = y > (int(p["vth"]) << spec.VTH_SHIFT)
                st["u"], st["v"] = x, np.where(fire, 0, y)
                st["s"] = fire.astype(np.int64)
                out_spk[n] = st["s"]
                if pop.kind == "lif_3f":  # y1..y3 (and the error) by signals.lif3f_traces
                    rname = p["reward"]
                    r = st["r"]  # the feedback projections' input for this step (sent at t-1)
                    if rname:
                        r = r + np.asarray(arrays[key_of[rname]][b, t - 1]).reshape(-1).astype(np.int64)
                    theta = int(p["vth"]) << spec.VTH_SHIFT
                    st["y"][:], err = lif3f_traces(st["y"], st["s"], y, theta, r, p, t)
                    st["r"] = np.zeros_like(st["r"])
                    if err is not None:
                        st["err"] = err
            for proj, w, wexp, graded in static:
                fb = int(proj.params.get("feedback", 0))  # error payloads into the third factor
                s = state[proj.pre]["err"] if fb else out_spk[proj.pre]
                if graded:
                    acc = wrap32_array(w @ s)
                else:
                    acc = w[:, s != 0].sum(axis=1)
                state[proj.post]["r" if fb else "a"] += wrap32_array(_shift(acc, wexp))
            for n, lp in learn.items():
                s = (out_spk[lp.pre] != 0).astype(np.int64)
                acc = np.zeros(lp.WT.shape[1], np.int64)
                forward(lp.WT, s, acc)
                state[lp.post]["a"] += wrap32_array(_shift(acc, lp.wexp))
                post = state[lp.post]
                lp.step(t, s, post["s"], post["y"] if lp.three else None)
            for k in per:
                name, obs = k.rsplit(".", 1)
                per[k][t - 1] = _observe(program, name, obs, out_spk, state, learn)
        for k in per:
            results[k].append(per[k])
        for q, n in enumerate(lnames):
            sat[b, q], first[b, q] = learn[n].sat, learn[n].first
        for n, lp in learn.items():
            finals[f"{n}.weights"].append(lp.WT.T.copy())
            finals[f"{n}.tag_1_final"].append(lp.T1T.T.copy())
            finals[f"{n}.tag_2_final"].append(lp.D2T.T.copy())

    def stacked(k):
        name, obs = k.rsplit(".", 1)
        return np.stack(results[k]).reshape((batch, steps) + _obs_shape(program, name, obs, full=True))

    messages = learning_overflow_messages(program, neurons, ovf, lnames, sat, first, strict)
    recordings = {f"{n}.{o}": stacked(f"{n}.{o}") for n, o in rec}
    recordings.update({k: np.stack(v) for k, v in finals.items()})
    outputs = {}
    for key, o in program.outputs.items():
        val = stacked(f"{o.population}.{o.observable}")
        outputs[key] = val if o.observable == "spikes" else val.astype(np.float64) * float(o.scale)
    return RunResult(
        outputs=outputs,
        recordings=recordings,
        backend="emulator:loihi2",
        fidelity=FIDELITY_BIT_EXACT,
        reference=spec.REFERENCE,
        semantics=dict(program.semantics),
        warnings=messages,
    )


def learning_overflow_messages(
    program: Program,
    lif_names: list[str],
    ovf: np.ndarray,
    proj_names: list[str],
    sat: np.ndarray,
    first: np.ndarray,
    strict: bool,
) -> list[str]:
    """The run's overflow warnings: u wrap / v saturation per population (the static runs' own
    lines, ``ovf`` (batch, n_pops, 2) first steps) and, per learning projection, saturated synapse
    updates of weights / tag_2 / tag_1 and clipped trace impulses (``sat`` counts and ``first``
    steps, (batch, n_proj, SAT_COLS)). ``strict``: raise :class:`NumericOverflowError` for the
    earliest (step, sample) of any of them instead."""
    from .run import _overflow_messages

    if strict:
        events = []  # (step, sample, is_projection, index, column)
        for b in range(ovf.shape[0]):
            for k in range(ovf.shape[1]):
                for c in range(2):
                    if ovf[b, k, c]:
                        events.append((int(ovf[b, k, c]), b, 0, k, c))
            for q in range(first.shape[1]):
                for c in range(SAT_COLS):
                    if first[b, q, c]:
                        events.append((int(first[b, q, c]), b, 1, q, c))
        if events:
            t, b, is_proj, k, c = min(events)
            if not is_proj:
                _overflow_messages(lif_names, ovf, True)  # raises the static runs' error
            name = proj_names[k]
            raise NumericOverflowError(
                f"{_sat_phrase(program, name, c)} at step {t} of sample {b} (strict mode)",
                node=name,
                parameter=SAT_WHAT[c],
                expected="no saturation; lower the rule's amplitudes or trace impulses, or keep the "
                "weights away from the sign mode's range ends",
            )
    msgs = _overflow_messages(lif_names, ovf, False)
    for q, name in enumerate(proj_names):
        parts = []
        for c in range(SAT_COLS):
            hit = np.nonzero(sat[:, q, c])[0]
            if hit.size:
                b = int(hit[np.argmin(first[hit, q, c])])
                unit = "impulse(s)" if c == SAT_TRACES else "synapse update(s)"
                parts.append(
                    f"{_sat_phrase(program, name, c)}: {int(sat[:, q, c].sum())} {unit} in "
                    f"{hit.size} sample(s), first at step {int(first[b, q, c])} of sample {b}"
                )
        if parts:
            msgs.append(
                f"projection '{name}': "
                + "; ".join(parts)
                + " (bit-exact with Lava, which clips them the same way; strict=True raises)"
            )
    return msgs


def _sat_phrase(program: Program, name: str, c: int) -> str:
    if c == SAT_TRACES:
        return f"trace impulses clipped to [0, {spec.TRACE_MAX}]"
    if c == SAT_W:
        lo, hi = spec.WEIGHT_RANGE[int(program.projections[name].params["sign_mode"])]
        where = f"the sign mode's range [{lo}, {hi}]"
    else:
        lo, hi = spec.TAG_2_RANGE if c == SAT_D else spec.TAG_1_RANGE
        where = f"[{lo}, {hi}]"
    return f"{SAT_WHAT[c]} saturated (16-bit accumulator or {where})"


def _obs_shape(program: Program, name: str, obs: str, full: bool = False) -> tuple[int, ...]:
    if name in program.populations:
        pop = program.populations[name]
        return tuple(pop.shape) if full else (pop.size,)
    proj = program.projections[name]
    n_pre, n_post = program.populations[proj.pre].size, program.populations[proj.post].size
    if obs in ("w", "weights", "tag_1", "tag_2"):
        return (n_post, n_pre)
    return (n_pre,) if obs.startswith("x") else (n_post,)


def _observe(program, name, obs, out_spk, state, learn):
    if name in program.populations:
        if obs == "spikes":
            return out_spk[name]
        return state[name][obs]
    lp = learn[name]
    if obs in ("w", "weights"):
        return lp.WT.T
    if obs == "tag_1":
        return lp.T1T.T
    if obs == "tag_2":
        return lp.D2T.T
    if obs.startswith("x"):
        return lp.xtr[int(obs[1]) - 1]
    return lp.ytr[int(obs[1]) - 1]


def parse_learning_record(record: Any) -> list[tuple[str, str]]:
    """``"POP.v,PROJ.w,PROJ.x1"``, an iterable of such strings or of (name, observable) pairs."""
    if record is None:
        return []
    items = record.split(",") if isinstance(record, str) else list(record)
    out = []
    for it in items:
        if isinstance(it, str):
            it = it.strip()
            if not it:
                continue
            name, sep, obs = it.rpartition(".")
            if not sep or not name:
                raise InputDataError(
                    f"cannot parse record item {it!r}", parameter="record", expected="NAME.observable"
                )
            out.append((name, obs))
        else:
            out.append((str(it[0]), str(it[1])))
    return out


def run_learning_entry(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    record: Any,
    fused: bool | None = None,
    separable: bool = True,
    strict: bool = False,
) -> RunResult:
    """Validate, check the run data (same rules as the fast path) and run (``strict``: see
    :func:`run_learning_program`)."""
    from neurocompile.targets.loihi2.schema import validate_program

    from .run import _check_values, _gather_inputs

    validate_program(program)
    arrays, batch, steps = _gather_inputs(program, inputs)
    _check_values(program, arrays)
    return run_learning_program(
        program,
        arrays,
        batch,
        steps,
        parse_learning_record(record),
        fused=fused,
        separable=separable,
        strict=strict,
    )


# =========================================================================== fused kernel
# The whole step loop of one sample in one compiled function (no Python per step). It runs the
# same equations in the same order as ``run_learning_program``'s Python loop above (which stays
# as the reference path and serves runs that record per-step projection state). Every
# population lives in one flat index space (inputs and neurons); static and learning
# projections are flattened tables with offsets. Used when only population observables
# (spikes, v, u) are recorded per step. The kernels take named tables (``NamedTuple``s of
# arrays, unpacked by field name): :class:`Net`, :class:`Rules`, :class:`State`, :class:`Rec`.

_KIND_CODE = {"input": 0, "lif": 1, "lif_reset": 2, "lif_3f": 3}
_FUSED_POP_OBS = ("spikes", "v", "u")

# NP columns (one row per neuron of the flat index space); then six lif_3f learning-signal fields
# (targets/loihi2/signals.py) and the neuron's index in its population (the dither's)
N_KIND, N_FU, N_FV, N_VTH, N_RINT, N_ROFF, N_Y1IMP, N_Y1DEC, N_Y3IMP, N_Y3DEC, N_REWARD = range(11)
N_PSIH, N_PSIS, N_SMODE, N_ERROUT, N_SSH, N_SLSB, N_IDX = range(11, 18)
NP_COLS = 18
#: the learning-signal fields the fused kernel models (signals.SIGNAL_FIELDS); a Program using a field
#: outside this set runs on the per-step path
FUSED_SIGNAL_FIELDS = ("psi_height", "psi_shift", "signal_mode", "error_out", "signal_shift", "signal_lsb")
# SI columns (one row per static dense projection); S_FB: a feedback projection (errors of its pre
# population into the third-factor input of its post, received the next step)
S_PRE, S_NPRE, S_POST, S_NPOST, S_WOFF, S_WEXP, S_GRADED, S_FB = range(8)
SI_COLS = 8
# LI columns (one row per learning projection); *_HAS, *_IMP, *_FRAC are 2 (x1, x2) or 3 (y1..y3)
# wide, TGT 3 wide (dw, dd, dt)
(L_XO, L_NPRE, L_YO, L_NPOST, L_WOFF, L_WEXP, L_TE, L_THREE, L_KDEC, L_SIGN, L_P0, L_NPROD) = range(12)
L_TGT, L_XHAS, L_XIMP, L_XFRAC, L_YHAS, L_YIMP, L_YFRAC, L_PRE, L_POST = 12, 15, 17, 19, 21, 24, 27, 30, 31
LI_COLS = 32
# LF columns: x1, x2, y1, y2, y3 decay factors
F_X, F_Y = 0, 2


class Net(NamedTuple):
    """Neurons and static projections: ``in_idx`` (flat index of every input column), ``NP``
    (n, NP_COLS) neuron table, ``bias``/``U0``/``V0`` per neuron, ``SI`` (static projections,
    SI_COLS) with their dense effective weights ``SW`` (post-major rows), and ``POP`` the index
    of every neuron's population among the neuron populations (-1: input)."""

    in_idx: np.ndarray
    NP: np.ndarray
    bias: np.ndarray
    U0: np.ndarray
    V0: np.ndarray
    SI: np.ndarray
    SW: np.ndarray
    POP: np.ndarray


class Rules(NamedTuple):
    """Learning projections: ``LI`` (LI_COLS) and ``LF`` (trace decay factors) per projection,
    ``LS`` (fast kernel: :mod:`.separable`, which hands w/d/t rules to :mod:`.synaptic`), products ``PT``
    (target, dependency, mantissa, exponent, pre-shift, first factor, factor count) with kinds ``PK``,
    factors ``FT`` (variable, sign flag) and constants ``FC``; the replayed random draws
    ``RXD``/``RXI``/``RYD``/``RYI`` (2 per step) and ``RW`` (per epoch); the largest t_epoch / pre / post
    sizes."""

    LI: np.ndarray
    LS: np.ndarray
    LF: np.ndarray
    PT: np.ndarray
    PK: np.ndarray
    FT: np.ndarray
    FC: np.ndarray
    RXD: np.ndarray
    RXI: np.ndarray
    RYD: np.ndarray
    RYI: np.ndarray
    RW: np.ndarray
    max_te: int
    max_pre: int
    max_post: int


class State(NamedTuple):
    """Learned and trace state of one sample (flat over the learning projections) and scratch:
    ``WT``/``D2T``/``T1T`` (weights, tag_2, tag_1; pre-major), ``TX``/``TY`` (last spike time in
    the epoch), ``XTR``/``YTR`` (traces), ``hx``/``hy`` (trace histories of one epoch),
    ``ylist``/``old``/``acc``/``spk``/``fw`` (per-projection scratch), ``raw`` (scratch: the
    accumulators' sums without clips), the overflow record ``OVF`` (n_pops, 2: first step of a u
    wrap / v saturation per neuron population) and the saturation counters ``SAT`` / first steps
    ``FIRST`` (n_proj, SAT_COLS) per learning projection."""

    WT: np.ndarray
    D2T: np.ndarray
    T1T: np.ndarray
    TX: np.ndarray
    TY: np.ndarray
    XTR: np.ndarray
    YTR: np.ndarray
    hx: np.ndarray
    hy: np.ndarray
    ylist: np.ndarray
    old: np.ndarray
    acc: np.ndarray
    spk: np.ndarray
    fw: np.ndarray
    raw: np.ndarray
    OVF: np.ndarray
    SAT: np.ndarray
    FIRST: np.ndarray


class Rec(NamedTuple):
    """What :func:`fused_run` records per step (flags) and where ((steps, n) or empty)."""

    s: bool
    v: bool
    u: bool
    S: np.ndarray
    V: np.ndarray
    U: np.ndarray


@njit(inline="always")
def _history_flat(h, tr, off, tspk, n, T_e, side, rdec, rimp):
    """Like ``_history`` but into the scratch ``h`` (T_e+1, K, n_max) from flat state: traces
    ``tr[:, off:off + n]``, spike times ``tspk[off:off + n]``, parameters ``side`` (TraceSide).
    Returns how many impulses were clipped."""
    K = side.fac.shape[0]
    nsat = 0
    for k in range(K):
        for j in range(n):
            h[0, k, j] = tr[k, off + j]
    for s in range(1, T_e + 1):
        for k in range(K):
            if side.has_tau[k]:
                f = side.fac[k]
                for j in range(n):
                    h[s, k, j] = trace_decay(h[s - 1, k, j], f, rdec)
            else:
                for j in range(n):
                    h[s, k, j] = 0
        for j in range(n):
            if tspk[off + j] == s:
                for k in range(K):
                    h[s, k, j], c = trace_impulse_sat(h[s, k, j], side.imp_int[k], side.imp_frac[k], rimp)
                    nsat += c
    return nsat


@njit(inline="always")
def _epoch_traces(q, t, R, st):
    """Trace histories of learning projection ``q`` for the epoch ending at t, and the traces
    advanced to the end of the epoch (y traces only for two-factor rules)."""
    LI = R.LI
    n_pre, n_post, xo, yo = LI[q, L_NPRE], LI[q, L_NPOST], LI[q, L_XO], LI[q, L_YO]
    T_e, three = LI[q, L_TE], LI[q, L_THREE]
    xs = TraceSide(
        R.LF[q, F_X : F_X + 2],
        LI[q, L_XHAS : L_XHAS + 2],
        LI[q, L_XIMP : L_XIMP + 2],
        LI[q, L_XFRAC : L_XFRAC + 2],
    )
    ys = TraceSide(
        R.LF[q, F_Y : F_Y + 3],
        LI[q, L_YHAS : L_YHAS + 3],
        LI[q, L_YIMP : L_YIMP + 3],
        LI[q, L_YFRAC : L_YFRAC + 3],
    )
    st.SAT[q, SAT_TRACES] += _history_flat(
        st.hx, st.XTR, xo, st.TX, n_pre, T_e, xs, R.RXD[q, 2 * t], R.RXI[q, 2 * t]
    )
    st.SAT[q, SAT_TRACES] += _history_flat(
        st.hy, st.YTR, yo, st.TY, n_post, T_e, ys, R.RYD[q, 2 * t], R.RYI[q, 2 * t]
    )
    for k in range(2):
        for j in range(n_pre):
            st.XTR[k, xo + j] = st.hx[T_e, k, j]
    if three == 0:
        for k in range(3):
            for i in range(n_post):
                st.YTR[k, yo + i] = st.hy[T_e, k, i]


@njit(inline="always")
def _learn_sep_flat(q, t, R, st):
    """Epoch learning of a separable projection ``q`` (:mod:`.separable`), then tx/ty reset."""
    LI = R.LI
    n_pre, n_post, woff, xo, yo = LI[q, L_NPRE], LI[q, L_NPOST], LI[q, L_WOFF], LI[q, L_XO], LI[q, L_YO]
    T_e = LI[q, L_TE]
    _epoch_traces(q, t, R, st)
    pj = Proj(
        n_pre,
        n_post,
        woff,
        T_e,
        LI[q, L_KDEC],
        LI[q, L_SIGN],
        LI[q, L_P0],
        LI[q, L_NPROD],
        LI[q, L_TGT : L_TGT + 3],
    )
    nw, nd, nt = learn_separable(
        t,
        pj,
        Products(R.PT, R.PK, R.FT, R.FC, _WIDTH),
        st,
        st.TX[xo : xo + n_pre],
        st.TY[yo : yo + n_post],
        R.RW[q, t // T_e],
    )
    st.SAT[q, SAT_W] += nw
    st.SAT[q, SAT_D] += nd
    st.SAT[q, SAT_T] += nt
    for j in range(n_pre):
        st.TX[xo + j] = 0
    for i in range(n_post):
        st.TY[yo + i] = 0


@njit(inline="always")
def _learn_flat(q, t, R, st):
    """Epoch learning of learning projection ``q`` at step t (same arithmetic as ``learn_phase``)."""
    LI, PT, FT, FC = R.LI, R.PT, R.FT, R.FC
    WT, D2T, T1T, TX, TY, hx, hy = st.WT, st.D2T, st.T1T, st.TX, st.TY, st.hx, st.hy
    ylist, old, acc, raw = st.ylist, st.old, st.acc, st.raw
    n_pre, n_post, woff = LI[q, L_NPRE], LI[q, L_NPOST], LI[q, L_WOFF]
    xo, yo = LI[q, L_XO], LI[q, L_YO]
    T_e, k_dec, sign_mode = LI[q, L_TE], LI[q, L_KDEC], LI[q, L_SIGN]
    p0, np_ = LI[q, L_P0], LI[q, L_NPROD]
    _epoch_traces(q, t, R, st)
    rw = R.RW[q, t // T_e]
    u = 0
    if k_dec >= 0:
        u = 1 if (t // T_e) % (1 << k_dec) == 0 else 0
    has_u = False
    has_x0 = False
    has_y0 = False
    for r in range(p0, p0 + np_):
        if PT[r, 1] == 2:
            has_u = u == 1
        elif PT[r, 1] == 0:
            has_x0 = True
        else:
            has_y0 = True
    ny = 0
    for i in range(n_post):
        if TY[yo + i] > 0:
            ylist[ny] = i
            ny += 1
    thr = round_threshold_jit(rw)
    for j in range(n_pre):
        txj = TX[xo + j]
        x0 = 1 if txj > 0 else 0
        full = has_u or (has_x0 and x0 == 1)
        cnt = n_post if full else (ny if has_y0 else 0)
        for c in range(cnt):
            i = c if full else ylist[c]
            tyi = TY[yo + i]
            y0 = 1 if tyi > 0 else 0
            idx = woff + j * n_post + i
            old[0] = WT[idx]
            old[1] = D2T[idx]
            old[2] = T1T[idx]
            for z in range(3):
                acc[z] = old[z] << SYN_VAR_SHIFT
                raw[z] = acc[z]
            for r in range(p0, p0 + np_):
                dep = PT[r, 1]
                g = x0 if dep == 0 else (y0 if dep == 1 else u)
                if g == 0:
                    continue
                z = PT[r, 0]
                m = np.int64(1)
                for f in range(PT[r, 5], PT[r, 5] + PT[r, 6]):
                    var = FT[f, 0]
                    c0 = FC[f]
                    if var == 0:
                        val = x0 + c0
                    elif var == 1:
                        val = y0 + c0
                    elif var <= 3:
                        s = txj if dep == 0 else (tyi if dep == 1 else T_e)
                        val = hx[s, var - 2, j] + c0
                    elif var <= 6:
                        s = txj if dep == 0 else (tyi if dep == 1 else T_e)
                        val = hy[s, var - 4, i] + c0
                    elif var <= 9:
                        val = old[var - 7] + c0
                        if FT[f, 1]:
                            val = 1 if val > 0 else (-1 if val < 0 else 0)
                    else:
                        val = c0
                    m = wrap32(m * clip_factor(val, _WIDTH[var]))
                m = finish_product(m, PT[r, 2], PT[r, 4], PT[r, 3])
                acc[z] = accumulate(acc[z], m)
                raw[z] += m
            for z in range(3):
                if not LI[q, L_TGT + z]:
                    continue
                plo, phi, lo, hi = target_bounds(z, sign_mode)
                rr, c = write_back_sat(acc[z], raw[z], thr, plo, phi, lo, hi)
                st.SAT[q, z] += c
                if z == 0:
                    WT[idx] = rr
                elif z == 1:
                    D2T[idx] = rr
                else:
                    T1T[idx] = rr
    for j in range(n_pre):
        TX[xo + j] = 0
    for i in range(n_post):
        TY[yo + i] = 0


@njit(cache=True)
def fused_run(steps, IN, net, R, st, rec):
    """All steps of one sample: inputs ``IN`` (steps, n_in), the network ``net`` (:class:`Net`),
    learning rules ``R`` (:class:`Rules`), state ``st`` (:class:`State`, updated in place) and
    recordings ``rec`` (:class:`Rec`). NP, SI, LI columns: the ``N_*``, ``S_*``, ``L_*`` names."""
    NP, bias, SI, SW, LI = net.NP, net.bias, net.SI, net.SW, R.LI
    WT, TX, TY, XTR, YTR, spk, fw = st.WT, st.TX, st.TY, st.XTR, st.YTR, st.spk, st.fw
    n = NP.shape[0]
    U = net.U0.copy()
    V = net.V0.copy()
    A = np.zeros(n, np.int64)
    S = np.zeros(n, np.int64)
    Y = np.zeros((3, n), np.int64)
    RIN = np.zeros(n, np.int64)  # third-factor input from feedback projections (sent at t-1)
    ERR = np.zeros(n, np.int64)  # error payloads (y2 - y3) of error_out neurons
    n_lp = LI.shape[0]
    for t in range(1, steps + 1):
        for c in range(net.in_idx.shape[0]):
            S[net.in_idx[c]] = IN[t - 1, c]
        for k in range(n):
            kind = NP[k, N_KIND]
            if kind == 0:
                continue
            a = wrap32(A[k])
            A[k] = 0
            uu = U[k]
            vv = V[k]
            if kind == 2:
                ri = NP[k, N_RINT]
                if t % ri == NP[k, N_ROFF] % ri:
                    uu = 0
                    vv = 0
            x, y, ub, vb = lif_uv(uu, vv, a, NP[k, N_FU], NP[k, N_FV], bias[k])
            if ub or vb:
                pk = net.POP[k]
                if ub and st.OVF[pk, 0] == 0:
                    st.OVF[pk, 0] = t
                if vb and st.OVF[pk, 1] == 0:
                    st.OVF[pk, 1] = t
            U[k] = x
            if y > NP[k, N_VTH]:
                V[k] = 0
                S[k] = 1
            else:
                V[k] = y
                S[k] = 0
            if kind == 3:  # signals.lif3f_traces
                ri = NP[k, N_REWARD]
                r = RIN[k] + (S[ri] if ri >= 0 else 0)
                RIN[k] = 0
                lsb = NP[k, N_SLSB]
                nb = NP[k, N_SSH] + lsb
                if nb > 0:  # dithered rounding to a multiple of 2^lsb
                    r = ((r + dither(t, NP[k, N_IDX], nb)) >> nb) << lsb
                hi = (TRACE_MAX >> lsb) << lsb
                psih = NP[k, N_PSIH]
                if psih > 0:  # pseudo-derivative of v before the reset
                    Y[0, k] = max(psih - (abs(y - NP[k, N_VTH]) >> NP[k, N_PSIS]), 0)
                else:
                    Y[0, k] = y_trace(Y[0, k], NP[k, N_Y1DEC], NP[k, N_Y1IMP], S[k])
                Y[1, k] = clip(r, 0, hi)
                if NP[k, N_SMODE] == 1:
                    Y[2, k] = clip(-r, 0, hi)
                else:
                    Y[2, k] = y_trace(Y[2, k], NP[k, N_Y3DEC], NP[k, N_Y3IMP], S[k])
                if NP[k, N_ERROUT]:
                    ERR[k] = Y[1, k] - Y[2, k]
        for q in range(SI.shape[0]):
            po, npre, qo, npost = SI[q, S_PRE], SI[q, S_NPRE], SI[q, S_POST], SI[q, S_NPOST]
            wo, wexp, graded = SI[q, S_WOFF], SI[q, S_WEXP], SI[q, S_GRADED]
            src = ERR if SI[q, S_FB] else S
            dst = RIN if SI[q, S_FB] else A
            for i in range(npost):
                s_ = np.int64(0)
                base = wo + i * npre
                if graded:
                    for j in range(npre):
                        s_ += SW[base + j] * src[po + j]
                    s_ = wrap32(s_)
                else:
                    for j in range(npre):
                        if src[po + j] != 0:
                            s_ += SW[base + j]
                dst[qo + i] += wrap32(shift_exp(s_, wexp))
        for q in range(n_lp):
            po, npre, qo, npost = LI[q, L_PRE], LI[q, L_NPRE], LI[q, L_POST], LI[q, L_NPOST]
            wo, wexp = LI[q, L_WOFF], LI[q, L_WEXP]
            xo, yo, T_e = LI[q, L_XO], LI[q, L_YO], LI[q, L_TE]
            for i in range(npost):
                fw[i] = 0
            for j in range(npre):
                spk[j] = 1 if S[po + j] != 0 else 0
                if spk[j]:
                    row = WT[wo + j * npost : wo + (j + 1) * npost]
                    for i in range(npost):
                        fw[i] += row[i]
            for i in range(npost):
                A[qo + i] += wrap32(shift_exp(fw[i], wexp))
            # spike phase (pre: deterministic multi-spike impulse; bAP: Y.imp draw 2t-1)
            wet = t % T_e
            if wet == 0:
                wet = T_e
            for j in range(npre):
                if spk[j]:
                    if TX[xo + j] > 0:
                        for k in range(2):
                            XTR[k, xo + j], c = trace_impulse_sat(
                                XTR[k, xo + j], LI[q, L_XIMP + k], LI[q, L_XFRAC + k], 0
                            )
                            st.SAT[q, SAT_TRACES] += c
                    TX[xo + j] = wet
            yr = R.RYI[q, 2 * t - 1]
            for i in range(npost):
                if S[qo + i] != 0:
                    if TY[yo + i] > 0:
                        for k in range(3):
                            YTR[k, yo + i], c = trace_impulse_sat(
                                YTR[k, yo + i], LI[q, L_YIMP + k], LI[q, L_YFRAC + k], yr
                            )
                            st.SAT[q, SAT_TRACES] += c
                    TY[yo + i] = wet
            if LI[q, L_THREE]:
                for k in range(3):
                    for i in range(npost):
                        YTR[k, yo + i] = Y[k, qo + i]
            if t % T_e == 0:
                if R.LS[q]:
                    _learn_sep_flat(q, t, R, st)
                else:
                    _learn_flat(q, t, R, st)
            for c in range(SAT_COLS):
                if st.SAT[q, c] > 0 and st.FIRST[q, c] == 0:
                    st.FIRST[q, c] = t
        if rec.s:
            for k in range(n):
                rec.S[t - 1, k] = S[k]
        if rec.v:
            for k in range(n):
                rec.V[t - 1, k] = V[k]
        if rec.u:
            for k in range(n):
                rec.U[t - 1, k] = U[k]


class FusedPlan:
    """Flat tables of a Program for :func:`fused_run` (built once per run, shared by samples)."""

    def __init__(self, program: Program, steps: int, separable: bool = True):
        pops, projs = program.populations, program.projections
        self.off, o = {}, 0
        for name, pop in pops.items():
            self.off[name] = o
            o += pop.size
        n = o
        self.n = n
        NP = np.zeros((n, NP_COLS), np.int64)
        NP[:, N_REWARD] = -1
        self.lif_names = [name for name, pop in pops.items() if pop.kind in spec.NEURON_KINDS]
        self.lnames = [name for name, proj in projs.items() if proj.kind == "learning_dense"]
        POP = np.full(n, -1, np.int64)
        for k, name in enumerate(self.lif_names):
            POP[self.off[name] : self.off[name] + pops[name].size] = k
        bias = np.zeros(n, np.int64)
        self.u0 = np.zeros(n, np.int64)
        self.v0 = np.zeros(n, np.int64)
        key_of = {pop: key for key, pop in program.inputs.items()}
        self.inputs = []
        for name, pop in pops.items():
            a, b = self.off[name], self.off[name] + pop.size
            p = pop.params
            NP[a:b, N_KIND] = _KIND_CODE[pop.kind]
            if pop.kind == "input":
                self.inputs.append((key_of[name], a, pop.size))
                continue
            mant = np.asarray(p["bias_mant"], np.int64).reshape(-1)
            bexp = np.asarray(p["bias_exp"], np.int64).reshape(-1)
            bias[a:b] = np.where(bexp >= 0, mant << np.maximum(bexp, 0), mant >> np.maximum(-bexp, 0))
            self.u0[a:b] = np.asarray(p.get("u_init", 0), np.int64).reshape(-1)
            self.v0[a:b] = np.asarray(p.get("v_init", 0), np.int64).reshape(-1)
            for idx, fu, fv in _decay_groups(p, pop.size):  # per-neuron decays (lif) or one
                NP[a:b, N_FU][idx] = fu
                NP[a:b, N_FV][idx] = fv
            NP[a:b, N_VTH] = int(p["vth"]) << spec.VTH_SHIFT
            if pop.kind == "lif_reset":
                NP[a:b, N_RINT] = int(p["reset_interval"])
                NP[a:b, N_ROFF] = int(p["reset_offset"])
            if pop.kind == "lif_3f":
                NP[a:b, N_Y1IMP : N_Y3DEC + 1] = [
                    int(p["y1_impulse"]),
                    int(p["y1_decay"]),
                    int(p["y3_impulse"]),
                    int(p["y3_decay"]),
                ]
                if p["reward"]:
                    NP[a:b, N_REWARD] = self.off[p["reward"]] + np.arange(pop.size)
                NP[a:b, N_IDX] = np.arange(pop.size)
                for col, key in zip((N_PSIH, N_PSIS, N_SMODE, N_ERROUT, N_SSH, N_SLSB), FUSED_SIGNAL_FIELDS):
                    NP[a:b, col] = int(p.get(key, SIGNAL_FIELDS.get(key, 0)))
        self.NP, self.bias = NP, bias
        self.in_idx = (
            np.concatenate([np.arange(a, a + s) for _, a, s in self.inputs]).astype(np.int64)
            if self.inputs
            else np.zeros(0, np.int64)
        )
        SI, SW, wo = [], [], 0
        LI, LF, PT, FT, FC, RXD, RXI, RYD, RYI, RW = [], [], [], [], [], [], [], [], [], []
        LS, PK = [], []
        W, D2, T1 = [], [], []
        xo = yo = lwo = 0
        self.learn = []
        for name, proj in projs.items():
            n_pre, n_post = pops[proj.pre].size, pops[proj.post].size
            if proj.kind == "dense":
                w = effective_weights(
                    np.asarray(proj.params["weights"]).reshape(n_post, n_pre),
                    int(proj.params["sign_mode"]),
                    int(proj.params["num_weight_bits"]),
                )
                SI.append(
                    (
                        self.off[proj.pre],
                        n_pre,
                        self.off[proj.post],
                        n_post,
                        wo,
                        int(proj.params["weight_exp"]),
                        int(int(proj.params["num_message_bits"]) > 0),
                        int(int(proj.params.get("feedback", 0)) > 0),
                    )
                )
                SW.append(np.asarray(w, np.int64).reshape(-1))
                wo += n_pre * n_post
                continue
            lp = _LearnProj(proj, n_pre, n_post, steps)
            self.learn.append((name, lwo, n_pre, n_post))
            row = np.zeros(LI_COLS, np.int64)
            row[L_XO : L_NPROD + 1] = (
                xo,
                n_pre,
                yo,
                n_post,
                lwo,
                lp.wexp,
                lp.t_epoch,
                int(lp.three),
                lp.k_dec,
                lp.sign_mode,
                len(PT),
                lp.ptab.shape[0],
            )
            row[L_TGT : L_TGT + 3] = lp.tgt_has
            row[L_XHAS : L_XHAS + 2] = lp.xhas
            row[L_XIMP : L_XIMP + 2] = lp.ximp_int
            row[L_XFRAC : L_XFRAC + 2] = lp.ximp_frac
            row[L_YHAS : L_YHAS + 3] = lp.yhas
            row[L_YIMP : L_YIMP + 3] = lp.yimp_int
            row[L_YFRAC : L_YFRAC + 3] = lp.yimp_frac
            row[L_PRE], row[L_POST] = self.off[proj.pre], self.off[proj.post]
            LI.append(row)
            LF.append(np.concatenate([lp.xfac, lp.yfac]))
            sep, kinds = classify(lp.ptab, lp.ftab)
            LS.append(bool(sep and separable))
            PK.extend(kinds.tolist())
            pt = lp.ptab.copy()
            pt[:, 5] += len(FT)
            PT.extend(pt.tolist())
            FT.extend(lp.ftab.tolist())
            FC.extend(lp.fconst.tolist())
            RXD.append(lp.rxd)
            RXI.append(lp.rxi)
            RYD.append(lp.ryd)
            RYI.append(lp.ryi)
            rw = np.zeros(steps + 1)
            rw[: lp.rw.shape[0]] = lp.rw
            RW.append(rw)
            W.append(lp.WT.reshape(-1))
            D2.append(lp.D2T.reshape(-1))
            T1.append(lp.T1T.reshape(-1))
            xo += n_pre
            yo += n_post
            lwo += n_pre * n_post
        i64 = np.int64
        self.SI = np.array(SI, i64).reshape(-1, SI_COLS)
        self.SW = np.concatenate(SW).astype(i64) if SW else np.zeros(0, i64)
        self.LI = np.array(LI, i64).reshape(-1, LI_COLS)
        self.LF = np.array(LF, np.float64).reshape(-1, 5)
        self.LS = np.array(LS, np.bool_)
        self.PK = np.array(PK, i64)
        self.PT = np.array(PT, i64).reshape(-1, 7)
        self.FT = np.array(FT, i64).reshape(-1, 2)
        self.FC = np.array(FC, i64)
        m = 2 * steps + 1
        self.RXD = np.array(RXD, np.float64).reshape(-1, m)
        self.RXI = np.array(RXI, i64).reshape(-1, m)
        self.RYD = np.array(RYD, np.float64).reshape(-1, m)
        self.RYI = np.array(RYI, i64).reshape(-1, m)
        self.RW = np.array(RW, np.float64).reshape(-1, steps + 1)
        # learned state as int16 (weights [-256, 255], tags [-257, 255]): 4x less memory traffic
        # (int64 kept should a validated Program ever hold a value outside int16)
        fits = all(a.size == 0 or (a.min() >= -(2**15) and a.max() < 2**15) for a in W + D2 + T1)
        dt = np.int16 if fits else i64
        self.W0, self.D20, self.T10 = (
            np.concatenate(a).astype(dt) if a else np.zeros(0, dt) for a in (W, D2, T1)
        )
        self.max_te = int(self.LI[:, L_TE].max()) if len(LI) else 1
        self.max_pre = int(self.LI[:, L_NPRE].max()) if len(LI) else 1
        self.max_post = int(self.LI[:, L_NPOST].max()) if len(LI) else 1
        self.net = Net(self.in_idx, self.NP, self.bias, self.u0, self.v0, self.SI, self.SW, POP)
        self.rules = Rules(
            self.LI,
            self.LS,
            self.LF,
            self.PT,
            self.PK,
            self.FT,
            self.FC,
            self.RXD,
            self.RXI,
            self.RYD,
            self.RYI,
            self.RW,
            self.max_te,
            self.max_pre,
            self.max_post,
        )

    def new_state(self) -> State:
        """A sample's initial learned state (copies) and zeroed traces and scratch."""
        LI = self.LI
        tot_pre = int((LI[:, L_XO] + LI[:, L_NPRE]).max()) if len(LI) else 0
        tot_post = int((LI[:, L_YO] + LI[:, L_NPOST]).max()) if len(LI) else 0
        i64 = np.int64
        return State(
            self.W0.copy(),
            self.D20.copy(),
            self.T10.copy(),
            np.zeros(tot_pre, i64),
            np.zeros(tot_post, i64),
            np.zeros((2, tot_pre), i64),
            np.zeros((3, tot_post), i64),
            np.zeros((self.max_te + 1, 2, self.max_pre), i64),
            np.zeros((self.max_te + 1, 3, self.max_post), i64),
            np.zeros(self.max_post, i64),
            np.zeros(3, i64),
            np.zeros(3, i64),
            np.zeros(self.max_pre, i64),
            np.zeros(self.max_post, i64),
            np.zeros(3, i64),
            np.zeros((len(self.lif_names), 2), i64),
            np.zeros((len(self.lnames), SAT_COLS), i64),
            np.zeros((len(self.lnames), SAT_COLS), i64),
        )

    def run(
        self, arrays: Mapping[str, np.ndarray], b: int, steps: int, rec_s: bool, rec_v: bool, rec_u: bool
    ):
        IN = np.zeros((steps, self.in_idx.shape[0]), np.int64)
        c = 0
        for key, a, size in self.inputs:
            IN[:, c : c + size] = np.asarray(arrays[key][b]).reshape(steps, size)
            c += size
        st = self.new_state()
        W, D2, T1 = st.WT, st.D2T, st.T1T
        z = np.zeros((0, 0), np.int64)
        RS = np.zeros((steps, self.n), np.int8) if rec_s else z.astype(np.int8)
        RV = np.zeros((steps, self.n), np.int64) if rec_v else z
        RU = np.zeros((steps, self.n), np.int64) if rec_u else z
        fused_run(steps, IN, self.net, self.rules, st, Rec(rec_s, rec_v, rec_u, RS, RV, RU))
        finals = {}
        for name, wo, n_pre, n_post in self.learn:
            sl = slice(wo, wo + n_pre * n_post)
            for key, arr in (("weights", W), ("tag_1_final", T1), ("tag_2_final", D2)):
                finals[f"{name}.{key}"] = np.ascontiguousarray(arr[sl].reshape(n_pre, n_post).T).astype(
                    np.int64
                )
        return RS, RV, RU, finals, (st.OVF, st.SAT, st.FIRST)


def _run_fused(
    program: Program,
    arrays,
    batch: int,
    steps: int,
    rec,
    needed,
    separable: bool = True,
    strict: bool = False,
) -> RunResult:
    plan = FusedPlan(program, steps, separable)
    obs = {o for _, o in needed}
    per: dict[str, list[np.ndarray]] = {f"{n}.{o}": [] for n, o in needed}
    finals: dict[str, list[np.ndarray]] = {}
    ovf = np.zeros((batch, len(plan.lif_names), 2), np.int64)
    sat = np.zeros((batch, len(plan.lnames), SAT_COLS), np.int64)
    first = np.zeros((batch, len(plan.lnames), SAT_COLS), np.int64)
    for b in range(batch):
        RS, RV, RU, fin, (ovf[b], sat[b], first[b]) = plan.run(
            arrays, b, steps, "spikes" in obs, "v" in obs, "u" in obs
        )
        src = {"spikes": RS, "v": RV, "u": RU}
        for n, o in needed:
            a = plan.off[n]
            pop = program.populations[n]
            per[f"{n}.{o}"].append(
                src[o][:, a : a + pop.size].astype(np.int64).reshape((steps,) + tuple(pop.shape))
            )
        for k, v in fin.items():
            finals.setdefault(k, []).append(v)
    messages = learning_overflow_messages(program, plan.lif_names, ovf, plan.lnames, sat, first, strict)
    recordings = {f"{n}.{o}": np.stack(per[f"{n}.{o}"]) for n, o in rec}
    recordings.update({k: np.stack(v) for k, v in finals.items()})
    outputs = {}
    for key, o in program.outputs.items():
        val = np.stack(per[f"{o.population}.{o.observable}"])
        outputs[key] = val if o.observable == "spikes" else val.astype(np.float64) * float(o.scale)
    return RunResult(
        outputs=outputs,
        recordings=recordings,
        backend="emulator:loihi2",
        fidelity=FIDELITY_BIT_EXACT,
        reference=spec.REFERENCE,
        semantics=dict(program.semantics),
        warnings=messages,
    )
