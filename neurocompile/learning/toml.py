"""Learning rules from a TOML file (``neurocompile compile --learning RULES.toml``).

Format: one ``[[rule]]`` table per plastic projection, named by its NIR weight node::

    [[rule]]
    projection = "fc1"          # the NIR Linear/Affine/Conv node
    kind = "stdp_pair"          # stdp_pair | stdp_triplet | rstdp | hebbian | custom
    A_plus = 0.01
    A_minus = 0.012
    tau_plus = 20
    tau_minus = 20

Library kinds take their constructor's keyword arguments (see
:mod:`neurocompile.learning.library`). ``kind = "custom"`` takes ``dw``/``dd``/``dt``
expressions, a ``[rule.traces]`` table (``x1 = {impulse = 16, tau = 10}``), ``t_epoch``,
``third_factor``. Every kind also takes the attachment fields ``units`` ("model" | "program"),
``reward`` (three-factor rules: name of the reward input the compiler adds) and ``rng_seed``
(see :mod:`neurocompile.learning.attach`). Errors are
:class:`~neurocompile.errors.ParameterError` naming the rule (``rule[i] (projection)``) and the field.
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Mapping

from neurocompile.errors import ModelLoadError, ParameterError
from neurocompile.files import input_path

from .attach import ATTACH_FIELDS, attach
from .ir import LearningRule, rule_from_strings
from .library import LIBRARY

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # Python 3.10 (.venv-lava)
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:  # pragma: no cover
        _toml = None


#: field -> the TOML types it takes (checked before any rule is built, naming the field).
_NUMBER = (int, float)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "projection": (str,),
    "kind": (str,),
    "units": (str,),
    "reward": (str,),
    "rng_seed": (int,),
    "dw": (str,),
    "dd": (str,),
    "dt": (str,),
    "traces": (dict,),
    "t_epoch": (int,),
    "third_factor": (str,),
    "w_min": _NUMBER,
    "w_max": _NUMBER,
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "a table", bool: "true or false"}


def _types_of(annotation: Any, default: Any) -> tuple[type, ...] | None:
    """The TOML types a library constructor's parameter takes (``None``: not checked)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    names = {t.strip() for t in str(text).split("|")}
    out: list[type] = []
    for n in names - {"None"}:
        t = {"float": _NUMBER, "int": (int,), "str": (str,), "bool": (bool,)}.get(n)
        if t is None:
            return None
        out.extend(t)
    if not out and default is not inspect.Parameter.empty and default is not None:
        return (float,) if isinstance(default, float) else (type(default),)
    return tuple(out) or None


def _check_type(value: Any, types: tuple[type, ...] | None, where: str, key: str) -> None:
    if types is None:
        return
    ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
    if float in types and isinstance(value, float) and value != value:  # NaN
        ok = False
    if not ok:
        shown = [t for t in types if not (t is int and float in types)]
        want = " or ".join(dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in shown))
        raise ParameterError(
            f"field '{key}' is {type(value).__name__} {value!r}", node=where, parameter=key, expected=want
        )


