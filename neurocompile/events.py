"""Event data in and out: event lists binned onto a Program's time grid, and NIRData files.

Formats read (``docs/events.md``):

* **event lists** (tonic's layout): a numpy structured array with fields ``x``, ``t`` and
  optionally ``y`` and ``p`` (other fields are ignored), in any order of events. ``x``, ``y``,
  ``p`` are non-negative integers (``p`` may be bool); ``t`` is a non-negative integer or float
  time in **microseconds** (tonic's default unit). One array is one sample.
* **NIRData** (NIR's data IR, ``nir.NIRGraphData``, added to NIR in commit ``16509878b238``,
  "feat: Add Intermediate Representation for Data in SNNs (#175)", released in nir 1.0.8; the
  HDF5 layout of ``nir/serialization.py``'s ``read_data``/``write_data``): per node, per
  observable, ``EventData`` (``idx``/``time`` of shape (n_samples, n_events), padding ``-1`` /
  ``inf``, attributes ``n_neurons``, ``t_max``) or ``TimeGriddedData`` (``data`` of shape
  (n_samples, n_time_steps, n_neurons), attribute ``dt``). Times are in the graph's time unit,
  which is the Program's (seconds when ``dt < 1``, steps when ``dt >= 1``, :func:`rate_unit`).
  nir 1.0.4 (the version sinabs pins) has no data IR, so this module reads and writes that
  layout itself with h5py.

The binning rule (one function, :func:`bin_flat`, for both):

* the sensor ``(W, H, P)`` (tonic's order) is laid out channels first as ``(P, H, W)``, i.e. an
  event goes to flat index ``(p * H + y) * W + x``, and that flat vector is the Program input's
  shape in C order; ``W * H * P`` must equal the input's size. Without a given sensor size it is
  inferred from the input shape: ``(C, H, W)`` -> ``(W, H, C)``, ``(H, W)`` -> ``(W, H, 1)``,
  ``(N,)`` -> ``(N, 1, 1)``. Polarity ``channel`` (default): ``p`` is the channel index, ``p >= P``
  is refused; ``merge``: every event goes to channel 0 (the input must have ``P = 1``).
* bins start at time 0 and are ``width`` wide (for event lists, ``--bin-ms`` or ``dt`` in
  microseconds rounded to 1e-6 us, so ``dt = 1e-3`` s is exactly 1000 us); an event at time ``t``
  falls in step ``t // width`` (exact integer division when both are integers), else
  ``floor(t / width + 1e-9)`` (so a time computed as ``k * dt`` in floating point lands in step
  ``k``).
* ``binary`` mode (the default): a step's value is 1 when it has any event, what a chip's spike
  input takes (Loihi 2 binary input populations refuse other values, SpiNNaker's spike source is
  binary); ``count``: the number of its events (tonic's ``ToFrame``). Events merged by ``binary``
  and steps holding more than one event under ``count`` are reported.
* the window is ``steps`` steps; ``steps`` defaults to the last event's step + 1 over every
  sample (event lists) or ``floor(t_max / width + 1e-9)`` (NIR ``EventData``). Events at or after
  the window's end are **dropped and counted** (a warning, never silent); events outside the
  sensor, negative times or coordinates, and bad dtypes are **refused** with
  :class:`~neurocompile.errors.InputDataError` naming the field and the limit.

Writing: :func:`grid_to_events` turns a dense ``(batch, time, *shape)`` grid of non-negative
integer counts back into event lists (each count ``c`` at step ``k`` -> ``c`` events at the
step's start ``k * width``), so ``events -> grid`` reproduces it exactly; :func:`result_to_nirdata`
and :func:`write_nirdata` write a run's outputs and recordings as NIRData (spikes as
``EventData`` at the middle of their step, ``(k + 1/2) dt``, so NIR's own ``floor(t / dt)``
puts them back in step ``k``; values as ``TimeGriddedData``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from .data import MAX_ELEMENTS, load_npz, rate_unit
from .errors import InputDataError

#: Fields of an event list: required, optional.
REQUIRED_FIELDS = ("x", "t")
OPTIONAL_FIELDS = ("y", "p")
#: Binning modes and polarity mappings.
MODES = ("binary", "count")
POLARITIES = ("channel", "merge")
#: Time unit of event lists (tonic's default), in seconds.
EVENT_LIST_UNIT_S = 1e-6
#: Tolerance of the float binning rule, in bins.
BIN_EPS = 1e-9
#: HDF5 file signature (NIRData files are HDF5).
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


# ------------------------------------------------------------------------------- NIRData objects
@dataclass(frozen=True)
class EventData:
    """NIR's ``EventData``: ``idx``/``time`` (n_samples, n_events), padding -1 / inf."""

    idx: np.ndarray
    time: np.ndarray
    n_neurons: int
    t_max: float


@dataclass(frozen=True)
class TimeGriddedData:
    """NIR's ``TimeGriddedData``: ``data`` (n_samples, n_time_steps, n_neurons), step ``dt``."""

    data: np.ndarray
    dt: float


Observable = Union[EventData, TimeGriddedData]
#: NIRData in memory: node name -> observable name -> data (nested graphs flattened to "a.b").
NIRData = dict[str, dict[str, Observable]]


