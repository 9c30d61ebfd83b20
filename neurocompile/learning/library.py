"""Named library rules, each compiled to the rule IR (:mod:`neurocompile.learning.ir`).

Conventions shared by every rule here:

* Amplitudes (``A_plus``, ``A_minus``, ``eta``, ...) are weight changes in the projection's
  weight units per unit of *normalised* trace, where a trace equals 1.0 right after one
  isolated spike (sPyNNaker's convention). The IR stores traces that jump by
  ``trace_impulse`` (default 16, Lava's ``STDPLoihi`` default; <= 127 on Loihi 2), so every
  IR coefficient is the amplitude divided by ``trace_impulse`` per trace factor.
* Time constants are in steps (``tau = 0`` means the trace has no memory).
* ``kind`` and ``params`` of the returned rule keep the semantic parameters, so a target
  with a fixed menu of rules (sPyNNaker) can map the rule by name rather than by its
  products.

Knowingly approximate (documented in ``docs/learning.md``): Loihi-style engines see a
trace *including* the impulse of the spike that gates the product, so the triplet rule
subtracts the impulse with a factor constant ``(y2 - I)`` to recover the value "just
before" the spike (exact up to clipping at the trace maximum); additive bounds other than
the target's own weight range cannot be clamped exactly by a sum-of-products engine and
are reported by the target.
"""

from __future__ import annotations

from typing import Any

from neurocompile.errors import ParameterError

from .ir import SIGNAL_SOURCES, Factor, LearningRule, LearningSignal, Product, Trace, validate

WEIGHT_DEPENDENCES = ("additive", "multiplicative")


def _pos(name: str, rule: str, **vals: Any) -> None:
    for k, v in vals.items():
        if v is None or not (float(v) >= 0):
            raise ParameterError(f"must be >= 0, got {v!r}", node=rule, parameter=k)


def stdp_pair(
    *,
    A_plus: float,
    A_minus: float,
    tau_plus: float,
    tau_minus: float,
    weight_dependence: str = "additive",
    w_min: float | None = None,
    w_max: float | None = None,
    trace_impulse: float = 16.0,
    t_epoch: int = 1,
    name: str = "stdp_pair",
) -> LearningRule:
    """Pair STDP (all-to-all traces).

    additive:        dw = A+ * x1/I at each post spike  -  A- * y1/I at each pre spike
    multiplicative:  dw = A+ * (w_max - w) * x1/I at post  -  A- * (w - w_min) * y1/I at pre
    (x1: pre trace, tau_plus; y1: post trace, tau_minus; I = trace_impulse). The
    multiplicative form needs ``w_min`` and ``w_max``; in it ``A±`` are dimensionless rates.
    """
    _pos("stdp_pair", name, A_plus=A_plus, A_minus=A_minus, tau_plus=tau_plus, tau_minus=tau_minus)
    if weight_dependence not in WEIGHT_DEPENDENCES:
        raise ParameterError(
            f"unknown weight dependence {weight_dependence!r}",
            node=name,
            parameter="weight_dependence",
            expected=" or ".join(WEIGHT_DEPENDENCES),
        )
    imp = float(trace_impulse)
    if not imp > 0:
        raise ParameterError(f"trace_impulse must be > 0, got {imp}", node=name, parameter="trace_impulse")
    if weight_dependence == "additive":
        dw = (
            Product(A_plus / imp, "y0", (Factor("x1"),)),
            Product(-A_minus / imp, "x0", (Factor("y1"),)),
        )
    else:
        if w_min is None or w_max is None:
            raise ParameterError(
                "multiplicative weight dependence needs w_min and w_max",
                node=name,
                parameter="w_max" if w_max is None else "w_min",
            )
        # A+ (w_max - w) x1 = -A+ (w - w_max) x1 ;  -A- (w - w_min) y1
        dw = (
            Product(-A_plus / imp, "y0", (Factor("x1"), Factor("w", -float(w_max)))),
            Product(-A_minus / imp, "x0", (Factor("y1"), Factor("w", -float(w_min)))),
        )
    return validate(
        LearningRule(
            dw=dw,
            x1=Trace(imp, float(tau_plus)),
            y1=Trace(imp, float(tau_minus)),
            t_epoch=t_epoch,
            w_min=w_min,
            w_max=w_max,
            kind="stdp_pair",
            name=name,
            params=dict(
                A_plus=A_plus,
                A_minus=A_minus,
                tau_plus=tau_plus,
                tau_minus=tau_minus,
                weight_dependence=weight_dependence,
                w_min=w_min,
                w_max=w_max,
                trace_impulse=imp,
                t_epoch=t_epoch,
            ),
        )
    )


