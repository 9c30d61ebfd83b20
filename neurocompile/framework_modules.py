"""Read snnTorch, rockpool and spikingjelly modules directly (no exporter, no nir package).

``neurocompile.load(module, sample)`` calls :func:`read` for these frameworks. Each reader walks a
``torch.nn.Sequential`` (rockpool: its ``Sequential`` combinator) layer by layer and writes the
nested dict :func:`neurocompile.load` builds graphs from, in the form the framework's own exporter
writes (so a module and a file exported from it are translated by the same rules of
:mod:`neurocompile.conventions`), plus what the exporter drops, kept in node metadata or in the
parameters the translation reads:

* snnTorch 1.0 (``export_to_nir`` form, dt = 1e-4): ``Leaky``, ``Synaptic``, ``RLeaky``,
  ``RSynaptic`` (the last two as a nested graph with the recurrent ``Linear``/``Affine``, as
  the exporter), ``nn.Linear``, ``nn.Conv2d``, ``nn.Flatten``, ``nn.AvgPool2d``; metadata
  ``snntorch``: layer, ``reset_mechanism``, ``reset_delay``, ``graded_spikes_factor``,
  ``inhibition``, ``state_quant`` (the exporter records none of them).
* rockpool 3.1 (``to_nir`` form, node names ``<i>_<Class>``): ``LinearTorch``, ``LIFTorch``
  (``v_leak`` carries the ``bias`` and ``has_rec`` adds the recurrent ``Linear`` as a self-loop
  -- the exporter drops both), ``ExpSynTorch``; the module's ``dt`` in the graph conventions.
* spikingjelly 2.0 (no exporter form; NIR with dt = 1, forward Euler, see
  :func:`neurocompile.conventions.spikingjelly_to_nir`): ``IFNode``, ``LIFNode``,
  ``ParametricLIFNode``, ``layer.Linear``/``nn.Linear``, ``layer.Flatten``/``nn.Flatten``.

Parameters shared by a layer (a scalar ``beta``, ``threshold``...) are broadcast to the layer's
neurons, whose number is found by running the stateless layers (Linear, Conv, Flatten, pooling)
on ``sample`` (one step: ``(batch, *features)``). Anything else is a :class:`ModelLoadError`
naming the layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ModelLoadError

__all__ = ["read", "detect", "SNNTORCH_DT"]

SNNTORCH_DT = 1e-4


def _np(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        return t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=float)


def detect(module: Any) -> str | None:
    """'snntorch', 'rockpool' or 'spikingjelly' from the class module paths, else None."""
    mods = [c.__module__ for c in type(module).__mro__]
    try:  # rockpool's modules() is its own (a dict of names), hence named_children
        mods += [c.__module__ for _, m in module.named_children() for c in type(m).__mro__]
        mods += [type(m).__module__ for m in module.modules() if hasattr(m, "forward")]
    except Exception:  # noqa: BLE001 - not an nn.Module: the class alone
        pass
    for fw in ("snntorch", "rockpool", "spikingjelly"):
        if any(m == fw or m.startswith(fw + ".") for m in mods):
            return fw
    return None


def _layers(module: Any, fw: str) -> list[tuple[str, Any]]:
    import torch

    if fw == "rockpool":
        kids = list(module.named_children()) if hasattr(module, "named_children") else []
        if type(module).__name__ in ("Sequential", "TorchSequential", "ModSequential") and kids:
            return kids
        return [(f"0_{type(module).__name__}", module)]
    if isinstance(module, torch.nn.Sequential):
        out = []
        for name, child in module.named_children():
            if isinstance(child, torch.nn.Sequential):
                out += [(f"{name}.{n}", c) for n, c in _layers(child, fw)]
            else:
                out.append((name, child))
        return out
    return [("0", module)]


def read(module: Any, sample: Any, fw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(raw graph dict, conventions)`` of ``module`` (see the module docstring)."""
    import torch

    if sample is None:
        raise ModelLoadError(
            f"loading a {fw} module needs a sample input to size its layers",
            parameter="sample_input",
            expected="a torch tensor shaped like one step of one input batch, e.g. torch.zeros(1, n_in)",
        )
    x = torch.as_tensor(sample).detach().double()
    if fw == "rockpool" and x.ndim == 3:  # rockpool's (batch, time, n): one step
        x = x[:, 0]
    nodes: dict[str, Any] = {"input": {"type": "Input", "shape": np.array(x.shape[1:], dtype=np.int64)}}
    edges: list[tuple[str, str]] = []
    prev = "input"
    conventions: dict[str, Any] = {"framework": fw}
    reader = {"snntorch": _snntorch_layer, "rockpool": _rockpool_layer, "spikingjelly": _sj_layer}[fw]
    for name, layer in _layers(module, fw):
        with torch.no_grad():
            got = reader(name, layer, x, conventions)
        if got is None:
            continue
        raw, x = got
        nodes[name] = raw
        edges.append((prev, name))
        prev = name
    nodes["output"] = {"type": "Output", "shape": np.array(x.shape[1:], dtype=np.int64)}
    edges.append((prev, "output"))
    return {"type": "NIRGraph", "nodes": nodes, "edges": edges, "metadata": {}}, conventions


