"""Unit tests of the float reference simulator (``neurocompile.simulate``).

Expected values come from independent facts: closed-form solutions of the neuron ODEs,
hand-stepped recursions written out in the test, PyTorch's own conv/pool (where torch is
installed) and the paper's ``tau = dt/(1-beta)`` convention (``docs/reference/nir.md`` §2.1).
"""

from __future__ import annotations

import numpy as np
import pytest

from neurocompile import simulate
from neurocompile.errors import GraphError, InputDataError, ParameterError, SemanticsError
from neurocompile.ir import Graph, Node


def A(*v):
    return np.asarray(v, dtype=np.float64)


def chain(*nodes: Node, extra_edges=()) -> Graph:
    """Input -> nodes... -> Output, shapes left to the simulator."""
    names = [n.name for n in nodes]
    edges = list(zip(names[:-1], names[1:])) + list(extra_edges)
    return Graph(nodes={n.name: n for n in nodes}, edges=edges)


def inp(shape, name="in"):
    return Node(name, "Input", {"shape": tuple(shape)})


def out(shape, name="out"):
    return Node(name, "Output", {"shape": tuple(shape)})


# ------------------------------------------------------------------------- neurons
@pytest.mark.parametrize("disc", ["forward", "exponential"])
def test_lif_constant_input_matches_closed_form(disc):
    dt, tau, r, vl, x = 1e-3, 5e-3, 2.0, 0.1, 0.7
    g = chain(
        inp((1,)),
        Node(
            "n", "LIF", {"tau": A(tau), "r": A(r), "v_leak": A(vl), "v_threshold": A(1e9), "v_reset": A(0.0)}
        ),
        out((1,)),
    )
    T = 40
    res = simulate(g, {"in": np.full((1, T, 1), x)}, dt=dt, discretization=disc, record=["n.v"])
    a = 1 - dt / tau if disc == "forward" else np.exp(-dt / tau)
    c = vl + r * x
    n = np.arange(1, T + 1)
    # v[n] = c (1 - a^n) solves v <- a v + (1-a) c from v = 0; for exponential this is the
    # exact ODE solution tau v' = c - v sampled at n*dt.
    np.testing.assert_allclose(res.recordings["n.v"][0, :, 0], c * (1 - a**n), rtol=1e-12)
    if disc == "exponential":
        np.testing.assert_allclose(
            res.recordings["n.v"][0, :, 0], c * (1 - np.exp(-n * dt / tau)), rtol=1e-12
        )
    assert res.semantics["discretization"] == disc and res.backend == "reference" and res.fidelity == "float"


def test_li_outputs_membrane_and_integrator():
    dt = 0.5
    g = Graph(
        nodes={
            "in": inp((2,)),
            "li": Node("li", "LI", {"tau": A(1.0, 2.0), "r": A(1.0, 1.0), "v_leak": A(0, 0)}),
            "i": Node("i", "I", {"r": A(2.0, 3.0)}),
            "o1": out((2,), "o1"),
            "o2": out((2,), "o2"),
        },
        edges=[("in", "li"), ("li", "o1"), ("in", "i"), ("i", "o2")],
    )
    x = np.zeros((1, 3, 2))
    x[0, 0] = [1.0, 1.0]
    res = simulate(g, {"in": x}, dt=dt)
    # LI forward: v0 = dt/tau * x, then v *= (1 - dt/tau)
    np.testing.assert_allclose(res.outputs["o1"][0, :, 0], [0.5, 0.25, 0.125])
    np.testing.assert_allclose(res.outputs["o1"][0, :, 1], [0.25, 0.1875, 0.140625])
    # I: v += dt R x
    np.testing.assert_allclose(res.outputs["o2"][0, :, :], [[1.0, 1.5]] * 3)


