"""Issue 17: nothing a user passes breaks the CLI (the corpus is ``tests/bad_inputs.py``).

Every refuse case must end with exit 1 or 2, one line on stderr, no traceback, no hang and no
file changed except its declared outputs; every must-work case must exit 0.
``python tests/bad_inputs.py --table`` prints the same corpus as a table by class.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bad_inputs as bi  # noqa: E402

MIN_RUNS = 300


@pytest.fixture(scope="session")
def corpus_base() -> Path:
    """The valid artefacts every case is built from (compiled once per session)."""
    return bi.base_dir()


def _explain(r: bi.Result) -> str:
    c = r.case
    return (
        f"{c.id}: outcome {r.outcome} (expected ok), exit {r.rc}\n"
        f"  argv: neurocompile {' '.join(c.argv)}\n"
        f"  declared outputs: {list(c.outputs)}\n"
        f"  detail: {r.detail[-1500:]}\n"
        f"  stderr: {r.stderr[-1500:]!r}"
    )


@pytest.mark.parametrize("case", bi.CASES, ids=[c.id for c in bi.CASES])
def test_refused_cleanly(case: bi.Case, corpus_base: Path) -> None:
    r = bi.run_case(case)
    assert r.outcome == "ok", _explain(r)
    if case.expect == "refuse":
        assert r.rc in (1, 2), _explain(r)


@pytest.mark.parametrize("case", bi.MUST_WORK, ids=[c.id for c in bi.MUST_WORK])
def test_must_work(case: bi.Case, corpus_base: Path) -> None:
    r = bi.run_case(case)
    assert r.rc == 0 and r.outcome == "ok", _explain(r)


def test_corpus_size() -> None:
    per = bi.runs_per_class()
    print("\nbad-input runs per class:")
    for k in sorted(per):
        print(f"  {k:14} {per[k]:4}  {bi.CLASSES[k]}")
    print(f"  {'total':14} {sum(per.values()):4}; must-work {len(bi.MUST_WORK)}")
    assert sum(per.values()) >= MIN_RUNS
    assert set(per) == set(bi.CLASSES), "every class has cases"
    commands = {c.argv[0] for c in bi.CASES}
    assert {"check", "simulate", "compile", "run", "report", "validate", "emit"} <= commands
    assert all(c.expect in ("refuse", "survive") for c in bi.CASES)
    assert all(c.expect == "work" for c in bi.MUST_WORK)
    assert len({c.id for c in bi.CASES + bi.MUST_WORK}) == len(bi.CASES) + len(bi.MUST_WORK)


def test_classifier() -> None:
    """The outcome rules themselves (so a lenient classifier cannot pass a broken CLI)."""
    refuse = bi.Case("x", "y", "run", ["run"])
    check = bi.Case("x", "y", "check", ["check"])
    work = bi.Case("x", "y", "run", ["run"], expect="work")
    c = bi.classify
    assert c(refuse, 2, "", "error: bad\n", "", False, [])[0] == "ok"
    assert c(refuse, 1, "", "error: bad\n", "", False, [])[0] == "ok"
    assert c(refuse, 0, "fine\n", "", "", False, [])[0] == "success"
    assert c(refuse, 2, "", "", "", False, [])[0] == "no-message"
    assert c(refuse, 2, "", "a\nb\n", "", False, [])[0] == "multi-line"
    assert c(refuse, 2, "", "warning: x\nerror: y\n", "", False, [])[0] == "multi-line"
    assert c(refuse, None, "", "", "Traceback ...", False, [])[0] == "traceback"
    assert c(refuse, 1, "", "Traceback (most recent call last):\n", "", False, [])[0] == "traceback"
    assert c(refuse, 3, "", "x\n", "", False, [])[0] == "traceback"
    assert c(refuse, -9, "", "", "killed by signal 9", False, [])[0] == "traceback"
    assert c(refuse, None, "", "", "", True, [])[0] == "hang"
    assert c(refuse, 2, "", "error\n", "", False, ["in.npz (changed)"])[0] == "input-damaged"
    assert c(check, 1, "table\n", "", "", False, [])[0] == "ok"
    assert c(check, 1, "", "", "", False, [])[0] == "no-message"
    assert c(work, 0, "", "", "", False, [])[0] == "ok"
    assert c(work, 2, "", "e\n", "", False, [])[0] == "refused"


def test_snapshot_sees_every_change(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"12345")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"x")
    import os

    os.mkfifo(tmp_path / "p")
    before = bi.snapshot(tmp_path)  # must not open (block on) the FIFO
    (tmp_path / "a.bin").write_bytes(b"12346")  # same size, other bytes
    (tmp_path / "sub" / "b.bin").unlink()
    (tmp_path / ".a.bin.tmp").write_bytes(b"")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").write_bytes(b"")
    changed = bi.changed_files(before, bi.snapshot(tmp_path), ("out",))
    assert changed == [".a.bin.tmp (created)", "a.bin (changed)", "sub/b.bin (removed)"]
