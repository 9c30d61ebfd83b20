"""The script :mod:`.board` runs in a subprocess: map a ``network.npz`` on a virtual SpiNN-5 board.

Usage (from :func:`neurocompile.targets.spinnaker.board.map_on_board`; CWD must hold a
``spynnaker.cfg`` with ``virtual_board = True`` and HOME a ``.spynnaker.cfg``)::

    python -m neurocompile.targets.spinnaker.pynn_worker NETWORK.npz OUT_DIR [--no-readback]

It builds the network with the very functions of the bundle's ``run.py``
(:mod:`.bundle_run`), so the board path and the emitted bundle cannot drift, runs sPyNNaker's
whole mapping flow (``sim.run``: partitioning, placement, routing, key allocation, data-spec
generation; loading and running are skipped on a virtual board), then writes to ``OUT_DIR``:

* ``mapping.json``: package versions, the machine (chips, cores), every placement (chip x/y,
  core p, machine vertex, application vertex, kind ``population``/``delay_extension``/``system``,
  atom slice, planned SDRAM bytes), routing-table entries per chip (uncompressed, and after
  sPyNNaker's merged-table generator), timings;
* ``readback.npz``: ``Projection.get(["weight", "delay"])`` per projection, the ring-buffer
  shifts / weight scales each population used and every neuron's cell parameters
  (``Population.get``) (``bundle_run.readback``).

This module imports sPyNNaker and so runs only in an environment that has it; neurocompile's
library code never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _kind(app_vertex, labels: set[str]) -> str:
    name = type(app_vertex).__name__
    if "Delay" in name:
        return "delay_extension"
    if getattr(app_vertex, "label", None) in labels:
        return "population"
    return "system"


def _sdram(vertex, n_steps: int) -> int | None:
    try:
        return int(vertex.sdram_required.get_total_sdram(n_steps))
    except Exception:  # noqa: BLE001 - some system vertices need machine data; the size is optional
        return None


def _mapping(labels: set[str], n_steps: int) -> dict:
    from spynnaker.pyNN.data import SpynnakerDataView as view

    placements = []
    for pl in view.iterate_placemements():
        v = pl.vertex
        app = v.app_vertex
        kind = _kind(app, labels) if app is not None else "system"
        sl = getattr(v, "vertex_slice", None)
        src = None
        if kind == "delay_extension":
            src = getattr(getattr(app, "source_vertex", None), "label", None)
        placements.append(
            {
                "x": int(pl.x),
                "y": int(pl.y),
                "p": int(pl.p),
                "vertex": str(v.label),
                "vertex_type": type(v).__name__,
                "app_vertex": None if app is None else str(app.label),
                "kind": kind,
                "source": src,
                "lo_atom": None if sl is None else int(sl.lo_atom),
                "n_atoms": None if sl is None else int(sl.n_atoms),
                "sdram": _sdram(v, n_steps),
            }
        )
    routing = {}
    for name, getter in (("uncompressed", "get_uncompressed"), ("precompressed", "get_precompressed")):
        try:
            tables = getattr(view, getter)()
        except Exception:  # noqa: BLE001 - not every flow keeps both table sets
            continue
        routing[name] = [{"x": int(t.x), "y": int(t.y), "entries": int(t.number_of_entries)} for t in tables]
    machine = view.get_machine()
    return {
        "placements": placements,
        "routing": routing,
        "machine": {
            "chips": int(machine.n_chips),
            "cores": int(machine.total_cores),
            "max_router_entries": int(machine.min_n_router_enteries)
            if hasattr(machine, "min_n_router_enteries")
            else None,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="map a neurocompile network.npz on a virtual SpiNNaker board")
    ap.add_argument("network")
    ap.add_argument("out_dir")
    ap.add_argument("--no-readback", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    import numpy as np
    import pyNN
    import pyNN.spiNNaker as sim
    import spynnaker

    from neurocompile.targets.spinnaker import bundle_run

    t_import = time.perf_counter() - t0
    net, arrays = bundle_run.load_network(args.network)
    t1 = time.perf_counter()
    sim.setup(timestep=float(net["tick_ms"]))
    pops, projs = bundle_run.build_network(sim, net, arrays, sample=0, record=True)
    t_build = time.perf_counter() - t1
    t2 = time.perf_counter()
    sim.run(int(net["n_steps"]) * float(net["tick_ms"]))
    t_run = time.perf_counter() - t2
    t3 = time.perf_counter()
    if not args.no_readback:
        np.savez(os.path.join(args.out_dir, "readback.npz"), **bundle_run.readback(net, pops, projs))
    t_readback = time.perf_counter() - t3
    labels = {p["label"] for p in net["populations"]}
    doc = _mapping(labels, int(net["n_steps"]))
    doc["versions"] = {"spynnaker": getattr(spynnaker, "__version__", "?"), "pynn": pyNN.__version__}
    doc["timings"] = {"import_s": t_import, "build_s": t_build, "map_s": t_run, "readback_s": t_readback}
    sim.end()
    with open(os.path.join(args.out_dir, "mapping.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
