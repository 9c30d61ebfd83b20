"""Rule IR -> Lava 0.10.0 ``LearningDense`` (docs/reference/loihi2.md §3).

:func:`map_rule` turns a :class:`~neurocompile.learning.ir.LearningRule` into what a
``learning_dense`` projection of a loihi2 Program stores: Lava rule strings for ``dw``/``dd``/
``dt`` (one literal ``m*2^e`` per product, m in [-8, 7], e in [-7, 8], already in Lava's
normal form), impulses rounded to 1/256, taus, ``t_epoch``, the three-factor flag and, for
three-factor rules, the ``lif_3f`` post neuron's integer trace parameters.

The *effective* rule is what Lava computes after its coefficient rounding: a product
``m * 2^e * dep * f_1 ... f_n`` adds ``((dep * f_1 ... f_n * m) >> s) << (e + 7)`` to the
accumulator ``Z << 7``, where ``s = max(0, sum(width(f)) + 4 - 15)`` (traces 7 bits, w/d/t 9,
x0/y0 1): one trace factor -> s = 0, x1*y1 -> s = 3 (contributes x1*y1/8), w*x1 -> s = 5.
So the requested coefficient c maps to m * 2^e = c * 2^s, and the effective coefficient is
m * 2^e / 2^s (plus the truncation of the right shift, which depends on the operands).
:class:`RuleMapping.as_dict` lists both per product for the report.

:func:`parse_lava_rule` reads such strings back (the emulator runs the *strings*, never the
floats) with Lava's normalisation; it accepts the subset this module writes plus plain
``m`` / ``2^e`` literals.

Knowingly approximate: factor constants are rounded to integers; a coefficient below the
smallest step (2^-7 / 2^s) is dropped (reported); one above 7 * 2^8 is clipped (reported);
IR bounds ``w_min``/``w_max`` other than the sign mode's range are not enforced (reported).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocompile.errors import ParameterError, UnsupportedError
from neurocompile.learning.ir import TRACE_NAMES, UPDATE_TARGETS, LearningRule, Product

from . import spec

_LAVA_VAR = {"w": "w", "d": "d", "t": "t"}


@dataclass(frozen=True)
class LavaProduct:
    """One product as Lava's bit-approximate applier evaluates it."""

    target: str
    dependency: str  # "x0" | "y0" | "u"
    mant: int
    exp: int  # unbiased exponent; Lava stores exp + 7
    factors: tuple[tuple[str, int, bool], ...]  # (var, const, is_sgn)

    @property
    def shift(self) -> int:
        widths = sum(spec.FACTOR_WIDTHS[v] for v, _, _ in self.factors) + spec.S_MANT_BITS
        return max(0, widths - spec.ACCUMULATOR_BITS_U)

    @property
    def effective_coeff(self) -> float:
        return self.mant * 2.0**self.exp / 2.0**self.shift

    def to_string(self) -> str:
        parts = []
        for v, c, sg in self.factors:
            if c == 0 and not sg:
                parts.append(v)
            else:
                inner = v + (f"+{c}" if c > 0 else (f"-{-c}" if c < 0 else ""))
                parts.append(f"sgn({inner})" if sg else f"({inner})")
        dep = self.dependency
        return "*".join([f"{abs(self.mant)}*2^{self.exp}", dep] + parts)


def _nearest_mant_exp(v: float) -> tuple[int, int]:
    """The (m, e) with m in [-8, 7], e in [-7, 8] nearest to v (finest exponent first); (0, 0) when
    v rounds to zero at the finest step, clipped to +-7*2^8 / -8*2^8 above the range."""
    if v == 0:
        return 0, 0
    for e in range(spec.S_EXP_MIN, spec.S_EXP_MAX + 1):
        m = int(np.round(v / 2.0**e))
        if spec.S_MANT_MIN <= m <= spec.S_MANT_MAX:
            return _normalise(m, e)
    return (spec.S_MANT_MAX if v > 0 else spec.S_MANT_MIN), spec.S_EXP_MAX


