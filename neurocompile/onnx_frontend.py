"""ONNX ANN -> rate-coded SNN of IF neurons, with data-based threshold balancing.

``convert(model, calibration=...)`` (what ``neurocompile.load("model.onnx", calibration=...)``
calls) reads a *sequential* ReLU network with the ``onnx`` package and returns a
:class:`~neurocompile.ir.Graph` in which every ReLU became a layer of IF neurons
(``r = 1``, ``v_threshold = 1``, reset by subtraction, ``dt = 1``), the rate-conversion
recipe of Diehl et al. (2015) and Rueckauer et al. (2017):

* **Supported operators**: ``Gemm`` (``transA = 0``), ``MatMul`` with a constant right
  operand, optionally followed by ``Add`` of a constant (-> ``Affine``/``Linear``);
  ``Conv`` (1-d and 2-d, symmetric padding); ``Relu`` (-> IF layer); ``AveragePool``
  (2-d, no ``ceil_mode``; with padding only when ``count_include_pad = 1``) and
  ``GlobalAveragePool``; ``Flatten`` (``axis = 1``) and ``Reshape`` to ``(batch, -1)``;
  ``BatchNormalization`` folded into the ``Conv``/``Gemm``/``MatMul`` before it;
  ``Identity``, ``Dropout`` skipped; ``Constant`` read as a constant; a final ``Softmax`` /
  ``LogSoftmax`` dropped (monotone, so the argmax is unchanged). Anything else -- and any
  branching graph -- is an *unsupported op*: :func:`neurocompile.check` reports each as an
  ``unsupported-onnx-op`` finding naming the op type and the ONNX node, and
  :func:`neurocompile.load` raises :class:`UnsupportedError` naming them all.
* **Threshold balancing** (data-based, Rueckauer et al. 2017 §2.3): with calibration data
  (an array of ANN inputs, ``(N, *input_shape)``), each neuron layer ``l`` gets the scale
  ``lambda_l`` = the ``percentile``-th percentile (default 99.9) of its *positive* ReLU
  activations; the linear ops between layer ``l-1`` and ``l`` are rescaled so that they
  compute ``f(lambda_{l-1} s) / lambda_l`` (first weighted op's weight times
  ``lambda_{l-1}``, last weighted op's weight and bias divided by ``lambda_l``;
  ``lambda_0 = 1``). Without calibration data the scales fall back to Diehl et al.'s
  weight-based bound (max over neurons of the positive input weights times the previous
  bound plus positive bias; inputs assumed in ``[0, input_max]``), and the graph's
  ``conventions["normalisation"]`` says so.
* **Input encoding**: constant analog current -- the Input node carries the ANN's input
  value at every step (no Poisson sampling, so no sampling noise). **Readout**: the output
  layer is IF too; the class is the argmax of its spike counts over the run.

The result records ``metadata = {"dt": 1.0, "reset": "subtract", ...}`` and
``conventions`` (normalisation, percentile, per-layer scales, encoding, readout). The IF
nodes carry **no** ``v_reset`` (nir <= 1.0.4 semantics: reset by subtraction), so a run with
the default ``reset="file"`` is refused and asks for ``--reset subtract`` instead of silently
resetting to zero.

Knowingly incomplete: only sequential graphs (no residual ``Add``/``Concat``); no
``MaxPool`` (no exact IF equivalent); a negative ANN output is read as zero spikes (ties
between silent outputs resolve to the lowest class); the rate code saturates at one spike
per step, so activations above ``lambda_l`` (the top ``100 - percentile`` %) are clipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputDataError, ModelLoadError, UnsupportedError
from .ir import Graph, Node

__all__ = [
    "SUPPORTED_OPS",
    "DEFAULT_PERCENTILE",
    "CONVERSION_DT",
    "UnsupportedOp",
    "AnnLayer",
    "AnnModel",
    "parse_onnx",
    "convert",
    "is_onnx_model",
    "unsupported_ops",
]

#: ONNX operators the frontend converts (see the module docstring for their restrictions).
SUPPORTED_OPS = (
    "Gemm",
    "MatMul",
    "Add",
    "Conv",
    "Relu",
    "AveragePool",
    "GlobalAveragePool",
    "Flatten",
    "Reshape",
    "BatchNormalization",
    "Identity",
    "Dropout",
    "Constant",
    "Softmax",
    "LogSoftmax",
)
#: Percentile of positive ReLU activations used as a layer's scale (Rueckauer et al. 2017).
DEFAULT_PERCENTILE = 99.9
#: The converted network's time step: one ANN "evaluation" per step, rates in spikes/step.
CONVERSION_DT = 1.0
#: Ops that are skipped (they compute the identity at inference).
_SKIPPED = ("Identity", "Dropout")
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class UnsupportedOp:
    """An ONNX node the frontend cannot convert: its ``op`` type, ONNX ``node`` name and why."""

    op: str
    node: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"op": self.op, "node": self.node, "reason": self.reason}

    def describe(self) -> str:
        return f"{self.op} '{self.node}' ({self.reason})"


@dataclass
class AnnLayer:
    """One step of the ANN chain: ``kind`` is affine, conv, avgpool, flatten, relu or unsupported."""

    kind: str
    params: dict[str, Any]
    #: the ONNX node(s) this layer came from (a Gemm with its folded BatchNormalization, ...)
    onnx_nodes: tuple[str, ...]
    op: str = ""


@dataclass
class AnnModel:
    """A parsed sequential ONNX ReLU network (the ANN side of the conversion)."""

    layers: list[AnnLayer]
    input_name: str
    input_shape: tuple[int, ...]
    output_name: str
    unsupported: list[UnsupportedOp] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the ONNX output's shape without batch, when the file declares it
    output_shape: tuple[int, ...] | None = None

    # ----------------------------------------------------------------- ANN forward pass
    def forward(self, x: np.ndarray, *, activations: bool = False) -> Any:
        """The ANN on ``x`` (``(N, *input_shape)``) in float64; with ``activations=True`` also
        the list of post-ReLU activations, one per ReLU layer (for threshold balancing)."""
        if self.unsupported:
            raise UnsupportedError(
                "the ANN contains unsupported ONNX operators: "
                + "; ".join(u.describe() for u in self.unsupported),
                node=self.unsupported[0].node,
                parameter="op_type",
                expected="operators among " + ", ".join(SUPPORTED_OPS),
            )
        x = _check_batch(x, self.input_shape, "x")
        acts = []
        for layer in self.layers:
            x = _apply(layer, x)
            if layer.kind == "relu":
                acts.append(x)
        return (x, acts) if activations else x

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class = argmax of the ANN output."""
        out = self.forward(x)
        return out.reshape(out.shape[0], -1).argmax(axis=1)


