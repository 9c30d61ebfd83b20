"""Loihi 2 bit widths and limits, as Lava 0.10.0's fixed-point (``fixed_pt``) models use them.

Every number used by the builder/validator (``schema.py``), the weight helpers
(``weights.py``) and the emulator profile (``neurocompile.targets.loihi2.emulator``) comes from
here, so they cannot drift. Sources: ``docs/reference/loihi2.md`` §1.2 (LIF), §2.1-2.3
(synapses), §4 (hardware); line numbers there refer to lava-nc 0.10.0.

Hardware limits marked ESTIMATED are not published by Intel for Loihi 2 (the constraint
database is in the closed lava-loihi compiler); they are used only for resource reports and
partitioning, never by the emulator's arithmetic.
"""

from __future__ import annotations

#: The pinned reference implementation the emulator is bit-exact with.
LAVA_VERSION = "0.10.0"
REFERENCE = f"lava-nc {LAVA_VERSION} fixed_pt"

# ----------------------------------------------------------------------- integer containers
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

# ----------------------------------------------------------------------- LIF neuron (§1.2)
#: du, dv are 12-bit unsigned decay constants (``lif/models.py:82-83``).
DECAY_BITS = 12
DU_MIN, DU_MAX = 0, 2**DECAY_BITS - 1
DV_MIN, DV_MAX = 0, 2**DECAY_BITS - 1
#: decays are MSB-aligned to 12 bits: x <- sign(x) * (|x| * (4096 - d) >> 12) (round toward 0).
DECAY_SHIFT = 12
DECAY_UNITY = 2**DECAY_SHIFT
#: 1-bit offsets added to du / dv (``ds_offset=1``, ``dm_offset=0``): du=0 still leaks 1/4096.
DS_OFFSET = 1
DM_OFFSET = 0
#: vth is a 17-bit unsigned mantissa, left-shifted by 6 before the (strict ``>``) comparison.
VTH_BITS = 17
VTH_MIN, VTH_MAX = 0, 2**VTH_BITS - 1
VTH_SHIFT = 6
#: synaptic input is left-shifted by 6 before it is added to u (int32 arithmetic in Lava).
ACT_SHIFT = 6
#: u and v are 24-bit state variables.
UV_BITS = 24
#: ``max_uv_val``: u wraps once by 2**24 when u > 2**23 or u <= -2**23.
UV_WRAP_LIMIT = 2 ** (UV_BITS - 1)
#: v saturates to [-(2**23 - 1), 2**23 - 1].
V_MIN, V_MAX = -(2 ** (UV_BITS - 1)) + 1, 2 ** (UV_BITS - 1) - 1
#: initial values of u accepted by the validator (the 24-bit two's complement range).
U_INIT_MIN, U_INIT_MAX = -(2 ** (UV_BITS - 1)), 2 ** (UV_BITS - 1) - 1
V_INIT_MIN, V_INIT_MAX = V_MIN, V_MAX
#: bias = bias_mant << bias_exp: 13-bit signed mantissa, 3-bit unsigned exponent
#: (``PyLifModelBitAcc`` docstring; Lava would also right-shift for a negative exponent, which
#: the hardware field cannot express, so the validator rejects it).
BIAS_MANT_BITS = 13
BIAS_MANT_MIN, BIAS_MANT_MAX = -(2 ** (BIAS_MANT_BITS - 1)), 2 ** (BIAS_MANT_BITS - 1) - 1
BIAS_EXP_BITS = 3
BIAS_EXP_MIN, BIAS_EXP_MAX = 0, 2**BIAS_EXP_BITS - 1
#: LIFReset: ``time_step % reset_interval == reset_offset % reset_interval`` zeroes u and v.
RESET_INTERVAL_MIN = 1
RESET_OFFSET_MIN = 0