def _normalise(m: int, e: int) -> tuple[int, int]:
    """Lava's normal form: while |m| > 7 and m even and e < 8: m /= 2, e += 1."""
    while abs(m) > 7 and m % 2 == 0 and e < 8:
        m //= 2
        e += 1
    return m, e


@dataclass(frozen=True)
class ProductReport:
    target: str
    requested: str
    requested_coeff: float
    effective: str
    effective_coeff: float
    relative_error: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RuleMapping:
    """A rule mapped onto Lava's LearningDense (all numbers as Lava takes them)."""

    rule: LearningRule
    strings: dict[str, str]
    impulses: dict[str, float]
    taus: dict[str, float]
    t_epoch: int
    three_factor: bool
    products: tuple[LavaProduct, ...]
    report: tuple[ProductReport, ...]
    neuron: dict[str, int] = field(default_factory=dict)
    findings: tuple[str, ...] = ()

    def projection_params(self) -> dict[str, Any]:
        """The learning fields of a ``learning_dense`` projection's params."""
        p: dict[str, Any] = {k: self.strings.get(k, "") for k in UPDATE_TARGETS}
        for k in TRACE_NAMES:
            p[f"{k}_impulse"] = float(self.impulses[k])
            p[f"{k}_tau"] = float(self.taus[k])
        p["t_epoch"] = int(self.t_epoch)
        p["three_factor"] = int(self.three_factor)
        return p

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.as_dict(),
            "lava": dict(self.strings),
            "impulses": dict(self.impulses),
            "taus": dict(self.taus),
            "t_epoch": self.t_epoch,
            "three_factor": self.three_factor,
            "neuron": dict(self.neuron),
            "products": [r.as_dict() for r in self.report],
            "findings": list(self.findings),
        }


def _impulse(x: float) -> float:
    """Round an impulse to Lava's 8 fractional bits (round half even, as Lava does)."""
    i = math.floor(x)
    f = int(np.round((x - i) * 2**spec.TRACE_FRACTION_BITS))
    return i + f / 2**spec.TRACE_FRACTION_BITS


def y_decay(tau: float) -> int:
    """The lif_3f neuron's 12-bit trace decay for a time constant (0 -> no memory)."""
    if tau <= 0:
        return 0
    return int(round(spec.Y_DECAY_MAX * math.exp(-1.0 / tau)))


def psi_shift(vth: int, height: int, width_q8: int) -> int:
    """The lif_3f ``psi_shift`` nearest to a triangle of half-width ``width_q8 / 256 * theta``
    (theta = vth << 6) and height ``height``: ``2^shift ~ width * theta / height``."""
    x = (width_q8 / 256.0) * (int(vth) << spec.VTH_SHIFT) / max(int(height), 1)
    return int(min(max(round(math.log2(max(x, 1.0))), 0), spec.PSI_SHIFT_MAX))


def exact_signal_lsb(mapping: RuleMapping) -> int:
    """The lif_3f ``signal_lsb`` l that makes every product with a learning-signal factor (y2 or
    y3) exact: the product is pre-shifted (``LavaProduct.shift``) and floored, so ``mant * y`` must
    be a multiple of 2^shift, i.e. y a multiple of 2^l with l = shift - (trailing zero bits of mant).
    Left at 0 the floors keep every negative part and drop positive parts of the same size: a
    signed learning signal then drifts the weights down (``targets/loihi2/signals.py``)."""
    lsb = 0
    for p in mapping.products:
        if p.shift and any(v in ("y2", "y3") and c == 0 for v, c, _ in p.factors):
            m = abs(int(p.mant))
            lsb = max(lsb, p.shift - ((m & -m).bit_length() - 1))
    return min(lsb, spec.SIGNAL_LSB_MAX)