@pytest.mark.parametrize("reset,after", [("subtract", 0.2), ("zero", 0.0), ("file", -0.5)])
def test_if_reset_modes_and_strict_threshold(reset, after):
    # dt*R*x = 0.3 per step: v = 0.3, 0.6, 0.9, 1.2 -> spike at step 3 (index), then reset.
    g = chain(inp((1,)), Node("n", "IF", {"r": A(3.0), "v_threshold": A(1.0), "v_reset": A(-0.5)}), out((1,)))
    res = simulate(g, {"in": np.full((1, 5, 1), 1.0)}, dt=0.1, reset=reset, record="n.v,n.spikes")
    np.testing.assert_array_equal(res.outputs["out"][0, :, 0], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(res.recordings["n.spikes"], res.outputs["out"])
    v = res.recordings["n.v"][0, :, 0]
    np.testing.assert_allclose(v[:3], [0.3, 0.6, 0.9])
    assert v[3] == pytest.approx(after)  # recorded v is after reset
    assert v[4] == pytest.approx(after + 0.3)


def test_threshold_is_strict():
    # v reaches exactly 1.0 = v_threshold at step 1: no spike (v > theta), spike at step 2.
    g = chain(inp((1,)), Node("n", "IF", {"r": A(1.0), "v_threshold": A(1.0), "v_reset": A(0.0)}), out((1,)))
    res = simulate(g, {"in": np.full((1, 3, 1), 0.5)}, dt=1.0)
    np.testing.assert_array_equal(res.outputs["out"][0, :, 0], [0, 0, 1])


def test_cuba_paper_convention_gives_alpha_beta_recursion():
    """nir.md §2.1: tau = dt/(1-beta), r = tau_mem/dt, w_in = tau_syn/dt under forward Euler
    gives exactly I <- alpha I + x, v <- beta v + I (with the NEW I), as snnTorch's Synaptic."""
    rng = np.random.default_rng(3)
    dt, alpha, beta, n = 1e-4, np.array([0.55, 0.8, 0.3]), np.array([0.9, 0.95, 0.7]), 3
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    theta = np.array([1.0, 0.7, 1.3])
    g = chain(
        inp((n,)),
        Node(
            "c",
            "CubaLIF",
            {
                "tau_syn": tau_syn,
                "tau_mem": tau_mem,
                "r": tau_mem / dt,
                "v_leak": np.zeros(n),
                "v_threshold": theta,
                "w_in": tau_syn / dt,
                "v_reset": np.zeros(n),
            },
        ),
        out((n,)),
    )
    T = 60
    x = rng.normal(0.4, 0.5, size=(2, T, n))
    res = simulate(g, {"in": x}, dt=dt, reset="subtract", record="c.u,c.v")
    i_syn = np.zeros((2, n))
    v = np.zeros((2, n))
    zs, us, vs = [], [], []
    for t in range(T):
        i_syn = alpha * i_syn + x[:, t]
        v = beta * v + i_syn
        z = v > theta
        v = v - z * theta
        zs.append(z), us.append(i_syn.copy()), vs.append(v.copy())
    np.testing.assert_allclose(res.recordings["c.u"], np.stack(us, 1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.recordings["c.v"], np.stack(vs, 1), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(res.outputs["out"], np.stack(zs, 1).astype(float))
    assert res.outputs["out"].sum() > 10


def test_cubali_exponential_synapse():
    dt = 1.0
    g = chain(
        inp((1,)),
        Node(
            "c",
            "CubaLI",
            {"tau_syn": A(2.0), "tau_mem": A(4.0), "r": A(1.0), "v_leak": A(0.0), "w_in": A(3.0)},
        ),
        out((1,)),
    )
    x = np.zeros((1, 3, 1))
    x[0, 0, 0] = 1.0
    res = simulate(g, {"in": x}, dt=dt, discretization="exponential", record="c.u")
    a_s, a_m = np.exp(-0.5), np.exp(-0.25)
    I0 = (1 - a_s) * 3.0
    v0 = (1 - a_m) * I0
    I1 = a_s * I0
    v1 = a_m * v0 + (1 - a_m) * I1
    np.testing.assert_allclose(res.recordings["c.u"][0, :2, 0], [I0, I1])
    np.testing.assert_allclose(res.outputs["out"][0, :2, 0], [v0, v1])


# ------------------------------------------------------------------------- structure
def test_affine_linear_scale_and_sum_of_edges():
    rng = np.random.default_rng(0)
    W1, b1, W2, s = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(4, 3)), rng.normal(size=4)
    g = Graph(
        nodes={
            "in": inp((3,)),
            "a": Node("a", "Affine", {"weight": W1, "bias": b1}),
            "l": Node("l", "Linear", {"weight": W2}),
            "s": Node("s", "Scale", {"scale": s}),
            "out": out((4,)),
        },
        edges=[("in", "a"), ("in", "l"), ("a", "s"), ("l", "s"), ("s", "out")],
    )
    x = rng.normal(size=(3, 5, 3))
    res = simulate(g, {"in": x}, dt=1.0)
    np.testing.assert_allclose(res.outputs["out"], ((x @ W1.T + b1) + x @ W2.T) * s, rtol=1e-12)


def test_flatten_counts_dims_without_batch():
    g = chain(inp((2, 3, 4)), Node("f", "Flatten", {"start_dim": 1, "end_dim": -1}), out((2, 12)))
    x = np.arange(2 * 4 * 24, dtype=float).reshape(2, 4, 2, 3, 4)
    res = simulate(g, {"in": x}, dt=1.0)
    np.testing.assert_array_equal(res.outputs["out"], x.reshape(2, 4, 2, 12))
    g0 = chain(inp((2, 3, 4)), Node("f", "Flatten", {"start_dim": 0, "end_dim": -1}), out((24,)))
    np.testing.assert_array_equal(simulate(g0, {"in": x}, dt=1.0).outputs["out"], x.reshape(2, 4, 24))


def test_threshold_node():
    g = chain(inp((3,)), Node("t", "Threshold", {"threshold": A(0.0, 1.0, -1.0)}), out((3,)))
    res = simulate(g, {"in": np.array([[[0.0, 1.0, -0.5], [0.1, 1.1, -1.0]]])}, dt=1.0)
    np.testing.assert_array_equal(res.outputs["out"][0], [[0, 0, 1], [1, 1, 0]])


def test_delay_in_graph_time_units():
    g = chain(inp((3,)), Node("d", "Delay", {"delay": A(0.0, 2e-3, 3e-3)}), out((3,)))
    x = np.zeros((2, 6, 3))
    x[:, 0] = 1.0
    x[1, 1] = 2.0
    res = simulate(g, {"in": x}, dt=1e-3)
    expected = np.zeros_like(x)
    for k, d in enumerate([0, 2, 3]):
        expected[:, d:, k] = x[:, : 6 - d, k]
    np.testing.assert_array_equal(res.outputs["out"], expected)


@pytest.mark.parametrize("delay", [1.5e-3, -1e-3])
def test_delay_must_be_whole_non_negative_steps(delay):
    g = chain(inp((1,)), Node("d", "Delay", {"delay": A(delay)}), out((1,)))
    with pytest.raises(ParameterError) as e:
        simulate(g, {"in": np.zeros((1, 2, 1))}, dt=1e-3)
    assert e.value.node == "d" and e.value.parameter == "delay"


def _conv_torch(x, w, b, stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    f = torch.nn.functional.conv2d if w.ndim == 4 else torch.nn.functional.conv1d
    return f(
        torch.from_numpy(x),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    ).numpy()


@pytest.mark.parametrize("seed", range(6))
def test_conv2d_matches_pytorch(seed):
    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 2]))
    cin, cout = 2 * groups, 2 * groups
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    same = seed % 3 == 0
    padding = "same" if same else (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    if same:
        stride = (1, 1)
    w = rng.normal(size=(cout, cin // groups, *k))
    b = rng.normal(size=cout)
    H, W = 9, 8
    conv = Node(
        "c",
        "Conv2d",
        {
            "weight": w,
            "bias": b,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        },
    )
    g = Graph(
        nodes={"in": inp((cin, H, W)), "c": conv, "out": Node("out", "Output", {"shape": (1,)})},
        edges=[("in", "c"), ("c", "out")],
    )
    x = rng.normal(size=(2, 3, cin, H, W))
    res = simulate(g, {"in": x}, dt=1.0)
    ref = _conv_torch(x.reshape(6, cin, H, W), w, b, stride, padding, dilation, groups)
    got = res.outputs["out"]
    assert got.shape[2:] == ref.shape[1:], f"seed {seed}"
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=1e-10, atol=1e-10, err_msg=f"seed {seed}")


def test_conv1d_matches_pytorch():
    rng = np.random.default_rng(7)
    w, b = rng.normal(size=(4, 1, 3)), rng.normal(size=4)
    g = chain(
        inp((2, 11)),
        Node(
            "c",
            "Conv1d",
            {"weight": w, "bias": b, "stride": (2,), "padding": (1,), "dilation": (2,), "groups": 2},
        ),
        out((1,)),
    )
    x = rng.normal(size=(2, 2, 2, 11))
    ref = _conv_torch(x.reshape(4, 2, 11), w, b, 2, 1, 2, 2)
    np.testing.assert_allclose(
        simulate(g, {"in": x}, dt=1.0).outputs["out"].reshape(ref.shape), ref, rtol=1e-10
    )


@pytest.mark.parametrize("kind", ["SumPool2d", "AvgPool2d"])
def test_pooling_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 3, 7, 6))
    g = chain(
        inp((3, 7, 6)),
        Node("p", kind, {"kernel_size": (2, 3), "stride": (2, 2), "padding": (1, 1)}),
        out((1,)),
    )
    got = simulate(g, {"in": x}, dt=1.0).outputs["out"]
    ref = torch.nn.functional.avg_pool2d(
        torch.from_numpy(x.reshape(4, 3, 7, 6)), (2, 3), (2, 2), (1, 1), count_include_pad=True
    ).numpy()
    if kind == "SumPool2d":
        ref = ref * 6
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=1e-12)


