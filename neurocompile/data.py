"""The ``.npz`` data convention and the result object every backend returns.

Inputs and outputs are ``.npz`` files whose keys are the NIR ``Input`` / ``Output`` node
names, arrays shaped ``(batch, time, *node_shape)``. Recorded state adds keys
``NODE.v``, ``NODE.u`` and ``NODE.spikes`` of the same layout. The run's provenance
(backend, fidelity label, semantics, units, time step) is stored under the key ``__meta__`` as a
JSON string.

Units (``docs/fidelity.md``, "Units"): a chip backend returns its own numbers (Loihi 2
integers, sPyNNaker mV); :func:`neurocompile.target.run_program` passes them through the
target's ``to_model_units`` hook (:func:`neurocompile.target.convert_units`): recorded
``POP.v`` / ``POP.u`` come back in the trained model's float units (``units="model"``, the
default) or unchanged (``units="raw"``), and ``RunResult.units`` (``__meta__["units"]``) holds
per key ``{"unit", "scale", "step", "raw_unit"}``. Spikes and outputs are never changed. Rates
are in Hz when ``dt`` is in seconds (``dt < 1``), else per step (sinabs graphs, ``dt = 1``):
:func:`rate_unit`, ``__meta__["time"]`` and ``__meta__["rates"]``.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
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
    #: per array key with a unit: ``{"unit", "scale", "step", "raw_unit"[, "note"]}`` (see
    #: :func:`neurocompile.target.convert_units`); empty when no target hook described the arrays.
    units: dict[str, dict[str, Any]] = field(default_factory=dict)

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
            "units": self.units,
            "time": time_meta(self.semantics.get("dt")),
            "rates": self.rates(),
        }

    def rates(self) -> dict[str, float]:
        """Mean spike rate per spike key (``POP.spikes``, and outputs without a unit whose values are
        all 0/1), in :func:`rate_unit` of the run's ``dt`` (Hz, or per step)."""
        dt = self.semantics.get("dt")
        factor = 1.0 / float(dt) if rate_unit(dt) == "Hz" else 1.0
        out = {}
        for key, arr in self.arrays().items():
            a = np.asarray(arr)
            if not (a.size and a.ndim >= 2 and a.dtype.kind in "biuf"):
                continue
            if key.endswith(".spikes") or (
                key in self.outputs and key not in self.units and bool(np.all((a == 0) | (a == 1)))
            ):
                out[key] = float(a.mean()) * factor
        return out

    def label(self) -> str:
        ref = f" vs {self.reference}" if self.reference else ""
        return f"backend {self.backend}, fidelity {self.fidelity}{ref}"

    def save(self, path: str | os.PathLike, *, what: str = "--output") -> None:
        """Write the ``.npz`` to exactly ``path``, atomically (:func:`neurocompile.files.atomic_write`):
        a failed write leaves no partial file and the previous one untouched."""
        from .files import atomic_write

        arrays = self.arrays()
        arrays[META_KEY] = np.array(json.dumps(self.meta(), sort_keys=True))

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

        atomic_write(path, write, what=what)


def rate_unit(dt: Any) -> str:
    """``"Hz"`` when ``dt`` is in seconds (a step below 1: the NIR paper graphs, norse), else
    ``"per step"`` (``dt = 1``: sinabs graphs, whose time constants are in steps)."""
    try:
        return "Hz" if 0 < float(dt) < 1 else "per step"
    except (TypeError, ValueError):
        return "per step"


def time_meta(dt: Any) -> dict[str, Any]:
    """``__meta__["time"]``: the step and the unit rates are given in."""
    unit = rate_unit(dt)
    return {"dt": dt, "dt_unit": "s" if unit == "Hz" else "step", "rate_unit": unit}


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


#: The largest array :func:`load_npz` allocates (elements per key, and in total): 2**28 (2 GiB as
#: float64). Checked from each member's ``.npy`` header before anything is read.
MAX_ELEMENTS = 2**28

#: dtype kinds :func:`load_npz` accepts: bool, signed and unsigned integers, floats.
_ACCEPTED_KINDS = "biuf"


