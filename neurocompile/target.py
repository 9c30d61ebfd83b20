"""The Target interface: what the core asks of a chip, and where it finds one.

A chip is one folder ``targets/<chip>/`` whose ``__init__.py`` exposes ``TARGET``, a
:class:`Target`. The core (compile, check, report, ``Program.run``) and the CLI call its hooks
and never name a chip. :func:`get_target` looks the name up in the registry of
``neurocompile.targets`` (``targets/__init__.py``, the only place that lists the chips), importing
it lazily, so the core imports no target module and stays importable without Lava, sPyNNaker or
numba kernels being compiled.

Each hook is either a callable or a ``"module:attribute"`` string resolved on first use, so a
target's ``__init__.py`` stays cheap to import. Hooks and their signatures:

``lower(netlist, *, graph, semantics, calibration=None, learning=None, **options) -> Program``
    Required. Its keyword-only parameters are the target's compile options (``compile`` refuses
    any other). It starts by enforcing the target's ``rules`` (the first error is raised as a
    typed error) and returns a Program whose ``provenance`` holds ``"names"`` and ``"findings"``.
``rules``
    A sequence of check rules ``rule(ctx) -> Iterable[Finding]`` (``ctx``: the
    :class:`neurocompile.check` context); ``check --target`` lists every finding they yield.
``place(program, *, write=True, **limits) -> placement``
    Cores and chips; ``compile`` runs it after lowering (``write=True`` stores
    ``program.placement``), ``report`` with ``write=False`` when a Program has none. The result
    has ``as_dict()`` -> ``{"chips", "cores_used", "cores": [{"chip", "core", "population",
    "start", "stop", "neurons",
    "synapse_bytes", ...}], "limits": {"neurons_per_core", "synapse_bytes_per_core", ...}}``.
``backends``
    ``{backend name: hook}``; a backend hook is ``run(program, inputs, **options) -> RunResult``.
``emit(program, out_dir, inputs=None, *, steps=100) -> bundle report``
    A standalone bundle for hardware users; the report has ``summary()`` (one line for the CLI).
``report_section(program) -> dict``
    The target's own section of ``report`` (e.g. a cost model).
``learning_section(program, learning) -> dict``
    The learning section of ``report`` for a Program with a learning configuration.
``effective_weights(projection) -> ndarray``
    The integer weights the synapse really adds (signed), for SynOps counting.
``apply_learned(program, result, *, keep_learning, sample) -> None``
    Writes the weights a learning run learned into (a copy of) the Program, plastic or frozen
    (:func:`neurocompile.learning.with_learned_weights`).
``validate(program) -> Program``
    The target's schema check of a loaded Program (every field of every population and
    projection, typed errors naming the field and the limit); ``Program.load`` calls it.
``to_model_units(program, key, array) -> (array, meta | None)``
    A recorded ``POP.v`` / ``POP.u`` in the trained model's float units, with its meta
    ``{"unit", "scale", "step", "raw_unit"}`` (``step``: one raw unit in model units); for an output
    key the array unchanged with its meta; ``None`` meta for keys without a unit (spikes).
    :func:`run_program` applies it to every run (:func:`convert_units`).
``costs``
    A :class:`neurocompile.energy.CostModel` (or a callable returning one): the chip's published
    per-operation figures and the function turning a run's operation counts into modelled energy
    (J) and latency (s) (``neurocompile.energy``; ``report`` and ``validate`` show it).
``demo``
    Optional presentation data for the demo (``cli/demo.py`` lists the keys); the core never reads it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .errors import InputDataError, UnsupportedError

Hook = Callable[..., Any] | str | None

#: population kinds that are spike sources fed from data (not neurons on the chip): every
#: target names its input populations with one of these kinds.
INPUT_KINDS: tuple[str, ...] = ("input", "spike_source")


def resolve(entry: Any) -> Any:
    """A ``"module:attribute"`` string -> the attribute (imported now); anything else as is."""
    if not isinstance(entry, str):
        return entry
    mod_name, _, attr = entry.partition(":")
    obj: Any = importlib.import_module(mod_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Target:
    """One chip: its name, what it is, and the hooks the core calls (see the module docstring)."""

    name: str
    description: str
    lower: Hook
    rules: Any = ()
    place: Hook = None
    backends: Mapping[str, Hook] = field(default_factory=dict)
    emit: Hook = None
    report_section: Hook = None
    learning_section: Hook = None
    effective_weights: Hook = None
    apply_learned: Hook = None
    validate: Hook = None
    to_model_units: Hook = None
    costs: Hook = None
    demo: Mapping[str, Any] = field(default_factory=dict)

    def hook(self, name: str) -> Callable[..., Any] | None:
        """The hook ``name`` resolved to a callable, or ``None`` when the target has none."""
        return resolve(getattr(self, name))

    def rule_list(self) -> Sequence[Callable[..., Any]]:
        """The check rules, resolved (``rules`` may be a ``"module:RULES"`` string)."""
        rules = resolve(self.rules)
        return [resolve(r) for r in (rules or ())]

    def backend(self, backend: str) -> Callable[..., Any]:
        """The run function of ``backend``; a typed error naming the choices when there is none."""
        entry = self.backends.get(backend)
        if entry is None:
            choices = sorted(self.backends)
            raise UnsupportedError(
                f"backend {backend!r} cannot run a {self.name!r} Program",
                parameter="backend",
                expected=" or ".join(choices) if choices else "a registered backend",
            )
        return resolve(entry)


def _registry():
    return importlib.import_module("neurocompile.targets")


def target_names() -> list[str]:
    """The registered target names, in registration order."""
    return list(_registry().names())


def get_target(name: str) -> Target:
    """The registered :class:`Target` called ``name``; :class:`UnsupportedError` when unknown."""
    return _registry().get(name)


#: The two unit modes of a run: the trained model's float units, or the chip's own numbers.
UNITS = ("model", "raw")


def convert_units(result: Any, program: Any, hook: Any, units: str = "model") -> Any:
    """Put ``result``'s recorded ``POP.v`` / ``POP.u`` in ``units`` and describe every key with a unit.

    ``hook(program, key, array) -> (array in model units, meta or None)`` is the target's
    ``to_model_units``. ``units="model"`` replaces each recording by its converted array;
    ``units="raw"`` keeps it (the meta's ``unit`` is then its ``raw_unit``). Outputs are never
    changed (the backends already scale outputs read as v; spikes carry no unit), only described.
    An unknown ``units`` is an :class:`InputDataError`.
    """
    if units not in UNITS:
        raise InputDataError(f"unknown units {units!r}", parameter="units", expected=" or ".join(UNITS))
    if hook is None:
        return result
    meta: dict[str, dict[str, Any]] = {}
    for key, arr in result.outputs.items():
        _, m = hook(program, key, arr)
        if m is not None:
            meta[key] = dict(m)
    for key, arr in list(result.recordings.items()):
        conv, m = hook(program, key, arr)
        if m is None:
            continue
        m = dict(m)
        if units == "model":
            result.recordings[key] = conv
        else:
            m["unit"] = m["raw_unit"]
        meta[key] = m
    result.units = meta
    return result


def run_program(
    program: Any,
    inputs: Mapping[str, Any],
    backend: str = "emulator",
    *,
    units: str = "model",
    raw: bool = False,
    **options: Any,
):
    """Run ``program`` on one of its target's backends (the one entry point every caller uses).

    Recorded ``POP.v`` / ``POP.u`` come back in the model's float units (``units="model"``) or as
    the chip's own numbers (``units="raw"`` or ``raw=True``), through the target's
    ``to_model_units`` hook; ``RunResult.units`` says which, per key.
    """
    units = "raw" if raw else units
    if units not in UNITS:  # checked before the run, not after
        convert_units(None, None, None, units)
    target = get_target(program.target)
    result = target.backend(backend)(program, inputs, **options)
    return convert_units(result, program, target.hook("to_model_units"), units)


__all__ = [
    "Target",
    "INPUT_KINDS",
    "UNITS",
    "resolve",
    "get_target",
    "target_names",
    "run_program",
    "convert_units",
]
