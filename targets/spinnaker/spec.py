"""SpiNNaker 1 / sPyNNaker 1!7.4.1 number formats and limits, as named constants.

Every number used by the builder/validator (``schema.py``), the fixed-point port
(``fixed.py``), the emulator (``targets/spinnaker/emulator/``) and the
partitioner comes from here, so they cannot drift. Sources: ``docs/reference/spinnaker.md``
§2 (arithmetic, checked against the 7.4.1 ``IF_curr_exp.aplx`` binary) and §4 (limits); the
host-side rules (ring-buffer shifts, weight scale, delay rounding) are from the 7.4.1 wheel
(``spynnaker/pyNN/models/neuron/population_vertex.py``, ``.../connectors/from_list_connector.py``,
``spynnaker/pyNN/utilities/constants.py``, ``spynnaker/pyNN/spynnaker.cfg``).
"""

from __future__ import annotations

#: The pinned reference implementation the emulator is bit-exact with.
SPYNNAKER_VERSION = "1!7.4.1"
#: Backed by tests/test_spinnaker_binary.py: the wheel's own IF_curr_exp/IF_curr_delta .aplx binaries
#: (static and STDP, combined and split cores) run on an emulated ARM core equal the emulator tick for tick.
REFERENCE = f"sPyNNaker {SPYNNAKER_VERSION} ARM binaries (IF_curr_exp/IF_curr_delta, run on an emulated core)"

# ----------------------------------------------------------------------- number formats (§2.1)
#: REAL = accum = s16.15 held in an int32.
S1615_FRAC_BITS = 15
S1615_ONE = 1 << S1615_FRAC_BITS
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
#: largest / smallest value representable in s16.15 (mV, nA, ms ...).
S1615_MAX = INT32_MAX / S1615_ONE
S1615_MIN = INT32_MIN / S1615_ONE
#: decay_t = unsigned long fract = u0.32; "1.0ulr" saturates to 0xFFFFFFFF.
U032_ONE_SAT = 0xFFFFFFFF
#: u0.32 fraction bits: ``decay_s1615(x, d) = (x * d) >> U032_FRAC_BITS``.
U032_FRAC_BITS = 32
#: uint32 (STDP time differences are unsigned 32 bit) and int16 (STDP traces, s4.11) ranges.
UINT32_MAX = 2**32 - 1
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1

# ----------------------------------------------------------------------- weights and ring buffers (§2.3)
#: weights are unsigned 16 bit on chip; ring-buffer entries saturate at 0xFFFF.
WEIGHT_BITS = 16
W16_MIN, W16_MAX = 0, 2**WEIGHT_BITS - 1
RING_BUFFER_SATURATION = 0xFFFF
#: w16 << shift is an s16.15 current: weight_scale = 2**(16 - (shift + 1)) (population_vertex L1405).
#: A shift above 15 leaves weight_scale < 1 and (int32)(0xFFFF << 16) wraps; sPyNNaker can compute such
#: shifts for huge summed weights, we refuse them (RANGE) rather than emulate a negative current.
RING_BUFFER_SHIFT_MIN, RING_BUFFER_SHIFT_MAX = 0, 15
#: global weight scale of current-based inputs (input_type_current.py L41); conductance inputs use 1024.
GLOBAL_WEIGHT_SCALE_CURRENT = 1.0
#: host defaults used by get_ring_buffer_shifts when nothing is pinned (spynnaker.cfg [Simulation]).
SPIKES_PER_SECOND = 30.0
RING_BUFFER_SIGMA = 5.0
#: constants.py L18: Poisson summation limit of _ring_buffer_expected_upper_bound.
POISSON_SIGMA_SUMMATION_LIMIT = 3.0
#: synapse types of IF_curr_exp / IF_curr_delta: 0 excitatory, 1 inhibitory.
SYNAPSE_TYPES = ("excitatory", "inhibitory")
N_SYNAPSE_TYPES = 2
EXCITATORY, INHIBITORY = 0, 1

