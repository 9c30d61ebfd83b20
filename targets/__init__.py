"""The registry of chips: the one place that names them.

Each chip is one folder ``targets/<chip>/`` whose ``__init__.py`` exposes ``TARGET``, a
:class:`neurocompile.target.Target` (its lowering, rules, placer, backends, emit, report and
learning sections; see ``docs/targets/adding-a-target.md``). :data:`REGISTRY` maps a name to
``"module:TARGET"``, imported on first use, so the core stays importable without Lava,
sPyNNaker or the emulators' compiled kernels. :func:`register` adds a target from outside
(a plugin or a test) without touching this file's table.
"""

from __future__ import annotations

from typing import Any

from neurocompile.errors import UnsupportedError
from neurocompile.target import (
    Target,
    resolve,
    run_program,  # noqa: F401 - the dispatch entry point, re-exported
)

#: target name -> ``"module:TARGET"`` (imported lazily) or a :class:`Target` object.
REGISTRY: dict[str, Any] = {
    "loihi2": "neurocompile.targets.loihi2:TARGET",
    "spinnaker": "neurocompile.targets.spinnaker:TARGET",
}


def register(name: str, target: Target | str) -> None:
    """Register (or replace) the target ``name``: a :class:`Target` or ``"module:TARGET"``."""
    REGISTRY[name] = target


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> Target:
    entry = REGISTRY.get(name) if isinstance(name, str) else None
    if entry is None:
        raise UnsupportedError(f"unknown target {name!r}", parameter="target", expected=" or ".join(REGISTRY))
    target = resolve(entry)
    if not isinstance(target, Target):
        raise UnsupportedError(
            f"target {name!r} is registered as {entry!r}, which is not a Target",
            parameter="target",
            expected="a neurocompile.target.Target",
        )
    return target


__all__ = ["REGISTRY", "register", "names", "get", "run_program"]