def _refuse(fw: str, name: str, layer: Any, why: str = "") -> ModelLoadError:
    return ModelLoadError(
        f"{fw} layer '{name}' ({type(layer).__name__}) cannot be read{': ' + why if why else ''}",
        node=name,
        expected={
            "snntorch": "Leaky, Synaptic, RLeaky, RSynaptic, nn.Linear, nn.Conv2d, nn.Flatten, nn.AvgPool2d "
            "in an nn.Sequential",
            "rockpool": "LinearTorch, LIFTorch, ExpSynTorch in a Sequential",
            "spikingjelly": "IFNode, LIFNode, ParametricLIFNode, Linear, Flatten in an nn.Sequential",
        }[fw],
    )


def _structural(name: str, layer: Any, x: Any) -> tuple[dict[str, Any], Any] | None:
    """nn.Linear / Conv2d / Flatten / AvgPool2d / Identity as NIR (and the output for sizing)."""
    import torch

    if isinstance(layer, torch.nn.Identity):
        return {"type": "Identity"}, x
    if isinstance(layer, torch.nn.Linear):
        y = torch.nn.functional.linear(
            x, layer.weight.double(), None if layer.bias is None else layer.bias.double()
        )
        if layer.bias is None:
            return {"type": "Linear", "weight": _np(layer.weight)}, y
        return {"type": "Affine", "weight": _np(layer.weight), "bias": _np(layer.bias)}, y
    if isinstance(layer, torch.nn.Conv2d):
        y = torch.nn.functional.conv2d(
            x,
            layer.weight.double(),
            None if layer.bias is None else layer.bias.double(),
            layer.stride,
            layer.padding,
            layer.dilation,
            layer.groups,
        )
        return {
            "type": "Conv2d",
            "weight": _np(layer.weight),
            "bias": _np(layer.bias) if layer.bias is not None else np.zeros(layer.weight.shape[0]),
            "stride": np.array(layer.stride),
            "padding": np.array(layer.padding),
            "dilation": np.array(layer.dilation),
            "groups": layer.groups,
            "input_shape": np.array(x.shape[2:]),
        }, y
    if isinstance(layer, torch.nn.Flatten):
        y = torch.flatten(x, layer.start_dim, layer.end_dim)
        sd = layer.start_dim - 1 if layer.start_dim > 0 else layer.start_dim
        ed = layer.end_dim - 1 if layer.end_dim > 0 else layer.end_dim
        return {"type": "Flatten", "start_dim": sd, "end_dim": ed, "input_type": np.array(x.shape[1:])}, y
    if isinstance(layer, torch.nn.AvgPool2d):
        y = torch.nn.functional.avg_pool2d(x, layer.kernel_size, layer.stride, layer.padding)
        k = layer.kernel_size
        return {
            "type": "AvgPool2d",
            "kernel_size": np.array(k if isinstance(k, tuple) else (k, k)),
            "stride": np.array(
                (layer.stride if isinstance(layer.stride, tuple) else (layer.stride, layer.stride))
                if layer.stride is not None
                else (k if isinstance(k, tuple) else (k, k))
            ),
            "padding": np.array(
                layer.padding if isinstance(layer.padding, tuple) else (layer.padding, layer.padding)
            ),
        }, y
    return None


