#!/usr/bin/env python
"""Stand-alone PyNN script of a neurocompile SpiNNaker bundle (copied verbatim as ``run.py``).

It needs PyNN and numpy only (no neurocompile). It reads ``network.npz`` (written by
``neurocompile emit``): populations (``SpikeSourceArray`` / ``IF_curr_exp`` / ``IF_curr_delta``
with their PyNN parameters), projections as explicit ``FromListConnector`` lists (pre, post,
weight, delay in ms; inhibitory weights negative, PyNN's convention for current synapses), the
input spikes of each sample, and per population the ``max_expected_summed_weight`` that pins
sPyNNaker's ring-buffer shifts. The explicit lists keep sPyNNaker on its host-side synapse path,
so the weights on chip are exactly ``w16 = rint(|w| * 2**(15 - shift))``.

Usage::

    python run.py                      # import pyNN.spiNNaker as sim
    python run.py spiNNaker            # EBRAINS' `run.py {system}` (pyNN.utility.get_simulator)
    python run.py nest --sample 3      # any PyNN backend (additional_parameters are dropped)
    python run.py --readback           # also write readback.npz: weights/delays as mapped + shifts
    python run.py --check              # compare the recorded spikes with golden.npz (exit 1 on mismatch)

Writes ``results.npz`` (``POP.spikes`` as 0/1 arrays (ticks, size), ``POP.v`` in mV) in the CWD,
which is where EBRAINS collects output files. On a virtual board (``virtual_board = True`` in
``spynnaker.cfg``) sPyNNaker maps the network but runs nothing: the recordings are empty.
"""

import argparse
import importlib
import json
import sys

import numpy as np

NETWORK_FORMAT = "neurocompile-pynn-network"
NETWORK_FORMAT_VERSION = 1
_EXTRA_ARGS = (
    ("--network", "network file", {"default": "network.npz"}),
    ("--golden", "golden spikes of the emulator", {"default": "golden.npz"}),
    ("--sample", "input sample to run", {"type": int, "default": 0}),
    ("--output", "results file", {"default": "results.npz"}),
    ("--readback", "write readback.npz (sPyNNaker only)", {"action": "store_true"}),
    ("--check", "compare spikes with golden.npz", {"action": "store_true"}),
)


