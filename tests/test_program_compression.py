"""The ``.ncp`` members do not depend on the deflate level (issue 14 item 2: a Program above
``program.FAST_COMPRESS_ABOVE`` bytes is deflated at ``FAST_COMPRESS_LEVEL`` = 2 instead of zlib's
default 6, for speed at chip scale; a smaller one is written as before).

The reference here is written independently of ``Program.to_bytes``'s zip code: ``program.json``
as ``json.dumps(to_json_dict(...), sort_keys=True, indent=1)`` and each array as ``numpy.save``
bytes, deflated at zlib's default level (what every Program file was before). A small Program's
file must be exactly that; a big one's (the threshold set to 0 here) must hold exactly those
member names and bytes, and the level-6 file must load and save to the fast file's bytes (old
files stay readable and re-save the same).
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import neurocompile as nc
from neurocompile import program as program_mod
from neurocompile.program import Program

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "cnn": ROOT / "models" / "digits_cnn_sinabs" / "model.nir",
    "rnn": ROOT / "models" / "digits_rnn_norse" / "model.nir",
}


def reference_members(prog: Program) -> dict[str, bytes]:
    arrays: list[np.ndarray] = []
    doc = prog.to_json_dict(arrays)
    out = {"program.json": json.dumps(doc, sort_keys=True, indent=1).encode()}
    for i, arr in enumerate(arrays):
        b = io.BytesIO()
        np.save(b, np.ascontiguousarray(arr), allow_pickle=False)
        out[f"arrays/{i:04d}.npy"] = b.getvalue()
    return out


def level6_file(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, payload in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, payload)  # zlib's default level (6)
    return buf.getvalue()


@pytest.fixture(scope="module", params=[(m, t) for m in MODELS for t in ("loihi2", "spinnaker")])
def compiled(request):
    model, target = request.param
    return nc.compile(nc.load(MODELS[model]), target, dt=1e-3, reset="zero")


def test_a_small_program_is_written_as_before(compiled):
    assert compiled.to_bytes() == level6_file(reference_members(compiled))


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(program_mod, "FAST_COMPRESS_ABOVE", 0)


def test_members_equal_the_reference_bytes(compiled, fast):
    ref = reference_members(compiled)
    data = compiled.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == list(ref)
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert zf.read(info) == ref[info.filename], info.filename
    assert len(ref) > 1  # the Program holds arrays


def test_a_level6_file_loads_and_saves_the_same(compiled, fast):
    ref = reference_members(compiled)
    old = level6_file(ref)
    new = compiled.to_bytes()
    assert old != new  # the level does change the deflate stream ...
    again = Program.from_bytes(old).to_bytes()
    assert again == new  # ... and nothing else


def test_members_are_deflated_at_the_named_level(compiled, fast):
    """The stored deflate stream is zlib's at FAST_COMPRESS_LEVEL (raw deflate, as zipfile writes it)."""
    with zipfile.ZipFile(io.BytesIO(compiled.to_bytes())) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
        payload = zf.read(info)
    co = zlib.compressobj(program_mod.FAST_COMPRESS_LEVEL, zlib.DEFLATED, -15)
    expected = co.compress(payload) + co.flush()
    assert info.compress_size == len(expected)


def test_threaded_batches_give_zipfiles_bytes(compiled, monkeypatch):
    """Members deflated in several threads, one batch per member, are written byte for byte as
    zipfile writes them at FAST_COMPRESS_LEVEL (reference: zipfile, written here serially)."""
    monkeypatch.setattr(program_mod, "FAST_COMPRESS_ABOVE", 0)
    monkeypatch.setattr(program_mod, "COMPRESS_THREADS", 3)
    monkeypatch.setattr(program_mod, "COMPRESS_BATCH", 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, payload in reference_members(compiled).items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, payload, compresslevel=program_mod.FAST_COMPRESS_LEVEL)
    assert compiled.to_bytes() == buf.getvalue()


def test_more_than_65535_members_and_odd_arrays_as_zipfile_writes_them():
    """A Program of 70,000 arrays (zipfile then writes ZIP64 end records) and arrays of other
    layouts (empty, 0-d, Fortran order, bool, big-endian) is written as zipfile writes it."""
    from neurocompile.program import Population

    odd = [
        np.zeros(0),
        np.array(5),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.array([True, False]),
        np.arange(6, dtype=">i4").reshape(2, 3),
    ]
    arrays = odd + [np.arange(i % 5, dtype=np.int64) for i in range(70_000)]
    prog = Program(target="loihi2", populations={"p": Population("p", "input", (1,), {"a": arrays})})
    data = prog.to_bytes()
    assert data == level6_file(reference_members(prog))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert len(zf.infolist()) == 70_006