# ----------------------------------------------------------------------- synapses (§2.1-2.3)
#: SignMode values of ``lava.utils.weightutils.SignMode``.
SIGN_MODE_MIXED = 1
SIGN_MODE_EXCITATORY = 2
SIGN_MODE_INHIBITORY = 3
SIGN_MODES = {
    SIGN_MODE_MIXED: "MIXED",
    SIGN_MODE_EXCITATORY: "EXCITATORY",
    SIGN_MODE_INHIBITORY: "INHIBITORY",
}
#: weights have an 8-bit magnitude; clip ranges per sign mode (``clip_weights(.., num_bits=8)``).
WEIGHT_BITS = 8
WEIGHT_RANGE = {
    SIGN_MODE_MIXED: (-(2**WEIGHT_BITS), 2**WEIGHT_BITS - 1),
    SIGN_MODE_EXCITATORY: (0, 2**WEIGHT_BITS - 1),
    SIGN_MODE_INHIBITORY: (-(2**WEIGHT_BITS - 1), 0),
}
#: ``num_weight_bits`` keeps the top bits of the 8-bit magnitude (LSB truncation; MIXED drops one
#: more LSB).
NUM_WEIGHT_BITS_MIN, NUM_WEIGHT_BITS_MAX = 1, WEIGHT_BITS
#: The shared weight exponent shifts the *sum* of a projection's active weights (floor for
#: negative values). Lava does not range-check it; -8..8 is the range the differential tests
#: cover against Lava (ESTIMATED as the hardware range).
WEIGHT_EXP_MIN, WEIGHT_EXP_MAX = -8, 8
#: Synaptic delays are 6-bit; Lava raises above 63, lava-dl netx clamps to 62, and so do we.
DELAY_MIN, DELAY_MAX = 0, 62
#: Graded spikes: ``num_message_bits`` (precision 5 in Lava); 0 means binary spikes. LIF and
#: SDN outputs are declared 24 bit, so 24 is the largest payload width accepted.
NUM_MESSAGE_BITS_MIN, NUM_MESSAGE_BITS_MAX = 0, 24
#: graded payloads carried by input populations: signed 24 bit. With |weight| <= 256 this keeps
#: every single product weight*payload inside int32, as Lava computes it.
PAYLOAD_MIN, PAYLOAD_MAX = -(2**23 - 1), 2**23 - 1

# ----------------------------------------------------------------------- hardware (§4)
CORES_PER_CHIP = 128
NEURONS_PER_CORE = 8192
NEURONS_PER_CHIP = 1_048_576
SYNAPSES_PER_CHIP = 120_000_000
#: ESTIMATED: press figures say 128 KB (Intel's brief ~192 KB) of flexibly partitioned SRAM per
#: core; not verified, keep it configurable where it is used.
SYNAPTIC_MEMORY_BYTES_PER_CORE_ESTIMATED = 128 * 1024
#: Synapse-memory cost model used by the partitioner (``targets/loihi2/partition.py``), all
#: ESTIMATED: Intel publishes no Loihi 2 synapse encodings. Modelled after Loihi 1's formats
#: (nengo-loihi ``MAX_SYNAPSE_BITS``, docs/reference/loihi2.md §4): a dense row stores every
#: entry (zeros too) with ``num_weight_bits`` bits; a sparse synapse adds the index of its post
#: neuron inside the core (log2(NEURONS_PER_CORE) = 13 bits); delayed kinds add the 6-bit
#: delay; every (projection, core) pair pays a fixed header (synapse config / axon entry).
#: Intel's 120M synapses per chip (~1.6 bit per synapse in 128 x 192 KB) are reachable only with
#: weight-sharing encodings (convolutional, factorized) that this model does not credit, so it
#: is conservative for convolutions.
SYNAPSE_INDEX_BITS_ESTIMATED = 13
SYNAPSE_DELAY_BITS = 6
SYNAPSE_HEADER_BITS_ESTIMATED = 64