def load_network(path):
    """``network.npz`` -> (description dict, arrays dict)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    net = json.loads(str(arrays.pop("network.json")))
    if net.get("format") != NETWORK_FORMAT or int(net.get("format_version", 0)) > NETWORK_FORMAT_VERSION:
        raise SystemExit(f"{path} is not a {NETWORK_FORMAT} file this script can read")
    return net, arrays


def is_spinnaker(sim):
    return "spiNNaker" in getattr(sim, "__name__", "") or "spynnaker" in getattr(sim, "__name__", "")


def spike_times(net, arrays, index, sample):
    """Spike times (ms) per neuron of spike-source population ``index`` for one sample."""
    pop = net["populations"][index]
    tick = float(net["tick_ms"])
    times = [[] for _ in range(int(pop["size"]))]
    key = f"pop{index}.spikes"
    if key in arrays:
        s, t, n = arrays[key]
        sel = s == sample
        for ti, ni in zip(t[sel].tolist(), n[sel].tolist()):
            times[ni].append(round(ti * tick, 6))
    # sPyNNaker 7.4.1's spike-density check indexes the most common time and raises IndexError
    # when every per-neuron list is empty; an empty flat list means "no spikes" to it.
    return times if any(times) else []


def build_network(sim, net, arrays, sample=0, record=True):
    """Create the populations and projections of ``net`` in ``sim`` (after ``sim.setup``)."""
    spinn = is_spinnaker(sim)
    pops, projs = {}, {}
    for i, p in enumerate(net["populations"]):
        size = int(p["size"])
        if p["model"] == "SpikeSourceArray":
            cell = sim.SpikeSourceArray(spike_times=spike_times(net, arrays, i, sample))
            pops[p["label"]] = sim.Population(size, cell, label=p["label"])
            continue
        params = dict(p["params"])
        for name in p.get("arrays", []):
            params[name] = arrays[f"pop{i}.{name}"].astype(float)
        v_init = params.pop("v_init", None)
        cell = getattr(sim, p["model"])(**params)
        extra = {}
        if spinn:
            extra["additional_parameters"] = {"neurons_per_core": int(p["neurons_per_core"])}
            if p.get("max_expected_summed_weight") is not None:  # pins the ring-buffer shifts
                extra["additional_parameters"]["max_expected_summed_weight"] = list(
                    p["max_expected_summed_weight"]
                )
        initial = {"v": v_init} if v_init is not None else None
        pop = sim.Population(size, cell, initial_values=initial, label=p["label"], **extra)
        if record and p.get("record"):
            pop.record(list(p["record"]))
        pops[p["label"]] = pop
    for j, q in enumerate(net["projections"]):
        pre, post = arrays[f"proj{j}.pre"], arrays[f"proj{j}.post"]
        w, d = arrays[f"proj{j}.weight"], arrays[f"proj{j}.delay"]
        conns = np.column_stack([pre.astype(float), post.astype(float), w, d])
        synapse = stdp_synapse(sim, q["plasticity"]) if q.get("plasticity") else sim.StaticSynapse()
        projs[q["label"]] = sim.Projection(
            pops[q["pre"]],
            pops[q["post"]],
            sim.FromListConnector(conns),
            synapse,
            receptor_type=q["receptor"],
            label=q["label"],
        )
    return pops, projs


def stdp_synapse(sim, plasticity):
    """``sim.STDPMechanism`` from ``{"timing": [class, kwargs], "weight": [class, kwargs]}`` (class names
    relative to the simulator module, e.g. ``extra_models.PfisterSpikeTriplet``); the FromList columns
    give each synapse's initial weight and delay."""

    def resolve(dotted):
        obj = sim
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj

    (t_cls, t_kw), (w_cls, w_kw) = plasticity["timing"], plasticity["weight"]
    return sim.STDPMechanism(
        timing_dependence=resolve(t_cls)(**t_kw), weight_dependence=resolve(w_cls)(**w_kw)
    )


def readback(net, pops, projs):
    """Weights/delays as sPyNNaker mapped them (``Projection.get``), the shifts it used and every
    neuron's cell parameters as sPyNNaker holds them (``Population.get``: ``POP.param.NAME``, one
    value per neuron)."""
    out = {}
    for j, q in enumerate(net["projections"]):
        holder = projs[q["label"]].get(["weight", "delay"], "list", with_address=True)
        try:  # sPyNNaker's ConnectionHolder: structured arrays, much faster than the list
            parts = holder.connections
            c = np.concatenate(parts) if parts else None
            pre, post, w, d = (
                (c["source"], c["target"], c["weight"], c["delay"]) if c is not None else ([],) * 4
            )
        except (AttributeError, ValueError, KeyError):
            rows = np.asarray(list(holder), dtype=float).reshape(-1, 4)
            pre, post, w, d = rows.T
        out[f"proj{j}.pre"] = np.asarray(pre, dtype=np.int64)
        out[f"proj{j}.post"] = np.asarray(post, dtype=np.int64)
        out[f"proj{j}.weight"] = np.asarray(w, dtype=np.float64)
        out[f"proj{j}.delay"] = np.asarray(d, dtype=np.float64)
    for i, p in enumerate(net["populations"]):
        vertex = getattr(pops[p["label"]], "_vertex", None)
        if p["model"] != "SpikeSourceArray" and hasattr(vertex, "get_ring_buffer_shifts"):
            shifts = vertex.get_ring_buffer_shifts()
            out[f"pop{i}.ring_buffer_shifts"] = np.asarray(shifts, dtype=np.int64)
            out[f"pop{i}.weight_scales"] = np.asarray(vertex.get_weight_scales(shifts), dtype=np.float64)
        if p["model"] != "SpikeSourceArray":
            names = [k for k in (*p.get("params", {}), *p.get("arrays", ())) if k != "v_init"]
            held = pops[p["label"]].get(names)  # sPyNNaker: a ParameterHolder, name -> values
            for name in names:
                values = held[name] if len(names) > 1 or not np.ndim(held) else held
                out[f"pop{i}.param.{name}"] = np.broadcast_to(
                    np.asarray(values, dtype=np.float64).reshape(-1), (int(p["size"]),)
                ).copy()
        if hasattr(vertex, "combined_binary_file_name"):  # e.g. IF_curr_exp_stdp_mad_pair_additive.aplx
            out[f"pop{i}.binary"] = np.array(str(vertex.combined_binary_file_name))
    return out


