"""Reference simulator throughput next to norse on the same NIR graph, in one run.

Graph: Input(1000) -> Affine(1000x1000) -> LIF(1000) -> Output; batch 64, 200 steps,
10 % input activity, dt = 1e-3, tau = 10 ms, forward Euler. norse runs the same NIR graph
through ``norse.torch.from_nir`` on CPU torch (float32, as users run it), stepping the
nirtorch executor once per time step. Reported: neuron-steps/s (batch x neurons x steps
per second) and sample-steps/s (batch x steps per second; the table's unit). No speed goal is
set for the reference simulator; quick: batch 4, 20 steps.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, ratio  # noqa: E402

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


def main(quick: bool = False) -> list[Row]:
    import neurocompile as nc

    batch, steps = (4, 20) if quick else (BATCH, STEPS)
    size = f"{N_IN}x{N} Affine->LIF, batch {batch}, {steps} steps"
    rng = np.random.default_rng(0)
    g = _graph(rng)
    x = (rng.random((batch, steps, N_IN)) < RATE).astype(np.float64)
    nc.simulate(g, {"input": x[:2, :5]}, dt=DT)  # warm-up
    t0 = time.perf_counter()
    res = nc.simulate(g, {"input": x}, dt=DT)
    t_ref = time.perf_counter() - t0
    ours = batch * steps / t_ref
    row = Row(
        case=size,
        ours=ours,
        unit="sample-steps/s",
        goal="none set",
        detail={
            "seconds": t_ref,
            "neuron_steps_per_s": batch * N * steps / t_ref,
            "out_spikes": int(res.outputs["output"].sum()),
        },
    )
    try:
        import nir
        import norse.torch as nt
        import torch
    except ImportError as exc:
        row.reference = f"norse: unavailable ({type(exc).__name__}: {exc})"
        return [row]
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
        for t in range(steps):
            out, state = m(xt[:, t], state)
            total += float(state.cache["output"].sum())
        t_norse = time.perf_counter() - t0
    row.reference = (
        f"norse 1.1.0 from_nir (torch {torch.__version__} float32, {torch.get_num_threads()} threads)"
    )
    row.ref_value = batch * steps / t_norse
    row.ratio = ratio(ours, row.ref_value)
    row.note = f"output spikes: ours {row.detail['out_spikes']}, norse {int(total)}"
    row.detail.update(norse_seconds=t_norse, norse_out_spikes=int(total))
    return [row]


if __name__ == "__main__":
    for r in main("--quick" in sys.argv):
        print(r)