def load_npz(
    path: str | os.PathLike,
    *,
    what: str = "--input",
    max_elements: int = MAX_ELEMENTS,
    structured: bool = False,
) -> dict[str, np.ndarray]:
    """Read an ``.npz`` into a plain dict (no lazy file handle left open), validating as it reads.

    The file must be a regular, non-empty file (:func:`neurocompile.files.input_path`, so a
    FIFO or device is refused without being opened) holding a zip archive of ``KEY.npy``
    members. Every member's ``.npy`` header is read first: object, string, complex, datetime
    or structured dtypes and shapes of more than ``max_elements`` elements (per key and in
    total) are refused before anything is allocated; duplicate or empty keys, non-``.npy``
    members, truncated data and zip errors (bad CRC, bad deflate) are refused too. Each is one
    :class:`InputDataError` naming the option ``what`` and the key. float16 arrays are returned
    as float32; bool, integer and other float arrays unchanged. ``__meta__`` is skipped.
    ``structured=True`` also accepts 1-D structured arrays whose fields are all bool, integer or
    float scalars (event lists, :mod:`neurocompile.events`).
    """
    import zipfile
    import zlib

    from .files import input_path

    p = input_path(path, what=what)

    def fail(msg: str, key: str | None = None, expected: str | None = None) -> InputDataError:
        return InputDataError(msg, node=key, parameter=what, expected=expected)

    try:
        with open(p, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise fail(f"cannot read {p}: {exc.strerror or exc}") from None
    if head == b"\x93NUMPY":
        raise fail(f"{p} is a plain .npy array, not an .npz archive", expected="an .npz (np.savez) file")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise fail(
            f"{p} is not an .npz archive ({' '.join(str(exc).split())})", expected="an .npz (np.savez) file"
        ) from None
    out: dict[str, np.ndarray] = {}
    with zf:
        infos = zf.infolist()
        seen: set[str] = set()
        total = 0
        plan = []
        for info in infos:
            name = info.filename
            if info.is_dir():
                raise fail(f"{p} has a folder member {name!r}", expected="only KEY.npy members")
            if not isinstance(name, str) or not name.endswith(".npy") or len(name) <= 4:
                raise fail(
                    f"{p} has a member {name!r} that is not a KEY.npy array",
                    expected="an .npz written by numpy.savez",
                )
            key = name[:-4]
            if key in seen:
                raise fail(f"key {key!r} appears twice in {p}", key=key, expected="unique keys")
            seen.add(key)
            if key == META_KEY:
                continue
            try:
                with zf.open(info) as m:
                    version = np.lib.format.read_magic(m)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
                    elif version == (2, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
                    else:  # 3.0 only stores non-latin-1 field names: structured data, refused anyway
                        raise ValueError(f"npy format version {version[0]}.{version[1]} is not supported")
                    header_len = m.tell()
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as exc:
                raise fail(
                    f"key {key!r} of {p} is not a readable .npy array ({' '.join(str(exc).split())})",
                    key=key,
                ) from None
            dtype = np.dtype(dtype)
            plain_struct = structured and _plain_fields(dtype) and len(shape) == 1
            if not plain_struct and (
                dtype.hasobject or dtype.kind not in _ACCEPTED_KINDS or dtype.fields is not None
            ):
                raise fail(
                    f"key {key!r} has dtype {dtype}",
                    key=key,
                    expected="a bool, integer or float array (no object, string or complex data)",
                )
            size = 1
            for s in shape:
                size *= int(s)
            total += size
            if size > max_elements or total > max_elements:
                raise fail(
                    f"key {key!r} declares shape {tuple(shape)} ({size} elements"
                    + (f", {total} in total" if total != size else "")
                    + f"), more than the limit of {max_elements} elements",
                    key=key,
                    expected=f"at most {max_elements} elements",
                )
            if info.file_size != header_len + size * dtype.itemsize:
                raise fail(
                    f"key {key!r} of {p} is truncated or corrupt: its shape {tuple(shape)} needs "
                    f"{size * dtype.itemsize} data bytes, the member holds {info.file_size - header_len}",
                    key=key,
                )
            plan.append((key, info))
        for key, info in plan:
            try:
                raw = zf.read(info)
                arr = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as exc:
                raise fail(
                    f"key {key!r} of {p} cannot be read ({' '.join(str(exc).split())})", key=key
                ) from None
            if arr.dtype == np.float16:
                arr = arr.astype(np.float32)
            out[key] = arr
    return out


def _plain_fields(dtype: np.dtype) -> bool:
    """A structured dtype whose every field is a bool, integer or float scalar."""
    fields = dtype.fields
    if not fields or dtype.hasobject:
        return False
    return all(f[0].shape == () and f[0].kind in _ACCEPTED_KINDS for f in fields.values())


# ----------------------------------------------------------------------------- emulator helpers
def record_index(
    names: list[str], slices: Mapping[str, tuple[int, int]]
) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """Global neuron indices a kernel records for ``names`` (in order), and where each
    population's block starts in the recorded columns: ``{name: (column, size)}``."""
    idx, where, c = [], {}, 0
    for n in names:
        off, size = slices[n]
        idx.append(np.arange(off, off + size, dtype=np.int64))
        where[n] = (c, size)
        c += size
    return (np.concatenate(idx) if idx else np.zeros(0, np.int64)), where


#: Chunks per batch when a progress callback is given (at least PROGRESS_MIN samples each).
PROGRESS_CHUNKS, PROGRESS_MIN = 20, 8


def progress_chunks(batch: int, progress: Any) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` sample chunks: the whole batch at once unless progress is reported."""
    size = batch if progress is None else max(PROGRESS_MIN, -(-batch // PROGRESS_CHUNKS))
    return [(a, min(batch, a + size)) for a in range(0, batch, max(size, 1))]


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
        if arr.dtype.kind not in "biuf":
            raise InputDataError(
                f"input array has dtype {arr.dtype}",
                node=name,
                parameter="input",
                expected="a real numeric array (bool, integer or float)",
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