# ----------------------------------------------------------------------- Program kinds
POPULATION_KINDS = ("input", "lif", "lif_reset", "lif_3f")
NEURON_KINDS = ("lif", "lif_reset", "lif_3f")
#: kinds whose du/dv may be per-neuron arrays of shape (size,) instead of one scalar
#: (Lava: ``lava_models/lifdecays.py``); lif_reset and lif_3f keep one decay per population.
PER_NEURON_DECAY_KINDS = ("lif",)
PROJECTION_KINDS = ("dense", "delay_dense", "sparse", "delay_sparse", "learning_dense")
DELAY_KINDS = ("delay_dense", "delay_sparse")
SPARSE_KINDS = ("sparse", "delay_sparse")
OBSERVABLES = ("spikes", "v", "u")

# ----------------------------------------------------------------------- learning (§3)
# Widths of Lava 0.10.0's bit-approximate learning engine (``lava/magma/core/learning/
# constants.py``, ``product_series.py:716-740``); used by ``learning.py`` (mapping and
# validation) and the emulator's learning kernel.
LEARNING_PROJECTION_KINDS = ("learning_dense",)
LEARNING_NEURON_KINDS = ("lif_3f",)
TRACE_BITS = 7  # traces 0..127
TRACE_MAX = 2**TRACE_BITS - 1
TRACE_FRACTION_BITS = 8  # impulses have 8 fractional bits
LEARNING_WEIGHT_BITS_S = 9  # w factor width (signed)
TAG_BITS = 8  # tag_1 (t), tag_2 (d) unsigned widths
CONST_BITS = 8
S_MANT_BITS = 4  # scaling mantissa m in [-8, 7]
S_MANT_MIN, S_MANT_MAX = -8, 7
S_EXP_MIN, S_EXP_MAX = -7, 8  # scaling exponent; stored as e + 7
ACCUMULATOR_BITS_U = 15  # 16-bit signed accumulator
ACCUMULATOR_MIN, ACCUMULATOR_MAX = -(2**15) - 1, 2**15 - 1
SYN_VAR_SHIFT = 16 - 9  # acc = Z << 7
#: factor widths used for the pre-shift max(0, sum(widths) + 4 - 15)
FACTOR_WIDTHS = {
    "x0": 1,
    "y0": 1,
    "u": 1,
    "x1": 7,
    "x2": 7,
    "y1": 7,
    "y2": 7,
    "y3": 7,
    "w": 9,
    "d": 9,
    "t": 9,
    "C": 8,
}
TAG_2_RANGE = (0, 2**TAG_BITS - 1)
TAG_1_RANGE = (-(2**TAG_BITS) - 1, 2**TAG_BITS - 1)
T_EPOCH_MIN, T_EPOCH_MAX = 1, 2**6 - 1  # 6-bit epoch time (not enforced by Lava; hardware field)
#: W stream seed of ``ConnVarRandom()`` (always 2 in Lava 0.10.0); X uses rng_seed, rng_seed+1,
#: Y rng_seed+2, rng_seed+3.
CONN_VAR_SEED = 2
RNG_SEED_MIN, RNG_SEED_MAX = 0, 2**31 - 5
#: The 3-factor rule's y traces (Loihi3FLearningRule): impulse 0, tau = uint16 max.
THREE_FACTOR_Y_TAU = 2**16 - 1
#: lif_3f post trace decays: 12-bit, y <- (y * decay) >> 12 (decay 4096 = no decay).
Y_DECAY_BITS = 12
Y_DECAY_MAX = 2**Y_DECAY_BITS
#: lif_3f pseudo-derivative: |v - theta| >> psi_shift with v in the 24-bit voltage range.
PSI_SHIFT_MAX = 24
#: lif_3f third-factor rounding: r <- ((r + dither) >> (k + l)) << l, k + l <= SIGNAL_SHIFT_MAX
#: (the dither is the top k + l bits of a 32-bit hash), l <= SIGNAL_LSB_MAX (a 7-bit trace).
SIGNAL_SHIFT_MAX = 16
SIGNAL_LSB_MAX = 6
