"""The Program: a target's integer network, in one deterministic file.

A Program is what ``lower`` produces and what every backend runs (backends never
re-quantize). It is target-generic: populations and projections carry a target-specific
``kind`` and a flat ``params`` dict of Python scalars, strings, lists and integer numpy
arrays; each target's ``spec`` module validates them.

File format (``.ncp``): a zip archive with fixed timestamps and sorted members:
``program.json`` (everything but arrays, keys sorted) and ``arrays/NNNN.npy`` (numpy
``.npy``), referenced from the JSON as ``{"__array__": "arrays/NNNN.npy"}``. The same
network gives the same bytes, and loading needs numpy only (no torch, no nir). Members are
deflated at zlib's default level, or at :data:`FAST_COMPRESS_LEVEL` when its manifest and arrays hold more
than :data:`FAST_COMPRESS_ABOVE` bytes (the content is the same; any level reads back).
The archive is the one ``zipfile`` writes, byte for byte (:func:`_zip_bytes` assembles it from
members deflated in :data:`COMPRESS_THREADS` threads for a big Program, without copying the arrays).

Loading checks before it allocates (:func:`check_manifest`): every manifest field's type (the
field path, e.g. ``projections.fc.params.weights``, is named in the typed error), every array
reference and its member's ``.npy`` header (bool/integer/float dtype, at most
:data:`MAX_ARRAY_ELEMENTS` elements, exactly the member's size), finite numbers in ``params``,
``semantics``, ``learning`` and ``outputs``, bounded uncompressed sizes; then the target's
``validate`` hook (its schema) checks every value against the chip's limits.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import ModelLoadError, ParameterError

FORMAT = "neurocompile-program"
FORMAT_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: zlib level of every member of a Program whose manifest and arrays hold more than FAST_COMPRESS_ABOVE
#: bytes (uncompressed); smaller ones keep zlib's default (6), so their files are unchanged. Level 2
#: deflates a chip-scale Program (1M neurons, 100M synapses: GBs of int64 .npy) about 8x faster
#: than level 6, for files ~20 % larger (benchmarks/bench_compile.py; issue 14 item 2).
FAST_COMPRESS_LEVEL = 2
FAST_COMPRESS_ABOVE = 64 * 2**20
#: threads deflating the members of a Program above FAST_COMPRESS_ABOVE bytes (each member is one
#: independent deflate stream, so the bytes do not depend on it; zlib releases the GIL).
COMPRESS_THREADS = max(1, min(4, os.cpu_count() or 1))
#: uncompressed bytes per compression task (consecutive members) of those threads.
COMPRESS_BATCH = 8 * 2**20

#: Limits of the load-time check (:func:`check_manifest`), enforced before anything is allocated:
#: elements of one array member (and of one population), uncompressed bytes of ``program.json``,
#: uncompressed bytes of all members together (declared sizes; zipfile never inflates a member
#: beyond its declared size), nesting depth of the JSON.
MAX_ARRAY_ELEMENTS = 2**31
MAX_MANIFEST_BYTES = 2**28
MAX_PROGRAM_BYTES = 2**34
MAX_DEPTH = 64
#: dtype kinds an array member may have (bool, signed and unsigned integer, float).
ARRAY_KINDS = "biuf"


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

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return (
            f"Program(target={self.target!r}, populations={len(self.populations)}, "
            f"projections={len(self.projections)}, inputs={list(self.inputs)}, outputs={list(self.outputs)})"
        )

    def __str__(self) -> str:
        """The ``neurocompile inspect`` table (:func:`neurocompile.summary.summarize_program`)."""
        from .summary import summarize_program

        return summarize_program(self).to_text()

    def input_key(self, population: str) -> str:
        """The ``.npz`` input key that feeds ``population`` (an input population)."""
        return next(k for k, p in self.inputs.items() if p == population)

    # ------------------------------------------------------------------ running
    def run(
        self,
        inputs: Mapping[str, np.ndarray],
        backend: str = "emulator",
        *,
        cluster: Any = None,
        **options: Any,
    ):
        """Run on a backend (``emulator``, ``lava``, ...) and return a ``RunResult``.

        ``cluster`` (``"local:N"``, ``"tcp://HOST:PORT"``, a ``distributed.Client`` or cluster): the
        batch is sharded by sample over Dask workers and gathered in order, bit-identical to a run
        in this process (:func:`neurocompile.distributed.run_sharded`; ``shards=`` sets how many)."""
        if cluster is not None:
            from .distributed import run_sharded

            return run_sharded(self, inputs, backend, cluster=cluster, **options)
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

    def to_bytes(self, compresslevel: int | None = None) -> bytes:
        """The ``.ncp`` bytes. ``compresslevel`` (zlib 0..9) overrides the size rule above for a
        transient copy (e.g. level 1 when the bytes are shipped to Dask workers, not stored); the
        members' content is the same at every level. A Program above :data:`FAST_COMPRESS_ABOVE`
        bytes is deflated member by member in :data:`COMPRESS_THREADS` threads (zlib releases the
        GIL); the bytes are those of a serial write (:func:`_zip_bytes`)."""
        arrays: list[np.ndarray] = []
        doc = self.to_json_dict(arrays)
        manifest = json.dumps(doc, sort_keys=True, indent=1).encode()
        big = len(manifest) + sum(a.nbytes for a in arrays) > FAST_COMPRESS_ABOVE
        level = compresslevel if compresslevel is not None else FAST_COMPRESS_LEVEL if big else None
        members = [("program.json", (manifest,))]
        members += [(f"arrays/{i:04d}.npy", _npy_parts(arr)) for i, arr in enumerate(arrays)]
        return _zip_bytes(members, level, threads=COMPRESS_THREADS if big else 1)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "Program":
        """Read a Program file. The manifest (``program.json``) is checked field by field and every
        array member's ``.npy`` header (dtype, shape, size) before any array is read
        (:func:`check_manifest`); then the target's ``validate`` hook (its schema) checks the
        values. Anything wrong is a typed error naming the field path and what was expected."""
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = {i.filename: i for i in zf.infolist()}
            total = sum(i.file_size for i in infos.values())
            if total > MAX_PROGRAM_BYTES:
                raise ModelLoadError(
                    f"{source}: its members hold {total} bytes uncompressed",
                    parameter="program",
                    expected=f"at most {MAX_PROGRAM_BYTES} bytes",
                )
            manifest = infos.get("program.json")
            if manifest is not None and manifest.file_size > MAX_MANIFEST_BYTES:
                raise ModelLoadError(
                    f"{source}: program.json holds {manifest.file_size} bytes",
                    parameter="program.json",
                    expected=f"at most {MAX_MANIFEST_BYTES} bytes",
                )
            doc = json.loads(zf.read("program.json"))
        except _READ_ERRORS as exc:
            raise ModelLoadError(
                f"{source} is not a neurocompile Program file ({_exc_text(exc)})", parameter="program"
            ) from None
        headers = check_manifest(doc, zf, source)

        def dec(x: Any) -> Any:
            if isinstance(x, dict):
                if "__array__" in x:
                    name = x["__array__"]
                    return _read_array(zf, infos[name], headers[name], source)
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
        validate_with_target(prog, source)
        return prog

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Program":
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ModelLoadError(f"cannot read {path}: {exc.strerror}", parameter="program") from None
        return cls.from_bytes(data, source=str(path))


# ---------------------------------------------------------------------------- load-time checks
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    ValueError,  # includes json.JSONDecodeError and UnicodeDecodeError
    EOFError,
    OSError,
    RuntimeError,  # encrypted member; RecursionError (deeply nested JSON) is one too
    NotImplementedError,  # unsupported compression method
    zlib.error,
)

#: top-level manifest field -> (JSON type, what it must be)
_TOP = {
    "format": (str, "a string"),
    "format_version": (int, "an integer"),
    "target": (str, "a string"),
    "populations": (list, "a list of populations"),
    "projections": (list, "a list of projections"),
    "inputs": (dict, "an object (input key -> population name)"),
    "outputs": (dict, "an object (output key -> {population, observable, scale})"),
    "semantics": (dict, "an object"),
    "provenance": (dict, "an object"),
    "quantization": (dict, "an object"),
    "placement": (dict, "an object"),
    "learning": (dict, "an object"),
}
_POP_KEYS = ("name", "kind", "shape", "params")
_PROJ_KEYS = ("name", "pre", "post", "kind", "params")
_OUT_KEYS = ("population", "observable", "scale")


def _exc_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _what(x: Any) -> str:
    """A JSON value described in a few words, for error messages."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return f"a boolean ({x})"
    if isinstance(x, int):
        return f"an integer ({x})"
    if isinstance(x, float):
        return f"a number ({x})"
    if isinstance(x, str):
        return f"a string ({x[:40]!r})"
    if isinstance(x, list):
        return f"a list of {len(x)}"
    if isinstance(x, dict):
        return "an array reference" if "__array__" in x else "an object"
    return type(x).__name__


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _bad(source: str, path: str, value: Any, expected: str, error: type = ModelLoadError) -> Exception:
    return error(f"{source}: {path} is {_what(value)}", parameter=path, expected=expected)