def stdp_triplet(
    *,
    A2_plus: float,
    A2_minus: float,
    A3_plus: float,
    A3_minus: float,
    tau_plus: float,
    tau_minus: float,
    tau_x: float,
    tau_y: float,
    w_min: float | None = None,
    w_max: float | None = None,
    trace_impulse: float = 16.0,
    t_epoch: int = 1,
    name: str = "stdp_triplet",
) -> LearningRule:
    """Triplet STDP after Pfister & Gerstner (2006), all-to-all, additive.

    Traces: r1 = x1 (tau_plus), r2 = x2 (tau_x), o1 = y1 (tau_minus), o2 = y2 (tau_y).
    At a post spike: dw = r1 * (A2+ + A3+ * o2(t-eps));  at a pre spike:
    dw = -o1 * (A2- + A3- * r2(t-eps)). The "before the spike" value o2(t-eps) is written
    ``(y2 - I)``: the gated engine sees y2 after its own impulse.
    """
    _pos(
        "stdp_triplet",
        name,
        A2_plus=A2_plus,
        A2_minus=A2_minus,
        A3_plus=A3_plus,
        A3_minus=A3_minus,
        tau_plus=tau_plus,
        tau_minus=tau_minus,
        tau_x=tau_x,
        tau_y=tau_y,
    )
    imp = float(trace_impulse)
    if not imp > 0:
        raise ParameterError(f"trace_impulse must be > 0, got {imp}", node=name, parameter="trace_impulse")
    dw = (
        Product(A2_plus / imp, "y0", (Factor("x1"),)),
        Product(A3_plus / imp**2, "y0", (Factor("x1"), Factor("y2", -imp))),
        Product(-A2_minus / imp, "x0", (Factor("y1"),)),
        Product(-A3_minus / imp**2, "x0", (Factor("y1"), Factor("x2", -imp))),
    )
    return validate(
        LearningRule(
            dw=dw,
            x1=Trace(imp, float(tau_plus)),
            x2=Trace(imp, float(tau_x)),
            y1=Trace(imp, float(tau_minus)),
            y2=Trace(imp, float(tau_y)),
            t_epoch=t_epoch,
            w_min=w_min,
            w_max=w_max,
            kind="stdp_triplet",
            name=name,
            params=dict(
                A2_plus=A2_plus,
                A2_minus=A2_minus,
                A3_plus=A3_plus,
                A3_minus=A3_minus,
                tau_plus=tau_plus,
                tau_minus=tau_minus,
                tau_x=tau_x,
                tau_y=tau_y,
                w_min=w_min,
                w_max=w_max,
                trace_impulse=imp,
                t_epoch=t_epoch,
            ),
        )
    )


def rstdp(
    *,
    lr: float,
    A_plus: float,
    A_minus: float,
    tau_plus: float,
    tau_minus: float,
    tau_e: float,
    t_epoch: int = 1,
    trace_impulse: float = 16.0,
    w_min: float | None = None,
    w_max: float | None = None,
    name: str = "rstdp",
) -> LearningRule:
    """Reward-modulated STDP: an eligibility trace (tag 1) times a reward signal (y2).

    dt = A+ * x1/I at post spikes - A- * y1/I at pre spikes - (t_epoch/tau_e) * t every epoch
    dw = lr * t * y2 every epoch

    y1 is the post neuron's trace (tau_minus, impulse I) and y2 its reward input (graded,
    0..127 on Loihi 2); both are sent by the post neuron (third factor = y2). ``tau_e``
    is the eligibility time constant in steps (> t_epoch).
    """
    _pos("rstdp", name, lr=lr, A_plus=A_plus, A_minus=A_minus, tau_plus=tau_plus, tau_minus=tau_minus)
    if not float(tau_e) > 0:
        raise ParameterError(f"tau_e must be > 0, got {tau_e}", node=name, parameter="tau_e")
    imp = float(trace_impulse)
    dt = (
        Product(A_plus / imp, "y0", (Factor("x1"),)),
        Product(-A_minus / imp, "x0", (Factor("y1"),)),
        Product(-float(t_epoch) / float(tau_e), "u", (Factor("t"),)),
    )
    dw = (Product(float(lr), "u", (Factor("t"), Factor("y2"))),)
    return validate(
        LearningRule(
            dw=dw,
            dt=dt,
            x1=Trace(imp, float(tau_plus)),
            y1=Trace(imp, float(tau_minus)),
            t_epoch=t_epoch,
            third_factor="y2",
            w_min=w_min,
            w_max=w_max,
            kind="rstdp",
            name=name,
            params=dict(
                lr=lr,
                A_plus=A_plus,
                A_minus=A_minus,
                tau_plus=tau_plus,
                tau_minus=tau_minus,
                tau_e=tau_e,
                t_epoch=t_epoch,
                trace_impulse=imp,
                w_min=w_min,
                w_max=w_max,
            ),
        )
    )


