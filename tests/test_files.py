"""Nothing a user passes breaks it: input files checked before opening, outputs written atomically
and never over an input (neurocompile/files.py, data.load_npz, the learning TOML, every command)."""

from __future__ import annotations

import errno
import io
import os
import stat
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neurocompile import files
from neurocompile.cli.main import main
from neurocompile.data import RunResult, load_npz
from neurocompile.errors import InputDataError, ModelLoadError, NeurocompileError, ParameterError
from neurocompile.files import OutputError

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "default" / "default.nir"
INPUT = ROOT / "models" / "default" / "input.npz"
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def _cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]


def _fifo(tmp_path: Path, name: str = "pipe.npz") -> Path:
    p = tmp_path / name
    os.mkfifo(p)
    return p


def _npy_bytes(arr: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array(b, arr, allow_pickle=False)
    return b.getvalue()


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prog") / "default.ncp"
    assert main(["compile", str(MODEL), "--target", "loihi2", "-o", str(out)]) == 0
    return out


# ------------------------------------------------------------------------- input_path
def test_input_path_accepts_a_regular_file():
    assert files.input_path(INPUT, what="--input") == INPUT


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "dangling-link", "under-a-file"])
def test_input_path_refuses(tmp_path, case):
    p = {
        "missing": tmp_path / "nope.npz",
        "directory": tmp_path,
        "empty": tmp_path / "empty.npz",
        "dangling-link": tmp_path / "link.npz",
        "under-a-file": tmp_path / "file" / "x.npz",
    }[case]
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "file").write_text("x")
    os.symlink(tmp_path / "gone", tmp_path / "link.npz")
    with pytest.raises(InputDataError) as ei:
        files.input_path(p, what="--input")
    assert ei.value.parameter == "--input"


def test_input_path_refuses_a_fifo_at_once(tmp_path):
    p = _fifo(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(InputDataError, match="FIFO"):
        files.input_path(p, what="--input")
    with pytest.raises(InputDataError, match="FIFO"):
        load_npz(p)
    assert time.monotonic() - t0 < 2


def test_input_path_refuses_a_character_device():
    with pytest.raises(ModelLoadError, match="character device"):
        files.input_path("/dev/null", what="MODEL", error=ModelLoadError)


@pytest.mark.skipif(ROOT_USER, reason="root reads everything")
def test_input_path_refuses_an_unreadable_file(tmp_path):
    p = tmp_path / "secret.npz"
    p.write_bytes(b"x")
    p.chmod(0)
    with pytest.raises(InputDataError, match="permission"):
        files.input_path(p, what="--input")


# ------------------------------------------------------------------------ output_path
def test_output_path_refuses_an_input(tmp_path):
    inp = tmp_path / "in.npz"
    inp.write_bytes(b"data")
    with pytest.raises(OutputError, match="--input") as ei:
        files.output_path(inp, what="--output", inputs={"--input": inp})
    assert ei.value.parameter == "--output"
    link = tmp_path / "link.npz"
    os.symlink(inp, link)
    hard = tmp_path / "hard.npz"
    os.link(inp, hard)
    for p in (link, hard, tmp_path / "." / "in.npz"):
        with pytest.raises(OutputError):
            files.output_path(p, what="--output", inputs={"--input": inp, "MODEL": None})
    assert files.output_path(tmp_path / "out.npz", what="-o", inputs={"--input": inp}) == tmp_path / "out.npz"


def test_output_path_refuses_bad_places(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="directory"):
        files.output_path(tmp_path, what="--output")
    with pytest.raises(OutputError, match="not a directory"):
        files.output_path(tmp_path / "file" / "out.npz", what="--output")
    with pytest.raises(OutputError, match="not a directory"):
        files.output_path(tmp_path / "file" / "a" / "b" / "out.npz", what="--output")
    with pytest.raises(OutputError, match="not a directory"):
        files.output_path(tmp_path / "file", what="--output", kind="directory")
    with pytest.raises(OutputError, match="character device"):
        files.output_path("/dev/null", what="--output")
    # missing parents are fine (created when written), an existing output file too
    assert files.output_path(tmp_path / "a" / "b" / "out.npz", what="--output")
    assert files.output_path(tmp_path / "file", what="--output")


def test_output_directory_refuses_inputs_it_would_replace(tmp_path):
    inp = tmp_path / "inputs.npz"
    inp.write_bytes(b"x")
    with pytest.raises(OutputError, match="--input"):
        files.output_path(tmp_path, what="--output", kind="directory", inputs={"--input": inp})
    with pytest.raises(OutputError, match="--input"):
        files.output_path(
            tmp_path, what="--out", kind="directory", inputs={"--input": inp}, members=["inputs.npz"]
        )
    assert files.output_path(
        tmp_path, what="--out", kind="directory", inputs={"--input": inp}, members=["results.json"]
    )
    assert files.output_path(tmp_path / "bundle", what="-o", kind="directory", inputs={"--input": inp})


# ------------------------------------------------------------------------ atomic writes
def test_atomic_write_replaces_only_when_complete(tmp_path):
    out = tmp_path / "sub" / "out.bin"
    files.atomic_write(out, b"first")
    assert out.read_bytes() == b"first"

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise ParameterError("boom", parameter="x")

    with pytest.raises(ParameterError):
        files.atomic_write(out, broken)
    assert out.read_bytes() == b"first"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.bin"]  # no temp file left


def test_atomic_write_full_device_is_one_typed_error(tmp_path):
    out = tmp_path / "out.npz"

    def full(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="no space left") as ei:
        files.atomic_write(out, full, what="--output")
    assert ei.value.parameter == "--output"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(ROOT_USER, reason="root writes in read-only folders")
def test_atomic_write_into_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="permission"):
            files.output_path(ro / "out.npz", what="--output")
        with pytest.raises(OutputError, match="permission denied"):
            files.atomic_write(ro / "out.npz", b"x")
    finally:
        ro.chmod(0o755)
    assert list(ro.iterdir()) == []


