"""``jsonable``: a JSON-safe copy of nested dicts, lists, numpy arrays and scalars (one helper for
every ``as_dict()`` of the core)."""

from __future__ import annotations

from typing import Any

import numpy as np


def jsonable(x: Any, *, summarize_over: int | None = None) -> Any:
    """Dict keys to ``str``, tuples to lists, numpy scalars and arrays to Python; an array longer
    than ``summarize_over`` (when given) becomes ``{"shape", "min", "max"}``."""
    if isinstance(x, dict):
        return {str(k): jsonable(v, summarize_over=summarize_over) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, summarize_over=summarize_over) for v in x]
    if isinstance(x, np.ndarray):
        if summarize_over is not None and x.size > summarize_over:
            return {"shape": list(x.shape), "min": x.min().item(), "max": x.max().item()}
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


__all__ = ["jsonable"]