def _field(obj: dict, key: str, path: str, source: str) -> Any:
    if key not in obj:
        raise ModelLoadError(
            f"{source}: {path} is missing", parameter=path, expected="the field to be present"
        )
    return obj[key]


def _keys(obj: dict, keys: tuple[str, ...], path: str, source: str) -> None:
    """``obj`` has exactly ``keys``."""
    for k in keys:
        _field(obj, k, f"{path}.{k}", source)
    extra = sorted(set(obj) - set(keys))
    if extra:
        raise ModelLoadError(
            f"{source}: {path} has unknown field(s) {extra}",
            parameter=f"{path}.{extra[0]}",
            expected="only " + ", ".join(keys),
        )


def _str(x: Any, path: str, source: str, *, nonempty: bool = False) -> str:
    if not isinstance(x, str) or (nonempty and not x):
        raise _bad(source, path, x, "a non-empty string" if nonempty else "a string")
    return x


def check_semantics(semantics: Mapping[str, Any]) -> None:
    """The target-independent fields of ``Program.semantics``: ``hop_delay`` (when present) 0 or 1,
    ``dt`` (when present and not null) a positive finite number. Both targets' schemas call it."""
    if "hop_delay" in semantics:
        h = semantics["hop_delay"]
        if not (
            isinstance(h, (int, np.integer)) and not isinstance(h, (bool, np.bool_)) and int(h) in (0, 1)
        ):
            raise ParameterError(
                f"semantics hop_delay={h!r} is not valid",
                parameter="semantics.hop_delay",
                expected="hop_delay 0 or 1 (an integer)",
            )
    dt = semantics.get("dt")
    if dt is not None:
        ok = isinstance(dt, (int, float, np.integer, np.floating)) and not isinstance(dt, (bool, np.bool_))
        if not ok or not math.isfinite(float(dt)) or float(dt) <= 0:
            raise ParameterError(
                f"semantics dt={dt!r} is not valid",
                parameter="semantics.dt",
                expected="dt a positive finite number (or null)",
            )


