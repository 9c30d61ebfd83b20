"""Per-primitive numpy kernels and shape rules of the float reference simulator.

Every kernel works on float64 arrays shaped ``(batch, *node_shape)`` for one time step.
Structural kernels (Affine, Conv, pooling, ...) are stateless functions; neuron kernels are
small classes holding their state. :mod:`neurocompile.reference` builds an execution plan
from these and runs it; the equations are documented in ``docs/primitives/<Kind>.md``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from .errors import GraphError, ParameterError
from .ir import NEURON_ARRAY_PARAMS, NEURON_PARAMS, SPIKING_KINDS, TAU_PARAMS, Node
from .semantics import legacy_reset_error

Shape = tuple[int, ...]


# ----------------------------------------------------------------------------- helpers
def _pair(value: Any, node: str, parameter: str) -> tuple[int, int]:
    arr = np.asarray(value).reshape(-1)
    if arr.size == 1:
        return int(arr[0]), int(arr[0])
    if arr.size == 2:
        return int(arr[0]), int(arr[1])
    raise ParameterError(f"got {value!r}", node=node, parameter=parameter, expected="an int or a pair")


def _single(value: Any, node: str, parameter: str) -> int:
    arr = np.asarray(value).reshape(-1)
    if arr.size != 1:
        raise ParameterError(f"got {value!r}", node=node, parameter=parameter, expected="one int")
    return int(arr[0])


def _array(node: Node, key: str) -> np.ndarray:
    val = node.params.get(key)
    if val is None:
        raise ParameterError("missing", node=node.name, parameter=key, expected="an array")
    arr = np.asarray(val, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ParameterError("contains NaN or inf", node=node.name, parameter=key, expected="finite values")
    return arr


def _is_str(value: Any) -> bool:
    if isinstance(value, (bytes, str)):
        return True
    arr = np.asarray(value)
    return arr.dtype.kind in "US" or (
        arr.dtype == object and arr.size == 1 and isinstance(arr.item(), (str, bytes))
    )


def _as_str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    v = np.asarray(value).reshape(-1)[0]
    return v.decode() if isinstance(v, bytes) else str(v)


# ----------------------------------------------------------------------------- convolution
def conv_padding(
    node: Node, spatial: Shape, kernel: Shape, dilation: Shape, stride: Shape
) -> list[tuple[int, int]]:
    """(left, right) zero padding per spatial dim, PyTorch rules (int, pair, 'same', 'valid')."""
    pad = node.params.get("padding", 0)
    nd = len(spatial)
    if _is_str(pad):
        mode = _as_str(pad).lower()
        if mode == "valid":
            return [(0, 0)] * nd
        if mode == "same":
            if any(s != 1 for s in stride):
                raise ParameterError(
                    "padding='same' needs stride 1 (as in PyTorch)",
                    node=node.name,
                    parameter="padding",
                    expected="stride 1 or numeric padding",
                )
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return out
        raise ParameterError(
            f"unknown padding {mode!r}",
            node=node.name,
            parameter="padding",
            expected="an int, a tuple, 'same' or 'valid'",
        )
    p = _pair(pad, node.name, "padding") if nd == 2 else (_single(pad, node.name, "padding"),)
    if any(x < 0 for x in p):
        raise ParameterError(f"negative padding {p}", node=node.name, parameter="padding", expected=">= 0")
    return [(x, x) for x in p]


def _conv_geometry(node: Node, in_shape: Shape, nd: int):
    w = _array(node, "weight")
    if w.ndim != nd + 2:
        raise ParameterError(
            f"weight has shape {w.shape}",
            node=node.name,
            parameter="weight",
            expected=f"(Cout, Cin/groups, {'kH, kW' if nd == 2 else 'K'})",
        )
    conv = (lambda v, p: _pair(v, node.name, p)) if nd == 2 else (lambda v, p: (_single(v, node.name, p),))
    stride = conv(node.params.get("stride", 1), "stride")
    dilation = conv(node.params.get("dilation", 1), "dilation")
    groups = _single(node.params.get("groups", 1), node.name, "groups")
    if min(stride) < 1 or min(dilation) < 1 or groups < 1:
        raise ParameterError(
            f"stride {stride}, dilation {dilation}, groups {groups}",
            node=node.name,
            parameter="stride/dilation/groups",
            expected="positive integers",
        )
    cout, cin_g = w.shape[:2]
    kernel = tuple(int(k) for k in w.shape[2:])
    if len(in_shape) != nd + 1:
        raise GraphError(
            f"input shape {in_shape}",
            node=node.name,
            parameter="input_shape",
            expected=f"(C, {'H, W' if nd == 2 else 'N'})",
        )
    cin = in_shape[0]
    if cin != cin_g * groups or cout % groups:
        raise GraphError(
            f"{cin} input channels, weight {w.shape}, groups {groups}",
            node=node.name,
            parameter="weight",
            expected="Cin = weight.shape[1]*groups and Cout divisible by groups",
        )
    pads = conv_padding(node, in_shape[1:], kernel, dilation, stride)
    out_sp = []
    for n, k, d, s, (pl, pr) in zip(in_shape[1:], kernel, dilation, stride, pads):
        o = (n + pl + pr - d * (k - 1) - 1) // s + 1
        if o < 1:
            raise GraphError(
                f"output size {o} along a spatial dim (input {n}, kernel {k})",
                node=node.name,
                parameter="weight",
                expected="a kernel that fits the padded input",
            )
        out_sp.append(o)
    return w, stride, dilation, groups, pads, (cout, *out_sp)


def make_conv(node: Node, in_shape: Shape, nd: int) -> Callable[[np.ndarray], np.ndarray]:
    """PyTorch cross-correlation (``conv1d``/``conv2d``) by im2col + batched matmul."""
    w, stride, dilation, groups, pads, out_shape = _conv_geometry(node, in_shape, nd)
    cout, cin_g = w.shape[:2]
    kernel = w.shape[2:]
    bias = node.params.get("bias")
    b = None if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    if b is not None and b.size not in (1, cout):
        raise ParameterError(
            f"bias has {b.size} entries", node=node.name, parameter="bias", expected=f"{cout}"
        )
    b_shape = (1, cout) + (1,) * nd
    ksize = int(np.prod(kernel))
    # (G, Cin/G * K, Cout/G): rows ordered (c, k...) like the im2col columns below.
    wmat = w.reshape(groups, cout // groups, cin_g * ksize).transpose(0, 2, 1).copy()
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    need_pad = any(p != (0, 0) for p in pads)
    out_sp = out_shape[1:]
    axes = tuple(range(2, 2 + nd))

    def conv(x: np.ndarray) -> np.ndarray:
        bsz = x.shape[0]
        if need_pad:
            x = np.pad(x, [(0, 0), (0, 0)] + list(pads))
        win = np.lib.stride_tricks.sliding_window_view(x, span, axis=axes)
        # (B, C, *out_full, *span) -> subsample output positions by stride, taps by dilation
        sl = (
            (slice(None), slice(None))
            + tuple(slice(None, None, s) for s in stride)
            + tuple(slice(None, None, d) for d in dilation)
        )
        win = win[sl]
        win = win[(slice(None), slice(None)) + tuple(slice(0, o) for o in out_sp)]
        # -> (B, G, P, Cin/G * K)
        win = win.reshape((bsz, groups, cin_g) + tuple(out_sp) + tuple(kernel))
        perm = (0, 1) + tuple(range(3, 3 + nd)) + (2,) + tuple(range(3 + nd, 3 + 2 * nd))
        cols = win.transpose(perm).reshape(bsz, groups, int(np.prod(out_sp)), cin_g * ksize)
        y = np.matmul(cols, wmat)  # (B, G, P, Cout/G)
        y = y.transpose(0, 1, 3, 2).reshape((bsz, cout) + tuple(out_sp))
        if b is not None:
            y = y + b.reshape(b_shape) if b.size == cout else y + b[0]
        return y

    return conv


# ----------------------------------------------------------------------------- pooling
def _pool_geometry(node: Node, in_shape: Shape):
    k = _pair(node.params.get("kernel_size"), node.name, "kernel_size")
    s_raw = node.params.get("stride")
    s = k if s_raw is None else _pair(s_raw, node.name, "stride")
    p = _pair(node.params.get("padding", (0, 0)), node.name, "padding")
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ParameterError(
            f"kernel {k}, stride {s}, padding {p}",
            node=node.name,
            parameter="kernel_size/stride/padding",
            expected="positive kernel and stride, padding >= 0",
        )
    if len(in_shape) != 3:
        raise GraphError(
            f"input shape {in_shape}", node=node.name, parameter="input_shape", expected="(C, H, W)"
        )
    out = [(n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(in_shape[1:], k, s, p)]
    if min(out) < 1:
        raise GraphError(
            f"kernel {k} larger than padded input {in_shape[1:]}",
            node=node.name,
            parameter="kernel_size",
            expected="a window that fits",
        )
    return k, s, p, (in_shape[0], *out)


def make_pool(node: Node, in_shape: Shape, average: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Sum over each window of zero-padded input; AvgPool2d divides by kh*kw (padding counted)."""
    k, s, p, out_shape = _pool_geometry(node, in_shape)
    scale = 1.0 / (k[0] * k[1]) if average else 1.0
    oh, ow = out_shape[1:]

    def pool(x: np.ndarray) -> np.ndarray:
        if p != (0, 0):
            x = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
        win = np.lib.stride_tricks.sliding_window_view(x, k, axis=(2, 3))[:, :, :: s[0], :: s[1]][
            :, :, :oh, :ow
        ]
        y = win.sum(axis=(-2, -1))
        return y * scale if average else y

    return pool


