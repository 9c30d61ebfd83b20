"""Typed errors, all in one place.

Every error a user can cause derives from :class:`NeurocompileError` and names the node (or
population / projection), the parameter, and what was expected. The CLI prints ``str(err)``
as one line and exits with code 2; library code never uses bare ``assert`` for user input.
"""

from __future__ import annotations


class NeurocompileError(Exception):
    """Base class of every user-facing error.

    ``node`` is the NIR node, population or projection concerned (``None`` when the error
    concerns the whole model or file), ``parameter`` the offending field, ``expected`` what
    would have been accepted (a limit, a shape, a set of choices).
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        parameter: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.node = node
        self.parameter = parameter
        self.expected = expected
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.node is not None:
            where.append(f"node '{self.node}'")
        if self.parameter is not None:
            where.append(f"parameter '{self.parameter}'")
        head = (", ".join(where) + ": ") if where else ""
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{head}{self.message}{tail}"

    def one_line(self) -> str:
        """The CLI form: ``<kind>: <message>`` on a single line."""
        return f"{self.kind}: " + " ".join(str(self).split())


class ModelLoadError(NeurocompileError):
    """A model file or object cannot be read at all (not HDF5, no graph, unknown framework)."""

    kind = "load error"


class GraphError(NeurocompileError):
    """The graph is readable but structurally wrong (unknown edge endpoint, shape mismatch)."""

    kind = "graph error"


class UnsupportedError(NeurocompileError):
    """A primitive, parameter value or feature the requested pass or target cannot handle."""

    kind = "unsupported"


class ParameterError(NeurocompileError):
    """A parameter has the wrong shape, is NaN/inf, or lies outside its valid range."""

    kind = "parameter error"


class SemanticsError(NeurocompileError):
    """A required semantic choice is missing or inconsistent (dt, reset, discretization)."""

    kind = "semantics error"


class InputDataError(NeurocompileError):
    """An input ``.npz`` does not match the model (missing key, wrong shape, bad values)."""

    kind = "input error"


class OutputError(NeurocompileError):
    """An output path cannot be written, or would overwrite one of the command's inputs."""

    kind = "output error"


class RangeError(NeurocompileError):
    """An integer field of a Program lies outside the target's hardware limit."""

    kind = "range error"


class ResourceError(NeurocompileError):
    """A network does not fit the target (cores, neurons, synaptic memory, delays)."""

    kind = "resource error"


class BackendUnavailableError(NeurocompileError):
    """A backend's runtime (Lava interpreter, sPyNNaker) is missing or failed to start."""

    kind = "backend unavailable"


class NumericOverflowError(NeurocompileError):
    """In strict mode: a state variable wrapped or saturated during emulation."""

    kind = "overflow"