def map_rule(rule: LearningRule, *, weight_scale: float = 1.0, sign_mode: int | None = None) -> RuleMapping:
    """Map an IR rule onto Lava's LearningDense.

    ``weight_scale``: integer weight units per rule weight unit (1 when the rule is already in
    the Program's integer weights). ``sign_mode`` (optional) lets the report say whether the
    rule's bounds coincide with the projection's clip range.
    """
    if weight_scale != 1.0:
        rule = rule.scaled(weight_scale)
    name = rule.name
    findings: list[str] = []
    if not spec.T_EPOCH_MIN <= rule.t_epoch <= spec.T_EPOCH_MAX:
        raise ParameterError(
            f"t_epoch {rule.t_epoch} outside the 6-bit epoch field",
            node=name,
            parameter="t_epoch",
            expected=f"{spec.T_EPOCH_MIN}..{spec.T_EPOCH_MAX}",
        )
    impulses, taus = {}, {}
    three = rule.is_three_factor
    for k in TRACE_NAMES:
        tr = rule.trace(k)
        if three and k.startswith("y"):
            impulses[k], taus[k] = 0.0, float(spec.THREE_FACTOR_Y_TAU)
            continue
        imp = _impulse(float(tr.impulse))
        if imp > spec.TRACE_MAX:
            raise ParameterError(
                f"{k} impulse {tr.impulse} exceeds the 7-bit trace",
                node=name,
                parameter=f"{k}.impulse",
                expected=f"<= {spec.TRACE_MAX}",
            )
        if imp != tr.impulse:
            findings.append(f"{k} impulse {tr.impulse} rounded to {imp} (8 fractional bits)")
        impulses[k], taus[k] = imp, float(tr.tau)
    neuron: dict[str, int] = {}
    if three:
        for k in ("y1", "y3"):
            tr = rule.trace(k)
            imp = int(round(tr.impulse))
            if not 0 <= imp <= spec.TRACE_MAX:
                raise ParameterError(
                    f"{k} impulse {tr.impulse} outside the 7-bit trace",
                    node=name,
                    parameter=f"{k}.impulse",
                    expected=f"0..{spec.TRACE_MAX}",
                )
            neuron[f"{k}_impulse"] = imp
            neuron[f"{k}_decay"] = y_decay(float(tr.tau))
        neuron["reward_trace"] = int(rule.third_factor[1])
        sg = rule.signal
        if sg is not None:  # learning signals: targets/loihi2/signals.py
            if sg.pseudo_derivative:
                neuron["psi_height"] = int(round(sg.psi_height))
                neuron["psi_width_q8"] = int(round(sg.psi_width * 256))  # the builder sets psi_shift from vth
            neuron["signal_mode"] = 0 if sg.source == "target" else 1
            neuron["error_out"] = 1 if sg.source == "target" else 0
        if rule.third_factor != "y2":
            raise UnsupportedError(
                f"the lif_3f neuron carries the reward in y2, rule uses {rule.third_factor}",
                node=name,
                parameter="third_factor",
                expected="y2",
            )

    strings: dict[str, str] = {}
    products: list[LavaProduct] = []
    report: list[ProductReport] = []
    for t in UPDATE_TARGETS:
        parts = []
        for p in rule.target(t):
            lp, rep = _map_product(t, p, rule.epoch_k, name)
            report.append(rep)
            if lp is None:
                continue
            products.append(lp)
            s = lp.to_string()
            if dep_u := (lp.dependency == "u"):
                s = (
                    s.replace("*u*", f"*u{rule.epoch_k}*", 1)
                    if "*u*" in s
                    else s.replace("*u", f"*u{rule.epoch_k}")
                )
            del dep_u
            parts.append(("-" if lp.mant < 0 else "+") + s)
        if parts:
            txt = "".join(parts)
            strings[t] = txt[1:] if txt.startswith("+") else txt
    if not strings:
        raise ParameterError(
            "every product of the rule rounds to zero on Loihi 2",
            node=name,
            parameter="dw",
            expected="coefficients >= 2^-7 * 2^shift",
        )
    if rule.w_min is not None or rule.w_max is not None:
        if sign_mode is not None:
            lo, hi = spec.WEIGHT_RANGE[int(sign_mode)]
        else:
            lo, hi = None, None
        if (rule.w_min is not None and rule.w_min != lo) or (rule.w_max is not None and rule.w_max != hi):
            findings.append(
                f"bounds [{rule.w_min}, {rule.w_max}] are not clamped exactly: Loihi 2 clips learned "
                f"weights only to the sign mode's range" + (f" [{lo}, {hi}]" if lo is not None else "")
            )
    for r in report:
        if r.note:
            findings.append(f"{r.target}: {r.requested}: {r.note}")
    return RuleMapping(
        rule=rule,
        strings=strings,
        impulses=impulses,
        taus=taus,
        t_epoch=rule.t_epoch,
        three_factor=three,
        products=tuple(products),
        report=tuple(report),
        neuron=neuron,
        findings=tuple(findings),
    )


