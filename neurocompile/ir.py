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

#: The largest magnitude a parameter may have: float32's (the reference and both chips compute
#: in float32 or narrower; a larger finite value overflows as soon as it is scaled).
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: The largest array neurocompile allocates, in elements (2**26 = 67,108,864: 512 MiB in
#: float64; the netlist and the simulators hold several arrays of a node's size). A parameter in
#: a file, a node's declared or inferred shape or a conv's connection matrix that is larger is
#: refused (``check`` code ``size-limit``) before anything is allocated.
ELEMENT_LIMIT = 2**26


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
    #: What the loader found wrong but kept loading, as ``(code, node, message)``: dotted names
    #: that collide after flattening (``name-collision``), datasets too large to read
    #: (``size-limit``). ``check`` reports them; ``compile``/``simulate`` refuse them.
    load_problems: list[tuple[str, str | None, str]] = field(default_factory=list)

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
        """``dt`` carried in the graph metadata, if any (``dt`` or ``time_step`` keys); ``None``
        when absent or unusable (:meth:`metadata_dt_problem` says why)."""
        key = self._metadata_dt_key()
        if key is None or self.metadata_dt_problem() is not None:
            return None
        return float(np.asarray(self.metadata[key]).reshape(-1)[0])

    def _metadata_dt_key(self) -> str | None:
        return next((k for k in ("dt", "time_step", "timestep") if k in self.metadata), None)

    def metadata_dt_problem(self) -> str | None:
        """Why the metadata's dt is not one real number (``None``: absent or usable)."""
        key = self._metadata_dt_key()
        if key is None:
            return None
        raw = self.metadata[key]
        try:
            arr = np.asarray(raw)
        except Exception:  # noqa: BLE001 - any unconvertible object is the wrong type
            return f"metadata '{key}' is a {type(raw).__name__}, not a number"
        if arr.dtype.kind in "US":
            try:
                float(arr.reshape(-1)[0]) if arr.size == 1 else None
            except (TypeError, ValueError):
                return f"metadata '{key}' = {raw!r} is a string, not a number"
        elif arr.dtype.kind not in "iuf":
            what = {"c": "complex", "b": "boolean"}.get(arr.dtype.kind, f"of dtype {arr.dtype}")
            return f"metadata '{key}' = {raw!r} is {what}, not a real number"
        if arr.size != 1:
            return f"metadata '{key}' has {arr.size} values (shape {arr.shape}), not one number"
        return None