# ============================================================================ parsing
def is_onnx_model(x: Any) -> bool:
    """True for an ``onnx.ModelProto`` or a path ending in ``.onnx``."""
    if isinstance(x, (str, os.PathLike)):
        return str(x).lower().endswith(".onnx")
    return type(x).__name__ == "ModelProto" and (type(x).__module__ or "").startswith("onnx")


def _load_proto(model: Any) -> Any:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - onnx is in the main environment
        raise ModelLoadError(
            f"the onnx package is not installed ({exc})", expected="pip install neurocompile[onnx]"
        ) from None
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise ModelLoadError(f"file not found: {path}", expected="an existing .onnx file")
        try:
            return onnx.load(str(path))
        except Exception as exc:
            raise ModelLoadError(
                f"cannot read {path} as ONNX ({' '.join(str(exc).split())})", expected="an ONNX model file"
            ) from None
    if is_onnx_model(model):
        return model
    raise ModelLoadError(
        f"cannot read an object of type {type(model).__name__} as ONNX",
        expected="an onnx.ModelProto or a .onnx path",
    )


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _dims(value_info: Any) -> list[Any]:
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        dims.append(int(d.dim_value) if d.HasField("dim_value") else (d.dim_param or None))
    return dims


def parse_onnx(model: Any) -> AnnModel:
    """Read a sequential ONNX ReLU network into an :class:`AnnModel` (never raises for
    unsupported ops: they are listed in ``AnnModel.unsupported``)."""
    from onnx import numpy_helper

    proto = _load_proto(model)
    g = proto.graph
    consts: dict[str, np.ndarray] = {
        t.name: numpy_helper.to_array(t).astype(np.float64)
        if numpy_helper.to_array(t).dtype.kind == "f"
        else numpy_helper.to_array(t)
        for t in g.initializer
    }
    data_inputs = [i for i in g.input if i.name not in consts]
    if len(data_inputs) != 1:
        raise ModelLoadError(
            f"the ONNX graph has {len(data_inputs)} data inputs ({', '.join(i.name for i in data_inputs)})",
            parameter="input",
            expected="exactly one input tensor (batch, ...)",
        )
    inp = data_inputs[0]
    dims = _dims(inp)
    if len(dims) < 2 or any(not isinstance(d, int) or d <= 0 for d in dims[1:]):
        raise ModelLoadError(
            f"input '{inp.name}' has shape {dims}",
            node=inp.name,
            parameter="shape",
            expected="(batch, *fixed sizes)",
        )
    model_ = AnnModel(
        layers=[],
        input_name=inp.name,
        input_shape=tuple(int(d) for d in dims[1:]),
        output_name=g.output[0].name if len(g.output) else "",
    )
    if len(g.output) != 1:
        model_.unsupported.append(
            UnsupportedOp("<graph>", "<outputs>", f"{len(g.output)} graph outputs; exactly one is supported")
        )
    current = inp.name  # the tensor the chain has reached
    nodes = list(g.node)
    for idx, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{idx}"
        op = node.op_type
        if op == "Constant":
            a = _attrs(node)
            val = a.get("value")
            if val is not None:
                arr = numpy_helper.to_array(val)
                consts[node.output[0]] = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
            elif "value_float" in a or "value_floats" in a:
                consts[node.output[0]] = np.asarray(
                    a.get("value_float", a.get("value_floats")), dtype=np.float64
                )
            elif "value_int" in a or "value_ints" in a:
                consts[node.output[0]] = np.asarray(a.get("value_int", a.get("value_ints")), dtype=np.int64)
            else:
                model_.unsupported.append(UnsupportedOp(op, name, "a Constant of an unsupported kind"))
            continue
        data = [t for t in node.input if t and t not in consts]
        if len(data) != 1 or data[0] != current:
            reason = (
                "it reads no data tensor"
                if not data
                else f"it reads {', '.join(repr(t) for t in data)} but the chain is at {current!r}; "
                "only sequential networks are supported"
            )
            model_.unsupported.append(UnsupportedOp(op, name, reason))
            current = node.output[0] if node.output else current
            model_.layers.append(AnnLayer("unsupported", {}, (name,), op))
            continue
        last = idx == len(nodes) - 1 or all(n.op_type in _SKIPPED for n in nodes[idx + 1 :])
        err = _parse_one(model_, node, name, consts, last)
        if err is not None:
            model_.unsupported.append(UnsupportedOp(op, name, err))
            model_.layers.append(AnnLayer("unsupported", {}, (name,), op))
        current = node.output[0]
    if current != model_.output_name and not model_.unsupported:
        model_.unsupported.append(
            UnsupportedOp(
                "<graph>", model_.output_name, f"the graph output is not the end of the chain ({current!r})"
            )
        )
    out_dims = _dims(g.output[0]) if len(g.output) else []
    if len(out_dims) >= 2 and all(isinstance(d, int) and d > 0 for d in out_dims[1:]):
        model_.output_shape = tuple(int(d) for d in out_dims[1:])
    _annotate_shapes(model_)
    return model_


