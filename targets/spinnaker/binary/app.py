"""Load an sPyNNaker application core: the data-spec regions into SDRAM, ``user0``, and run control
(the host side of ``docs/reference/spinnaker_binaries.md`` §3)."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

from neurocompile.errors import BackendUnavailableError

from .core import CPU_INT, VCPU_SIZE, Core, CoreError
from .dsg import CoreSpec

DSG_MAGIC, DSG_VERSION = 0xAD130AD6, 0x00010000
N_REGIONS = 32
TABLE_BYTES = 8 + 12 * N_REGIONS  # 392
CMD_RUNTIME, CMD_STOP = 7, 6
SDP_PORT_SHIFT = 5


def binaries_dir() -> Path:
    """``spynnaker/pyNN/model_binaries`` of the installed wheel (found without importing sPyNNaker,
    whose import takes seconds)."""
    spec = importlib.util.find_spec("spynnaker")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            "sPyNNaker is not installed: its ARM binaries (spynnaker/pyNN/model_binaries) are needed",
            parameter="spynnaker",
            expected="spynnaker 1!7.4.1",
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pyNN" / "model_binaries"


def load_regions(core: Core, spec: CoreSpec) -> dict[int, int]:
    """Write the region table and every region contiguously (as ``load_data_specification`` does)
    and set ``vcpu.user0``; returns region number -> SDRAM address."""
    total = TABLE_BYTES + sum(r.size for r in spec.regions.values())
    base = core.sdram_alloc(total, align=16)
    core.uc.mem_write(base, bytes(total))
    table = [DSG_MAGIC, DSG_VERSION] + [0] * (3 * N_REGIONS)
    addr = base + TABLE_BYTES
    where = {}
    for num in sorted(spec.regions):
        r = spec.regions[num]
        where[num] = addr
        content = r.content
        if content:
            core.uc.mem_write(addr, content)
            padded = content + bytes(-len(content) % 4)
            words = struct.unpack(f"<{len(padded) // 4}I", padded)
            table[2 + 3 * num : 5 + 3 * num] = [addr, sum(words) & 0xFFFFFFFF, len(words)]
        else:
            table[2 + 3 * num] = addr
        addr += (r.size + 3) & ~3
    core.uc.mem_write(base, struct.pack(f"<{len(table)}I", *table))
    core.w32(core.vcpu + 112, base)  # user0
    return where


def system_region(spec: CoreSpec) -> tuple[int, int, int]:
    """(application magic, timer period us, control SDP port) of the SYSTEM region."""
    return struct.unpack_from("<3I", spec.regions[0].content, 0)


def send_sdp(
    core: Core, port: int, cmd: int, arg1: int = 0, arg2: int = 0, arg3: int = 0, data: bytes = b""
) -> None:
    """Hand an SDP message to the core through the monitor mailbox (``sark_int``, CPU_INT) and put its
    buffer on ``sv->shm_root`` as SCAMP would have allocated it from there."""
    msg = core.shm
    body = struct.pack("<BBBBHH", 0x07, 0, (port << SDP_PORT_SHIFT) | core.virt, 0xFF, 0, 0)
    body += struct.pack("<HHIII", cmd, 0, arg1, arg2, arg3) + data
    core.uc.mem_write(msg, struct.pack("<IHH", 0, len(body), 0) + body)
    v = core.vcpu
    core.w32(v + 48, msg)  # mbox_ap_msg
    core.w8(v + 56, 1)  # mbox_ap_cmd = SHM_MSG
    core.w8(v + 57, 0)  # mbox_mp_cmd idle: replies can be sent
    core.interrupt(CPU_INT)
    core.w8(v + 57, 0)  # the monitor took the reply


def start_run(core: Core, port: int, ticks: int) -> None:
    """CMD_RUNTIME(ticks, not infinite, start tick 0), then the sync wake-up that resumes the timer."""
    send_sdp(core, port, CMD_RUNTIME, ticks, 0, 0, struct.pack("<I", 0))
    core.wake()
    if not core.timer_enabled():
        raise CoreError(f"timer not started after CMD_RUNTIME (cpu_state {core.state()})")


__all__ = ["load_regions", "send_sdp", "start_run", "binaries_dir", "VCPU_SIZE"]
