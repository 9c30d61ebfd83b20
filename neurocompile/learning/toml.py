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
        where = f"rule[{i}]" + (f" ({proj})" if proj else "")
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
                raise ParameterError(str(exc), node=where, parameter="kind") from None
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


def load_rules(path: str | os.PathLike) -> dict[str, LearningRule]:
    """Read a rules TOML file."""
    if _toml is None:  # pragma: no cover
        raise ModelLoadError("reading TOML needs Python 3.11 or the 'tomli' package", node=str(path))
    try:
        with open(path, "rb") as f:
            doc = _toml.load(f)
    except FileNotFoundError:
        raise ModelLoadError("rules file not found", node=str(path)) from None
    except _toml.TOMLDecodeError as exc:
        raise ModelLoadError(f"not valid TOML: {exc}", node=str(path)) from None
    return rules_from_dict(doc, source=str(path))
