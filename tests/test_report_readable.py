"""Readable reports (issue 15 item 5): one synapse and population count across compile, report,
inspect and emit; text tables that fit the terminal, names in natural order; synapse memory
utilisation against the limit the placer names; findings grouped by code; ``schema_version`` and
the same ``counts`` block in every command's JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from neurocompile.check import group_findings
from neurocompile.cli.main import main
from neurocompile.findings import Finding
from neurocompile.program import Program, counts
from neurocompile.summary import SCHEMA_VERSION, natural_key

CNN = Path(__file__).resolve().parents[1] / "models" / "digits_cnn_sinabs" / "model.nir"
TARGETS = ("loihi2", "spinnaker")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("cnn")
    out = {}
    for t in TARGETS:
        p = d / f"cnn_{t}.ncp"
        assert main(["compile", str(CNN), "--target", t, "-o", str(p)]) == 0
        out[t] = p
    return out


def _run(capsys, *argv, env_cols=None, monkeypatch=None):
    if env_cols is not None:
        monkeypatch.setenv("COLUMNS", str(env_cols))
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_natural_key_orders_numbers_as_numbers():
    names = ["pop10", "pop2", "pop1", "input->1", "10->12", "4->8"]
    assert sorted(names, key=natural_key) == ["4->8", "10->12", "input->1", "pop1", "pop2", "pop10"]


@pytest.mark.parametrize("target", TARGETS)
def test_one_synapse_count_everywhere(compiled, capsys, tmp_path, target):
    prog = Program.load(compiled[target])
    c = counts(prog)
    assert c.populations == len(prog.populations) and c.input_populations == 1
    assert 0 < c.nonzero_synapses <= c.synapses
    words = f"{c.synapses} stored synapses ({c.nonzero_synapses} non-zero)"
    pops = f"{c.populations} populations ({c.input_populations} input)"
    assert main(["compile", str(CNN), "--target", target, "-o", str(tmp_path / "p.ncp")]) == 0
    lines = {"compile": capsys.readouterr().out}
    for cmd in ("report", "inspect"):
        assert main([cmd, str(compiled[target])]) == 0
        lines[cmd] = capsys.readouterr().out
    assert main(["emit", str(compiled[target]), "-o", str(tmp_path / "bundle")]) == 0
    lines["emit"] = capsys.readouterr().out
    for cmd, text in lines.items():
        flat = " ".join(text.split())
        assert words in flat and pops in flat, cmd
        other = {int(n) for n in re.findall(r"(\d+) (?:stored )?synapses", flat)}
        assert other == {c.synapses}, (cmd, other)
    # the report's projection table sums to the same figures
    from neurocompile.report import report

    rep = report(prog)
    assert sum(p.synapses for p in rep.projections) == c.synapses == rep.synapses
    assert sum(p.nonzero for p in rep.projections) == c.nonzero_synapses


@pytest.mark.parametrize("cols", [80, 100])
@pytest.mark.parametrize("target", TARGETS)
def test_report_fits_the_terminal(compiled, capsys, monkeypatch, target, cols):
    rc, out = _run(capsys, "report", str(compiled[target]), env_cols=cols, monkeypatch=monkeypatch)
    assert rc == 0
    too_long = [ln for ln in out.splitlines() if len(ln) > cols]
    assert not too_long, too_long
    # pipeline order: the scale/threshold table comes before decay, projections' weights before errors
    assert out.index("population: scale and threshold") < out.index("population: decay and bias")
    assert out.index("projection: weights") < out.index("projection: error")
    # natural order of projection names in the projection table
    sect = out.split("projections (")[1].split("cores (")[0].split("  name ")[1].splitlines()[1:]
    names = [ln.split()[0] for ln in sect if ln.strip()]
    assert names == sorted(names, key=natural_key) and len(names) == 6


def test_loihi_threshold_is_labelled_model_vs_chip(compiled, capsys):
    assert main(["report", str(compiled["loihi2"])]) == 0
    out = capsys.readouterr().out
    assert "threshold -> achieved" in out and "vth (int)" in out
    assert "tau_m (ms)" not in out  # a column only when the lowering recorded it


def test_utilisation_against_the_named_limit(compiled):
    from neurocompile.report import report

    for target, name in (("loihi2", "synapse_bytes_per_core"), ("spinnaker", "sdram_bytes_per_chip")):
        rep = report(Program.load(compiled[target]))
        lim = rep.placement.limits
        assert lim["synapse_memory_limit"] == name
        for c in rep.placement.cores:
            assert c["synapse_memory_limit"] == name
            assert c["synapse_memory_utilization"] == round(c["synapse_bytes"] / lim[name], 4)
            assert c["synapse_memory_utilization"] <= 1.0
        for ch in rep.placement.per_chip:
            assert 0 <= ch["synapse_memory_utilization"] <= 1.0
    # SpiNNaker's synapse rows live in the chip's SDRAM: bigger than DTCM, still well within SDRAM
    rep = report(Program.load(compiled["spinnaker"]))
    assert max(c["synapse_bytes"] for c in rep.placement.cores) > rep.placement.limits["dtcm_bytes"]


def test_findings_grouped_by_code():
    fs = [
        Finding("v-range", "warning", f"pop{i}", f"threshold mapped to {v} mV instead (resolution {r})")
        for i, v, r in ((10, "1.2", "2e-5"), (2, "17.5", "1e-6"), (1, "5.9", "5e-6"))
    ] + [Finding("leak", "warning", n, "IF always leaks") for n in ("b", "a")]
    groups = group_findings(fs)
    assert [(g.code, g.nodes) for g in groups] == [
        ("v-range", ("pop1", "pop2", "pop10")),
        ("leak", ("a", "b")),
    ]
    vr = groups[0]
    assert vr.template == "threshold mapped to <1> mV instead (resolution <2>)"
    assert vr.values == (("5.9", "5e-6"), ("17.5", "1e-6"), ("1.2", "2e-5"))
    text = "\n".join(vr.text_lines() + groups[1].text_lines())
    assert text.count("threshold mapped") == 1 and text.count("IF always leaks") == 1
    assert "nodes: a, b" in text


def test_check_text_groups_and_words_flags(capsys, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import bad_models as B

    case = next(c for c in B.CASES if c.name == "legacy-reset")
    path = case.make(tmp_path / "legacy.nir")
    main(["check", str(path)])
    out = capsys.readouterr().out
    assert out.count("legacy-reset") == 1
    assert "--reset subtract" in out and 'reset="' not in out


def test_json_keys_shared(compiled, capsys, tmp_path):
    docs = {}
    assert main(["compile", str(CNN), "--target", "loihi2", "-o", str(tmp_path / "p.ncp"), "--json"]) == 0
    docs["compile"] = json.loads(capsys.readouterr().out)
    for cmd in ("report", "inspect"):
        assert main([cmd, str(compiled["loihi2"]), "--json"]) == 0
        docs[cmd] = json.loads(capsys.readouterr().out)
    main(["check", str(CNN), "--json"])
    docs["check"] = json.loads(capsys.readouterr().out)
    for cmd, d in docs.items():
        assert d["schema_version"] == SCHEMA_VERSION, cmd
    c = counts(Program.load(compiled["loihi2"])).as_dict()
    for cmd in ("compile", "report", "inspect"):
        assert docs[cmd]["counts"] == c, cmd
    assert set(c) == {
        "populations",
        "input_populations",
        "neurons",
        "projections",
        "stored_synapses",
        "nonzero_synapses",
    }
    for f in docs["check"]["findings"]:
        assert set(f) == {"code", "severity", "node", "message"}