# ------------------------------------------------------------------------- timing
def _two_layer(reset="zero"):
    def neuron(name):
        return Node(name, "IF", {"r": A(1.0), "v_threshold": A(0.5), "v_reset": A(0.0)})

    return chain(
        inp((1,)),
        Node("w1", "Affine", {"weight": A([1.0]).reshape(1, 1), "bias": A(0.0)}),
        neuron("n1"),
        Node("w2", "Linear", {"weight": A([1.0]).reshape(1, 1)}),
        neuron("n2"),
        out((1,)),
    )


def test_hop_delay_adds_one_step_per_synaptic_hop():
    x = np.zeros((1, 8, 1))
    x[0, 2] = 1.0
    g = _two_layer()
    r0 = simulate(g, {"in": x}, dt=1.0, hop_delay=0, record="n1.spikes")
    r1 = simulate(g, {"in": x}, dt=1.0, hop_delay=1, record="n1.spikes")
    assert np.nonzero(r0.outputs["out"][0, :, 0])[0].tolist() == [2]
    assert np.nonzero(r0.recordings["n1.spikes"][0, :, 0])[0].tolist() == [2]
    # Input->w1 and n1->w2 each deliver the previous step's value: +1 step per neuron layer.
    assert np.nonzero(r1.recordings["n1.spikes"][0, :, 0])[0].tolist() == [3]
    assert np.nonzero(r1.outputs["out"][0, :, 0])[0].tolist() == [4]
    assert r1.semantics["hop_delay"] == 1


