"""``Finding``: one problem of a model, as ``check`` lists it and ``compile`` records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem: ``code`` (see docs/check.md), ``severity``, the ``node`` (or None) and a message."""

    code: str
    severity: str
    node: str | None
    message: str
    #: for an error that ``lower`` refuses: the typed error (a NeurocompileError) that
    #: :func:`neurocompile.check.enforce` raises; not part of :meth:`as_dict` nor of equality.
    error: Any = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "node": self.node, "message": self.message}


__all__ = ["Finding"]
