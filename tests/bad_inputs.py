"""The bad-input corpus: everything a user can pass that must be refused cleanly (issue 17).

Every case is built in its own temp dir from small valid artefacts made here once per process
(:func:`base_dir`): ``m.nir`` (``bad_models.lif_graph``), ``conv.nir`` (``conv_graph``), the
Programs ``l2.ncp`` / ``sp.ncp`` compiled from ``m.nir`` for Loihi 2 / SpiNNaker, inputs
``in.npz`` / ``conv_in.npz`` and a learning file ``rules.toml``. A case's ``make(dir)`` then
writes its bad file(s) next to them; :func:`run_case` runs the real CLI on it and classifies
the outcome (see :data:`OUTCOMES`):

* ``ok``: exit 1 or 2, exactly one non-empty line on stderr, no traceback, no file changed but
  the declared outputs (``check`` with exit 1 reports its findings on stdout instead);
* ``traceback``: an exception escaped ``main`` (or the process died / exited with another code);
* ``hang``: the case did not finish within the timeout;
* ``no-message``: a refusal with nothing on stderr;  ``multi-line``: more than one stderr line;
* ``input-damaged``: a file other than the declared outputs was changed, created or removed;
* ``success``: exit 0 on a case that must be refused.

``expect`` is ``"refuse"`` for :data:`CASES` (``"survive"`` for the few valid-but-extreme
graphs: a clean refusal or exit 0) and ``"work"`` for :data:`MUST_WORK` (exit 0).

``python tests/bad_inputs.py --table [--json FILE] [--only SUBSTR]`` prints the table of
outcomes by class.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import copy
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bad_models import conv_graph, lif_graph, write_nir  # noqa: E402

TIMEOUT_S = 20
#: for cases whose valid-but-huge input takes long to read (45k HDF5 datasets): still bounded
SLOW_TIMEOUT_S = 180
MEM_LIMIT = 3 << 30  # address-space limit of the subprocess cases that declare huge arrays
OUTCOMES = ("ok", "traceback", "hang", "no-message", "multi-line", "input-damaged", "success")
CLASSES = {
    "a-outputs": "outputs over inputs, unwritable outputs",
    "b-nir-file": "broken NIR files",
    "c-graph": "broken graphs",
    "d-program": "tampered Programs",
    "e-npz": "corrupt .npz inputs",
    "f-special": "special files (FIFO, directory, devices)",
    "g-learning": "garbage learning TOML",
    "h-flags": "bad flags",
}
HUGE = 100_000_000  # "declared" neurons: the datasets are declared, never written


# ============================================================================ cases
@dataclass
class Case:
    cls: str
    name: str
    command: str
    argv: list[str]
    make: Callable[[Path], None] | None = None
    outputs: tuple[str, ...] = ()
    expect: str = "refuse"  # refuse | survive | work
    subprocess: bool = False
    mem_limit: bool = False
    #: seconds before the case counts as a hang (a 10k-node file takes seconds just to read)
    timeout: int | None = None

    @property
    def id(self) -> str:
        return f"{self.cls}/{self.name}/{self.command}"


@dataclass
class Result:
    case: Case
    outcome: str
    rc: int | None
    stdout: str
    stderr: str
    detail: str = ""
    seconds: float = 0.0
    changed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "class": self.case.cls,
            "expect": self.case.expect,
            "outcome": self.outcome,
            "rc": self.rc,
            "stderr": self.stderr[-2000:],
            "detail": self.detail[-2000:],
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------- base artefacts
_BASE: Path | None = None
_CACHE: dict[str, Path] = {}

RULES_TOML = """\
[[rule]]
projection = "fc"
kind = "stdp_pair"
A_plus = 8.0
A_minus = 4.0
tau_plus = 10
tau_minus = 12
"""


def _spikes(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < 0.5).astype(np.float32)


def _cleanup() -> None:
    for d in [_BASE, *_CACHE.values()]:
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def base_dir() -> Path:
    """The valid artefacts, built once per process (removed at exit)."""
    global _BASE
    if _BASE is not None and _BASE.is_dir():
        return _BASE
    import neurocompile

    d = Path(tempfile.mkdtemp(prefix="nc_bad_base_"))
    write_nir(d / "m.nir", lif_graph())
    write_nir(d / "conv.nir", conv_graph())
    np.savez(d / "in.npz", **{"in": _spikes((1, 6, 3))})
    np.savez(d / "conv_in.npz", **{"in": _spikes((1, 4, 2, 8, 8))})
    (d / "rules.toml").write_text(RULES_TOML)
    neurocompile.compile(str(d / "m.nir"), target="loihi2").save(d / "l2.ncp")
    neurocompile.compile(str(d / "m.nir"), target="spinnaker").save(d / "sp.ncp")
    _BASE = d
    return d


def _cached(key: str, build: Callable[[Path], None]) -> Callable[[Path], None]:
    """``make`` that builds the files once into a cache dir and copies them into each case dir."""

    def make(d: Path) -> None:
        src = _CACHE.get(key)
        if src is None or not src.is_dir():
            src = Path(tempfile.mkdtemp(prefix="nc_bad_cache_"))
            build(src)
            _CACHE[key] = src
        for p in src.iterdir():
            shutil.copy2(p, d / p.name)

    return make


# ---------------------------------------------------------------------------- command sets
def _model_cmds(model: str, inp: str = "in.npz") -> list[tuple[str, list[str], tuple[str, ...]]]:
    return [
        ("check", ["check", model], ()),
        ("check.loihi2", ["check", model, "--target", "loihi2"], ()),
        ("simulate", ["simulate", model, "--input", inp, "--output", "out.npz"], ("out.npz",)),
        ("compile.loihi2", ["compile", model, "--target", "loihi2", "-o", "out.ncp"], ("out.ncp",)),
        ("compile.spinnaker", ["compile", model, "--target", "spinnaker", "-o", "out.ncp"], ("out.ncp",)),
        ("validate", ["validate", model, "l2.ncp", "--input", inp], ()),
    ]


def _graph_cmds(model: str, inp: str) -> list[tuple[str, list[str], tuple[str, ...]]]:
    keep = {"check", "simulate", "compile.loihi2", "compile.spinnaker"}
    return [c for c in _model_cmds(model, inp) if c[0] in keep]


def _prog_cmds(prog: str, *, extra: bool = False) -> list[tuple[str, list[str], tuple[str, ...]]]:
    cmds = [
        ("run", ["run", prog, "--input", "in.npz", "--output", "out.npz"], ("out.npz",)),
        ("report", ["report", prog], ()),
    ]
    if extra:
        cmds += [
            ("report.input", ["report", prog, "--input", "in.npz"], ()),
            ("validate", ["validate", "m.nir", prog, "--input", "in.npz"], ()),
            ("emit", ["emit", prog, "-o", "bundle"], ("bundle",)),
        ]
    return cmds


def _input_cmds(inp: str, *, emit: bool = False) -> list[tuple[str, list[str], tuple[str, ...]]]:
    cmds = [
        ("simulate", ["simulate", "m.nir", "--input", inp, "--output", "out.npz"], ("out.npz",)),
        ("run.loihi2", ["run", "l2.ncp", "--input", inp, "--output", "out.npz"], ("out.npz",)),
        ("run.spinnaker", ["run", "sp.ncp", "--input", inp, "--output", "out.npz"], ("out.npz",)),
        ("report.input", ["report", "l2.ncp", "--input", inp], ()),
        ("validate", ["validate", "m.nir", "l2.ncp", "--input", inp], ()),
        (
            "compile.calibration",
            ["compile", "m.nir", "--target", "loihi2", "-o", "out.ncp", "--calibration", inp],
            ("out.ncp",),
        ),
    ]
    if emit:
        cmds.append(("emit.input", ["emit", "l2.ncp", "-o", "bundle", "--input", inp], ("bundle",)))
    return cmds


def _learning_cmds(toml: str) -> list[tuple[str, list[str], tuple[str, ...]]]:
    return [
        ("check", ["check", "m.nir", "--learning", toml], ()),
        ("check.loihi2", ["check", "m.nir", "--target", "loihi2", "--learning", toml], ()),
        (
            "compile.loihi2",
            ["compile", "m.nir", "--target", "loihi2", "-o", "out.ncp", "--learning", toml],
            ("out.ncp",),
        ),
        (
            "compile.spinnaker",
            ["compile", "m.nir", "--target", "spinnaker", "-o", "out.ncp", "--learning", toml],
            ("out.ncp",),
        ),
    ]


def _expand(cls: str, name: str, make, cmds, **kw) -> list[Case]:
    return [Case(cls, name, c, argv, make, outs, **kw) for c, argv, outs in cmds]


# ---------------------------------------------------------------------------- (b) NIR files
def _write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / name).write_bytes(data)

    return make


def _truncated_h5(d: Path) -> None:
    data = (d / "m.nir").read_bytes()
    (d / "bad.nir").write_bytes(data[: len(data) // 2])


def _h5_header_only(d: Path) -> None:
    data = (d / "m.nir").read_bytes()
    (d / "bad.nir").write_bytes(data[:512])


def _h5(fn: Callable[[h5py.File], None]) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        with h5py.File(d / "bad.nir", "w") as f:
            fn(f)

    return make


def _nir_wrong(fn: Callable[[h5py.File], None]) -> Callable[[Path], None]:
    """A valid lif graph file, then ``fn`` edits it in place with h5py."""

    def make(d: Path) -> None:
        write_nir(d / "bad.nir", lif_graph())
        with h5py.File(d / "bad.nir", "a") as f:
            fn(f)

    return make


def _replace(path: str, data: Any) -> Callable[[h5py.File], None]:
    def fn(f: h5py.File) -> None:
        del f[path]
        f.create_dataset(path, data=data)

    return fn


def _node_as_dataset(f: h5py.File) -> None:
    del f["node"]
    f.create_dataset("node", data=np.arange(4))


def _nodes_as_dataset(f: h5py.File) -> None:
    del f["node/nodes"]
    f.create_dataset("node/nodes", data=np.arange(4))


def _param_as_group(f: h5py.File) -> None:
    del f["node/nodes/fc/weight"]
    f.create_group("node/nodes/fc/weight").create_dataset("x", data=1.0)


def _nir_file_cases() -> list[Case]:
    variants: list[tuple[str, Callable[[Path], None] | None, str]] = [
        ("empty", _write_bytes("bad.nir", b""), "bad.nir"),
        ("devnull", None, "/dev/null"),
        ("missing", None, "nope.nir"),
        ("text", _write_bytes("bad.nir", b"this is not a NIR file\n"), "bad.nir"),
        ("binary", _write_bytes("bad.nir", bytes(range(256)) * 8), "bad.nir"),
        ("truncated-hdf5", _truncated_h5, "bad.nir"),
        ("hdf5-superblock-only", _h5_header_only, "bad.nir"),
        ("a-program-as-model", None, "l2.ncp"),
        ("an-npz-as-model", None, "in.npz"),
        ("hdf5-no-node", _h5(lambda f: f.create_dataset("version", data="1.0.8")), "bad.nir"),
        ("node-is-dataset", _nir_wrong(_node_as_dataset), "bad.nir"),
        ("nodes-is-dataset", _nir_wrong(_nodes_as_dataset), "bad.nir"),
        ("type-is-int", _nir_wrong(_replace("node/nodes/lif/type", 7)), "bad.nir"),
        ("root-type-is-float", _nir_wrong(_replace("node/type", 1.5)), "bad.nir"),
        ("edges-is-int", _nir_wrong(_replace("node/edges", 3)), "bad.nir"),
        ("edges-float-matrix", _nir_wrong(_replace("node/edges", np.zeros((3, 2)))), "bad.nir"),
        (
            "edges-three-columns",
            _nir_wrong(_replace("node/edges", np.array([[b"in", b"fc", b"lif"]]))),
            "bad.nir",
        ),
        ("version-is-array", _nir_wrong(_replace("version", np.arange(3))), "bad.nir"),
        ("weight-is-group", _nir_wrong(_param_as_group), "bad.nir"),
    ]
    out: list[Case] = []
    for name, make, model in variants:
        out += _expand("b-nir-file", name, make, _model_cmds(model))
    return out


# ---------------------------------------------------------------------------- (c) graphs
def _graph(base: Callable[[], dict], fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        g = copy.deepcopy(base())
        fn(g)
        write_nir(d / "bad.nir", g)

    return make


def _setp(node: str, **params: Any) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        g["nodes"][node].update(params)

    return fn


def _delp(node: str, param: str) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        del g["nodes"][node][param]

    return fn


def _drop_node(name: str) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        del g["nodes"][name]
        g["edges"] = [e for e in g["edges"] if name not in e]

    return fn


def _no_nodes(g: dict) -> None:
    g["nodes"] = {}
    g["edges"] = []


def _dotted_collision(g: dict) -> None:
    # a top-level node "blk.fc" and a subgraph "blk" holding "fc": both flatten to "blk.fc"
    g["nodes"]["blk.fc"] = copy.deepcopy(g["nodes"]["fc"])
    g["nodes"]["blk"] = {
        "type": "NIRGraph",
        "nodes": {"fc": copy.deepcopy(g["nodes"]["fc"])},
        "edges": [],
    }
    del g["nodes"]["fc"]
    g["edges"] = [("in", "blk.fc"), ("blk.fc", "lif"), ("lif", "out")]


def _edge_to_nowhere(g: dict) -> None:
    g["edges"].append(("lif", "ghost"))


def _meta(**kw: Any) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        g["metadata"].update(kw)

    return fn


def _chain(d: Path, n_nodes: int = 10_000) -> None:
    nodes: dict[str, Any] = {"in": {"type": "Input", "shape": np.array([1])}}
    edges = []
    prev = "in"
    for i in range((n_nodes - 2) // 2):
        nodes[f"fc{i}"] = {"type": "Affine", "weight": np.full((1, 1), 2.0), "bias": np.zeros(1)}
        nodes[f"lif{i}"] = {
            "type": "LIF",
            "tau": np.full(1, 1e-2),
            "r": np.ones(1),
            "v_leak": np.zeros(1),
            "v_threshold": np.ones(1),
            "v_reset": np.zeros(1),
        }
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["out"] = {"type": "Output", "shape": np.array([1])}
    edges.append((prev, "out"))
    write_nir(d / "bad.nir", {"type": "NIRGraph", "nodes": nodes, "edges": edges, "metadata": {"dt": 1e-3}})
    np.savez(d / "chain_in.npz", **{"in": _spikes((1, 4, 1))})


def _declared(f: h5py.File, path: str, shape: tuple[int, ...]) -> None:
    if path in f:
        del f[path]
    f.create_dataset(path, shape=shape, dtype="f8")  # never written: the file stays small


def _huge_if(d: Path) -> None:
    g = {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([HUGE])},
            "spk": {"type": "IF", "r": np.ones(1), "v_threshold": np.ones(1), "v_reset": np.zeros(1)},
            "out": {"type": "Output", "shape": np.array([HUGE])},
        },
        "edges": [("in", "spk"), ("spk", "out")],
        "metadata": {"dt": 1.0},
    }
    write_nir(d / "bad.nir", g)
    with h5py.File(d / "bad.nir", "a") as f:
        for p in ("r", "v_threshold", "v_reset"):
            _declared(f, f"node/nodes/spk/{p}", (HUGE,))


def _huge_affine(d: Path) -> None:
    g = lif_graph()
    g["nodes"]["out"]["shape"] = np.array([HUGE])
    write_nir(d / "bad.nir", g)
    with h5py.File(d / "bad.nir", "a") as f:
        _declared(f, "node/nodes/fc/weight", (HUGE, 3))
        _declared(f, "node/nodes/fc/bias", (HUGE,))
        for p in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
            _declared(f, f"node/nodes/lif/{p}", (HUGE,))


def _graph_cases() -> list[Case]:
    L, C = lif_graph, conv_graph
    f64max = np.finfo(np.float64).max
    variants: list[tuple[str, Callable[[Path], None], str]] = [
        ("weight-1e30", _graph(L, _setp("fc", weight=np.full((2, 3), 1e30))), "in.npz"),
        ("weight-f64max", _graph(L, _setp("fc", weight=np.full((2, 3), f64max))), "in.npz"),
        ("weight-nan", _graph(L, _setp("fc", weight=np.full((2, 3), np.nan))), "in.npz"),
        ("weight-inf", _graph(L, _setp("fc", weight=np.full((2, 3), np.inf))), "in.npz"),
        ("weight-complex", _graph(L, _setp("fc", weight=np.full((2, 3), 0.5 + 1j))), "in.npz"),
        (
            "weight-compound",
            _graph(L, _setp("fc", weight=np.zeros((2, 3), dtype=[("a", "f8"), ("b", "f8")]))),
            "in.npz",
        ),
        ("weight-strings", _graph(L, _setp("fc", weight=np.array([[b"a"] * 3] * 2))), "in.npz"),
        ("bias-nan", _graph(L, _setp("fc", bias=np.array([np.nan, 0.0]))), "in.npz"),
        ("bias-wrong-shape", _graph(L, _setp("fc", bias=np.zeros(5))), "in.npz"),
        ("weight-wrong-shape", _graph(L, _setp("fc", weight=np.full((2, 4), 0.5))), "in.npz"),
        ("tau-complex", _graph(L, _setp("lif", tau=np.full(2, 1e-2 + 1e-3j))), "in.npz"),
        ("tau-nan", _graph(L, _setp("lif", tau=np.full(2, np.nan))), "in.npz"),
        ("tau-negative", _graph(L, _setp("lif", tau=np.full(2, -1e-2))), "in.npz"),
        ("threshold-bytes", _graph(L, _setp("lif", v_threshold=np.bytes_(b"one"))), "in.npz"),
        ("threshold-inf", _graph(L, _setp("lif", v_threshold=np.full(2, np.inf))), "in.npz"),
        ("threshold-missing", _graph(L, _delp("lif", "v_threshold")), "in.npz"),
        ("tau-missing", _graph(L, _delp("lif", "tau")), "in.npz"),
        ("unknown-node-type", _graph(L, _setp("lif", type="Frobnicator")), "in.npz"),
        ("input-shape-negative", _graph(L, _setp("in", shape=np.array([-3]))), "in.npz"),
        ("input-shape-zero", _graph(L, _setp("in", shape=np.array([0]))), "in.npz"),
        ("pool-stride-0", _graph(C, _setp("pool", stride=np.array([0, 0]))), "conv_in.npz"),
        ("conv-stride-0", _graph(C, _setp("conv", stride=np.array([0, 0]))), "conv_in.npz"),
        ("conv-groups-0", _graph(C, _setp("conv", groups=0)), "conv_in.npz"),
        ("no-input", _graph(L, _drop_node("in")), "in.npz"),
        ("no-output", _graph(L, _drop_node("out")), "in.npz"),
        ("no-nodes", _graph(L, _no_nodes), "in.npz"),
        ("edge-to-missing-node", _graph(L, _edge_to_nowhere), "in.npz"),
        ("dotted-name-collision", _graph(L, _dotted_collision), "in.npz"),
        ("dt-string", _graph(L, _meta(dt="fast")), "in.npz"),
        ("dt-array", _graph(L, _meta(dt=np.array([1e-3, 2e-3]))), "in.npz"),
        ("dt-complex", _graph(L, _meta(dt=1e-3 + 1j)), "in.npz"),
        ("dt-negative", _graph(L, _meta(dt=-1e-3)), "in.npz"),
        ("dt-zero", _graph(L, _meta(dt=0.0)), "in.npz"),
        ("dt-nan", _graph(L, _meta(dt=np.nan)), "in.npz"),
    ]
    out: list[Case] = []
    for name, make, inp in variants:
        out += _expand("c-graph", name, make, _graph_cmds("bad.nir", inp))
    for c in out:
        if c.name == "weight-1e30" and c.command in ("check", "simulate"):
            c.expect = "survive"  # representable in float64: the float reference may run it
    # valid but extreme: a clean refusal or a result, never a RecursionError or a hang
    chain_cmds = [c for c in _graph_cmds("bad.nir", "chain_in.npz") if c[0] != "compile.spinnaker"]
    out += _expand(
        "c-graph",
        "chain-10k-nodes",
        _cached("chain", _chain),
        chain_cmds,
        expect="survive",
        timeout=SLOW_TIMEOUT_S,
    )
    for name, build in (("if-1e8-declared", _huge_if), ("affine-1e8-declared", _huge_affine)):
        cmds = [c for c in _graph_cmds("bad.nir", "in.npz") if c[0] != "compile.spinnaker"]
        out += _expand("c-graph", name, _cached(name, build), cmds, subprocess=True, mem_limit=True)
    return out


# ---------------------------------------------------------------------------- (d) Programs
def _read_ncp(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return json.loads(members["program.json"]), members


def _write_ncp(path: Path, doc: Any, members: dict[str, bytes], *, raw_json: bytes | None = None) -> None:
    members = dict(members)
    members["program.json"] = raw_json if raw_json is not None else json.dumps(doc).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)


def _tamper(fn: Callable[[dict, dict[str, bytes]], Any], src: str = "l2.ncp") -> Callable[[Path], None]:
    def make(d: Path) -> None:
        doc, members = _read_ncp(d / src)
        fn(doc, members)
        _write_ncp(d / "bad.ncp", doc, members)

    return make


_MISSING = object()


def _field(path: tuple, value: Any) -> Callable[[dict, dict], None]:
    """Set (or with ``_MISSING`` delete) ``doc[path...]``; ints in ``path`` index lists."""

    def fn(doc: dict, members: dict) -> None:
        obj = doc
        for k in path[:-1]:
            obj = obj[k]
        if value is _MISSING:
            del obj[path[-1]]
        else:
            obj[path[-1]] = copy.deepcopy(value)

    return fn


def _npy(arr: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array(b, arr, allow_pickle=False)
    return b.getvalue()


def _npy_header_only(shape: tuple[int, ...], dtype: str = "<i2") -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": dtype, "fortran_order": False, "shape": shape})
    return b.getvalue()


def _weights_member(doc: dict) -> str:
    return doc["projections"][0]["params"]["weights"]["__array__"]


def _set_member(fn_bytes: Callable[[dict, bytes], bytes | None]) -> Callable[[dict, dict], None]:
    def fn(doc: dict, members: dict) -> None:
        name = _weights_member(doc)
        new = fn_bytes(doc, members[name])
        if new is None:
            del members[name]
        else:
            members[name] = new

    return fn


def _truncated_zip(d: Path) -> None:
    data = (d / "l2.ncp").read_bytes()
    (d / "bad.ncp").write_bytes(data[: len(data) // 2])


def _zip_bad_crc(d: Path) -> None:
    doc, members = _read_ncp(d / "l2.ncp")
    raw = json.dumps(doc, indent=1).encode()
    with zipfile.ZipFile(d / "bad.ncp", "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("program.json", raw)
        for n, b in members.items():
            if n != "program.json":
                zf.writestr(n, b)
    data = bytearray((d / "bad.ncp").read_bytes())
    i = data.index(b'"format"')
    data[i + 1 : i + 7] = b"FORMAT"  # same length, CRC no longer matches
    (d / "bad.ncp").write_bytes(bytes(data))


def _raw_json(raw: bytes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        doc, members = _read_ncp(d / "l2.ncp")
        _write_ncp(d / "bad.ncp", doc, members, raw_json=raw)

    return make


def _no_program_json(d: Path) -> None:
    _, members = _read_ncp(d / "l2.ncp")
    with zipfile.ZipFile(d / "bad.ncp", "w") as zf:
        for n, b in members.items():
            if n != "program.json":
                zf.writestr(n, b)


def _program_cases() -> list[Case]:
    variants: list[tuple[str, Callable[[Path], None]]] = []
    top = [
        "format", "format_version", "target", "populations", "projections", "inputs", "outputs",
        "semantics", "provenance", "quantization", "placement", "learning",
    ]  # fmt: skip
    for k in top:
        variants += [
            (f"{k}-missing", _tamper(_field((k,), _MISSING))),
            (f"{k}-null", _tamper(_field((k,), None))),
            (f"{k}-list", _tamper(_field((k,), [1, 2]))),
            (f"{k}-string", _tamper(_field((k,), "x"))),
            (f"{k}-number", _tamper(_field((k,), 7))),
        ]
    pop, prj = ("populations", 1), ("projections", 0)
    variants += [
        ("format_version-numeric-string", _tamper(_field(("format_version",), "1"))),
        ("format_version-float", _tamper(_field(("format_version",), 0.5))),
        ("format_version-negative", _tamper(_field(("format_version",), -1))),
        ("target-unknown", _tamper(_field(("target",), "truenorth"))),
        ("population-name-missing", _tamper(_field(pop + ("name",), _MISSING))),
        ("population-kind-missing", _tamper(_field(pop + ("kind",), _MISSING))),
        ("population-kind-unknown", _tamper(_field(pop + ("kind",), "quantum"))),
        ("population-shape-missing", _tamper(_field(pop + ("shape",), _MISSING))),
        ("population-shape-null", _tamper(_field(pop + ("shape",), None))),
        ("population-shape-string", _tamper(_field(pop + ("shape",), ["2"]))),
        ("population-shape-negative", _tamper(_field(pop + ("shape",), [-2]))),
        ("population-shape-huge", _tamper(_field(pop + ("shape",), [10**15]))),
        ("population-params-missing", _tamper(_field(pop + ("params",), _MISSING))),
        ("population-params-list", _tamper(_field(pop + ("params",), [1]))),
        ("vth-string", _tamper(_field(pop + ("params", "vth"), "high"))),
        ("vth-null", _tamper(_field(pop + ("params", "vth"), None))),
        ("vth-float", _tamper(_field(pop + ("params", "vth"), 1.5))),
        ("vth-huge", _tamper(_field(pop + ("params", "vth"), 10**30))),
        ("du-negative", _tamper(_field(pop + ("params", "du"), -5))),
        ("duplicate-population", _tamper(lambda doc, m: doc["populations"].append(doc["populations"][1]))),
        ("projection-pre-missing", _tamper(_field(prj + ("pre",), _MISSING))),
        ("projection-pre-unknown", _tamper(_field(prj + ("pre",), "ghost"))),
        ("projection-post-unknown", _tamper(_field(prj + ("post",), "ghost"))),
        ("projection-kind-unknown", _tamper(_field(prj + ("kind",), "telepathy"))),
        ("projection-params-null", _tamper(_field(prj + ("params",), None))),
        ("weights-string", _tamper(_field(prj + ("params", "weights"), "heavy"))),
        ("weights-int", _tamper(_field(prj + ("params", "weights"), 3))),
        ("weights-list-of-strings", _tamper(_field(prj + ("params", "weights"), [["a", "b", "c"]] * 2))),
        ("weight_exp-string", _tamper(_field(prj + ("params", "weight_exp"), "5"))),
        ("num_weight_bits-99", _tamper(_field(prj + ("params", "num_weight_bits"), 99))),
        (
            "array-ref-outside-zip",
            _tamper(_field(prj + ("params", "weights"), {"__array__": "../../etc/passwd"})),
        ),
        ("array-member-missing", _tamper(_set_member(lambda doc, b: None))),
        ("array-member-garbage", _tamper(_set_member(lambda doc, b: b"not an npy file"))),
        ("array-nan-weights", _tamper(_set_member(lambda doc, b: _npy(np.full((2, 3), np.nan))))),
        ("array-float-weights", _tamper(_set_member(lambda doc, b: _npy(np.full((2, 3), 1.5))))),
        ("array-wrong-shape", _tamper(_set_member(lambda doc, b: _npy(np.ones((5, 7), dtype=np.int16))))),
        ("array-object-dtype", _tamper(_set_member(lambda doc, b: _npy_header_only((2, 3), "|O")))),
        ("array-huge-declared", _tamper(_set_member(lambda doc, b: _npy_header_only((10**6, 10**6))))),
        ("array-truncated", _tamper(_set_member(lambda doc, b: b[: len(b) - 4]))),
        ("output-population-unknown", _tamper(_field(("outputs", "out", "population"), "ghost"))),
        ("output-observable-unknown", _tamper(_field(("outputs", "out", "observable"), "vibes"))),
        ("output-scale-string", _tamper(_field(("outputs", "out", "scale"), "big"))),
        ("output-extra-field", _tamper(_field(("outputs", "out", "colour"), "red"))),
        ("input-population-unknown", _tamper(_field(("inputs", "in"), "ghost"))),
        ("hop_delay-negative", _tamper(_field(("semantics", "hop_delay"), -1))),
        ("hop_delay-string", _tamper(_field(("semantics", "hop_delay"), "1"))),
        ("dt-string", _tamper(_field(("semantics", "dt"), "fast"))),
        ("truncated-zip", _truncated_zip),
        ("zip-bad-crc", _zip_bad_crc),
        ("empty-file", _write_bytes("bad.ncp", b"")),
        ("no-program-json", _no_program_json),
        ("program-json-not-json", _raw_json(b"{not json")),
        ("program-json-a-list", _raw_json(b"[1, 2, 3]")),
        ("program-json-not-utf8", _raw_json(b"\xff\xfe\x00garbage")),
        ("program-json-deeply-nested", _raw_json(b"[" * 200_000 + b"]" * 200_000)),
    ]
    out: list[Case] = []
    extra = {"populations-missing", "weights-string", "array-member-missing", "truncated-zip"}
    for name, make in variants:
        out += _expand("d-program", name, make, _prog_cmds("bad.ncp", extra=name in extra))
    # SpiNNaker Programs: the same kind of damage in its own fields
    sp_pop, sp_prj = ("populations", 1), ("projections", 0)

    def _sp_member(key: str, arr: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict, dict], None]:
        def fn(doc: dict, members: dict) -> None:
            name = doc["projections"][0]["params"][key]["__array__"]
            members[name] = _npy(arr(np.lib.format.read_array(io.BytesIO(members[name]))))

        return fn

    sp_variants = [
        ("sp-w16-string", _tamper(_field(sp_prj + ("params", "w16"), "heavy"), "sp.ncp")),
        ("sp-pre-index-out-of-range", _tamper(_sp_member("pre", lambda a: a + 99), "sp.ncp")),
        ("sp-delays-negative", _tamper(_sp_member("delays", lambda a: a * 0 - 1), "sp.ncp")),
        ("sp-tau_m-string", _tamper(_field(sp_pop + ("params", "tau_m"), "slow"), "sp.ncp")),
        ("sp-tau_m-negative", _tamper(_field(sp_pop + ("params", "tau_m"), -9.5), "sp.ncp")),
        ("sp-v_thresh-null", _tamper(_field(sp_pop + ("params", "v_thresh"), None), "sp.ncp")),
        ("sp-hop_delay-negative", _tamper(_field(("semantics", "hop_delay"), -1), "sp.ncp")),
        ("sp-placement-null", _tamper(_field(("placement",), None), "sp.ncp")),
    ]
    for name, make in sp_variants:
        out += _expand("d-program", name, make, _prog_cmds("bad.ncp"))
    for c in out:
        if c.name == "array-huge-declared" or c.name == "population-shape-huge":
            c.subprocess = c.mem_limit = True
    return out


# ---------------------------------------------------------------------------- (e) npz
def _npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def _npz(arrays: Callable[[], dict[str, np.ndarray]], **kw: Any) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / "bad.npz").write_bytes(_npz_bytes(arrays(), **kw))

    return make


def _npz_truncated(d: Path) -> None:
    data = _npz_bytes({"in": _spikes((1, 6, 3))})
    (d / "bad.npz").write_bytes(data[: len(data) - 40])


def _npz_bad_crc(d: Path) -> None:
    data = bytearray(_npz_bytes({"in": np.full((1, 6, 3), 0.25)}))
    i = data.index(np.float64(0.25).tobytes())
    data[i : i + 8] = np.float64(0.5).tobytes()
    (d / "bad.npz").write_bytes(bytes(data))


def _npz_bad_deflate(d: Path) -> None:
    data = bytearray(_npz_bytes({"in": _spikes((1, 64, 3))}, compressed=True))
    i = data.index(b"in.npy") + len(b"in.npy")  # the deflate stream starts after the local header name
    data[i + 8 : i + 40] = b"\xff" * 32
    (d / "bad.npz").write_bytes(bytes(data))


def _plain_npy(d: Path) -> None:
    np.save(d / "bad.npy", _spikes((1, 6, 3)))
    (d / "bad.npy").rename(d / "bad.npz")


def _npz_member(name: str, payload: bytes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        with zipfile.ZipFile(d / "bad.npz", "w") as zf:
            zf.writestr(name, payload)

    return make


def _npz_object(d: Path) -> None:
    arr = np.empty((1, 6, 3), dtype=object)
    arr[...] = 1.0
    np.savez(d / "bad.npz", **{"in": arr})


def _npz_cases() -> list[Case]:
    variants: list[tuple[str, Callable[[Path], None] | None, str]] = [
        ("empty", _write_bytes("bad.npz", b""), "bad.npz"),
        ("devnull", None, "/dev/null"),
        ("missing", None, "nope.npz"),
        ("text", _write_bytes("bad.npz", b"in = [1, 2, 3]\n"), "bad.npz"),
        ("truncated", _npz_truncated, "bad.npz"),
        ("bad-crc", _npz_bad_crc, "bad.npz"),
        ("bad-deflate", _npz_bad_deflate, "bad.npz"),
        ("plain-npy", _plain_npy, "bad.npz"),
        ("a-program-as-input", None, "l2.ncp"),
        ("a-nir-as-input", None, "m.nir"),
        (
            "npy-header-huge-shape",
            _npz_member("in.npy", _npy_header_only((10**6, 10**6, 3), "<f8")),
            "bad.npz",
        ),
        ("npy-member-garbage", _npz_member("in.npy", b"\x93NUMPY garbage"), "bad.npz"),
        ("wrong-key", _npz(lambda: {"x": _spikes((1, 6, 3))}), "bad.npz"),
        ("no-arrays", _npz(lambda: {}), "bad.npz"),
        ("object-dtype", _npz_object, "bad.npz"),
        ("string-dtype", _npz(lambda: {"in": np.full((1, 6, 3), "a")}), "bad.npz"),
        ("complex-dtype", _npz(lambda: {"in": np.ones((1, 6, 3), dtype=np.complex128)}), "bad.npz"),
        ("structured-dtype", _npz(lambda: {"in": np.zeros((1, 6, 3), dtype=[("a", "f4")])}), "bad.npz"),
        ("wrong-shape", _npz(lambda: {"in": _spikes((1, 6, 4))}), "bad.npz"),
        ("no-batch-axis", _npz(lambda: {"in": _spikes((6, 3))}), "bad.npz"),
        ("scalar", _npz(lambda: {"in": np.float32(1)}), "bad.npz"),
        ("nan-values", _npz(lambda: {"in": np.full((1, 6, 3), np.nan)}), "bad.npz"),
        ("inf-values", _npz(lambda: {"in": np.full((1, 6, 3), np.inf)}), "bad.npz"),
    ]
    out: list[Case] = []
    emit_for = {"truncated", "wrong-key", "object-dtype", "nan-values"}
    for name, make, inp in variants:
        out += _expand("e-npz", name, make, _input_cmds(inp, emit=name in emit_for))
    for c in out:
        if c.name == "npy-header-huge-shape":
            c.subprocess = c.mem_limit = True
    return out


# ---------------------------------------------------------------------------- (a) outputs
def _outputs_cases() -> list[Case]:
    def mkdir(name: str) -> Callable[[Path], None]:
        def make(d: Path) -> None:
            (d / name).mkdir()
            (d / name / "keep.txt").write_text("keep")

        return make

    def copy_in(src: str, dst: str) -> Callable[[Path], None]:
        def make(d: Path) -> None:
            shutil.copy2(d / src, d / dst)

        return make

    c = "a-outputs"
    return [
        Case(c, "model-as-output", "compile", ["compile", "m.nir", "-t", "loihi2", "-o", "m.nir"]),
        Case(c, "model-as-output", "simulate", ["simulate", "m.nir", "-i", "in.npz", "-o", "m.nir"]),
        Case(
            c, "input-as-output", "simulate", ["simulate", "m.nir", "--input", "in.npz", "--output", "in.npz"]
        ),
        Case(c, "input-as-output", "run", ["run", "l2.ncp", "--input", "in.npz", "--output", "in.npz"]),
        Case(c, "program-as-output", "run", ["run", "l2.ncp", "--input", "in.npz", "--output", "l2.ncp"]),
        Case(c, "input-as-output-other-spelling", "run", ["run", "l2.ncp", "-i", "./in.npz", "-o", "in.npz"]),
        Case(
            c,
            "calibration-as-output",
            "compile",
            ["compile", "m.nir", "-t", "loihi2", "-o", "cal.npz", "--calibration", "cal.npz"],
            copy_in("in.npz", "cal.npz"),
        ),  # fmt: skip
        Case(
            c,
            "learning-as-output",
            "compile",
            ["compile", "m.nir", "-t", "loihi2", "-o", "rules.toml", "--learning", "rules.toml"],
        ),  # fmt: skip
        Case(
            c, "output-is-dir", "compile", ["compile", "m.nir", "-t", "loihi2", "-o", "odir"], mkdir("odir")
        ),
        Case(
            c, "output-is-dir", "simulate", ["simulate", "m.nir", "-i", "in.npz", "-o", "odir"], mkdir("odir")
        ),
        Case(c, "output-is-dir", "run", ["run", "l2.ncp", "-i", "in.npz", "-o", "odir"], mkdir("odir")),
        Case(c, "output-is-cwd", "compile", ["compile", "m.nir", "-t", "loihi2", "-o", "."]),
        Case(c, "parent-is-file", "compile", ["compile", "m.nir", "-t", "loihi2", "-o", "m.nir/out.ncp"]),
        Case(c, "parent-is-file", "simulate", ["simulate", "m.nir", "-i", "in.npz", "-o", "in.npz/out.npz"]),
        Case(c, "parent-is-file", "run", ["run", "sp.ncp", "-i", "in.npz", "-o", "l2.ncp/x/out.npz"]),
        Case(c, "parent-is-file", "emit", ["emit", "l2.ncp", "-o", "m.nir/bundle"]),
        Case(c, "bundle-over-file", "emit", ["emit", "sp.ncp", "-o", "in.npz"]),
        Case(c, "bundle-over-model", "emit", ["emit", "l2.ncp", "-o", "l2.ncp"]),
        Case(c, "output-empty-name", "compile", ["compile", "m.nir", "-t", "loihi2", "-o", ""]),
        Case(c, "output-empty-name", "run", ["run", "l2.ncp", "-i", "in.npz", "-o", ""]),
    ]


# ---------------------------------------------------------------------------- (f) special files
def _fifo(name: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        os.mkfifo(d / name)

    return make


def _adir(name: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / name).mkdir()
        (d / name / "keep.txt").write_text("keep")

    return make


def _special_cases() -> list[Case]:
    c = "f-special"
    out: list[Case] = []
    for kind, make, sub in (("fifo", _fifo, True), ("dir", _adir, False)):
        m, p, i, t = f"{kind}.nir", f"{kind}.ncp", f"{kind}.npz", f"{kind}.toml"
        runs = [
            ("as-model", "check", ["check", m], make(m), ()),
            ("as-model", "simulate", ["simulate", m, "-i", "in.npz", "-o", "out.npz"], make(m), ("out.npz",)),
            ("as-model", "compile", ["compile", m, "-t", "loihi2", "-o", "out.ncp"], make(m), ("out.ncp",)),
            ("as-model", "validate", ["validate", m, "l2.ncp", "-i", "in.npz"], make(m), ()),
            ("as-program", "run", ["run", p, "-i", "in.npz", "-o", "out.npz"], make(p), ("out.npz",)),
            ("as-program", "report", ["report", p], make(p), ()),
            ("as-program", "emit", ["emit", p, "-o", "bundle"], make(p), ("bundle",)),
            ("as-input", "simulate", ["simulate", "m.nir", "-i", i, "-o", "out.npz"], make(i), ("out.npz",)),
            ("as-input", "run", ["run", "l2.ncp", "-i", i, "-o", "out.npz"], make(i), ("out.npz",)),
            ("as-input", "report", ["report", "l2.ncp", "-i", i], make(i), ()),
            ("as-input", "validate", ["validate", "m.nir", "l2.ncp", "-i", i], make(i), ()),
            (
                "as-calibration",
                "compile",
                ["compile", "m.nir", "-t", "loihi2", "-o", "out.ncp", "--calibration", i],
                make(i),
                ("out.ncp",),
            ),  # fmt: skip
            ("as-learning", "check", ["check", "m.nir", "-t", "loihi2", "--learning", t], make(t), ()),
            (
                "as-learning",
                "compile",
                ["compile", "m.nir", "-t", "loihi2", "-o", "out.ncp", "--learning", t],
                make(t),
                ("out.ncp",),
            ),  # fmt: skip
        ]
        for name, cmd, argv, mk, outs in runs:
            out.append(Case(c, f"{kind}-{name}", cmd, argv, mk, outs, subprocess=sub))
    # /dev/zero never ends: reading it whole must not be how a file is read
    for name, cmd, argv, outs in (
        ("devzero-as-model", "check", ["check", "/dev/zero"], ()),
        ("devzero-as-program", "report", ["report", "/dev/zero"], ()),
        ("devzero-as-input", "run", ["run", "l2.ncp", "-i", "/dev/zero", "-o", "out.npz"], ("out.npz",)),
        (
            "devzero-as-learning",
            "compile",
            ["compile", "m.nir", "-t", "loihi2", "-o", "o.ncp", "--learning", "/dev/zero"],
            ("o.ncp",),
        ),
    ):
        out.append(Case(c, name, cmd, argv, None, outs, subprocess=True, mem_limit=True))
    return out


# ---------------------------------------------------------------------------- (g) learning
def _toml(text: str | bytes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        data = text.encode() if isinstance(text, str) else text
        (d / "bad.toml").write_bytes(data)

    return make


def _rule(**fields: Any) -> str:
    base = {
        "projection": "fc",
        "kind": "stdp_pair",
        "A_plus": 8.0,
        "A_minus": 4.0,
        "tau_plus": 10,
        "tau_minus": 12,
    }
    base.update(fields)
    lines = ["[[rule]]"]
    for k, v in base.items():
        if v is _MISSING:
            continue
        lines.append(f"{k} = {json.dumps(v) if not isinstance(v, str) or not v.startswith('@') else v[1:]}")
    return "\n".join(lines) + "\n"


def _learning_cases() -> list[Case]:
    variants: list[tuple[str, Callable[[Path], None] | None, str]] = [
        ("binary", _toml(bytes(range(256))), "bad.toml"),
        ("not-toml", _toml("[[rule]\nprojection = \n"), "bad.toml"),
        ("missing-file", None, "nope.toml"),
        ("rule-is-number", _toml("rule = 3\n"), "bad.toml"),
        ("rule-is-string-list", _toml('rule = ["a", "b"]\n'), "bad.toml"),
        ("projection-missing", _toml(_rule(projection=_MISSING)), "bad.toml"),
        ("projection-is-int", _toml(_rule(projection=3)), "bad.toml"),
        ("projection-unknown", _toml(_rule(projection="ghost")), "bad.toml"),
        ("projection-not-weights", _toml(_rule(projection="lif")), "bad.toml"),
        ("kind-unknown", _toml(_rule(kind="telepathy")), "bad.toml"),
        ("kind-missing", _toml(_rule(kind=_MISSING)), "bad.toml"),
        ("amplitude-string", _toml(_rule(A_plus="big")), "bad.toml"),
        ("amplitude-nan", _toml(_rule(A_plus="@nan")), "bad.toml"),
        ("amplitude-inf", _toml(_rule(A_plus="@inf")), "bad.toml"),
        ("amplitude-array", _toml(_rule(A_plus=[1, 2])), "bad.toml"),
        ("tau-negative", _toml(_rule(tau_plus=-5)), "bad.toml"),
        ("tau-bool", _toml(_rule(tau_plus=True)), "bad.toml"),
        ("tau-string", _toml(_rule(tau_plus="ten")), "bad.toml"),
        ("unknown-field", _toml(_rule(colour="red")), "bad.toml"),
        ("units-unknown", _toml(_rule(units="parsecs")), "bad.toml"),
        ("duplicate-projection", _toml(_rule() + _rule()), "bad.toml"),
        (
            "custom-dw-garbage",
            _toml('[[rule]]\nprojection = "fc"\nkind = "custom"\ndw = "__import__(\'os\')"\n'),
            "bad.toml",
        ),
        (
            "custom-dw-unbalanced",
            _toml('[[rule]]\nprojection = "fc"\nkind = "custom"\ndw = "((x0*y1"\n'),
            "bad.toml",
        ),
        (
            "custom-traces-string",
            _toml('[[rule]]\nprojection = "fc"\nkind = "custom"\ndw = "0.125*y0*x1"\ntraces = "x1"\n'),
            "bad.toml",
        ),
        ("a-nir-as-toml", None, "m.nir"),
    ]
    out: list[Case] = []
    for name, make, path in variants:
        out += _expand("g-learning", name, make, _learning_cmds(path))
    return out


# ---------------------------------------------------------------------------- (h) flags
def _flag_cases() -> list[Case]:
    c = "h-flags"
    comp = ["compile", "m.nir", "-o", "out.ncp"]
    sim = ["simulate", "m.nir", "-i", "in.npz", "-o", "out.npz"]
    run = ["run", "l2.ncp", "-i", "in.npz", "-o", "out.npz"]
    val = ["validate", "m.nir", "l2.ncp", "-i", "in.npz"]
    co, so = ("out.ncp",), ("out.npz",)
    runs: list[tuple[str, str, list[str], tuple[str, ...]]] = [
        ("target-unknown", "compile", comp + ["-t", "truenorth"], co),
        ("target-empty", "compile", comp + ["-t", ""], co),
        ("target-unknown", "check", ["check", "m.nir", "--target", "truenorth"], ()),
        ("backend-unknown", "run", run + ["--backend", "gpu"], so),
        ("backend-other-chip", "run", run + ["--backend", "spinnaker"], so),
        ("backend-unknown", "validate", val + ["--backend", "gpu"], ()),
        ("dt-negative", "compile", comp + ["-t", "loihi2", "--dt", "-1e-3"], co),
        ("dt-zero", "compile", comp + ["-t", "loihi2", "--dt", "0"], co),
        ("dt-nan", "compile", comp + ["-t", "loihi2", "--dt", "nan"], co),
        ("dt-inf", "compile", comp + ["-t", "spinnaker", "--dt", "inf"], co),
        ("dt-not-a-number", "compile", comp + ["-t", "loihi2", "--dt", "fast"], co),
        ("dt-negative", "simulate", sim + ["--dt", "-1"], so),
        ("dt-nan", "simulate", sim + ["--dt", "nan"], so),
        ("dt-negative", "check", ["check", "m.nir", "--dt", "-1"], ()),
        ("discretization-unknown", "compile", comp + ["-t", "loihi2", "--discretization", "rk4"], co),
        ("discretization-unknown", "simulate", sim + ["--discretization", "rk4"], so),
        ("reset-unknown", "compile", comp + ["-t", "loihi2", "--reset", "sometimes"], co),
        ("reset-unknown", "simulate", sim + ["--reset", "sometimes"], so),
        ("hop-delay-negative", "simulate", sim + ["--hop-delay", "-1"], so),
        ("hop-delay-not-int", "simulate", sim + ["--hop-delay", "one"], so),
        ("record-garbage", "simulate", sim + ["--record", "lif"], so),
        ("record-unknown-node", "simulate", sim + ["--record", "ghost.v"], so),
        ("record-unknown-observable", "run", run + ["--record", "lif.q"], so),
        ("record-unknown-node", "run", run + ["--record", "ghost.v"], so),
        ("tick-ms-unsupported-value", "compile", comp + ["-t", "spinnaker", "--tick-ms", "0.5"], co),
        ("tick-ms-negative", "compile", comp + ["-t", "spinnaker", "--tick-ms", "-1"], co),
        ("tick-ms-other-target", "compile", comp + ["-t", "loihi2", "--tick-ms", "1.0"], co),
        ("steps-negative", "emit", ["emit", "l2.ncp", "-o", "bundle", "--steps", "-1"], ("bundle",)),
        ("tolerance-negative", "validate", val + ["--tolerance", "-1"], ()),
        ("tolerance-nan", "validate", val + ["--tolerance", "nan"], ()),
        ("readout-unknown", "validate", val + ["--readout", "vibes"], ()),
        ("labels-unknown-key", "validate", val + ["--labels", "ghost"], ()),
        ("max-cores-negative", "report", ["report", "l2.ncp", "--max-cores", "-1"], ()),
        ("unknown-option", "compile", comp + ["-t", "loihi2", "--frobnicate"], co),
        ("missing-output", "compile", ["compile", "m.nir", "-t", "loihi2"], ()),
        ("missing-input", "run", ["run", "l2.ncp", "-o", "out.npz"], so),
        ("unknown-command", "frobnicate", ["frobnicate", "m.nir"], ()),
    ]
    return [Case(c, name, cmd, argv, None, outs) for name, cmd, argv, outs in runs]


# ---------------------------------------------------------------------------- must work
def _must_work() -> list[Case]:
    c = "w-must-work"
    out: list[Case] = []
    dtypes = {
        "float16": lambda: _spikes((1, 6, 3)).astype(np.float16),
        "float64": lambda: _spikes((1, 6, 3)).astype(np.float64),
        "int64": lambda: _spikes((1, 6, 3)).astype(np.int64),
        "int8": lambda: _spikes((1, 6, 3)).astype(np.int8),
        "uint8": lambda: _spikes((1, 6, 3)).astype(np.uint8),
        "bool": lambda: _spikes((1, 6, 3)).astype(bool),
        "fortran-order": lambda: np.asfortranarray(_spikes((2, 6, 3))),
        "extra-key": lambda: {"in": _spikes((1, 6, 3)), "labels": np.zeros(1, np.int64)},
    }
    for name, arr in dtypes.items():

        def make(d: Path, arr=arr) -> None:
            a = arr()
            np.savez(d / "ok.npz", **(a if isinstance(a, dict) else {"in": a}))

        for cmd, argv, outs in _input_cmds("ok.npz")[:3]:
            out.append(Case(c, f"input-{name}", cmd, argv, make, outs, expect="work"))

    def compressed(d: Path) -> None:
        np.savez_compressed(d / "z.npz", **{"in": _spikes((1, 6, 3))})

    argv = ["run", "l2.ncp", "-i", "z.npz", "-o", "out.npz"]
    out.append(Case(c, "input-compressed", "run", argv, compressed, ("out.npz",), expect="work"))
    base = [
        ("valid", "check", ["check", "m.nir"], ()),
        ("valid", "check.loihi2", ["check", "m.nir", "--target", "loihi2", "--learning", "rules.toml"], ()),
        ("valid", "compile.loihi2", ["compile", "m.nir", "-t", "loihi2", "-o", "out.ncp"], ("out.ncp",)),
        (
            "valid",
            "compile.spinnaker",
            ["compile", "m.nir", "-t", "spinnaker", "-o", "out.ncp"],
            ("out.ncp",),
        ),
        (
            "valid",
            "compile.learning",
            ["compile", "m.nir", "-t", "loihi2", "-o", "o.ncp", "--learning", "rules.toml"],
            ("o.ncp",),
        ),
        (
            "valid",
            "compile.calibration",
            ["compile", "m.nir", "-t", "loihi2", "-o", "o.ncp", "--calibration", "in.npz"],
            ("o.ncp",),
        ),
        ("valid", "compile.overwrite", ["compile", "m.nir", "-t", "loihi2", "-o", "l2.ncp"], ("l2.ncp",)),
        (
            "valid",
            "compile.new-subdir",
            ["compile", "m.nir", "-t", "loihi2", "-o", "sub/dir/o.ncp"],
            ("sub",),
        ),
        ("valid", "simulate", ["simulate", "m.nir", "-i", "in.npz", "-o", "out.npz"], ("out.npz",)),
        (
            "valid",
            "simulate.conv",
            ["simulate", "conv.nir", "-i", "conv_in.npz", "-o", "out.npz"],
            ("out.npz",),
        ),
        ("valid", "run", ["run", "l2.ncp", "-i", "in.npz", "-o", "out.npz"], ("out.npz",)),
        ("valid", "run.spinnaker", ["run", "sp.ncp", "-i", "in.npz", "-o", "out.npz"], ("out.npz",)),
        ("valid", "report", ["report", "l2.ncp", "-i", "in.npz"], ()),
        ("valid", "validate", ["validate", "m.nir", "l2.ncp", "-i", "in.npz"], ()),
        ("valid", "emit", ["emit", "sp.ncp", "-o", "bundle"], ("bundle",)),
    ]
    out += [Case(c, n, cmd, argv, None, outs, expect="work") for n, cmd, argv, outs in base]
    return out


def build_cases() -> list[Case]:
    cases = (
        _outputs_cases()
        + _nir_file_cases()
        + _graph_cases()
        + _program_cases()
        + _npz_cases()
        + _special_cases()
        + _learning_cases()
        + _flag_cases()
    )
    ids = [c.id for c in cases]
    dup = [i for i, n in Counter(ids).items() if n > 1]
    assert not dup, f"duplicate case ids: {dup}"
    return cases


CASES = build_cases()
MUST_WORK = _must_work()


# ============================================================================ runner
def snapshot(d: Path) -> dict[str, tuple]:
    """Every entry under ``d``: (kind, size, sha256) for files; FIFOs and devices are never opened."""
    snap: dict[str, tuple] = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = Path(root) / n
            rel = str(p.relative_to(d))
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                snap[rel] = ("file", st.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISDIR(st.st_mode):
                snap[rel] = ("dir",)
            elif stat.S_ISFIFO(st.st_mode):
                snap[rel] = ("fifo",)
            elif stat.S_ISLNK(st.st_mode):
                snap[rel] = ("link", os.readlink(p))
            else:
                snap[rel] = ("other", st.st_mode)
    return snap


def changed_files(before: dict, after: dict, outputs: tuple[str, ...]) -> list[str]:
    def declared(rel: str) -> bool:
        return any(rel == o or rel.startswith(o.rstrip("/") + "/") for o in outputs)

    out = []
    for rel in sorted(set(before) | set(after)):
        if before.get(rel) != after.get(rel) and not declared(rel):
            how = "created" if rel not in before else "removed" if rel not in after else "changed"
            out.append(f"{rel} ({how})")
    return out


class _Hang(BaseException):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise _Hang()


def _run_inprocess(argv: list[str], cwd: Path, timeout: int) -> tuple[int | None, str, str, str, bool]:
    from neurocompile.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    rc: int | None = None
    exc_text = ""
    hung = False
    old_cwd = os.getcwd()
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    caught: list = []
    try:
        os.chdir(cwd)
        signal.alarm(timeout)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            with warnings.catch_warnings(record=True) as caught:
                # what `python -m` shows by default (no pytest filters), every time (no once-registry)
                warnings.simplefilter("default")
                for cat in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                    warnings.simplefilter("ignore", cat)
                try:
                    rc = main(list(argv))
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                    if not isinstance(e.code, (int, type(None))):
                        err.write(f"{e.code}\n")
    except _Hang:
        hung = True
    except BaseException:  # noqa: BLE001 - a traceback is an outcome
        exc_text = traceback.format_exc()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(old_cwd)
    for w in caught or []:
        err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
    return rc, out.getvalue(), err.getvalue(), exc_text, hung


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def _run_subprocess(
    argv: list[str], cwd: Path, timeout: int, mem_limit: bool
) -> tuple[int | None, str, str, str, bool]:
    cmd = [sys.executable, "-m", "neurocompile.cli.main", *argv]
    env = dict(os.environ, PYTHONWARNINGS="default")
    try:
        p = subprocess.run(
            cmd,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_limit_memory if mem_limit else None,
        )
    except subprocess.TimeoutExpired as e:

        def _s(x):
            return x.decode(errors="replace") if isinstance(x, bytes) else (x or "")

        return None, _s(e.stdout), _s(e.stderr), "", True
    exc = ""
    if p.returncode < 0:
        exc = f"killed by signal {-p.returncode}"
    return p.returncode, p.stdout, p.stderr, exc, False


def classify(
    case: Case, rc: int | None, out: str, err: str, exc: str, hung: bool, changed: list[str]
) -> tuple[str, str]:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if hung:
        return "hang", f"no result within {case.timeout or TIMEOUT_S} s"
    if exc or "Traceback (most recent call last)" in err or "Traceback (most recent call last)" in out:
        return "traceback", exc or err
    if rc not in (0, 1, 2):
        return "traceback", f"exit code {rc}"
    if changed:
        return "input-damaged", "; ".join(changed)
    if case.expect == "work":
        return ("ok", "") if rc == 0 else ("refused", f"exit {rc}: {err.strip()[:300]}")
    if rc == 0:
        return ("ok", "exit 0") if case.expect == "survive" else ("success", "exit 0")
    if case.command.startswith("check") and rc == 1:
        # check reports findings as a table on stdout (exit 1); nothing else on stderr
        if not out.strip():
            return "no-message", "exit 1, nothing on stdout or stderr"
        return ("ok", "") if len(lines) <= 1 else ("multi-line", err)
    if not lines:
        return "no-message", f"exit {rc}, empty stderr"
    if len(lines) > 1:
        return "multi-line", err
    return "ok", ""


def run_case(case: Case, timeout: int | None = None) -> Result:
    timeout = timeout or case.timeout or TIMEOUT_S
    base = base_dir()
    d = Path(tempfile.mkdtemp(prefix="nc_case_"))
    try:
        for p in base.iterdir():
            shutil.copy2(p, d / p.name)
        if case.make is not None:
            case.make(d)
        before = snapshot(d)
        t0 = time.perf_counter()
        if case.subprocess:
            rc, out, err, exc, hung = _run_subprocess(case.argv, d, timeout, case.mem_limit)
        else:
            rc, out, err, exc, hung = _run_inprocess(case.argv, d, timeout)
        secs = time.perf_counter() - t0
        changed = changed_files(before, snapshot(d), case.outputs)
        outcome, detail = classify(case, rc, out, err, exc, hung, changed)
        return Result(case, outcome, rc, out, err, detail, secs, changed)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ============================================================================ table
def runs_per_class(cases: list[Case] | None = None) -> dict[str, int]:
    return dict(Counter(c.cls for c in (CASES if cases is None else cases)))


def table(results: list[Result]) -> str:
    rows: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        if r.case.expect != "work":
            rows[r.case.cls][r.outcome] += 1
    cols = list(OUTCOMES)
    w = max([len("class")] + [len(k) for k in rows]) + 2
    lines = ["class".ljust(w) + "".join(f"{c:>15}" for c in cols) + f"{'runs':>8}"]
    total: Counter = Counter()
    for k in sorted(rows):
        total.update(rows[k])
        lines.append(k.ljust(w) + "".join(f"{rows[k][c]:>15}" for c in cols) + f"{sum(rows[k].values()):>8}")
    lines.append("total".ljust(w) + "".join(f"{total[c]:>15}" for c in cols) + f"{sum(total.values()):>8}")
    work = [r for r in results if r.case.expect == "work"]
    if work:
        good = sum(r.outcome == "ok" for r in work)
        bad = Counter(r.outcome for r in work if r.outcome != "ok")
        lines.append(f"must-work: {good}/{len(work)} exit 0" + (f"; failures {dict(bad)}" if bad else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", action="store_true", help="run the corpus and print the table")
    ap.add_argument("--json", help="also write every result to this JSON file")
    ap.add_argument("--only", help="run only cases whose id contains this")
    ap.add_argument("--list", action="store_true", help="list the case ids")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every non-ok case")
    a = ap.parse_args(argv)
    cases = CASES + MUST_WORK
    if a.only:
        cases = [c for c in cases if a.only in c.id]
    if a.list:
        for c in cases:
            print(c.id, c.expect, "subprocess" if c.subprocess else "")
        print(f"{len(cases)} runs; per class {runs_per_class(cases)}")
        return 0
    if not a.table:
        ap.print_help()
        return 0
    import neurocompile

    print(f"neurocompile from {Path(neurocompile.__file__).parent}", flush=True)
    t0 = time.perf_counter()
    results = []
    for c in cases:
        r = run_case(c)
        results.append(r)
        if a.verbose and r.outcome != "ok":
            print(f"  {r.outcome:14} {c.id}: {' '.join(r.detail.split())[-200:]}", flush=True)
    print(table(results))
    print(f"{len(results)} runs in {time.perf_counter() - t0:.0f} s")
    if a.json:
        Path(a.json).write_text(
            json.dumps(
                {
                    "neurocompile": str(Path(neurocompile.__file__).parent),
                    "per_class": runs_per_class([c for c in cases if c.expect != "work"]),
                    "table": table(results),
                    "results": [r.as_dict() for r in results],
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
