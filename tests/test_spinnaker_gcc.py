"""GCC's fixed-point semantics, measured: the spinnaker emulator vs C compiled with GCC's ``accum`` types.

The C programs in ``tests/arm/`` are our own: they do sPyNNaker 1!7.4.1's neuron, synapse and STDP
operations with the same ISO/IEC TR 18037 types (``accum`` s16.15, ``unsigned long fract`` u0.32) in
the same order (each function names the sPyNNaker file/function it mirrors). They are compiled here
with Debian's ``arm-linux-gnueabihf-gcc -O2 -static`` twice (the armhf default, armv7-a Thumb-2, and
``-marm -march=armv5te+fp``, the ARM968's instruction set) and run under ``qemu-arm``; random
operands from fixed seeds, edge values first (every pair of int32 edges: min/max, 0, +-1, +-1.0k
...), go through them in bulk as binary int32 records. The emulator's own functions
(``targets/spinnaker/emulator/arith.py`` as compiled by numba, ``targets/spinnaker/fixed.py``) must
give the same integers, every one; and a network of random IF_curr_exp / IF_curr_delta neurons
(ring buffers, delays, recurrent spikes, saturation, wraps) must give the same V, ``exc - inh`` and
spikes at every tick as the C network; and random STDP projections (pair additive / multiplicative,
Pfister triplet) the same weights after every tick as the C replay of their deferred updates.

sPyNNaker itself is built with arm-none-eabi-gcc for the ARM968 (ARMv5TE); the fixed-point semantics
(truncating ``accum * accum``, wrapping ``+``/``-``, ``1.0ulr`` = 0xFFFFFFFF) come from GCC's front end
and libgcc, not from the CPU, which is why a Linux cross compiler and an emulated ARM can measure them.

``python tests/test_spinnaker_gcc.py`` prints the table of docs/targets/spinnaker.md ("GCC fixed-point
check"); ``test_doc_table`` checks the doc holds exactly that table.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from numba import njit

from neurocompile.targets.spinnaker import fixed
from neurocompile.targets.spinnaker.emulator.arith import (
    KIND_DELTA,
    KIND_EXP,
    N_DECE,
    N_DECI,
    N_DSCALE,
    N_EXPTC,
    N_INITE,
    N_INITI,
    N_IOFF,
    N_KIND,
    N_R,
    N_SHE,
    N_SHI,
    N_TREF,
    N_VRESET,
    N_VREST,
    N_VTH,
    depress,
    mul16,
    mul_k,
    mulaf,
    neuron_step,
    potentiate,
    sat_add,
    trace2_decay,
    trace_add,
    w32,
    weight_in,
    weight_out,
)

ARM = Path(__file__).resolve().parent / "arm"
DOC = Path(__file__).resolve().parents[1] / "docs" / "targets" / "spinnaker.md"
GCC, QEMU = "arm-linux-gnueabihf-gcc", "qemu-arm"
#: the two builds: Debian's armhf default, and the ARM968's instruction set (ARMv5TE, ARM state)
ISAS = {"armv7-a Thumb-2": [], "ARMv5TE ARM": ["-marm", "-march=armv5te+fp"]}
#: -fno-tree-reassoc: GCC's tree-reassoc pass treats non-saturating fixed point as associative and turns
#: the multiplicative rule's ((w_max - w) * A) * trace into (w_max - w) * (A * trace); sPyNNaker 7.4.1's
#: binary keeps the source order (IF_curr_exp_stdp_mad_pair_multiplicative.aplx ITCM 0x3f04-0x3f2c), so
#: the checks are built without that pass; REASSOC_MODES are measured once more with it (for the doc)
CFLAGS = ["-O2", "-fno-tree-reassoc", "-static", "-Wall", "-Wextra", "-Werror"]
REASSOC_MODES = ("mult_potentiate", "mult_depress")
#: seeds and sizes, fixed before any run
SEED = 20261202
N_OPERANDS = 1_000_000
N_NEURONS = (96, 32)  # IF_curr_exp, IF_curr_delta
N_SOURCES = 48
N_TICKS = 1000
STDP_RULES = ("pair_additive", "pair_multiplicative", "pfister_additive_triplet")
STDP_SEEDS = 3  # random networks per rule
STDP_SIZE = (8, 4, 2000)  # pre, post, ticks
P_PYNN = 0.6  # share of network neurons drawn as PyNN parameters (the rest: raw integers)
I32_MIN, I32_MAX, M32 = -(2**31), 2**31 - 1, 0xFFFFFFFF
I32_EDGES = (
    I32_MIN,
    I32_MIN + 1,
    -(2**30),
    -32769,
    -32768,
    -32767,
    -2,
    -1,
    0,
    1,
    2,
    32767,
    32768,
    32769,
    2**30,
    I32_MAX - 1,
    I32_MAX,
)
U32_EDGES = (0, 1, 2, 2**31 - 1, 2**31, 2**31 + 1, M32 - 1, M32)
DOC_BEGIN, DOC_END = "<!-- gcc-check table: python tests/test_spinnaker_gcc.py -->", "<!-- gcc-check end -->"


def missing_tool() -> str | None:
    for tool in (GCC, QEMU):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian: gcc-arm-linux-gnueabihf, qemu-user; `make arm-tools`)"
    return None


# ----------------------------------------------------------------------------- operands
@dataclass(frozen=True)
class Operand:
    """How one operand column is drawn: ``edges`` first (their pairwise product with the next column's),
    then random values."""

    draw: Callable[[np.random.Generator, int], np.ndarray]
    edges: tuple[int, ...]


def _i32_draw(rng: np.random.Generator, n: int) -> np.ndarray:
    # a third each: uniform int32, |x| < 2^16 (s16.15 values around +-1), |x| < 2^24 (typical mV / nA)
    k = rng.integers(0, 3, n)
    full = rng.integers(I32_MIN, I32_MAX, n, endpoint=True)
    small = rng.integers(-(2**16), 2**16, n)
    mid = rng.integers(-(2**24), 2**24, n)
    return np.where(k == 0, full, np.where(k == 1, small, mid)).astype(np.int64)


def _rng_range(lo: int, hi: int) -> Operand:
    return Operand(lambda rng, n: rng.integers(lo, hi, n, endpoint=True).astype(np.int64), (lo, lo + 1, hi))


I32 = Operand(_i32_draw, I32_EDGES)
U32 = Operand(
    lambda rng, n: np.where(
        rng.random(n) < 0.5,
        rng.integers(0, M32, n, endpoint=True),
        rng.integers(2**31, M32, n, endpoint=True),
    ).astype(np.int64),
    U32_EDGES,
)
I32_NZ = Operand(
    lambda rng, n: np.where((x := I32.draw(rng, n)) == 0, 1, x), tuple(e for e in I32_EDGES if e)
)
U32_NZ = Operand(
    lambda rng, n: np.where((x := U32.draw(rng, n)) == 0, 1, x), tuple(e for e in U32_EDGES if e)
)
W16 = _rng_range(0, 0xFFFF)
SHIFT = _rng_range(0, 15)
I16 = Operand(
    lambda rng, n: rng.integers(-(2**15), 2**15, n).astype(np.int64),
    (-(2**15), -2048, -1, 0, 1, 2048, 2**15 - 1),
)
LUT = Operand(lambda rng, n: rng.integers(0, 2048, n, endpoint=True).astype(np.int64), (0, 1, 2047, 2048))
#: a decayed s4.11 trace as mul16 leaves it (|x| < 2^19), beyond it too (x << 4 stays inside int32)
TRACE = Operand(lambda rng, n: rng.integers(-(2**20), 2**20, n).astype(np.int64), (-(2**20), -1, 0, 1, 2048))
TRACE_WIDE = Operand(
    lambda rng, n: rng.integers(-(2**27), 2**27, n).astype(np.int64), (-(2**27), -1, 0, 1, 2**27 - 1)
)
REFRACT = Operand(
    lambda rng, n: np.where(rng.random(n) < 0.9, rng.integers(-2, 6, n), _i32_draw(rng, n)).astype(np.int64),
    (I32_MIN, -1, 0, 1, 2, I32_MAX),
)
E16 = Operand(
    lambda rng, n: np.where(rng.random(n) < 0.4, 0, rng.integers(1, 0xFFFF, n, endpoint=True)), (0, 1)
)
KIND = Operand(lambda rng, n: rng.integers(0, 2, n).astype(np.int64), (KIND_EXP, KIND_DELTA))
TREF = Operand(lambda rng, n: rng.integers(0, 30, n).astype(np.int64), (0, 1))


def operands(cols: tuple[Operand, ...], seed: int, n: int) -> np.ndarray:
    """(n, len(cols)) int64: the edge product of the first two columns, then random rows; 1% of all
    other cells replaced by an edge value of their column."""
    rng = np.random.default_rng(seed)
    x = np.stack([c.draw(rng, n) for c in cols], axis=1).astype(np.int64)
    for j, c in enumerate(cols):
        hit = rng.random(n) < 0.01
        x[hit, j] = rng.choice(np.asarray(c.edges, np.int64), int(hit.sum()))
    if len(cols) >= 2:
        grid = np.array([(a, b) for a in cols[0].edges for b in cols[1].edges], np.int64)
    else:
        grid = np.asarray(cols[0].edges, np.int64)[:, None]
    x[: len(grid), : grid.shape[1]] = grid
    return x


# ----------------------------------------------------------------------------- the emulator's side
# one numba function, one branch per C mode: the emulator's helpers inlined as in its kernels
MODES = (
    "mul_k",
    "add_k",
    "sub_k",
    "weight_to_input",
    "decay_s1615",
    "closed_form",
    "ring_buffer_add",
    "mul16",
    "mul_accum_fixed",
    "trace_add_post",
    "trace_add_pre",
    "trace2_decay",
    "weight_initial",
    "weight_final",
    "add_potentiate",
    "add_depress",
    "mult_potentiate",
    "mult_depress",
    "two_potentiate",
    "two_depress",
    "neuron_tick",
)
_CODE = {m: i for i, m in enumerate(MODES)}
_BIG = I32_MAX


@njit(cache=True)
def _emulate(code, x, out):  # noqa: C901 - one branch per operation
    for j in range(x.shape[0]):
        a = x[j]
        if code == 0:
            out[j, 0] = mul_k(a[0], a[1])
        elif code == 1:
            out[j, 0] = w32(a[0] + a[1])
        elif code == 2:
            out[j, 0] = w32(a[0] - a[1])
        elif code == 3:  # neuron_step's ring-buffer -> input conversion, seen through u of a delta neuron
            r = neuron_step(0, 1, 0, 0, a[0], 0, False, a[1], 0, 0, 0, 0, 0, 0, 0, 0, _BIG, 0, 0, 0, 0)
            out[j, 0] = r[4]
            out[j, 1] = weight_in(a[0], a[1])
        elif code == 4:  # neuron_step's exp decay: refractory (V held), no input, isyn_exc -> decayed
            r = neuron_step(0, 1, a[0], 0, 0, 0, True, 0, 0, 0, 0, 0, 0, 0, 0, 0, _BIG, 0, 0, a[1], 0)
            out[j, 0] = r[2]
        elif code == 5:  # neuron_step's closed form: isyn_exc = I, no offset; v_thresh = v_reset = max
            r = neuron_step(
                a[0], 0, a[1], 0, 0, 0, True, 0, 0, 0, 0, 0, 0, a[2], a[3], a[4], _BIG, _BIG, 0, 0, 0
            )
            out[j, 0] = r[0]
        elif code == 6:
            out[j, 0] = sat_add(a[0], a[1])[0]
        elif code == 7:
            out[j, 0] = mul16(a[0], a[1])
        elif code == 8:
            out[j, 0] = mulaf(a[0], a[1])
        elif code == 9 or code == 10:
            out[j, 0] = trace_add(a[0], a[1])
        elif code == 11:
            out[j, 0] = trace2_decay(a[0], a[1])
        elif code == 12:
            out[j, 0] = weight_in(a[0], a[1])
        elif code == 13:
            out[j, 0] = weight_out(a[0], a[1])
        elif code == 14:
            out[j, 0] = potentiate(0, a[0], a[1], 0, a[2], a[3], 0)
        elif code == 15:
            out[j, 0] = depress(0, a[0], a[1], 0, a[2], a[3], 0)
        elif code == 16:
            out[j, 0] = potentiate(1, a[0], a[1], 0, a[2], a[3], 0)
        elif code == 17:
            out[j, 0] = depress(1, a[0], a[1], 0, a[2], a[3], 0)
        elif code == 18:
            out[j, 0] = potentiate(2, a[0], a[1], a[2], a[3], a[4], a[5])
        elif code == 19:
            out[j, 0] = depress(2, a[0], a[1], a[2], a[3], a[4], a[5])
        else:
            r = neuron_step(
                a[0],
                a[1],
                a[2],
                a[3],
                a[4],
                a[5],
                a[6] == KIND_EXP,
                a[7],
                a[8],
                a[9],
                a[10],
                a[11],
                a[12],
                a[13],
                a[14],
                a[15],
                a[16],
                a[17],
                a[18],
                a[19],
                a[20],
            )
            out[j, 0], out[j, 1], out[j, 2], out[j, 3], out[j, 4] = r[0], r[1], r[2], r[3], r[4]
            out[j, 5] = 1 if r[5] else 0


def numba_op(mode: str, n_out: int) -> Callable[[np.ndarray], np.ndarray]:
    def run(x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], n_out), np.int64)
        _emulate(_CODE[mode], np.ascontiguousarray(x, np.int64), out)
        return out

    return run


def python_op(f: Callable[..., int]) -> Callable[[np.ndarray], np.ndarray]:
    def run(x: np.ndarray) -> np.ndarray:
        return np.fromiter((f(*map(int, row)) for row in x.tolist()), np.int64, x.shape[0])[:, None]

    return run


@dataclass(frozen=True)
class Check:
    """One C mode vs one or more emulator functions. ``unsigned``: the C words are u32 values."""

    mode: str
    source: str
    cols: tuple[Operand, ...]
    n_out: int
    emulator: tuple[tuple[str, Callable[[np.ndarray], np.ndarray], slice], ...]
    unsigned: bool = False


def _tick_cols() -> tuple[Operand, ...]:
    # v refract ie ii e16 i16 kind she shi inite initi ioff dscale r vrest exptc vth vreset tref dece deci
    return (I32, REFRACT, I32, I32, E16, E16, KIND, SHIFT, SHIFT, U32, U32) + (I32,) * 7 + (TREF, U32, U32)


CHECKS = (
    Check(
        "mul_k",
        "accum * accum (closed form, delta input, mul_accum_fixed)",
        (I32, I32),
        1,
        (
            ("arith.mul_k", numba_op("mul_k", 1), slice(0, 1)),
            ("fixed.mul_k", python_op(fixed.mul_k), slice(0, 1)),
        ),
    ),
    Check(
        "add_k", "accum + accum", (I32, I32), 1, (("arith.w32(a + b)", numba_op("add_k", 1), slice(0, 1)),)
    ),
    Check(
        "sub_k", "accum - accum", (I32, I32), 1, (("arith.w32(a - b)", numba_op("sub_k", 1), slice(0, 1)),)
    ),
    Check(
        "weight_to_input",
        "synapse_row.h synapse_row_convert_weight_to_input",
        (W16, SHIFT),
        1,
        (
            ("arith.neuron_step (u of a delta input)", numba_op("weight_to_input", 2), slice(0, 1)),
            ("arith.weight_in", numba_op("weight_to_input", 2), slice(1, 2)),
        ),
    ),
    Check(
        "decay_s1615",
        "decay.h decay_s1615 (exp synapse decay)",
        (I32, U32),
        1,
        (
            ("arith.neuron_step (isyn decay)", numba_op("decay_s1615", 1), slice(0, 1)),
            ("fixed.decay_s1615", python_op(fixed.decay_s1615), slice(0, 1)),
        ),
    ),
    Check(
        "exp_input",
        "exp_synapse_utils.h add_input_exp",
        (I32, W16, SHIFT, U32),
        1,
        (("fixed.exp_syn_add", python_op(fixed.exp_syn_add), slice(0, 1)),),
    ),
    Check(
        "closed_form",
        "neuron_model_lif_impl.h lif_neuron_closed_form",
        (I32,) * 5,
        1,
        (
            ("arith.neuron_step (closed form)", numba_op("closed_form", 1), slice(0, 1)),
            (
                "fixed.lif_closed_form",
                python_op(lambda v, i, r, vr, e: fixed.lif_closed_form(v, i, R=r, V_rest=vr, exp_TC=e)),
                slice(0, 1),
            ),
        ),
    ),
    Check(
        "kdivk",
        "maths-util.h kdivk",
        (I32, I32_NZ),
        1,
        (("fixed.kdivk", python_op(fixed.kdivk), slice(0, 1)),),
    ),
    Check(
        "kdivui",
        "maths-util.h kdivui",
        (I32, U32_NZ),
        1,
        (("fixed.kdivui", python_op(fixed.kdivui), slice(0, 1)),),
    ),
    Check(
        "ceil_accum",
        "neuron_model_lif_impl.h lif_ceil_accum",
        (I32,),
        1,
        (("fixed.ceil_accum", python_op(fixed.ceil_accum), slice(0, 1)),),
    ),
    Check(
        "syn_init",
        "exp_synapse_utils.h decay_and_init (1.0ulr - decay, decay_s1615_to_u032)",
        (I32, U32),
        1,
        (("fixed.syn_init_factor", python_op(fixed.syn_init_factor), slice(0, 1)),),
        unsigned=True,
    ),
    Check(
        "ring_buffer_add",
        "synapses.c process_fixed_synapses (saturating add)",
        (W16, W16),
        1,
        (("arith.sat_add", numba_op("ring_buffer_add", 1), slice(0, 1)),),
    ),
    Check(
        "mul16",
        "maths.h maths_fixed_mul16 (__smulbb)",
        (I32, I32),
        1,
        (("arith.mul16", numba_op("mul16", 1), slice(0, 1)),),
    ),
    Check(
        "mul_accum_fixed",
        "stdp_typedefs.h mul_accum_fixed",
        (I32, TRACE_WIDE),
        1,
        (("arith.mulaf", numba_op("mul_accum_fixed", 1), slice(0, 1)),),
    ),
    Check(
        "trace_add_post",
        "timing_pair_impl.h timing_add_post_spike",
        (I16, LUT),
        1,
        (("arith.trace_add", numba_op("trace_add_post", 1), slice(0, 1)),),
    ),
    Check(
        "trace_add_pre",
        "timing_pair_impl.h timing_add_pre_spike",
        (I16, LUT),
        1,
        (("arith.trace_add", numba_op("trace_add_pre", 1), slice(0, 1)),),
    ),
    Check(
        "trace2_decay",
        "timing_pfister_triplet_impl.h r2 / o2",
        (I16, LUT),
        1,
        (("arith.trace2_decay", numba_op("trace2_decay", 1), slice(0, 1)),),
    ),
    Check(
        "weight_initial",
        "weight_*_impl.h weight_get_initial",
        (W16, SHIFT),
        1,
        (("arith.weight_in", numba_op("weight_initial", 1), slice(0, 1)),),
    ),
    Check(
        "weight_final",
        "weight_*_impl.h weight_get_final",
        (I32, SHIFT),
        1,
        (("arith.weight_out", numba_op("weight_final", 1), slice(0, 1)),),
    ),
    Check(
        "add_potentiate",
        "weight_additive_one_term_impl.h potentiation",
        (I32, I32, I32, TRACE),
        1,
        (("arith.potentiate (additive)", numba_op("add_potentiate", 1), slice(0, 1)),),
    ),
    Check(
        "add_depress",
        "weight_additive_one_term_impl.h depression",
        (I32, I32, I32, TRACE),
        1,
        (("arith.depress (additive)", numba_op("add_depress", 1), slice(0, 1)),),
    ),
    Check(
        "mult_potentiate",
        "weight_multiplicative_impl.h potentiation",
        (I32, I32, I32, TRACE),
        1,
        (("arith.potentiate (multiplicative)", numba_op("mult_potentiate", 1), slice(0, 1)),),
    ),
    Check(
        "mult_depress",
        "weight_multiplicative_impl.h depression",
        (I32, I32, I32, TRACE),
        1,
        (("arith.depress (multiplicative)", numba_op("mult_depress", 1), slice(0, 1)),),
    ),
    Check(
        "two_potentiate",
        "timing_pfister_triplet_impl.h + weight_additive_two_term_impl.h potentiation",
        (I32, I32, I32, I32, TRACE, I16),
        1,
        (("arith.potentiate (two-term)", numba_op("two_potentiate", 1), slice(0, 1)),),
    ),
    Check(
        "two_depress",
        "timing_pfister_triplet_impl.h + weight_additive_two_term_impl.h depression",
        (I32, I32, I32, I32, TRACE, I16),
        1,
        (("arith.depress (two-term)", numba_op("two_depress", 1), slice(0, 1)),),
    ),
    Check(
        "neuron_tick",
        "neuron.c neuron_transfer + neuron_impl_standard.h update (LIF, exp/delta synapses, threshold)",
        _tick_cols(),
        6,
        (("arith.neuron_step", numba_op("neuron_tick", 6), slice(0, 6)),),
    ),
)


# ----------------------------------------------------------------------------- the C side
def build(out_dir: Path) -> dict[str, dict[str, Path]]:
    """Compile ops.c, network.c and stdp_net.c for each ISA: ``{"ops": {isa: exe}, ...}``, and
    ``{"reassoc": {isa: exe}}``: ops.c for the first ISA with GCC's tree-reassoc left on."""
    exes: dict[str, dict[str, Path]] = {"ops": {}, "network": {}, "stdp_net": {}, "reassoc": {}}
    for k, (isa, flags) in enumerate(ISAS.items()):
        for prog, cflags in (
            ("ops", CFLAGS),
            ("network", CFLAGS),
            ("stdp_net", CFLAGS),
            ("reassoc", CFLAGS[:1] + CFLAGS[2:]),
        ):
            if prog == "reassoc" and k:
                continue
            exe = out_dir / f"{prog}-{k}"
            src = ARM / ("ops.c" if prog == "reassoc" else f"{prog}.c")
            subprocess.run(
                [GCC, *cflags, *flags, "-I", str(ARM), "-o", str(exe), str(src)],
                check=True,
                capture_output=True,
            )
            exes[prog][isa] = exe
    return exes


def _words(x: np.ndarray) -> bytes:
    return (np.asarray(x, np.int64) & M32).astype("<u4").tobytes()


def run_c(exe: Path, args: list[str], payload: bytes, n_out_words: int | None = None) -> np.ndarray:
    res = subprocess.run([QEMU, str(exe), *args], input=payload, capture_output=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{exe.name} {' '.join(args)}: exit {res.returncode}: {res.stderr.decode()[:500]}")
    out = np.frombuffer(res.stdout, "<i4").astype(np.int64)
    if n_out_words is not None and out.size != n_out_words:
        raise RuntimeError(f"{exe.name} {' '.join(args)}: {out.size} words out, expected {n_out_words}")
    return out


def tool_versions() -> tuple[str, str]:
    gcc = subprocess.run([GCC, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[
        0
    ]
    qemu = subprocess.run(
        [QEMU, "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    return gcc.strip(), qemu.strip()


@dataclass
class OpResult:
    check: Check
    seed: int
    n: int
    mismatches: dict[str, str]  # "isa / emulator function" -> first mismatches (empty: none)
    n_differ: int  # records that differ, summed over ISAs and emulator functions


def compare_ops(exes: dict[str, Path], check: Check, n: int = N_OPERANDS) -> OpResult:
    """``exes``: {isa: ops executable}."""
    seed = SEED + MODES_ALL.index(check.mode)
    x = operands(check.cols, seed, n)
    emu = {name: f(x)[:, sl] for name, f, sl in check.emulator}
    bad: dict[str, str] = {}
    n_differ = 0
    for isa, ex in exes.items():
        c = run_c(ex, [check.mode, str(len(check.cols)), str(check.n_out)], _words(x), n * check.n_out)
        c = c.reshape(n, check.n_out)
        if check.unsigned:
            c = c & M32
        for name, (_, _, sl) in zip(emu, check.emulator):
            want = c[:, sl]
            diff = np.nonzero(np.any(emu[name] != want, axis=1))[0]
            n_differ += int(diff.size)
            if diff.size:
                rows = "; ".join(
                    f"operands {x[i].tolist()}: C {want[i].tolist()} vs emulator {emu[name][i].tolist()}"
                    for i in diff[:3]
                )
                bad[f"{isa} / {name}"] = f"seed {seed}, {diff.size} of {n} differ, first: {rows}"
    return OpResult(check, seed, n, bad, n_differ)


MODES_ALL = tuple(c.mode for c in CHECKS)


# ----------------------------------------------------------------------------- the network
@dataclass
class NetResult:
    seed: int
    n_neurons: int
    n_ticks: int
    n_synapses: int
    n_spikes: int
    saturated_pops: int
    mismatches: dict[str, str]
    n_differ: int  # (tick, neuron, quantity) entries that differ, summed over ISAs


def random_network(seed: int):
    """A plan (engine.build_plan) of random neurons: 60% from random PyNN parameters through the on-chip
    initialisation (fixed.lif_init / exp_syn_init), 40% raw random integers (edges included); random
    sources, recurrent synapses, delays 1..15, shifts 0..15."""
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder
    from neurocompile.targets.spinnaker.emulator.engine import build_plan

    rng = np.random.default_rng(seed)
    n_exp, n_delta = N_NEURONS
    b = SpiNNakerBuilder(1.0)
    b.spike_source("src", N_SOURCES)
    b.if_curr_exp("exc", n_exp, ring_buffer_shifts=[0, 0])
    b.if_curr_delta("dlt", n_delta, ring_buffer_shifts=[0, 0])
    sizes = {"src": N_SOURCES, "exc": n_exp, "dlt": n_delta}
    for pre, post, m in (
        ("src", "exc", 900),
        ("src", "dlt", 300),
        ("exc", "exc", 700),
        ("exc", "dlt", 250),
        ("dlt", "exc", 250),
    ):
        for receptor in ("excitatory", "inhibitory"):
            w = np.where(
                rng.random(m) < 0.7, rng.integers(1, 2048, m), rng.integers(1, 0xFFFF, m, endpoint=True)
            )
            b.from_list(
                pre,
                post,
                pre_idx=rng.integers(0, sizes[pre], m),
                post_idx=rng.integers(0, sizes[post], m),
                w16=w,
                delays=rng.integers(1, 16, m),
                receptor=receptor,
            )
    plan = build_plan(b.build())
    NL = plan.NL
    tab = plan.ntab
    for n in range(NL):
        exp = tab[n, N_KIND] == KIND_EXP
        if rng.random() < P_PYNN:
            v_rest = float(rng.uniform(-80, -40))
            init = fixed.lif_init(
                v_init=0.0,
                v_rest=v_rest,
                cm=float(rng.uniform(0.05, 5)),
                tau_m=float(rng.uniform(1, 100)),
                i_offset=0.0,
                v_reset=float(rng.uniform(-90, -40)),
                tau_refrac=float(rng.uniform(0, 10)),
                dt_ms=1.0,
            )
            tab[n, N_VREST], tab[n, N_R], tab[n, N_EXPTC] = init["V_rest"], init["R"], init["exp_TC"]
            tab[n, N_VRESET], tab[n, N_TREF] = init["V_reset"], init["T_refract"]
            tab[n, N_VTH] = fixed.s1615(v_rest + float(rng.uniform(1, 30)))
            tab[n, N_IOFF] = fixed.s1615(float(rng.uniform(-2, 2)))
            plan.v0[n] = fixed.s1615(v_rest + float(rng.uniform(-10, 10)))
            if exp:
                e = fixed.exp_syn_init(float(rng.uniform(0.5, 30)), 1.0)
                i = fixed.exp_syn_init(float(rng.uniform(0.5, 30)), 1.0)
                tab[n, N_DECE], tab[n, N_INITE], tab[n, N_DECI], tab[n, N_INITI] = (
                    e["decay"],
                    e["init"],
                    i["decay"],
                    i["init"],
                )
            tab[n, N_SHE], tab[n, N_SHI] = rng.integers(0, 8, 2)
        else:
            for col in (N_VREST, N_R, N_EXPTC, N_VRESET, N_VTH, N_IOFF, N_DSCALE):
                tab[n, col] = rng.choice(I32_EDGES) if rng.random() < 0.1 else _i32_draw(rng, 1)[0]
            tab[n, N_TREF] = rng.integers(0, 20)
            for col in (N_DECE, N_DECI, N_INITE, N_INITI):
                tab[n, col] = int(rng.integers(0, M32, endpoint=True))
            tab[n, N_SHE], tab[n, N_SHI] = rng.integers(0, 16, 2)
            plan.v0[n] = int(rng.integers(I32_MIN, I32_MAX, endpoint=True))
        if not exp:
            tab[n, N_DECE] = tab[n, N_DECI] = tab[n, N_INITE] = tab[n, N_INITI] = 0
    inp = (rng.random((N_TICKS, plan.NI)) < 0.15).astype(np.uint8)
    return plan, inp


def network_payload(plan, inp: np.ndarray) -> bytes:
    cols = (
        N_KIND,
        N_SHE,
        N_SHI,
        N_INITE,
        N_INITI,
        N_IOFF,
        N_DSCALE,
        N_R,
        N_VREST,
        N_EXPTC,
        N_VTH,
        N_VRESET,
        N_TREF,
        N_DECE,
        N_DECI,
    )
    n_slots = 1 << int(plan.R - 1).bit_length()
    src = np.repeat(np.arange(plan.NI + plan.NL), np.diff(plan.rowptr))
    syn = np.stack([src, plan.cpost, plan.cw, plan.cdel, plan.ctype], axis=1)
    head = np.array([plan.NL, plan.NI, inp.shape[0], syn.shape[0], n_slots - 1], np.int64)
    return b"".join(
        _words(a.reshape(-1)) for a in (head, plan.ntab[:, cols], plan.v0, syn, inp.astype(np.int64))
    )


def compare_network(exes: dict[str, Path], seed: int = SEED) -> NetResult:
    """``exes``: {isa: network executable}."""
    from neurocompile.targets.spinnaker.emulator.engine import Outputs, Recorded, run_sample

    plan, inp = random_network(seed)
    NL, T = plan.NL, inp.shape[0]
    every = np.arange(NL)
    net = plan.network()
    out = Outputs(
        np.zeros((T, NL), np.int64),
        np.zeros((T, NL), np.int64),
        np.zeros((T, NL), np.uint8),
        np.zeros((net.NP, 2), np.int64),
    )
    run_sample(inp, T, net, Recorded(every, every, every), out)
    payload = network_payload(plan, inp)
    bad: dict[str, str] = {}
    n_differ = 0
    for isa, ex in exes.items():
        c = run_c(ex, [], payload, T * NL * 3).reshape(T, NL, 3)
        for k, (name, emu) in enumerate(
            (("V", out.v), ("exc - inh", out.u), ("spikes", out.s.astype(np.int64)))
        ):
            diff = np.argwhere(c[:, :, k] != emu)
            n_differ += len(diff)
            if diff.size:
                t, n = diff[0]
                bad[f"{isa} / {name}"] = (
                    f"seed {seed}, {len(diff)} (tick, neuron) differ, first tick {t} neuron {n}: "
                    f"C {c[t, n, k]} vs emulator {emu[t, n]}; neuron constants {plan.ntab[n].tolist()}"
                )
    n_sat = int(np.count_nonzero(out.ovf[:, 1]))
    return NetResult(seed, NL, T, int(plan.cw.size), int(out.s.sum()), n_sat, bad, n_differ)


# ----------------------------------------------------------------------------- STDP sequences
@dataclass
class StdpResult:
    rule: str
    seeds: list[int]
    n_synapses: int
    n_ticks: int
    n_pre_spikes: int
    n_post_spikes: int
    n_differ: int  # (tick, synapse) weights that differ, summed over seeds and ISAs
    mismatches: dict[str, str]


def stdp_block(rule: str, rng: np.random.Generator) -> dict:
    if rule == "pair_additive":
        return dict(
            timing="spike_pair",
            weight="additive",
            tau_plus=float(rng.uniform(5, 40)),
            tau_minus=float(rng.uniform(5, 40)),
            A_plus=float(rng.uniform(0, 0.3)),
            A_minus=float(rng.uniform(0, 0.3)),
            w_min=0.1,
            w_max=2.0,
        )
    if rule == "pair_multiplicative":
        return dict(
            timing="spike_pair",
            weight="multiplicative",
            tau_plus=float(rng.uniform(5, 40)),
            tau_minus=float(rng.uniform(5, 40)),
            A_plus=float(rng.uniform(0, 1)),
            A_minus=float(rng.uniform(0, 1)),
            w_min=0.1,
            w_max=2.0,
        )
    return dict(
        timing="pfister_triplet",
        weight="additive_triplet",
        tau_plus=float(rng.uniform(10, 30)),
        tau_minus=float(rng.uniform(20, 40)),
        tau_x=float(rng.uniform(50, 150)),
        tau_y=float(rng.uniform(50, 150)),
        A_plus=float(rng.uniform(0, 0.1)),
        A_minus=float(rng.uniform(0, 0.1)),
        A3_plus=float(rng.uniform(0, 0.1)),
        A3_minus=float(rng.uniform(0, 0.05)),
        w_min=0.0,
        w_max=2.0,
    )


def stdp_case(rule: str, seed: int):
    """An STDP projection pre -> post (IF_curr_exp) whose post neurons are driven to spike (drive at t ->
    spike at t + 1), random trains; returns (program, pre raster, drive raster)."""
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    rng = np.random.default_rng(seed)
    n_pre, n_post, T = STDP_SIZE
    b = SpiNNakerBuilder(1.0)
    b.spike_source("pre", n_pre)
    b.spike_source("drive", n_post)
    b.if_curr_exp("post", n_post, ring_buffer_shifts=[4, 0], tau_syn_E=1.0, tau_refrac=1.0)
    b.from_list("drive", "post", pre_idx=np.arange(n_post), post_idx=np.arange(n_post), w16=[65535] * n_post)
    pre_idx = np.repeat(np.arange(n_pre), n_post)
    post_idx = np.tile(np.arange(n_post), n_pre)
    b.stdp(
        "pre",
        "post",
        pre_idx=pre_idx,
        post_idx=post_idx,
        w16=rng.integers(0, 4000, pre_idx.size),
        delays=rng.integers(1, 8, pre_idx.size),
        plasticity=stdp_block(rule, rng),
        name="stdp",
    )
    prog = b.build({"out": ("post", "spikes")})
    # bursts and silences: post histories overflow (16 events) between pre spikes, and dt = 0 pairs occur
    rate_pre = np.where(rng.random((T, 1)) < 0.5, 0.02, 0.12)
    rate_post = np.where(rng.random((T, 1)) < 0.5, 0.05, 0.3)
    pre = (rng.random((T, n_pre)) < rate_pre).astype(np.uint8)
    drive = (rng.random((T, n_post)) < rate_post).astype(np.uint8)
    return prog, pre, drive


def stdp_payload(prog, pre: np.ndarray, post: np.ndarray) -> bytes:
    from neurocompile.targets.spinnaker.learning import TIMING_CODES, WEIGHT_CODES, stdp_constants

    q = prog.projections["stdp"].params
    c = stdp_constants(q["plasticity"], prog.semantics["tick_ms"])
    shift = int(prog.populations["post"].params["ring_buffer_shifts"][0])
    head = [
        pre.shape[1],
        post.shape[1],
        pre.shape[0],
        q["pre"].size,
        TIMING_CODES[c.timing],
        WEIGHT_CODES[c.weight],
    ]
    head += [c.w_min, c.w_max, c.a2_plus, c.a2_minus, c.a3_plus, c.a3_minus]
    luts = []
    for lut, sh in (
        (c.lut_plus, c.shift_plus),
        (c.lut_minus, c.shift_minus),
        (c.lut_x, c.shift_x),
        (c.lut_y, c.shift_y),
    ):
        luts += [lut.size, sh, *np.asarray(lut, np.int64).tolist()]
    syn = np.stack(
        [q["pre"], q["post"], q["delays"], np.full(q["pre"].size, shift), q["w16"]], axis=1
    ).astype(np.int64)
    parts = (np.asarray(head + luts, np.int64), syn, pre.astype(np.int64), post.astype(np.int64))
    return b"".join(_words(a.reshape(-1)) for a in parts)


def compare_stdp(exes: dict[str, Path], rule: str) -> StdpResult:
    """``exes``: {isa: stdp_net executable}. The emulator runs the whole network; the C replays the
    plasticity on the emulator's own post spikes and pre spikes, and the weights after every tick must
    agree."""
    seeds = [SEED + 100 * (STDP_RULES.index(rule) + 1) + k for k in range(STDP_SEEDS)]
    n_syn = n_pre_spikes = n_post_spikes = n_differ = 0
    bad: dict[str, str] = {}
    for seed in seeds:
        prog, pre, drive = stdp_case(rule, seed)
        with warnings.catch_warnings():  # the drive saturates its ring-buffer entries on purpose
            warnings.filterwarnings(
                "ignore", "population 'post': a ring-buffer entry saturated", RuntimeWarning
            )
            rec = [("post", "spikes"), ("stdp", "weights")]
            res = prog.run({"pre": pre[None], "drive": drive[None]}, record=rec)
        post = res.recordings["post.spikes"][0].reshape(pre.shape[0], -1).astype(np.int64)
        traj = res.recordings["stdp.weights_t"][0]
        n_syn += traj.shape[1]
        n_pre_spikes += int(pre.sum())
        n_post_spikes += int(post.sum())
        payload = stdp_payload(prog, pre, post)
        for isa, ex in exes.items():
            c = run_c(ex, [], payload, traj.size).reshape(traj.shape)
            diff = np.argwhere(c != traj)
            n_differ += len(diff)
            if diff.size and f"{isa} / seed {seed}" not in bad:
                t, q = diff[0]
                par = prog.projections["stdp"].params
                bad[f"{isa} / seed {seed}"] = (
                    f"{len(diff)} (tick, synapse) differ, first tick {t} synapse {q}: C {c[t, q]} vs "
                    f"emulator {traj[t, q]} (pre {par['pre'][q]}, post {par['post'][q]}, "
                    f"delay {par['delays'][q]})"
                )
    return StdpResult(rule, seeds, n_syn, STDP_SIZE[2], n_pre_spikes, n_post_spikes, n_differ, bad)


# ----------------------------------------------------------------------------- report
@dataclass
class Measurement:
    gcc: str
    qemu: str
    ops: list[OpResult]
    net: NetResult
    stdp: list[StdpResult]
    reassoc: dict[str, int]  # REASSOC_MODES built with tree-reassoc: records that differ
    seconds: float


def measure() -> Measurement:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nc-gcc-") as tmp:
        exes = build(Path(tmp))
        ops = [compare_ops(exes["ops"], c) for c in CHECKS]
        net = compare_network(exes["network"])
        stdp = [compare_stdp(exes["stdp_net"], rule) for rule in STDP_RULES]
        reassoc = {
            c.mode: compare_ops(exes["reassoc"], c).n_differ for c in CHECKS if c.mode in REASSOC_MODES
        }
    gcc, qemu = tool_versions()
    return Measurement(gcc, qemu, ops, net, stdp, reassoc, time.perf_counter() - t0)


def table(m: Measurement) -> str:
    """The doc's table (markdown), from a measurement: only counts and versions, no timings."""
    isas = " and ".join(f"`{k}`" for k in ISAS)
    lines = [
        DOC_BEGIN,
        f"Compiler: `{m.gcc}`, `{' '.join(CFLAGS[:3])}`, built twice ({isas}); run under `{m.qemu}`.",
        "",
        "| C (sPyNNaker 1!7.4.1 source it mirrors) | emulator function | operands | differ |",
        "|---|---|---|---|",
    ]
    for r in m.ops:
        names = ", ".join(f"`{name}`" for name, _, _ in r.check.emulator)
        lines.append(f"| `{r.check.mode}` ({r.check.source}) | {names} | {r.n:,} | {r.n_differ} |")
    n = m.net
    lines += [
        "",
        f"Network (seed {n.seed}): {n.n_neurons} random neurons ({N_NEURONS[0]} IF_curr_exp, {N_NEURONS[1]} "
        f"IF_curr_delta; each from random PyNN parameters through the on-chip initialisation with "
        f"probability {P_PYNN}, else raw random integers), {N_SOURCES} spike sources, "
        f"{n.n_synapses:,} synapses (recurrent, delays 1-15), "
        f"{n.n_ticks:,} ticks: V, `exc - inh` and spikes compared at every tick and neuron "
        f"({n.n_neurons * n.n_ticks:,} neuron-ticks, {n.n_spikes:,} spikes, ring-buffer saturation in "
        f"{n.saturated_pops} of 2 populations); (tick, neuron, quantity) entries that differ: {n.n_differ}.",
        "",
        f"STDP ({STDP_SEEDS} random projections per rule, {STDP_SIZE[0]} pre x {STDP_SIZE[1]} post, "
        f"all-to-all, delays 1-7, {STDP_SIZE[2]:,} ticks of bursty trains; the C replays the plasticity on "
        "the emulator's pre and post spikes; weights compared after every tick):",
        "",
        "| rule | synapses | pre spikes | post spikes | (tick, synapse) weights compared | differ |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r.rule} | {r.n_synapses} | {r.n_pre_spikes:,} | {r.n_post_spikes:,} | "
            f"{r.n_synapses * r.n_ticks:,} | {r.n_differ} |"
            for r in m.stdp
        ),
        "",
        "Built without `-fno-tree-reassoc` (GCC's default at -O1 and above), records that differ: "
        + ", ".join(f"`{k}` {v:,} of {N_OPERANDS:,}" for k, v in m.reassoc.items())
        + " (the operations with two chained accum multiplies).",
        DOC_END,
    ]
    return "\n".join(lines)


def doc_table() -> str | None:
    text = DOC.read_text(encoding="utf-8")
    if DOC_BEGIN not in text or DOC_END not in text:
        return None
    a = text.index(DOC_BEGIN)
    return text[a : text.index(DOC_END, a) + len(DOC_END)]


# ----------------------------------------------------------------------------- tests
arm = pytest.mark.arm


@pytest.fixture(scope="module")
def measured() -> Measurement:
    reason = missing_tool()
    if reason:
        pytest.skip(reason)
    return measure()


@arm
@pytest.mark.parametrize("mode", MODES_ALL)
def test_primitive_equals_gcc(measured, mode):
    r = next(r for r in measured.ops if r.check.mode == mode)
    assert r.n >= 1_000_000
    assert not r.mismatches, "\n".join(f"{k}: {v}" for k, v in r.mismatches.items())


@arm
def test_network_equals_gcc(measured):
    n = measured.net
    assert n.n_neurons >= 100 and n.n_ticks >= 1000
    assert n.n_spikes > 0, "the random network must spike"
    assert not n.mismatches, "\n".join(f"{k}: {v}" for k, v in n.mismatches.items())


@arm
@pytest.mark.parametrize("rule", STDP_RULES)
def test_stdp_sequence_equals_gcc(measured, rule):
    r = next(r for r in measured.stdp if r.rule == rule)
    assert r.n_post_spikes > 100 and r.n_pre_spikes > 100
    assert not r.mismatches, "\n".join(f"{k}: {v}" for k, v in r.mismatches.items())


@arm
def test_doc_table(measured):
    assert doc_table() == table(measured), (
        "docs/targets/spinnaker.md 'GCC fixed-point check' is not what `python tests/test_spinnaker_gcc.py` "
        "prints: paste its output there"
    )


def test_an_emulator_change_is_seen():
    # the comparison can fail: a rounding multiply (later sPyNNaker's MULT_ROUND_NEAREST_ACCUM) differs
    x = operands((I32, I32), SEED, 10_000)
    rounded = np.array([w32((a * b + (1 << 14)) >> 15) for a, b in x.tolist()], np.int64)
    assert np.count_nonzero(rounded != numba_op("mul_k", 1)(x)[:, 0]) > 1000


@arm
@pytest.mark.parametrize("isa", list(ISAS))
def test_accum_multiply_is_inline_truncating_smull(isa, tmp_path):
    # the doc's statement on GCC's code for accum * accum and 1.0ulr - d (no libgcc call, no rounding step)
    if missing_tool():
        pytest.skip(missing_tool())
    src = tmp_path / "k.c"
    src.write_text(
        '#include "s1615.h"\n'
        "int32_t mk(int32_t a, int32_t b) { return bitsk(kbits(a) * kbits(b)); }\n"
        "uint32_t inv(uint32_t d) { return bitsulr(1.0ulr - ulrbits(d)); }\n"
    )
    asm = subprocess.run(
        [GCC, *CFLAGS[:2], *ISAS[isa], "-I", str(ARM), "-S", "-o", "-", str(src)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mk = asm[asm.index("mk:") : asm.index("inv:")]
    ops = [ln.split()[0] for ln in mk.splitlines() if ln.startswith("\t") and ln[1] not in ".@"]
    assert ops[:3] == ["smull", "lsls" if "Thumb" in isa else "lsl", "orr"], mk
    assert "#17" in mk and "lsr #15" in mk and "bl" not in ops, mk
    inv = asm[asm.index("inv:") :]
    assert ("mvn" in inv or "mov\tr3, #-1" in inv) and "sub" in inv, inv


# the 7.4.1 binaries behind two statements of the doc (docs/targets/spinnaker.md, "GCC fixed-point check"):
# ITCM address -> instruction word (ARM state; the .aplx image starts at file offset 0x40)
_PAIR_ADDITIVE = {
    0x3ED0: 0xE093C005,  # adds ip, r3, r5     potentiation: time since the last pre spike ...
    0x3ED4: 0x0A000011,  # beq  0x3f20         ... 0 skips the term
    0x3F40: 0xE040C003,  # sub  ip, r0, r3     depression: dt = tp - d - t_post
    0x3F68: 0xE1610381,  # smulbb r1, r1, r3   mul16(o, LUT-(dt)), no test of dt before it
    0x3F78: 0xE0C3C091,  # smull ip, r3, r1, r0   A- * (x << 4)
    0x3F90: 0xE0423003,  # sub  r3, r2, r3     w - ...
    0x3F98: 0xB1A09003,  # movlt r9, r3        max(w, w_min)
}
_PAIR_MULTIPLICATIVE = {
    0x3F04: 0xE99A0220,  # ldmib sl, {r5, r9}  w_max, A+
    0x3F0C: 0xE0455008,  # sub  r5, r5, r8     w_max - w
    0x3F10: 0xE0C0B995,  # smull fp, r0, r5, r9   (w_max - w) * A+ first
    0x3F20: 0xE0C5019B,  # smull r0, r5, fp, r1   then * (trace << 4)
    0x3F90: 0xE0481001,  # sub  r1, r8, r1     w - w_min
    0x3F94: 0xE0C3C091,  # smull ip, r3, r1, r0   (w - w_min) * A- first
    0x3FA4: 0xE0C3129C,  # smull r1, r3, ip, r2   then * (trace << 4)
}


def _itcm_words(name: str) -> Callable[[int], int]:
    spynnaker = pytest.importorskip("spynnaker", reason="sPyNNaker 1!7.4.1 not installed (its binaries)")
    data = (Path(spynnaker.__file__).parent / "pyNN" / "model_binaries" / f"{name}.aplx").read_bytes()
    return lambda addr: int.from_bytes(data[0x40 + addr : 0x44 + addr], "little")


@pytest.mark.spinnaker
def test_binary_stdp_depression_has_no_zero_test_and_multiplicative_keeps_order():
    word = _itcm_words("IF_curr_exp_stdp_mad_pair_additive")
    assert {a: word(a) for a in _PAIR_ADDITIVE} == _PAIR_ADDITIVE
    # from the dt subtraction to the clamp: no conditional branch (ARM B/BL with a condition other than AL)
    for a in range(0x3F40, 0x3F9C, 4):
        w = word(a)
        assert not ((w >> 25) & 7 == 5 and w >> 28 != 0xE), f"conditional branch at {a:#x}: {w:#010x}"
    word = _itcm_words("IF_curr_exp_stdp_mad_pair_multiplicative")
    assert {a: word(a) for a in _PAIR_MULTIPLICATIVE} == _PAIR_MULTIPLICATIVE


if __name__ == "__main__":
    reason = missing_tool()
    if reason:
        sys.exit(f"cannot measure: {reason}")
    m = measure()
    print(table(m))
    problems = {
        **{f"{r.check.mode} {k}": v for r in m.ops for k, v in r.mismatches.items()},
        **m.net.mismatches,
    }
    for k, v in problems.items():
        print(f"MISMATCH {k}: {v}", file=sys.stderr)
    print(f"({m.seconds:.1f} s)", file=sys.stderr)
    sys.exit(1 if problems else 0)
