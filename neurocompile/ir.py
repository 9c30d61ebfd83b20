"""neurocompile's own, version-independent view of a NIR graph.

Installed ``nir`` packages disagree between eras (nir 1.0.4, which sinabs pins, has no
``v_reset`` and no ``CubaLI``; nir >= 1.0.5 has both), so the loader reads every era into
these plain objects instead of into ``nir`` classes. A :class:`Graph` is always flat: nested
``NIRGraph`` nodes are expanded with dotted names (``outer.inner``).

Node parameters are numpy arrays (float64 for neuron parameters and weights) or plain
Python values (conv ``stride``/``padding`` tuples, strings). Shapes never include batch or
time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Every primitive neurocompile understands, with its required and optional parameters.
#: Optional parameters map to their default (``None``: absent is meaningful).
PRIMITIVES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "Input": (("shape",), {}),
    "Output": (("shape",), {}),
    "Affine": (("weight", "bias"), {}),
    "Linear": (("weight",), {}),
    "Scale": (("scale",), {}),
    "Conv1d": (
        ("weight",),
        {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "input_shape": None},
    ),
    "Conv2d": (
        ("weight",),
        {
            "bias": None,
            "stride": (1, 1),
            "padding": (0, 0),
            "dilation": (1, 1),
            "groups": 1,
            "input_shape": None,
        },
    ),
    "SumPool2d": (("kernel_size",), {"stride": None, "padding": (0, 0)}),
    "AvgPool2d": (("kernel_size",), {"stride": None, "padding": (0, 0)}),
    "Flatten": ((), {"start_dim": 1, "end_dim": -1, "input_shape": None}),
    "Threshold": (("threshold",), {}),
    "Delay": (("delay",), {}),
    "I": (("r",), {}),
    "IF": (("r", "v_threshold"), {"v_reset": None}),
    "LI": (("tau", "r", "v_leak"), {}),
    "LIF": (("tau", "r", "v_leak", "v_threshold"), {"v_reset": None}),
    "CubaLI": (("tau_syn", "tau_mem", "r", "v_leak"), {"w_in": None}),
    "CubaLIF": (("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"), {"w_in": None, "v_reset": None}),
}

#: Primitives that hold state over time.
NEURON_KINDS = frozenset({"I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"})
#: Neurons that emit spikes (the others output their membrane value ``v``).
SPIKING_KINDS = frozenset({"IF", "LIF", "CubaLIF"})
#: Neuron parameters that are per-neuron arrays defining the node's shape (in this order).
NEURON_PARAMS = ("r", "tau", "tau_syn", "tau_mem", "v_leak", "v_threshold", "v_reset", "w_in")
NEURON_ARRAY_PARAMS = frozenset(NEURON_PARAMS)
#: Time-constant parameters (> 0).
TAU_PARAMS = ("tau", "tau_syn", "tau_mem")


@dataclass
class Node:
    """One primitive. ``kind`` is the NIR type name (``"LIF"``, ``"Affine"``, ...)."""

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    #: Shape of the node's input and output without batch/time, once inferred (else None).
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    #: NIR metadata attached to the node in the file, if any.
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_neuron(self) -> bool:
        return self.kind in NEURON_KINDS

    @property
    def is_spiking(self) -> bool:
        return self.kind in SPIKING_KINDS

    def param(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class Graph:
    """A flat NIR graph plus what is known about where it came from.

    ``legacy_reset`` lists spiking nodes that carry no ``v_reset`` because the file predates
    it (nir <= 1.0.4, when reset meant subtraction); the loader never guesses their reset.
    ``conventions`` records framework conventions detected or declared at load (for example
    ``{"framework": "sinabs", "tau_unit": "steps"}``).
    """

    nodes: dict[str, Node]
    edges: list[tuple[str, str]]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    nir_version: str | None = None
    legacy_reset: tuple[str, ...] = ()
    conventions: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ structure
    @property
    def inputs(self) -> list[str]:
        return [n for n, node in self.nodes.items() if node.kind == "Input"]

    @property
    def outputs(self) -> list[str]:
        return [n for n, node in self.nodes.items() if node.kind == "Output"]

    def predecessors(self, name: str) -> list[str]:
        return [s for s, d in self.edges if d == name]

    def successors(self, name: str) -> list[str]:
        return [d for s, d in self.edges if s == name]

    def neurons(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_neuron]

    def metadata_dt(self) -> float | None:
        """``dt`` carried in the graph metadata, if any (``dt`` or ``time_step`` keys)."""
        for key in ("dt", "time_step", "timestep"):
            if key in self.metadata:
                try:
                    val = float(np.asarray(self.metadata[key]).reshape(-1)[0])
                except (TypeError, ValueError, IndexError):
                    return None
                return val
        return None
