"""Reference simulator throughput next to norse on the same NIR graph, in one run.

Graph: Input(1000) -> Affine(1000x1000) -> LIF(1000) -> Output; batch 64, 200 steps,
10 % input activity, dt = 1e-3, tau = 10 ms, forward Euler. norse runs the same NIR graph
through ``norse.torch.from_nir`` on CPU torch (float32, as users run it), stepping the
nirtorch executor once per time step. Reported: neuron-steps/s (batch x neurons x steps
per second) and sample-steps/s (batch x steps per second).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

N_IN, N, BATCH, STEPS, RATE, DT = 1000, 1000, 64, 200, 0.1, 1e-3


def _graph(rng):
    from neurocompile.ir import Graph, Node

    W = rng.normal(0.0, 0.05, (N, N_IN)).astype(np.float32).astype(np.float64)
    nodes = {
        "input": Node("input", "Input", {"shape": (N_IN,)}),
        "aff": Node("aff", "Affine", {"weight": W, "bias": np.zeros(N)}),
        "lif": Node(
            "lif",
            "LIF",
            {
                "tau": np.full(N, 1e-2),
                "r": np.ones(N),
                "v_leak": np.zeros(N),
                "v_threshold": np.full(N, 0.1),
                "v_reset": np.zeros(N),
            },
        ),
        "output": Node("output", "Output", {"shape": (N,)}),
    }
    return Graph(nodes=nodes, edges=[("input", "aff"), ("aff", "lif"), ("lif", "output")])


def _row(name, seconds, spikes, note=""):
    return {
        "case": name,
        "seconds": seconds,
        "neuron_steps_per_s": BATCH * N * STEPS / seconds,
        "sample_steps_per_s": BATCH * STEPS / seconds,
        "out_spikes": int(spikes),
        "note": note,
    }


def main() -> list[dict]:
    import neurocompile as nc

    rng = np.random.default_rng(0)
    g = _graph(rng)
    x = (rng.random((BATCH, STEPS, N_IN)) < RATE).astype(np.float64)
    nc.simulate(g, {"input": x[:2, :5]}, dt=DT)  # warm-up
    t0 = time.perf_counter()
    res = nc.simulate(g, {"input": x}, dt=DT)
    t_ref = time.perf_counter() - t0
    rows = [
        _row(
            "reference (numpy float64)",
            t_ref,
            res.outputs["output"].sum(),
            f"{N_IN}x{N} Affine->LIF, batch {BATCH}, {STEPS} steps, {RATE:.0%} input",
        )
    ]
    try:
        import nir
        import norse.torch as nt
        import torch
    except ImportError as exc:
        rows.append({"case": "norse", "note": f"skipped: {exc}"})
        return rows
    ng = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([N_IN])),
            "aff": nir.Affine(g.nodes["aff"].params["weight"].astype(np.float32), np.zeros(N, np.float32)),
            "lif": nir.LIF(
                tau=np.full(N, 1e-2, np.float32),
                r=np.ones(N, np.float32),
                v_leak=np.zeros(N, np.float32),
                v_threshold=np.full(N, 0.1, np.float32),
            ),
            "output": nir.Output(np.array([N])),
        },
        edges=[("input", "aff"), ("aff", "lif"), ("lif", "output")],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = nt.from_nir(ng, dt=DT)
    xt = torch.from_numpy(x.astype(np.float32))
    with torch.no_grad():
        t0 = time.perf_counter()
        state, total = None, 0.0
        for t in range(STEPS):
            out, state = m(xt[:, t], state)
            total += float(state.cache["output"].sum())
        t_norse = time.perf_counter() - t0
    rows.append(
        _row(
            f"norse 1.1.0 from_nir (torch {torch.__version__}, float32, {torch.get_num_threads()} threads)",
            t_norse,
            total,
            f"reference/norse time ratio {t_ref / t_norse:.2f}",
        )
    )
    return rows


if __name__ == "__main__":
    for r in main():
        print(r)