def _map_product(
    target: str, p: Product, epoch_k: int, name: str
) -> tuple[LavaProduct | None, ProductReport]:
    facs = []
    note = []
    for f in p.factors:
        c = int(round(f.const))
        if c != f.const:
            note.append(f"constant {f.const} of {f.var} rounded to {c}")
        lim = 2**spec.CONST_BITS
        if not -lim <= c < lim:
            raise ParameterError(
                f"factor constant {c} outside {spec.CONST_BITS}-bit range",
                node=name,
                parameter=target,
                expected=f"{-lim}..{lim - 1}",
            )
        facs.append((f.var, c, bool(f.sign)))
    probe = LavaProduct(target, p.dependency, 1, 0, tuple(facs))
    v = p.coeff * 2.0**probe.shift
    m, e = _nearest_mant_exp(v)
    requested = p.to_string(epoch_k)
    if m == 0:
        rep = ProductReport(
            target,
            requested,
            p.coeff,
            "(dropped)",
            0.0,
            1.0 if p.coeff else 0.0,
            "coefficient below Loihi 2's smallest step, product dropped",
        )
        return None, rep
    lp = LavaProduct(target, p.dependency, m, e, tuple(facs))
    eff = lp.effective_coeff
    rel = abs(eff - p.coeff) / abs(p.coeff) if p.coeff else 0.0
    if abs(v) > spec.S_MANT_MAX * 2.0**spec.S_EXP_MAX:
        note.append("coefficient clipped to the largest scale")
    if probe.shift:
        note.append(f"pre-shift >> {probe.shift} of the factor product") if rel > 1e-12 else None
    s = ("-" if m < 0 else "") + lp.to_string()
    return lp, ProductReport(target, requested, p.coeff, s, eff, rel, "; ".join(n for n in note if n))


# ---------------------------------------------------------------------- parsing Lava strings
_LIT = re.compile(r"^(?:(\d+)\*2\^(-?\d+)|2\^(-?\d+)|(\d+))$")
_FAC = re.compile(r"^(?:(sgn)\((\w)([+-]\d+)?\)|\((\w\d?)([+-]\d+)?\)|(x0|y0|x1|x2|y1|y2|y3|w|d|t))$")
_DEP = re.compile(r"^(x0|y0|u\d)$")


def _split_top(s: str) -> list[tuple[int, str]]:
    """Split a sum at top-level + and - into (sign, product) pairs."""
    out, depth, cur, sign = [], 0, "", 1
    for i, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if depth == 0 and ch in "+-" and i > 0 and s[i - 1] not in "^(":
            if cur:
                out.append((sign, cur))
            sign, cur = (1 if ch == "+" else -1), ""
            continue
        if depth == 0 and ch in "+-" and i == 0:
            sign = 1 if ch == "+" else -1
            continue
        cur += ch
    if cur:
        out.append((sign, cur))
    return out


