"""The Program: a target's integer network, in one deterministic file.

A Program is what ``lower`` produces and what every backend runs (backends never
re-quantize). It is target-generic: populations and projections carry a target-specific
``kind`` and a flat ``params`` dict of Python scalars, strings, lists and integer numpy
arrays; each target's ``spec`` module validates them.

File format (``.ncp``): a zip archive with fixed timestamps and sorted members:
``program.json`` (everything but arrays, keys sorted) and ``arrays/NNNN.npy`` (numpy
``.npy``), referenced from the JSON as ``{"__array__": "arrays/NNNN.npy"}``. The same
network gives the same bytes, and loading needs numpy only (no torch, no nir).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import ModelLoadError

FORMAT = "neurocompile-program"
FORMAT_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass
class Population:
    name: str
    kind: str
    shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


@dataclass
class Projection:
    name: str
    pre: str
    post: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutputSpec:
    """How a NIR ``Output`` is read off a population: its spikes, or ``v`` times ``scale``."""

    population: str
    observable: str = "spikes"
    scale: float = 1.0


def output_specs(outputs: Mapping[str, Any] | None) -> dict[str, OutputSpec]:
    """Normalise builder outputs: key -> ``OutputSpec``, a population name (its spikes) or
    ``(population, observable[, scale])``."""
    from .errors import ParameterError

    outs: dict[str, OutputSpec] = {}
    for key, o in (outputs or {}).items():
        if isinstance(o, OutputSpec):
            outs[key] = o
        elif isinstance(o, str):
            outs[key] = OutputSpec(o, "spikes", 1.0)
        else:
            o = tuple(o)
            if not 1 <= len(o) <= 3:
                raise ParameterError(
                    f"output spec {o!r} is not valid",
                    node=key,
                    parameter="outputs",
                    expected="(population, observable[, scale])",
                )
            outs[key] = OutputSpec(
                str(o[0]), str(o[1]) if len(o) > 1 else "spikes", float(o[2]) if len(o) > 2 else 1.0
            )
    return outs


def check_endpoints(
    proj: "Projection", program: "Program", neuron_kinds: tuple[str, ...], expected: str
) -> None:
    """A projection's pre and post populations exist and its post population is a neuron kind."""
    from .errors import GraphError

    for end, role in ((proj.pre, "pre"), (proj.post, "post")):
        if end not in program.populations:
            raise GraphError(
                f"projection {role} population '{end}' does not exist",
                node=proj.name,
                parameter=role,
                expected="one of " + ", ".join(sorted(program.populations)),
            )
    post = program.populations[proj.post]
    if post.kind not in neuron_kinds:
        raise GraphError(
            f"projection post population '{proj.post}' is a {post.kind} population",
            node=proj.name,
            parameter="post",
            expected=expected,
        )


@dataclass
class Program:
    target: str
    populations: dict[str, Population] = field(default_factory=dict)
    projections: dict[str, Projection] = field(default_factory=dict)
    #: NIR Input name -> population name (an input population of the target).
    inputs: dict[str, str] = field(default_factory=dict)
    #: NIR Output name -> how to read it.
    outputs: dict[str, OutputSpec] = field(default_factory=dict)
    semantics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    quantization: dict[str, Any] = field(default_factory=dict)
    placement: dict[str, Any] = field(default_factory=dict)
    learning: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ running
    def run(self, inputs: Mapping[str, np.ndarray], backend: str = "emulator", **options: Any):
        """Run on a backend (``emulator``, ``lava``, ...) and return a ``RunResult``."""
        from neurocompile.target import run_program

        return run_program(self, inputs, backend=backend, **options)

    # ------------------------------------------------------------------ file
    def to_json_dict(self, arrays: list[np.ndarray]) -> dict[str, Any]:
        def enc(x: Any) -> Any:
            if isinstance(x, np.ndarray):
                arrays.append(x)
                return {"__array__": f"arrays/{len(arrays) - 1:04d}.npy"}
            if isinstance(x, dict):
                return {str(k): enc(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [enc(v) for v in x]
            if isinstance(x, np.generic):
                return x.item()
            return x

        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "populations": [
                {"name": p.name, "kind": p.kind, "shape": list(p.shape), "params": enc(_sorted(p.params))}
                for p in self.populations.values()
            ],
            "projections": [
                {
                    "name": p.name,
                    "pre": p.pre,
                    "post": p.post,
                    "kind": p.kind,
                    "params": enc(_sorted(p.params)),
                }
                for p in self.projections.values()
            ],
            "inputs": dict(self.inputs),
            "outputs": {
                k: {"population": o.population, "observable": o.observable, "scale": float(o.scale)}
                for k, o in self.outputs.items()
            },
            "semantics": enc(self.semantics),
            "provenance": enc(self.provenance),
            "quantization": enc(self.quantization),
            "placement": enc(self.placement),
            "learning": enc(self.learning),
        }

    def to_bytes(self) -> bytes:
        arrays: list[np.ndarray] = []
        doc = self.to_json_dict(arrays)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            _write_member(zf, "program.json", json.dumps(doc, sort_keys=True, indent=1).encode())
            for i, arr in enumerate(arrays):
                ab = io.BytesIO()
                np.lib.format.write_array(ab, np.ascontiguousarray(arr), allow_pickle=False)
                _write_member(zf, f"arrays/{i:04d}.npy", ab.getvalue())
        return buf.getvalue()

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "Program":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            doc = json.loads(zf.read("program.json"))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ModelLoadError(
                f"{source} is not a neurocompile Program file ({exc})", parameter="program"
            ) from None
        if doc.get("format") != FORMAT:
            raise ModelLoadError(
                f"{source} is not a neurocompile Program file", parameter="format", expected=FORMAT
            )
        if int(doc.get("format_version", -1)) > FORMAT_VERSION:
            raise ModelLoadError(
                f"{source} was written by a newer neurocompile (format {doc.get('format_version')})",
                parameter="format_version",
                expected=f"<= {FORMAT_VERSION}",
            )

        def dec(x: Any) -> Any:
            if isinstance(x, dict):
                if set(x) == {"__array__"}:
                    return np.lib.format.read_array(io.BytesIO(zf.read(x["__array__"])), allow_pickle=False)
                return {k: dec(v) for k, v in x.items()}
            if isinstance(x, list):
                return [dec(v) for v in x]
            return x

        prog = cls(target=doc["target"])
        for p in doc["populations"]:
            prog.populations[p["name"]] = Population(
                p["name"], p["kind"], tuple(p["shape"]), dec(p["params"])
            )
        for p in doc["projections"]:
            prog.projections[p["name"]] = Projection(
                p["name"], p["pre"], p["post"], p["kind"], dec(p["params"])
            )
        prog.inputs = dict(doc["inputs"])
        prog.outputs = {k: OutputSpec(**v) for k, v in doc["outputs"].items()}
        prog.semantics = dec(doc["semantics"])
        prog.provenance = dec(doc["provenance"])
        prog.quantization = dec(doc["quantization"])
        prog.placement = dec(doc["placement"])
        prog.learning = dec(doc["learning"])
        return prog

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Program":
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ModelLoadError(f"cannot read {path}: {exc.strerror}", parameter="program") from None
        return cls.from_bytes(data, source=str(path))


def _sorted(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in sorted(d)}


def _write_member(zf: zipfile.ZipFile, name: str, payload: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, payload)
