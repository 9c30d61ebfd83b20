"""``validate``: float reference (hop_delay 1) vs the emulator, per NIR neuron layer.

Exactness cases rest on independent facts: an IF neuron (dt 1, r 1, reset to zero) with even
integer weights and an integer threshold computes exactly what Lava's fixed-point LIF with
du=4095, dv=0 computes (docs/reference/loihi2.md §1.2: u takes the new input each step, v integrates
it, both <<6; MIXED drops only the LSB, so even weights are exact; a spike at t arrives at t+1
= hop_delay 1). The NIR paper LIF compiled for Loihi 2 spikes at the real chip's steps
(lif_lava_loihi_fixed.csv), which equal the float reference with hop_delay 1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.cli.main import main
from neurocompile.compare import correlation, validate
from neurocompile.errors import InputDataError
from neurocompile.ir import Graph, Node
from neurocompile.targets.loihi2.builder import Loihi2Builder


def _graph(w1, w2, vth):
    h, n_in = w1.shape
    n_out = w2.shape[0]
    full = lambda v, n: np.full(n, float(v))  # noqa: E731
    return Graph(
        nodes={
            "in": Node("in", "Input", {"shape": (n_in,)}),
            "fc1": Node("fc1", "Linear", {"weight": w1.astype(float)}),
            "if1": Node(
                "if1", "IF", {"r": full(1, h), "v_threshold": full(vth[0], h), "v_reset": full(0, h)}
            ),
            "fc2": Node("fc2", "Linear", {"weight": w2.astype(float)}),
            "if2": Node(
                "if2",
                "IF",
                {"r": full(1, n_out), "v_threshold": full(vth[1], n_out), "v_reset": full(0, n_out)},
            ),
            "out": Node("out", "Output", {"shape": (n_out,)}),
        },
        edges=[("in", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "if2"), ("if2", "out")],
    )


def hand_pair(seed=0, n_in=20, h=30, n_out=5, vth=(20, 15)):
    """A NIR graph and the Loihi 2 Program that computes it exactly (built by hand)."""
    rng = np.random.default_rng(seed)
    w1 = 2 * rng.integers(-3, 6, (h, n_in))
    w2 = 2 * rng.integers(-3, 6, (n_out, h))
    b = Loihi2Builder()
    b.input("in_pop", n_in, key="in")
    b.lif("p1", h, du=4095, dv=0, vth=vth[0])
    b.lif("p2", n_out, du=4095, dv=0, vth=vth[1])
    b.dense("in_pop", "p1", w1, name="w1")
    b.dense("p1", "p2", w2, name="w2")
    prog = b.build(
        outputs={"out": ("p2", "spikes")},
        semantics={"dt": 1.0, "discretization": "forward", "reset": "file", "hop_delay": 1},
        provenance={"node_map": {"if1": ["p1"], "if2": ["p2"], "fc1": ["w1"], "fc2": ["w2"]}},
    )
    return _graph(w1, w2, vth), prog


def spikes(seed, batch=4, steps=40, n=20, rate=0.3):
    return (np.random.default_rng(seed).random((batch, steps, n)) < rate).astype(np.float64)


def _perturb(prog, proj, row, by=2):
    w = np.array(prog.projections[proj].params["weights"], copy=True)
    w[row, :] += by
    prog.projections[proj].params["weights"] = w


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_exact_program_agrees_everywhere(seed):
    g, prog = hand_pair(seed)
    rep = validate(g, prog, {"in": spikes(seed + 10)})
    assert rep.exact and rep.first_divergence is None, f"seed {seed}"
    for lay in rep.layers:
        m = lay.metrics
        assert m["spikes_reference"] > 0, f"seed {seed}: vacuous layer {lay.node}"
        assert m["count_correlation"] == 1.0 and m["exact_agreement"] == 1.0 and m["bin_agreement"] == 1.0
    assert [lay.population for lay in rep.layers] == ["p1", "p2"]
    assert rep.outputs[0].agreement == 1.0
    json.dumps(rep.as_dict())


def test_perturbed_second_layer_is_the_first_divergence():
    g, prog = hand_pair(0)
    _perturb(prog, "w2", 0)
    rep = validate(g, prog, {"in": spikes(10)})
    assert rep.layer("if1").metrics["exact_agreement"] == 1.0 and not rep.layer("if1").diverged
    assert rep.layer("if2").diverged
    d = rep.first_divergence
    assert d.node == "if2" and d.population == "p2" and d.neuron == 0  # only row 0 was changed
    # the mismatch is real: reference and emulator differ at that step for that neuron
    ref = nc.simulate(g, {"in": spikes(10)}, dt=1.0, hop_delay=1, record=["if2.spikes"]).recordings[
        "if2.spikes"
    ]
    emu = prog.run({"in": spikes(10)}, record=["p2.spikes"]).recordings["p2.spikes"]
    assert ref[d.sample, d.step, d.neuron] != emu[d.sample, d.step, d.neuron]
    assert np.array_equal(ref[:, : d.step], emu[:, : d.step])


def test_perturbed_first_layer_diverges_before_its_successor():
    g, prog = hand_pair(1)
    _perturb(prog, "w1", 3)
    rep = validate(g, prog, {"in": spikes(11)})
    assert rep.first_divergence.node == "if1"
    if2 = rep.layer("if2")
    if if2.diverged:  # downstream effects come at least one hop (one step) later
        assert if2.first_mismatch[1] > rep.layer("if1").first_mismatch[1]


def test_tolerance_and_labels():
    g, prog = hand_pair(0)
    _perturb(prog, "w2", 0)
    x = spikes(10)
    loose = validate(g, prog, {"in": x}, tolerance=1.0)
    assert loose.exact
    labels = np.array([0, 1, 2, 3])
    rep = validate(g, prog, {"in": x, "lab": labels}, labels="lab", against="program")
    xp = np.concatenate([x, np.zeros((4, 2, 20))], axis=1)  # the Program gets H = 2 silent steps
    ref = nc.simulate(g, {"in": xp}, dt=1.0, hop_delay=1).outputs["out"].sum(axis=1).argmax(axis=1)
    emu = prog.run({"in": xp}).outputs["out"].sum(axis=1).argmax(axis=1)
    o = rep.outputs[0]
    assert o.accuracy_reference == pytest.approx(np.mean(ref == labels))
    assert o.accuracy_program == pytest.approx(np.mean(emu == labels))
    assert o.agreement == pytest.approx(np.mean(ref == emu))
    with pytest.raises(InputDataError):
        validate(g, prog, {"in": x}, labels=np.array([0, 1]))


def test_correlation_definition():
    rng = np.random.default_rng(4)
    a, b = rng.random(50), rng.random(50)
    assert correlation(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert correlation(a, a) == 1.0
    assert correlation(np.zeros(5), np.zeros(5)) == 1.0
    assert correlation(np.zeros(5), np.arange(5)) == 0.0


def test_compiled_paper_lif_is_exact(paper_data):
    d = paper_data / "01_lif"
    x = np.loadtxt(d / "lif_exact.csv", delimiter=",")[:, 0].reshape(1, -1, 1)
    prog = nc.compile(d / "lif_norse.nir", "loihi2", dt=1e-4, reset="zero")
    rep = validate(d / "lif_norse.nir", prog, {"input": x})
    lay = rep.layers[0]
    assert rep.exact and lay.metrics["count_correlation"] == 1.0 and lay.metrics["exact_agreement"] == 1.0
    assert lay.metrics["spikes_reference"] == 4
    chip = np.loadtxt(d / "lif_lava_loihi_fixed.csv", delimiter=",")[:, 2]
    emu = prog.run({"input": x}).outputs["output"][0, :, 0]
    assert np.nonzero(emu)[0].tolist() == np.nonzero(chip)[0].tolist()  # the real chip's steps


def _exactly_quantizable(seed=0):
    """IF layers with an integer threshold (511) and even integer weights < 256: a scale of 1 float
    unit per integer unit represents them exactly."""
    rng = np.random.default_rng(seed)
    return _graph(2 * rng.integers(-30, 100, (30, 20)), 2 * rng.integers(-30, 100, (5, 30)), (511, 511))


def _dense(prog, proj):
    n_pre, n_post = prog.populations[proj.pre].size, prog.populations[proj.post].size
    if "pre" not in proj.params:
        return np.asarray(proj.params["weights"])
    w = np.zeros((n_post, n_pre), np.int64)
    w[proj.params["post"], proj.params["pre"]] = proj.params["weights"]
    return w


def test_compiled_small_graph_exact_where_quantization_is_exact_then_perturbed():
    g = _exactly_quantizable()
    prog = nc.compile(g, "loihi2", dt=1.0)
    # precondition: the compiler chose the exact integer representation
    for node in ("fc1", "fc2"):
        projs = [prog.projections[n] for n in prog.provenance["node_map"][node] if n in prog.projections]
        total = sum(_dense(prog, p) * 2.0 ** p.params["weight_exp"] for p in projs)
        assert np.array_equal(total, g.nodes[node].params["weight"]), (
            "compile no longer maps this graph to scale 1; pick another exactly quantizable case"
        )
    x = spikes(5)
    rep = validate(g, prog, {"in": x})
    assert rep.exact
    assert all(
        lay.metrics["count_correlation"] == 1.0 and lay.metrics["exact_agreement"] == 1.0
        for lay in rep.layers
    )
    second = [n for n in prog.provenance["node_map"]["fc2"] if n in prog.projections]
    _perturb(prog, second[0], 2, by=40)
    rep = validate(g, prog, {"in": x})
    assert rep.first_divergence.node == "if2" and rep.first_divergence.neuron == 2
    assert not rep.layer("if1").diverged


def test_cli_validate(tmp_path, capsys):
    from neurocompile.nirio import write_nir

    g, prog = hand_pair(0)
    write_nir(g, tmp_path / "g.nir")
    prog.save(tmp_path / "p.ncp")
    np.savez(tmp_path / "in.npz", **{"in": spikes(10), "lab": np.array([0, 1, 2, 3])})
    args = ["validate", str(tmp_path / "g.nir"), str(tmp_path / "p.ncp"), "--input", str(tmp_path / "in.npz")]
    assert main(args + ["--labels", "lab", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["exact"] and d["first_divergence"] is None and d["outputs"][0]["accuracy_program"] is not None
    _perturb(prog, "w2", 0)
    prog.save(tmp_path / "p.ncp")
    assert main(args) == 1
    assert "first divergence: layer if2" in capsys.readouterr().out
    assert main(args + ["--labels", "nope"]) == 2