def parse_lava_rule(
    text: str, target: str, *, node: str = "learning_dense"
) -> tuple[tuple[LavaProduct, ...], int | None]:
    """Parse a Lava rule string (the subset written by :func:`map_rule`) into products.

    Returns ``(products, k)`` with the ``u<k>`` index (None when no epoch dependency).
    """
    s = "".join(str(text).split())
    if not s:
        return (), None
    prods, kk = [], None
    for sign, body in _split_top(s):
        toks, depth, cur = [], 0, ""
        for ch in body:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch == "*" and depth == 0:
                toks.append(cur)
                cur = ""
            else:
                cur += ch
        toks.append(cur)
        # merge "m" "2^e" into one literal token
        merged, i = [], 0
        while i < len(toks):
            if i + 1 < len(toks) and toks[i].isdigit() and toks[i + 1].startswith("2^"):
                merged.append(toks[i] + "*" + toks[i + 1])
                i += 2
            else:
                merged.append(toks[i])
                i += 1
        m, e, dep, facs, lit_seen = sign, 0, None, [], False
        for tok in merged:
            lm = _LIT.match(tok)
            if lm:
                if lit_seen:
                    raise UnsupportedError(
                        f"more than one literal in product {body!r}",
                        node=node,
                        parameter=target,
                        expected="one m*2^e literal per product",
                    )
                lit_seen = True
                if lm.group(1):
                    m, e = m * int(lm.group(1)), int(lm.group(2))
                elif lm.group(3):
                    m, e = m * 1, int(lm.group(3))
                else:
                    m = m * int(lm.group(4))
                continue
            dm = _DEP.match(tok)
            if dm and dep is None:
                dep = "u" if tok.startswith("u") else tok
                if tok.startswith("u"):
                    k = int(tok[1:])
                    if kk is not None and k != kk:
                        raise ParameterError("different u<k> in one rule", node=node, parameter=target)
                    kk = k
                continue
            fm = _FAC.match(tok)
            if not fm:
                raise ParameterError(
                    f"cannot read factor {tok!r} of rule string {text!r}",
                    node=node,
                    parameter=target,
                    expected="x0 y0 u<k> x1 x2 y1 y2 y3 w d t, (v+c), sgn(v+c)",
                )
            if fm.group(1):
                facs.append((fm.group(2), int(fm.group(3) or 0), True))
            elif fm.group(4):
                facs.append((fm.group(4), int(fm.group(5) or 0), False))
            else:
                facs.append((fm.group(6), 0, False))
        if dep is None:
            raise ParameterError(
                f"product {body!r} has no dependency",
                node=node,
                parameter=target,
                expected="x0, y0 or u<k> in every product",
            )
        for v, _, sg in facs:
            if sg and v not in ("w", "d", "t"):
                raise ParameterError(
                    f"sgn({v}) is not allowed", node=node, parameter=target, expected="sgn of w, d, t"
                )
        m, e = _normalise(m, e)
        if not (spec.S_MANT_MIN <= m <= spec.S_MANT_MAX and spec.S_EXP_MIN <= e <= spec.S_EXP_MAX):
            raise ParameterError(
                f"scale {m}*2^{e} not representable",
                node=node,
                parameter=target,
                expected="m in [-8, 7], e in [-7, 8]",
            )
        prods.append(LavaProduct(target, dep, m, e, tuple(facs)))
    return tuple(prods), kk


def parse_projection_rules(params: dict, node: str) -> tuple[tuple[LavaProduct, ...], int | None]:
    """All products of a learning_dense projection (dw, dd, dt) and its epoch index k."""
    out, ks = [], set()
    for t in UPDATE_TARGETS:
        prods, k = parse_lava_rule(params.get(t, "") or "", t, node=node)
        out.extend(prods)
        if k is not None:
            ks.add(k)
    if len(ks) > 1:
        raise ParameterError(
            f"u<k> with different k {sorted(ks)}", node=node, parameter="dw", expected="one k per projection"
        )
    if not out:
        raise ParameterError(
            "learning_dense projection has no rule",
            node=node,
            parameter="dw",
            expected="at least one of dw, dd, dt",
        )
    return tuple(out), (ks.pop() if ks else None)