def rules_from_dict(doc: Mapping[str, Any], source: str = "<dict>") -> dict[str, LearningRule]:
    """``{projection: LearningRule}`` from a parsed TOML document."""
    rules = doc.get("rule", [])
    if not isinstance(rules, list):
        raise ParameterError("'rule' must be an array of tables ([[rule]])", node=source, parameter="rule")
    unknown = sorted(set(doc) - {"rule"})
    if unknown:
        raise ParameterError(
            f"unknown top-level key(s) {unknown}",
            node=source,
            parameter=unknown[0],
            expected="only [[rule]] tables",
        )
    out: dict[str, LearningRule] = {}
    for i, entry in enumerate(rules):
        if not isinstance(entry, Mapping):
            raise ParameterError("each [[rule]] must be a table", node=f"rule[{i}]", parameter="rule")
        entry = dict(entry)
        proj = entry.pop("projection", None)
        where = f"rule[{i}]" + (f" ({proj})" if isinstance(proj, str) and proj else "")
        if proj is not None:
            _check_type(proj, (str,), where, "projection")
        for key, value in entry.items():
            if not isinstance(key, str):  # pragma: no cover - TOML keys are strings
                raise ParameterError(f"key {key!r} is not a string", node=where, parameter=str(key))
            if key in _FIELD_TYPES and not (entry.get("kind") in LIBRARY and key not in ATTACH_FIELDS):
                _check_type(value, _FIELD_TYPES[key], where, key)
        if not isinstance(proj, str) or not proj:
            raise ParameterError(
                "missing 'projection' (the NIR weight node name)", node=where, parameter="projection"
            )
        if proj in out:
            raise ParameterError(
                f"projection '{proj}' has two rules",
                node=where,
                parameter="projection",
                expected="one rule per projection",
            )
        kind = entry.pop("kind", None)
        opts = {k: entry.pop(k) for k in ATTACH_FIELDS if k in entry}
        if kind == "custom":
            traces = entry.pop("traces", {})
            allowed = {"dw", "dd", "dt", "t_epoch", "third_factor", "w_min", "w_max"}
            bad = sorted(set(entry) - allowed)
            if bad:
                raise ParameterError(
                    f"unknown field(s) {bad} for kind 'custom'",
                    node=where,
                    parameter=bad[0],
                    expected=", ".join(sorted(allowed | {"traces"})),
                )
            rule = rule_from_strings(traces=traces, name=proj, **entry)
        elif kind in LIBRARY:
            fn = LIBRARY[kind]
            params = inspect.signature(fn).parameters
            bad = sorted(set(entry) - set(params) - {"name"})
            for key, value in entry.items():
                if key in params and key != "name":
                    _check_type(value, _types_of(params[key].annotation, params[key].default), where, key)
            if bad:
                raise ParameterError(
                    f"unknown field(s) {bad} for kind '{kind}'",
                    node=where,
                    parameter=bad[0],
                    expected=", ".join(p for p in params if p != "name"),
                )
            missing = [
                p for p, v in params.items() if v.default is inspect.Parameter.empty and p not in entry
            ]
            if missing:
                raise ParameterError(
                    f"missing field(s) {missing} for kind '{kind}'", node=where, parameter=missing[0]
                )
            try:
                rule = fn(name=proj, **entry)
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    " ".join(str(exc).split()), node=where, parameter=_named(exc, entry, "kind")
                ) from None
        else:
            raise ParameterError(
                f"unknown kind {kind!r}",
                node=where,
                parameter="kind",
                expected=" | ".join(list(LIBRARY) + ["custom"]),
            )
        try:
            out[proj] = attach(rule, **opts)
        except (TypeError, ValueError) as exc:
            raise ParameterError(str(exc), node=where, parameter=next(iter(opts), "units")) from None
    return out


def _named(exc: Exception, entry: Mapping[str, Any], default: str) -> str:
    """The field a constructor's error message names (else ``default``)."""
    text = str(exc)
    hits = [k for k in entry if f"'{k}'" in text or f" {k} " in f" {text} " or text.startswith(f"{k} ")]
    return hits[0] if hits else default


def load_rules(path: str | os.PathLike) -> dict[str, LearningRule]:
    """Read a rules TOML file.

    The path must be a readable, non-empty regular file (checked with ``os.stat`` before it is
    opened: a FIFO or device is refused at once); text that is not UTF-8 or not TOML is a
    :class:`ModelLoadError` naming the line, wrong field types and unknown keys a
    :class:`ParameterError` naming the rule and the key.
    """
    if _toml is None:  # pragma: no cover
        raise ModelLoadError("reading TOML needs Python 3.11 or the 'tomli' package", node=str(path))
    p = input_path(path, what="learning", error=ModelLoadError)
    try:
        with open(p, "rb") as f:
            doc = _toml.load(f)
    except FileNotFoundError:
        raise ModelLoadError("rules file not found", node=str(path)) from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read the rules file: {exc.strerror or exc}", node=str(path)) from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise ModelLoadError(
            f"not valid TOML: not UTF-8 text (byte {exc.start}, line {line})", node=str(path)
        ) from None
    except _toml.TOMLDecodeError as exc:
        raise ModelLoadError(f"not valid TOML: {' '.join(str(exc).split())}", node=str(path)) from None
    return rules_from_dict(doc, source=str(path))
