"""One emulated SpiNNaker-1 application core: an ARMv5TE CPU (unicorn) plus the peripherals and SARK
structures sPyNNaker 1!7.4.1's binaries use (the project's reference note
``docs/reference/spinnaker_binaries.md``; docs/targets/spinnaker-binary.md).

Modelled, as far as those binaries touch them:

* memory: ITCM (32 KB at 0), DTCM (64 KB at 0x400000), SDRAM (buffered 0x60000000 and unbuffered
  0x70000000 aliases of one buffer; its top 1 MB, :data:`SHARED`, can be one host buffer mapped
  into several cores, the SDRAM a split neuron/synapse pair shares), System RAM (0xe5000000 /
  0xf5000000) holding ``sv`` and the ``vcpu`` array;
* VIC (0x1f/0x2f000000 and the 0xfffff000 alias the IRQ vector reads): raw/enable/select/soft
  registers, 16 vector slots, ``VADDR`` = the vector of the highest-priority enabled slot whose
  source is pending, with PL190 nesting (reading ``VADDR`` starts service of a slot, writing it
  ends it; SARK's CPU_INT handler re-enables IRQs before it acknowledges the interrupt);
* timer 1/2 (0x11/0x21000000): load, control, clear; timer 1's ``COUNT`` is a virtual clock that
  drops by :data:`COUNT_STEP` on every read after the tick, so busy-waits on it end; timer 2's
  holds until :meth:`Core.fire_timer` (1) ends the phase, then reads 0 (a split synapse core's
  end-of-tick test);
* DMA (0x30/0x40000000): a write of ``DESC`` copies at once and raises DMA_DONE; ``STAT`` carries
  the physical core number in bits 24-31; ``CTRL`` command bits self-clear;
* comms controller (0x10/0x20000000): ``TXKEY`` writes are collected as sent multicast packets
  (the TX buffer is never full: ``TCR`` bit 28 "not full" set, bit 30 "full" clear); a received
  packet is ``RXKEY`` with CC_MC_INT raised until the key is read;
* system controller (0xe2/0xf2000000): monitor id, CPU_INT set/clear, test-and-set locks that are
  always free, ``SC_FLAG`` 0 (the first run's sync phase);
* router and SDRAM controller registers read as 0.

Interrupts: unicorn has no IRQ/FIQ pins, so :meth:`Core.run` enters the exception itself between
instructions (banked SPSR/LR through CPSR writes, PC = 0x18 / 0x1c) whenever a line is pending and
unmasked; while a line is pending but masked it steps one instruction at a time. ``WFI`` (``MCR
p15,0,rX,c7,c0,4``) is found by scanning ITCM; reaching one with no pending line means the core is
idle and :meth:`run` returns.

Knowingly not modelled: cycle timing (instruction counts are not time; DMA is instantaneous),
SDRAM contention, the router (the caller routes packets), payload-carrying packets, the watchdog.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass, field

from unicorn import UC_ARCH_ARM, UC_HOOK_CODE, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError
from unicorn import arm_const as A

ITCM, ITCM_SIZE = 0x00000000, 0x8000
DTCM, DTCM_SIZE = 0x00400000, 0x10000
SDRAM, SDRAM_UNBUF, SDRAM_SIZE = 0x60000000, 0x70000000, 0x8000000
SYSRAM, SYSRAM_UNBUF, SYSRAM_SIZE = 0xE5000000, 0xF5000000, 0x8000
#: the top 1 MB of SDRAM: shared between the cores of one run when they are given the same buffer
SHARED_SIZE = 0x100000
SHARED = SDRAM + SDRAM_SIZE - SHARED_SIZE
SV = 0xE5007F00
VCPU = 0xE5007000
VCPU_SIZE = 128

# VIC sources (spinnaker.h)
SOFTWARE_INT, TIMER1_INT, TIMER2_INT, CC_TMT_INT, DMA_DONE_INT = 1, 4, 5, 11, 12
CPU_INT, CC_TNF_INT, CC_MC_INT = 18, 23, 24
#: sources whose raw line is always high (TX buffer empty / not full)
ALWAYS_RAW = (1 << CC_TMT_INT) | (1 << CC_TNF_INT)

# cpu_state values (sark.h cpu_state_e)
CPU_STATE_RTE, CPU_STATE_WAIT, CPU_STATE_RUN, CPU_STATE_PAUSE = 2, 5, 7, 10
CPU_STATES = {
    0: "DEAD",
    1: "PWRDN",
    2: "RTE",
    3: "WDOG",
    4: "INIT",
    5: "WAIT",
    6: "SARK",
    7: "RUN",
    8: "SYNC0",
    9: "SYNC1",
    10: "PAUSE",
    11: "EXIT",
    15: "IDLE",
}

WFI_WORD_MASK, WFI_WORD = 0xFFFF0FFF, 0xEE070F90
MODE_IRQ, MODE_FIQ, MODE_SVC = 0x12, 0x11, 0x13
I_BIT, F_BIT, T_BIT = 0x80, 0x40, 0x20
CHUNK = 2_000_000  # instructions per emu_start when nothing is pending (a runaway guard)
COUNT_STEP = 1000  # timer COUNT drop per read (virtual clock; cycles)
CPU_CLK_MHZ = 200
SW_VER = 0x04FF00  # SARK major 4, any minor (sark_init checks major == and minor <=)
SC_CODE = 0x5EC00000


class CoreError(RuntimeError):
    """The emulated core stopped where it should not (run-time error, fault, runaway)."""


@dataclass
class Vic:
    raw: int = 0
    enable: int = 0
    select: int = 0
    soft: int = 0
    vectaddr: list = field(default_factory=lambda: [0] * 16)
    vectcntl: list = field(default_factory=lambda: [0] * 16)
    defaddr: int = 0
    active: list = field(default_factory=list)  # slots in service, innermost last

    def status(self) -> int:
        return (self.raw | self.soft | ALWAYS_RAW) & self.enable

    def _slot(self) -> int | None:
        """Highest-priority pending IRQ slot (16 = the default vector), or None."""
        st = self.status() & ~self.select
        if not st:
            return None
        for i in range(16):
            c = self.vectcntl[i]
            if c & 0x20 and st & (1 << (c & 31)):
                return i
        return 16

    def irq(self) -> bool:
        """The IRQ line: a pending slot of higher priority than the one in service (PL190 nesting:
        reading VADDR starts service of a slot, writing VADDR ends it)."""
        s = self._slot()
        return s is not None and (not self.active or s < self.active[-1])

    def fiq(self) -> bool:
        return bool(self.status() & self.select)

    def vaddr(self) -> int:
        s = self._slot()
        if s is None or (self.active and s >= self.active[-1]):
            return self.defaddr
        self.active.append(s)
        return self.vectaddr[s] if s < 16 else self.defaddr

    def end_of_interrupt(self) -> None:
        if self.active:
            self.active.pop()


def load_aplx(uc: Uc, image: bytes, app_id: int) -> int:
    """Execute an APLX table (sark_alib.s "APLX Loader"): copies, fills; returns the EXEC address."""
    off = 0
    while True:
        op, a1, a2, a3 = struct.unpack_from("<4I", image, off)
        if op == 1:  # ACOPY: absolute source (within the file here)
            uc.mem_write(a1, image[a2 : a2 + a3])
        elif op == 2:  # RCOPY: source relative to this entry
            src = off + a2
            uc.mem_write(a1, image[src : src + a3])
        elif op == 3:  # FILL
            uc.mem_write(a1, struct.pack("<I", a3) * (a2 // 4))
        elif op == 4:  # EXEC
            return a1
        else:
            raise CoreError(f"APLX table has no EXEC entry (opcode {op:#x} at {off:#x})")
        off += 16


class Core:
    """One application core running an ``.aplx`` image; see the module docstring."""

    def __init__(
        self,
        image: bytes,
        *,
        phys: int = 4,
        virt: int = 4,
        app_id: int = 16,
        monitor: int = 0,
        shared: "ctypes.Array | None" = None,
    ):
        """``shared``: a host buffer of :data:`SHARED_SIZE` bytes mapped at :data:`SHARED` in every core
        given it (the SDRAM that cores of one chip share, e.g. a split neuron/synapse pair's
        synaptic-input buffers); the rest of SDRAM is private to the core."""
        self.phys, self.virt, self.app_id, self.monitor = phys, virt, app_id, monitor
        uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
        uc.ctl_set_cpu_model(A.UC_CPU_ARM_946)
        self.uc = uc
        uc.mem_map(ITCM, ITCM_SIZE)
        uc.mem_map(DTCM, DTCM_SIZE)
        uc.mem_map(SDRAM, SHARED - SDRAM)
        if shared is None:
            uc.mem_map(SHARED, SHARED_SIZE)
        else:
            uc.mem_map_ptr(SHARED, SHARED_SIZE, UC_PROT_ALL, ctypes.addressof(shared))
        self.shared = shared
        uc.mem_map(SYSRAM, SYSRAM_SIZE)
        self._alias(SDRAM_UNBUF, SDRAM, SDRAM_SIZE)
        self._alias(SYSRAM_UNBUF, SYSRAM, SYSRAM_SIZE)
        self.vic = Vic()
        self.timer = [dict(load=0, control=0, bg=0, reads=0, raw=0, expired=False) for _ in range(2)]
        self.dma = dict(adrs=0, adrt=0, desc=0, ctrl=0, gctl=0, done=0, transfers=0, bytes=0)
        self.cc = dict(tcr=0, rx_key=None)
        self.sc_flag = 0
        self.cpu_int = 0
        self.sent: list[int] = []  # multicast keys written to TXKEY since the last drain
        self.unknown: list[tuple[str, int]] = []
        self.instructions = 0
        for base in (0x10000000, 0x20000000):
            uc.mmio_map(base, 0x1000, self._cc_read, None, self._cc_write, None)
        for base in (0x11000000, 0x21000000):
            uc.mmio_map(base, 0x1000, self._tc_read, None, self._tc_write, None)
        for base in (0x1F000000, 0x2F000000, 0xFFFFF000):
            uc.mmio_map(base, 0x1000, self._vic_read, None, self._vic_write, None)
        for base in (0x30000000, 0x40000000):
            uc.mmio_map(base, 0x1000, self._dma_read, None, self._dma_write, None)
        for base in (0xE2000000, 0xF2000000):
            uc.mmio_map(base, 0x1000, self._sc_read, None, self._sc_write, None)
        for base in (0xE0000000, 0xF0000000, 0xE1000000, 0xF1000000):
            uc.mmio_map(base, 0x1000, self._zero_read, None, self._ignore_write, None)
        self.entry = load_aplx(uc, image, app_id)
        self.code_top = struct.unpack_from("<I", image, 0x40 + 0x48)[0]
        itcm = uc.mem_read(ITCM, ITCM_SIZE)
        self.wfi = [
            a
            for a in range(0, ITCM_SIZE, 4)
            if (struct.unpack_from("<I", itcm, a)[0] & WFI_WORD_MASK) == WFI_WORD
        ]
        self._stop: str | None = None
        self._stop_pc = 0
        for a in self.wfi:
            uc.hook_add(UC_HOOK_CODE, self._on_wfi, begin=a, end=a)
        self._sdram_next = SDRAM
        self._init_system()
        uc.reg_write(A.UC_ARM_REG_CPSR, MODE_SVC | I_BIT | F_BIT)
        uc.reg_write(A.UC_ARM_REG_R0, app_id)
        uc.reg_write(A.UC_ARM_REG_PC, self.entry)
        self.pc = self.entry
        self.thumb = False

    # ----------------------------------------------------------------- memory helpers
    def _alias(self, alias: int, base: int, size: int) -> None:
        def rd(uc, off, sz, _):
            return int.from_bytes(uc.mem_read(base + off, sz), "little")

        def wr(uc, off, sz, val, _):
            uc.mem_write(base + off, (val & ((1 << (8 * sz)) - 1)).to_bytes(sz, "little"))

        self.uc.mmio_map(alias, size, rd, None, wr, None)

    def r32(self, addr: int) -> int:
        return struct.unpack("<I", self.uc.mem_read(addr, 4))[0]

    def w32(self, addr: int, value: int) -> None:
        self.uc.mem_write(addr, struct.pack("<I", value & 0xFFFFFFFF))

    def r8(self, addr: int) -> int:
        return self.uc.mem_read(addr, 1)[0]

    def w8(self, addr: int, value: int) -> None:
        self.uc.mem_write(addr, bytes([value & 0xFF]))

    def sdram_alloc(self, size: int, align: int = 8) -> int:
        """Host-side bump allocation in SDRAM (region tables, heaps, message buffers)."""
        a = (self._sdram_next + align - 1) & ~(align - 1)
        self._sdram_next = a + size
        if self._sdram_next > SHARED:
            raise CoreError("emulated SDRAM exhausted")
        return a

    def heap_init(self, base: int, top: int) -> int:
        """A SARK heap in [base, top) as ``sark_heap_init`` builds it; returns its ``heap_t*``."""
        first, last = base + 16, top - 8
        self.w32(base, first)  # free
        self.w32(base + 4, first)  # first
        self.w32(base + 8, last)  # last
        self.w32(base + 12, last - first - 8)  # free_bytes
        self.w32(first, last)  # first->next
        self.w32(first + 4, 0)  # first->free (NULL = this block is free)
        self.w32(last, 0)
        self.w32(last + 4, 0)
        return base

    @property
    def vcpu(self) -> int:
        return VCPU + VCPU_SIZE * self.virt

    def _init_system(self) -> None:
        sv = SV
        self.uc.mem_write(sv, bytes(0x100))
        self.uc.mem_write(sv + 0x24, struct.pack("<H", CPU_CLK_MHZ))
        self.w32(sv + 0x38, 0)  # clock_drift
        self.w32(sv + 0x50, 16384)  # iobuf_size
        sys_heap = self.sdram_alloc(1 << 20)
        self.w32(sv + 0xD0, self.heap_init(sys_heap, sys_heap + (1 << 20)))
        sysbuf = self.sdram_alloc(18 * 256 * 4)
        self.w32(sv + 0x54, sysbuf)
        self.w32(sv + 0x58, 256)  # sysbuf_size (words)
        # SHM message buffers (sdp_msg_t, 292 bytes): an empty free list; the host hands one in
        self.shm = self.sdram_alloc(4 * 296)
        self.w32(sv + 0x68, 0)
        p2v = bytearray(range(20))
        p2v[self.phys] = self.virt
        self.uc.mem_write(sv + 0x94, bytes(p2v))
        v2p = bytearray(range(20))
        v2p[0] = self.monitor
        v2p[self.virt] = self.phys
        self.uc.mem_write(sv + 0xA8, bytes(v2p))
        self.uc.mem_write(sv + 0xBC, bytes([18]))
        self.w32(sv + 0xCC, VCPU)
        self.w32(sv + 0xFC, SW_VER)

    def sdram_heap(self, size: int) -> None:
        base = self.sdram_alloc(size)
        self.w32(SV + 0x4C, self.heap_init(base, base + size))

    # ----------------------------------------------------------------- peripherals
    def _zero_read(self, uc, off, size, _):
        return 0

    def _ignore_write(self, uc, off, size, value, _):
        return None

    def _cc_read(self, uc, off, size, _):
        if off == 0x00:  # TCR: bit 28 = TX not full (always), bit 30 = TX full (never)
            return (self.cc["tcr"] & ~0x40000000) | 0x10000000
        if off == 0x0C:  # RSR: no payload
            return 0
        if off == 0x14:  # RXKEY: read clears the interrupt
            key = self.cc["rx_key"]
            self.cc["rx_key"] = None
            self.vic.raw &= ~(1 << CC_MC_INT)
            return 0 if key is None else key
        if off == 0x10:
            return 0
        self.unknown.append(("cc read", off))
        return 0

    def _cc_write(self, uc, off, size, value, _):
        if off == 0x00:
            self.cc["tcr"] = value
        elif off == 0x08:  # TXKEY sends
            if self.cc["tcr"] & 0x00020000:
                self.unknown.append(("cc payload packet", value))
            self.sent.append(value & 0xFFFFFFFF)
        elif off == 0x04:
            pass
        else:
            self.unknown.append(("cc write", off))

    def _tc_read(self, uc, off, size, _):
        t = self.timer[off >> 5]
        r = off & 0x1F
        if r == 0x00:
            return t["load"]
        if r == 0x04:
            t["reads"] += 1
            if off >> 5:  # timer 2: counts only when the harness ends the phase (fire_timer(1)) -> 0
                return 0 if t["expired"] else max(t["load"] - t["reads"], 1) & 0xFFFFFFFF
            return max(t["load"] - COUNT_STEP * t["reads"], 0) & 0xFFFFFFFF
        if r == 0x08:
            return t["control"]
        if r == 0x10:
            return t["raw"]
        if r == 0x14:
            return t["raw"] if t["control"] & 0x20 else 0
        if r == 0x18:
            return t["bg"]
        return 0

    def _tc_write(self, uc, off, size, value, _):
        i = off >> 5
        t = self.timer[i]
        r = off & 0x1F
        src = TIMER1_INT if i == 0 else TIMER2_INT
        if r == 0x00:
            t["load"] = value
            t["bg"] = value
            t["reads"] = 0
            t["expired"] = False
        elif r == 0x08:
            t["control"] = value
            t["expired"] = False
        elif r == 0x0C:
            t["raw"] = 0
            self.vic.raw &= ~(1 << src)
        elif r == 0x18:
            t["bg"] = value

    def timer_enabled(self, i: int = 0) -> bool:
        return bool(self.timer[i]["control"] & 0x80)

    def fire_timer(self, i: int = 0) -> None:
        t = self.timer[i]
        t["raw"] = 1
        t["reads"] = 0
        if i == 1:
            t["expired"] = True
        else:
            t["load"] = t["bg"]
        if t["control"] & 0x20:
            self.vic.raw |= 1 << (TIMER1_INT if i == 0 else TIMER2_INT)

    def _vic_read(self, uc, off, size, _):
        v = self.vic
        if off == 0x00:
            return v.status() & ~v.select
        if off == 0x04:
            return v.status() & v.select
        if off == 0x08:
            return v.raw | v.soft | ALWAYS_RAW
        if off == 0x0C:
            return v.select
        if off == 0x10:
            return v.enable
        if off == 0x18:
            return v.soft
        if off == 0x30:
            return v.vaddr()
        if off == 0x34:
            return v.defaddr
        if 0x100 <= off < 0x140:
            return v.vectaddr[(off - 0x100) >> 2]
        if 0x200 <= off < 0x240:
            return v.vectcntl[(off - 0x200) >> 2]
        return 0

    def _vic_write(self, uc, off, size, value, _):
        v = self.vic
        if off == 0x0C:
            v.select = value
        elif off == 0x10:
            v.enable |= value
        elif off == 0x14:
            v.enable &= ~value
        elif off == 0x18:
            v.soft |= value
            self._request_check()
        elif off == 0x1C:
            v.soft &= ~value
        elif off == 0x30:
            v.end_of_interrupt()
        elif off == 0x34:
            v.defaddr = value
        elif 0x100 <= off < 0x140:
            v.vectaddr[(off - 0x100) >> 2] = value
        elif 0x200 <= off < 0x240:
            v.vectcntl[(off - 0x200) >> 2] = value
        if off in (0x0C, 0x10):
            self._request_check()

    def _dma_read(self, uc, off, size, _):
        if off == 0x14:  # STAT: physical core in 31:24; never busy / queue full
            return (self.phys << 24) | (0x400 if self.dma["done"] else 0)
        if off == 0x04:
            return self.dma["adrs"]
        if off == 0x08:
            return self.dma["adrt"]
        if off == 0x0C:
            return self.dma["desc"]
        if off == 0x10:  # CTRL: every bit is a command (uncommit, abort, restart, clear ...) that self-clears
            return 0
        if off == 0x18:
            return self.dma["gctl"]
        return 0

    def _dma_write(self, uc, off, size, value, _):
        d = self.dma
        if off == 0x04:
            d["adrs"] = value
        elif off == 0x08:
            d["adrt"] = value
        elif off == 0x0C:
            d["desc"] = value
            n = value & 0x1FFFF
            if (value >> 19) & 1:  # DMA_WRITE: TCM -> SDRAM
                uc.mem_write(self._sdram(d["adrs"]), bytes(uc.mem_read(d["adrt"], n)))
            else:
                uc.mem_write(d["adrt"], bytes(uc.mem_read(self._sdram(d["adrs"]), n)))
            d["done"] = 1
            d["transfers"] += 1
            d["bytes"] += n
            self.vic.raw |= 1 << DMA_DONE_INT
            self._request_check()
        elif off == 0x10:
            d["ctrl"] = value
            if value & 0x8:
                d["done"] = 0
                self.vic.raw &= ~(1 << DMA_DONE_INT)
        elif off == 0x18:
            d["gctl"] = value

    @staticmethod
    def _sdram(addr: int) -> int:
        if SDRAM_UNBUF <= addr < SDRAM_UNBUF + SDRAM_SIZE:
            return addr - SDRAM_UNBUF + SDRAM
        if SYSRAM_UNBUF <= addr < SYSRAM_UNBUF + SYSRAM_SIZE:
            return addr - SYSRAM_UNBUF + SYSRAM
        return addr

    def _sc_read(self, uc, off, size, _):
        if off == 0x34:  # SC_MON_ID
            return self.monitor
        if off == 0x58:
            return self.sc_flag
        if 0x100 <= off < 0x200:  # SC_TAS / SC_TAC: locks are always free
            return 0
        return 0

    def _sc_write(self, uc, off, size, value, _):
        if off == 0x0C and (value & 0xFFF00000) == SC_CODE:  # SC_CLR_IRQ
            if value & (1 << self.phys):
                self.vic.raw &= ~(1 << CPU_INT)
        elif off == 0x08:  # SC_SET_IRQ (to the monitor: SDP replies)
            pass

    # ----------------------------------------------------------------- execution
    def _request_check(self) -> None:
        """A line may have risen while the CPU runs. Stopping inside an MMIO callback would leave PC
        on the access, so it is taken at the next stop: the dispatcher's WFI, which then completes
        at once, and the single-stepping up to the instruction that unmasks it."""

    def _on_wfi(self, uc, address, size, _):
        self._stop = "wfi"
        self._stop_pc = address
        uc.emu_stop()

    def _masked(self, cpsr: int) -> tuple[bool, bool]:
        return bool(cpsr & I_BIT), bool(cpsr & F_BIT)

    def _enter(self, kind: str) -> None:
        uc = self.uc
        cpsr = uc.reg_read(A.UC_ARM_REG_CPSR)
        pc = self.pc
        mode, vec, bits = (MODE_FIQ, 0x1C, I_BIT | F_BIT) if kind == "fiq" else (MODE_IRQ, 0x18, I_BIT)
        uc.reg_write(A.UC_ARM_REG_CPSR, (cpsr & ~0x3F & ~T_BIT) | mode | bits)
        uc.reg_write(A.UC_ARM_REG_SPSR, cpsr)
        uc.reg_write(A.UC_ARM_REG_LR, pc + 4)
        self.pc, self.thumb = vec, False

    def pending(self) -> bool:
        return self.vic.irq() or self.vic.fiq()

    def state(self) -> int:
        return self.r8(self.vcpu + 46)

    def rt_code(self) -> int:
        return self.r8(self.vcpu + 44)

    def run(self, budget: int = 20_000_000, poll: int | None = None) -> str:
        """Run until the core is idle (a WFI with no pending interrupt line): returns ``"idle"``.
        Raises :class:`CoreError` on a run-time error (``cpu_state`` RTE), a CPU fault or when
        ``budget`` instructions pass without reaching idle. ``poll``: a core that busy-waits
        instead (a split synapse core polling for spikes until timer 2 ends its tick) returns
        ``"busy"`` after that many instructions."""
        uc = self.uc
        steps = 0
        if poll is not None:
            budget = poll
        while True:
            cpsr = uc.reg_read(A.UC_ARM_REG_CPSR)
            i_masked, f_masked = self._masked(cpsr)
            if self.vic.fiq() and not f_masked:
                self._enter("fiq")
                continue
            if self.vic.irq() and not i_masked:
                self._enter("irq")
                continue
            masked_pending = self.pending()
            self._stop = None
            count = 1 if masked_pending else min(CHUNK, max(budget - steps, 1))
            start = self.pc | (1 if self.thumb else 0)
            try:
                uc.emu_start(start, 0xFFFFFFFF, count=count)
            except UcError as exc:
                pc = uc.reg_read(A.UC_ARM_REG_PC)
                raise CoreError(f"CPU fault {exc} at pc={pc:#x} (state {self._state_name()})") from None
            self.pc = uc.reg_read(A.UC_ARM_REG_PC)
            self.thumb = bool(uc.reg_read(A.UC_ARM_REG_CPSR) & T_BIT)
            steps += count
            if self._stop == "wfi":
                self.pc = self._stop_pc
                if self.pending():  # the interrupt line wakes it: WFI completes at once
                    self.pc += 4
                    continue
                if self.state() == CPU_STATE_RTE:
                    raise CoreError(f"run-time error rt_code={self.rt_code()} (at WFI {self.pc:#x})")
                return "idle"
            if self.state() == CPU_STATE_RTE:
                raise CoreError(f"run-time error rt_code={self.rt_code()} near pc={self.pc:#x}")
            if steps >= budget and poll is not None:
                return "busy"
            if steps > budget:
                raise CoreError(
                    f"no idle after {budget} instructions (pc={self.pc:#x}, state {self._state_name()})"
                )

    def wake(self) -> str:
        """Wake an idle core without an interrupt (a spurious WFI exit) and run to idle again."""
        self.pc += 4
        return self.run()

    def interrupt(self, source: int) -> str:
        """Raise a VIC source and run until idle (the pending line completes the WFI)."""
        self.vic.raw |= 1 << source
        return self.run()

    def iobuf(self) -> bytes:
        """What the app logged (sark io_printf into its SDRAM IO buffers; sPyNNaker encodes
        log_* format strings as numbers from the binary's .dict)."""
        out = b""
        block = self.r32(self.vcpu + 88)
        while block:
            n = self.r32(block + 12)
            out += bytes(self.uc.mem_read(block + 16, min(n, 1 << 16)))
            block = self.r32(block)
        return out

    def _state_name(self) -> str:
        s = self.state()
        return CPU_STATES.get(s, str(s))

    # ----------------------------------------------------------------- host actions
    def raise_int(self, source: int) -> None:
        self.vic.raw |= 1 << source

    def deliver_mc(self, key: int, poll: int | None = None) -> str:
        """Present one multicast packet (no payload) and run until idle (or ``poll``, see :meth:`run`)."""
        if self.cc["rx_key"] is not None:
            raise CoreError("receive register still holds a packet")
        self.cc["rx_key"] = key & 0xFFFFFFFF
        self.vic.raw |= 1 << CC_MC_INT
        return self.run(poll=poll)
