"""docs/check.md's example messages come from real inputs (issue 12 item 8).

``models/check_examples.py`` runs ``check`` on one small input per code; ``tests/test_doc_figures.py``
requires the page's ``check-*`` blocks to equal what it gives now. Here: every code the page's
tables name has an example (or is listed as produced by no input, and that claim holds), every
example's code is in a table, each example's severity is one the table states for its code, and
the hand-written tables carry no typed example column.
"""

from __future__ import annotations

import re

import pytest

from neurocompile.models import check_examples as CE
from neurocompile.models import docfigures as F

PAGE = F.DOCS / "check.md"
SECTION_HEADINGS = {  # the heading each section's table sits under
    "graph": "# `neurocompile check`: finding codes",
    "loihi2": "## Loihi 2 (",
    "spinnaker": "## SpiNNaker (",
    "learning": "## Learning rules (",
}


def _tables() -> dict[str, dict[str, str]]:
    """{section: {code: the table's severity cell}} from the tables whose first column is `code`."""
    text = PAGE.read_text()
    starts = sorted((text.index(h), s) for s, h in SECTION_HEADINGS.items())
    out: dict[str, dict[str, str]] = {}
    for k, (pos, section) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        chunk = text[pos:end].split("<!-- figures:")[0]  # the hand-written table precedes the block
        rows = {}
        for line in chunk.splitlines():
            if not line.startswith("| `"):
                continue
            cells = re.split(r"(?<!\\) \| ", line.strip()[2:-2])
            for code in re.findall(r"`([a-z0-9-]+)`", cells[0]):
                rows[code] = cells[1]
        out[section] = rows
    return out


def test_tables_have_no_typed_example_column():
    for line in PAGE.read_text().splitlines():
        if line.startswith("| code |") and "input" not in line:
            assert "example" not in line, f"docs/check.md: a table types its examples in: {line}"


def test_every_code_of_the_page_has_an_example_and_no_example_is_unlisted():
    tables = _tables()
    assert set(tables) == set(CE.SECTIONS)
    for section, rows in tables.items():
        assert rows, f"no table found under {SECTION_HEADINGS[section]!r}"
        shown = {e.code for e in CE.SECTIONS[section]}
        dead = {c for c, (s, _) in CE.NOT_PRODUCED.items() if s == section}
        assert not shown & dead
        assert set(rows) == shown | dead, (
            f"{section}: codes in the table without an example: {sorted(set(rows) - shown - dead)}; "
            f"examples whose code the table does not list: {sorted(shown | dead - set(rows))}"
        )


@pytest.mark.parametrize("section", list(CE.SECTIONS))
def test_each_example_gives_its_code_with_a_severity_the_table_states(section):
    rows = _tables()[section]
    for s in CE.shown(section):
        assert s.message is not None, f"{s.example.code} ({s.example.what}) not produced; got {s.others}"
        assert s.severity in rows[s.example.code], (s.example.code, s.severity, rows[s.example.code])


def test_codes_listed_as_not_produced_are_not_produced_by_their_nearest_input():
    """spinnaker-missing-param: a LIF without tau is refused by graph sanity (param-missing) on
    both the check and the compile path, before the target rule could see it."""
    import neurocompile as nc
    from neurocompile.errors import NeurocompileError

    assert set(CE.NOT_PRODUCED) == {"spinnaker-missing-param", "spinnaker-stdp-delay-dropped"}
    no_tau = CE.Example("spinnaker-missing-param", "", CE._graph(CE._drop("lif", "tau"), target="spinnaker"))
    s = CE.show(no_tau)
    assert s.message is None and s.others == ("param-missing",), s
    for drop in (("lif", "v_threshold"),):
        s = CE.show(CE.Example("spinnaker-missing-param", "", CE._graph(CE._drop(*drop), target="spinnaker")))
        assert s.message is None and "param-missing" in s.others, (drop, s)
    cuba = CE._graph(
        lambda g: g["nodes"].update(
            lif={
                "type": "CubaLIF",
                "tau_mem": [1e-2, 1e-2],
                "r": [1.0, 1.0],
                "v_leak": [0.0, 0.0],
                "v_threshold": [1.0, 1.0],
                "v_reset": [0.0, 0.0],
            }
        ),
        target="spinnaker",
    )
    s = CE.show(CE.Example("spinnaker-missing-param", "", cuba))
    assert s.message is None and "param-missing" in s.others, s
    with pytest.raises(NeurocompileError) as exc:
        import os
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            here = os.getcwd()
            os.chdir(d)
            try:
                model, kw = CE._graph(CE._drop("lif", "tau"))(Path(d))
                nc.compile(model, target="spinnaker")
            finally:
                os.chdir(here)
    assert "tau" in str(exc.value) and "required" in str(exc.value)


def test_stdp_delay_dropped_nearest_input_is_refused_and_the_builder_warns():
    """spinnaker-stdp-delay-dropped: a Delay before the learned node is folded into its projection
    and refused (spinnaker-unsupported); a Program built directly with a plastic delay 2 into a post
    population whose largest delay is 2 (2 slots) gets the warning, delay 3 beside it does not."""
    import numpy as np

    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    delayed = CE._insert("d", {"type": "Delay", "delay": np.full(3, 1e-3)}, after="in")
    graph = CE._graph(delayed, target="spinnaker", rules=CE._rule())
    s = CE.show(CE.Example("spinnaker-stdp-delay-dropped", "", graph))
    assert s.message is None and "spinnaker-unsupported" in s.others, s

    def build(delays):
        b = SpiNNakerBuilder()
        b.spike_source("pre", 2)
        b.if_curr_exp("post", 2, ring_buffer_shifts=(5, 3))
        b.stdp(
            "pre",
            "post",
            pre_idx=[0, 1],
            post_idx=[0, 1],
            plasticity=dict(
                timing="spike_pair",
                weight="additive",
                tau_plus=20.0,
                tau_minus=20.0,
                A_plus=0.05,
                A_minus=0.06,
                w_min=0.0,
                w_max=1.5,
            ),
            w16=[100, 100],
            delays=delays,
            name="plastic",
        )
        return b.build({"out": ("post", "spikes")})

    with pytest.warns(UserWarning, match="spinnaker-stdp-delay-dropped: stdp projection 'plastic'.* 1 of 2 "):
        prog = build([1, 2])
    assert prog.quantization["projections"]["plastic"]["stdp_delay_dropped"] == 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prog = build([1, 3])
    assert "stdp_delay_dropped" not in prog.quantization["projections"]["plastic"]
