"""compile/check/report/freeze with learning rules (issue 6, H16): a NIR Affine -> LIF graph with a
pair-STDP rule, compiled for loihi2 and spinnaker and run on the emulator.

Independent facts used: pair STDP potentiates a synapse whose pre spike precedes the post spike
and depresses it when the post spike comes first (Bi & Poo 1998; the rule's definition in
docs/learning.md); sPyNNaker 7.4.1 cannot run neuromodulation (docs/reference/spinnaker.md §1.5).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import neurocompile  # noqa: E402
from neurocompile.errors import GraphError, InputDataError, UnsupportedError  # noqa: E402
from neurocompile.learning import attach, freeze, rstdp, stdp_pair, with_learned_weights  # noqa: E402
from neurocompile.program import Program  # noqa: E402

T = 80
DRIVER, PROBE = 0, 1
W_DRIVER, W_PROBE = 15.0, 1.0
TARGETS = ("loihi2", "spinnaker")


def graph(w=((W_DRIVER, W_PROBE),)):
    w = np.asarray(w, dtype=np.float64)
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([w.shape[1]])),
            "fc": nir.Affine(weight=w, bias=np.zeros(w.shape[0])),
            "lif": nir.LIF(
                tau=np.full(w.shape[0], 10.0),
                r=np.ones(w.shape[0]),
                v_leak=np.zeros(w.shape[0]),
                v_threshold=np.ones(w.shape[0]),
            ),
            "out": nir.Output(output_type=np.array([w.shape[0]])),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "out")],
    )


def rule():
    return stdp_pair(A_plus=0.4, A_minus=0.4, tau_plus=8, tau_minus=8, w_min=0.0, w_max=20.0)


def compiled(target, learning=None, g=None):
    return neurocompile.compile(
        g if g is not None else graph(),
        target,
        dt=1.0,
        reset="zero",
        learning={"fc": rule()} if learning is None else learning,
    )


def stimulus(pairing: str) -> dict[str, np.ndarray]:
    """Driver spike makes the post neuron fire on the next step(s); the probe fires 3 steps before
    it ("pre_post") or 5 steps after it ("post_pre"); a late probe spike (step 70, traces long
    decayed) flushes sPyNNaker's deferred update."""
    x = np.zeros((1, T, 2))
    if pairing == "pre_post":
        x[0, 10, PROBE] = 1
        x[0, 12, DRIVER] = 1
    else:
        x[0, 10, DRIVER] = 1
        x[0, 16, PROBE] = 1
    x[0, 70, PROBE] = 1
    return {"input": x}


def plastic_name(prog):
    (name,) = [n for n, p in prog.projections.items() if p.kind in ("learning_dense", "stdp")]
    return name


def probe_weight(prog, w, target):
    """The probe synapse's integer weight in a learning_dense matrix / a stdp synapse list."""
    proj = prog.projections[plastic_name(prog)]
    w = np.asarray(w)
    if target == "loihi2":
        return int(w[0, PROBE])
    (i,) = np.flatnonzero(np.asarray(proj.params["pre"]) == PROBE)
    return int(w[i])


def initial(prog, target):
    p = prog.projections[plastic_name(prog)].params
    return np.asarray(p["weights"] if target == "loihi2" else p["w16"])


@pytest.mark.parametrize("target", TARGETS)
def test_compile_attaches_rule_to_the_weight_nodes_projection(target):
    prog = compiled(target)
    name = plastic_name(prog)
    att = prog.learning["attachments"]["fc"]
    assert att["projection"] == name and att["units"] == "model" and att["kind"] == "stdp_pair"
    assert prog.provenance["node_map"]["fc"] == [name]
    # one projection, not an exc/inh split
    assert len(prog.projections) == 1
    # the initial weights are the static lowering's (same scales) for the same graph
    static = neurocompile.compile(graph(), target, dt=1.0, reset="zero")
    sp = next(iter(static.projections.values()))
    if target == "loihi2":
        assert prog.projections[name].params["weight_exp"] >= sp.params["weight_exp"]  # room for w_max
    else:
        # w_max > initial weights: a larger ring-buffer shift (coarser w16), same nA up to rounding
        a, s = np.asarray(prog.projections[name].params["w16"], float), np.asarray(sp.params["w16"], float)
        assert a[0] <= s[0] and np.allclose(a * (s[0] / a[0]), s, rtol=0.01)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("pairing,sign", [("pre_post", +1), ("post_pre", -1)])
