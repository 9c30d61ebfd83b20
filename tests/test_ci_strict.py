"""The CI strictness of ``tests/conftest.py``: under CI=true a test marked lava/spinnaker/arm/binary
cannot hide behind a skip, a module carrying such a marker cannot hide behind an import-time skip
when the run's ``-m`` selects it, and fewer tests run than collected fails the session. Outside CI
the same skips stay clean skips with their reason.

Each case runs pytest in a subprocess on a tiny test file beside a copy of the real conftest (so
the hooks under test are the ones the suite uses), with its own ``pytest.ini`` registering the
markers and no access to this repository's configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

INI = """[pytest]
markers =
    lava: l
    spinnaker: s
    arm: a
    binary: b
addopts = -ra -p no:cacheprovider
"""

TESTS = {
    "test_mixed.py": """
import pytest

@pytest.mark.lava
def test_lava_needs_a_missing_module():
    pytest.importorskip("no_such_module_for_ci_strict")

@pytest.mark.arm
def test_arm_runs():
    pass

@pytest.mark.spinnaker
@pytest.mark.skipif(True, reason="tool X is not installed")
def test_spinnaker_skipped_at_setup():
    pass

def test_unmarked_skip():
    pytest.skip("an unmarked reason")
""",
    "test_lava_module.py": """
import pytest

pytest.importorskip("no_such_module_for_ci_strict")
pytestmark = pytest.mark.lava

def test_never_collected():
    pass
""",
}


def _run(tmp_path: Path, args: list[str], ci: bool, files: dict[str, str] = TESTS):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text(INI)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return p.returncode, p.stdout + p.stderr


def test_outside_ci_skips_stay_clean_skips(tmp_path):
    rc, out = _run(tmp_path, ["-m", "lava"], ci=False)
    assert rc == 0, out
    assert "no_such_module_for_ci_strict" in out  # the reason is shown
    assert "CI=true" not in out
    assert "lava 0/1 (not enforced: CI is not set)" in out


def test_ci_lava_run_fails_on_test_and_module_skips(tmp_path):
    rc, out = _run(tmp_path, ["-m", "lava"], ci=True)
    assert rc == 1, out
    assert "FAILED test_mixed.py::test_lava_needs_a_missing_module - CI=true: lava-marked test skipped" in out
    assert "ERROR test_lava_module.py - CI=true: test_lava_module.py (lava tests) skipped at import" in out
    last = [ln for ln in out.splitlines() if ln.startswith("CI=true: tests that did not run")]
    assert len(last) == 1, out
    assert "lava: 0 of 1 collected tests ran, 1 module(s) skipped at import" in last[0]


def test_ci_main_run_fails_on_setup_skip_but_not_on_other_runs_modules(tmp_path):
    rc, out = _run(tmp_path, ["-m", "not lava"], ci=True)
    assert rc == 1, out
    # the skipif of a spinnaker test is an error naming its reason
    assert "CI=true: spinnaker-marked test skipped instead of running: tool X is not installed" in out
    # the lava module skipped at import belongs to the Lava run: a plain skip here
    assert "test_lava_module.py" not in out.split("short test summary info")[0]
    assert "ERROR test_lava_module.py" not in out
    # unmarked skips are untouched
    assert "SKIPPED [1] test_mixed.py" in out and "an unmarked reason" in out
    assert "spinnaker: 0 of 1 collected tests ran" in out


def test_ci_all_marked_tests_ran(tmp_path):
    files = {"test_ok.py": "import pytest\n\n@pytest.mark.arm\ndef test_a():\n    pass\n"}
    rc, out = _run(tmp_path, [], ci=True, files=files)
    assert rc == 0, out
    assert "marked tests ran/collected: arm 1/1" in out


def test_ci_fewer_ran_than_collected_fails_without_any_skip(tmp_path):
    """The count is its own check: with -x the second arm test never runs (no skip involved)."""
    files = {
        "test_stop.py": (
            "import pytest\n\n@pytest.mark.arm\ndef test_a():\n    assert False\n\n"
            "@pytest.mark.arm\ndef test_b():\n    pass\n"
        )
    }
    rc, out = _run(tmp_path, ["-x"], ci=True, files=files)
    assert rc == 1, out
    assert "CI=true: tests that did not run: arm: 1 of 2 collected tests ran" in out
    rc, out = _run(tmp_path, ["-x"], ci=False, files=files)
    assert "arm 1/2 (not enforced: CI is not set)" in out


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_ci_values(value, monkeypatch):
    sys.path.insert(0, str(HERE))
    from conftest import ci_strict

    monkeypatch.setenv("CI", value)
    assert ci_strict()
    monkeypatch.setenv("CI", "false")
    assert not ci_strict()
    monkeypatch.delenv("CI")
    assert not ci_strict()


def test_ci_collect_only_is_not_a_run(tmp_path):
    files = {"test_ok.py": "import pytest\n\n@pytest.mark.lava\ndef test_a():\n    pass\n"}
    rc, out = _run(tmp_path, ["--collect-only"], ci=True, files=files)
    assert rc == 0, out
    assert "did not run" not in out
