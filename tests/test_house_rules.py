"""House rules of the tree: docstrings and comments cite only files that are in the repository,
and the tree carries no commented-out code (ruff, in ``make lint``, checks the rest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("neurocompile", "targets", "cli", "models", "tests", "benchmarks")
#: a path into the tree: a top-level folder of the repository, then a file with an extension
CITATION = re.compile(
    r"(?<![\w/.-])((?:neurocompile|targets|cli|models|tests|benchmarks|docs)/[\w./-]*\.(?:py|md|toml|nir|npz|json|onnx))"
)
#: the installed package prefix of targets/cli/models (``neurocompile/targets/...`` is not a file path)
INSTALLED = re.compile(r"neurocompile/(targets|cli|models)/")
SOURCES = sorted(p for f in FOLDERS for p in (ROOT / f).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_files_exist(path):
    text = path.read_text()
    missing = []
    for m in CITATION.finditer(text):
        cited = INSTALLED.sub(r"\1/", m.group(1)).rstrip(".")
        if "*" in cited or "<" in cited:
            continue
        if not (ROOT / cited).exists():
            missing.append(cited)
    assert not missing, (
        f"{path.relative_to(ROOT)} cites files that are not in the repository: {sorted(set(missing))}"
    )


def test_no_absolute_work_paths():
    """No source cites a file of the machine it was written on (``/work/...``, ``/tmp/...``)."""
    bad = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if p.name != "test_house_rules.py" and re.search(r"['\"`\s(]/(work|tmp|root)/", p.read_text())
    ]
    assert not bad, f"sources citing machine paths: {bad}"


def test_the_rule_sees_citations():
    """The pattern finds the citations it is meant to check (it cannot pass vacuously)."""
    assert CITATION.findall("see ``docs/targets/adding-a-target.md`` and targets/loihi2/spec.py.") == [
        "docs/targets/adding-a-target.md",
        "targets/loihi2/spec.py",
    ]
    assert sum(len(CITATION.findall(p.read_text())) for p in SOURCES) > 50