def check_manifest(doc: Any, zf: zipfile.ZipFile, source: str = "<bytes>") -> dict[str, tuple]:
    """Check a ``program.json`` document against the format, and the ``.npy`` header of every array
    member it references (without reading the data). Returns ``{member: (dtype, shape, fortran,
    data offset)}``; raises :class:`ModelLoadError` (structure, types, array members) or
    :class:`ParameterError` (a value: NaN/inf number, hop_delay) naming the field path, e.g.
    ``projections.fc.params.weights``.

    Limits: an array member holds a bool/integer/float dtype (native or either byte order, no
    object or structured dtype), at most :data:`MAX_ARRAY_ELEMENTS` elements, and exactly its
    declared uncompressed size (header + elements x itemsize); a population has at most
    :data:`MAX_ARRAY_ELEMENTS` neurons; JSON nesting is at most :data:`MAX_DEPTH` deep; numbers in
    ``params``, ``semantics``, ``learning`` and ``outputs`` are finite.
    """
    if not isinstance(doc, dict):
        raise _bad(source, "program.json", doc, "an object")
    fmt = _field(doc, "format", "format", source)
    if fmt != FORMAT:
        raise ModelLoadError(
            f"{source} is not a neurocompile Program file (format {_what(fmt)})",
            parameter="format",
            expected=repr(FORMAT),
        )
    ver = _field(doc, "format_version", "format_version", source)
    if not _is_int(ver) or ver < 1:
        raise _bad(source, "format_version", ver, f"an integer 1..{FORMAT_VERSION}")
    if ver > FORMAT_VERSION:
        raise ModelLoadError(
            f"{source} was written by a newer neurocompile (format {ver})",
            parameter="format_version",
            expected=f"<= {FORMAT_VERSION}",
        )
    for key, (typ, text) in _TOP.items():
        v = _field(doc, key, key, source)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise _bad(source, key, v, text)
    extra = sorted(set(doc) - set(_TOP))
    if extra:
        raise ModelLoadError(
            f"{source}: program.json has unknown field(s) {extra}",
            parameter=extra[0],
            expected="only " + ", ".join(_TOP),
        )
    _str(doc["target"], "target", source, nonempty=True)
    walker = _Walker(zf, source)
    for section, keys in (("populations", _POP_KEYS), ("projections", _PROJ_KEYS)):
        seen: set[str] = set()
        for i, entry in enumerate(doc[section]):
            name = entry.get("name") if isinstance(entry, dict) else None
            path = f"{section}.{name}" if isinstance(name, str) and name else f"{section}[{i}]"
            if not isinstance(entry, dict):
                raise _bad(source, path, entry, "an object with " + ", ".join(keys))
            _keys(entry, keys, path, source)
            for k in keys[:-1]:
                if k != "shape":
                    _str(entry[k], f"{path}.{k}", source, nonempty=True)
            if name in seen:
                raise ModelLoadError(
                    f"{source}: two {section} are named {name!r}", parameter=path, expected="unique names"
                )
            seen.add(name)
            if section == "populations":
                _check_shape(entry["shape"], f"{path}.shape", source)
            if not isinstance(entry["params"], dict) or "__array__" in entry["params"]:
                raise _bad(source, f"{path}.params", entry["params"], "an object")
            walker.walk(entry["params"], f"{path}.params", finite=True)
    for key, pop in doc["inputs"].items():
        _str(pop, f"inputs.{key}", source, nonempty=True)
    for key, out in doc["outputs"].items():
        path = f"outputs.{key}"
        if not isinstance(out, dict):
            raise _bad(source, path, out, "an object with " + ", ".join(_OUT_KEYS))
        _keys(out, _OUT_KEYS, path, source)
        _str(out["population"], f"{path}.population", source, nonempty=True)
        _str(out["observable"], f"{path}.observable", source, nonempty=True)
        scale = out["scale"]
        if not _is_number(scale):
            raise _bad(source, f"{path}.scale", scale, "a number")
        if not math.isfinite(scale):
            raise _bad(source, f"{path}.scale", scale, "a finite number", ParameterError)
    for key in ("semantics", "learning"):
        walker.walk(doc[key], key, finite=True)
    for key in ("provenance", "quantization", "placement"):
        walker.walk(doc[key], key, finite=False)
    check_semantics(doc["semantics"])
    return walker.headers