def _recurrent(w_rec=1.0):
    return Graph(
        nodes={
            "in": inp((1,)),
            "w": Node("w", "Affine", {"weight": np.array([[1.0]]), "bias": A(0.0)}),
            "n": Node("n", "IF", {"r": A(1.0), "v_threshold": A(0.5), "v_reset": A(0.0)}),
            "rec": Node("rec", "Linear", {"weight": np.array([[w_rec]])}),
            "out": out((1,)),
        },
        edges=[("in", "w"), ("w", "n"), ("n", "out"), ("n", "rec"), ("rec", "n")],
    )


def test_back_edge_reads_previous_step():
    # One input pulse at t=1: spike at t=1; the recurrent edge (rec -> n closes the cycle)
    # delivers that spike at t=2, so with w_rec=1 the neuron keeps firing every step.
    x = np.zeros((1, 5, 1))
    x[0, 1] = 1.0
    res = simulate(_recurrent(), {"in": x}, dt=1.0, reset="zero")
    np.testing.assert_array_equal(res.outputs["out"][0, :, 0], [0, 1, 1, 1, 1])
    # With w_rec = 0.3: t=2 v=0.3, t=3 0.3 (no new spike) ... the echo is one step late.
    res = simulate(_recurrent(0.3), {"in": x}, dt=1.0, reset="zero", record="n.v")
    np.testing.assert_allclose(res.recordings["n.v"][0, :, 0], [0, 0, 0.3, 0.3, 0.3])