def _parse_one(m: AnnModel, node: Any, name: str, consts: dict[str, np.ndarray], last: bool) -> str | None:
    """Append the layer for one ONNX node; return a reason string if it is unsupported."""
    op = node.op_type
    a = _attrs(node)
    layers = m.layers
    prev = layers[-1] if layers else None
    if op in _SKIPPED:
        m.notes.append(f"{op} '{name}' skipped (identity at inference)")
        return None
    if op == "Relu":
        layers.append(AnnLayer("relu", {}, (name,), op))
        return None
    if op in ("Softmax", "LogSoftmax"):
        if not last:
            return f"{op} is only supported as the last operator (dropped: argmax is unchanged)"
        m.notes.append(f"final {op} '{name}' dropped: it does not change the argmax")
        return None
    if op == "Gemm":
        if a.get("transA", 0):
            return "transA = 1 is not supported"
        if node.input[1] not in consts:
            return "B must be a constant initializer"
        b_mat = consts[node.input[1]] * float(a.get("alpha", 1.0))
        w = b_mat if a.get("transB", 0) else b_mat.T
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            if node.input[2] not in consts:
                return "C must be a constant initializer"
            bias = np.broadcast_to(consts[node.input[2]] * float(a.get("beta", 1.0)), (w.shape[0],)).astype(
                np.float64
            )
        layers.append(
            AnnLayer("affine", {"weight": np.array(w, dtype=np.float64), "bias": bias.copy()}, (name,), op)
        )
        return None
    if op == "MatMul":
        if node.input[1] not in consts:
            return "the right operand must be a constant initializer (x @ W)"
        w = consts[node.input[1]]
        if w.ndim != 2:
            return f"the constant operand has {w.ndim} dimensions, 2 expected"
        layers.append(
            AnnLayer(
                "affine",
                {"weight": np.array(w.T, dtype=np.float64), "bias": np.zeros(w.shape[1])},
                (name,),
                op,
            )
        )
        return None
    if op == "Add":
        cst = [consts[t] for t in node.input if t in consts]
        if prev is None or prev.kind not in ("affine", "conv") or len(cst) != 1:
            return "Add is supported only as the bias of a Gemm/MatMul/Conv (one constant operand)"
        c = np.asarray(cst[0], dtype=np.float64)
        nout = prev.params["weight"].shape[0]
        if prev.kind == "affine":
            if c.size not in (1, nout) or (c.ndim > 1 and c.shape[-1] != nout and c.size != 1):
                return f"the added constant has shape {c.shape}, expected ({nout},)"
            prev.params["bias"] = prev.params["bias"] + np.broadcast_to(c.reshape(-1), (nout,))
        else:
            if c.size not in (1, nout):
                return f"the added constant has shape {c.shape}, expected one value per channel ({nout})"
            prev.params["bias"] = prev.params["bias"] + np.broadcast_to(c.reshape(-1), (nout,))
        prev.onnx_nodes += (name,)
        return None
    if op == "Conv":
        if node.input[1] not in consts:
            return "the weight must be a constant initializer"
        w = np.array(consts[node.input[1]], dtype=np.float64)
        nsp = w.ndim - 2
        if nsp not in (1, 2):
            return f"{nsp}-d convolution is not supported (1-d and 2-d are)"
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            return f"auto_pad={a['auto_pad']!r} is not supported (give explicit pads)"
        pads = list(a.get("pads", [0] * (2 * nsp)))
        if pads[:nsp] != pads[nsp:]:
            return f"asymmetric pads {pads} are not supported"
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            if node.input[2] not in consts:
                return "the bias must be a constant initializer"
            bias = np.array(consts[node.input[2]], dtype=np.float64).reshape(-1)
        layers.append(
            AnnLayer(
                "conv",
                {
                    "weight": w,
                    "bias": bias,
                    "stride": tuple(int(s) for s in a.get("strides", [1] * nsp)),
                    "padding": tuple(int(p) for p in pads[:nsp]),
                    "dilation": tuple(int(d) for d in a.get("dilations", [1] * nsp)),
                    "groups": int(a.get("group", 1)),
                },
                (name,),
                op,
            )
        )
        return None
    if op in ("AveragePool", "GlobalAveragePool"):
        if op == "GlobalAveragePool":
            layers.append(AnnLayer("avgpool", {"global": True}, (name,), op))
            return None
        k = tuple(int(v) for v in a.get("kernel_shape", []))
        if len(k) != 2:
            return f"kernel_shape {k}: only 2-d average pooling is supported"
        if a.get("ceil_mode", 0):
            return "ceil_mode = 1 is not supported"
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            return f"auto_pad={a['auto_pad']!r} is not supported"
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            return f"asymmetric pads {pads} are not supported"
        if any(pads) and not a.get("count_include_pad", 0):
            return "padding with count_include_pad = 0 is not supported (NIR AvgPool2d counts the padding)"
        if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
            return "dilated pooling is not supported"
        layers.append(
            AnnLayer(
                "avgpool",
                {
                    "kernel_size": k,
                    "stride": tuple(int(s) for s in a.get("strides", k)),
                    "padding": tuple(int(p) for p in pads[:2]),
                },
                (name,),
                op,
            )
        )
        return None
    if op == "Flatten":
        if int(a.get("axis", 1)) != 1:
            return f"axis = {a.get('axis')} is not supported (only 1: keep the batch dimension)"
        layers.append(AnnLayer("flatten", {}, (name,), op))
        return None
    if op == "Reshape":
        if len(node.input) < 2 or node.input[1] not in consts:
            return "the target shape must be a constant"
        shape = [int(v) for v in np.asarray(consts[node.input[1]]).reshape(-1)]
        if len(shape) != 2 or (shape[0] not in (0, 1, -1) and shape[1] != -1):
            return f"target shape {shape}: only a flatten to (batch, -1) is supported"
        layers.append(AnnLayer("flatten", {"reshape": shape}, (name,), op))
        return None
    if op == "BatchNormalization":
        if prev is None or prev.kind not in ("affine", "conv"):
            return (
                "BatchNormalization is supported only right after a Conv/Gemm/MatMul (it is folded into it)"
            )
        if any(t not in consts for t in node.input[1:5]):
            return "scale, bias, mean and var must be constant initializers"
        gamma, beta, mean, var = (
            np.asarray(consts[t], dtype=np.float64).reshape(-1) for t in node.input[1:5]
        )
        eps = float(a.get("epsilon", 1e-5))
        if a.get("training_mode", 0):
            return "training_mode = 1 is not supported"
        factor = gamma / np.sqrt(var + eps)
        nout = prev.params["weight"].shape[0]
        if factor.size != nout:
            return f"{factor.size} channels, but the preceding layer has {nout} outputs"
        w = prev.params["weight"]
        prev.params["weight"] = w * factor.reshape((-1,) + (1,) * (w.ndim - 1))
        prev.params["bias"] = (prev.params["bias"] - mean) * factor + beta
        prev.onnx_nodes += (name,)
        m.notes.append(f"BatchNormalization '{name}' folded into {prev.onnx_nodes[0]}")
        return None
    return f"operator {op} is not supported (supported: {', '.join(SUPPORTED_OPS)})"


