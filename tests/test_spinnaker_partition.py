"""SpiNNaker partition estimate without sPyNNaker: the rules of docs/reference/spinnaker.md §2.3 and §4.1
(256 neurons per core, slices 0:255, 256:511..., 32 delay slots for 256 neurons and 2 synapse
types, delay extensions up to 8 x slots, 16 application cores per chip). The comparison with
sPyNNaker's real placement is in test_spinnaker_board.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from spinnaker_board_cases import layered_program  # noqa: E402

from neurocompile.errors import ResourceError  # noqa: E402
from neurocompile.program import Program  # noqa: E402
from neurocompile.targets.spinnaker import partition, spec  # noqa: E402


def test_slices_of_256_and_one_core_per_source():
    prog = layered_program([1000, 600], p=0.01, max_delay=8)
    pl = partition.place(prog)
    lif = [c for c in pl.cores if c["population"] == "l1"]
    assert [(c["start"], c["stop"]) for c in lif] == [(0, 256), (256, 512), (512, 600)]
    assert pl.cores_per_population == {"l0": 1, "l1": 3}
    assert prog.placement["cores_used"] == 4 and prog.placement["chips"] == 1
    assert all(c["estimated"] for c in prog.placement["cores"])
    assert {"chips", "cores_used", "cores", "limits"} <= set(prog.placement)


def test_delay_slots_match_the_reference_note():
    assert spec.core_delay_slots(256) == 32  # "32 for 256 neurons and 2 types"
    assert spec.core_delay_slots(1) == 2 ** (14 - 1 - 1)  # sPyNNaker's get_n_bits(1) == 1


@pytest.mark.parametrize("max_delay,extensions", [(32, 0), (33, 1), (256, 1)])
def test_delay_extension_per_pre_population(max_delay, extensions):
    prog = layered_program([100, 300], p=0.05, max_delay=max_delay, seed=3)
    prog.projections["p1"].params["delays"][0] = max_delay
    pl = partition.place(prog, write=False)
    assert pl.delay_extension_cores == extensions  # the pre (100 sources) is one slice


def test_too_long_delay_is_a_resource_error_naming_the_projection():
    prog = layered_program([10, 300], p=0.5, max_delay=8)
    prog.projections["p1"].params["delays"][0] = 8 * 32 + 1
    with pytest.raises(ResourceError, match="p1.*delays"):
        partition.place(prog)


def test_chip_fill_and_max_chips():
    prog = layered_program([100, 256 * 40], p=0.0005)  # 1 + 40 cores: 15 on chip 0, 16, 10
    pl = partition.place(prog, write=False)
    assert pl.cores_used == 41 and pl.chips == 3
    assert [sum(1 for c in pl.cores if c["chip"] == k) for k in range(3)] == [15, 16, 10]
    with pytest.raises(ResourceError, match="chips"):
        partition.place(prog, max_chips=2)


def test_split_synapse_cores_below_one_ms():
    prog = layered_program([50, 100], p=0.2, tick_ms=0.1)
    assert partition.estimate_cores(prog) == 1 + 2  # source + (neuron core + 1 synapse core)
    prog.semantics["tick_ms"] = 1.0
    assert partition.estimate_cores(prog) == 2


def test_empty_program():
    pl = partition.place(Program(target="spinnaker"), write=False)
    assert pl.cores_used == 0 and pl.chips == 0
