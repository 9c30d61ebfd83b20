"""``check``: the malformed corpus (tests/bad_models.py), the NIR paper graphs, the CLI."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocompile
import neurocompile.targets as registry
from neurocompile.check import RULES, CheckReport, Finding, check
from neurocompile.cli.main import main
from neurocompile.target import get_target

sys.path.insert(0, str(Path(__file__).parent))
import bad_models as B  # noqa: E402


def _case(name: str) -> B.Case:
    return next(c for c in B.CASES if c.name == name)


def _pairs(report: CheckReport) -> set[tuple[str, str | None]]:
    return {(f.code, f.node) for f in report.findings}


# ---------------------------------------------------------------------------- corpus
def test_base_graphs_have_no_finding(tmp_path):
    for make in (B.lif_graph, B.conv_graph):
        report = check(B.write_nir(tmp_path / f"{make.__name__}.nir", make()))
        assert report.findings == (), [f.as_dict() for f in report.findings]
        assert report.readable and not report.has_errors


def test_corpus_is_large_enough():
    assert len(B.CASES) >= 20
    # every documented code except the paper-only ones is exercised by the corpus
    covered = {code for c in B.CASES for code, _ in c.expected}
    assert set(RULES) | {"unreadable"} <= covered | {"internal-error"}, set(RULES) - covered


@pytest.mark.parametrize("case", B.CASES, ids=[c.name for c in B.CASES])
def test_malformed_file_gives_exact_findings(case, tmp_path):
    path = case.make(tmp_path / f"{case.name}.nir")
    report = check(path, **case.check_kw)
    assert report.readable is case.readable
    assert _pairs(report) == case.expected, [f.as_dict() for f in report.findings]
    assert report.has_errors is any(f.severity == "error" for f in report.findings)
    for f in report.findings:
        assert f.severity in ("error", "warning", "info")
        assert f.message and "\n" not in f.message


def test_findings_name_what_is_wrong(tmp_path):
    """Messages carry the node, the parameter and the limit, not just a code."""
    by_name = {c.name: c for c in B.CASES}

    def msg(name):
        return (
            check(by_name[name].make(tmp_path / f"{name}.nir"), **by_name[name].check_kw).findings[0].message
        )

    assert "'tau'" in msg("zero-tau") and "<= 0" in msg("zero-tau")
    assert "(4,)" in msg("weight-out-mismatch") and "(2,)" in msg("weight-out-mismatch")
    assert "'ghost'" in msg("dangling-edge") and "('lif', 'ghost')" in msg("dangling-edge")
    assert "Softmax" in msg("unknown-kind")
    assert 'reset="subtract"' in msg("legacy-reset")
    assert "dt=" in msg("no-dt")
    assert "1.5" in msg("delay-fraction")


def test_check_never_raises_on_odd_objects():
    for obj in (None, 42, object(), b"bytes", ["a"]):
        report = check(obj)
        assert not report.readable and report.codes == ["unreadable"]


def test_report_is_frozen_and_serializable(tmp_path):
    report = check(_case("weight-out-mismatch").make(tmp_path / "x.nir"))
    d = report.as_dict()
    json.dumps(d)
    assert d["has_errors"] is True and d["counts"]["error"] == 1
    with pytest.raises(Exception):
        report.findings[0].code = "x"  # type: ignore[misc]
    assert Finding("a", "info", None, "m").as_dict() == {
        "code": "a",
        "severity": "info",
        "node": None,
        "message": "m",
    }


def test_target_rule_hook(tmp_path, monkeypatch):
    """Targets add rules through their Target's ``rules``; they only run for that target."""
    path = B.write_nir(tmp_path / "ok.nir", B.lif_graph())

    def fake_limit(ctx):
        yield Finding("fake-limit", "error", "lif", "too many neurons for the fake chip")

    monkeypatch.setitem(
        registry.REGISTRY, "loihi2", dataclasses.replace(get_target("loihi2"), rules=[fake_limit])
    )
    assert _pairs(check(path, target="loihi2")) == {("fake-limit", "lif")}
    assert check(path).findings == ()
    assert check(path, target="loihi2").target == "loihi2"


def test_rule_crash_is_a_finding(tmp_path, monkeypatch):
    path = B.write_nir(tmp_path / "ok.nir", B.lif_graph())

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        registry.REGISTRY, "spinnaker", dataclasses.replace(get_target("spinnaker"), rules=[broken])
    )
    report = check(path, target="spinnaker")
    assert report.codes == ["internal-error"] and "boom" in report.findings[0].message


