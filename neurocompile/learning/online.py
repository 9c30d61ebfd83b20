"""Float reference of online learning-signal rules (e-prop, feedback alignment): the same network
and the same IR rule products as the integer chip model, in float64, step by step.

A :class:`FloatNet` is a list of populations and projections in the chip's units (so one set of
hyperparameters describes both): LIF neurons ``u <- u (1 - du/4096) + 64 a``,
``v <- v (1 - dv/4096) + u``, spike when ``v > 64 vth``, reset to 0; a projection adds
``scale * W @ s`` to its post's ``a`` for the next step. Per step, in the chip's order: neurons
update, then the post neurons' y traces (:func:`post_traces`: y1 spike trace or pseudo-derivative
``psi_height * max(0, 1 - |v - theta| / (psi_width theta))``, y2/y3 the positive/negative parts of
the learning signal, or target and own spike trace), then every projection sends, then learning
projections update their pre traces and apply every product of their rule in float, clipping w to
``w_range`` and tag 1 to ``t_range``: with ``t_epoch`` = 1, ``u``-gated products every step and
``x0``/``y0``-gated ones on pre/post spikes; with ``t_epoch`` > 1 (``u``-gated products only), once
per epoch, at steps ``t % t_epoch == 0`` counted from 1 after :meth:`FloatNet.reset` (as the chip
counts from the start of a run), on the traces and signals of that step (traces still decay and
jump every step). No rounding, no stochastic rounding, no 7-bit traces (traces are not clipped),
no 16-bit accumulator: what the integer model adds is quantization.
Feedback projections carry the learning-signal population's ``y2 - y3`` of the previous step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurocompile.errors import ParameterError

from .ir import LearningRule


@dataclass
class FPop:
    """A population: ``kind`` ``"input"`` or ``"lif"``; for learning posts ``psi_height``/``psi_width``
    (pseudo-derivative in y1), ``signal`` (``None``, ``"signed"`` = L from feedback/host split into
    y2/y3, ``"target"`` = y2 the target input, y3 the own spike trace ``y3_impulse``/``y3_tau``,
    sends L = y2 - y3), ``reward`` the input key of the target / host signal."""

    name: str
    size: int
    kind: str = "lif"
    du: float = 4095.0
    dv: float = 0.0
    vth: float = 1.0
    psi_height: float = 0.0
    psi_width: float = 1.0
    signal: str | None = None
    reward: str = ""
    y1_impulse: float = 0.0
    y1_tau: float = 0.0
    y3_impulse: float = 0.0
    y3_tau: float = 0.0


@dataclass
class FProj:
    """A projection ``post.a += scale * W @ pre`` (``W`` (n_post, n_pre) float, chip weight units,
    ``scale`` = 2^weight_exp); ``rule`` makes it plastic; ``feedback`` makes it carry the pre's
    learning signal into the post's third factor."""

    name: str
    pre: str
    post: str
    W: np.ndarray
    scale: float = 1.0
    rule: LearningRule | None = None
    feedback: bool = False
    w_range: tuple[float, float] = (-256.0, 255.0)
    t_range: tuple[float, float] = (-257.0, 255.0)


@dataclass
class FloatNet:
    pops: list[FPop]
    projs: list[FProj]
    state: dict = field(default_factory=dict)
    t: int = 0  # steps since the last reset

    def __post_init__(self):
        names = [p.name for p in self.pops]
        for pj in self.projs:
            for end in (pj.pre, pj.post):
                if end not in names:
                    raise ParameterError(f"unknown population '{end}'", node=pj.name, parameter="pre/post")
            _check_epochs(pj)
        self.reset()

    def reset(self, keep_weights: bool = True) -> None:
        """Zero neuron state, traces and the step count (weights and tags kept)."""
        self.t = 0
        st = {}
        for p in self.pops:
            st[p.name] = dict(
                u=np.zeros(p.size), v=np.zeros(p.size), a=np.zeros(p.size), r=np.zeros(p.size),
                s=np.zeros(p.size), y=np.zeros((3, p.size)), err=np.zeros(p.size),
            )  # fmt: skip
        for pj in self.projs:
            n_post, n_pre = pj.W.shape
            old = self.state.get(pj.name, {})
            st[pj.name] = dict(
                x=np.zeros((2, n_pre)), t=old.get("t", np.zeros((n_post, n_pre))) if keep_weights else None
            )
            if st[pj.name]["t"] is None:
                st[pj.name]["t"] = np.zeros((n_post, n_pre))
        self.state = st

    def pop(self, name: str) -> FPop:
        return next(p for p in self.pops if p.name == name)


def _check_epochs(pj: FProj) -> None:
    """A rule with ``t_epoch`` > 1 must have ``u``-gated products only and ``epoch_k`` = 0 (the
    spike-gated products of an epoch and decimated epochs are not modelled in float)."""
    r = pj.rule
    if r is None or r.t_epoch == 1:
        return
    gated = sorted({p.dependency for t in ("dw", "dt", "dd") for p in r.target(t) if p.dependency != "u"})
    if gated or r.epoch_k:
        raise ParameterError(
            f"the float reference runs t_epoch = {r.t_epoch} rules with u-gated products and epoch_k = 0 "
            f"only (got {gated or f'epoch_k = {r.epoch_k}'})",
            node=pj.name,
            parameter="t_epoch",
        )


def _decay(tau: float) -> float:
    return math.exp(-1.0 / tau) if tau > 0 else 0.0


