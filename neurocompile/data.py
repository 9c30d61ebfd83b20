"""The ``.npz`` data convention and the result object every backend returns.

Inputs and outputs are ``.npz`` files whose keys are the NIR ``Input`` / ``Output`` node
names, arrays shaped ``(batch, time, *node_shape)``. Recorded state adds keys
``NODE.v``, ``NODE.u`` and ``NODE.spikes`` of the same layout. The run's provenance
(backend, fidelity label, semantics) is stored under the key ``__meta__`` as a JSON string.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import InputDataError

META_KEY = "__meta__"
OBSERVABLES = ("v", "u", "spikes")

#: Fidelity labels (after Lava): what a backend's numbers mean.
FIDELITY_FLOAT = "float"
FIDELITY_BIT_EXACT = "bit-exact"
FIDELITY_BIT_APPROXIMATE = "bit-approximate"


@dataclass
class RunResult:
    """What a run produced, in the ``.npz`` layout, plus where it came from."""

    outputs: dict[str, np.ndarray]
    recordings: dict[str, np.ndarray] = field(default_factory=dict)
    backend: str = "reference"
    fidelity: str = FIDELITY_FLOAT
    #: The pinned implementation the fidelity label refers to (e.g. "lava-nc 0.10.0 fixed_pt").
    reference: str | None = None
    semantics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        out = dict(self.outputs)
        out.update(self.recordings)
        return out

    def meta(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "fidelity": self.fidelity,
            "reference": self.reference,
            "semantics": self.semantics,
            "warnings": list(self.warnings),
        }

    def label(self) -> str:
        ref = f" vs {self.reference}" if self.reference else ""
        return f"backend {self.backend}, fidelity {self.fidelity}{ref}"

    def save(self, path: str | os.PathLike) -> None:
        arrays = self.arrays()
        arrays[META_KEY] = np.array(json.dumps(self.meta(), sort_keys=True))
        np.savez_compressed(path, **arrays)


def parse_record(spec: Any, *, observables: Iterable[str] = OBSERVABLES) -> list[tuple[str, str]]:
    """Normalise what to record into ``[(node, observable), ...]`` (order kept).

    Accepts ``None``, the CLI form ``"NODE.v,NODE.u,OTHER.spikes"``, or an iterable of such
    strings and ``(node, observable)`` pairs. String items must name one of ``observables``
    (a backend passes its extra ones, e.g. learning traces); pairs are passed through for the
    backend to check against what it can record.
    """
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    allowed = tuple(observables)
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, str):
            node, obs = item
            out.append((str(node), str(obs)))
            continue
        item = item.strip()
        if not item:
            continue
        node, sep, obs = item.rpartition(".")
        if not sep or not node or obs not in allowed:
            raise InputDataError(
                f"cannot parse record item {item!r}",
                parameter="record",
                expected=" or ".join(f"NODE.{o}" for o in allowed) + " separated by commas",
            )
        out.append((node, obs))
    return out


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an ``.npz`` into a plain dict (no lazy file handle left open)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files if k != META_KEY}
    except FileNotFoundError:
        raise InputDataError(f"file not found: {path}", parameter="input") from None
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read {path} as .npz: {exc}", parameter="input") from None


def check_inputs(
    data: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[int, ...]],
) -> tuple[dict[str, np.ndarray], int, int]:
    """Validate input arrays against ``{input_name: node_shape}``.

    Returns ``(arrays as float64, batch, steps)``. A missing key, a wrong trailing shape,
    inconsistent batch/time or non-finite values raise :class:`InputDataError` naming the key.
    """
    arrays: dict[str, np.ndarray] = {}
    batch = steps = None
    for name, shape in expected.items():
        if name not in data:
            raise InputDataError(
                f"input data has no key '{name}' (keys: {sorted(data)})",
                node=name,
                parameter="input",
                expected=f"an array (batch, time, {', '.join(map(str, shape))})",
            )
        arr = np.asarray(data[name])
        want = tuple(int(s) for s in shape)
        if arr.ndim != 2 + len(want) or tuple(arr.shape[2:]) != want:
            raise InputDataError(
                f"input array has shape {arr.shape}",
                node=name,
                parameter="input",
                expected=f"(batch, time, {', '.join(map(str, want))})",
            )
        if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
            raise InputDataError(
                f"input array has dtype {arr.dtype}", node=name, parameter="input", expected="a numeric array"
            )
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise InputDataError(
                "input array contains NaN or inf", node=name, parameter="input", expected="finite values"
            )
        b, t = arr.shape[:2]
        if batch is None:
            batch, steps = b, t
        elif (b, t) != (batch, steps):
            raise InputDataError(
                f"batch/time {(b, t)} differ from the other inputs' {(batch, steps)}",
                node=name,
                parameter="input",
                expected="the same batch and time for every input",
            )
        arrays[name] = arr
    if batch is None:
        raise InputDataError("the model has no Input node", parameter="input")
    return arrays, int(batch), int(steps)