# ---------------------------------------------------------------------------- paper graphs
@pytest.mark.parametrize(
    "rel, n_spiking",
    [
        ("01_lif/lif_norse.nir", 1),
        ("02_cnn/cnn_sinabs.nir", 5),
        ("03_rnn/braille_noDelay_bias_zero.nir", 2),
        ("03_rnn/braille_noDelay_noBias_subtract.nir", 2),
    ],
)
def test_paper_graphs_pass_check(paper_data, rel, n_spiking):
    report = check(paper_data / rel)
    assert report.readable and not report.has_errors, [f.as_dict() for f in report.findings]
    # paper-era files predate v_reset and store no dt: both are reported, neither guessed
    assert len(report.by_code("legacy-reset")) == n_spiking
    assert report.by_code("missing-dt")
    assert set(report.codes) <= {"legacy-reset", "missing-dt"}
    with_dt = check(paper_data / rel, dt=1e-4)
    assert "missing-dt" not in with_dt.codes and not with_dt.has_errors


def test_rockpool_output_dims_and_mark(paper_data):
    """The paper's rockpool file: its Output type (1, 1, 1) carries rockpool's (batch, time) dims
    (repaired, said), and its node names are rockpool's mark (framework detected, said)."""
    report = check(paper_data / "01_lif" / "lif_rockpool.nir")
    assert report.readable and not report.has_errors
    assert ("ingest-repair", "output") in _pairs(report)
    assert "(1, 1, 1)" in report.by_code("ingest-repair")[0].message
    (fw,) = report.by_code("framework-conventions")
    assert "rockpool (detected" in fw.message and "dt=0.0001" in fw.message


@pytest.mark.parametrize(
    "name", ["braille_noDelay_bias_zero_subgraph.nir", "braille_noDelay_noBias_subtract_subgraph.nir"]
)
def test_broken_braille_subgraph_files(paper_data, name):
    report = check(paper_data / "03_rnn" / "extras" / name)
    dangling = report.by_code("dangling-edge")
    assert dangling and {f.node for f in dangling} == {"lif1.lif"}
    assert "lif1.lif1" in dangling[0].message  # says what the subgraph does contain


def test_sinabs_export_hint():
    torch = pytest.importorskip("torch")
    sl = pytest.importorskip("sinabs.layers")
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), sl.LIFSqueeze(tau_mem=5.0, batch_size=1))
    report = check(model, sample_input=torch.zeros(1, 3))
    assert ("sinabs-tau-steps", "1") in _pairs(report)
    assert "dt=1" in report.by_code("missing-dt")[0].message
    assert "subtract" in report.by_code("legacy-reset")[0].message


def test_norse_export_hint():
    torch = pytest.importorskip("torch")
    nt = pytest.importorskip("norse.torch")
    model = nt.SequentialState(torch.nn.Linear(3, 4), nt.LIFBoxCell())
    report = check(model, sample_input=torch.zeros(1, 3))
    hint = report.by_code("norse-tau-export")
    assert len(hint) == 1 and hint[0].node == "1"
    # norse's default tau_mem = 10 ms is what the hint recovers from the exported dt*tau
    assert "0.01" in hint[0].message


# ---------------------------------------------------------------------------- CLI
def test_cli_exit_codes(tmp_path, capsys):
    ok = B.write_nir(tmp_path / "ok.nir", B.lif_graph())
    bad = _case("weight-out-mismatch").make(tmp_path / "bad.nir")
    assert main(["check", str(ok)]) == 0
    assert "no findings" in capsys.readouterr().out
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "shape-mismatch" in out and "lif" in out
    assert main(["check", str(tmp_path / "nope.nir")]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and len(cap.err.strip().splitlines()) == 1 and "nope.nir" in cap.err


def test_cli_json(tmp_path, capsys):
    bad = _case("weight-out-mismatch").make(tmp_path / "bad.nir")
    assert main(["check", str(bad), "--json", "--dt", "1e-3", "--target", "loihi2"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["target"] == "loihi2" and d["dt"] == 1e-3
    assert [(f["code"], f["node"]) for f in d["findings"]] == [("shape-mismatch", "lif")]
    assert main(["check", str(tmp_path / "nope.nir"), "--json"]) == 2
    d = json.loads(capsys.readouterr().out)
    assert d["readable"] is False and d["findings"][0]["code"] == "unreadable"


def test_cli_unreadable_subprocess_prints_one_line(tmp_path):
    junk = tmp_path / "junk.nir"
    junk.write_text("not hdf5")
    proc = subprocess.run(
        [sys.executable, "-m", "neurocompile.cli.main", "check", str(junk)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "junk.nir" in lines[0] and "Traceback" not in proc.stderr


def test_exports(tmp_path):
    assert neurocompile.check is check
    path = B.write_nir(tmp_path / "x.nir", B.lif_graph())
    assert check(path, dt=np.float64(1e-3)).dt == 1e-3  # numpy scalars are fine
    assert check(path, dt="fast").codes == ["nonpositive-dt"]  # and junk is a finding, not a crash