# ----------------------------------------------------------------------------- flatten
def decay_gain(tau: np.ndarray, dt: float, discretization: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, g): forward a = 1 - dt/tau, g = dt/tau; exponential a = exp(-dt/tau), g = 1 - a."""
    if discretization == "forward":
        g = dt / tau
        return 1.0 - g, g
    a = np.exp(-dt / tau)
    return a, 1.0 - a


def neuron_coefficients(
    kind: str, p: Mapping[str, np.ndarray], dt: float, discretization: str
) -> dict[str, Any]:
    """The per-step coefficients of a neuron node from its float parameters ``p``: ``gain`` (of the
    input, or of ``u`` for Cuba kinds), ``a`` and ``leak`` (membrane decay and ``dt/tau * v_leak``
    term), ``a_s`` and ``syn_gain`` (synaptic current, Cuba kinds). Used by the float reference and
    the netlist simulator alike (docs/primitives/*.md give the equations)."""
    if kind in ("I", "IF"):
        return {"gain": dt * p["r"]}
    if kind in ("LI", "LIF"):
        a, g = decay_gain(p["tau"], dt, discretization)
        return {"a": a, "leak": g * p["v_leak"], "gain": g * p["r"]}
    a_s, g_s = decay_gain(p["tau_syn"], dt, discretization)
    a, g = decay_gain(p["tau_mem"], dt, discretization)
    w_in = p.get("w_in")
    return {
        "a_s": a_s,
        "syn_gain": g_s * w_in if w_in is not None else g_s,
        "a": a,
        "leak": g * p["v_leak"],
        "gain": g * p["r"],
    }


def integrate(
    kind: str, c: Mapping[str, Any], v: np.ndarray, u: np.ndarray | None, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """One step of the membrane (and synaptic current) of a neuron node: (v, u) before firing."""
    if kind in ("I", "IF"):
        return v + c["gain"] * x, u
    if kind in ("CubaLI", "CubaLIF"):
        u = c["a_s"] * u + c["syn_gain"] * x
        return c["a"] * v + (c["leak"] + c["gain"] * u), u
    return c["a"] * v + (c["leak"] + c["gain"] * x), u


def fire(v: np.ndarray, theta: np.ndarray, reset: str, v_reset: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Spike where ``v > theta`` and reset (``subtract``, ``zero``, else to ``v_reset``): (v, spikes)."""
    spk = v > theta
    if reset == "subtract":
        v = np.where(spk, v - theta, v)
    elif reset == "zero":
        v = np.where(spk, 0.0, v)
    else:
        v = np.where(spk, v_reset, v)
    return v, spk.astype(np.float64)


def neuron_shape(node: Node) -> Shape:
    arrays = []
    for key, val in node.params.items():
        if val is None or key not in NEURON_ARRAY_PARAMS:
            continue
        arrays.append(np.asarray(val))
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    except ValueError:
        raise ParameterError(
            "parameters have incompatible shapes "
            + ", ".join(f"{k}{np.shape(v)}" for k, v in node.params.items() if v is not None),
            node=node.name,
            parameter="shape",
            expected="one neuron shape shared by every parameter",
        ) from None
    return tuple(int(s) for s in shape)


class Neuron:
    """State and step of one neuron node (batch-vectorised).

    Knowingly incomplete: the initial state is ``v = 0`` (and ``I = 0``) for every neuron;
    NIR does not define it (norse starts at ``v_leak``). Forward Euler is used as written
    even when ``dt > tau`` (unstable); ``check`` reports such τ.
    """

    observables: tuple[str, ...] = ("v",)

    def __init__(self, node: Node, shape: Shape, dt: float, discretization: str, reset: str, legacy: bool):
        self.name = node.name
        self.kind = node.kind
        self.shape = shape
        self.dt = dt
        p = {}
        for key in NEURON_PARAMS:
            if node.params.get(key) is not None:
                p[key] = np.broadcast_to(_array(node, key), shape).astype(np.float64)
        for key in TAU_PARAMS:
            if key in p and np.any(p[key] <= 0):
                raise ParameterError(
                    f"has values <= 0 (min {p[key].min()})",
                    node=node.name,
                    parameter=key,
                    expected="time constants > 0",
                )
        kind = node.kind
        self.spiking = kind in SPIKING_KINDS
        self.cuba = kind in ("CubaLI", "CubaLIF")
        self.coeffs = neuron_coefficients(kind, p, dt, discretization)
        self.observables = ("v", "u") if self.cuba else ("v",)
        if self.spiking:
            self.observables = self.observables + ("spikes",)
            self.theta = p["v_threshold"]
            self.reset = reset
            if reset == "file":
                if legacy:
                    raise legacy_reset_error(node.name)
                self.v_reset = p.get("v_reset", np.zeros(shape))
        self.v = self.u = self.z = None

    def init(self, batch: int) -> None:
        self.v = np.zeros((batch, *self.shape))
        self.u = np.zeros((batch, *self.shape)) if self.cuba else None
        self.z = np.zeros((batch, *self.shape)) if self.spiking else None

    def step(self, x: np.ndarray) -> np.ndarray:
        v, self.u = integrate(self.kind, self.coeffs, self.v, self.u, x)
        if not self.spiking:
            self.v = v
            return v
        self.v, self.z = fire(v, self.theta, self.reset, getattr(self, "v_reset", None))
        return self.z


def delay_steps(node: Node, dt: float, shape: Shape) -> np.ndarray:
    """Per-element delay in steps: ``round(delay/dt)``, which must be an integer within 1e-6 relative."""
    d = np.broadcast_to(_array(node, "delay"), shape) / dt
    steps = np.rint(d)
    bad = np.abs(d - steps) > 1e-6 * np.maximum(np.abs(d), 1.0)
    if np.any(bad) or np.any(steps < 0):
        worst = float(d.reshape(-1)[np.argmax((bad | (steps < 0)).reshape(-1))])
        raise ParameterError(
            f"delay/dt = {worst:g} steps",
            node=node.name,
            parameter="delay",
            expected=f"a non-negative integer multiple of dt={dt:g} (within 1e-6 relative)",
        )
    return steps.astype(np.int64)


class DelayLine:
    """``y[t] = x[t - d]`` element-wise (zeros before the line has filled)."""

    def __init__(self, steps: np.ndarray, shape: Shape):
        self.steps = steps
        self.shape = shape
        self.depth = int(steps.max(initial=0)) + 1

    def init(self, batch: int) -> None:
        self.buf = np.zeros((self.depth, batch, *self.shape))
        self.t = 0
        flat = self.steps.reshape(-1)
        self._elem = np.arange(flat.size)
        self._flat = flat

    def step(self, x: np.ndarray) -> np.ndarray:
        slot = self.t % self.depth
        self.buf[slot] = x
        read = (self.t - self._flat) % self.depth
        bsz = x.shape[0]
        buf = self.buf.reshape(self.depth, bsz, -1)
        y = buf[read, :, self._elem].T.reshape(x.shape)  # (elems, B) -> (B, elems)
        self.t += 1
        return y.copy()


__all__ = [
    "make_conv",
    "make_pool",
    "decay_gain",
    "neuron_shape",
    "Neuron",
    "delay_steps",
    "DelayLine",
]
