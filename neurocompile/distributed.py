"""Sharded runs on Dask distributed: a batch split by sample across workers, gathered in sample order.

``Program.run(inputs, cluster=...)``, ``neurocompile run|validate|demo --cluster ...`` and
:func:`neurocompile.sweep.run_sweep` go through here. ``cluster`` is one of

* ``"local:N"`` - a ``distributed.LocalCluster`` of N worker processes (one thread and one numba
  thread each: :func:`local_cluster`) on this machine, started for the call and closed after it;
* ``"tcp://HOST:PORT"`` (or ``tls://``) - the scheduler of a running Dask cluster (``dask scheduler``
  + ``dask worker``, or dask-jobqueue's ``SLURMCluster``; ``docs/distributed.md``), connected within
  :data:`CONNECT_TIMEOUT` seconds (``$NEUROCOMPILE_CLUSTER_TIMEOUT``) or a typed error;
* a ``distributed.Client`` or a cluster object (``LocalCluster``, ``SLURMCluster``): used as is,
  not closed.

How a run is sharded (:func:`run_sharded`):

1. The batch ``B`` is cut into contiguous shards whose boundaries depend only on ``B`` and the
   number of shards (:func:`shard_bounds`; :func:`default_shards`: 4 per worker, at most 256 samples
   each). Samples are independent in every backend (each is what a fresh network computes; a learning Program
   starts every sample from its initial weights, and Loihi's stochastic-rounding draws are replayed
   from the Program's ``rng_seed`` per sample), so nothing a shard computes depends on which shard
   it is in: there is no per-sample or per-shard seed to carry.
2. The Program travels once, as its ``.ncp`` bytes (deflated at :data:`SHIP_COMPRESS_LEVEL`),
   broadcast to every worker (``client.scatter(broadcast=True)``); each worker process deserialises
   it once and keeps it by its SHA-256 (:func:`_program`), so later shards and later runs of the same
   Program reuse it.
3. Each shard is one pure task: the same backend with the same options on its slice of every input.
   Its input slice is part of the task, held by the scheduler, so when a worker dies mid-run the
   scheduler runs its shards again elsewhere (Dask's ``allowed-failures``, 3 by default); each
   shard's result fills exactly one slot, so no sample is lost or counted twice.
4. The results are concatenated in sample order and then converted to model units on the client,
   exactly as :func:`neurocompile.target.run_program` does for one process: outputs, recordings
   (``v``, ``u``, learning traces and final weights) are bit-identical to a one-process run. Overflow
   warnings (``... in N sample(s), first at step T of sample B``) are merged: counts summed, the
   first (step, sample) over the whole batch, global sample numbers (:func:`merge_warnings`); a
   strict-mode overflow error names the first overflow of the whole batch too.

Progress (``progress(samples_done, batch)``) is reported as shards finish, on whichever worker.
Dask is imported only when a cluster is used; without it, or with an unreachable scheduler, the
call raises :class:`~neurocompile.errors.BackendUnavailableError` (the CLI prints one line, exit 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import re
import sys
import time
import uuid
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from . import errors as _errors
from .data import RunResult
from .errors import BackendUnavailableError, NeurocompileError, NumericOverflowError, ParameterError
from .program import Program
from .target import UNITS, convert_units, get_target, run_program

#: Seconds to reach a remote scheduler before giving up (``$NEUROCOMPILE_CLUSTER_TIMEOUT`` overrides).
CONNECT_TIMEOUT = 10.0
TIMEOUT_ENV = "NEUROCOMPILE_CLUSTER_TIMEOUT"
#: Default shards per worker: enough to balance uneven workers and show progress, few enough that
#: the per-shard overhead (a few ms: ``benchmarks/bench_dask.py``) stays small.
SHARDS_PER_WORKER = 4
#: Largest default shard (samples): bounds the progress step and the work a dead worker loses.
MAX_SHARD_SAMPLES = 256
#: The accepted ``cluster`` strings, for help texts and errors.
CLUSTER_FORMS = "local:N (N worker processes on this machine) or tcp://HOST:PORT (a running Dask scheduler)"
#: zlib level of the ``.ncp`` bytes shipped to the workers: level 1 deflates ~13x faster than the
#: default 6 for ~15 % more bytes (a 1M-synapse Program: 0.04 s instead of 0.5 s on this machine), and
#: those seconds are serial in every sharded run.
SHIP_COMPRESS_LEVEL = 1
#: Environment of the worker processes ``"local:N"`` starts: one numba thread per single-threaded worker
#: (as Dask sets ``OMP_NUM_THREADS=1``), so N workers use N cores. Remote workers: start them likewise.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1"}
#: Programs a worker process keeps deserialised (by SHA-256 of their bytes).
WORKER_CACHE = 4

_LOCAL = re.compile(r"^local:(\d+)$")
_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


# ---------------------------------------------------------------------------------- the cluster
def parse_cluster(spec: str) -> tuple[str, Any]:
    """``"local:N"`` -> ``("local", N)``; ``"tcp://HOST:PORT"`` -> ``("address", spec)``; anything
    else a :class:`ParameterError` naming the accepted forms."""
    text = str(spec).strip()
    m = _LOCAL.match(text)
    if m and int(m.group(1)) >= 1:
        return "local", int(m.group(1))
    m = _ADDRESS.match(text)
    if m and 0 < int(m.group(3)) < 65536:
        return "address", text
    raise ParameterError(f"cluster {spec!r} is not valid", parameter="cluster", expected=CLUSTER_FORMS)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise BackendUnavailableError(
            f"dask distributed is not installed in this Python ({sys.executable}); "
            "install it with: pip install 'dask[distributed]'",
            parameter="cluster",
            expected="dask[distributed] installed (or no --cluster)",
        ) from None
    return distributed


def connect_timeout() -> float:
    """:data:`CONNECT_TIMEOUT`, or ``$NEUROCOMPILE_CLUSTER_TIMEOUT`` seconds when set."""
    env = os.environ.get(TIMEOUT_ENV)
    try:
        value = float(env) if env else CONNECT_TIMEOUT
    except ValueError:
        raise ParameterError(
            f"${TIMEOUT_ENV}={env!r} is not a number", parameter=TIMEOUT_ENV, expected="seconds > 0"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"${TIMEOUT_ENV}={env!r}", parameter=TIMEOUT_ENV, expected="seconds > 0")
    return value


def _is_client(obj: Any) -> bool:
    return hasattr(obj, "submit") and hasattr(obj, "scatter") and hasattr(obj, "gather")


@contextmanager
def connect(cluster: Any, *, timeout: float | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``cluster`` (see the module docstring), closed on exit when this
    function opened it. An unreachable scheduler is a :class:`BackendUnavailableError` after
    ``timeout`` seconds (default :func:`connect_timeout`), never a hang."""
    if _is_client(cluster):
        yield cluster
        return
    if cluster is None:
        raise ParameterError("no cluster given", parameter="cluster", expected=CLUSTER_FORMS)
    timeout = connect_timeout() if timeout is None else float(timeout)
    if not isinstance(cluster, str):  # a cluster object (LocalCluster, SLURMCluster, ...)
        if not hasattr(cluster, "scheduler_address"):
            raise ParameterError(
                f"cluster {type(cluster).__name__} is neither a Client, a cluster nor a string",
                parameter="cluster",
                expected=CLUSTER_FORMS + ", a distributed.Client or a cluster object",
            )
        dist = _distributed()
        client = dist.Client(cluster, timeout=timeout)
        try:
            yield client
        finally:
            client.close()
        return
    kind, value = parse_cluster(cluster)
    dist = _distributed()
    if kind == "local":
        try:
            local = local_cluster(value)
        except (RuntimeError, OSError) as exc:
            raise BackendUnavailableError(
                f"cannot start a LocalCluster of {value} worker processes ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:120]})",
                parameter="cluster",
                expected="a script that starts one guarded by `if __name__ == '__main__':` (worker "
                "processes are spawned and re-import it)",
            ) from None
        try:
            client = dist.Client(local, timeout=timeout)
            try:
                yield client
            finally:
                client.close()
        finally:
            local.close()
        return
    try:
        client = dist.Client(value, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise BackendUnavailableError(
            f"cannot reach the Dask scheduler at {value} within {timeout:g} s "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})",
            parameter="cluster",
            expected=f"a running scheduler (`dask scheduler`, then `dask worker {value}`); "
            f"${TIMEOUT_ENV} sets the wait",
        ) from None
    try:
        yield client
    finally:
        client.close()


