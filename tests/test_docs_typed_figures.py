"""No page of docs/ (or README.md) types in a speed figure or a command transcript (issue 12 item 8).

Speed depends on the machine: pages name the ``make bench`` row that measures it instead of quoting
one run. Command outputs shown as a ``$ neurocompile ...`` transcript must come from a generated
block (``<!-- figures:NAME -->``, ``models/docfigures.py``; ``<!-- walkthrough:NAME -->``,
``models/walkthrough.py``), whose own tests keep them current. ``docs/reference/`` holds facts
quoted from vendors' notes and is not scanned.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md"] + sorted(p for p in (REPO / "docs").rglob("*.md") if "reference" not in p.parts)
BLOCK = re.compile(r"<!-- (figures|walkthrough):[\w-]+ -->.*?<!-- /(figures|walkthrough) -->", re.S)
SPEED = re.compile(
    r"\d[\d,.]*\s*(k\s*)?(steps/s|steps per second|samples/s|ns per|x Lava|x faster|x slower)\b", re.I
)


def _typed(page: Path) -> list[tuple[int, str]]:
    """(line, text) of what the page types outside its generated blocks (line numbers of the page
    with the blocks emptied)."""
    return list(enumerate(BLOCK.sub("", page.read_text()).splitlines(), 1))


def test_the_scan_sees_what_it_must_refuse():
    """The patterns catch the figures issue 12 found typed in docs/learning.md."""
    for stale in ("That is 152x Lava in the same run", "~3100 -> ~2300 steps/s marginal", "6.8 steps/s"):
        assert SPEED.search(stale), stale
    assert not SPEED.search("the bin is 1 ms per step"), "a bin width is not a speed"
    sample = "x <!-- figures:a -->\n$ neurocompile run\n<!-- /figures -->\ny"
    assert "$ neurocompile" not in BLOCK.sub("", sample)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_typed_speed_figure_or_command_transcript(page):
    bad = [
        f"{page.relative_to(REPO)}:{i}: {text.strip()[:120]}"
        for i, text in _typed(page)
        if SPEED.search(text) or text.lstrip().startswith("$ neurocompile")
    ]
    assert not bad, "typed outside a generated block (name the make bench row / generate it):\n" + "\n".join(
        bad
    )