# ----------------------------------------------------------------------- delays (§2.3, §2.4, §4)
#: a projection delay is at least one tick: the spike of tick t0 enters ring-buffer slot t0 + d.
DELAY_MIN_TICKS = 1
#: constants.py L83: ring-buffer index bits per core; delay slots = 2**(14 - atom_bits - type_bits).
MAX_RING_BUFFER_BITS = 14
#: delay_extension_vertex.py L49: delay extensions add up to MAX_SLOTS x the post core's slots.
DELAY_EXTENSION_MAX_SLOTS = 8
#: colour bits carried in the key (spynnaker.cfg n_colour_bits): up to 15 ticks of lateness.
N_COLOUR_BITS = 4
COLOUR_MASK = (1 << N_COLOUR_BITS) - 1

# ----------------------------------------------------------------------- neuron model (§2.2, §2.5)
#: n_steps_per_timestep (Population additional parameter); only the default 1 is modelled.
N_STEPS_PER_TIMESTEP = 1
#: PyNN timesteps (ms) the lowering offers; 0.1 ms runs in real time with a 100 us hardware tick.
TICK_MS_CHOICES = (1.0, 0.1)

# ----------------------------------------------------------------------- hardware (§4.1)
#: default (and largest) LIF neurons per core: DEFAULT_MAX_ATOMS_PER_CORE = POP_TABLE_MAX_ROW_LENGTH.
NEURONS_PER_CORE = 256
NEURONS_PER_CORE_MAX = 256
#: synapses per synaptic row (pop-table max row length).
MAX_ROW_LENGTH = 256
#: ARM968 cores per chip: 18, 1 monitor, 16 for applications, 1 spare on most chips.
CORES_PER_CHIP = 18
APP_CORES_PER_CHIP = 16
ITCM_BYTES = 32 * 1024
DTCM_BYTES = 64 * 1024
SDRAM_BYTES_PER_CHIP = 128 * 1024 * 1024
#: SDRAM per chip that spinn_machine 7.4.1 reports as usable.
SDRAM_USABLE_BYTES_PER_CHIP = 123_469_792
ROUTER_ENTRIES = 1024
ROUTER_ENTRIES_USABLE = 1023
CHIPS_PER_SPINN5_BOARD = 48
#: SpikeSourceArray / Poisson sources per core observed in partitioning reports.
POISSON_SOURCES_PER_CORE = 500
#: STDP post-synaptic history per neuron (post_events.h L33), including the t = 0 sentinel.
STDP_POST_HISTORY = 16
#: STDP traces are int16 s4.11.
STDP_FIXED_POINT = 11
STDP_ONE = 1 << STDP_FIXED_POINT

# ----------------------------------------------------------------------- Program kinds (spinnaker_schema.md)
SOURCE_KINDS = ("spike_source",)
NEURON_KINDS = ("if_curr_exp", "if_curr_delta")
POPULATION_KINDS = SOURCE_KINDS + NEURON_KINDS
#: "stdp": a FromList projection with a sPyNNaker STDPMechanism (``plasticity`` block, learning.py).
PROJECTION_KINDS = ("from_list", "stdp")
OBSERVABLES = ("spikes", "v", "u")
#: PyNN parameter names (units mV, nF, ms, nA) per neuron kind; arrays are per neuron.
NEURON_SCALAR_PARAMS = {
    "if_curr_exp": ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac", "tau_syn_E", "tau_syn_I"),
    "if_curr_delta": ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac"),
}
NEURON_ARRAY_PARAMS = ("i_offset", "v_init")
#: The NEURON_SCALAR_PARAMS may also be given one value per neuron (an array of shape (size,)):
#: PyNN populations take per-neuron parameter arrays and sPyNNaker stores every neuron's
#: parameters (and derives exp_TC, R, the synapse decays) per neuron.
#: PyNN defaults of IF_curr_exp / IF_curr_delta (used by the builder when a value is not given).
PYNN_DEFAULTS = {
    "cm": 1.0,
    "tau_m": 20.0,
    "v_rest": -65.0,
    "v_reset": -65.0,
    "v_thresh": -50.0,
    "tau_refrac": 0.1,
    "tau_syn_E": 5.0,
    "tau_syn_I": 5.0,
    "i_offset": 0.0,
    "v_init": -65.0,
}


def delay_slots(neurons_per_core: int = NEURONS_PER_CORE, n_synapse_types: int = N_SYNAPSE_TYPES) -> int:
    """Ring-buffer delay slots on a post core: ``2**(14 - atom_bits - type_bits)`` (32 for 256, 2 types)."""
    atom_bits = max(0, (int(neurons_per_core) - 1).bit_length())
    type_bits = max(0, (int(n_synapse_types) - 1).bit_length())
    return 2 ** (MAX_RING_BUFFER_BITS - atom_bits - type_bits)