def test_hop_delay_1_cycle_without_neuron_is_error():
    g = Graph(
        nodes={
            "in": inp((1,)),
            "a": Node("a", "Linear", {"weight": np.array([[1.0]])}),
            "b": Node("b", "Linear", {"weight": np.array([[0.5]])}),
            "out": out((1,)),
        },
        edges=[("in", "a"), ("a", "b"), ("b", "a"), ("a", "out")],
    )
    x = np.ones((1, 3, 1))
    # hop_delay 0: b -> a is a back-edge: a[t] = x + 0.5 a[t-1]
    np.testing.assert_allclose(simulate(g, {"in": x}, dt=1.0).outputs["out"][0, :, 0], [1, 1.5, 1.75])
    with pytest.raises(GraphError):
        simulate(g, {"in": x}, dt=1.0, hop_delay=1)


# ------------------------------------------------------------------------- errors
def test_dt_required_and_from_metadata():
    g = _two_layer()
    with pytest.raises(SemanticsError) as e:
        simulate(g, {"in": np.zeros((1, 2, 1))})
    assert e.value.parameter == "dt"
    g.metadata["dt"] = 0.25
    assert simulate(g, {"in": np.zeros((1, 2, 1))}).semantics["dt"] == 0.25


def test_legacy_reset_file_is_refused():
    g = chain(
        inp((1,)),
        Node("n", "LIF", {"tau": A(1.0), "r": A(1.0), "v_leak": A(0.0), "v_threshold": A(1.0)}),
        out((1,)),
    )
    g.legacy_reset = ("n",)
    with pytest.raises(SemanticsError) as e:
        simulate(g, {"in": np.zeros((1, 2, 1))}, dt=0.1, reset="file")
    assert e.value.node == "n" and e.value.parameter == "v_reset"
    assert 'reset="subtract"' in str(e.value) and 'reset="zero"' in str(e.value)
    simulate(g, {"in": np.zeros((1, 2, 1))}, dt=0.1, reset="subtract")


@pytest.mark.parametrize("record,node", [("nope.v", "nope"), ("w1.v", "w1"), ("n1.u", "n1")])
def test_record_errors_name_node(record, node):
    with pytest.raises(InputDataError) as e:
        simulate(_two_layer(), {"in": np.zeros((1, 2, 1))}, dt=1.0, record=record)
    assert e.value.node == node


def test_bad_inputs():
    g = _two_layer()
    with pytest.raises(InputDataError):
        simulate(g, {"x": np.zeros((1, 2, 1))}, dt=1.0)
    with pytest.raises(InputDataError):
        simulate(g, {"in": np.zeros((1, 2, 3))}, dt=1.0)


