"""neurocompile: compile spiking neural networks for Loihi 2, SpiNNaker and a bit-accurate emulator.

The core imports without torch; norse, sinabs and ONNX frontends are optional extras.
"""

from __future__ import annotations

from .check import CheckReport, Finding, check
from .compiler import compile, simulate
from .errors import NeurocompileError
from .ir import Graph, Node
from .load import load
from .program import Program
from .semantics import Semantics, resolve_semantics
from .torch_module import to_torch

__version__ = "0.1.0"

__all__ = [
    "CheckReport",
    "Finding",
    "Graph",
    "Node",
    "NeurocompileError",
    "Program",
    "Semantics",
    "check",
    "compile",
    "load",
    "resolve_semantics",
    "simulate",
    "to_torch",
    "__version__",
]
