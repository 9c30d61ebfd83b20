"""Attaching rules to a compiled network: ``compile(..., learning=...)`` and ``check --learning``.

A rule attaches to the projection named by its NIR weight node (``Linear``/``Affine``/``Conv``):
the netlist connection whose ``sources`` contain that node. :func:`normalize` accepts what the
public API takes for ``learning=``: a TOML path, ``{node: LearningRule}``, or ``None``.

Per-rule attachment options live in the rule's ``params`` (set them with :func:`attach`, or as
fields of the ``[[rule]]`` table in TOML):

* ``units`` = ``"model"`` (default): amplitudes and bounds are in the NIR model's float weight
  units; the lowering converts them with the projection's weight scale (Loihi 2: integer weight
  mantissa per model weight; SpiNNaker: nA per model weight). ``"program"``: they are already in
  the Program's units (Loihi 2 integer weights, SpiNNaker nA).
* ``reward`` (three-factor rules, Loihi 2): the name of a *new* Program input that carries the
  reward (graded 0..127, one value per post neuron and step); the lowering adds an input
  population of that name (``num_message_bits = 8``, the post population's size), so the run data
  must contain that key.
* ``rng_seed`` (Loihi 2): the seed of Lava's stochastic rounding; default: a CRC-32 of the
  projection name (deterministic).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Mapping

from neurocompile.errors import GraphError, ParameterError

from .ir import LearningRule

#: the attachment fields a rule's params may carry (besides the library's semantic parameters).
ATTACH_FIELDS = ("units", "reward", "rng_seed")
UNITS = ("model", "program")


def attach(
    rule: LearningRule, *, units: str = "model", reward: str | None = None, rng_seed: int | None = None
) -> LearningRule:
    """``rule`` with attachment options stored in its params (see the module docstring)."""
    if units not in UNITS:
        raise ParameterError(
            f"units {units!r}", node=rule.name, parameter="units", expected=" or ".join(UNITS)
        )
    p = dict(rule.params)
    p["units"] = units
    if reward is not None:
        if not isinstance(reward, str) or not reward:
            raise ParameterError("reward must be a non-empty input name", node=rule.name, parameter="reward")
        p["reward"] = reward
    if rng_seed is not None:
        p["rng_seed"] = int(rng_seed)
    return replace(rule, params=p)


def units_of(rule: LearningRule) -> str:
    u = (rule.params or {}).get("units", "model")
    if u not in UNITS:
        raise ParameterError(f"units {u!r}", node=rule.name, parameter="units", expected=" or ".join(UNITS))
    return u


def normalize(learning: Any) -> dict[str, LearningRule]:
    """``{NIR weight node: LearningRule}`` from a TOML path, a mapping of rules, or an object with
    a ``rules`` mapping; ``{}`` for None."""
    if learning is None:
        return {}
    if isinstance(learning, (str, os.PathLike)):
        from .toml import load_rules

        return load_rules(learning)
    rules = getattr(learning, "rules", learning)
    if not isinstance(rules, Mapping):
        raise ParameterError(
            f"learning must be a TOML path or {{node: LearningRule}}, got {type(learning).__name__}",
            parameter="learning",
            expected="a .toml path or a dict of LearningRule",
        )
    out = {}
    for node, rule in rules.items():
        if not isinstance(rule, LearningRule):
            raise ParameterError(
                f"rule for '{node}' is a {type(rule).__name__}",
                node=str(node),
                parameter="learning",
                expected="a neurocompile.learning.LearningRule",
            )
        units_of(rule)
        out[str(node)] = rule
    return out


def match_connections(netlist, rules: Mapping[str, LearningRule]) -> dict[str, tuple[str, LearningRule]]:
    """``{connection name: (weight node, rule)}``; a node in no connection or in several is a
    :class:`GraphError` naming the rule and the node and listing the candidate weight nodes."""
    out: dict[str, tuple[str, LearningRule]] = {}
    candidates = sorted({s for c in netlist.connections for s in c.sources})
    for node, rule in rules.items():
        hits = [c for c in netlist.connections if node in c.sources]
        if len(hits) != 1:
            what = (
                "no projection"
                if not hits
                else f"{len(hits)} projections ({', '.join(c.name for c in hits)})"
            )
            raise GraphError(
                f"learning rule '{rule.name}' names weight node '{node}', which feeds {what}",
                node=node,
                parameter="projection",
                expected="exactly one of the weight nodes " + ", ".join(candidates),
            )
        c = hits[0]
        if c.name in out:
            raise GraphError(
                f"weight nodes '{out[c.name][0]}' and '{node}' are folded into one projection "
                f"'{c.name}'; it can carry one rule",
                node=node,
                parameter="projection",
                expected="one rule per projection",
            )
        if len(c.sources) > 1:
            others = [s for s in c.sources if s != node]
            raise GraphError(
                f"weight node '{node}' is folded with {others} into projection '{c.name}'; a rule "
                "on it would learn the composed weights, not '" + node + "'s",
                node=node,
                parameter="projection",
                expected="a weight node that is its own projection",
            )
        out[c.name] = (node, rule)
    return out


__all__ = ["attach", "normalize", "match_connections", "units_of", "ATTACH_FIELDS", "UNITS"]