def hebbian(
    *,
    eta: float,
    tau_pre: float,
    w_max: float,
    w_min: float = 0.0,
    decay: float = 0.0,
    trace_impulse: float = 16.0,
    t_epoch: int = 1,
    name: str = "hebbian",
) -> LearningRule:
    """Bounded Hebbian: potentiation soft-bounded at ``w_max``, optional decay to ``w_min``.

    At each post spike: dw = eta * (w_max - w) * x1/I  -  decay * (w - w_min)
    (x1: pre trace with ``tau_pre``). Weights stay in [w_min, w_max] for eta*x1/I <= 1 and
    decay <= 1 (up to the target's rounding).
    """
    _pos("hebbian", name, eta=eta, tau_pre=tau_pre, decay=decay)
    if float(w_min) > float(w_max):
        raise ParameterError(f"w_min {w_min} > w_max {w_max}", node=name, parameter="w_min")
    imp = float(trace_impulse)
    dw = [Product(-eta / imp, "y0", (Factor("x1"), Factor("w", -float(w_max))))]
    if decay:
        dw.append(Product(-float(decay), "y0", (Factor("w", -float(w_min)),)))
    return validate(
        LearningRule(
            dw=tuple(dw),
            x1=Trace(imp, float(tau_pre)),
            t_epoch=t_epoch,
            w_min=w_min,
            w_max=w_max,
            kind="hebbian",
            name=name,
            params=dict(
                eta=eta,
                tau_pre=tau_pre,
                w_min=w_min,
                w_max=w_max,
                decay=decay,
                trace_impulse=imp,
                t_epoch=t_epoch,
            ),
        )
    )


def _signal_products(coeff: float, factors: tuple[Factor, ...]) -> tuple[Product, ...]:
    """``coeff * u * factors * (y2 - y3)``: the signed learning signal L = y2 - y3."""
    return (
        Product(coeff, "u", factors + (Factor("y2"),)),
        Product(-coeff, "u", factors + (Factor("y3"),)),
    )


def eprop(
    *,
    lr: float,
    tau_pre: float,
    tau_e: float,
    elig: float = 1.0,
    psi_height: float = 64.0,
    psi_width: float = 1.0,
    trace_impulse: float = 16.0,
    source: str = "feedback",
    t_epoch: int = 1,
    name: str = "eprop",
) -> LearningRule:
    """e-prop (Bellec et al. 2020) for the input and recurrent weights of LIF neurons, online.

    Eligibility in tag 1: ``dt = elig * x1 * y1 / 2^7 - t / tau_e`` every step, x1 the filtered pre
    spikes (``tau_pre`` ~ the membrane time constant, impulse ``trace_impulse``), y1 the post
    neuron's pseudo-derivative (0..``psi_height``, a triangle of v of half-width
    ``psi_width * theta``); weight change ``dw = lr * t * (y2 - y3)`` every step, ``y2 - y3`` the
    neuron's signed learning signal L (``source``: ``"feedback"`` = an error population through
    fixed random feedback weights, random e-prop; ``"host"`` = a host input). All numbers are in
    the IR's units (traces 0..127, t and w in weight units); the float reference
    (:mod:`neurocompile.learning.online`) runs the same products in float. ``t_epoch`` > 1 applies
    both updates once per learning epoch of ``t_epoch`` steps, on the traces and signal of the
    epoch's last step: ``lr`` and ``elig`` are then per epoch; ``tau_e`` stays in steps (the decay
    product is ``-(t_epoch/tau_e) t``, as :func:`rstdp`'s; ``tau_e`` >= ``t_epoch``).
    """
    _pos("eprop", name, lr=lr, tau_pre=tau_pre, elig=elig)
    te = t_epoch if isinstance(t_epoch, int) and t_epoch >= 1 else 1  # a bad t_epoch: validate() says so
    if not float(tau_e) >= te:
        raise ParameterError(
            f"tau_e must be >= t_epoch ({te}: the tag decays by t_epoch/tau_e per epoch), got {tau_e}",
            node=name,
            parameter="tau_e",
        )
    if source not in ("feedback", "host"):
        raise ParameterError(f"source {source!r}", node=name, parameter="source", expected="feedback or host")
    imp = float(trace_impulse)
    dt = (
        Product(float(elig) / 2**7, "u", (Factor("x1"), Factor("y1"))),
        Product(-te / float(tau_e), "u", (Factor("t"),)),
    )
    return validate(
        LearningRule(
            dw=_signal_products(float(lr), (Factor("t"),)),
            dt=dt,
            x1=Trace(imp, float(tau_pre)),
            third_factor="y2",
            signal=LearningSignal(source, True, float(psi_height), float(psi_width)),
            t_epoch=t_epoch,
            kind="eprop",
            name=name,
            params=dict(
                lr=lr,
                tau_pre=tau_pre,
                tau_e=tau_e,
                elig=elig,
                psi_height=psi_height,
                psi_width=psi_width,
                trace_impulse=imp,
                source=source,
                t_epoch=t_epoch,
            ),
        )
    )