def max_delay_ticks(neurons_per_core: int = NEURONS_PER_CORE) -> int:
    """Largest delay (ticks) sPyNNaker supports with delay extensions: MAX_SLOTS x the post core's slots."""
    return DELAY_EXTENSION_MAX_SLOTS * delay_slots(neurons_per_core)


def weight_scale(shift: int) -> float:
    """Host weight scale of a ring-buffer shift: ``2**(16 - (shift + 1))`` (current inputs)."""
    return float(2.0 ** (16 - (int(shift) + 1))) * GLOBAL_WEIGHT_SCALE_CURRENT


def pinning_weight(shift: int) -> float:
    """A ``max_expected_summed_weight`` for which sPyNNaker's get_ring_buffer_shifts yields ``shift``.

    The host computes ``p = ceil(max(0, log2 w))`` (0 when w <= 0), plus one when ``2**p <= w``;
    ``w = 0.75 * 2**shift`` lies strictly between ``2**(shift-1)`` and ``2**shift`` and so gives
    ``shift`` for every shift >= 0 (0.75 gives 0). Exact in float64.
    """
    return 0.75 * 2.0 ** int(shift)


# ========================================================= partitioning (H8, targets/spinnaker/partition.py)
# Section owned by H8: what sPyNNaker 7.4.1 does when it splits and places a network
# (checked against its virtual-board placements in tests/test_spinnaker_board.py).
#: SpikeSourceArray atoms per core: AbstractPyNNModel.absolute_max_atoms_per_core is sys.maxsize, so a
#: SpikeSourceArray population is never split (observed: 5000 sources on one core).
SPIKE_SOURCE_ARRAY_ATOMS_PER_CORE = 2**63 - 1
#: system cores sPyNNaker places: SCAMP monitor (core 0) + an ExtraMonitor on every chip, and a
#: packet gatherer on the Ethernet chip (0, 0): 16 application cores per chip, 15 on the Ethernet chip.
MONITOR_CORES_PER_CHIP = 1
EXTRA_MONITOR_CORES_PER_CHIP = 1
PACKET_GATHERER_CORES_PER_ETHERNET_CHIP = 1
APP_CORES_ETHERNET_CHIP = (
    CORES_PER_CHIP
    - MONITOR_CORES_PER_CHIP
    - EXTRA_MONITOR_CORES_PER_CHIP
    - PACKET_GATHERER_CORES_PER_ETHERNET_CHIP
)
#: SDRAM sPyNNaker plans for the system cores of one chip (chip_sdram_usage_by_core.rpt, 7.4.1).
EXTRA_MONITOR_SDRAM_BYTES = 488_476
PACKET_GATHERER_SDRAM_BYTES = 477_250
#: synaptic matrix rows: 3 header words (plastic size, fixed count, plastic count) + one word per synapse.
SYNAPSE_ROW_HEADER_WORDS = 3
SYNAPSE_WORD_BYTES = 4


def n_bits(n_values: int) -> int:
    """sPyNNaker's ``get_n_bits``: 0 for 0 values, 1 for 1, else ``ceil(log2 n)``."""
    n = int(n_values)
    return 0 if n == 0 else 1 if n == 1 else (n - 1).bit_length()


def core_delay_slots(atoms_on_core: int, n_synapse_types: int = N_SYNAPSE_TYPES) -> int:
    """Delay slots of a post core exactly as population_vertex.py L784-797 computes them:
    ``2**(14 - get_n_bits(min(n_atoms, max_atoms_per_core)) - get_n_bits(n_synapse_types))``."""
    return 2 ** (MAX_RING_BUFFER_BITS - n_bits(atoms_on_core) - n_bits(n_synapse_types))


def incoming_delay_slots(max_delay: int, atoms_on_core: int, n_synapse_types: int = N_SYNAPSE_TYPES) -> int:
    """Delay slots sPyNNaker 1!7.4.1 gives a post population whose largest incoming delay is
    ``max_delay`` ticks (population_vertex.py ``max_delay_steps_incoming``):
    ``min(2**get_n_bits(max_delay), core_delay_slots(atoms_on_core))``. A power of two ``d >= 2``
    gets exactly ``d`` slots (``log_max_delay = log2 d``)."""
    return min(2 ** n_bits(max_delay), core_delay_slots(atoms_on_core, n_synapse_types))


