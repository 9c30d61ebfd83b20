"""The ``digits_rnn_norse`` network, built from norse 1.1.0's own cells (imports torch, norse).

Input(8) -> Linear -> CubaLIF(N_HID) with a recurrent Linear(N_HID->N_HID) -> Linear -> CubaLIF(10),
no biases (a bias is a constant current that both chips apply from step 0 while the spikes
arrive one hop later, and SpiNNaker's ``i_offset`` skips the synaptic ramp: bias-free layers
avoid both approximations). The NIR file stores the Affine nodes with zero biases.
Each CubaLIF is exactly what ``norse.torch.from_nir`` builds for a NIR CubaLIF node:
``w_in * x -> LIBoxCell(1/tau_syn) -> * r -> LIFBoxCell(1/tau_mem, v_th, reset to 0)``, with
``dt = DT``. The recurrent input is the previous step's hidden spikes (zeros at t = 0), as
nirtorch evaluates a back-edge. So the NIR graph written by ``train.py`` (forward Euler,
``dt = DT``, reset to ``v_reset = 0``, ``hop_delay = 0``) means what this module computes.

``DT = 2**-10`` and ``tau = 4 DT``, ``8 DT`` make every ``dt/tau`` a power of two, so norse
and neurocompile's reference compute the same decay factors bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch
from norse.torch.module.leaky_integrator_box import LIBoxCell, LIBoxParameters
from norse.torch.module.lif_box import LIFBoxCell, LIFBoxParameters
from torch import nn

DT = 2.0**-10
TAU_SYN = 4 * DT
TAU_MEM = 8 * DT
W_IN = TAU_SYN / DT  # unit synaptic input gain: u <- 0.75 u + x
R = TAU_MEM / DT  # unit membrane input gain:  v <- 0.875 v + u
V_TH = 1.0
N_IN, N_HID, N_OUT = 8, 96, 10


class CubaLIF(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.syn = LIBoxCell(
            LIBoxParameters(tau_mem_inv=torch.as_tensor(1.0 / TAU_SYN), v_leak=torch.as_tensor(0.0)), dt=DT
        )
        self.mem = LIFBoxCell(
            LIFBoxParameters(
                tau_mem_inv=torch.as_tensor(1.0 / TAU_MEM),
                v_th=torch.as_tensor(V_TH),
                v_leak=torch.as_tensor(0.0),
            ),
            dt=DT,
        )

    def forward(self, x, state=None):
        s_syn, s_mem = state if state is not None else (None, None)
        u, s_syn = self.syn(W_IN * x, s_syn)
        z, s_mem = self.mem(R * u, s_mem)
        return z, (s_syn, s_mem)


class DigitsRNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(N_IN, N_HID, bias=False)
        self.rec = nn.Linear(N_HID, N_HID, bias=False)
        self.lif1 = CubaLIF()
        self.fc2 = nn.Linear(N_HID, N_OUT, bias=False)
        self.lif2 = CubaLIF()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (batch, time, 8) -> (output spikes, hidden spikes), each (batch, time, n)."""
        b, t = x.shape[:2]
        z1 = torch.zeros(b, N_HID, dtype=x.dtype)
        s1 = s2 = None
        outs, hids = [], []
        for k in range(t):
            z1, s1 = self.lif1(self.fc1(x[:, k]) + self.rec(z1), s1)
            z2, s2 = self.lif2(self.fc2(z1), s2)
            outs.append(z2)
            hids.append(z1)
        return torch.stack(outs, 1), torch.stack(hids, 1)


def to_graph(net: DigitsRNN):
    """The trained module as a neurocompile Graph (written to ``model.nir`` by nirio)."""
    from neurocompile.ir import Graph, Node

    def a(t):
        return t.detach().double().numpy().copy()

    def cuba(n):
        return {
            "tau_syn": np.full(n, TAU_SYN),
            "tau_mem": np.full(n, TAU_MEM),
            "r": np.full(n, R),
            "v_leak": np.zeros(n),
            "v_threshold": np.full(n, V_TH),
            "v_reset": np.zeros(n),
            "w_in": np.full(n, W_IN),
        }

    nodes = {
        "input": Node("input", "Input", {"shape": (N_IN,)}),
        "fc1": Node("fc1", "Affine", {"weight": a(net.fc1.weight), "bias": np.zeros(N_HID)}),
        "lif1": Node("lif1", "CubaLIF", cuba(N_HID)),
        "rec": Node("rec", "Affine", {"weight": a(net.rec.weight), "bias": np.zeros(N_HID)}),
        "fc2": Node("fc2", "Affine", {"weight": a(net.fc2.weight), "bias": np.zeros(N_OUT)}),
        "lif2": Node("lif2", "CubaLIF", cuba(N_OUT)),
        "output": Node("output", "Output", {"shape": (N_OUT,)}),
    }
    edges = [
        ("input", "fc1"),
        ("fc1", "lif1"),
        ("lif1", "rec"),
        ("rec", "lif1"),
        ("lif1", "fc2"),
        ("fc2", "lif2"),
        ("lif2", "output"),
    ]
    return Graph(nodes=nodes, edges=edges, metadata={"dt": DT, "framework": "norse", "reset": "zero"})


def from_graph(graph) -> DigitsRNN:
    """Rebuild the module from a loaded ``model.nir`` (float64; its Affine biases must be 0)."""
    net = DigitsRNN().double()
    p = graph.nodes
    with torch.no_grad():
        net.fc1.weight.copy_(torch.from_numpy(p["fc1"].params["weight"]))
        net.rec.weight.copy_(torch.from_numpy(p["rec"].params["weight"]))
        net.fc2.weight.copy_(torch.from_numpy(p["fc2"].params["weight"]))
    for key in ("fc1", "fc2"):
        if np.any(np.asarray(p[key].params.get("bias", 0.0)) != 0):
            raise ValueError(f"{key} has a nonzero bias; DigitsRNN has none")
    return net


def train_forward(net: DigitsRNN, x: torch.Tensor, spike) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``net.forward`` computes, in plain torch with a surrogate ``spike(v - V_TH)`` (for
    training; norse's own cells are evaluated and exported afterwards). Decays are the exact
    powers of two of the norse cells: u <- u + (dt/tau_syn)(W_IN x - u), v <- v + (dt/tau_mem)(R u - v)."""
    b, t = x.shape[:2]
    ks, km = DT / TAU_SYN, DT / TAU_MEM
    z1 = torch.zeros(b, N_HID, dtype=x.dtype)
    u1 = v1 = torch.zeros(b, N_HID, dtype=x.dtype)
    u2 = v2 = torch.zeros(b, N_OUT, dtype=x.dtype)
    outs, hids = [], []
    for k in range(t):
        u1 = u1 + ks * (W_IN * (net.fc1(x[:, k]) + net.rec(z1)) - u1)
        v1 = v1 + km * (R * u1 - v1)
        z1 = spike(v1 - V_TH)
        v1 = v1 * (1.0 - z1.detach())
        u2 = u2 + ks * (W_IN * net.fc2(z1) - u2)
        v2 = v2 + km * (R * u2 - v2)
        z2 = spike(v2 - V_TH)
        v2 = v2 * (1.0 - z2.detach())
        outs.append(z2)
        hids.append(z1)
    return torch.stack(outs, 1), torch.stack(hids, 1)