# ------------------------------------------------------------------------------- reports
@dataclass
class BinReport:
    """What binning one input did, for the CLI and the caller."""

    input: str
    source: str
    samples: int
    events: int
    steps: int
    width: float
    unit: str
    mode: str
    shape: tuple[int, ...]
    dropped: int = 0
    merged: int = 0
    multi_bins: int = 0
    max_count: int = 0
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        return (
            f"input '{self.input}': {self.samples} sample(s), {self.events} event(s) from {self.source} "
            f"binned into {self.steps} step(s) of {self.width:.10g} {self.unit} ({self.mode}) -> "
            f"(batch, time, {', '.join(map(str, self.shape))})"
        )

    def warnings(self) -> list[str]:
        out = list(self.notes)
        end = self.steps * self.width
        if self.dropped:
            out.append(
                f"input '{self.input}': {self.dropped} event(s) at or after the window's end "
                f"({self.steps} steps = {end:g} {self.unit}) were dropped"
            )
        if self.merged:
            out.append(
                f"input '{self.input}': binary binning merged {self.merged} event(s) into a step "
                "that already had one"
            )
        if self.multi_bins:
            out.append(
                f"input '{self.input}': {self.multi_bins} step(s) hold more than one event (up to "
                f"{self.max_count}); a chip's binary spike input takes at most one spike per step "
                "(bin_mode=binary bins them so)"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "source": self.source,
            "samples": self.samples,
            "events": self.events,
            "steps": self.steps,
            "width": self.width,
            "unit": self.unit,
            "mode": self.mode,
            "shape": list(self.shape),
            "dropped": self.dropped,
            "merged": self.merged,
            "multi_bins": self.multi_bins,
            "max_count": self.max_count,
            "warnings": self.warnings(),
        }


# ------------------------------------------------------------------------------- small checks
def _err(msg: str, *, node: str | None = None, parameter: str, expected: str | None = None) -> InputDataError:
    return InputDataError(msg, node=node, parameter=parameter, expected=expected)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise _err(f"bin_mode={mode!r} is not known", parameter="bin_mode", expected=" or ".join(MODES))
    return mode


def check_polarity(polarity: str) -> str:
    if polarity not in POLARITIES:
        raise _err(
            f"polarity={polarity!r} is not known", parameter="polarity", expected=" or ".join(POLARITIES)
        )
    return polarity


def check_width(width: Any, parameter: str = "bin_ms") -> float:
    try:
        w = float(width)
    except (TypeError, ValueError):
        raise _err(f"{parameter}={width!r} is not a number", parameter=parameter) from None
    if not math.isfinite(w) or w <= 0:
        raise _err(f"{parameter}={width!r} is not valid", parameter=parameter, expected="a positive number")
    return w


def check_steps(steps: Any) -> int | None:
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or int(steps) < 1:
        raise _err(f"steps={steps!r} is not valid", parameter="steps", expected="a positive integer")
    return int(steps)


