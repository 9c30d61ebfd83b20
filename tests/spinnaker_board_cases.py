"""Hand-built spinnaker Programs (the schema of targets/spinnaker/schema.py) for the board and
bundle tests: random networks with random w16, delays, receptors, shifts and sizes."""

from __future__ import annotations

import numpy as np

from neurocompile.program import OutputSpec, Population, Program, Projection


def lif(
    name: str, size: int, rng: np.random.Generator, kind: str = "if_curr_exp", shifts=None, npc: int = 256
):
    params = {
        "cm": 1.0,
        "tau_m": float(rng.choice([10.0, 20.0])),
        "v_rest": -65.0,
        "v_reset": -70.0,
        "v_thresh": -50.0,
        "tau_refrac": 2.0,
        "i_offset": np.round(rng.uniform(0, 0.5, size), 3),
        "v_init": np.full(size, -65.0),
        "ring_buffer_shifts": list(shifts)
        if shifts is not None
        else [int(rng.integers(0, 8)), int(rng.integers(0, 8))],
        "neurons_per_core": npc,
    }
    if kind == "if_curr_exp":
        params.update(tau_syn_E=5.0, tau_syn_I=float(rng.choice([5.0, 10.0])))
    return Population(name, kind, (size,), params)


def projection(
    name: str,
    pre: Population,
    post: Population,
    rng: np.random.Generator,
    p: float,
    receptor: str,
    max_delay: int = 8,
) -> Projection:
    mask = rng.random((pre.size, post.size)) < p
    i, j = np.nonzero(mask)
    n = i.size
    w16 = rng.integers(0, 65536, n)
    w16 = np.where(rng.random(n) < 0.5, rng.integers(1, 600, n), w16)
    d = rng.integers(1, max_delay + 1, n)
    return Projection(
        name,
        pre.name,
        post.name,
        "from_list",
        {
            "pre": i.astype(np.int64),
            "post": j.astype(np.int64),
            "w16": w16.astype(np.int64),
            "delays": d.astype(np.int64),
            "receptor": receptor,
        },
    )


def random_program(seed: int, tick_ms: float = 1.0) -> Program:
    """A random 2-3 layer network (spike source -> LIF [-> LIF], recurrence, exc + inh)."""
    rng = np.random.default_rng(seed)
    prog = Program(target="spinnaker", semantics={"tick_ms": tick_ms, "dt": 1.0, "hop_delay": 1})
    n_in = int(rng.integers(2, 40))
    src = Population("src", "spike_source", (n_in,))
    prog.populations["src"] = src
    prog.inputs["input"] = "src"
    h = lif("h", int(rng.integers(1, 60)), rng, kind=str(rng.choice(["if_curr_exp", "if_curr_delta"])))
    prog.populations["h"] = h
    for rec in ("excitatory", "inhibitory"):
        prog.projections[f"src_h_{rec[:3]}"] = projection(f"src_h_{rec[:3]}", src, h, rng, 0.3, rec)
    if rng.random() < 0.5:
        prog.projections["h_h"] = projection("h_h", h, h, rng, 0.1, "inhibitory", max_delay=20)
    last = h
    if rng.random() < 0.6:
        o = lif("o", int(rng.integers(1, 20)), rng)
        prog.populations["o"] = o
        prog.projections["h_o"] = projection("h_o", h, o, rng, 0.5, "excitatory")
        last = o
    prog.outputs["output"] = OutputSpec(last.name, "spikes")
    return prog


def per_neuron_program(seed: int) -> Program:
    """:func:`random_program` with one value per neuron of every cell parameter (tau_m, cm,
    v_rest, v_reset, v_thresh, tau_refrac, tau_syn_E/I), as per-neuron time constants, thresholds
    and leaks lower to (issue 10 item 4)."""
    prog = random_program(seed)
    rng = np.random.default_rng(5000 + seed)
    for pop in prog.populations.values():
        if pop.kind == "spike_source":
            continue
        n = pop.size
        p = pop.params
        p["tau_m"] = np.round(rng.uniform(5.0, 40.0, n), 3)
        p["cm"] = np.round(rng.uniform(0.5, 2.0, n), 3)
        p["v_rest"] = np.round(rng.uniform(-70.0, -60.0, n), 3)
        p["v_reset"] = np.round(rng.uniform(-75.0, -65.0, n), 3)
        p["v_thresh"] = np.round(rng.uniform(-55.0, -45.0, n), 3)
        p["tau_refrac"] = np.round(rng.uniform(0.0, 3.0, n), 3)
        if pop.kind == "if_curr_exp":
            p["tau_syn_E"] = np.round(rng.uniform(1.0, 10.0, n), 3)
            p["tau_syn_I"] = np.round(rng.uniform(1.0, 10.0, n), 3)
    return prog


def layered_program(
    sizes: list[int], p: float = 0.05, seed: int = 0, npc: int = 256, max_delay: int = 8, tick_ms: float = 1.0
) -> Program:
    """Spike source of sizes[0] -> LIF sizes[1] -> ... (feed-forward, p-sparse, excitatory)."""
    rng = np.random.default_rng(seed)
    prog = Program(target="spinnaker", semantics={"tick_ms": tick_ms, "dt": 1.0, "hop_delay": 1})
    prev = Population("l0", "spike_source", (sizes[0],))
    prog.populations["l0"] = prev
    prog.inputs["input"] = "l0"
    for k, n in enumerate(sizes[1:], start=1):
        pop = lif(f"l{k}", n, rng, shifts=[4, 2], npc=npc)
        prog.populations[pop.name] = pop
        prog.projections[f"p{k}"] = projection(f"p{k}", prev, pop, rng, p, "excitatory", max_delay=max_delay)
        prev = pop
    prog.outputs["output"] = OutputSpec(prev.name, "spikes")
    return prog
