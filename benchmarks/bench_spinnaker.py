"""sPyNNaker 1!7.4.1 virtual-board mapping at scale, and our core estimate against its placement.

Cases: the reference note's 10k + 10k network (10k spike sources -> 10k LIF, p = 0.01, plus
10k -> 10k LIF recurrent p = 0.01: ~2M synapses; the note measured 60-87 s on this box class,
almost all host-side synapse matrix generation) and a 20k-neuron layered network (p = 0.001).
Each row: wall time of the whole subprocess, the worker's own split (import / build / map),
sPyNNaker's cores/chips, our estimate, and whether every weight read back equals the Program
(readback of ~2M synapses is included in the time).

Not part of ``make test`` (a run takes minutes); ``make bench`` runs it. The machine is shared,
so wall time is reported next to the CPU time of the subprocess. The table's figure is the core
count (ours: the estimate; reference: sPyNNaker's placement). Quick: a 300 -> 300 layered net.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

sys.path.insert(0, str(HERE))
from common import Row, ratio  # noqa: E402
from spinnaker_board_cases import layered_program, lif, projection  # noqa: E402

from neurocompile.program import OutputSpec, Population, Program  # noqa: E402


def ten_k_plus_ten_k(p: float = 0.01, seed: int = 0) -> Program:
    rng = np.random.default_rng(seed)
    prog = Program(target="spinnaker", semantics={"tick_ms": 1.0, "dt": 1.0, "hop_delay": 1})
    src = Population("src", "spike_source", (10_000,))
    exc = lif("lif", 10_000, rng, shifts=[6, 4])
    prog.populations.update(src=src, lif=exc)
    prog.inputs["input"] = "src"
    prog.projections["src_lif"] = projection("src_lif", src, exc, rng, p, "excitatory", max_delay=10)
    prog.projections["lif_lif"] = projection("lif_lif", exc, exc, rng, p, "inhibitory", max_delay=10)
    prog.outputs["output"] = OutputSpec("lif", "spikes")
    return prog


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(quick: bool = False) -> list[Row]:
    from neurocompile.targets.spinnaker import board, partition

    cases = (
        [("layered 300/300 p=0.01", layered_program([300, 300], p=0.01))]
        if quick
        else [
            ("10k+10k p=0.01 (2M syn)", ten_k_plus_ten_k()),
            ("20k layered 5k/5k/5k/5k p=0.001", layered_program([5000, 5000, 5000, 5000], p=0.001)),
        ]
    )
    if not board.spinnaker_available():
        return [
            Row(
                case=name,
                unit="cores",
                reference="sPyNNaker 1!7.4.1 virtual board: unavailable (not installed)",
                goal="estimate = sPyNNaker",
                ours=float(partition.place(prog, write=False).cores_used),
            )
            for name, prog in cases
        ]
    rows = []
    for name, prog in cases:
        n_syn = sum(int(q.params["w16"].size) for q in prog.projections.values())
        est = partition.place(prog, write=False)
        cpu0, t0 = _child_cpu(), time.perf_counter()
        m = board.map_on_board(prog)
        wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
        rows.append(
            Row(
                case=name,
                ours=float(est.cores_used),
                unit="cores",
                reference="sPyNNaker 1!7.4.1 virtual board (live)",
                ref_value=float(m.cores_used),
                ratio=ratio(est.cores_used, m.cores_used),
                goal="estimate = sPyNNaker",
                met=est.cores_used == m.cores_used,
                checks={"weights read back": bool(m.weights_ok), "shifts": bool(m.shifts_ok)},
                note=f"mapping {wall:.0f} s wall, {cpu:.0f} s CPU; chips {m.chips} (estimate >= {est.chips})",
                detail={
                    "neurons": sum(p.size for p in prog.populations.values()),
                    "synapses": n_syn,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "import_s": m.timings.get("import_s"),
                    "map_s": m.timings.get("map_s"),
                    "readback_s": m.timings.get("readback_s"),
                    "core_error_pct": 100.0 * abs(est.cores_used - m.cores_used) / max(m.cores_used, 1),
                    "chips_spynnaker": m.chips,
                    "chips_estimate_lower_bound": est.chips,
                    "router_max": m.routing_entries_max,
                },
            )
        )
    return rows


if __name__ == "__main__":
    for row in main("--quick" in sys.argv):
        print(row)
