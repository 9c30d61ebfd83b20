"""Loihi 2 placement at scale: a 1M-neuron, 100M-synapse feed-forward network (issue 4).

Network: RingBuffer(100 000) -> 10 LIF layers of 100 000 neurons (1 000 000 LIF neurons), each
layer fed by a ``sparse`` projection with fan-in 100 from the previous layer (10 x 10M =
100M synapses, 8-bit weights, no duplicate pairs). Built with ``Loihi2Builder`` from COO
arrays (a dense 1M x 1M matrix is never materialised), validated, then placed with
``targets.loihi2.partition.place`` under the default limits (8192 neurons/core, 128 cores/chip,
128 KiB ESTIMATED synapse memory per core).

Measured: build (+ validation) time, placement time, peak memory: RSS high-water mark of
this process (``resource.getrusage``; includes the interpreter and numpy) and the tracemalloc
peak of the Python allocations during build + place. Goal (issue 4): < 60 s, < 8 GiB.

The NIR path (``neurocompile.compile`` from a NIR graph) is not benchmarked at this size: a
NIR Affine/Linear node stores a dense weight matrix, so a 100k x 100k layer would need 80 GB
as float64 before any lowering; only sparse COO Programs reach this scale.
Run: ``.venv/bin/python benchmarks/bench_partition.py [--quick]`` (quick: 2 x 10 000, fan-in 10).
Peak RSS is this process's: ``benchmarks/run.py`` runs each bench in its own process.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row  # noqa: E402

LAYERS = 10
WIDTH = 100_000
FAN_IN = 100


def build(layers: int = LAYERS, width: int = WIDTH, fan_in: int = FAN_IN, seed: int = 0):
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", width)
    prev = "x"
    post = np.repeat(np.arange(width, dtype=np.int64), fan_in)
    for k in range(layers):
        name = f"l{k}"
        b.lif(name, width, du=4095, dv=256, vth=100)
        # fan_in distinct pre neurons per post neuron: a random base plus distinct offsets mod width
        offsets = rng.choice(width, fan_in, replace=False).astype(np.int64)
        base = rng.integers(0, width, width, dtype=np.int64)
        pre = ((base[:, None] + offsets[None, :]) % width).reshape(-1)
        w = rng.integers(-128, 128, pre.size, dtype=np.int64)
        b.sparse(prev, name, w, pre_index=pre, post_index=post)
        del pre, w, base
        prev = name
    return b.build(
        outputs={"y": (prev, "spikes")}, provenance={"benchmark": "partition_1M_100M", "seed": seed}
    )


def main(quick: bool = False) -> list[Row]:
    from neurocompile.targets.loihi2.partition import place

    layers, width, fan_in = (2, 10_000, 10) if quick else (LAYERS, WIDTH, FAN_IN)
    tracemalloc.start()
    t0 = time.perf_counter()
    prog = build(layers, width, fan_in)
    t1 = time.perf_counter()
    pl = place(prog)
    t2 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    neurons = sum(p.size for p in prog.populations.values() if p.kind != "input")
    synapses = sum(int(np.size(p.params["weights"])) for p in prog.projections.values())
    again = place(prog, write=False)
    total, rss_gib = t2 - t0, rss / 2**30
    return [
        Row(
            case=f"ff {layers}x{width} fan-in {fan_in}",
            ours=total,
            unit="s",
            reference="none (absolute goal)",
            goal="< 60 s, < 8 GiB",
            met=total < 60 and rss_gib < 8,
            checks={"deterministic": again.as_dict() == pl.as_dict()},
            note=f"{neurons:,} neurons, {synapses:,} synapses; peak RSS {rss_gib:.2f} GiB; "
            f"{pl.cores_used} cores, {pl.chips} chips",
            detail={
                "neurons": neurons,
                "synapses": synapses,
                "build_s": round(t1 - t0, 2),
                "place_s": round(t2 - t1, 2),
                "total_s": round(total, 2),
                "peak_rss_GiB": round(rss_gib, 2),
                "tracemalloc_peak_GiB": round(peak / 2**30, 2),
                "cores": pl.cores_used,
                "chips": pl.chips,
                "interchip_synapses": pl.extra["interchip_synapses"],
            },
        )
    ]


if __name__ == "__main__":
    for row in main("--quick" in sys.argv):
        for k, v in row.as_dict().items():
            print(f"{k:>22}: {v}")
