"""Subprocess script: map a ``network.npz`` on a virtual board and keep sPyNNaker's data-spec database.

Usage (from :func:`neurocompile.targets.spinnaker.binary.dsg.generate`; CWD holds a
``spynnaker.cfg`` with ``virtual_board = True`` and ``keep_dataspec_database = True``, HOME a
``.spynnaker.cfg``)::

    python -m neurocompile.targets.spinnaker.binary.dsg_worker NETWORK.npz OUT_DIR

It builds the network with the bundle's own functions (:mod:`..bundle_run`), runs sPyNNaker's
mapping flow, which on a virtual board still runs the data-specification writer, and writes to
``OUT_DIR``: ``ds.sqlite3`` (every region of every core, as sPyNNaker would load it) and
``cores.json`` (per application core: chip x/y, core p, application vertex label, atom slice,
binary name, and the multicast key/mask of its SPIKE partition when it sends spikes).
This module imports sPyNNaker, so it only runs where sPyNNaker is installed.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys


def _cores(labels: set[str]) -> list[dict]:
    from spynnaker.pyNN.data import SpynnakerDataView as view
    from spynnaker.pyNN.utilities.constants import SPIKE_PARTITION_ID

    infos = view.get_routing_infos()
    out = []
    for pl in view.iterate_placemements():
        v = pl.vertex
        app = v.app_vertex
        label = None if app is None else str(app.label)
        if label not in labels:
            continue
        info = infos.get_routing_info_from_pre_vertex(v, SPIKE_PARTITION_ID)
        sl = v.vertex_slice
        out.append(
            {
                "x": int(pl.x),
                "y": int(pl.y),
                "p": int(pl.p),
                "population": label,
                "vertex_type": type(v).__name__,
                "lo_atom": int(sl.lo_atom),
                "n_atoms": int(sl.n_atoms),
                "binary": str(v.get_binary_file_name()),
                "key": None if info is None else int(info.key),
                "mask": None if info is None else int(info.mask),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    network, out_dir = (sys.argv[1:] if argv is None else argv)[:2]
    import pyNN.spiNNaker as sim

    from neurocompile.targets.spinnaker import bundle_run

    net, arrays = bundle_run.load_network(network)
    sim.setup(timestep=float(net["tick_ms"]))
    pops, projs = bundle_run.build_network(sim, net, arrays, sample=0, record=True)
    sim.run(int(net["n_steps"]) * float(net["tick_ms"]))
    doc = {"cores": _cores({p["label"] for p in net["populations"]})}
    rb = bundle_run.readback(net, pops, projs)
    doc["shifts"] = {
        p["label"]: [int(s) for s in rb[f"pop{i}.ring_buffer_shifts"]]
        for i, p in enumerate(net["populations"])
        if f"pop{i}.ring_buffer_shifts" in rb
    }
    sim.end()
    found = sorted(
        glob.glob(os.path.join("reports", "**", "ds*.sqlite3"), recursive=True), key=os.path.getmtime
    )
    if not found:
        raise SystemExit("sPyNNaker kept no ds.sqlite3 (keep_dataspec_database)")
    shutil.copyfile(found[-1], os.path.join(out_dir, "ds.sqlite3"))
    with open(os.path.join(out_dir, "cores.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
