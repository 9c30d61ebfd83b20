"""Backends. Each target subpackage has the same file names: ``spec`` (limits and bit
widths), ``lower`` (graph -> Program), and its runners / bundle writer.

:func:`run_program` is the one entry point that dispatches a Program to a backend; the
table below names, per (target, backend), the module and function that run it. Modules are
imported lazily so that the core stays importable without Lava, sPyNNaker or torch.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

import numpy as np

from neurocompile.errors import UnsupportedError

#: (program target, backend name) -> "module:function"; the function has the signature
#: ``fn(program, inputs, **options) -> RunResult``.
BACKENDS: dict[tuple[str, str], str] = {
    ("loihi2", "emulator"): "neurocompile.targets.emulator.run:run_program",
    ("loihi2", "lava"): "neurocompile.targets.loihi2.run:run_lava",
    ("spinnaker", "spinnaker"): "neurocompile.targets.spinnaker.board:run_board",
    ("spinnaker", "emulator"): "neurocompile.targets.emulator.run:run_program",
}


def register_backend(target: str, backend: str, entry: str) -> None:
    BACKENDS[(target, backend)] = entry


def run_program(program: Any, inputs: Mapping[str, np.ndarray], backend: str = "emulator", **options: Any):
    entry = BACKENDS.get((program.target, backend))
    if entry is None:
        choices = sorted(b for t, b in BACKENDS if t == program.target)
        raise UnsupportedError(
            f"backend {backend!r} cannot run a {program.target!r} Program",
            parameter="backend", expected=" or ".join(choices) if choices else "a registered backend",
        )
    mod_name, fn_name = entry.split(":")
    fn = getattr(importlib.import_module(mod_name), fn_name)
    return fn(program, inputs, **options)