def stdp_row_delay(delay, max_delay: int, atoms_on_core: int):
    """The delay the 7.4.1 STDP binaries read from a plastic synapse's control word:
    ``synapse_row_sparse_delay(control_word, synapse_type_index_bits, synapse_delay_mask)`` with
    ``synapse_delay_mask = slots - 1`` (synapse_dynamics_stdp_common.h,
    ``synapse_dynamics_stdp_get_fixed``): ``delay & (slots - 1)``. It is both the ring-buffer delay
    and the dendritic delay of the STDP window (``post_delay = s.delay_dendritic``). 0 means the
    synapse's input is never delivered (``delay_axonal + delay_dendritic > colour_delay`` fails:
    seen on the binaries, tests/test_spinnaker_binary.py test_f) and its window uses delay 0. Only
    when the post core holds every delay (no delay extension: ``max_delay <= core slots``);
    otherwise the delay is returned unchanged (delay extensions are not modelled here)."""
    slots = incoming_delay_slots(max_delay, atoms_on_core)
    if max_delay > core_delay_slots(atoms_on_core):
        return delay
    return delay & (slots - 1)


# ========================================================= STDP (H11, targets/spinnaker/learning.py)
# Section owned by H11: sPyNNaker 1!7.4.1 STDP as its host writes it and its binaries compute it
# (docs/reference/spinnaker.md §3; host: plasticity/stdp/common.py, timing_dependence_*.py,
# weight_dependence_*.py; C: post_events.h, maths.h, stdp_typedefs.h, timing_*_impl.h, weight_*_impl.h).
#: the deferred update's post-synaptic history: MAX_POST_SYNAPTIC_EVENTS (incl. the t = 0 sentinel).
STDP_MAX_POST_EVENTS = STDP_POST_HISTORY
#: mul_accum_fixed: an s4.11 trace is shifted left by this to become an s16.15 accum.
S1615_TO_STDP_SHIFT = S1615_FRAC_BITS - STDP_FIXED_POINT
#: LUT time shifts: tau_plus / tau_minus LUTs 0, Pfister tau_x / tau_y LUTs 2
#: (timing_dependence_pfister_spike_triplet.py: get_exp_lut_array(ts, tau_x, shift=2)).
STDP_LUT_SHIFT_PAIR = 0
STDP_LUT_SHIFT_TRIPLET_XY = 2
#: LUT header: size and shift are uint16 (header = [len(a), shift] viewed as one uint32).
STDP_LUT_SIZE_MAX = 2**16 - 1
#: timing x weight dependences with an IF_curr_exp binary in the 7.4.1 wheel (§3.1); IF_curr_delta
#: only has ..._stdp_mad_{pair,nearest_pair}_additive.
STDP_TIMING_RULES = ("spike_pair", "pfister_triplet")
STDP_WEIGHT_RULES = ("additive", "multiplicative", "additive_triplet")
STDP_BINARIES = {
    "if_curr_exp": (
        ("spike_pair", "additive"),
        ("spike_pair", "multiplicative"),
        ("pfister_triplet", "additive_triplet"),
    ),
    "if_curr_delta": (("spike_pair", "additive"),),
}
#: backprop_delay (SynapseDynamicsSTDP default True): post events are seen d ticks later (d = the
#: synapse's dendritic delay, all delays are dendritic in 7.4.1). Only True is modelled.
STDP_BACKPROP_DELAY = True
#: Below a 1 ms timestep sPyNNaker 7.4.1 gives a population with incoming synapses separate neuron and
#: synapse cores (population_vertex.use_combined_core): per neuron slice one neuron core plus
#: ceil(synaptic events per second / SYNAPSES_PER_CORE_PER_SECOND) synapse cores, where the events are
#: sum over projections of ceil(max connections from one pre neuron x spikes_per_second x pre atoms).
SPLIT_CORES_BELOW_TICK_MS = 1.0
SYNAPSES_PER_CORE_PER_SECOND = 13_000_000
#: at most this many synapse cores per neuron core: 18 cores - (SCAMP + monitor + the neuron core).
MAX_SYNAPSE_CORES = CORES_PER_CHIP - 3