def _annotate_shapes(m: AnnModel) -> None:
    """Fill each layer's ``in_shape``/``out_shape`` (without batch) by a forward pass on zeros;
    a layer that fails (e.g. a Reshape that would fold the batch) becomes unsupported. After an
    unsupported layer shapes are unknown until an affine layer (whose weight fixes its input)."""
    x: np.ndarray | None = np.zeros((2,) + m.input_shape)
    for layer in m.layers:
        if layer.kind == "unsupported":
            x = None
            continue
        if x is None:
            if layer.kind != "affine":
                continue
            x = np.zeros((2, layer.params["weight"].shape[1]))
        layer.params["in_shape"] = tuple(x.shape[1:])
        try:
            if layer.kind == "flatten" and "reshape" in layer.params:
                s = layer.params["reshape"]
                n = int(np.prod(x.shape[1:]))
                if s[1] not in (-1, n) or (s[0] not in (0, -1) and s[1] == -1 and s[0] != 1):
                    raise ValueError(f"target shape {s} does not flatten {tuple(x.shape[1:])} per sample")
            x = _apply(layer, x)
        except Exception as exc:  # shape errors: report on the op, not as a traceback
            m.unsupported.append(UnsupportedOp(layer.op, layer.onnx_nodes[0], " ".join(str(exc).split())))
            layer.kind = "unsupported"
            x = None
            continue
        layer.params["out_shape"] = tuple(x.shape[1:])