def post_traces(p: FPop, st: dict, v_pre: np.ndarray, r: np.ndarray) -> None:
    """y1..y3 (and the error) of a learning post population after its LIF step (float)."""
    y, s = st["y"], st["s"]
    theta = 64.0 * p.vth
    if p.psi_height > 0:
        y[0] = p.psi_height * np.maximum(0.0, 1.0 - np.abs(v_pre - theta) / (p.psi_width * theta))
    else:
        y[0] = y[0] * _decay(p.y1_tau) + p.y1_impulse * s
    y[1] = np.maximum(r, 0.0)
    if p.signal == "signed":
        y[2] = np.maximum(-r, 0.0)
    else:
        y[2] = y[2] * _decay(p.y3_tau) + p.y3_impulse * s
    st["err"] = y[1] - y[2]


def _value(var, const, sign, pre, post, syn):
    if var in ("x1", "x2"):
        return pre[var] + const
    if var in ("y1", "y2", "y3", "x0", "y0"):
        return (post if var[0] == "y" else pre)[var] + const
    val = syn[var] + const
    return np.sign(val) if sign else val


def apply_rule(rule: LearningRule, W: np.ndarray, T: np.ndarray, pre: dict, post: dict) -> tuple:
    """One step of ``rule`` in float: (new W, new tag 1). ``pre``: {x0, x1, x2} (n_pre,),
    ``post``: {y0, y1, y2, y3} (n_post,)."""
    syn = {"w": W, "t": T, "d": np.zeros_like(W)}
    out = {"dw": np.zeros_like(W), "dt": np.zeros_like(W), "dd": np.zeros_like(W)}
    for tname in ("dw", "dt"):
        for prod in rule.target(tname):
            pv = np.ones(W.shape[1])
            qv = np.ones(W.shape[0])
            if prod.dependency == "x0":
                pv = pv * pre["x0"]
            elif prod.dependency == "y0":
                qv = qv * post["y0"]
            mats = []
            for f in prod.factors:
                val = _value(f.var, f.const, f.sign, pre, post, syn)
                if f.var[0] == "x":
                    pv = pv * val
                elif f.var[0] == "y":
                    qv = qv * val
                else:
                    mats.append(val)
            m = prod.coeff * np.outer(qv, pv)
            for mm in mats:
                m = m * mm
            out[tname] += m
    return W + out["dw"], T + out["dt"]


def step(net: FloatNet, inputs: dict[str, np.ndarray], learn: bool = True) -> None:
    """One step: ``inputs`` maps input population names (and reward keys) to (size,) arrays."""
    st = net.state
    net.t += 1
    for p in net.pops:
        s = st[p.name]
        if p.kind == "input":
            s["s"] = np.asarray(inputs[p.name], np.float64)
            continue
        u = s["u"] * (1.0 - p.du / 4096.0) + 64.0 * s["a"]
        v = s["v"] * (1.0 - p.dv / 4096.0) + u
        fire = v > 64.0 * p.vth
        s["u"], s["v"], s["s"] = u, np.where(fire, 0.0, v), fire.astype(np.float64)
        s["a"] = np.zeros(p.size)
        if p.signal is not None or p.psi_height > 0 or p.y1_impulse > 0:
            r = s["r"] + (np.asarray(inputs[p.reward], np.float64) if p.reward else 0.0)
            post_traces(p, s, v, r)
            s["r"] = np.zeros(p.size)
    for pj in net.projs:
        if pj.feedback:
            st[pj.post]["r"] = st[pj.post]["r"] + pj.scale * (pj.W @ st[pj.pre]["err"])
        else:
            st[pj.post]["a"] = st[pj.post]["a"] + pj.scale * (pj.W @ st[pj.pre]["s"])
    if not learn:
        return
    for pj in net.projs:
        if pj.rule is None:
            continue
        ps = st[pj.name]
        spre = st[pj.pre]["s"]
        for k, name in enumerate(("x1", "x2")):
            tr = pj.rule.trace(name)
            ps["x"][k] = ps["x"][k] * _decay(tr.tau) + tr.impulse * spre
        post = st[pj.post]
        pre_d = {"x0": spre, "x1": ps["x"][0], "x2": ps["x"][1]}
        if pj.rule.t_epoch != 1:
            _check_epochs(pj)  # rules may be swapped between runs
            if net.t % pj.rule.t_epoch:
                continue
        post_d = {"y0": post["s"], "y1": post["y"][0], "y2": post["y"][1], "y3": post["y"][2]}
        W, T = apply_rule(pj.rule, pj.W, ps["t"], pre_d, post_d)
        pj.W = np.clip(W, *pj.w_range)
        ps["t"] = np.clip(T, *pj.t_range)


def run(net: FloatNet, inputs: dict[str, np.ndarray], record: tuple[str, ...] = (), learn: bool = True):
    """Run ``T`` steps (``inputs``: name -> (T, size)); returns {population: (T, size) spikes} for
    ``record``."""
    T = len(next(iter(inputs.values())))
    out = {n: np.zeros((T, net.pop(n).size)) for n in record}
    for t in range(T):
        step(net, {k: v[t] for k, v in inputs.items()}, learn)
        for n in record:
            out[n][t] = net.state[n]["s"]
    return out


__all__ = ["FPop", "FProj", "FloatNet", "apply_rule", "post_traces", "run", "step"]
