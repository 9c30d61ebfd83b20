"""The issue-3 benchmark networks as loihi2 Programs (shared by bench_emulator.py and H4's
bench_loihi2.py, so that emulator and Lava run the very same Programs).

* :func:`dense_net`: RingBuffer(1000) -> Dense(1000 x 1000, w in [-8, 9]) -> LIF(1000);
* :func:`chain_net`: RingBuffer(256) -> 10 x [Dense(256 x 256, w in [-26, 25]) -> LIF(256)];
* :func:`bernoulli_inputs`: 10 % Bernoulli spike inputs (batch, time, n).

Weights follow ``docs/reference/loihi2.md`` §6; the LIF parameters give sustained activity.
"""

from __future__ import annotations

import numpy as np

from neurocompile.targets.loihi2.builder import Loihi2Builder


def dense_net(n_in: int = 1000, n_out: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", n_in)
    b.lif("lif", n_out, du=2048, dv=1024, vth=40)
    b.dense("x", "lif", rng.integers(-8, 10, (n_out, n_in)))
    return b.build(outputs={"y": ("lif", "spikes")}, provenance={"benchmark": "dense", "seed": seed})


def chain_net(layers: int = 10, n: int = 256, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", n)
    prev = "x"
    for k in range(layers):
        b.lif(f"l{k}", n, du=2048, dv=1024, vth=60)
        b.dense(prev, f"l{k}", rng.integers(-26, 26, (n, n)))
        prev = f"l{k}"
    return b.build(outputs={"y": (prev, "spikes")}, provenance={"benchmark": "chain", "seed": seed})


def bernoulli_inputs(n: int, steps: int, *, batch: int = 1, rate: float = 0.1, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((batch, steps, n)) < rate).astype(np.float64)