def size_of(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def sensor_for_shape(shape: Sequence[int], node: str | None = None) -> tuple[int, int, int]:
    """The sensor ``(W, H, P)`` inferred from an input shape: ``(C, H, W)`` -> ``(W, H, C)``,
    ``(H, W)`` -> ``(W, H, 1)``, ``(N,)`` -> ``(N, 1, 1)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        return (shape[2], shape[1], shape[0])
    if len(shape) == 2:
        return (shape[1], shape[0], 1)
    if len(shape) == 1:
        return (shape[0], 1, 1)
    raise _err(
        f"cannot infer a sensor size for an input of shape {shape}",
        node=node,
        parameter="sensor_size",
        expected="sensor_size=(W, H, P) with W*H*P equal to the input's size",
    )


def check_sensor(sensor_size: Any, shape: Sequence[int], node: str | None = None) -> tuple[int, int, int]:
    """``sensor_size`` (or the one inferred from ``shape``), checked against the input's size."""
    if sensor_size is None:
        return sensor_for_shape(shape, node)
    try:
        s = tuple(int(v) for v in sensor_size)
        ok = len(s) == 3 and all(v >= 1 for v in s) and all(float(a) == b for a, b in zip(sensor_size, s))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise _err(
            f"sensor_size={sensor_size!r} is not valid",
            node=node,
            parameter="sensor_size",
            expected="(W, H, P)",
        )
    if size_of(s) != size_of(shape):
        raise _err(
            f"sensor_size (W, H, P) = {s} has {size_of(s)} pixels x polarities, the input of shape "
            f"{tuple(shape)} has {size_of(shape)} neurons",
            node=node,
            parameter="sensor_size",
            expected=f"W*H*P = {size_of(shape)}",
        )
    return s


def _limit(batch: int, steps: int, n: int, node: str) -> None:
    total = batch * steps * n
    if total > MAX_ELEMENTS:
        raise _err(
            f"the binned grid (batch {batch}, {steps} steps, {n} neurons) would hold {total} elements",
            node=node,
            parameter="steps",
            expected=f"at most {MAX_ELEMENTS} elements (a wider bin or fewer steps)",
        )


# ------------------------------------------------------------------------------- event lists
def event_columns(
    events: Any,
    sensor: tuple[int, int, int],
    *,
    node: str = "input",
    sample: int = 0,
    polarity: str = "channel",
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one event list; return ``(flat index, t)`` (int64, t as int64 or float64).

    Refused (:class:`InputDataError` naming the field): not a structured array, a missing ``x``
    or ``t``, a non-integer ``x``/``y``/``p`` or non-numeric ``t``, negative or non-finite values,
    ``x >= W``, ``y >= H``, ``p >= P`` (polarity ``channel``)."""
    where = f"sample {sample}"
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise _err(
            f"{where} is not a structured array (got {type(events).__name__}"
            + (f" of dtype {events.dtype}" if isinstance(events, np.ndarray) else "")
            + ")",
            node=node,
            parameter="events",
            expected="a numpy structured array with fields x, t (and optionally y, p), tonic's layout",
        )
    names = events.dtype.names
    for f in REQUIRED_FIELDS:
        if f not in names:
            raise _err(
                f"{where} has no field '{f}' (fields: {', '.join(names)})",
                node=node,
                parameter=f,
                expected="fields x, t (and optionally y, p)",
            )
    if events.ndim != 1:
        raise _err(f"{where} has shape {events.shape}", node=node, parameter="events", expected="a 1-D array")
    W, H, P = sensor
    limits = {"x": W, "y": H, "p": P}
    cols: dict[str, np.ndarray] = {}
    for f in ("x", "y", "p"):
        if f not in names:
            cols[f] = np.zeros(len(events), np.int64)
            continue
        a = events[f]
        if a.dtype.kind not in "biu" or a.dtype.fields is not None or a.ndim != 1:
            raise _err(
                f"{where}: field '{f}' has dtype {a.dtype}",
                node=node,
                parameter=f,
                expected="an integer field",
            )
        a = a.astype(np.int64) if a.dtype.kind != "u" or a.dtype.itemsize < 8 else a
        if a.size:
            lo, hi = int(a.min()), int(a.max())
            if lo < 0:
                raise _err(f"{where}: field '{f}' has a value {lo}", node=node, parameter=f, expected=">= 0")
            if not (f == "p" and polarity == "merge") and hi >= limits[f]:
                dim = {"x": "width W", "y": "height H", "p": "polarities P"}[f]
                raise _err(
                    f"{where}: field '{f}' has a value {hi}, beyond the sensor's {dim} = {limits[f]} "
                    f"(sensor (W, H, P) = {sensor})",
                    node=node,
                    parameter=f,
                    expected=f"0 <= {f} < {limits[f]}"
                    + (" (or polarity=merge for a single-channel input)" if f == "p" else ""),
                )
        cols[f] = a.astype(np.int64)
    t = events["t"]
    if t.dtype.kind not in "iuf" or t.ndim != 1:
        raise _err(
            f"{where}: field 't' has dtype {t.dtype}",
            node=node,
            parameter="t",
            expected="an integer or float time in microseconds",
        )
    if t.size:
        if t.dtype.kind == "f" and not np.all(np.isfinite(t)):
            raise _err(
                f"{where}: field 't' holds NaN or inf", node=node, parameter="t", expected="finite times"
            )
        lo = t.min()
        if lo < 0:
            raise _err(f"{where}: field 't' has a value {lo}", node=node, parameter="t", expected="t >= 0")
        if t.dtype.kind == "u" and int(t.max()) >= 2**63:
            raise _err(f"{where}: field 't' exceeds 2**63", node=node, parameter="t", expected="t < 2**63")
    t = t.astype(np.float64) if t.dtype.kind == "f" else t.astype(np.int64)
    p = np.zeros_like(cols["p"]) if polarity == "merge" else cols["p"]
    flat = (p * H + cols["y"]) * W + cols["x"]
    return flat, t


def step_of(t: np.ndarray, width: float) -> np.ndarray:
    """The step of each time: ``t // width`` when both are integers, else
    ``floor(t / width + BIN_EPS)`` (capped at 2**62, far beyond any window, so that a huge float
    time is a late event rather than an int64 overflow)."""
    t = np.asarray(t)
    if t.dtype.kind in "iu" and float(width).is_integer():
        return t.astype(np.int64) // int(width)
    q = np.floor(t.astype(np.float64) / float(width) + BIN_EPS)
    return np.minimum(q, float(2**62)).astype(np.int64)


def bin_flat(
    flats: Sequence[np.ndarray],
    steps_of: Sequence[np.ndarray],
    n: int,
    steps: int,
    mode: str,
    report: BinReport,
) -> np.ndarray:
    """Bin per-sample (flat index, step) events into a (batch, steps, n) float32 grid; fills the
    report's counts (dropped, merged, multi_bins, max_count)."""
    _limit(len(flats), steps, n, report.input)
    grid = np.zeros((len(flats), steps, n), np.float32)
    for b, (flat, st) in enumerate(zip(flats, steps_of)):
        keep = st < steps
        report.dropped += int(keep.size - np.count_nonzero(keep))
        counts = np.bincount(st[keep] * n + flat[keep], minlength=steps * n)
        if counts.size:
            report.max_count = max(report.max_count, int(counts.max()))
        if mode == "binary":
            nz = np.count_nonzero(counts)
            report.merged += int(counts.sum()) - nz
            grid[b] = (counts > 0).reshape(steps, n)
        else:
            report.multi_bins += int(np.count_nonzero(counts > 1))
            grid[b] = counts.reshape(steps, n)
    return grid


def bin_events(
    samples: Sequence[np.ndarray],
    shape: Sequence[int],
    *,
    width: float,
    mode: str = "binary",
    steps: int | None = None,
    sensor_size: Sequence[int] | None = None,
    polarity: str = "channel",
    name: str = "input",
    unit: str = "us",
) -> tuple[np.ndarray, BinReport]:
    """Event lists (one structured array per sample) -> a ``(batch, steps, *shape)`` grid.

    ``width`` is the bin width in the events' time unit (microseconds for tonic arrays); see
    the module docstring for the rule. Returns the grid (float32) and a :class:`BinReport`."""
    shape = tuple(int(s) for s in shape)
    width = check_width(width, "bin_width")
    check_mode(mode)
    check_polarity(polarity)
    steps = check_steps(steps)
    sensor = check_sensor(sensor_size, shape, name)
    if polarity == "merge" and sensor[2] != 1:
        raise _err(
            f"polarity=merge puts every event in channel 0, but the sensor has P = {sensor[2]} channels",
            node=name,
            parameter="polarity",
            expected="polarity=channel, or an input with one channel",
        )
    cols = [event_columns(ev, sensor, node=name, sample=i, polarity=polarity) for i, ev in enumerate(samples)]
    st = [step_of(t, width) for _, t in cols]
    if steps is None:
        steps = inferred_steps(st, name)
    report = BinReport(
        input=name,
        source="event lists",
        samples=len(samples),
        events=sum(len(f) for f, _ in cols),
        steps=steps,
        width=width,
        unit=unit,
        mode=mode,
        shape=shape,
    )
    grid = bin_flat([f for f, _ in cols], st, size_of(shape), steps, mode, report)
    return grid.reshape((len(samples), steps) + shape), report


def inferred_steps(step_lists: Iterable[np.ndarray], name: str) -> int:
    last = max((int(s.max()) for s in step_lists if s.size), default=None)
    if last is None:
        raise _err(
            "no events in any sample, so the number of steps cannot be inferred",
            node=name,
            parameter="steps",
            expected="steps=N",
        )
    return last + 1


def grid_to_events(
    grid: np.ndarray, *, width: float, sensor_size: Sequence[int] | None = None, name: str = "input"
) -> list[np.ndarray]:
    """A dense ``(batch, time, *shape)`` grid of non-negative integer counts -> one event list per
    sample: a count ``c`` at step ``k`` and flat index ``i`` becomes ``c`` events at ``t = k * width``
    (the step's start) with ``(p, y, x)`` unravelled from ``i`` over ``(P, H, W)``. Fields
    ``x, y, t, p`` (``x, t, p`` for a sensor of height 1, tonic's 1-D layout); ``t`` is int64 when
    ``width`` is an integer, else float64; events sorted by time, then flat index. Binning the result
    with the same ``width`` and :func:`bin_events` (``count``) gives ``grid`` back exactly."""
    g = np.asarray(grid)
    width = check_width(width, "bin_width")
    if g.ndim < 3 or g.dtype.kind not in "biuf":
        raise _err(
            f"grid has shape {g.shape} and dtype {g.dtype}",
            node=name,
            parameter="grid",
            expected="a numeric (batch, time, *shape) array",
        )
    gf = g.astype(np.float64)
    if not np.all(np.isfinite(gf)) or np.any(gf < 0) or np.any(gf != np.round(gf)):
        raise _err(
            "grid holds values that are not non-negative integer counts (analog input cannot become events)",
            node=name,
            parameter="grid",
            expected="spike counts (0, 1, 2, ...)",
        )
    shape = g.shape[2:]
    W, H, P = check_sensor(sensor_size, shape, name)
    n = size_of(shape)
    counts = gf.astype(np.int64).reshape(g.shape[0], g.shape[1], n)
    integral = float(width).is_integer()
    names = ("x", "y", "t", "p") if H > 1 else ("x", "t", "p")
    tdt = np.int64 if integral else np.float64
    dtype = np.dtype([(f, tdt if f == "t" else np.int32) for f in names])
    out = []
    for b in range(counts.shape[0]):
        k, i = np.nonzero(counts[b])  # C order: by step, then flat index
        rep = counts[b][k, i]
        k, i = np.repeat(k, rep), np.repeat(i, rep)
        ev = np.zeros(len(k), dtype)
        ev["x"] = i % W
        if H > 1:
            ev["y"] = (i // W) % H
        ev["p"] = i // (W * H)
        ev["t"] = k * int(width) if integral else k * float(width)
        out.append(ev)
    return out


# ------------------------------------------------------------------------------- NIRData files
def _attr(group: Any, key: str, path: str) -> Any:
    if key not in group.attrs:
        raise _err(
            f"{path} has no attribute '{key}'", parameter="--input", expected="NIRData (nir 1.0.8 layout)"
        )
    v = group.attrs[key]
    if isinstance(v, bytes):
        v = v.decode("utf8", "replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.reshape(-1)[0]
    return v.decode("utf8", "replace") if isinstance(v, bytes) else v


def _dataset(group: Any, key: str, path: str, kinds: str, ndim: int, max_elements: int) -> np.ndarray:
    import h5py

    if key not in group or not isinstance(group[key], h5py.Dataset):
        raise _err(
            f"{path} has no dataset '{key}'", parameter="--input", expected="NIRData (nir 1.0.8 layout)"
        )
    ds = group[key]
    if ds.dtype.kind not in kinds or len(ds.shape) != ndim:
        raise _err(
            f"{path}/{key} has dtype {ds.dtype} and shape {ds.shape}",
            parameter="--input",
            expected=f"a {ndim}-D array of kind {kinds!r}",
        )
    if size_of(ds.shape) > max_elements:
        raise _err(
            f"{path}/{key} has {size_of(ds.shape)} elements",
            parameter="--input",
            expected=f"at most {max_elements} elements",
        )
    return np.asarray(ds[()])


def _number(v: Any, path: str, key: str, *, integer: bool = False) -> Any:
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = float("nan")
    if not math.isfinite(x) or x < 0 or (integer and not x.is_integer()) or (key == "dt" and x <= 0):
        raise _err(
            f"{path} attribute '{key}' = {v!r} is not valid",
            parameter="--input",
            expected="a non-negative integer" if integer else "a positive finite number",
        )
    return int(x) if integer else x


def read_nirdata(
    path: str | os.PathLike, *, what: str = "--input", max_elements: int = MAX_ELEMENTS
) -> NIRData:
    """Read a NIRData HDF5 file (nir 1.0.8's ``write_data`` layout) into ``{node: {observable: data}}``
    (nested ``NIRGraphData`` flattened to dotted names). Malformed files: :class:`InputDataError`."""
    import h5py

    from .files import input_path

    p = input_path(path, what=what)
    out: NIRData = {}

    def node_data(g: Any, name: str, gpath: str) -> None:
        if "observables" not in g or not isinstance(g["observables"], h5py.Group):
            raise _err(f"{gpath} has no group 'observables'", node=name, parameter=what)
        obs: dict[str, Observable] = {}
        for oname, og in g["observables"].items():
            opath = f"{gpath}/observables/{oname}"
            if not isinstance(og, h5py.Group):
                raise _err(f"{opath} is not a group", node=name, parameter=what)
            typ = _attr(og, "__type__", opath)
            if typ == "TimeGriddedData":
                data = _dataset(og, "data", opath, "biuf", 3, max_elements)
                obs[oname] = TimeGriddedData(data, _number(_attr(og, "dt", opath), opath, "dt"))
            elif typ in ("EventData", "ValuedEventData"):
                idx = _dataset(og, "idx", opath, "iu", 2, max_elements)
                time = _dataset(og, "time", opath, "iuf", 2, max_elements)
                if idx.shape != time.shape:
                    raise _err(
                        f"{opath}: idx {idx.shape} and time {time.shape} differ", node=name, parameter=what
                    )
                if typ == "ValuedEventData":
                    raise _err(
                        f"{opath} is ValuedEventData, which neurocompile does not read",
                        node=name,
                        parameter=what,
                        expected="EventData or TimeGriddedData",
                    )
                obs[oname] = EventData(
                    idx,
                    time,
                    _number(_attr(og, "n_neurons", opath), opath, "n_neurons", integer=True),
                    _number(_attr(og, "t_max", opath), opath, "t_max"),
                )
            else:
                raise _err(f"{opath} has an unknown __type__ {typ!r}", node=name, parameter=what)
        out[name] = obs

    def graph_data(g: Any, prefix: str, gpath: str) -> None:
        if "nodes" not in g or not isinstance(g["nodes"], h5py.Group):
            raise _err(f"{gpath or '/'} has no group 'nodes'", parameter=what, expected="NIRData")
        for name, ng in g["nodes"].items():
            npath = f"{gpath}/nodes/{name}"
            if not isinstance(ng, h5py.Group):
                raise _err(f"{npath} is not a group", node=name, parameter=what)
            typ = _attr(ng, "__type__", npath)
            if typ == "NIRNodeData":
                node_data(ng, prefix + name, npath)
            elif typ == "NIRGraphData":
                graph_data(ng, prefix + name + ".", npath)
            else:
                raise _err(f"{npath} has an unknown __type__ {typ!r}", node=name, parameter=what)

    try:
        with h5py.File(p, "r") as f:
            typ = f.attrs.get("__type__")
            typ = typ.decode() if isinstance(typ, bytes) else typ
            if typ != "NIRGraphData":
                kind = "a NIR graph file, not NIRData" if "node" in f else f"__type__ {typ!r}"
                raise _err(
                    f"{p} is an HDF5 file with {kind}",
                    parameter=what,
                    expected="a NIRData file (root attribute __type__ = 'NIRGraphData')",
                )
            graph_data(f, "", "")
    except InputDataError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise _err(f"cannot read {p} as NIRData ({' '.join(str(exc).split())})", parameter=what) from None
    return out


def write_nirdata(
    path: str | os.PathLike, data: Mapping[str, Mapping[str, Observable]], *, what: str
) -> Path:
    """Write ``{node: {observable: EventData | TimeGriddedData}}`` as a NIRData HDF5 file in nir
    1.0.8's ``write_data`` layout (gzip datasets, ``__type__`` attributes), atomically."""
    import h5py

    from .errors import OutputError
    from .files import atomic_write

    for name, obs in data.items():
        for part in (name, *obs):
            if not part or "/" in part:
                raise OutputError(
                    f"name {part!r} cannot be an HDF5 group", node=name, parameter=what, expected="no '/'"
                )

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["__type__"] = "NIRGraphData"
            nodes = f.create_group("nodes")
            for name, obs in data.items():
                g = nodes.create_group(name)
                g.attrs["__type__"] = "NIRNodeData"
                og = g.create_group("observables")
                for oname, d in obs.items():
                    o = og.create_group(oname)
                    if isinstance(d, TimeGriddedData):
                        o.attrs["__type__"] = "TimeGriddedData"
                        o.create_dataset("data", data=d.data, dtype=d.data.dtype, compression="gzip")
                        o.attrs["dt"] = float(d.dt)
                    else:
                        o.attrs["__type__"] = "EventData"
                        o.create_dataset("idx", data=d.idx, dtype=d.idx.dtype, compression="gzip")
                        o.create_dataset("time", data=d.time, dtype=d.time.dtype, compression="gzip")
                        o.attrs["n_neurons"] = int(d.n_neurons)
                        o.attrs["t_max"] = float(d.t_max)

    return atomic_write(path, write, what=what)


def grid_to_eventdata(grid: np.ndarray, dt: float, *, name: str = "output") -> EventData:
    """A ``(batch, time, *shape)`` 0/1 grid -> NIR ``EventData``: one event per spike at
    ``(k + 1/2) * dt`` (NIR's ``to_event`` with ``time_shift = dt/2``), sorted by time then flat
    index, padded with -1 / inf to the largest sample's count; ``t_max = time * dt``."""
    g = np.asarray(grid)
    b, steps = g.shape[:2]
    n = size_of(g.shape[2:])
    flat = g.reshape(b, steps, n) != 0
    per = [np.nonzero(flat[s]) for s in range(b)]
    m = max((len(k) for k, _ in per), default=0)
    idx = np.full((b, m), -1, np.int64)
    time = np.full((b, m), np.inf, np.float64)
    for s, (k, i) in enumerate(per):
        idx[s, : len(k)] = i
        time[s, : len(k)] = (k + 0.5) * float(dt)
    return EventData(idx, time, n, steps * float(dt))


def _is_spikes(a: np.ndarray) -> bool:
    return a.dtype.kind in "biuf" and bool(np.all((a == 0) | (a == 1)))


def result_to_nirdata(result: Any, *, dt: float | None = None, spikes_as: str = "events") -> NIRData:
    """A :class:`~neurocompile.data.RunResult` (or ``{key: array}``) as NIRData.

    Outputs ``K`` -> node ``K``; recordings ``POP.v`` / ``POP.u`` / ``POP.spikes`` -> node ``POP``,
    observable ``v`` / ``u`` / ``spikes``. An output whose values are all 0 or 1 is observable
    ``spikes``, any other ``output``. Spikes are ``EventData`` (:func:`grid_to_eventdata`; with
    ``spikes_as="grid"`` bool ``TimeGriddedData``), values float64 ``TimeGriddedData``; every array
    flattened to (n_samples, n_time_steps, n_neurons). ``dt`` defaults to the result's."""
    if spikes_as not in ("events", "grid"):
        raise _err(f"spikes_as={spikes_as!r}", parameter="spikes_as", expected="events or grid")
    if dt is None:
        dt = getattr(result, "semantics", {}).get("dt")
    dt = check_width(dt, "dt")
    outputs = getattr(result, "outputs", result)
    recordings = getattr(result, "recordings", {})
    items: list[tuple[str, str, np.ndarray]] = []
    for key, arr in outputs.items():
        a = np.asarray(arr)
        items.append((key, "spikes" if _is_spikes(a) else "output", a))
    for key, arr in recordings.items():
        node, _, obs = key.rpartition(".")
        items.append((node or key, obs or "value", np.asarray(arr)))
    out: NIRData = {}
    for node, obs, a in items:
        if a.ndim < 2:
            raise _err(f"array {node}.{obs} has shape {a.shape}", node=node, parameter="result")
        if obs in out.get(node, {}):
            raise _err(f"two arrays map to node {node!r} observable {obs!r}", node=node, parameter="result")
        if obs == "spikes" and spikes_as == "events":
            d: Observable = grid_to_eventdata(a, dt, name=node)
        else:
            flat = a.reshape(a.shape[0], a.shape[1], -1)
            d = TimeGriddedData(flat.astype(bool) if obs == "spikes" else flat.astype(np.float64), dt)
        out.setdefault(node, {})[obs] = d
    return out


def _pick_observable(obs: Mapping[str, Observable], node: str) -> Observable:
    if "spikes" in obs:
        return obs["spikes"]
    if len(obs) == 1:
        return next(iter(obs.values()))
    raise _err(
        f"NIRData node has observables {sorted(obs)}, none named 'spikes'",
        node=node,
        parameter="--input",
        expected="an observable 'spikes' or exactly one observable",
    )


def _eventdata_steps(d: EventData, n: int, width: float, node: str) -> tuple[list, list, int]:
    if d.n_neurons != n:
        raise _err(
            f"EventData has n_neurons = {d.n_neurons}, the input has {n}",
            node=node,
            parameter="n_neurons",
            expected=f"{n}",
        )
    flats, steps = [], []
    for s in range(d.idx.shape[0]):
        idx = d.idx[s].astype(np.int64)
        valid = idx != -1
        i, t = idx[valid], d.time[s][valid].astype(np.float64)
        if i.size and (i.min() < 0 or i.max() >= n):
            bad = int(i.min()) if i.min() < 0 else int(i.max())
            raise _err(
                f"sample {s}: idx {bad} is outside 0..{n - 1} (-1 marks padding)",
                node=node,
                parameter="idx",
                expected=f"-1 or 0 <= idx < {n}",
            )
        if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
            raise _err(
                f"sample {s}: an event time is negative or not finite",
                node=node,
                parameter="time",
                expected="finite times >= 0",
            )
        flats.append(i)
        steps.append(step_of(t, width))
    return flats, steps, int(math.floor(d.t_max / width + BIN_EPS))


def _rebin_gridded(d: TimeGriddedData, n: int, width: float, mode: str, node: str) -> np.ndarray:
    """TimeGriddedData -> (batch, steps, n): ``k = width / dt`` consecutive steps summed (count) or
    OR-ed (binary); ``k`` must be a whole number (a last, shorter group is binned too)."""
    if d.data.shape[2] != n:
        raise _err(
            f"TimeGriddedData has {d.data.shape[2]} neurons, the input has {n}",
            node=node,
            parameter="n_neurons",
            expected=f"{n}",
        )
    data = d.data.astype(np.float64)
    if not np.all(np.isfinite(data)):
        raise _err("TimeGriddedData holds NaN or inf", node=node, parameter="data", expected="finite values")
    ratio = width / d.dt
    k = int(round(ratio))
    if k < 1 or abs(ratio - k) > BIN_EPS * max(1.0, ratio):
        raise _err(
            f"the bin width {width:g} is not a whole multiple of the data's dt = {d.dt:g}",
            node=node,
            parameter="dt",
            expected="a bin width k * dt (k = 1, 2, ...)",
        )
    b, T, _ = data.shape
    steps = -(-T // k)
    padded = np.zeros((b, steps * k, n))
    padded[:, :T] = data
    summed = padded.reshape(b, steps, k, n).sum(axis=2)
    if mode == "binary":
        return (summed != 0).astype(np.float32) if k > 1 else (data != 0).astype(np.float32)
    return summed.astype(np.float32) if k > 1 else data


# ------------------------------------------------------------------------------- input files
def input_kind(path: str | os.PathLike, *, what: str = "--input") -> str:
    """``"dense"`` (an .npz of plain arrays), ``"events"`` (an .npz holding structured arrays, or a
    .npy structured array) or ``"nirdata"`` (an HDF5 file), from the file's first bytes and, for
    an .npz, its members' headers."""
    from .files import input_path

    p = input_path(path, what=what)
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head.startswith(HDF5_MAGIC):
        return "nirdata"
    if head.startswith(NPY_MAGIC):
        return "events"
    if head.startswith(ZIP_MAGIC):
        import zipfile

        try:
            with zipfile.ZipFile(p) as zf:
                for info in zf.infolist():
                    if not info.filename.endswith(".npy") or info.filename == "__meta__.npy":
                        continue
                    with zf.open(info) as m:
                        version = np.lib.format.read_magic(m)
                        if version == (1, 0):
                            hdr = np.lib.format.read_array_header_1_0(m)
                        elif version == (2, 0):
                            hdr = np.lib.format.read_array_header_2_0(m)
                        else:
                            continue
                    if np.dtype(hdr[2]).names is not None:
                        return "events"
        except Exception:  # noqa: BLE001 - load_npz reports what is wrong with the archive
            return "dense"
    return "dense"


def _sample_order(keys: Iterable[str], what: str) -> list[str]:
    """Event .npz members in sample order: by the integer their key ends with (``arr_0``, ``arr_1``,
    ... as ``np.savez(path, *samples)`` writes them); the integers must be 0..N-1."""
    import re

    idx = {}
    for k in keys:
        m = re.search(r"(\d+)$", k)
        if m is None:
            raise _err(
                f"event member {k!r} does not end in a sample number",
                node=k,
                parameter=what,
                expected="members arr_0, arr_1, ... (np.savez(path, *samples))",
            )
        n = int(m.group(1))
        if n in idx:
            raise _err(f"members {idx[n]!r} and {k!r} are both sample {n}", node=k, parameter=what)
        idx[n] = k
    if sorted(idx) != list(range(len(idx))):
        raise _err(
            f"event members are samples {sorted(idx)}", parameter=what, expected="samples 0..N-1 without gaps"
        )
    return [idx[i] for i in range(len(idx))]


def _load_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    """One ``.npy`` event list, its header checked (size, no objects) before the data is read."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"npy format version {version[0]}.{version[1]} is not supported")
            if np.dtype(dtype).hasobject:
                raise ValueError(f"dtype {dtype} holds Python objects")
            if size_of(shape) > MAX_ELEMENTS:
                raise ValueError(f"shape {shape} has more than {MAX_ELEMENTS} elements")
            fh.seek(0)
            return np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _err(
            f"cannot read {path} as a .npy event list ({' '.join(str(exc).split())})", parameter=what
        ) from None


@dataclass(frozen=True)
class EventOptions:
    """How event inputs are binned (the CLI's ``--bin-ms``, ``--bin-mode``, ``--steps``,
    ``--sensor-size``, ``--polarity``). ``bin_ms=None``: the Program's ``dt``."""

    bin_ms: float | None = None
    mode: str = "binary"
    steps: int | None = None
    sensor_size: tuple[int, int, int] | None = None
    polarity: str = "channel"

    def given(self) -> list[str]:
        """The options set away from their defaults (they apply to event inputs only), in Python
        wording (``bin_ms=1.0``; the CLI shows ``--bin-ms 1.0``)."""
        d = EventOptions()
        out = []
        for f, name in (
            ("bin_ms", "bin_ms"),
            ("mode", "bin_mode"),
            ("steps", "steps"),
            ("sensor_size", "sensor_size"),
            ("polarity", "polarity"),
        ):
            v = getattr(self, f)
            if v != getattr(d, f):
                out.append(f"{name}={','.join(map(str, v)) if f == 'sensor_size' else v}")
        return out


def _us(width: float) -> float:
    """A bin width in microseconds rounded to 1e-6 us, so that ``dt = 1e-3`` s is exactly 1000 us
    (and integer event times bin by exact integer division)."""
    return round(width, 6)


def _width_event_lists(opts: EventOptions, dt: float | None) -> float:
    """Bin width in microseconds for event lists."""
    if opts.bin_ms is not None:
        return _us(check_width(opts.bin_ms) * 1000.0)
    if dt is not None and rate_unit(dt) == "Hz":
        return _us(float(dt) / EVENT_LIST_UNIT_S)
    raise _err(
        f"event lists are timed in microseconds, but the time step (dt {dt}) is "
        + ("unknown" if dt is None else "in steps, not seconds")
        + ", so the bin width must be given",
        parameter="bin_ms",
        expected="bin_ms=MS: one Program step per MS milliseconds of events",
    )


def _width_nirdata(opts: EventOptions, dt: float | None) -> float:
    """Bin width in the NIRData's (= the Program's) time unit."""
    if opts.bin_ms is not None:
        if dt is None or rate_unit(dt) != "Hz":
            raise _err(
                f"NIRData times are in the Program's time unit, which is steps (dt {dt}), not seconds",
                parameter="bin_ms",
                expected="no bin_ms: one step per dt",
            )
        return check_width(opts.bin_ms) / 1000.0
    if dt is None:
        raise _err("the time step is unknown", parameter="dt", expected="dt=DT for NIRData inputs")
    return check_width(dt, "dt")


def load_inputs(
    path: str | os.PathLike,
    shapes: Mapping[str, Sequence[int]],
    dt: float | None,
    options: EventOptions | None = None,
    *,
    what: str = "--input",
) -> tuple[dict[str, np.ndarray], list[BinReport]]:
    """Read an input file of any accepted kind into ``{input name: (batch, time, *shape)}``.

    ``shapes`` are the model's or Program's inputs, ``dt`` its time step (seconds when ``< 1``).
    A dense ``.npz`` is returned as :func:`~neurocompile.data.load_npz` reads it (event options
    are then refused); event lists (a ``.npy`` structured array = one sample; an ``.npz`` of one
    structured array per sample, plain members such as ``labels`` passed through) feed a Program
    with exactly one input; NIRData nodes are matched to inputs by name. Returns the arrays and
    one :class:`BinReport` per binned input."""
    opts = options or EventOptions()
    check_mode(opts.mode)
    check_polarity(opts.polarity)
    steps = check_steps(opts.steps)
    kind = input_kind(path, what=what)
    if kind == "dense":
        if opts.given():
            raise _err(
                f"{path} holds dense arrays, but event options were given ({'; '.join(opts.given())})",
                parameter=opts.given()[0].split("=")[0],
                expected="event lists (.npy / .npz of structured arrays) or a NIRData file",
            )
        return load_npz(path, what=what), []
    shapes = {k: tuple(int(s) for s in v) for k, v in shapes.items()}
    if kind == "events":
        if len(shapes) != 1:
            raise _err(
                f"event lists feed one input, the model has {len(shapes)} ({', '.join(shapes)})",
                parameter=what,
                expected="a NIRData file with one node per input",
            )
        name, shape = next(iter(shapes.items()))
        extra: dict[str, np.ndarray] = {}
        with open(path, "rb") as fh:
            is_npy = fh.read(6) == NPY_MAGIC
        if is_npy:
            samples = [_load_npy(path, what)]
        else:
            members = load_npz(path, what=what, structured=True)
            ev_keys = [k for k, v in members.items() if v.dtype.names is not None]
            extra = {k: v for k, v in members.items() if v.dtype.names is None}
            if name in extra:
                raise _err(
                    f"{path} mixes event lists with a dense array for input {name!r}",
                    node=name,
                    parameter=what,
                )
            samples = [members[k] for k in _sample_order(ev_keys, what)]
        width = _width_event_lists(opts, dt)
        grid, rep = bin_events(
            samples,
            shape,
            width=width,
            mode=opts.mode,
            steps=steps,
            sensor_size=opts.sensor_size,
            polarity=opts.polarity,
            name=name,
            unit="us",
        )
        return {name: grid, **extra}, [rep]
    # NIRData
    if opts.sensor_size is not None or opts.polarity != "channel":
        raise _err(
            "NIRData events carry flat neuron indices (no sensor, no polarity)",
            parameter="sensor_size" if opts.sensor_size is not None else "polarity",
            expected="no sensor_size or polarity for NIRData",
        )
    data = read_nirdata(path, what=what)
    width = _width_nirdata(opts, dt)
    unit = "s" if dt is not None and rate_unit(dt) == "Hz" else "steps"
    missing = [k for k in shapes if k not in data]
    if missing:
        raise _err(
            f"NIRData has no node for input(s) {', '.join(map(repr, missing))} "
            f"(nodes: {', '.join(sorted(data))})",
            node=missing[0],
            parameter=what,
            expected="one node per input, named like the input",
        )
    plans: dict[str, tuple] = {}
    for name, shape in shapes.items():
        d = _pick_observable(data[name], name)
        n = size_of(shape)
        if isinstance(d, EventData):
            flats, st, win = _eventdata_steps(d, n, width, name)
            plans[name] = ("events", flats, st, win)
        else:
            plans[name] = ("grid", _rebin_gridded(d, n, width, opts.mode, name))
    if steps is None:
        lengths = [p[3] if p[0] == "events" else p[1].shape[1] for p in plans.values()]
        steps = max(lengths)
        if steps < 1:
            raise _err("the NIRData window is shorter than one step", parameter="steps", expected="steps=N")
    out: dict[str, np.ndarray] = {}
    reports = []
    batch = {len(p[1]) for p in plans.values()}
    if len(batch) > 1:
        raise _err(f"NIRData inputs have different sample counts {sorted(batch)}", parameter=what)
    for name, plan in plans.items():
        shape = shapes[name]
        n = size_of(shape)
        rep = BinReport(name, "NIRData", len(plan[1]), 0, steps, width, unit, opts.mode, shape)
        if plan[0] == "events":
            _, flats, st, _ = plan
            rep.events = sum(len(f) for f in flats)
            rep.source = "NIRData EventData"
            grid = bin_flat(flats, st, n, steps, opts.mode, rep)
        else:
            g = plan[1]
            _limit(g.shape[0], steps, n, name)
            rep.source = "NIRData TimeGriddedData"
            rep.events = int(np.count_nonzero(g))
            grid = np.zeros((g.shape[0], steps, n), np.float32)
            m = min(steps, g.shape[1])
            grid[:, :m] = g[:, :m]
            rep.dropped = int(np.count_nonzero(g[:, steps:]))
            if opts.mode == "count" and g.size:
                rep.max_count = int(np.max(g))
        out[name] = grid.reshape((grid.shape[0], steps) + shape)
        reports.append(rep)
    return out, reports
