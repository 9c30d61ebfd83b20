"""Build the bundled default model (``default.nir``) and its sample input (``input.npz``).

A small recurrent network in seconds-based NIR units, dt = 1 ms stored in the metadata:
Input(16) -> Affine -> CubaLIF(32) <-> Affine (recurrent) -> Affine -> LIF(4) -> Output.
Weights are fixed random draws (seed 7), scaled so that every layer spikes on Poisson input.
It is a placeholder until the model zoo brings trained models (issue 7).

Run: ``python -m neurocompile.models.default.build`` (rewrites both files deterministically).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurocompile.ir import Graph, Node
from neurocompile.nirio import write_nir

HERE = Path(__file__).resolve().parent
DT = 1e-3


def build_graph() -> Graph:
    rng = np.random.default_rng(7)
    n_in, n_hid, n_out = 16, 32, 4
    nodes = {
        "input": Node("input", "Input", {"shape": np.array([n_in])}),
        "fc1": Node(
            "fc1", "Affine", {"weight": rng.normal(0.0, 1.0, (n_hid, n_in)) * 0.9, "bias": np.zeros(n_hid)}
        ),
        "lif1": Node(
            "lif1",
            "CubaLIF",
            {
                "tau_syn": np.full(n_hid, 5e-3),
                "tau_mem": np.full(n_hid, 10e-3),
                "r": np.ones(n_hid),
                "v_leak": np.zeros(n_hid),
                "v_threshold": np.ones(n_hid),
                "v_reset": np.zeros(n_hid),
                "w_in": np.full(n_hid, 5.0),
            },
        ),
        "rec": Node("rec", "Linear", {"weight": rng.normal(0.0, 0.3, (n_hid, n_hid))}),
        "fc2": Node(
            "fc2", "Affine", {"weight": rng.normal(0.4, 1.0, (n_out, n_hid)) * 2.0, "bias": np.zeros(n_out)}
        ),
        "lif2": Node(
            "lif2",
            "LIF",
            {
                "tau": np.full(n_out, 5e-3),
                "r": np.full(n_out, 5.0),
                "v_leak": np.zeros(n_out),
                "v_threshold": np.ones(n_out),
                "v_reset": np.zeros(n_out),
            },
        ),
        "output": Node("output", "Output", {"shape": np.array([n_out])}),
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
    return Graph(nodes=nodes, edges=edges, metadata={"dt": DT, "name": "neurocompile-default"})


def build_input(batch: int = 4, steps: int = 100, rate: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(11)
    return (rng.random((batch, steps, 16)) < rate).astype(np.float32)


def main() -> None:
    write_nir(build_graph(), HERE / "default.nir")
    np.savez_compressed(HERE / "input.npz", input=build_input())


if __name__ == "__main__":
    main()