def _check_shape(shape: Any, path: str, source: str) -> None:
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 1 for s in shape):
        raise _bad(source, path, shape, "a list of positive integers")
    if math.prod(shape) > MAX_ARRAY_ELEMENTS:
        raise ModelLoadError(
            f"{source}: {path} {shape} has {math.prod(shape)} neurons",
            parameter=path,
            expected=f"at most {MAX_ARRAY_ELEMENTS} neurons",
        )


class _Walker:
    """Walks JSON values: depth, finite numbers (when asked), array references (headers read once)."""

    def __init__(self, zf: zipfile.ZipFile, source: str) -> None:
        self.zf, self.source = zf, source
        self.infos = {i.filename: i for i in zf.infolist()}
        self.headers: dict[str, tuple] = {}

    def walk(self, x: Any, path: str, *, finite: bool, depth: int = 0, in_list: bool = False) -> None:
        if depth > MAX_DEPTH:
            raise ModelLoadError(
                f"{self.source}: {path} is nested too deeply",
                parameter=path,
                expected=f"<= {MAX_DEPTH} levels",
            )
        if isinstance(x, dict):
            if "__array__" in x:
                self.array(x, path)
                return
            for k, v in x.items():
                self.walk(v, f"{path}.{k}", finite=finite, depth=depth + 1)
        elif isinstance(x, list):
            for i, v in enumerate(x):
                self.walk(v, f"{path}[{i}]", finite=finite, depth=depth + 1, in_list=True)
            if not in_list and any(isinstance(v, list) for v in x):
                self.rectangular(x, path)
        elif isinstance(x, float) and finite and not math.isfinite(x):
            raise _bad(self.source, path, x, "a finite number", ParameterError)

    def rectangular(self, x: list, path: str) -> None:
        """Nested lists (a matrix written inline) must be rectangular: numpy refuses ragged ones."""

        def shape(v: Any) -> tuple:
            if not isinstance(v, list):
                return ()
            inner = {shape(e) for e in v}
            if len(inner) > 1:
                raise ModelLoadError(
                    f"{self.source}: {path} is a ragged nested list",
                    parameter=path,
                    expected="a rectangular nested list (or an array member)",
                )
            return (len(v),) + (inner.pop() if inner else ())

        shape(x)

    def array(self, ref: dict, path: str) -> None:
        name = ref["__array__"]
        if set(ref) != {"__array__"} or not isinstance(name, str):
            raise _bad(self.source, path, ref, '{"__array__": "<member>.npy"} and nothing else')
        if name in self.headers:
            return
        info = self.infos.get(name)
        if info is None or name == "program.json" or info.is_dir():
            raise ModelLoadError(
                f"{self.source}: {path} refers to array member {name!r}, which is not in the file",
                parameter=path,
                expected="an existing arrays/NNNN.npy member",
            )
        try:
            with self.zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
                offset = f.tell()
        except _READ_ERRORS as exc:
            raise ModelLoadError(
                f"{self.source}: {path} ({name}) has no valid .npy header ({_exc_text(exc)})",
                parameter=path,
                expected="a .npy array member",
            ) from None
        if dtype.hasobject or dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype:
            raise ModelLoadError(
                f"{self.source}: {path} ({name}) has dtype {dtype}",
                parameter=path,
                expected="a bool, integer or float array",
            )
        if not isinstance(shape, tuple) or not all(_is_int(s) and s >= 0 for s in shape):
            raise ModelLoadError(
                f"{self.source}: {path} ({name}) declares shape {shape!r}",
                parameter=path,
                expected="a tuple of non-negative integers",
            )
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if count > MAX_ARRAY_ELEMENTS or nbytes != info.file_size - offset:
            raise ModelLoadError(
                f"{self.source}: {path} ({name}) declares shape {shape} ({count} x {dtype.itemsize} bytes) "
                f"in a member of {info.file_size - offset} data bytes",
                parameter=path,
                expected=f"at most {MAX_ARRAY_ELEMENTS} elements, exactly the member's size",
            )
        self.headers[name] = (dtype, shape, fortran, offset)