def feedback_alignment(
    *,
    lr: float,
    tau_pre: float,
    layer: str = "hidden",
    psi_height: float = 64.0,
    psi_width: float = 1.0,
    tau_out: float = 8.0,
    out_impulse: float = 16.0,
    trace_impulse: float = 16.0,
    source: str | None = None,
    t_epoch: int = 1,
    name: str = "feedback_alignment",
) -> LearningRule:
    """Feedback alignment (Lillicrap et al. 2016), online, with random or direct feedback.

    ``layer="hidden"``: ``dw = lr * x1 * y1 * (y2 - y3) / 2^7`` every step - filtered pre spikes x1
    times the pseudo-derivative y1 times the signed learning signal L = y2 - y3 that arrives
    through fixed random feedback weights (``source="feedback"``: from the output layer's error
    population - feedback alignment when it is the next layer, direct feedback alignment when it
    skips layers; ``"host"``: from a host input).
    ``layer="output"``: ``dw = lr * x1 * (y2 - y3)`` - the delta rule, where the post neuron is the
    learning-signal population (``source="target"``): y2 = the target (host input), y3 = its own
    spike trace (impulse ``out_impulse``, ``tau_out`` steps); it sends ``y2 - y3`` to the feedback
    projections. Units and ``t_epoch`` (``lr`` per epoch) as :func:`eprop`.
    """
    _pos("feedback_alignment", name, lr=lr, tau_pre=tau_pre)
    if layer not in ("hidden", "output"):
        raise ParameterError(f"layer {layer!r}", node=name, parameter="layer", expected="hidden or output")
    src = source or ("feedback" if layer == "hidden" else "target")
    if src not in SIGNAL_SOURCES or (layer == "output") != (src == "target"):
        raise ParameterError(
            f"source {src!r} for layer {layer!r}",
            node=name,
            parameter="source",
            expected="target for the output layer, feedback or host for hidden layers",
        )
    imp = float(trace_impulse)
    if layer == "hidden":
        dw = _signal_products(float(lr) / 2**7, (Factor("x1"), Factor("y1")))
        sig = LearningSignal(src, True, float(psi_height), float(psi_width))
        y3 = Trace()
    else:
        dw = _signal_products(float(lr), (Factor("x1"),))
        sig = LearningSignal("target")
        y3 = Trace(float(out_impulse), float(tau_out))
    return validate(
        LearningRule(
            dw=dw,
            x1=Trace(imp, float(tau_pre)),
            y3=y3,
            third_factor="y2",
            signal=sig,
            t_epoch=t_epoch,
            kind="feedback_alignment",
            name=name,
            params=dict(
                lr=lr,
                tau_pre=tau_pre,
                layer=layer,
                psi_height=psi_height,
                psi_width=psi_width,
                tau_out=tau_out,
                out_impulse=out_impulse,
                trace_impulse=imp,
                source=src,
                t_epoch=t_epoch,
            ),
        )
    )


#: kind -> constructor (used by the TOML loader).
LIBRARY = {
    "stdp_pair": stdp_pair,
    "stdp_triplet": stdp_triplet,
    "rstdp": rstdp,
    "hebbian": hebbian,
    "eprop": eprop,
    "feedback_alignment": feedback_alignment,
}
