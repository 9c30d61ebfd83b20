"""sPyNNaker's own region data for a Program: the data-spec database of a virtual-board run.

:func:`generate` writes the Program as the bundle's ``network.npz`` (:func:`..emit.network_arrays`,
every neuron population recording ``spikes`` and ``v``), runs :mod:`.dsg_worker` in a subprocess
with a private HOME (``board.prepare_dirs`` / ``board.run_subprocess``) and ``[Reports]
keep_dataspec_database = True``, and returns a :class:`DataSpec`: the regions sPyNNaker's
data-specification writer produced for each application core (``ds.sqlite3`` table ``region``,
``docs/reference/spinnaker_binaries.md`` §5) and the cores' keys and binaries.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from neurocompile.program import Program

from .. import board, emit

KEEP_DS = "[Reports]\nkeep_dataspec_database = True\n"


@dataclass(frozen=True)
class Region:
    num: int
    label: str
    size: int  # bytes reserved
    content: bytes  # bytes written by the host (may be shorter than size, or empty)


@dataclass
class CoreSpec:
    x: int
    y: int
    p: int
    population: str
    lo_atom: int
    n_atoms: int
    binary: str
    key: int | None
    mask: int | None
    regions: dict[int, Region] = field(default_factory=dict)


@dataclass
class DataSpec:
    cores: list[CoreSpec]
    shifts: dict[str, list[int]]
    tick_ms: float
    n_steps: int

    def core_of(self, population: str) -> list[CoreSpec]:
        return [c for c in self.cores if c.population == population]


def read_database(db: str | Path, cores_json: Mapping) -> list[CoreSpec]:
    """The regions of every core listed in ``cores_json`` from a ``ds.sqlite3``."""
    con = sqlite3.connect(str(db))
    try:
        out = []
        for c in cores_json["cores"]:
            cs = CoreSpec(
                c["x"],
                c["y"],
                c["p"],
                c["population"],
                c["lo_atom"],
                c["n_atoms"],
                c["binary"],
                c["key"],
                c["mask"],
            )
            rows = con.execute(
                "SELECT region_num, region_label, size, content FROM region WHERE x=? AND y=? AND p=? "
                "ORDER BY region_num",
                (c["x"], c["y"], c["p"]),
            ).fetchall()
            for num, label, size, content in rows:
                cs.regions[int(num)] = Region(int(num), str(label), int(size or 0), bytes(content or b""))
            out.append(cs)
        return out
    finally:
        con.close()


def network_for(
    programs: Sequence[Program], inputs: Sequence[Mapping[str, np.ndarray] | None], steps: int | None
):
    """The bundle's network description of one or more Programs (``board.merged_network``: labels get
    an ``n<i>_`` prefix when there are several), every neuron population recording spikes and v."""
    net, arrays = board.merged_network(programs, inputs, steps)
    for p in net["populations"]:
        if p["model"] != "SpikeSourceArray":
            p["record"] = ["spikes", "v"]
    return net, arrays


def generate(
    programs: Program | Sequence[Program],
    inputs: Mapping[str, np.ndarray] | Sequence[Mapping[str, np.ndarray] | None] | None = None,
    steps: int | None = None,
    *,
    keep_dir: str | Path | None = None,
    timeout: float = 900.0,
) -> DataSpec:
    """Run sPyNNaker's mapping and data-spec writer on a virtual board for one Program or several
    (one sPyNNaker run; ``inputs`` then one mapping per Program, each of batch 1)."""
    progs = [programs] if isinstance(programs, Program) else list(programs)
    ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs] * len(progs)
    python = board.spinnaker_python()
    net, arrays = network_for(progs, ins, steps)
    with tempfile.TemporaryDirectory(prefix="neurocompile-dsg-") as tmp:
        root = Path(keep_dir) if keep_dir is not None else Path(tmp)
        home, work = board.prepare_dirs(root)
        cfg = work / "spynnaker.cfg"
        cfg.write_text(cfg.read_text().replace("[Reports]\n", KEEP_DS, 1))
        emit.save_network(work / "network.npz", net, arrays)
        cmd = [python, "-m", "neurocompile.targets.spinnaker.binary.dsg_worker", "network.npz", str(work)]
        board.run_subprocess(cmd, work, home, timeout, "the sPyNNaker data-spec run")
        doc = json.loads((work / "cores.json").read_text())
        cores = read_database(work / "ds.sqlite3", doc)
    return DataSpec(cores, doc["shifts"], float(net["tick_ms"]), int(net["n_steps"]))