def _read_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, header: tuple, source: str) -> np.ndarray:
    """Read one array member whose header :func:`check_manifest` accepted."""
    try:
        with zf.open(info) as f:
            arr = np.lib.format.read_array(f, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise ModelLoadError(
            f"{source}: array member {info.filename} cannot be read ({_exc_text(exc)})",
            parameter=info.filename,
            expected="a .npy array member",
        ) from None
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def validate_with_target(program: Program, source: str = "<bytes>") -> Program:
    """Run the ``validate`` hook (the schema) of the Program's target; an unknown target is a
    :class:`ModelLoadError` listing the registered ones."""
    from neurocompile.target import get_target, target_names

    from .errors import UnsupportedError

    try:
        target = get_target(program.target)
    except UnsupportedError:
        raise ModelLoadError(
            f"{source}: unknown target {program.target!r}",
            parameter="target",
            expected="one of " + ", ".join(target_names()),
        ) from None
    hook = target.hook("validate")
    if hook is not None:
        hook(program)
    return program


def _sorted(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in sorted(d)}


def _npy_parts(arr: np.ndarray) -> tuple[bytes, memoryview] | tuple[bytes]:
    """One ``.npy`` member as (header, data), the bytes ``np.lib.format.write_array`` writes for
    ``arr`` (format 1.0, C order), without copying a C-contiguous array's data."""
    arr = np.ascontiguousarray(arr)
    header = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(arr))
    except ValueError:  # a header beyond format 1.0 (not a dtype a Program holds): numpy's own choice
        whole = io.BytesIO()
        np.lib.format.write_array(whole, arr, allow_pickle=False)
        return (whole.getvalue(),)
    return header.getvalue(), memoryview(arr.reshape(-1)).cast("B")