def test_pair_stdp_sign_on_the_emulator(target, pairing, sign):
    prog = compiled(target)
    res = prog.run(stimulus(pairing))
    spikes = np.asarray(res.outputs["out"])[0].reshape(T, -1)[:, 0]
    t_post = np.flatnonzero(spikes)
    assert t_post.size >= 1, "the driver spike must make the post neuron fire"
    w0 = probe_weight(prog, initial(prog, target), target)
    w1 = probe_weight(prog, res.recordings[f"{plastic_name(prog)}.weights"][0], target)
    assert np.sign(w1 - w0) == sign, (target, pairing, w0, w1, t_post.tolist())


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("keep", [False, True])
def test_learned_weights_round_trip(target, keep, tmp_path):
    prog = compiled(target)
    name = plastic_name(prog)
    res = prog.run(stimulus("pre_post"))
    learned = np.asarray(res.recordings[f"{name}.weights"][0])
    assert not np.array_equal(learned, initial(prog, target))
    new = with_learned_weights(prog, res, keep_learning=keep)
    path = tmp_path / f"learned_{target}_{keep}.ncp"
    new.save(path)
    back = Program.load(path)
    proj = back.projections[name]
    w_back = np.asarray(proj.params["weights"] if target == "loihi2" else proj.params["w16"])
    np.testing.assert_array_equal(w_back, learned)
    res2 = back.run(stimulus("pre_post"))
    if keep:
        assert proj.kind == prog.projections[name].kind
        w2 = probe_weight(back, res2.recordings[f"{name}.weights"][0], target)
        assert w2 > probe_weight(back, learned, target), "keeps learning: a second pairing potentiates again"
    else:
        assert proj.kind == ("dense" if target == "loihi2" else "from_list")
        assert f"{name}.weights" not in res2.recordings
        assert back.learning.get("frozen_from")
        # the frozen Program computes with the learned weights: same spikes as the learning run
        # (whose weights only change after the post spike it causes) ...
        np.testing.assert_array_equal(np.asarray(res2.outputs["out"]), np.asarray(res.outputs["out"]))
    # ... and freeze() is with_learned_weights(keep_learning=False)
    fr = freeze(prog, res)
    assert fr.projections[name].kind == ("dense" if target == "loihi2" else "from_list")


def test_frozen_weights_drive_the_neuron_like_a_static_compile():
    """A probe potentiated enough to fire the neuron alone does so in the frozen Program."""
    prog = compiled(
        "loihi2",
        learning={"fc": stdp_pair(A_plus=6.0, A_minus=0.0, tau_plus=8, tau_minus=8, w_min=0.0, w_max=20.0)},
    )
    name = plastic_name(prog)
    x = np.zeros((1, 200, 2))
    for t in range(5, 190, 12):  # probe then driver: repeated potentiation of the probe
        x[0, t, PROBE] = 1
        x[0, t + 2, DRIVER] = 1
    res = prog.run({"input": x})
    fr = freeze(prog, res)
    lone = np.zeros((1, 20, 2))
    lone[0, 5, PROBE] = 1
    before = np.asarray(prog.run({"input": lone}).outputs["out"]).sum()
    after = np.asarray(fr.run({"input": lone}).outputs["out"]).sum()
    assert before == 0 and after >= 1, (
        before,
        after,
        np.asarray(res.recordings[f"{name}.weights"][0]).tolist(),
    )


def test_three_factor_rule_makes_lif_3f_and_a_reward_input():
    r = attach(rstdp(lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20), reward="dopamine")
    prog = compiled("loihi2", learning={"fc": r})
    assert prog.populations["lif"].kind == "lif_3f"
    assert prog.populations["lif"].params["reward"] == "dopamine"
    assert prog.inputs["dopamine"] == "dopamine"
    assert prog.populations["dopamine"].size == prog.populations["lif"].size
    x = stimulus("pre_post")
    # reward 0 -> no weight change (dw = lr * tag * y2); reward 100 after the pairing -> potentiation
    name = plastic_name(prog)
    w0 = probe_weight(prog, initial(prog, "loihi2"), "loihi2")
    out = {}
    for rew in (0, 100):
        rr = np.zeros((1, T, 1))
        rr[0, 14:40, 0] = rew
        res = prog.run({**x, "dopamine": rr})
        out[rew] = probe_weight(prog, res.recordings[f"{name}.weights"][0], "loihi2")
    assert out[0] == w0 and out[100] > w0, (w0, out)
    with pytest.raises(InputDataError):
        prog.run(x)  # the reward input is a Program input: run data must supply it
    with pytest.raises(UnsupportedError, match="reward"):
        compiled(
            "loihi2",
            learning={"fc": rstdp(lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20)},
        )
    with pytest.raises(UnsupportedError, match="[Nn]euromodulation"):
        compiled("spinnaker", learning={"fc": r})


@pytest.mark.parametrize("target", TARGETS)
def test_rule_on_an_unknown_node_names_rule_node_and_candidates(target):
    with pytest.raises(GraphError) as e:
        compiled(target, learning={"fc9": rule()})
    msg = str(e.value)
    assert "fc9" in msg and "stdp_pair" in msg and "fc" in msg.split("expected")[-1]