# ============================================================================ ANN forward
def _conv_node(p: dict[str, Any]) -> Node:
    kind = "Conv2d" if p["weight"].ndim == 4 else "Conv1d"
    return Node(
        "conv",
        kind,
        {
            "weight": p["weight"],
            "bias": p["bias"],
            "stride": p["stride"],
            "padding": p["padding"],
            "dilation": p["dilation"],
            "groups": p["groups"],
        },
    )


def _apply(layer: AnnLayer, x: np.ndarray) -> np.ndarray:
    from . import reference_ops as ops

    p = layer.params
    if layer.kind == "affine":
        if x.ndim != 2 or x.shape[1] != p["weight"].shape[1]:
            raise ValueError(f"expects (batch, {p['weight'].shape[1]}) input, got {x.shape}")
        return x @ p["weight"].T + p["bias"]
    if layer.kind == "relu":
        return np.maximum(x, 0.0)
    if layer.kind == "flatten":
        return x.reshape(x.shape[0], -1)
    if layer.kind == "conv":
        return ops.make_conv(_conv_node(p), tuple(x.shape[1:]), p["weight"].ndim - 2)(x)
    if layer.kind == "avgpool":
        if p.get("global"):
            return (
                x.reshape(x.shape[0], x.shape[1], -1).mean(axis=2).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
            )
        node = Node(
            "pool",
            "AvgPool2d",
            {"kernel_size": p["kernel_size"], "stride": p["stride"], "padding": p["padding"]},
        )
        return ops.make_pool(node, tuple(x.shape[1:]), average=True)(x)
    raise UnsupportedError(f"layer of kind {layer.kind!r}", node=layer.onnx_nodes[0], parameter="op_type")