def _deflate(parts: tuple, level: int | None) -> tuple[int, int, bytes]:
    """(CRC-32, size, raw deflate stream) of one member: what zipfile's writestr computes."""
    co = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION if level is None else level, zlib.DEFLATED, -15)
    crc, size, out = 0, 0, []
    for part in parts:
        crc = zlib.crc32(part, crc)
        size += len(part) if isinstance(part, bytes) else part.nbytes
        out.append(co.compress(part))
    out.append(co.flush())
    return crc, size, b"".join(out)


def _zip_bytes(members: list[tuple[str, tuple]], level: int | None, threads: int = 1) -> bytes:
    """The zip archive ``zipfile.ZipFile(..., "w")`` writes for ``members`` ((name, payload parts))
    with :func:`_write_member` (fixed timestamps, deflated at ``level``), byte for byte, with the
    members deflated in ``threads`` threads and written as they come (one copy of the compressed
    data at a time). An archive that needs ZIP64 fields per member (a member or an offset beyond
    2 GiB) is written by zipfile itself (serially); more than 65,535 members get zipfile's ZIP64
    end records here too (tests/test_program_compression.py compares both with zipfile's bytes)."""
    dt = _ZIP_DATE
    dosdate = (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2]
    dostime = dt[3] << 11 | dt[4] << 5 | (dt[5] // 2)
    info = zipfile.ZipInfo("x", date_time=dt)
    limit = zipfile.ZIP64_LIMIT
    buf = io.BytesIO()
    central: list[bytes] = []
    with contextlib.ExitStack() as stack:
        if threads > 1 and len(members) > 1:
            from concurrent.futures import ThreadPoolExecutor

            # consecutive members in batches of about COMPRESS_BATCH bytes: one task per batch (a
            # chip-scale Program holds ~100,000 small arrays; a task each would cost more than it saves)
            batches: list[list[tuple]] = [[]]
            size = 0
            for _, parts in members:
                batches[-1].append(parts)
                size += sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts)
                if size >= COMPRESS_BATCH:
                    batches.append([])
                    size = 0
            pool = stack.enter_context(ThreadPoolExecutor(threads))
            done = (r for rs in pool.map(lambda b: [_deflate(m, level) for m in b], batches) for r in rs)
        else:
            done = (_deflate(parts, level) for _, parts in members)
        for (name, _), (crc, size, data) in zip(members, done):
            fname = name.encode("ascii")
            offset, n = buf.tell(), len(data)
            if size * 1.05 > limit or offset + 30 + len(fname) + n > limit:
                return _zipfile_bytes(members, level)  # zipfile's ZIP64 fields
            common = (
                info.extract_version,
                info.reserved,
                0,
                zipfile.ZIP_DEFLATED,
                dostime,
                dosdate,
                crc,
                n,
                size,
            )
            buf.write(struct.pack(zipfile.structFileHeader, zipfile.stringFileHeader, *common, len(fname), 0))
            buf.write(fname)
            buf.write(data)
            del data
            central.append(
                struct.pack(
                    zipfile.structCentralDir,
                    zipfile.stringCentralDir,
                    info.create_version,
                    info.create_system,
                    *common,
                    len(fname),
                    0,
                    0,
                    0,
                    0,
                    0o644 << 16,
                    offset,
                )  # fmt: skip
                + fname
            )
    start = buf.tell()
    for c in central:
        buf.write(c)
    cd_size = buf.tell() - start
    count = len(members)
    if count > zipfile.ZIP_FILECOUNT_LIMIT:  # zipfile's ZIP64 end-of-archive records
        buf.write(
            struct.pack(
                zipfile.structEndArchive64,
                zipfile.stringEndArchive64,
                44,
                45,
                45,
                0,
                0,
                count,
                count,
                cd_size,
                start,
            )  # fmt: skip
        )
        buf.write(
            struct.pack(
                zipfile.structEndArchive64Locator, zipfile.stringEndArchive64Locator, 0, start + cd_size, 1
            )
        )
        count = min(count, 0xFFFF)
    buf.write(
        struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, count, count, cd_size, start, 0)
    )
    return buf.getvalue()