def recordings(net, pops):
    """``POP.spikes`` (ticks, size) 0/1 and ``POP.v`` (ticks, size) in mV from the Neo blocks."""
    tick, steps = float(net["tick_ms"]), int(net["n_steps"])
    out = {}
    for p in net["populations"]:
        if not p.get("record"):
            continue
        block = pops[p["label"]].get_data(list(p["record"]))
        seg = block.segments[0] if block.segments else None
        if seg is None:
            continue
        if "spikes" in p["record"]:
            s = np.zeros((steps, int(p["size"])), dtype=np.uint8)
            for n, train in enumerate(seg.spiketrains):
                ch = int(train.annotations.get("source_index", n))
                for t in np.asarray(train.magnitude, dtype=float):
                    k = int(round(t / tick))
                    if 0 <= k < steps:
                        s[k, ch] = 1
            out[p["label"] + ".spikes"] = s
        for sig in seg.analogsignals:
            if sig.name == "v":
                out[p["label"] + ".v"] = np.asarray(sig.magnitude, dtype=np.float64)[:steps]
    return out


def compare(golden_path, results, sample):
    """Return the mismatching keys (spikes) between results and golden.npz[sample]."""
    with np.load(golden_path, allow_pickle=False) as g:
        bad = []
        for key in g.files:
            if not key.endswith(".spikes") or key not in results:
                continue
            want = np.asarray(g[key])[sample]
            got = results[key][: want.shape[0]].reshape(want.shape)
            if not np.array_equal(want != 0, got != 0):
                bad.append(key)
    return bad


def parse_args(argv):
    if argv and not argv[0].startswith("-"):
        from pyNN.utility import get_simulator

        saved, sys.argv = sys.argv, [sys.argv[0]] + list(argv)
        try:
            return get_simulator(*_EXTRA_ARGS)
        finally:
            sys.argv = saved
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, help_text, kw in _EXTRA_ARGS:
        parser.add_argument(name, help=help_text, **kw)
    args = parser.parse_args(argv)
    return importlib.import_module("pyNN.spiNNaker"), args


def main(argv=None):
    sim, args = parse_args(sys.argv[1:] if argv is None else list(argv))
    net, arrays = load_network(args.network)
    sim.setup(timestep=float(net["tick_ms"]))
    pops, projs = build_network(sim, net, arrays, sample=args.sample)
    sim.run(int(net["n_steps"]) * float(net["tick_ms"]))
    if args.readback and is_spinnaker(sim):
        np.savez("readback.npz", **readback(net, pops, projs))
    res = recordings(net, pops)
    sim.end()
    np.savez(args.output, **res)
    n_spikes = sum(int(v.sum()) for k, v in res.items() if k.endswith(".spikes"))
    print(
        f"run.py: {len(net['populations'])} populations, {len(net['projections'])} projections, "
        f"{net['n_steps']} ticks of {net['tick_ms']} ms; {n_spikes} spikes recorded -> {args.output}"
    )
    if args.check:
        bad = compare(args.golden, res, args.sample)
        print("check: spikes match golden.npz" if not bad else f"check: MISMATCH in {', '.join(bad)}")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
