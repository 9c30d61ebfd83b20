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