def _per_neuron(v: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(_np(v), shape).astype(np.float64).copy()


# ---------------------------------------------------------------------------- snnTorch
def _snntorch_layer(name: str, layer: Any, x: Any, conv: dict[str, Any]):
    import snntorch as snn

    got = _structural(name, layer, x)
    if got is not None:
        return got
    shape = tuple(x.shape[1:])
    dt = SNNTORCH_DT
    conv.setdefault("dt", dt)
    if not isinstance(layer, (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic)):
        raise _refuse("snntorch", name, layer)
    meta = {
        "layer": type(layer).__name__,
        "reset_mechanism": str(layer.reset_mechanism),
        "reset_delay": bool(getattr(layer, "reset_delay", True)),
        "graded_spikes_factor": float(_np(layer.graded_spikes_factor).reshape(-1)[0])
        if _np(layer.graded_spikes_factor).size == 1
        else _per_neuron(layer.graded_spikes_factor, shape),
        "inhibition": bool(layer.inhibition),
        "state_quant": bool(layer.state_quant),
    }
    beta = np.clip(_per_neuron(layer.beta, shape), 0.0, 1.0)
    thr = _per_neuron(layer.threshold, shape)
    tau_mem = dt / (1.0 - beta)
    p: dict[str, Any] = {
        "v_threshold": thr,
        "v_leak": np.zeros(shape),
        "r": tau_mem / dt,
        "v_reset": np.zeros(shape),
    }
    if isinstance(layer, (snn.Synaptic, snn.RSynaptic)):
        alpha = np.clip(_per_neuron(layer.alpha, shape), 0.0, 1.0)
        tau_syn = dt / (1.0 - alpha)
        p.update({"type": "CubaLIF", "tau_mem": tau_mem, "tau_syn": tau_syn, "w_in": tau_syn / dt})
    else:
        p.update({"type": "LIF", "tau": tau_mem})
    p["metadata"] = {"snntorch": meta}
    if not isinstance(layer, (snn.RLeaky, snn.RSynaptic)):
        return p, x
    rec = layer.recurrent
    import torch

    if layer.all_to_all:
        if not isinstance(rec, torch.nn.Linear):
            raise _refuse("snntorch", name, layer, "a convolutional recurrence")
        w_rec, _ = _structural(name, rec, x)
    else:
        w_rec = {"type": "Linear", "weight": np.diag(_per_neuron(layer.V, shape).reshape(-1))}
    n = int(np.prod(shape))
    sub = {
        "type": "NIRGraph",
        "nodes": {
            "input": {"type": "Input", "shape": np.array([n])},
            "lif": p,
            "w_rec": w_rec,
            "output": {"type": "Output", "shape": np.array([n])},
        },
        "edges": [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    }
    return sub, x


# ---------------------------------------------------------------------------- rockpool
def _rockpool_layer(name: str, layer: Any, x: Any, conv: dict[str, Any]):
    from rockpool.nn.modules import ExpSynTorch, LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.lif_neuron_torch import LIFNeuronTorch

    if isinstance(layer, LinearTorch):
        w = _np(layer.weight)  # (in, out)
        b = getattr(layer, "bias", None)
        y = x @ layer.weight.double() + (0 if b is None else b.double())
        if b is None:
            return {"type": "Linear", "weight": w.T.copy()}, y
        return {"type": "Affine", "weight": w.T.copy(), "bias": _np(b)}, y
    dt = float(getattr(layer, "dt", 1e-3))
    if "dt" in conv and abs(conv["dt"] - dt) > 1e-12 * dt:
        raise _refuse("rockpool", name, layer, f"dt {dt} differs from an earlier layer's {conv['dt']}")
    conv["dt"] = dt
    shape = (int(layer.size_out),)
    if type(layer) is LIFTorch:
        if layer.size_in != layer.size_out:
            raise _refuse("rockpool", name, layer, "several synapses per neuron (size_in != size_out)")
        tau_mem = _per_neuron(layer.tau_mem, shape)
        tau_syn = _per_neuron(
            _np(layer.tau_syn).reshape(-1) if _np(layer.tau_syn).size > 1 else layer.tau_syn, shape
        )
        maxs = float(_np(layer.max_spikes_per_dt).reshape(-1)[0])
        if maxs != 1.0:
            conv.setdefault("rockpool_max_spikes_per_dt", {})[name] = maxs
        lif = {
            "type": "CubaLIF",
            "tau_syn": tau_syn,
            "tau_mem": tau_mem,
            "r": tau_mem * np.exp(-dt / tau_mem) / dt,
            "v_leak": _per_neuron(layer.bias, shape),
            "v_threshold": _per_neuron(layer.threshold, shape),
            "w_in": np.ones(shape),
            "metadata": {
                "rockpool": {"max_spikes_per_dt": maxs, "has_rec": bool(getattr(layer, "_has_rec", False))}
            },
        }
        if float(_np(getattr(layer, "noise_std", 0.0)).reshape(-1)[0]) != 0.0:
            raise _refuse("rockpool", name, layer, "noise_std != 0 (random)")
        if not getattr(layer, "_has_rec", False):
            return lif, x
        w_rec = _np(layer.w_rec)  # (out, out): irec = spikes @ w_rec
        sub = {
            "type": "NIRGraph",
            "nodes": {
                "input": {"type": "Input", "shape": np.array(shape)},
                "lif": lif,
                "w_rec": {"type": "Linear", "weight": w_rec.T.copy()},
                "output": {"type": "Output", "shape": np.array(shape)},
            },
            "edges": [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        }
        return sub, x
    if type(layer) is LIFNeuronTorch:
        tau = _per_neuron(layer.tau_mem, shape)
        return {
            "type": "LIF",
            "tau": tau,
            "r": tau * np.exp(-dt / tau) / dt,
            "v_leak": _per_neuron(layer.bias, shape),
            "v_threshold": _per_neuron(layer.threshold, shape),
        }, x
    if type(layer) is ExpSynTorch:
        tau = _per_neuron(layer.tau, shape)
        return {"type": "LI", "tau": tau, "r": tau * np.exp(-dt / tau) / dt, "v_leak": np.zeros(shape)}, x
    raise _refuse("rockpool", name, layer)


# ---------------------------------------------------------------------------- spikingjelly
def _sj_layer(name: str, layer: Any, x: Any, conv: dict[str, Any]):
    from spikingjelly.activation_based import neuron

    conv.setdefault("dt", 1.0)
    got = _structural(name, layer, x)
    if got is not None:
        return got
    shape = tuple(x.shape[1:])
    if not isinstance(layer, (neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode)):
        raise _refuse("spikingjelly", name, layer)
    if type(layer) not in (neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode):
        raise _refuse("spikingjelly", name, layer, "a subclass with its own dynamics")
    v_reset = layer.v_reset
    soft = v_reset is None
    vr = 0.0 if soft else float(v_reset)
    thr = np.full(shape, float(layer.v_threshold) - vr)
    meta = {"spikingjelly": {"soft_reset": soft, "v_reset": None if soft else vr}}
    if isinstance(layer, neuron.IFNode):
        p = {"type": "IF", "r": np.ones(shape), "v_threshold": thr}
    else:
        if isinstance(layer, neuron.ParametricLIFNode):
            inv = 1.0 / (1.0 + math.exp(-float(_np(layer.w).reshape(-1)[0])))
            tau = 1.0 / inv
        else:
            tau = float(layer.tau)
        meta["spikingjelly"]["decay_input"] = bool(layer.decay_input)
        p = {
            "type": "LIF",
            "tau": np.full(shape, tau),
            "r": np.ones(shape) if layer.decay_input else np.full(shape, tau),
            "v_leak": np.zeros(shape),
            "v_threshold": thr,
        }
    p["v_reset"] = np.zeros(shape)  # soft reset: rewritten by the translation (metadata)
    p["metadata"] = meta
    return p, x
