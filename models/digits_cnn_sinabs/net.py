"""The ``digits_cnn_sinabs`` network as a sinabs module (imports torch and sinabs).

Conv(1->8, 3x3, pad 1) -> IAF -> SumPool 2 -> Conv(8->16, 3x3, pad 1) -> IAF -> SumPool 2 ->
Flatten -> Linear(64->10) -> IAF, no biases, threshold 1 (channel counts ``CH1``, ``CH2``).
Every IAF uses ``SingleSpike`` (at most one spike per step), ``min_v_mem=None`` (no floor) and
``MembraneReset(0)`` (reset to zero, what Loihi 2 and SpiNNaker neurons do): that is exactly what
neurocompile's reference computes for the exported IF nodes with ``dt = 1``, ``r = 1`` and
``v_reset = 0`` (reset "file"); sinabs' default ``MultiSpike`` and ``from_nir``'s
``min_v_mem = -threshold`` would not be. ``build(steps, reset="subtract")`` gives the
``MembraneSubtract`` variant that ``neurocompile.conventions.sinabs_to_nir`` describes (used by
the random round-trip tests).
"""

from __future__ import annotations

import numpy as np
import sinabs.activation as sa
import sinabs.layers as sl
import torch
from torch import nn

CH1, CH2 = 16, 32


def iaf(steps: int, reset: str = "zero") -> sl.IAFSqueeze:
    reset_fn = sa.MembraneReset(reset_value=0.0) if reset == "zero" else sa.MembraneSubtract()
    return sl.IAFSqueeze(
        num_timesteps=steps,
        spike_threshold=1.0,
        spike_fn=sa.SingleSpike,
        reset_fn=reset_fn,
        surrogate_grad_fn=sa.SingleExponential(),
        min_v_mem=None,
    )


def build(steps: int, reset: str = "zero") -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, CH1, 3, padding=1, bias=False),
        iaf(steps, reset),
        sl.SumPool2d(2),
        nn.Conv2d(CH1, CH2, 3, padding=1, bias=False),
        iaf(steps, reset),
        sl.SumPool2d(2),
        nn.Flatten(),
        nn.Linear(CH2 * 4, 10, bias=False),
        iaf(steps, reset),
    )


def load_weights(net: nn.Sequential, graph) -> nn.Sequential:
    """Copy the weights of a loaded ``model.nir`` (neurocompile Graph) into ``net`` (in place)."""
    convs = [n for n in graph.nodes.values() if n.kind in ("Conv2d", "Affine")]
    mods = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    for mod, node in zip(mods, convs):
        mod.weight.data = torch.tensor(np.asarray(node.params["weight"]), dtype=mod.weight.dtype)
    return net


def run(net: nn.Sequential, spikes: np.ndarray) -> np.ndarray:
    """Output spikes (N, T, 10) for input spikes (N, T, 1, 8, 8); states reset first."""
    n, t = spikes.shape[:2]
    for m in net.modules():
        if isinstance(m, sl.IAFSqueeze):
            m.reset_states()
            m.num_timesteps = t
    dtype = next(net.parameters()).dtype
    for m in net.modules():  # sinabs' spike functions return float32 even for float64 input
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not getattr(m, "_nc_cast", False):
            m.register_forward_pre_hook(lambda mod, args: tuple(a.to(mod.weight.dtype) for a in args))
            m._nc_cast = True
    with torch.no_grad():
        out = net(torch.tensor(spikes.reshape(n * t, *spikes.shape[2:]), dtype=dtype))
    return out.reshape(n, t, -1).double().numpy()
