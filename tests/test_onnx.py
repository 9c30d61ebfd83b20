"""ONNX frontend: every supported op against onnx's own reference evaluator, BatchNorm folding,
unsupported ops named by check and load, rate-conversion facts and the bundled MLP's >= 97 % claim.

Independent facts used:

* ``onnx.reference.ReferenceEvaluator`` (onnx's own executor) is the ANN ground truth;
* an IF neuron with threshold 1, reset by subtraction and constant input ``a`` in [0, 1]
  emits ``floor(T a)`` spikes in T steps, up to one (``v > 1`` strict, float rounding), so a
  converted layer's spike count must be within one spike of ``T * relu(z) / lambda``;
* Rueckauer et al. 2017: ``lambda_l`` is the p-th percentile of the layer's positive activations.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

import neurocompile as nc  # noqa: E402
from neurocompile.errors import UnsupportedError  # noqa: E402
from neurocompile.onnx_frontend import parse_onnx  # noqa: E402


# ---------------------------------------------------------------------------- builders
def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def _model(nodes, in_shape, out_shape, inits, opset=17):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, *out_shape])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


def _onnx_ref(model, x):
    return ReferenceEvaluator(model).run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)


def _mlp(rng, transB=1, alpha=1.0, beta=1.0, extra=()):
    w1 = rng.normal(0, 0.6, (12, 6) if transB else (6, 12))
    w2 = rng.normal(0, 0.6, (4, 12))
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=transB, alpha=alpha, beta=beta),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        *extra,
        helper.make_node(
            "Gemm", [extra[-1].output[0] if extra else "r", "w2", "b2"], ["y"], name="fc2", transB=1
        ),
    ]
    return _model(
        nodes,
        [6],
        [4],
        [
            _init("w1", w1),
            _init("b1", rng.normal(0, 0.2, 12)),
            _init("w2", w2),
            _init("b2", rng.normal(0, 0.2, 4)),
        ],
    )


def _cnn(rng, with_bn=True, pool="AveragePool", conv1d=False):
    if conv1d:
        w = rng.normal(0, 0.5, (3, 2, 3))
        x_shape, pads, kshape = [2, 10], [1, 1], None
    else:
        w = rng.normal(0, 0.5, (3, 2, 3, 3))
        x_shape, pads, kshape = [2, 6, 6], [1, 1, 1, 1], [2, 2]
    nodes = [helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", pads=pads)]
    inits = [_init("cw", w), _init("cb", rng.normal(0, 0.1, 3))]
    last = "c"
    if with_bn:
        nodes.append(
            helper.make_node(
                "BatchNormalization", ["c", "g", "be", "mu", "var"], ["bn"], name="bn", epsilon=1e-3
            )
        )
        inits += [
            _init("g", rng.uniform(0.5, 2, 3)),
            _init("be", rng.normal(0, 0.3, 3)),
            _init("mu", rng.normal(0, 0.5, 3)),
            _init("var", rng.uniform(0.3, 3, 3)),
        ]
        last = "bn"
    nodes.append(helper.make_node("Relu", [last], ["r"], name="relu"))
    last = "r"
    if not conv1d:
        if pool == "AveragePool":
            nodes.append(
                helper.make_node(
                    "AveragePool", ["r"], ["p"], name="pool", kernel_shape=kshape, strides=[2, 2]
                )
            )
            n_flat = 3 * 3 * 3
        else:
            nodes.append(helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"))
            n_flat = 3
        last = "p"
    else:
        n_flat = 3 * 10
    nodes += [
        helper.make_node("Flatten", [last], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1),
    ]
    inits += [_init("w2", rng.normal(0, 0.5, (4, n_flat))), _init("b2", rng.normal(0, 0.1, 4))]
    return _model(nodes, x_shape, [4], inits)


# ---------------------------------------------------------------------------- ANN side vs onnx
@pytest.mark.parametrize("transB,alpha,beta", [(1, 1.0, 1.0), (0, 0.5, 2.0)])
def test_gemm_variants_match_onnx(transB, alpha, beta):
    rng = np.random.default_rng(1)
    m = _mlp(rng, transB, alpha, beta)
    x = rng.random((20, 6))
    np.testing.assert_allclose(parse_onnx(m).forward(x), _onnx_ref(m, x), rtol=1e-5, atol=1e-5)


def test_matmul_add_identity_dropout_constant_softmax_match_onnx():
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["bias"],
            name="cst",
            value=numpy_helper.from_array(rng.normal(0, 0.2, 5).astype(np.float32)),
        ),
        helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
        helper.make_node("Add", ["m", "bias"], ["a"], name="add"),
        helper.make_node("Identity", ["a"], ["i"], name="ident"),
        helper.make_node("Relu", ["i"], ["r"], name="relu"),
        helper.make_node("Dropout", ["r"], ["d"], name="drop"),
        helper.make_node("Reshape", ["d", "shape"], ["rs"], name="reshape"),
        helper.make_node("MatMul", ["rs", "w2"], ["z"], name="mm2"),
        helper.make_node("Softmax", ["z"], ["y"], name="softmax", axis=1),
    ]
    m = _model(
        nodes,
        [3],
        [2],
        [
            _init("w", rng.normal(0, 1, (3, 5))),
            _init("w2", rng.normal(0, 1, (5, 2))),
            numpy_helper.from_array(np.array([-1, 5], np.int64), "shape"),
        ],
    )
    ann = parse_onnx(m)
    assert [la.kind for la in ann.layers] == ["affine", "relu", "flatten", "affine"]
    x = rng.random((30, 3))
    ref = _onnx_ref(m, x)
    got = ann.forward(x)
    # the final Softmax is dropped (argmax unchanged): compare logits through onnx's softmax
    sm = np.exp(got - got.max(1, keepdims=True))
    np.testing.assert_allclose(sm / sm.sum(1, keepdims=True), ref, rtol=1e-5, atol=1e-6)
    assert (got.argmax(1) == ref.argmax(1)).all()
    g = nc.load(m, calibration=x)
    assert [n.kind for n in g.nodes.values()] == [
        "Input",
        "Affine",
        "IF",
        "Flatten",
        "Affine",
        "IF",
        "Output",
    ]


@pytest.mark.parametrize("pool", ["AveragePool", "GlobalAveragePool"])
def test_conv_bn_pool_flatten_match_onnx(pool):
    """BatchNormalization folded into the Conv is exact on the ANN side (vs onnx's BN)."""
    rng = np.random.default_rng(3)
    m = _cnn(rng, with_bn=True, pool=pool)
    x = rng.random((16, 2, 6, 6))
    ann = parse_onnx(m)
    assert [la.kind for la in ann.layers] == ["conv", "relu", "avgpool", "flatten", "affine"]
    assert ann.layers[0].onnx_nodes == ("conv", "bn")
    np.testing.assert_allclose(ann.forward(x), _onnx_ref(m, x), rtol=1e-4, atol=1e-5)


def test_conv1d_and_gemm_bn_fold_match_onnx():
    rng = np.random.default_rng(4)
    m = _cnn(rng, with_bn=True, conv1d=True)
    x = rng.random((10, 2, 10))
    np.testing.assert_allclose(parse_onnx(m).forward(x), _onnx_ref(m, x), rtol=1e-4, atol=1e-5)
    bn = [helper.make_node("BatchNormalization", ["h", "g", "be", "mu", "var"], ["hb"], name="bn1")]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
        *bn,
        helper.make_node("Relu", ["hb"], ["y"], name="relu"),
    ]
    m2 = _model(
        nodes,
        [6],
        [5],
        [
            _init("w1", rng.normal(0, 1, (5, 6))),
            _init("b1", rng.normal(0, 1, 5)),
            _init("g", rng.uniform(0.5, 2, 5)),
            _init("be", rng.normal(0, 1, 5)),
            _init("mu", rng.normal(0, 1, 5)),
            _init("var", rng.uniform(0.2, 2, 5)),
        ],
    )
    x = rng.random((10, 6))
    np.testing.assert_allclose(parse_onnx(m2).forward(x), _onnx_ref(m2, x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- SNN side
def test_converted_layer_rates_follow_relu_over_lambda():
    """Gemm -> Relu: each IF neuron's count is floor(T * min(relu(z)/lambda, 1)) up to one spike,
    lambda being the 99.9th percentile of positive activations on the calibration set."""
    rng = np.random.default_rng(5)
    w, b = rng.normal(0, 1, (8, 5)), rng.normal(0, 0.3, 8)
    m = _model(
        [
            helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc", transB=1),
            helper.make_node("Relu", ["h"], ["y"], name="relu"),
        ],
        [5],
        [8],
        [_init("w", w), _init("b", b)],
    )
    cal = rng.random((200, 5))
    g = nc.load(m, calibration=cal)
    z = np.maximum(_onnx_ref(m, cal), 0)
    lam = np.percentile(z[z > 0], 99.9)
    assert g.conventions["layer_scales"] == pytest.approx([lam], rel=1e-5)
    assert g.conventions["normalisation"] == "data-based"
    T = 200
    x = rng.random((40, 5))
    counts = (
        nc.simulate(g, {g.inputs[0]: np.repeat(x[:, None], T, 1)}, reset="subtract").outputs["output"].sum(1)
    )
    want = np.floor(T * np.minimum(np.maximum(_onnx_ref(m, x), 0) / lam, 1.0))
    assert np.abs(counts - want).max() <= 1.0 + 1e-9
    assert counts.sum() > 0


def test_snn_matches_ann_argmax_on_random_cnn():
    rng = np.random.default_rng(6)
    m = _cnn(rng, with_bn=True)
    cal = rng.random((100, 2, 6, 6))
    g = nc.load(m, calibration=cal)
    assert [n.kind for n in g.nodes.values()] == [
        "Input",
        "Conv2d",
        "IF",
        "AvgPool2d",
        "Flatten",
        "Affine",
        "IF",
        "Output",
    ]
    x = rng.random((40, 2, 6, 6))
    ref = _onnx_ref(m, x)
    out = nc.simulate(g, {"x": np.repeat(x[:, None], 300, 1)}, reset="subtract").outputs["output"].sum(1)
    win = ref.max(1) > 0  # a negative winning logit gives no output spikes at all (documented)
    assert win.sum() > 20
    assert (out[win].argmax(1) == ref[win].argmax(1)).mean() >= 0.9


def test_reset_must_be_chosen_and_metadata_says_subtract():
    rng = np.random.default_rng(7)
    g = nc.load(_mlp(rng))
    assert g.metadata["dt"] == 1.0 and g.metadata["reset"] == "subtract"
    assert set(g.legacy_reset) == {n for n, node in g.nodes.items() if node.kind == "IF"}
    x = {g.inputs[0]: np.ones((1, 3, 6))}
    with pytest.raises(nc.NeurocompileError, match="subtract"):
        nc.simulate(g, x)
    nc.simulate(g, x, reset="subtract")


def test_weight_based_fallback_is_said_and_never_saturates():
    rng = np.random.default_rng(8)
    m = _mlp(rng)
    g = nc.load(m)
    assert g.conventions["normalisation"].startswith("weight-based")
    cal = rng.random((300, 6))
    g_data = nc.load(m, calibration=cal)
    # the weight bound is an upper bound of every activation: scales are >= the percentile ones
    assert all(w >= d for w, d in zip(g.conventions["layer_scales"], g_data.conventions["layer_scales"]))
    res = nc.simulate(
        g, {g.inputs[0]: np.repeat(cal[:50, None], 50, 1)}, reset="subtract", record=["if0.spikes"]
    )
    assert res.recordings["if0.spikes"].mean(1).max() < 1.0  # below one spike per step: no clipping


def test_percentile_option_and_bad_calibration():
    rng = np.random.default_rng(9)
    m = _mlp(rng)
    cal = rng.random((100, 6))
    lo = nc.load(m, calibration=cal, percentile=50.0).conventions["layer_scales"]
    hi = nc.load(m, calibration=cal, percentile=100.0).conventions["layer_scales"]
    assert all(a < b for a, b in zip(lo, hi))
    with pytest.raises(nc.NeurocompileError, match="calibration"):
        nc.load(m, calibration=np.ones((4, 7)))


# ---------------------------------------------------------------------------- unsupported
def _with_unsupported():
    rng = np.random.default_rng(10)
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1),
        helper.make_node("Sigmoid", ["h"], ["s"], name="squash"),
        helper.make_node("Gemm", ["s", "w2"], ["h2"], name="fc2", transB=1),
        helper.make_node("Relu", ["h2"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "w3"], ["y"], name="fc3", transB=1),
    ]
    return _model(
        nodes,
        [4],
        [3],
        [
            _init("w1", rng.normal(size=(5, 4))),
            _init("w2", rng.normal(size=(6, 5))),
            _init("w3", rng.normal(size=(3, 6))),
        ],
    )