def local_cluster(n: int) -> Any:
    """The ``LocalCluster`` that ``"local:N"`` starts: N worker processes of one thread each, with
    :data:`WORKER_ENV` (one numba thread per worker: the emulators' batch kernels are ``prange``
    loops that would otherwise use every core in every worker), no dashboard, quiet logs."""
    dist = _distributed()
    return dist.LocalCluster(
        n_workers=int(n),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env=dict(WORKER_ENV),
    )


def n_workers(client: Any) -> int:
    """Workers the scheduler knows now (0 while e.g. SLURM jobs are still queued)."""
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - a count for sizing shards only
        return 0


# ---------------------------------------------------------------------------------- shards
def shard_bounds(batch: int, shards: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: ``batch`` samples in ``min(shards, batch)`` contiguous shards whose
    sizes differ by at most one (the first ``batch % n`` are one larger). A function of
    ``(batch, shards)`` only."""
    batch, shards = int(batch), int(shards)
    if batch <= 0:
        return []
    n = max(1, min(shards, batch))
    size, extra = divmod(batch, n)
    out, a = [], 0
    for i in range(n):
        b = a + size + (1 if i < extra else 0)
        out.append((a, b))
        a = b
    return out


def default_shards(batch: int, workers: int) -> int:
    """:data:`SHARDS_PER_WORKER` per worker, more when shards would exceed :data:`MAX_SHARD_SAMPLES`."""
    return max(SHARDS_PER_WORKER * max(1, int(workers)), -(-int(batch) // MAX_SHARD_SAMPLES))


def _batch_of(program: Program, inputs: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], int] | None:
    """The Program's input arrays and their common batch, or ``None`` when the inputs are not
    regular (a missing key, mismatched batch, not an array): the backend's own checks then run
    in this process and raise the precise error."""
    arrays: dict[str, np.ndarray] = {}
    batch = None
    for key in program.inputs:
        if not hasattr(inputs, "get") or key not in inputs:
            return None
        arr = np.asarray(inputs[key])
        if arr.ndim < 2:
            return None
        if batch is None:
            batch = int(arr.shape[0])
        elif int(arr.shape[0]) != batch:
            return None
        arrays[key] = arr
    return (arrays, batch) if batch is not None else None


# ---------------------------------------------------------------------------------- worker side
_CACHE: "OrderedDict[str, Program]" = OrderedDict()
_STATS = {"loads": 0, "shards": 0}


def _program(digest: str, blob: bytes) -> Program:
    """The Program of ``blob``, deserialised once per worker process (kept by SHA-256)."""
    prog = _CACHE.get(digest)
    if prog is None:
        prog = Program.from_bytes(blob, source=f"<program {digest[:12]}>")
        _STATS["loads"] += 1
        _CACHE[digest] = prog
        while len(_CACHE) > WORKER_CACHE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(digest)
    return prog


def worker_stats() -> dict[str, int]:
    """This process's shard counters: Programs deserialised (``loads``) and shards run (``shards``);
    ``client.run(worker_stats)`` asks every worker."""
    return dict(_STATS)


def _error_payload(exc: NeurocompileError) -> dict[str, Any]:
    return {
        "class": type(exc).__name__,
        "message": exc.message,
        "node": exc.node,
        "parameter": exc.parameter,
        "expected": exc.expected,
    }


def _run_shard(
    digest: str, blob: bytes, inputs: dict[str, np.ndarray], backend: str, options: dict[str, Any]
) -> dict[str, Any]:
    """One shard on a worker: the Program (cached), its backend, these inputs; the raw result (no
    unit conversion: the client converts the whole batch). Typed errors come back as values
    (exceptions with keyword fields do not survive pickling intact)."""
    try:
        prog = _program(digest, blob)
        fn = get_target(prog.target).backend(backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # merged and re-issued on the client
            result = fn(prog, inputs, **options)
        _STATS["shards"] += 1
        return {"result": result, "packed": _pack_spikes(result)}
    except NeurocompileError as exc:
        return {"error": _error_payload(exc)}


def _pack_spikes(result: Any) -> dict[tuple[str, str], tuple[tuple[int, ...], np.ndarray]]:
    """Take every integer or bool array of 0s and 1s out of ``result`` (spike recordings and outputs)
    and return it packed 8 per byte (``np.packbits``) with its shape and dtype: a validation batch's
    spikes are most of what a shard sends back (int8, and the recorded input as given), and the client
    unpacks them (:func:`_unpack_spikes`) to equal arrays of the same dtype."""
    packed = {}
    for field in ("outputs", "recordings"):
        arrays = getattr(result, field)
        for key, arr in list(arrays.items()):
            if isinstance(arr, np.ndarray) and arr.dtype.kind in "biu" and arr.size >= 64:
                if arr.min() >= 0 and arr.max() <= 1:
                    bits = np.packbits(arr.astype(np.uint8, copy=False), axis=None)
                    packed[(field, key)] = (arr.shape, arr.dtype.str, bits)
                    arrays[key] = None
    return packed


def _unpack_spikes(part: dict[str, Any]) -> None:
    """Put the arrays :func:`_pack_spikes` took out of a shard's result back, unpacked (int8)."""
    for (field, key), (shape, dtype, bits) in part.get("packed", {}).items():
        n = int(np.prod(shape))
        arr = np.unpackbits(bits, count=n).reshape(shape)
        getattr(part["result"], field)[key] = arr.astype(np.dtype(dtype), copy=False)


# ---------------------------------------------------------------------------------- the run
def run_sharded(
    program: Program,
    inputs: Mapping[str, Any],
    backend: str = "emulator",
    *,
    cluster: Any,
    shards: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    units: str = "model",
    raw: bool = False,
    stats: dict[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """:func:`neurocompile.target.run_program` with the batch sharded over ``cluster`` (module doc).

    ``shards``: how many (default :func:`default_shards`: 4 per worker, at most 256 samples each; at
    most one per sample).
    ``progress(samples_done, batch)`` is called as shards finish. ``stats``, when a dict, receives
    ``shards``, ``workers``, ``seconds``. Other options go to the backend unchanged (``record``,
    ``strict``, ...). The result equals a one-process run's bit for bit.
    """
    units = "raw" if raw else units
    if units not in UNITS:
        convert_units(None, None, None, units)  # the typed error
    target = get_target(program.target)
    target.backend(backend)  # an unknown backend fails here, before anything is shipped
    if shards is not None and (isinstance(shards, bool) or not isinstance(shards, int) or shards < 1):
        raise ParameterError(f"shards={shards!r}", parameter="shards", expected="a positive integer")
    regular = _batch_of(program, inputs)
    if regular is None or regular[1] == 0:  # the backend's checks raise the precise error here
        return run_program(program, inputs, backend=backend, units=units, **options)
    arrays, batch = regular
    t0 = time.perf_counter()
    with connect(cluster) as client:
        workers = n_workers(client)
        n = shards if shards is not None else default_shards(batch, workers)
        bounds = shard_bounds(batch, n)
        blob = program.to_bytes(compresslevel=SHIP_COMPRESS_LEVEL)
        digest = hashlib.sha256(blob).hexdigest()
        shared = client.scatter(blob, broadcast=True, hash=False)
        run_id = uuid.uuid4().hex[:8]
        futures = [
            client.submit(
                _run_shard,
                digest,
                shared,
                {k: v[a:b] for k, v in arrays.items()},
                backend,
                dict(options),
                key=f"neurocompile-shard-{digest[:10]}-{run_id}-{i:05d}",
                retries=0,
            )
            for i, (a, b) in enumerate(bounds)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        parts: list[Any] = [None] * len(bounds)
        done = 0
        if progress is not None:
            progress(0, batch)
        dist = _distributed()
        try:
            for fut, value in dist.as_completed(futures, with_results=True):
                i = index[fut.key]
                if parts[i] is not None:  # a shard is one slot: never counted twice
                    continue
                parts[i] = value
                done += bounds[i][1] - bounds[i][0]
                if progress is not None:
                    progress(done, batch)
        except dist.KilledWorker as exc:
            raise BackendUnavailableError(
                f"a shard's workers kept dying ({' '.join(str(exc).split())[:160]})",
                parameter="cluster",
                expected="workers that stay up (Dask reruns a shard whose worker died, up to "
                "distributed.scheduler.allowed-failures times)",
            ) from None
        finally:
            client.cancel(futures + [shared])
    _raise_first_error(parts, bounds)
    for part in parts:
        _unpack_spikes(part)
    merged = merge_results([p["result"] for p in parts], bounds, program)
    for message in merged.warnings:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    if stats is not None:
        stats.update(shards=len(bounds), workers=workers, seconds=time.perf_counter() - t0)
    return convert_units(merged, program, target.hook("to_model_units"), units)


_AT = re.compile(r"at (step|tick) (\d+) of sample (\d+)")


def _raise_first_error(parts: Sequence[dict[str, Any]], bounds: Sequence[tuple[int, int]]) -> None:
    """The error a one-process run would raise: any non-overflow error of the first failing shard
    (inputs are checked before anything runs), else the strict-mode overflow at the earliest
    (step, sample) of the whole batch, its sample number made global. Knowingly approximate: the
    spinnaker emulator raises the first population (in order) that wraps, so when shards see wraps in
    different populations this may name another, equally real, wrap (docs/distributed.md)."""
    errs = [(i, p["error"]) for i, p in enumerate(parts) if "error" in p]
    if not errs:
        return
    other = [(i, e) for i, e in errs if e["class"] != NumericOverflowError.__name__]
    if other or not all(_AT.search(e["message"]) for _, e in errs):
        i, e = (other or errs)[0]
        raise _rebuild(e)
    best = None
    for i, e in errs:
        m = _AT.search(e["message"])
        key = (int(m.group(2)), int(m.group(3)) + bounds[i][0])
        if best is None or key < best[0]:
            best = (key, i, e, m)
    (t, b), _, e, m = best
    e = dict(
        e, message=e["message"][: m.start()] + f"at {m.group(1)} {t} of sample {b}" + e["message"][m.end() :]
    )
    raise _rebuild(e)


def _rebuild(payload: Mapping[str, Any]) -> NeurocompileError:
    cls = getattr(_errors, str(payload.get("class")), None)
    if not (isinstance(cls, type) and issubclass(cls, NeurocompileError)):
        cls = NeurocompileError
    return cls(
        payload["message"], node=payload["node"], parameter=payload["parameter"], expected=payload["expected"]
    )


# ---------------------------------------------------------------------------------- merging
def merge_results(
    parts: Sequence[RunResult], bounds: Sequence[tuple[int, int]], program: Program
) -> RunResult:
    """The shards' results as one: every output and recording concatenated along the batch axis in
    shard order, the provenance (and any backend-specific field) of the first shard, the warnings
    merged (:func:`merge_warnings`)."""
    first = parts[0]

    def cat(field: str) -> dict[str, np.ndarray]:
        keys = list(getattr(first, field))
        out = {}
        for key in keys:
            arrs = [np.asarray(getattr(p, field)[key]) for p in parts]
            for (a, b), arr in zip(bounds, arrs):
                if arr.ndim == 0 or arr.shape[0] != b - a:
                    raise BackendUnavailableError(
                        f"result key {key!r} has shape {arr.shape} for a shard of {b - a} samples",
                        parameter="cluster",
                        expected="batch-first arrays (the .npz convention) from the backend",
                    )
            out[key] = arrs[0].copy() if len(arrs) == 1 else np.concatenate(arrs, axis=0)
        return out

    # the first shard's result with the batch's arrays and warnings: a backend's own result class
    # and its extra fields (e.g. a board mapping, the same for every shard) are kept
    return dataclasses.replace(
        first,
        outputs=cat("outputs"),
        recordings=cat("recordings"),
        semantics=dict(first.semantics),
        warnings=merge_warnings([p.warnings for p in parts], [a for a, _ in bounds], program),
        units=dict(first.units),
    )


_HEAD = re.compile(r"^(\w+ '[^']*': )(.+)$", re.S)
#: a count: ``4 sample(s)``, ``153 synapse update(s)``
_COUNT = re.compile(r"\b(\d+)( [A-Za-z][\w-]*(?: [\w-]+)*?\(s\))")
_FIRST = re.compile(r"first at (step|tick) (\d+) of sample (\d+)$")


def _split_top(text: str, sep: str = "; ") -> list[str]:
    """``text`` split at ``sep`` outside brackets."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            out.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    out.append(text[start:])
    return out


def _parse_warning(message: str):
    """``(head, [(template, counts, unit, t, b), ...], tail)`` of a per-population or per-projection
    warning ``KIND 'NAME': PART[; PART...][ (note)]`` whose every part reads ``... N thing(s) ...
    first at step T of sample B``; ``None`` for any other message. ``template`` is the part with its
    counts taken out (what identifies it), ``counts`` those counts in order."""
    m = _HEAD.match(message)
    if not m:
        return None
    head, rest = m.group(1), m.group(2)
    tail = ""
    if rest.endswith(")"):  # a closing note in brackets: kept as is
        depth, i = 0, len(rest) - 1
        for i in range(len(rest) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(rest[i], 0)
            if depth == 0:
                break
        if i > 0 and rest[i - 1] == " ":
            rest, tail = rest[: i - 1], rest[i - 1 :]
    parts = []
    for seg in _split_top(rest):
        f = _FIRST.search(seg)
        if f is None:
            return None
        body = seg[: f.start()]
        counts = [int(c.group(1)) for c in _COUNT.finditer(body)]
        if not counts:
            return None
        template = _COUNT.sub(lambda c: "\0" + c.group(2), body)
        parts.append((template, counts, f.group(1), int(f.group(2)), int(f.group(3))))
    return head, parts, tail


def _render(template: str, counts: Sequence[int]) -> str:
    pieces = template.split("\0")
    return pieces[0] + "".join(f"{n}{p}" for n, p in zip(counts, pieces[1:]))


def _ordered(seqs: Sequence[Sequence[Any]], rank: Callable[[Any], Any]) -> list[Any]:
    """The items of ``seqs`` (each a subsequence of one unknown total order) in an order that keeps
    every sequence's order; items no sequence orders are placed by ``rank``, then first appearance."""
    items = list(dict.fromkeys(k for s in seqs for k in s))
    seen = {k: i for i, k in enumerate(items)}
    preds: dict[Any, set] = {k: set() for k in items}
    for s in seqs:
        for i, k in enumerate(s):
            preds[k].update(s[:i])
    out: list[Any] = []
    placed: set = set()
    while len(out) < len(items):
        ready = [k for k in items if k not in placed and preds[k] <= placed]
        ready = ready or [k for k in items if k not in placed]
        k = min(ready, key=lambda x: (rank(x), seen[x]))
        out.append(k)
        placed.add(k)
    return out


def merge_warnings(
    shard_warnings: Sequence[Sequence[str]], offsets: Sequence[int], program: Program | None = None
) -> list[str]:
    """The warnings of a sharded run as one run would word them. Per-population and per-projection
    warnings whose parts read ``... N thing(s) ... first at step T of sample B`` (the emulators'
    overflow and weight-saturation warnings) are merged part by part: every count summed, ``(T, B)``
    the earliest over the batch with B the global sample number, parts and messages in the order the
    backends write them (the Program's population, then projection, order). Other messages are kept
    once each, in first-seen order."""
    names = list(program.populations) + list(program.projections) if program is not None else []
    rank_of = {name: i for i, name in enumerate(names)}
    merged: dict[Any, dict[str, Any]] = {}
    seqs: list[list[Any]] = []
    for msgs, off in zip(shard_warnings, offsets):
        seq = []
        for msg in msgs:
            parsed = _parse_warning(msg)
            if parsed is None:
                key: Any = ("text", msg)
                merged.setdefault(key, {"text": msg})
                seq.append(key)
                continue
            head, parts, tail = parsed
            key = ("named", head, tail)
            entry = merged.setdefault(key, {"head": head, "tail": tail, "parts": {}, "orders": []})
            entry["orders"].append([p[0] for p in parts])
            for template, counts, unit, t, b in parts:
                old = entry["parts"].get(template)
                first = (t, b + off)
                if old is None:
                    entry["parts"][template] = [list(counts), unit, first]
                else:
                    old[0] = [x + y for x, y in zip(old[0], counts)]
                    old[2] = min(old[2], first)
            seq.append(key)
        seqs.append(seq)

    def rank(key: Any) -> tuple:
        if key[0] != "named":
            return (len(names) + 1,)
        name = key[1].split("'")[1]
        return (rank_of.get(name, len(names)),)

    out = []
    for key in _ordered(seqs, rank):
        e = merged[key]
        if "text" in e:
            out.append(e["text"])
            continue
        body = "; ".join(
            _render(w, e["parts"][w][0])
            + f"first at {e['parts'][w][1]} {e['parts'][w][2][0]} of sample {e['parts'][w][2][1]}"
            for w in _ordered(e["orders"], lambda w: w)
        )
        out.append(e["head"] + body + e["tail"])
    return out


__all__ = [
    "CONNECT_TIMEOUT",
    "CLUSTER_FORMS",
    "SHARDS_PER_WORKER",
    "parse_cluster",
    "connect",
    "local_cluster",
    "n_workers",
    "shard_bounds",
    "default_shards",
    "run_sharded",
    "merge_results",
    "merge_warnings",
    "worker_stats",
]
