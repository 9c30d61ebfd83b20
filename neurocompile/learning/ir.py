"""The learning-rule IR: a target-neutral sum of gated products.

A rule has up to three *targets*: ``dw`` (the weight), ``dd`` (tag 2, "delay" tag on Loihi)
and ``dt`` (tag 1, e.g. an eligibility trace). Each target is a sum of :class:`Product`:

    coeff * dependency * f_1 * f_2 * ...

* ``dependency`` gates the product: ``"x0"`` (a pre-synaptic spike), ``"y0"`` (a
  post-synaptic spike, i.e. a back-propagated action potential) or ``"u"`` (once per
  epoch; with :attr:`LearningRule.epoch_k` = k the product is active in epochs whose index
  is a multiple of 2^k, exactly Loihi's ``u<k>``).
* factors are :class:`Factor`: a variable ``x1 x2`` (pre traces), ``y1 y2 y3`` (post
  traces; in a three-factor rule they come from the post neuron, one of them carries the
  reward), ``w`` (weight), ``d`` (tag 2), ``t`` (tag 1), or ``x0``/``y0`` as a plain 0/1
  factor; each optionally offset by a constant (``(w - 10)``) and optionally reduced to its
  sign (``sgn(w - 10)``, only for ``w``/``d``/``t``).

Traces (:class:`Trace`) jump by ``impulse`` at each spike of their neuron and decay with
time constant ``tau`` (steps; ``tau == 0`` means no memory: the trace is zero except right
at a spike). Learning is applied every ``t_epoch`` steps.

Units. Traces are in *trace units* (a fresh trace after one isolated spike equals its
``impulse``); ``w``, ``d``, ``t`` and the coefficients are in the projection's weight units.
A target maps these numbers onto its own representation (Loihi 2: 7-bit integer traces,
4-bit mantissa / exponent coefficients with its pre-shifts, see
``neurocompile.targets.loihi2.learning``) and reports what it had to round. Library rules
(``neurocompile.learning.library``) also keep their semantic parameters (``kind`` and
``params``) so targets with a fixed rule menu (sPyNNaker) can map them by name.

The textual form (:func:`parse_expr` / :meth:`Product.to_string`) follows Lava's rule
syntax but with real-valued coefficients, e.g. ``"0.5*y0*x1 - 0.25*x0*y1*(w - 8)"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from neurocompile.errors import ParameterError

#: Factor variables. ``d`` = tag 2, ``t`` = tag 1.
TRACE_NAMES: tuple[str, ...] = ("x1", "x2", "y1", "y2", "y3")
PRE_TRACES: tuple[str, ...] = ("x1", "x2")
POST_TRACES: tuple[str, ...] = ("y1", "y2", "y3")
SYNAPTIC_VARS: tuple[str, ...] = ("w", "d", "t")
SPIKE_VARS: tuple[str, ...] = ("x0", "y0")
VARIABLES: tuple[str, ...] = SPIKE_VARS + TRACE_NAMES + SYNAPTIC_VARS
DEPENDENCIES: tuple[str, ...] = ("x0", "y0", "u")
#: Rule targets: dw -> weights, dd -> tag 2, dt -> tag 1.
UPDATE_TARGETS: tuple[str, ...] = ("dw", "dd", "dt")
TARGET_VARIABLE = {"dw": "w", "dd": "d", "dt": "t"}


def _num(value: Any, *, rule: str, parameter: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"not a number: {value!r}", node=rule, parameter=parameter) from None
    if not math.isfinite(v):
        raise ParameterError(f"must be finite, got {v}", node=rule, parameter=parameter)
    return v


@dataclass(frozen=True)
class Factor:
    """``var``, ``(var + const)`` or ``sgn(var + const)``."""

    var: str
    const: float = 0.0
    sign: bool = False

    def to_string(self) -> str:
        if self.const == 0 and not self.sign:
            return self.var
        inner = self.var
        if self.const:
            inner += f" {'+' if self.const > 0 else '-'} {_fmt(abs(self.const))}"
        return f"sgn({inner})" if self.sign else f"({inner})"

    def as_dict(self) -> dict[str, Any]:
        return {"var": self.var, "const": self.const, "sign": self.sign}


@dataclass(frozen=True)
class Product:
    """``coeff * dependency * factors...``."""

    coeff: float
    dependency: str
    factors: tuple[Factor, ...] = ()

    @property
    def trace_factors(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.var in TRACE_NAMES)

    def to_string(self, epoch_k: int = 0) -> str:
        dep = f"u{epoch_k}" if self.dependency == "u" else self.dependency
        parts = [dep] + [f.to_string() for f in self.factors]
        return f"{_fmt(self.coeff)}*" + "*".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "coeff": self.coeff,
            "dependency": self.dependency,
            "factors": [f.as_dict() for f in self.factors],
        }


@dataclass(frozen=True)
class Trace:
    """A trace: ``+impulse`` at each spike, decay ``exp(-1/tau)`` per step (``tau=0``: none kept)."""

    impulse: float = 0.0
    tau: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"impulse": self.impulse, "tau": self.tau}


#: where a learning-signal rule's third factor comes from (see :class:`LearningSignal`).
SIGNAL_SOURCES: tuple[str, ...] = ("feedback", "host", "target")


@dataclass(frozen=True)
class LearningSignal:
    """A per-post-neuron graded learning signal L (the third factor of e-prop / feedback alignment).

    ``source``: ``"feedback"`` - L is the sum of a learning-signal population's errors sent back
    through fixed (random) feedback weights (feedback alignment, random e-prop); ``"host"`` - L
    comes from a host input (one value per post neuron and step); ``"target"`` - the post neuron
    is itself the learning-signal population: L = target (host input, in y2) minus its own spike
    trace (y3), and it sends L to feedback projections. A signed L lives in two post traces:
    ``y2`` = max(L, 0), ``y3`` = max(-L, 0) (``"target"``: y2 = target, y3 = the spike trace), so
    rules use ``y2 - y3``. ``pseudo_derivative``: y1 is the post neuron's surrogate derivative
    ``psi_height * max(0, 1 - |v - theta| / (psi_width * theta))`` (trace units), computed from v
    by the neuron; otherwise y1 is the post spike trace."""

    source: str = "feedback"
    pseudo_derivative: bool = False
    psi_height: float = 0.0
    psi_width: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "pseudo_derivative": self.pseudo_derivative,
            "psi_height": self.psi_height,
            "psi_width": self.psi_width,
        }


@dataclass(frozen=True)
class LearningRule:
    """A plasticity rule: three sums of products, five traces, an epoch.

    ``third_factor`` names the post trace that carries the reward/modulatory signal
    (``"y2"`` in the library's reward-modulated STDP) and makes the rule *three-factor*: the
    post traces y1..y3 are then computed and sent by the post neuron (on Loihi 2 by the
    ``lif_3f`` population), not by the synapse. ``w_min``/``w_max`` are the bounds the rule
    asks for (``None`` = the target's full weight range); a target that cannot clamp there
    exactly reports it.
    """

    dw: tuple[Product, ...] = ()
    dd: tuple[Product, ...] = ()
    dt: tuple[Product, ...] = ()
    x1: Trace = Trace()
    x2: Trace = Trace()
    y1: Trace = Trace()
    y2: Trace = Trace()
    y3: Trace = Trace()
    t_epoch: int = 1
    epoch_k: int = 0
    third_factor: str | None = None
    w_min: float | None = None
    w_max: float | None = None
    kind: str = "custom"
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = "rule"
    signal: LearningSignal | None = None

    # ------------------------------------------------------------------ access
    def target(self, name: str) -> tuple[Product, ...]:
        return getattr(self, name)

    def trace(self, name: str) -> Trace:
        return getattr(self, name)

    @property
    def products(self) -> Iterable[tuple[str, Product]]:
        for t in UPDATE_TARGETS:
            for p in self.target(t):
                yield t, p

    @property
    def used_variables(self) -> set[str]:
        used: set[str] = set()
        for _, p in self.products:
            used.add(p.dependency)
            used.update(f.var for f in p.factors)
        return used

    @property
    def is_three_factor(self) -> bool:
        return self.third_factor is not None

    def to_strings(self) -> dict[str, str]:
        """``{"dw": "...", ...}`` for the non-empty targets (human-readable, Lava-like)."""
        out = {}
        for t in UPDATE_TARGETS:
            prods = self.target(t)
            if prods:
                s = " + ".join(p.to_string(self.epoch_k) for p in prods)
                out[t] = s.replace("+ -", "- ")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "params": dict(self.params),
            "expressions": self.to_strings(),
            "products": {t: [p.as_dict() for p in self.target(t)] for t in UPDATE_TARGETS},
            "traces": {k: self.trace(k).as_dict() for k in TRACE_NAMES},
            "t_epoch": self.t_epoch,
            "epoch_k": self.epoch_k,
            "third_factor": self.third_factor,
            "w_min": self.w_min,
            "w_max": self.w_max,
            "signal": None if self.signal is None else self.signal.as_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LearningRule":
        def prods(lst):
            return tuple(
                Product(
                    float(p["coeff"]),
                    str(p["dependency"]),
                    tuple(Factor(str(f["var"]), float(f["const"]), bool(f["sign"])) for f in p["factors"]),
                )
                for p in lst
            )

        tr = d.get("traces", {})
        sig = d.get("signal")
        return validate(
            cls(
                dw=prods(d["products"].get("dw", [])),
                dd=prods(d["products"].get("dd", [])),
                dt=prods(d["products"].get("dt", [])),
                **{k: Trace(float(tr[k]["impulse"]), float(tr[k]["tau"])) for k in TRACE_NAMES if k in tr},
                t_epoch=int(d.get("t_epoch", 1)),
                epoch_k=int(d.get("epoch_k", 0)),
                third_factor=d.get("third_factor"),
                w_min=d.get("w_min"),
                w_max=d.get("w_max"),
                kind=str(d.get("kind", "custom")),
                params=dict(d.get("params", {})),
                name=str(d.get("name", "rule")),
                signal=None if sig is None else LearningSignal(**sig),
            )
        )

    # ------------------------------------------------------------------ transforms
    def scaled(self, weight_scale: float) -> "LearningRule":
        """The same rule with weights/tags measured in units ``weight_scale`` times smaller.

        ``w``, ``d``, ``t`` are all treated as weight-unit quantities: ``dw`` scales by
        ``weight_scale``, each synaptic factor's constant scales with it and the coefficient is
        divided by ``weight_scale`` per synaptic (non-sign) factor. Used when a rule given in
        float model units is attached to a quantized projection.
        """
        s = float(weight_scale)
        if not (s > 0 and math.isfinite(s)):
            raise ParameterError(
                f"weight scale must be > 0, got {weight_scale}", node=self.name, parameter="weight_scale"
            )

        def sp(p: Product) -> Product:
            c = p.coeff * s
            facs = []
            for f in p.factors:
                if f.var in SYNAPTIC_VARS:
                    facs.append(Factor(f.var, f.const * s, f.sign))
                    if not f.sign:
                        c /= s
                else:
                    facs.append(f)
            return Product(c, p.dependency, tuple(facs))

        return replace(
            self,
            dw=tuple(sp(p) for p in self.dw),
            dd=tuple(sp(p) for p in self.dd),
            dt=tuple(sp(p) for p in self.dt),
            w_min=None if self.w_min is None else self.w_min * s,
            w_max=None if self.w_max is None else self.w_max * s,
        )


def _fmt(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


# ---------------------------------------------------------------------- validation
def validate(rule: LearningRule) -> LearningRule:
    """Check a rule's structure; raise :class:`ParameterError` naming the rule and field."""
    n = rule.name
    if not isinstance(rule.t_epoch, int) or rule.t_epoch < 1:
        raise ParameterError(
            f"t_epoch must be an integer >= 1, got {rule.t_epoch!r}", node=n, parameter="t_epoch"
        )
    if not isinstance(rule.epoch_k, int) or rule.epoch_k < 0:
        raise ParameterError(
            f"epoch_k must be an integer >= 0, got {rule.epoch_k!r}", node=n, parameter="epoch_k"
        )
    for k in TRACE_NAMES:
        tr = rule.trace(k)
        imp = _num(tr.impulse, rule=n, parameter=f"{k}.impulse")
        tau = _num(tr.tau, rule=n, parameter=f"{k}.tau")
        if imp < 0:
            raise ParameterError(f"impulse must be >= 0, got {imp}", node=n, parameter=f"{k}.impulse")
        if tau < 0:
            raise ParameterError(f"tau must be >= 0 (0 = no memory), got {tau}", node=n, parameter=f"{k}.tau")
    if rule.third_factor is not None and rule.third_factor not in POST_TRACES:
        raise ParameterError(
            f"third_factor must name a post trace, got {rule.third_factor!r}",
            node=n,
            parameter="third_factor",
            expected="one of y1, y2, y3",
        )
    if rule.signal is not None:
        sg = rule.signal
        if sg.source not in SIGNAL_SOURCES:
            raise ParameterError(
                f"learning signal source {sg.source!r}",
                node=n,
                parameter="signal.source",
                expected=", ".join(SIGNAL_SOURCES),
            )
        if rule.third_factor != "y2":
            raise ParameterError(
                "a learning-signal rule carries L in y2 (and y3)",
                node=n,
                parameter="third_factor",
                expected="y2",
            )
        if sg.pseudo_derivative:
            h = _num(sg.psi_height, rule=n, parameter="signal.psi_height")
            wd = _num(sg.psi_width, rule=n, parameter="signal.psi_width")
            if not 0 < h <= 127:
                raise ParameterError(
                    f"psi_height {h}", node=n, parameter="signal.psi_height", expected="0 < psi_height <= 127"
                )
            if not wd > 0:
                raise ParameterError(f"psi_width {wd}", node=n, parameter="signal.psi_width", expected="> 0")
    if not any(rule.target(t) for t in UPDATE_TARGETS):
        raise ParameterError(
            "rule has no products", node=n, parameter="dw", expected="at least one product in dw, dd or dt"
        )
    for t in UPDATE_TARGETS:
        for i, p in enumerate(rule.target(t)):
            where = f"{t}[{i}]"
            _num(p.coeff, rule=n, parameter=where)
            if p.dependency not in DEPENDENCIES:
                raise ParameterError(
                    f"product gated by {p.dependency!r}", node=n, parameter=where, expected="x0, y0 or u"
                )
            for f in p.factors:
                if f.var not in VARIABLES:
                    raise ParameterError(
                        f"unknown factor {f.var!r}", node=n, parameter=where, expected=", ".join(VARIABLES)
                    )
                _num(f.const, rule=n, parameter=where)
                if f.sign and f.var not in SYNAPTIC_VARS:
                    raise ParameterError(
                        f"sgn() of {f.var!r}", node=n, parameter=where, expected="sgn only of w, d or t"
                    )
    for b in ("w_min", "w_max"):
        v = getattr(rule, b)
        if v is not None:
            _num(v, rule=n, parameter=b)
    if rule.w_min is not None and rule.w_max is not None and rule.w_min > rule.w_max:
        raise ParameterError(f"w_min {rule.w_min} > w_max {rule.w_max}", node=n, parameter="w_min")
    return rule


# ---------------------------------------------------------------------- parsing
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<sgn>sgn\()|(?P<u>u\d?)(?![a-z0-9])|(?P<var>x0|y0|x1|x2|y1|y2|y3|w|d|t)(?![a-z0-9])"
    r"|(?P<op>[-+*/^()]))"
)


def _tokens(text: str, rule: str, parameter: str) -> list[tuple[str, str]]:
    out, pos, s = [], 0, text.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise ParameterError(
                f"cannot parse {s[pos : pos + 12]!r} in {s!r}", node=rule, parameter=parameter
            )
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return out


def parse_expr(
    text: str, *, rule: str = "rule", parameter: str = "dw"
) -> tuple[tuple[Product, ...], int | None]:
    """Parse ``"0.5*y0*x1 - 2^-3*x0*y1*(w-8) + u0*t*sgn(w)"`` into products.

    Coefficients may be real numbers, ``a^b`` powers and ``/`` divisions by numbers. The first
    ``x0``/``y0``/``u<k>`` of a product is its gate (as in Lava); later ``x0``/``y0`` are plain
    factors. Returns ``(products, k)`` where ``k`` is the epoch index used by ``u<k>`` (or None).
    """
    toks = _tokens(text, rule, parameter)
    products: list[Product] = []
    epoch_k: int | None = None
    i = 0

    def err(msg: str) -> ParameterError:
        return ParameterError(f"{msg} in {text!r}", node=rule, parameter=parameter)

    def number() -> float:
        nonlocal i
        neg = False
        if i < len(toks) and toks[i] == ("op", "-"):
            neg, i = True, i + 1
        if i >= len(toks) or toks[i][0] != "num":
            raise err("expected a number")
        v = float(toks[i][1])
        i += 1
        if i < len(toks) and toks[i] == ("op", "^"):
            i += 1
            v = v ** number()
        return -v if neg else v

    def factor_inside() -> Factor:
        nonlocal i
        if i >= len(toks) or toks[i][0] != "var":
            raise err("expected a variable inside parentheses")
        var = toks[i][1]
        i += 1
        c = 0.0
        while i < len(toks) and toks[i] in (("op", "+"), ("op", "-")):
            sgn = 1.0 if toks[i][1] == "+" else -1.0
            i += 1
            c += sgn * number()
        if i >= len(toks) or toks[i] != ("op", ")"):
            raise err("expected ')'")
        i += 1
        return Factor(var, c)

    sign = 1.0
    while i < len(toks):
        if toks[i] in (("op", "+"), ("op", "-")):
            sign = 1.0 if toks[i][1] == "+" else -1.0
            i += 1
        elif products:
            raise err("expected '+' or '-' between products")
        coeff, dep, facs = sign, None, []
        while True:
            if i >= len(toks):
                raise err("expression ends inside a product")
            kind, val = toks[i]
            if kind == "num":
                coeff *= number()
            elif kind == "u":
                i += 1
                k = int(val[1:]) if len(val) > 1 else 0
                if epoch_k is not None and k != epoch_k:
                    raise err("only one u<k> allowed per rule")
                epoch_k = k
                if dep is None:
                    dep = "u"
                else:
                    raise err("u<k> after the product's gate")
            elif kind == "var":
                i += 1
                if val in SPIKE_VARS and dep is None:
                    dep = val
                else:
                    facs.append(Factor(val))
            elif kind == "sgn":
                i += 1
                f = factor_inside()
                facs.append(Factor(f.var, f.const, True))
            elif (kind, val) == ("op", "("):
                i += 1
                facs.append(factor_inside())
            else:
                raise err(f"unexpected {val!r}")
            if i < len(toks) and toks[i] == ("op", "*"):
                i += 1
                continue
            if i < len(toks) and toks[i] == ("op", "/"):
                i += 1
                d = number()
                if d == 0:
                    raise err("division by zero")
                coeff /= d
                if i < len(toks) and toks[i] == ("op", "*"):
                    i += 1
                    continue
            break
        if dep is None:
            raise err("product without a gate (x0, y0 or u<k>)")
        products.append(Product(coeff, dep, tuple(facs)))
        sign = 1.0
    return tuple(products), epoch_k


def rule_from_strings(
    *,
    dw: str = "",
    dd: str = "",
    dt: str = "",
    traces: Mapping[str, Mapping[str, float] | Trace] | None = None,
    t_epoch: int = 1,
    third_factor: str | None = None,
    w_min: float | None = None,
    w_max: float | None = None,
    name: str = "rule",
    kind: str = "custom",
    params: Mapping[str, Any] | None = None,
) -> LearningRule:
    """Build and validate a rule from expressions (see :func:`parse_expr`)."""
    parts: dict[str, tuple[Product, ...]] = {}
    ks = set()
    for tname, text in (("dw", dw), ("dd", dd), ("dt", dt)):
        if text and text.strip():
            prods, k = parse_expr(text, rule=name, parameter=tname)
            parts[tname] = prods
            if k is not None:
                ks.add(k)
        else:
            parts[tname] = ()
    if len(ks) > 1:
        raise ParameterError(
            f"u<k> with different k: {sorted(ks)}", node=name, parameter="dw", expected="one k per rule"
        )
    tr: dict[str, Trace] = {}
    for k, v in (traces or {}).items():
        if k not in TRACE_NAMES:
            raise ParameterError(
                f"unknown trace {k!r}", node=name, parameter="traces", expected=", ".join(TRACE_NAMES)
            )
        tr[k] = (
            v
            if isinstance(v, Trace)
            else Trace(
                _num(v.get("impulse", 0.0), rule=name, parameter=f"{k}.impulse"),
                _num(v.get("tau", 0.0), rule=name, parameter=f"{k}.tau"),
            )
        )
    return validate(
        LearningRule(
            **parts,
            **tr,
            t_epoch=t_epoch,
            epoch_k=(ks.pop() if ks else 0),
            third_factor=third_factor,
            w_min=w_min,
            w_max=w_max,
            name=name,
            kind=kind,
            params=dict(params or {}),
        )
    )