def test_unsupported_ops_named_by_check_and_load(tmp_path):
    m = _with_unsupported()
    report = nc.check(m)
    found = report.by_code("unsupported-onnx-op")
    assert [f.node for f in found] == ["squash"]
    assert "Sigmoid" in found[0].message and found[0].severity == "error"
    assert "unsupported-primitive" not in report.codes and "shape-mismatch" not in report.codes
    with pytest.raises(UnsupportedError, match="Sigmoid 'squash'"):
        nc.load(m)
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    assert [f.node for f in nc.check(path).by_code("unsupported-onnx-op")] == ["squash"]


def test_every_unsupported_op_is_listed_including_maxpool_and_branches():
    rng = np.random.default_rng(11)
    nodes = [
        helper.make_node("Conv", ["x", "cw"], ["c"], name="conv"),
        helper.make_node("MaxPool", ["c"], ["p"], name="maxpool", kernel_shape=[2, 2]),
        helper.make_node("Relu", ["p"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "p"], ["a"], name="residual"),
        helper.make_node("Flatten", ["a"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w"], ["y"], name="fc", transB=1),
    ]
    m = _model(
        nodes,
        [1, 5, 5],
        [2],
        [_init("cw", rng.normal(size=(2, 1, 2, 2))), _init("w", rng.normal(size=(2, 8)))],
    )
    with pytest.raises(UnsupportedError) as err:
        nc.load(m)
    assert "MaxPool 'maxpool'" in str(err.value) and "Add 'residual'" in str(err.value)
    assert {f.node for f in nc.check(m).by_code("unsupported-onnx-op")} == {"maxpool", "residual"}


# ---------------------------------------------------------------------------- bundled MLP
def test_bundled_onnx_mlp_keeps_97_percent_of_ann_accuracy():
    """digits_mlp_onnx: the ANN (run by onnx's own evaluator on the test images) vs the
    converted SNN (neurocompile's reference, 64 steps of constant analog input)."""
    from neurocompile.models import load_card, load_test_set, model_path, reference_accuracy

    card = load_card("digits_mlp_onnx")
    inputs, labels = load_test_set("digits_mlp_onnx")
    x = inputs["input"][:, 0]  # the analog value is constant over the run
    assert (inputs["input"] == x[:, None]).all()
    proto = onnx.load(str(model_path("digits_mlp_onnx", "onnx")))
    logits = ReferenceEvaluator(proto).run(None, {"input": x.astype(np.float32)})[0]
    ann_acc = float((logits.argmax(1) == labels).mean())
    snn_acc = reference_accuracy("digits_mlp_onnx")
    assert card["steps"] == inputs["input"].shape[1] == 64
    assert ann_acc == pytest.approx(card["accuracy"]["ann_onnx"])
    assert snn_acc >= 0.97 * ann_acc, (snn_acc, ann_acc)
    assert ann_acc > 0.9