def _zipfile_bytes(members: list[tuple[str, tuple]], level: int | None) -> bytes:
    """The same archive written by zipfile (any size: ZIP64 fields where needed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, parts in members:
            _write_member(zf, name, b"".join(parts), level)
    return buf.getvalue()


def _write_member(zf: zipfile.ZipFile, name: str, payload: bytes | memoryview, level: int | None) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, payload, compresslevel=level)


# ----------------------------------------------------------------------------- counts
def stored_synapses(projection: Projection) -> int:
    """The synapse entries the chip stores for ``projection``: the length of a sparse (COO) list,
    zero weights included, or ``n_pre x n_post`` of a dense matrix. The one synapse count every
    command prints ("stored synapses")."""
    if "pre" in projection.params:
        return int(np.size(projection.params["pre"]))
    w = projection.params.get("weights")
    return int(np.size(w)) if w is not None else 0


@dataclass(frozen=True)
class Counts:
    """What one Program holds, counted once for compile, report, inspect and emit.

    ``populations`` counts every population, input (spike source) populations included, and
    ``input_populations`` says how many of them are inputs; ``neurons`` counts only non-input
    populations (the neurons on the chip). ``synapses`` is :func:`stored_synapses` summed;
    ``nonzero_synapses`` the stored entries whose effective weight (after the target's weight
    truncation, the ``effective_weights`` hook) is not zero.
    """

    populations: int
    input_populations: int
    neurons: int
    projections: int
    synapses: int
    nonzero_synapses: int

    def as_dict(self) -> dict[str, int]:
        """The ``counts`` block of every command's ``--json``."""
        return {
            "populations": self.populations,
            "input_populations": self.input_populations,
            "neurons": self.neurons,
            "projections": self.projections,
            "stored_synapses": self.synapses,
            "nonzero_synapses": self.nonzero_synapses,
        }

    def text(self) -> str:
        """``4 populations (1 input), 1546 neurons, 6 projections, 222784 stored synapses (214904
        non-zero)``: the words every command's summary uses."""
        return (
            f"{self.populations} populations ({self.input_populations} input), {self.neurons} neurons, "
            f"{self.projections} projections, {self.synapses} stored synapses "
            f"({self.nonzero_synapses} non-zero)"
        )


def nonzero_synapses(program: Program, projection: Projection) -> int:
    """Stored entries of ``projection`` whose effective weight (the target's ``effective_weights``
    hook, else the stored ``weights``) is not zero."""
    from .errors import NeurocompileError
    from .target import get_target

    try:
        fn = get_target(program.target).hook("effective_weights")
    except NeurocompileError:
        fn = None
    w = fn(projection) if fn is not None else projection.params.get("weights")
    return 0 if w is None else int(np.count_nonzero(np.asarray(w)))


def counts(program: Program) -> Counts:
    """The :class:`Counts` of ``program``."""
    from .target import INPUT_KINDS

    pops = list(program.populations.values())
    projs = list(program.projections.values())
    return Counts(
        populations=len(pops),
        input_populations=sum(p.kind in INPUT_KINDS for p in pops),
        neurons=int(sum(p.size for p in pops if p.kind not in INPUT_KINDS)),
        projections=len(projs),
        synapses=int(sum(stored_synapses(p) for p in projs)),
        nonzero_synapses=int(sum(nonzero_synapses(program, p) for p in projs)),
    )