def test_atomic_directory(tmp_path):
    out = tmp_path / "bundle"
    with files.atomic_directory(out) as d:
        (d / "a.txt").write_text("1")
        (d / "sub").mkdir()
        (d / "sub" / "b.txt").write_text("2")
    (out / "keep.txt").write_text("mine")
    assert (out / "a.txt").read_text() == "1" and (out / "sub" / "b.txt").read_text() == "2"
    with pytest.raises(RuntimeError):
        with files.atomic_directory(out) as d:
            (d / "a.txt").write_text("changed")
            raise RuntimeError("fail")
    assert (out / "a.txt").read_text() == "1"
    with files.atomic_directory(out) as d:
        (d / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new" and (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_run_result_save_writes_exactly_the_path(tmp_path):
    res = RunResult(outputs={"out": np.ones((1, 2, 3))})
    res.save(tmp_path / "result")  # no .npz appended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]
    assert load_npz(tmp_path / "result")["out"].shape == (1, 2, 3)


# ----------------------------------------------------------------------------- load_npz
def test_load_npz_rejects_bad_archives(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, x=np.ones((2, 3, 4)))
    raw = good.read_bytes()
    cases = {
        "truncated.npz": raw[: len(raw) // 2],
        "text.npz": b"hello, this is text\n",
        "plain.npy": _npy_bytes(np.ones(3)),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputDataError, match="--input"):
            load_npz(tmp_path / name)
    # a flipped data byte: bad CRC
    i = raw.index(b"\x93NUMPY") + 200
    bad = raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1 :]
    (tmp_path / "crc.npz").write_bytes(bad)
    with pytest.raises(InputDataError, match="'x'"):
        load_npz(tmp_path / "crc.npz")
    # a broken deflate stream
    comp = tmp_path / "comp.npz"
    np.savez_compressed(comp, x=np.arange(1000.0))
    craw = bytearray(comp.read_bytes())
    j = craw.index(b"x.npy") + len(b"x.npy") + 10
    craw[j : j + 20] = b"\xff" * 20
    comp.write_bytes(bytes(craw))
    with pytest.raises(InputDataError):
        load_npz(comp)


@pytest.mark.parametrize(
    "arr, word",
    [
        (np.array([1 + 2j, 3j]), "complex128"),
        (np.array(["a", "b"]), "<U1"),
        (np.zeros(2, dtype=[("a", "f8")]), "dtype"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64"),
    ],
)
def test_load_npz_rejects_dtypes(tmp_path, arr, word):
    p = _zip(tmp_path / "d.npz", {"x.npy": _npy_bytes(arr)})
    with pytest.raises(InputDataError, match="'x'") as ei:
        load_npz(p)
    assert word in str(ei.value) and ei.value.node == "x"


def test_load_npz_rejects_object_arrays(tmp_path):
    b = io.BytesIO()
    np.lib.format.write_array(b, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    p = _zip(tmp_path / "o.npz", {"x.npy": b.getvalue()})
    with pytest.raises(InputDataError, match="object"):
        load_npz(p)


def test_load_npz_checks_the_declared_size_before_allocating(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    p = _zip(tmp_path / "huge.npz", {"x.npy": header.getvalue() + b"\0" * 64})
    with pytest.raises(InputDataError, match="limit of") as ei:
        load_npz(p)
    assert "268435456" in str(ei.value)
    small = tmp_path / "small.npz"
    np.savez(small, x=np.ones(100))
    with pytest.raises(InputDataError, match="limit of 10 elements"):
        load_npz(small, max_elements=10)


def test_load_npz_rejects_duplicate_and_odd_keys(tmp_path):
    with pytest.warns(UserWarning):  # zipfile warns about the duplicate name
        p = _zip(tmp_path / "dup.npz", {"x.npy": _npy_bytes(np.ones(2))})
        with zipfile.ZipFile(p, "a") as zf:
            zf.writestr("x.npy", _npy_bytes(np.zeros(2)))
    with pytest.raises(InputDataError, match="twice"):
        load_npz(p)
    q = _zip(tmp_path / "odd.npz", {"x.npy": _npy_bytes(np.ones(2)), "notes.txt": b"hi"})
    with pytest.raises(InputDataError, match="notes.txt"):
        load_npz(q)
    r = _zip(tmp_path / "empty-key.npz", {".npy": _npy_bytes(np.ones(2))})
    with pytest.raises(InputDataError):
        load_npz(r)


def test_load_npz_accepts_small_dtypes(tmp_path):
    p = tmp_path / "ok.npz"
    np.savez(p, h=np.ones(3, np.float16), i=np.arange(3, dtype=np.int8), b=np.array([True, False]))
    d = load_npz(p)
    assert d["h"].dtype == np.float32 and d["i"].dtype == np.int8 and d["b"].dtype == np.bool_


# ----------------------------------------------------------------------- learning TOML
@pytest.mark.parametrize(
    "text, needle",
    [
        ("garbage [[[\n", "line 1"),
        ('[[rule]]\nprojection = 3\nkind = "stdp_pair"\n', "'projection'"),
        (
            '[[rule]]\nprojection = "fc1"\nkind = "stdp_pair"\nA_plus = "x"\nA_minus = 1\n'
            "tau_plus = 1\ntau_minus = 1\n",
            "'A_plus'",
        ),
        (
            '[[rule]]\nprojection = "fc1"\nkind = "stdp_pair"\nA_plus = 1\nA_minus = 1\n'
            "tau_plus = 1\ntau_minus = 1\nbogus = 2\n",
            "'bogus'",
        ),
        ('[[rule]]\nprojection = "fc1"\nkind = "custom"\ndw = 3\n', "'dw'"),
        ("surprise = 1\n", "'surprise'"),
    ],
)
def test_learning_toml_errors_name_the_key(tmp_path, text, needle):
    from neurocompile.learning.toml import load_rules

    p = tmp_path / "rules.toml"
    p.write_text(text)
    with pytest.raises(NeurocompileError) as ei:
        load_rules(p)
    assert needle in str(ei.value)


def test_learning_toml_special_files(tmp_path):
    from neurocompile.learning.toml import load_rules

    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe[[rule]]\n")
    with pytest.raises(ModelLoadError, match="UTF-8"):
        load_rules(tmp_path / "bin.toml")
    with pytest.raises(ModelLoadError, match="FIFO"):
        load_rules(_fifo(tmp_path, "pipe.toml"))
    (tmp_path / "empty.toml").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        load_rules(tmp_path / "empty.toml")


# ---------------------------------------------------------------------------- the CLI
def test_cli_refuses_output_over_an_input(tmp_path, capsys, program):
    model = tmp_path / "model.nir"
    model.write_bytes(MODEL.read_bytes())
    inp = tmp_path / "in.npz"
    inp.write_bytes(INPUT.read_bytes())
    prog = tmp_path / "prog.ncp"
    prog.write_bytes(program.read_bytes())
    before = {p: p.read_bytes() for p in (model, inp, prog)}
    cases = [
        (["compile", model, "-t", "loihi2", "-o", model], "MODEL"),
        (["compile", model, "-t", "loihi2", "-o", inp, "--calibration", inp], "--calibration"),
        (["simulate", model, "-i", inp, "-o", inp, "--dt", "1e-4"], "--input"),
        (["simulate", model, "-i", inp, "-o", model, "--dt", "1e-4"], "MODEL"),
        (["run", prog, "-i", inp, "-o", prog], "PROG"),
        (["run", prog, "-i", inp, "-o", inp], "--input"),
        (["emit", prog, "-o", tmp_path, "-i", inp], "PROG"),
    ]
    for args, name in cases:
        rc, _, err = _cli(capsys, *args)
        _one_line_error(rc, err, "output error", "--output", name)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz", "model.nir", "prog.ncp"]


def test_cli_refuses_special_input_files_without_blocking(tmp_path, capsys, program):
    fifo = _fifo(tmp_path, "pipe")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    t0 = time.monotonic()
    cases = [
        (["check", fifo], "MODEL"),
        (["compile", fifo, "-t", "loihi2", "-o", tmp_path / "o.ncp"], "MODEL"),
        (
            ["compile", MODEL, "-t", "loihi2", "-o", tmp_path / "o.ncp", "--calibration", fifo],
            "--calibration",
        ),
        (["compile", MODEL, "-t", "loihi2", "-o", tmp_path / "o.ncp", "--learning", fifo], "--learning"),
        (["simulate", MODEL, "-i", fifo, "-o", tmp_path / "o.npz", "--dt", "1e-4"], "--input"),
        (["simulate", tmp_path, "-i", INPUT, "-o", tmp_path / "o.npz", "--dt", "1e-4"], "MODEL"),
        (["run", fifo, "-i", INPUT, "-o", tmp_path / "o.npz"], "PROG"),
        (["run", program, "-i", empty, "-o", tmp_path / "o.npz"], "--input"),
        (["report", fifo], "PROG"),
        (["report", program, "-i", fifo], "--input"),
        (["validate", MODEL, program, "-i", fifo], "--input"),
        (["emit", program, "-o", tmp_path / "b", "-i", fifo], "--input"),
    ]
    for args, name in cases:
        rc, _, err = _cli(capsys, *args)
        _one_line_error(rc, err, name)
    assert time.monotonic() - t0 < 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.npz", "pipe"]
    rc, out, _ = _cli(capsys, "check", fifo, "--json")
    assert rc == 2 and '"readable": false' in out


def test_cli_bad_output_places(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path, tmp_path / "file" / "o.ncp", "/dev/null"):
        rc, _, err = _cli(capsys, "compile", MODEL, "-t", "loihi2", "-o", out)
        _one_line_error(rc, err, "output error", "--output")


def test_cli_failed_write_leaves_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res.npz"
    out.write_bytes(b"previous output")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    rc, _, err = _cli(capsys, "simulate", MODEL, "-i", INPUT, "-o", out, "--dt", "1e-4")
    _one_line_error(rc, err, "output error", "--output", "no space left")
    assert out.read_bytes() == b"previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.npz"]


def test_cli_overwrites_its_own_previous_output(tmp_path, capsys):
    out = tmp_path / "p.ncp"
    for _ in range(2):
        rc, _, err = _cli(capsys, "compile", MODEL, "-t", "loihi2", "-o", out)
        assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.ncp"]


def test_cli_float16_input_runs(tmp_path, capsys, program):
    raw = load_npz(INPUT)
    half = tmp_path / "half.npz"
    np.savez(half, **{k: v.astype(np.float16) for k, v in raw.items()})
    rc, _, err = _cli(capsys, "simulate", MODEL, "-i", half, "-o", tmp_path / "o.npz", "--dt", "1e-4")
    assert rc == 0, err
    rc, _, err = _cli(capsys, "run", program, "-i", half, "-o", tmp_path / "r.npz")
    assert rc == 0, err


def test_complex_inputs_are_refused_not_truncated():
    """numpy would drop the imaginary part with only a warning; inputs must be real."""
    import warnings

    from neurocompile.data import check_inputs
    from neurocompile.errors import InputDataError

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputDataError, match="complex128"):
            check_inputs({"x": np.ones((1, 2, 3), complex)}, {"x": (3,)})
