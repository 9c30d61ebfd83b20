"""Loading a Program checks its manifest and arrays (issue 17): a tampered ``.ncp`` is refused at
load with one typed error naming the field, never a traceback and never a silent run.

Each case compiles ``bad_models.lif_graph`` for a target, rewrites the ``program.json`` (or an
array member) of its file and asserts the error type and the field it names (``parameter``, and
``node`` for the target schema's errors).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Callable

import bad_models as B
import numpy as np
import pytest

import neurocompile
import neurocompile.program as program_mod
from neurocompile.errors import GraphError, ModelLoadError, ParameterError, RangeError
from neurocompile.program import Program
from neurocompile.targets.loihi2.builder import Loihi2Builder

TARGETS = ("loihi2", "spinnaker")
#: the one projection of lif_graph, per target
PROJ = {"loihi2": "in->lif", "spinnaker": "in->lif:exc"}
WEIGHTS = {"loihi2": "weights", "spinnaker": "w16"}


@pytest.fixture(scope="module")
def blobs(tmp_path_factory) -> dict[str, bytes]:
    path = B.write_nir(tmp_path_factory.mktemp("g") / "lif.nir", B.lif_graph())
    return {t: neurocompile.compile(path, target=t, dt=1e-3).to_bytes() for t in TARGETS}


def _members(blob: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    zf = zipfile.ZipFile(io.BytesIO(blob))
    members = {n: zf.read(n) for n in zf.namelist()}
    return json.loads(members.pop("program.json")), members


def _zip(doc: Any, members: dict[str, bytes], raw_json: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        items = {"program.json": raw_json if raw_json is not None else _dumps(doc), **members}
        for name in sorted(items, key=lambda n: (n != "program.json", n)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, items[name])
    return buf.getvalue()


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, indent=1).encode()


def tamper(blob: bytes, edit: Callable[[dict, dict], Any]) -> bytes:
    """Rewrite ``blob`` after ``edit(doc, members)`` changed its manifest and/or array members."""
    doc, members = _members(blob)
    edit(doc, members)
    return _zip(doc, members)


def _pop(doc: dict, name: str) -> dict:
    return next(p for p in doc["populations"] if p["name"] == name)


def _proj(doc: dict) -> dict:
    return doc["projections"][0]


def _member_of(doc: dict, target: str) -> str:
    return _proj(doc)["params"][WEIGHTS[target]]["__array__"]


def _npy(arr: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array(b, arr, allow_pickle=False)
    return b.getvalue()


def _npy_header(descr: str, shape: tuple, data: bytes = b"") -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False, "shape": shape})
    return b.getvalue() + data


def _set(path: list, value: Any, *, delete: bool = False) -> Callable[[dict, dict], None]:
    def edit(doc: dict, members: dict) -> None:
        obj = doc
        for k in path[:-1]:
            obj = obj[k]
        if delete:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value

    return edit


def _weights_member(make: Callable[[bytes], bytes]) -> Callable[[dict, dict], None]:
    def edit(doc: dict, members: dict) -> None:
        name = _proj(doc)["params"].get("weights", _proj(doc)["params"].get("w16"))["__array__"]
        members[name] = make(members[name])

    return edit


def _weights_param(value: Any) -> Callable[[dict, dict], None]:
    def edit(doc: dict, members: dict) -> None:
        params = _proj(doc)["params"]
        params["weights" if "weights" in params else "w16"] = value

    return edit


def _lif_param(field: str, value: Any) -> Callable[[dict, dict], None]:
    def edit(doc: dict, members: dict) -> None:
        _pop(doc, "lif")["params"][field] = value

    return edit


# (id, edit, error type, the parameter it names: "{proj}" / "{w}" filled per target)
CASES: list[tuple[str, Callable, type, str]] = [
    ("format missing", _set(["format"], None, delete=True), ModelLoadError, "format"),
    ("format wrong", _set(["format"], "zip"), ModelLoadError, "format"),
    ("format_version null", _set(["format_version"], None), ModelLoadError, "format_version"),
    ("format_version string", _set(["format_version"], "1"), ModelLoadError, "format_version"),
    ("format_version bool", _set(["format_version"], True), ModelLoadError, "format_version"),
    ("format_version float", _set(["format_version"], 1.0), ModelLoadError, "format_version"),
    ("format_version zero", _set(["format_version"], 0), ModelLoadError, "format_version"),
    ("format_version newer", _set(["format_version"], 2), ModelLoadError, "format_version"),
    ("target missing", _set(["target"], None, delete=True), ModelLoadError, "target"),
    ("target null", _set(["target"], None), ModelLoadError, "target"),
    ("target list", _set(["target"], ["loihi2"]), ModelLoadError, "target"),
    ("target unknown", _set(["target"], "nosuchchip"), ModelLoadError, "target"),
    ("populations missing", _set(["populations"], None, delete=True), ModelLoadError, "populations"),
    ("populations null", _set(["populations"], None), ModelLoadError, "populations"),
    ("populations object", _set(["populations"], {}), ModelLoadError, "populations"),
    ("projections string", _set(["projections"], "x"), ModelLoadError, "projections"),
    ("inputs list", _set(["inputs"], ["in"]), ModelLoadError, "inputs"),
    ("inputs value number", _set(["inputs", "in"], 3), ModelLoadError, "inputs.in"),
    ("outputs null", _set(["outputs"], None), ModelLoadError, "outputs"),
    ("output string", _set(["outputs", "out"], "lif"), ModelLoadError, "outputs.out"),
    (
        "output observable missing",
        _set(["outputs", "out", "observable"], None, delete=True),
        ModelLoadError,
        "outputs.out.observable",
    ),
    ("output extra field", _set(["outputs", "out", "gain"], 2), ModelLoadError, "outputs.out.gain"),
    ("output scale string", _set(["outputs", "out", "scale"], "1"), ModelLoadError, "outputs.out.scale"),
    (
        "output scale NaN",
        _set(["outputs", "out", "scale"], float("nan")),
        ParameterError,
        "outputs.out.scale",
    ),
    ("semantics null", _set(["semantics"], None), ModelLoadError, "semantics"),
    ("provenance list", _set(["provenance"], []), ModelLoadError, "provenance"),
    ("quantization number", _set(["quantization"], 3), ModelLoadError, "quantization"),
    ("placement string", _set(["placement"], "x"), ModelLoadError, "placement"),
    ("learning missing", _set(["learning"], None, delete=True), ModelLoadError, "learning"),
    ("unknown top field", _set(["extra"], 1), ModelLoadError, "extra"),
    ("hop_delay negative", _set(["semantics", "hop_delay"], -1), ParameterError, "semantics.hop_delay"),
    ("hop_delay two", _set(["semantics", "hop_delay"], 2), ParameterError, "semantics.hop_delay"),
    ("hop_delay string", _set(["semantics", "hop_delay"], "1"), ParameterError, "semantics.hop_delay"),
    ("hop_delay null", _set(["semantics", "hop_delay"], None), ParameterError, "semantics.hop_delay"),
    ("dt negative", _set(["semantics", "dt"], -1e-3), ParameterError, "semantics.dt"),
    ("dt inf", _set(["semantics", "dt"], float("inf")), ParameterError, "semantics.dt"),
    ("semantics NaN", _set(["semantics", "x"], float("nan")), ParameterError, "semantics.x"),
    ("population not object", _set(["populations", 1], "lif"), ModelLoadError, "populations[1]"),
    ("population name null", _set(["populations", 1, "name"], None), ModelLoadError, "populations[1].name"),
    (
        "population kind missing",
        _set(["populations", 1, "kind"], None, delete=True),
        ModelLoadError,
        "populations.lif.kind",
    ),
    ("population kind number", _set(["populations", 1, "kind"], 7), ModelLoadError, "populations.lif.kind"),
    (
        "population shape string",
        _set(["populations", 1, "shape"], "2"),
        ModelLoadError,
        "populations.lif.shape",
    ),
    (
        "population shape negative",
        _set(["populations", 1, "shape"], [-2]),
        ModelLoadError,
        "populations.lif.shape",
    ),
    (
        "population shape float",
        _set(["populations", 1, "shape"], [2.0]),
        ModelLoadError,
        "populations.lif.shape",
    ),
    (
        "population shape huge",
        _set(["populations", 1, "shape"], [2**20, 2**20]),
        ModelLoadError,
        "populations.lif.shape",
    ),
    (
        "population params list",
        _set(["populations", 1, "params"], []),
        ModelLoadError,
        "populations.lif.params",
    ),
    (
        "population params null",
        _set(["populations", 1, "params"], None),
        ModelLoadError,
        "populations.lif.params",
    ),
    ("population extra field", _set(["populations", 1, "size"], 2), ModelLoadError, "populations.lif.size"),
    (
        "population duplicate",
        lambda doc, m: doc["populations"].append(dict(doc["populations"][1])),
        ModelLoadError,
        "populations.lif",
    ),
    ("projection not object", _set(["projections", 0], None), ModelLoadError, "projections[0]"),
    ("projection pre number", _set(["projections", 0, "pre"], 0), ModelLoadError, "projections.{proj}.pre"),
    (
        "projection post missing",
        _set(["projections", 0, "post"], None, delete=True),
        ModelLoadError,
        "projections.{proj}.post",
    ),
    (
        "projection params string",
        _set(["projections", 0, "params"], "w"),
        ModelLoadError,
        "projections.{proj}.params",
    ),
    ("projection pre unknown", _set(["projections", 0, "pre"], "nope"), GraphError, "pre"),
    ("weights string", _weights_param("abc"), ParameterError, "{w}"),
    ("weights int", _weights_param(3), ParameterError, "{w}"),
    ("weights null", _weights_param(None), ParameterError, "{w}"),
    ("weights ragged list", _weights_param([[1, 2], [3]]), ModelLoadError, "projections.{proj}.params.{w}"),
    ("weights NaN in JSON", _weights_param(float("nan")), ParameterError, "projections.{proj}.params.{w}"),
    (
        "weights list of NaN",
        _weights_param([float("nan")]),
        ParameterError,
        "projections.{proj}.params.{w}[0]",
    ),
    (
        "weights member missing",
        lambda doc, m: m.pop(_proj(doc)["params"][WEIGHTS[doc["target"]]]["__array__"]),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights ref to program.json",
        _weights_param({"__array__": "program.json"}),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    ("weights ref number", _weights_param({"__array__": 4}), ModelLoadError, "projections.{proj}.params.{w}"),
    (
        "weights ref extra key",
        _weights_param({"__array__": "arrays/0000.npy", "x": 1}),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights ref traversal",
        _weights_param({"__array__": "../../etc/passwd"}),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights declared huge",
        _weights_member(lambda b: _npy_header("<i8", (2**40,))),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights declared larger than member",
        _weights_member(lambda b: _npy_header("<i8", (1000,), b"\0" * 16)),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights member truncated",
        _weights_member(lambda b: b[:-2]),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights object dtype",
        _weights_member(lambda b: _npy_header("|O", (2,), b"\0" * 16)),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights string dtype",
        _weights_member(lambda b: _npy(np.array(["a", "b"]))),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights structured dtype",
        _weights_member(lambda b: _npy(np.zeros(2, dtype=[("a", "<i4")]))),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    (
        "weights not npy",
        _weights_member(lambda b: b"PK\x03\x04 not an array"),
        ModelLoadError,
        "projections.{proj}.params.{w}",
    ),
    ("weights NaN floats", _weights_member(lambda b: _npy(np.full(6, np.nan))), ParameterError, "{w}"),
    ("weights wrong shape", _weights_member(lambda b: _npy(np.zeros(5, np.int16))), ParameterError, "{w}"),
    (
        "deep nesting",
        _set(["provenance", "deep"], json.loads("[" * 200 + "]" * 200)),
        ModelLoadError,
        "provenance.deep" + "[0]" * (program_mod.MAX_DEPTH),
    ),
]

# target-specific tampering of the lif population: (target, id, edit, error, node, parameter)
SCHEMA_CASES = [
    (
        "loihi2",
        "vth NaN",
        _lif_param("vth", float("nan")),
        ParameterError,
        None,
        "populations.lif.params.vth",
    ),
    ("loihi2", "vth string", _lif_param("vth", "113975"), ParameterError, "lif", "vth"),
    ("loihi2", "vth float", _lif_param("vth", 1.5), ParameterError, "lif", "vth"),
    ("loihi2", "vth null", _lif_param("vth", None), ParameterError, "lif", "vth"),
    (
        "loihi2",
        "du missing",
        _set(["populations", 1, "params", "du"], None, delete=True),
        ParameterError,
        "lif",
        "du",
    ),
    ("loihi2", "du out of range", _lif_param("du", 4096), RangeError, "lif", "du"),
    (
        "loihi2",
        "sign_mode list",
        _set(["projections", 0, "params", "sign_mode"], [1]),
        RangeError,
        "in->lif",
        "sign_mode",
    ),
    (
        "spinnaker",
        "tau_m NaN",
        _lif_param("tau_m", float("nan")),
        ParameterError,
        None,
        "populations.lif.params.tau_m",
    ),
    (
        "spinnaker",
        "v_thresh inf",
        _lif_param("v_thresh", float("inf")),
        ParameterError,
        None,
        "populations.lif.params.v_thresh",
    ),
    ("spinnaker", "tau_m string", _lif_param("tau_m", "9.5"), ParameterError, "lif", "tau_m"),
    ("spinnaker", "tau_m negative", _lif_param("tau_m", -9.5), ParameterError, "lif", "tau_m"),
    ("spinnaker", "tau_refrac negative", _lif_param("tau_refrac", -1.0), ParameterError, "lif", "tau_refrac"),
    (
        "spinnaker",
        "ring shifts null",
        _lif_param("ring_buffer_shifts", None),
        ParameterError,
        "lif",
        "ring_buffer_shifts",
    ),
    (
        "spinnaker",
        "tick_ms null",
        _set(["semantics", "tick_ms"], None),
        ParameterError,
        None,
        "tick_ms",
    ),
    (
        "spinnaker",
        "tick_ms negative",
        _set(["semantics", "tick_ms"], -1.0),
        ParameterError,
        "semantics",
        "tick_ms",
    ),
    (
        "spinnaker",
        "receptor number",
        _set(["projections", 0, "params", "receptor"], 0),
        ParameterError,
        "in->lif:exc",
        "receptor",
    ),
]


def _member_edit(field: str, arr: np.ndarray) -> Callable[[dict, dict], None]:
    def edit(doc: dict, members: dict) -> None:
        params = _pop(doc, "lif")["params"] if field in ("i_offset", "v_init") else _proj(doc)["params"]
        members[params[field]["__array__"]] = _npy(arr)

    return edit


SCHEMA_CASES += [
    (
        "spinnaker",
        "i_offset NaN",
        _member_edit("i_offset", np.array([0.0, np.nan])),
        ParameterError,
        "lif",
        "i_offset",
    ),
    (
        "spinnaker",
        "i_offset inf",
        _member_edit("i_offset", np.array([np.inf, 0.0])),
        ParameterError,
        "lif",
        "i_offset",
    ),
    (
        "spinnaker",
        "delays negative",
        _member_edit("delays", -np.ones(6, np.int64)),
        RangeError,
        "in->lif:exc",
        "delays",
    ),
    (
        "spinnaker",
        "delays zero",
        _member_edit("delays", np.zeros(6, np.int64)),
        RangeError,
        "in->lif:exc",
        "delays",
    ),
    (
        "spinnaker",
        "pre out of range",
        _member_edit("pre", np.full(6, 9, np.int64)),
        RangeError,
        "in->lif:exc",
        "pre",
    ),
]


def _load_error(blob: bytes, error: type) -> Exception:
    with pytest.raises(error) as info:
        Program.from_bytes(blob, source="t.ncp")
    err = info.value
    assert type(err) is error, f"{type(err).__name__}: {err}"
    assert "\n" not in err.one_line()
    return err


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_tampered_manifest_is_refused(blobs, target, case):
    _, edit, error, parameter = case
    blob = tamper(blobs[target], edit)
    err = _load_error(blob, error)
    assert err.parameter == parameter.format(proj=PROJ[target], w=WEIGHTS[target]), str(err)


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=[f"{c[0]}-{c[1]}" for c in SCHEMA_CASES])
def test_tampered_params_are_refused_by_the_schema(blobs, case):
    target, _, edit, error, node, parameter = case
    err = _load_error(tamper(blobs[target], edit), error)
    assert (err.node, err.parameter) == (node, parameter), str(err)


def test_unknown_target_lists_the_registered_ones(blobs):
    err = _load_error(tamper(blobs["loihi2"], _set(["target"], "nosuchchip")), ModelLoadError)
    assert "nosuchchip" in str(err) and "loihi2" in err.expected and "spinnaker" in err.expected


@pytest.mark.parametrize("target", TARGETS)
def test_not_a_program_file(blobs, target):
    doc, members = _members(blobs[target])
    for blob, parameter in [
        (b"not a zip", "program"),
        (_zip(doc, members, raw_json=b"{not json"), "program"),
        (_zip(doc, members, raw_json=b"\xff\xfe"), "program"),
        (_zip(doc, members, raw_json=b"[" * 100_000 + b"]" * 100_000), "program"),
        (_zip(doc, members, raw_json=b"[1, 2]"), "program.json"),
        (_zip(doc, members, raw_json=b"null"), "program.json"),
        (_zip(doc, {}, raw_json=b"{}"), "format"),
    ]:
        assert _load_error(blob, ModelLoadError).parameter == parameter
    no_manifest = io.BytesIO()
    with zipfile.ZipFile(no_manifest, "w") as zf:
        zf.writestr("arrays/0000.npy", members["arrays/0000.npy"])
    assert _load_error(no_manifest.getvalue(), ModelLoadError).parameter == "program"


def test_uncompressed_size_is_bounded(blobs, monkeypatch):
    monkeypatch.setattr(program_mod, "MAX_PROGRAM_BYTES", 1000)
    err = _load_error(blobs["loihi2"], ModelLoadError)
    assert err.parameter == "program" and "1000" in err.expected
    monkeypatch.setattr(program_mod, "MAX_PROGRAM_BYTES", 2**34)
    monkeypatch.setattr(program_mod, "MAX_MANIFEST_BYTES", 100)
    assert _load_error(blobs["loihi2"], ModelLoadError).parameter == "program.json"
    monkeypatch.setattr(program_mod, "MAX_MANIFEST_BYTES", 2**28)
    monkeypatch.setattr(program_mod, "MAX_ARRAY_ELEMENTS", 3)  # the 2x3 weights exceed it
    err = _load_error(blobs["spinnaker"], ModelLoadError)
    assert err.parameter.startswith("populations.lif.params.") or err.parameter.startswith("projections.")


def test_negative_delay_of_a_loihi2_delay_projection(tmp_path):
    b = Loihi2Builder()
    b.input("x", 2)
    b.lif("h", 2, du=0, dv=0, vth=10)
    b.dense("x", "h", np.ones((2, 2), int), delays=np.ones((2, 2), int))
    blob = b.build(outputs={"y": "h"}).to_bytes()
    assert Program.from_bytes(blob).to_bytes() == blob

    def edit(doc, members):
        members[_proj(doc)["params"]["delays"]["__array__"]] = _npy(-np.ones((2, 2), np.int64))

    err = _load_error(tamper(blob, edit), RangeError)
    assert (err.node, err.parameter) == ("x->h", "delays") and "0 <=" in err.expected


@pytest.mark.parametrize("target", TARGETS)
def test_untampered_round_trip_is_byte_identical_and_runs_identically(blobs, target, tmp_path):
    blob = blobs[target]
    assert tamper(blob, lambda doc, members: None) == blob  # the test's rewriter is faithful
    prog = Program.from_bytes(blob)
    assert prog.to_bytes() == blob
    (tmp_path / "p.ncp").write_bytes(blob)
    again = Program.load(tmp_path / "p.ncp")
    assert again.to_bytes() == blob
    x = np.ones((2, 30, 3))
    x[1, ::2, :] = 0
    a, b = prog.run({"in": x}), again.run({"in": x})
    np.testing.assert_array_equal(a.outputs["out"], b.outputs["out"])
    assert a.outputs["out"].sum() > 0
    for arr in (prog.projections[PROJ[target]].params[WEIGHTS[target]],):
        assert arr.flags.writeable and arr.dtype.isnative


@pytest.mark.parametrize("target", TARGETS)
def test_cli_prints_one_line_for_a_tampered_program(blobs, target, tmp_path, capsys):
    from neurocompile.cli.main import main

    bad = tmp_path / "bad.ncp"
    bad.write_bytes(tamper(blobs[target], _weights_param("abc")))
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert WEIGHTS[target] in err
    bad.write_bytes(tamper(blobs[target], _set(["format_version"], None)))
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "format_version" in err


def test_schema_checks_semantics_of_a_program_in_memory(blobs):
    from neurocompile.target import get_target

    for target in TARGETS:
        prog = Program.from_bytes(blobs[target])
        prog.semantics["hop_delay"] = -1
        with pytest.raises(ParameterError, match="hop_delay"):
            get_target(target).hook("validate")(prog)
    prog = Program.from_bytes(blobs["spinnaker"])
    prog.populations["lif"].params["tau_m"] = float("nan")
    with pytest.raises(ParameterError, match="not finite"):
        get_target("spinnaker").hook("validate")(prog)


def test_big_program_loads(tmp_path):
    """A Program with millions of array entries loads through the vectorised checks (speed: benchmarks)."""
    b = Loihi2Builder()
    b.input("x", 1000)
    b.lif("h", 2000, du=0, dv=0, vth=10)
    rng = np.random.default_rng(0)
    w = rng.integers(-200, 200, (2000, 1000))
    b.dense("x", "h", w, weight_exp=0)
    prog = Program.from_bytes(b.build(outputs={"y": "h"}).to_bytes())
    assert np.array_equal(prog.projections["x->h"].params["weights"], w)
