"""``report``: JSON contents against the Program they describe; SynOps and activation sparsity
recounted by hand from the recorded spikes (NeuroBench definitions: effective synaptic ops =
spikes x nonzero fan-out; activation sparsity = zero activations / all activations); Lava's
MIXED-sign LSB drop (docs/reference/loihi2.md §2.1) makes a weight of 1 a zero synapse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurocompile.cli.main import main
from neurocompile.program import Program
from neurocompile.report import activity_run, report
from neurocompile.targets.loihi2.builder import Loihi2Builder
from neurocompile.targets.loihi2.partition import place


def _net(seed=0):
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", 6)
    b.lif("h", 12, du=4095, dv=0, vth=3)
    b.lif("o", 4, du=4095, dv=0, vth=5)
    w1 = rng.integers(0, 6, (12, 6)) * 4  # EXCITATORY, some zeros
    b.dense("x", "h", w1, name="w1")
    pre = np.array([0, 1, 2, 3, 4, 5, 6, 7, 11, 11])
    post = np.array([0, 0, 1, 1, 2, 2, 3, 3, 0, 3])
    w2 = np.array([40, 60, 40, 60, 40, 60, 40, 60, 50, 50])
    b.sparse("h", "o", w2, pre_index=pre, post_index=post, name="s2")
    return b.build(outputs={"y": ("o", "spikes")}), w1, (pre, post, w2)


def _inputs(seed=1, batch=3, steps=30):
    return {"x": (np.random.default_rng(seed).random((batch, steps, 6)) < 0.4).astype(np.int64)}


def test_json_contents_match_program():
    prog, w1, (pre, post, w2) = _net()
    place(prog)
    rep = report(prog).as_dict()
    json.dumps(rep)  # plain JSON
    assert rep["target"] == "loihi2"
    assert rep["summary"]["neurons"] == 12 + 4
    assert rep["summary"]["synapses"] == w1.size + pre.size
    assert [p["name"] for p in rep["populations"]] == ["x", "h", "o"]
    projs = {p["name"]: p for p in rep["projections"]}
    assert projs["w1"]["nonzero"] == int(np.count_nonzero(w1))
    assert projs["w1"]["params"]["weight_max"] == int(w1.max())
    assert projs["s2"]["synapses"] == pre.size and projs["s2"]["kind"] == "sparse"
    pl = rep["placement"]
    assert pl["source"] == "program" and pl["estimated"] is True
    assert pl["chips"] == prog.placement["chips"] and pl["cores_used"] == prog.placement["cores_used"]
    assert [(c["population"], c["neurons"], c["synapse_bytes"]) for c in pl["cores"]] == [
        (c["population"], c["neurons"], c["synapse_bytes"]) for c in prog.placement["cores"]
    ]
    for c in pl["cores"]:
        assert c["synapse_memory_utilization"] == pytest.approx(c["synapse_bytes"] / (128 * 1024), abs=1e-4)
    assert rep["activity"] is None
    assert rep["learning"] == {"status": "none"}
    assert rep["target_section"]["projection_encoding"]["s2"]["encoding"] == "sparse"


def test_unplaced_program_gets_computed_placement_without_mutation():
    prog, *_ = _net()
    rep = report(prog)
    assert rep.placement.source == "computed" and rep.placement.cores_used == 2
    assert prog.placement == {}


def test_placement_failure_is_reported_not_raised():
    b = Loihi2Builder()
    b.input("x", 200_000)
    b.lif("wide", 1, du=4095, dv=0, vth=1)
    b.dense("x", "wide", np.ones((1, 200_000), np.int8))
    rep = report(b.build())
    assert rep.placement.source == "failed"
    assert "resource error" in rep.placement.error and "wide" in rep.placement.error
    assert "failed" in rep.to_text()


def test_synops_and_sparsity_recounted_by_hand():
    prog, w1, (pre, post, w2) = _net()
    inputs = _inputs()
    run = activity_run(prog, inputs)
    rep = report(prog, run)
    a = rep.activity
    x = inputs["x"]
    h = run.recordings["h.spikes"]
    o = run.recordings["o.spikes"]
    batch, steps = x.shape[:2]
    assert h.sum() > 0 and o.sum() > 0  # the case is not vacuous
    # hand count: every spike of pre neuron i costs one op per nonzero synapse leaving i
    ops = 0
    for bi in range(batch):
        for t in range(steps):
            for i in range(6):
                if x[bi, t, i]:
                    ops += sum(1 for j in range(12) if w1[j, i] != 0)
            for i in range(12):
                if h[bi, t, i]:
                    ops += sum(1 for k in range(pre.size) if pre[k] == i and w2[k] != 0)
    assert a.synaptic_operations["Effective_ACs"] == pytest.approx(ops / batch)
    assert a.synaptic_operations["Effective_MACs"] == 0
    assert a.synaptic_operations["Dense"] == (w1.size + pre.size) * steps
    assert a.synops_per_step == pytest.approx(ops / batch / steps)
    zeros = np.count_nonzero(h == 0) + np.count_nonzero(o == 0)
    assert a.activation_sparsity == pytest.approx(zeros / (h.size + o.size))
    assert a.membrane_updates_per_step == 16
    assert a.populations["x"]["rate"] == pytest.approx(x.mean())
    assert rep.as_dict()["activity"]["batch"] == batch
    # report(inputs=...) runs the emulator itself and gives the same numbers
    assert report(prog, inputs=inputs).activity == a


def test_mixed_sign_lsb_drop_zeroes_unit_weights_in_synops():
    b = Loihi2Builder()
    b.input("x", 2)
    b.lif("h", 2, du=4095, dv=0, vth=100)
    # MIXED, 8 bits: the LSB is dropped by floor (docs/reference/loihi2.md: 3 -> 2, -3 -> -4),
    # so 1 -> 0, -1 -> -2
    b.dense("x", "h", np.array([[1, -1], [-4, 4]]))
    prog = b.build()
    x = np.ones((1, 5, 2), np.int64)
    a = report(prog, inputs={"x": x}).activity
    assert a.synaptic_operations["Effective_ACs"] == 3 * 5  # the weight 1 is a zero synapse


def test_readout_population_left_out_of_sparsity_and_graded_inputs_are_macs():
    b = Loihi2Builder()
    b.input("x", 3, num_message_bits=8)
    b.lif("h", 3, du=4095, dv=0, vth=1)
    b.lif("ro", 2, du=0, dv=0, vth=2**17 - 1)
    b.dense("x", "h", np.eye(3, dtype=np.int64) * 8, num_message_bits=8)
    b.dense("h", "ro", np.ones((2, 3), np.int64) * 2)
    prog = b.build(outputs={"v": ("ro", "v", 0.5)})
    x = np.zeros((1, 4, 3), np.int64)
    x[0, :, 0] = 5
    run = activity_run(prog, {"x": x})
    a = report(prog, run).activity
    assert a.populations["ro"]["readout"] and not a.populations["h"]["readout"]
    h = run.recordings["h.spikes"]
    assert a.activation_sparsity == pytest.approx(np.count_nonzero(h == 0) / h.size)
    assert a.synaptic_operations["Effective_MACs"] == 4  # 4 nonzero payloads x fan-out 1
    assert a.synaptic_operations["Effective_ACs"] == h.sum() * 2


def test_quantization_findings_learning_pass_through():
    prog, *_ = _net()
    prog.quantization = {
        "populations": {"h": {"scale": 0.25, "peak_u_fraction": 0.1}},
        "projections": {"w1": {"weight_scale": 4.0, "fraction_clipped": 0.0}},
    }
    prog.provenance["findings"] = [
        {"code": "reset-approximated", "severity": "warning", "node": "h", "message": "subtract -> zero"}
    ]
    prog.learning = {"rules": {"w1": "stdp"}}
    rep = report(prog)
    d = rep.as_dict()
    assert d["quantization"]["populations"]["h"]["scale"] == 0.25
    assert d["quantization"]["projections"]["w1"]["weight_scale"] == 4.0
    assert d["findings"][0]["code"] == "reset-approximated"
    assert d["learning"]["status"] == "configured"
    text = rep.to_text()
    assert "reset-approximated" in text and "weight_scale" in text


def test_cli_report_json_and_text(tmp_path, capsys):
    prog, w1, _ = _net()
    place(prog)
    prog.save(tmp_path / "p.ncp")
    np.savez(tmp_path / "in.npz", **_inputs())
    assert main(["report", str(tmp_path / "p.ncp"), "--json", "--input", str(tmp_path / "in.npz")]) == 0
    d = json.loads(capsys.readouterr().out)
    loaded = Program.load(tmp_path / "p.ncp")
    assert d["summary"]["cores_used"] == loaded.placement["cores_used"]
    assert d["activity"]["synops_per_step"] > 0
    assert main(["report", str(tmp_path / "p.ncp")]) == 0
    out = capsys.readouterr().out
    assert "ESTIMATED" in out and "w1" in out
    assert main(["report", str(tmp_path / "missing.ncp")]) == 2