def test_mixed_sign_plastic_projection_stays_one_mixed_projection():
    g = graph(((W_DRIVER, -W_PROBE),))
    prog = neurocompile.compile(
        g,
        "loihi2",
        dt=1.0,
        reset="zero",
        learning={"fc": stdp_pair(A_plus=0.4, A_minus=0.4, tau_plus=8, tau_minus=8)},
    )
    static = neurocompile.compile(g, "loihi2", dt=1.0, reset="zero")
    assert len(static.projections) == 2  # the static lowering splits exc/inh
    (proj,) = prog.projections.values()
    assert proj.kind == "learning_dense" and proj.params["sign_mode"] == 1  # MIXED
    assert "loihi2-learning-mixed" in {f["code"] for f in prog.provenance["findings"]}
    with pytest.raises(UnsupportedError, match="both weight signs"):
        neurocompile.compile(g, "spinnaker", dt=1.0, reset="zero", learning={"fc": rule()})


@pytest.mark.parametrize("target", TARGETS)
def test_report_has_the_learning_mapping(target):
    from neurocompile.report import report

    prog = compiled(target)
    sec = report(prog).as_dict()["learning"]
    assert sec["status"] == "configured" and sec["target"] == target
    entry = sec["projections"][plastic_name(prog)]
    assert entry["node"] == "fc"
    if target == "loihi2":
        assert entry["products"] and all(
            "effective_coeff" in p and "requested_coeff" in p for p in entry["products"]
        )
        assert entry["lava"]["dw"]
    else:
        assert "SpikePairRule" in entry["pynn"] and entry["plasticity"]["timing"] == "spike_pair"


TOML = """
[[rule]]
projection = "fc"
kind = "stdp_pair"
A_plus = 0.4
A_minus = 0.4
tau_plus = 8
tau_minus = 8
w_min = 0.0
w_max = 20.0
"""


@pytest.mark.parametrize("target", TARGETS)
def test_cli_compile_with_learning_toml(target, tmp_path, capsys):
    from neurocompile.cli.main import main

    nir_path = tmp_path / "net.nir"
    nir.write(str(nir_path), graph())
    rules = tmp_path / "rules.toml"
    rules.write_text(TOML)
    out = tmp_path / "p.ncp"
    args = [
        "compile",
        str(nir_path),
        "--target",
        target,
        "--dt",
        "1",
        "--reset",
        "zero",
        "--learning",
        str(rules),
        "-o",
        str(out),
    ]
    rc = main(args + ["--json"])
    assert rc in (0, None)
    assert json.loads(capsys.readouterr().out)["projections"] == 1
    prog = Program.load(out)
    assert prog.learning["attachments"]["fc"]["kind"] == "stdp_pair"
    rules.write_text(TOML.replace('"fc"', '"nope"'))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1


def test_check_with_learning_reports_what_each_target_cannot_run(tmp_path):
    from neurocompile.learning import hebbian

    good = {"fc": rule()}
    rep = neurocompile.check(graph(), target="spinnaker", dt=1.0, learning=good)
    assert not [f for f in rep.findings if "learning" in f.code or "rule" in f.code], rep.findings
    # reward-modulated STDP: neuromodulation is broken in sPyNNaker 7.4.1 (docs/reference/spinnaker.md §1.5)
    r3 = attach(rstdp(lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20), reward="dopamine")
    rep = neurocompile.check(graph(), target="spinnaker", dt=1.0, learning={"fc": r3})
    assert rep.by_code("spinnaker-neuromodulation-broken")
    rep = neurocompile.check(
        graph(),
        target="spinnaker",
        dt=1.0,
        learning={"fc": hebbian(eta=0.5, tau_pre=5, w_max=20.0, decay=0.01)},
    )
    assert rep.by_code("spinnaker-rule-no-binary")
    # loihi2: the same rstdp runs (lif_3f); without a reward input it is an error; tiny amplitudes are dropped
    rep = neurocompile.check(graph(), target="loihi2", dt=1.0, learning={"fc": r3})
    assert not rep.has_errors, rep.findings
    rep = neurocompile.check(
        graph(),
        target="loihi2",
        dt=1.0,
        learning={"fc": rstdp(lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20)},
    )
    assert rep.by_code("loihi2-learning-reward")
    tiny = stdp_pair(A_plus=0.4, A_minus=1e-6, tau_plus=8, tau_minus=8)
    rep = neurocompile.check(graph(), target="loihi2", dt=1.0, learning={"fc": tiny})
    dropped = rep.by_code("loihi2-learning-product-dropped")
    assert dropped and dropped[0].node == "fc"
    rounded = rep.by_code("loihi2-learning-rounded")
    assert rounded and "requested" in rounded[0].message and "effective" in rounded[0].message
    # a rule on a node that is not a weight node
    rep = neurocompile.check(graph(), target="loihi2", dt=1.0, learning={"lif": rule()})
    (f,) = rep.by_code("learning-node")
    assert f.node == "lif" and "fc" in f.message
    # a TOML file that does not parse is one finding, not an exception
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nprojection = 'fc'\nkind = 'nope'\n")
    rep = neurocompile.check(graph(), target="loihi2", dt=1.0, learning=bad)
    assert rep.by_code("learning-rules") and rep.has_errors