def test_nonpositive_tau_is_parameter_error():
    g = chain(
        inp((2,)),
        Node(
            "n",
            "LIF",
            {
                "tau": A(1.0, 0.0),
                "r": A(1.0, 1.0),
                "v_leak": A(0, 0),
                "v_threshold": A(1, 1),
                "v_reset": A(0, 0),
            },
        ),
        out((2,)),
    )
    with pytest.raises(ParameterError) as e:
        simulate(g, {"in": np.zeros((1, 2, 2))}, dt=0.1)
    assert e.value.node == "n" and e.value.parameter == "tau"


# ------------------------------------------------------------------------- paper graphs
@pytest.mark.parametrize(
    "rel,reset,out_shape",
    [
        ("02_cnn/cnn_sinabs.nir", "subtract", (10,)),
        ("03_rnn/braille_noDelay_bias_zero.nir", "zero", (7,)),
        ("03_rnn/braille_noDelay_noBias_subtract.nir", "subtract", (7,)),
    ],
)
def test_paper_graphs_simulate(paper_data, rel, reset, out_shape):
    import neurocompile as nc

    g = nc.load(paper_data / rel)
    shape = tuple(g.nodes["input"].output_shape)
    rng = np.random.default_rng(0)
    x = (rng.random((2, 50, *shape)) < 0.2).astype(float)
    res = nc.simulate(g, {"input": x}, dt=1.0 if "cnn" in rel else 1e-4, reset=reset)
    assert res.outputs["output"].shape == (2, 50, *out_shape)
    assert set(np.unique(res.outputs["output"])) <= {0.0, 1.0}
    # legacy files: the file's reset is not guessed
    assert g.legacy_reset
    with pytest.raises(SemanticsError) as e:
        nc.simulate(g, {"input": x}, dt=1e-4, reset="file")
    assert e.value.node in g.legacy_reset and 'reset="subtract"' in str(e.value)


# ------------------------------------------------------------------------- CLI
def _cli(*args):
    from neurocompile.cli.main import main

    return main([str(a) for a in args])


def _write_recurrent(tmp_path):
    from neurocompile.nirio import write_nir

    path = tmp_path / "rec.nir"
    write_nir(_recurrent(), path)
    return path


def test_cli_simulate_round_trip(tmp_path, capsys):
    model = _write_recurrent(tmp_path)
    x = np.zeros((2, 5, 1))
    x[:, 1] = 1.0
    np.savez(tmp_path / "in.npz", **{"in": x})
    rc = _cli(
        "simulate",
        model,
        "--input",
        tmp_path / "in.npz",
        "--output",
        tmp_path / "out.npz",
        "--dt",
        1.0,
        "--reset",
        "zero",
        "--record",
        "n.v,n.spikes",
    )
    assert rc == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "reference" in line and "out=8" in line
    with np.load(tmp_path / "out.npz") as f:
        assert set(f.files) == {"out", "n.v", "n.spikes", "__meta__"}
        np.testing.assert_array_equal(f["out"][:, :, 0], [[0, 1, 1, 1, 1]] * 2)
        np.testing.assert_array_equal(f["n.spikes"], f["out"])
        assert '"reset": "zero"' in str(f["__meta__"])


@pytest.mark.parametrize("bad", ["missing_key", "wrong_shape", "unknown_record"])
def test_cli_simulate_bad_input_exits_2_with_one_line(tmp_path, capsys, bad):
    model = _write_recurrent(tmp_path)
    data = (
        {"x": np.zeros((1, 3, 1))}
        if bad == "missing_key"
        else {"in": np.zeros((1, 3, 2 if bad == "wrong_shape" else 1))}
    )
    np.savez(tmp_path / "in.npz", **data)
    extra = ["--record", "w.v"] if bad == "unknown_record" else []
    rc = _cli(
        "simulate",
        model,
        "--input",
        tmp_path / "in.npz",
        "--output",
        tmp_path / "out.npz",
        "--dt",
        1.0,
        "--reset",
        "zero",
        *extra,
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "error" in err and "Traceback" not in err
    assert not (tmp_path / "out.npz").exists()
