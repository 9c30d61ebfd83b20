"""Shared fixtures.

The NIR paper data is found through ``NEUROCOMPILE_PAPER_DATA`` (default
``../shared/nir_paper_data`` next to the checkout); tests that need it skip with a clear
reason where it is absent (a user's machine). CI has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def paper_data_dir() -> Path:
    return Path(os.environ.get("NEUROCOMPILE_PAPER_DATA", REPO.parent / "shared" / "nir_paper_data"))


@pytest.fixture(scope="session")
def paper_data() -> Path:
    d = paper_data_dir()
    if not (d / "01_lif" / "lif_norse.nir").is_file():
        pytest.skip(f"NIR paper data not found at {d} (set NEUROCOMPILE_PAPER_DATA to its folder)")
    return d


# ---------------------------------------------------------------- tests that cannot hide (CI=true)
# A test marked with one of these needs a tool that `make venvs` provides in the environment
# where it runs (lava: .venv-lava; spinnaker, binary, dask, frameworks, extras: .venv; arm: Debian's
# GCC/QEMU, installed by `make arm-tools`). Outside CI its skip stays a clean skip with a reason
# (a user without Lava).
# Under CI=true (``.ci/run`` exports it) a skip of such a test is a failure naming the reason,
# a test module carrying such a marker that skips at import (``pytest.importorskip`` at module
# level) is a collection error when this run's ``-m`` selects that marker, and the session fails
# when fewer tests of a marker ran than were collected. Every run prints one line of counts.
STRICT_MARKERS = ("lava", "spinnaker", "arm", "binary", "dask", "frameworks", "extras")
_TALLY = pytest.StashKey[dict]()


def ci_strict() -> bool:
    """True under CI (``CI`` set to true/1/yes/on, as GitHub/GitLab runners and ``.ci/run`` do)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def _strict_marks(item: pytest.Item) -> list[str]:
    names = {m.name for m in item.iter_markers()}
    return [m for m in STRICT_MARKERS if m in names]


def _file_marks(path: Path) -> list[str]:
    """Strict markers a test file names (``pytest.mark.X`` / ``mark.X`` anywhere: pytestmark,
    decorators, ``pytest.param(marks=...)``), read without importing it."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in STRICT_MARKERS:
            base = node.value
            if (isinstance(base, ast.Attribute) and base.attr == "mark") or (
                isinstance(base, ast.Name) and base.id == "mark"
            ):
                found.add(node.attr)
    return [m for m in STRICT_MARKERS if m in found]


def _selects(config: pytest.Config, marks: list[str]) -> bool:
    """Whether this run's ``-m`` expression selects a test carrying ``marks`` (a module that
    skips at import, e.g. on ``importorskip("lava")``, is taken to carry all its markers)."""
    expr = config.getoption("markexpr", "") or ""
    if not expr.strip():
        return True
    try:
        from _pytest.mark.expression import Expression

        return bool(Expression.compile(expr).evaluate(lambda name, **kw: name in marks))
    except Exception:  # an expression pytest itself will reject, or a changed private API
        return True


def _skip_reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr).strip().splitlines()[-1] if longrepr else "no reason given"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TALLY] = {"selected": {}, "ran": {}, "skipped": {}, "modules": []}


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    rep = outcome.get_result()
    if not (rep.skipped and isinstance(collector, pytest.Module)):
        return
    marks = _file_marks(Path(collector.path))
    if not marks or not _selects(collector.config, marks):
        return  # e.g. a lava module in the main run (-m "not lava"): it belongs to the other run
    reason = _skip_reason(rep.longrepr)
    collector.config.stash[_TALLY]["modules"].append((collector.nodeid, marks, reason))
    if ci_strict():
        rep.outcome = "failed"
        rep.longrepr = (
            f"CI=true: {collector.nodeid} ({', '.join(marks)} tests) skipped at import instead of "
            f"running: {reason}"
        )
        # report every such module and still run the rest (the exit status stays a failure)
        collector.config.option.continue_on_collection_errors = True


def pytest_collection_finish(session: pytest.Session) -> None:
    tally = session.config.stash[_TALLY]
    for item in session.items:
        for m in _strict_marks(item):
            tally["selected"][m] = tally["selected"].get(m, 0) + 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    rep = outcome.get_result()
    marks = _strict_marks(item)
    if not marks:
        return
    tally = item.config.stash[_TALLY]
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = _skip_reason(rep.longrepr)
        for m in marks:
            tally["skipped"].setdefault(m, []).append(reason)
        if ci_strict():
            rep.outcome = "failed"
            rep.longrepr = f"CI=true: {'/'.join(marks)}-marked test skipped instead of running: {reason}"
    elif rep.when == "call":  # passed, failed, xfailed or xpassed: the test body ran
        for m in marks:
            tally["ran"][m] = tally["ran"].get(m, 0) + 1


def _count_problems(tally: dict) -> list[str]:
    out = []
    for m in STRICT_MARKERS:
        sel, ran = tally["selected"].get(m, 0), tally["ran"].get(m, 0)
        mods = [(n, r) for n, ms, r in tally["modules"] if m in ms]
        if ran < sel or mods:
            why = sorted(set(tally["skipped"].get(m, [])))
            msg = f"{m}: {ran} of {sel} collected tests ran"
            if mods:
                msg += f", {len(mods)} module(s) skipped at import ({mods[0][0]}: {mods[0][1]})"
            if why:
                msg += (
                    f" (skipped: {why[0]}"
                    + (f" and {len(why) - 1} other reason(s)" if len(why) > 1 else "")
                    + ")"
                )
            out.append(msg)
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    if session.config.option.collectonly:
        return
    if ci_strict() and _count_problems(session.config.stash[_TALLY]):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    tally = config.stash[_TALLY]
    if config.option.collectonly:
        return
    counts = ", ".join(
        f"{m} {tally['ran'].get(m, 0)}/{tally['selected'].get(m, 0)}"
        for m in STRICT_MARKERS
        if tally["selected"].get(m) or any(m in ms for _, ms, _ in tally["modules"])
    )
    problems = _count_problems(tally)
    if problems and ci_strict():
        terminalreporter.write_line(
            "CI=true: tests that did not run: " + "; ".join(problems), red=True, bold=True
        )
    elif counts:
        note = "" if ci_strict() else " (not enforced: CI is not set)"
        terminalreporter.write_line(f"marked tests ran/collected: {counts}{note}")