def _check_batch(x: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape[1:] != shape:
        if arr.ndim >= 2 and int(np.prod(arr.shape[1:])) == int(np.prod(shape)):
            arr = arr.reshape((arr.shape[0],) + shape)
        else:
            raise InputDataError(
                f"{what} has shape {arr.shape}", parameter=what, expected=f"(N, {', '.join(map(str, shape))})"
            )
    if not np.isfinite(arr).all():
        raise InputDataError(f"{what} contains NaN or inf", parameter=what, expected="finite values")
    return arr


# ============================================================================ balancing
def _segments(layers: list[AnnLayer]) -> list[tuple[list[AnnLayer], bool]]:
    """Split the chain at ReLUs: ``[(linear layers before a ReLU, True), ..., (tail, False)]``."""
    segs: list[tuple[list[AnnLayer], bool]] = []
    cur: list[AnnLayer] = []
    for layer in layers:
        if layer.kind == "relu":
            if not cur and segs:  # ReLU after ReLU: idempotent
                continue
            segs.append((cur, True))
            cur = []
        else:
            cur.append(layer)
    if cur or not segs:
        segs.append((cur, False))
    return segs


def _positive_percentile(a: np.ndarray, p: float) -> float:
    pos = a[a > 0]
    return float(np.percentile(pos, p)) if pos.size else 0.0


def _weight_bound(seg: list[AnnLayer], bound_in: float) -> float:
    """Diehl et al. (2015) weight-based bound of a segment's output given inputs in [0, bound_in]."""
    bound, nonneg = bound_in, True
    for layer in seg:
        p = layer.params
        if layer.kind in ("affine", "conv"):
            w = p["weight"]
            wpos = np.maximum(w, 0.0) if nonneg else np.abs(w)
            per_out = wpos.reshape(w.shape[0], -1).sum(axis=1)
            b = np.maximum(p["bias"], 0.0) if nonneg else np.abs(p["bias"])
            if layer.kind == "conv":
                per_out = per_out  # one bound per output channel: kernel sum x input bound
            bound = float(np.max(per_out * bound + b))
            nonneg = False
        # avgpool and flatten do not increase the bound
    return bound


# ============================================================================ SNN graph
def convert(
    model: Any,
    calibration: Any = None,
    *,
    percentile: float = DEFAULT_PERCENTILE,
    input_max: float = 1.0,
    strict: bool = True,
) -> Graph:
    """Convert an ONNX ReLU network (path, ``onnx.ModelProto`` or :class:`AnnModel`) to an SNN Graph.

    ``calibration``: ANN inputs ``(N, *input_shape)`` for data-based threshold balancing (the
    ``percentile``-th percentile of positive activations per layer); ``None`` falls back to
    weight-based normalisation with inputs assumed in ``[0, input_max]``. ``strict=False``
    (what ``check`` uses) never raises for unsupported ops: they become placeholder nodes of
    kind ``onnx:<Op>`` and are listed in ``conventions["onnx_unsupported"]``.
    """
    ann = model if isinstance(model, AnnModel) else parse_onnx(model)
    source = str(model) if isinstance(model, (str, os.PathLike)) else f"<onnx {type(model).__name__}>"
    if ann.unsupported and strict:
        raise UnsupportedError(
            f"{len(ann.unsupported)} unsupported ONNX operator(s): "
            + "; ".join(u.describe() for u in ann.unsupported),
            node=ann.unsupported[0].node,
            parameter="op_type",
            expected="operators among " + ", ".join(SUPPORTED_OPS),
        )
    if not 0 < float(percentile) <= 100:
        raise InputDataError(
            f"percentile = {percentile}", parameter="percentile", expected="0 < percentile <= 100"
        )
    segs = _segments([la for la in ann.layers])
    conventions: dict[str, Any] = {
        "framework": "onnx",
        "conversion": "rate coding, ReLU -> IF (Diehl 2015, Rueckauer 2017)",
        "dt": CONVERSION_DT,
        "reset": "subtract",
        "threshold": ">",
        "discretization": "forward",
        "input_encoding": "constant analog current: the Input node carries the ANN input at every step",
        "readout": "argmax of the output IF layer's spike counts",
        "notes": list(ann.notes),
    }
    scales: list[float] = []
    if ann.unsupported:
        conventions["onnx_unsupported"] = [u.as_dict() for u in ann.unsupported]
        conventions["normalisation"] = "none (the model has unsupported operators)"
        scales = [1.0] * len(segs)
    elif calibration is not None:
        x = _check_batch(calibration, ann.input_shape, "calibration")
        out, acts = ann.forward(x, activations=True)
        for i, (seg, relu) in enumerate(segs):
            if not relu and not any(la.kind in ("affine", "conv") for la in seg):
                scales.append(scales[-1] if scales else 1.0)  # no neuron layer: nothing to scale
                continue
            a = acts[i] if relu else out
            lam = _positive_percentile(a, percentile)
            if lam <= 0:
                conventions["notes"].append(
                    f"layer {i}: no positive activation on the calibration data; scale 1"
                )
                lam = 1.0
            scales.append(lam)
        conventions.update(
            normalisation="data-based", percentile=float(percentile), calibration_samples=int(x.shape[0])
        )
    else:
        bound = float(input_max)
        for seg, relu in segs:
            lam = _weight_bound(seg, bound) if any(la.kind in ("affine", "conv") for la in seg) else bound
            lam = lam if lam > 0 else 1.0
            scales.append(lam)
            bound = lam
        conventions.update(
            normalisation="weight-based (no calibration data given; Diehl et al. 2015 max-weight "
            "bound, inputs assumed in [0, input_max])",
            input_max=float(input_max),
        )
    conventions["layer_scales"] = [float(s) for s in scales]
    graph = _build(ann, segs, scales, source)
    graph.conventions = conventions
    return graph


def _safe_name(name: str, fallback: str) -> str:
    return name if _NAME_OK.match(name or "") else fallback


def _build(ann: AnnModel, segs: list[tuple[list[AnnLayer], bool]], scales: list[float], source: str) -> Graph:
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    in_name = _safe_name(ann.input_name, "input")
    nodes[in_name] = Node(
        in_name, "Input", {"shape": tuple(ann.input_shape)}, metadata={"onnx_tensor": ann.input_name}
    )
    prev = in_name
    counters: dict[str, int] = {}
    neurons: list[str] = []

    def add(kind: str, base: str, params: dict[str, Any], onnx_nodes: tuple[str, ...] = ()) -> str:
        nonlocal prev
        counters[base] = counters.get(base, -1) + 1
        name = f"{base}{counters[base]}"
        meta = {"onnx_nodes": ",".join(onnx_nodes)} if onnx_nodes else {}
        nodes[name] = Node(name, kind, params, metadata=meta)
        edges.append((prev, name))
        prev = name
        return name

    lam_prev = 1.0
    last_shape: tuple[int, ...] | None = tuple(ann.input_shape)
    for (seg, relu), lam in zip(segs, scales):
        weighted = [i for i, la in enumerate(seg) if la.kind in ("affine", "conv")]
        first, last = (weighted[0], weighted[-1]) if weighted else (None, None)
        for i, layer in enumerate(seg):
            p = layer.params
            last_shape = p.get("out_shape", None)
            if layer.kind in ("affine", "conv"):
                w, b = p["weight"].copy(), p["bias"].copy()
                if i == first:
                    w = w * lam_prev
                if i == last:
                    w, b = w / lam, b / lam
                if layer.kind == "affine":
                    add("Affine", "fc", {"weight": w, "bias": b}, layer.onnx_nodes)
                else:
                    kind = "Conv2d" if w.ndim == 4 else "Conv1d"
                    ish = p.get("in_shape")
                    add(
                        kind,
                        "conv",
                        {
                            "weight": w,
                            "bias": b,
                            "stride": p["stride"],
                            "padding": p["padding"],
                            "dilation": p["dilation"],
                            "groups": p["groups"],
                            "input_shape": tuple(ish[1:]) if ish else None,
                        },
                        layer.onnx_nodes,
                    )
            elif layer.kind == "avgpool":
                if p.get("global"):
                    ish = p["in_shape"]
                    k = tuple(int(s) for s in ish[1:])
                    add(
                        "AvgPool2d",
                        "pool",
                        {"kernel_size": k, "stride": k, "padding": (0, 0)},
                        layer.onnx_nodes,
                    )
                else:
                    add(
                        "AvgPool2d",
                        "pool",
                        {"kernel_size": p["kernel_size"], "stride": p["stride"], "padding": p["padding"]},
                        layer.onnx_nodes,
                    )
            elif layer.kind == "flatten":
                ish = p.get("in_shape")
                add("Flatten", "flat", {"start_dim": 0, "end_dim": -1, "input_shape": ish}, layer.onnx_nodes)
            else:  # unsupported placeholder, kept for check
                add(
                    f"onnx:{layer.op}",
                    "unsupported",
                    {"op_type": layer.op, "onnx_node": layer.onnx_nodes[0]},
                    layer.onnx_nodes,
                )
                last_shape = None
        if relu or weighted:
            if not weighted and lam != lam_prev:
                add("Scale", "scale", {"scale": np.full(last_shape or (1,), lam_prev / lam)})
            # unknown shape (after an unsupported op): scalar parameters take the input's shape
            shape = last_shape if last_shape is not None else ()
            neurons.append(add("IF", "if", {"r": np.ones(shape), "v_threshold": np.ones(shape)}))
            lam_prev = lam
    out_shape = last_shape if last_shape is not None else ann.output_shape
    nodes["output"] = Node("output", "Output", {"shape": tuple(out_shape) if out_shape else (1,)})
    edges.append((prev, "output"))
    from .shapes import infer_shapes

    graph = Graph(
        nodes=nodes,
        edges=edges,
        metadata={
            "dt": CONVERSION_DT,
            "reset": "subtract",
            "source_format": "onnx",
            "encoding": "analog current",
        },
        source=source,
        nir_version=None,
        legacy_reset=tuple(neurons),
    )
    infer_shapes(graph)
    return graph


def unsupported_ops(graph: Graph) -> list[dict[str, str]]:
    """The unsupported ONNX ops a converted graph carries (``[]`` for a clean conversion)."""
    return list(graph.conventions.get("onnx_unsupported", []))
