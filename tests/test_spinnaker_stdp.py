"""sPyNNaker 1!7.4.1 STDP on the spinnaker emulator profile, against the published integer rules.

Independent facts used here:

* ``docs/reference/spinnaker.md`` §3.2-§3.3 (the deferred update, s4.11 traces, ``mul16`` / ``mulaf``,
  16-event post history with the t = 0 sentinel, write-back ``w >> shift``), re-implemented below
  as a small list-based Python model (:class:`RefStdp`) that shares no code with the emulator
  (window by filtering, not by pointer walk; plain Python ints);
* sPyNNaker's own host code where it is installed (``get_exp_lut_array``, the weight
  dependences' ``write_parameters``, ``DataType.S1615``);
* a few weights worked out by hand in the comments.

Post spikes are made by a strong static "drive" input into an ``IF_curr_exp`` neuron with a 1 ms
synapse (drive at tick t -> post spike at t + 1); the test asserts those ticks before using them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from neurocompile.errors import ParameterError, RangeError, UnsupportedError
from neurocompile.learning import hebbian, rstdp, stdp_pair, stdp_triplet
from neurocompile.program import Program
from neurocompile.targets.spinnaker import learning
from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

M32 = 0xFFFFFFFF
SHIFT = 4  # exc ring-buffer shift of the post population: w16 << 4 is s16.15, 1 nA = 2048 w16
PROJ = "pre->post:exc"
pytestmark = pytest.mark.filterwarnings("ignore:.*saturated at 0xFFFF:RuntimeWarning")  # the strong drive


# ----------------------------------------------------------------------------- independent model
def i16(x: int) -> int:
    x &= 0xFFFF
    return x - 0x10000 if x & 0x8000 else x


def w32(x: int) -> int:
    x &= M32
    return x - (1 << 32) if x & 0x80000000 else x


def mul16(a: int, b: int) -> int:  # __smulbb(a, b) >> 11
    return (i16(a) * i16(b)) >> 11


def mulaf(acc: int, trace: int) -> int:  # accum * kbits(trace << 4)
    return w32((acc * w32(trace << 4)) >> 15)


def mulk(a: int, b: int) -> int:  # accum * accum
    return w32((a * b) >> 15)


def s1615(x: float) -> int:  # round half even of x * 2^15 (values used here are exact decimals)
    return int(round(float(x) * 32768))


def host_lut(tick: float, tau: float, shift: int = 0) -> list[int]:
    lam = tick / tau
    n = 2 * math.ceil(math.log(2048) / lam / 2**shift / 2)
    return [int(math.floor(math.exp(-(i * 2**shift) * lam) * 2048)) for i in range(n)]


def look(lut: list[int], shift: int, dt: int) -> int:
    i = (dt & M32) >> shift
    return lut[i] if i < len(lut) else 0


class RefStdp:
    """One STDP projection into one post population, event by event (spec-level model)."""

    def __init__(
        self,
        block: dict,
        tick: float,
        pre: list[int],
        post: list[int],
        delays: list[int],
        w16: list[int],
        shift: int,
        n_post: int,
        max_events: int | None = 16,
    ):
        self.b, self.tick, self.shift = block, tick, shift
        self.pre, self.post, self.d = list(pre), list(post), list(delays)
        self.w = list(w16)
        self.max_events = max_events
        self.hist = [[(0, 0, 0)] for _ in range(n_post)]  # (t, o1, o2); the t = 0 sentinel first
        self.rows: dict[int, tuple[int, int, int]] = {}  # pre -> (t, r1, r2); header starts at 0
        self.lp, self.lm = host_lut(tick, block["tau_plus"]), host_lut(tick, block["tau_minus"])
        self.triplet = block["timing"] == "pfister_triplet"
        if self.triplet:
            self.lx, self.ly = host_lut(tick, block["tau_x"], 2), host_lut(tick, block["tau_y"], 2)
        wd, g = block["weight"], 1.0
        self.wmin, self.wmax = s1615(block["w_min"] * g), s1615(block["w_max"] * g)
        if wd == "additive":
            self.ap, self.am, self.a3p, self.a3m = s1615(block["A_plus"]), s1615(block["A_minus"]), 0, 0
        elif wd == "multiplicative":
            self.ap, self.am, self.a3p, self.a3m = s1615(block["A_plus"]), s1615(block["A_minus"]), 0, 0
        else:
            wm = block["w_max"]
            self.ap, self.am = s1615(block["A_plus"] * wm), s1615(block["A_minus"] * wm)
            self.a3p, self.a3m = s1615(block["A3_plus"] * wm), s1615(block["A3_minus"] * wm)

    def post_spike(self, n: int, t: int) -> None:
        lt, lo1, lo2 = self.hist[n][-1]
        o1 = i16(mul16(lo1, look(self.lm, 0, t - lt)) + 2048)
        o2 = 0
        if self.triplet and lt != 0:
            o2 = i16(mul16(lo2 + 2048, look(self.ly, 2, t - lt)))
        self.hist[n].append((t, o1, o2))
        if self.max_events is not None and len(self.hist[n]) > self.max_events:
            del self.hist[n][1]  # drop the oldest real event, keep the sentinel

    def pre_spike(self, j: int, tp: int) -> None:
        lt, lr1, lr2 = self.rows.get(j, (0, 0, 0))
        r1 = i16(mul16(lr1, look(self.lp, 0, tp - lt)) + 2048)
        r2 = 0
        if self.triplet and lt != 0:
            r2 = i16(mul16(lr2 + 2048, look(self.lx, 2, tp - lt)))
        self.rows[j] = (tp, r1, r2)
        wd = self.b["weight"]
        for q in range(len(self.pre)):
            if self.pre[q] != j:
                continue
            n, dd = self.post[q], self.d[q]
            w = self.w[q] << self.shift
            begin, end = max(lt - dd, 0), max(tp - dd, 0)
            h = self.hist[n]
            window = [e for e in h[1:] if begin < e[0] <= end]
            prev_i = max(i for i, e in enumerate(h) if e[0] <= begin)
            prev = h[prev_i] if prev_i != 0 else None
            for e in window:
                dt = (e[0] + dd - lt) & M32
                if dt:
                    dr1 = mul16(lr1, look(self.lp, 0, dt))
                    if wd == "multiplicative":
                        w = w32(w + mulaf(mulk(w32(self.wmax - w), self.ap), dr1))
                    else:
                        w = w32(w + mulaf(self.ap, dr1))
                        if wd == "additive_triplet":
                            w = w32(w + mulaf(self.a3p, mul16(dr1, e[2])))
                        w = min(w, self.wmax)
                prev = e
            if prev is not None:  # no zero test: timing_apply_pre_spike has none (7.4.1 binary: LUT-(0))
                dt = (tp - (prev[0] + dd)) & M32
                do1 = mul16(prev[1], look(self.lm, 0, dt))
                if wd == "multiplicative":
                    w = w32(w - mulaf(mulk(w32(w - self.wmin), self.am), do1))
                else:
                    w = w32(w - mulaf(self.am, do1))
                    if wd == "additive_triplet":
                        w = w32(w - mulaf(self.a3m, mul16(do1, r2)))
                    w = max(w, self.wmin)
            self.w[q] = (w >> self.shift) & 0xFFFF

    def run(self, pre_spikes: np.ndarray, post_spikes: np.ndarray) -> np.ndarray:
        """``pre_spikes`` (T, n_pre), ``post_spikes`` (T, n_post) -> weights after each tick (T, n_syn)."""
        out = []
        for t in range(pre_spikes.shape[0]):
            for n in np.nonzero(post_spikes[t])[0]:
                self.post_spike(int(n), t)  # post events of tick t come first
            for j in np.nonzero(pre_spikes[t])[0]:
                self.pre_spike(int(j), t)
            out.append(list(self.w))
        return np.asarray(out, dtype=np.int64)


# ----------------------------------------------------------------------------- helpers
PAIR_ADD = dict(
    timing="spike_pair",
    weight="additive",
    tau_plus=20.0,
    tau_minus=20.0,
    A_plus=0.05,
    A_minus=0.06,
    w_min=0.0,
    w_max=1.5,
)


def network(
    block: dict,
    *,
    n_pre: int = 1,
    n_post: int = 1,
    pre_idx=(0,),
    post_idx=(0,),
    w16=(1000,),
    delays=(1,),
    tick: float = 1.0,
    drive_w16: int = 65535,
) -> Program:
    b = SpiNNakerBuilder(tick)
    b.spike_source("pre", n_pre)
    b.spike_source("drive", n_post)
    # IF_curr_exp with a fast synapse: a drive spike at t gives one post spike at t + 1
    b.if_curr_exp("post", n_post, ring_buffer_shifts=[SHIFT, 0], tau_syn_E=1.0, tau_refrac=1.0)
    b.from_list(
        "drive", "post", pre_idx=np.arange(n_post), post_idx=np.arange(n_post), w16=[drive_w16] * n_post
    )
    b.stdp(
        "pre",
        "post",
        pre_idx=list(pre_idx),
        post_idx=list(post_idx),
        w16=list(w16),
        delays=list(delays),
        plasticity=block,
        name=PROJ,
    )
    return b.build({"out": ("post", "spikes")})


def run(prog: Program, pre: np.ndarray, drive: np.ndarray):
    res = prog.run({"pre": pre, "drive": drive}, record=[("post", "spikes"), (PROJ, "weights")])
    return res


def trains(T: int, pre_ticks, drive_ticks, n_pre: int = 1, n_post: int = 1):
    pre = np.zeros((1, T, n_pre), np.uint8)
    drive = np.zeros((1, T, n_post), np.uint8)
    for t in pre_ticks:
        pre[0, t, 0] = 1
    for t in drive_ticks:
        drive[0, t, 0] = 1
    return pre, drive


def check_against_reference(prog: Program, pre: np.ndarray, drive: np.ndarray, max_events: int | None = 16):
    res = run(prog, pre, drive)
    q = prog.projections[PROJ].params
    post_spk = res.recordings["post.spikes"].reshape(pre.shape[0], pre.shape[1], -1)
    traj = res.recordings[PROJ + ".weights_t"]
    for b in range(pre.shape[0]):
        ref = RefStdp(
            dict(q["plasticity"]),
            prog.semantics["tick_ms"],
            q["pre"].tolist(),
            q["post"].tolist(),
            q["delays"].tolist(),
            q["w16"].tolist(),
            SHIFT,
            prog.populations["post"].size,
            max_events,
        )
        want = ref.run(pre[b], post_spk[b])
        bad = np.argwhere(traj[b] != want)
        assert not bad.size, (
            f"sample {b}: first mismatch at (tick, synapse) {bad[0].tolist()}: "
            f"emulator {traj[b][tuple(bad[0])]} vs reference {want[tuple(bad[0])]}"
        )
    assert np.array_equal(res.recordings[PROJ + ".weights"], traj[:, -1])
    return res, traj


# ----------------------------------------------------------------------------- host facts
def test_lut_matches_sPyNNaker_host_and_reference_note():
    # docs/reference/spinnaker.md §3.2: tau = 16.7 ms at 1 ms gives 128 entries 2048, 1928, 1816, ...
    lut = learning.exp_lut(1.0, 16.7)
    assert lut.size == 128 and lut[:3].tolist() == [2048, 1928, 1816]
    for tick, tau, sh in [(1.0, 20.0, 0), (0.1, 20.0, 0), (1.0, 16.7, 2), (0.1, 101.0, 2), (1.0, 3.0, 0)]:
        assert learning.exp_lut(tick, tau, sh).tolist() == host_lut(tick, tau, sh), (tick, tau, sh)
    common = pytest.importorskip("spynnaker.pyNN.models.neuron.plasticity.stdp.common")
    for tick, tau, sh in [(1.0, 20.0, 0), (0.1, 20.0, 0), (1.0, 16.7, 2), (0.1, 7.3, 2), (1.0, 250.0, 0)]:
        words = common.get_exp_lut_array(tick, tau, sh)
        half = words.view(np.uint16)
        assert int(half[0]) == learning.exp_lut(tick, tau, sh).size and int(half[1]) == sh
        assert half[2 : 2 + half[0]].astype(np.int64).tolist() == learning.exp_lut(tick, tau, sh).tolist()


class _Spec:
    """Collects what a weight dependence's ``write_parameters`` writes, as sPyNNaker encodes it."""

    def __init__(self):
        self.ints = []

    def write_value(self, data, data_type):
        self.ints.append(int(data_type.encode_as_int(data)))


@pytest.mark.parametrize("weight", ["additive", "multiplicative", "additive_triplet"])
def test_weight_dependence_integers_equal_sPyNNakers_write_parameters(weight):
    wd_mod = pytest.importorskip("spynnaker.pyNN.models.neuron.plasticity.stdp.weight_dependence")
    block = dict(PAIR_ADD, weight=weight, A_plus=0.013, A_minus=0.0171, w_min=0.1, w_max=2.7)
    if weight == "additive_triplet":
        block.update(timing="pfister_triplet", tau_x=101.0, tau_y=125.0, A3_plus=0.0062, A3_minus=0.0003)
        wd = wd_mod.WeightDependenceAdditiveTriplet(w_min=0.1, w_max=2.7, A3_plus=0.0062, A3_minus=0.0003)
    elif weight == "additive":
        wd = wd_mod.WeightDependenceAdditive(w_min=0.1, w_max=2.7)
    else:
        wd = wd_mod.WeightDependenceMultiplicative(w_min=0.1, w_max=2.7)
    wd.set_a_plus_a_minus(0.013, 0.0171)
    sp = _Spec()
    wd.write_parameters(sp, 1.0, np.array([8192.0]), 2 if weight == "additive_triplet" else 1)
    c = learning.stdp_constants(block, 1.0)
    mine = [c.w_min, c.w_max, c.a2_plus, c.a2_minus] + (
        [c.a3_plus, c.a3_minus] if weight == "additive_triplet" else []
    )
    assert mine == sp.ints


# ----------------------------------------------------------------------------- hand-worked pair cases
def test_potentiation_hand_worked():
    # pre 5, post 9 (drive 8), pre 10. tau+ = tau- = 20 ms, A+ = 0.05 nA, shift 4,
    # w16 = 1000 -> w = 16000 (s16.15)
    # pre@5: first spike, r = 0*LUT(5) + 2048 = 2048; window (0, 4] empty, prev = sentinel -> w stays 1000
    # post@9: o = 2048
    # pre@10: window (4, 9] = {9}: dt = 9 + 1 - 5 = 5, LUT(5) = floor(exp(-0.25) * 2048) = 1594,
    #   mul16(2048, 1594) = 1594, A+ = s1615(0.05) = 1638, mulaf = (1638 * (1594 << 4)) >> 15 = 1274
    #   w = 16000 + 1274 = 17274; then depression by post@9 with dt = 10 - (9 + 1) = 0: sPyNNaker 7.4.1
    #   does not skip it (timing_apply_pre_spike has no zero test; the pair binary neither, see
    #   docs/targets/spinnaker.md "GCC fixed-point check"): LUT(0) = 2048, mul16(2048, 2048) = 2048,
    #   A- = s1615(0.06) = 1966, mulaf = (1966 * (2048 << 4)) >> 15 = 1966; w = 17274 - 1966 = 15308,
    #   w16 = 15308 >> 4 = 956
    prog = network(PAIR_ADD)
    pre, drive = trains(14, [5, 10], [8])
    res, traj = check_against_reference(prog, pre, drive)
    assert np.nonzero(res.recordings["post.spikes"][0, :, 0])[0].tolist() == [9]
    assert traj[0, :, 0].tolist() == [1000] * 10 + [956] * 4


def test_depression_hand_worked():
    # post 3 (drive 2), pre 10 (first pre): window (0, 9] = {3}: dt = 3 + 1 - 0 = 4, but r_last = 0 -> +0
    # (then min(w, w_max), no change); prev = post@3: dt = 10 - 4 = 6, LUT(6) = floor(exp(-0.3)*2048) = 1517,
    # mul16(2048, 1517) = 1517, A- = s1615(0.06) = 1966, mulaf = (1966 * (1517 << 4)) >> 15 = 1456
    # w = 16000 - 1456 = 14544 -> w16 = 909
    prog = network(PAIR_ADD)
    pre, drive = trains(12, [10], [2])
    res, traj = check_against_reference(prog, pre, drive)
    assert np.nonzero(res.recordings["post.spikes"][0, :, 0])[0].tolist() == [3]
    assert traj[0, 9, 0] == 1000 and traj[0, 10, 0] == 909


def test_both_terms_hand_worked():
    # as the potentiation case but the second pre at 20: potentiation +1274 (w = 17274), then depression
    # with dt = 20 - 10 = 10: LUT(10) = floor(exp(-0.5)*2048) = 1242, mulaf(1966, 1242) = 1192
    # w = 17274 - 1192 = 16082 -> w16 = 1005
    prog = network(PAIR_ADD)
    pre, drive = trains(22, [5, 20], [8])
    _, traj = check_against_reference(prog, pre, drive)
    assert traj[0, 20, 0] == 1005


def test_bounds_w_max_and_w_min():
    # big amplitudes: potentiation clamps at w_max = 0.6 nA
    # (w16 = 0.6 * 2048 = 1228.8 -> s1615 19661 >> 4 = 1228),
    # depression clamps at w_min = 0.25 nA (s1615 8192 >> 4 = 512)
    pre, drive = trains(40, [5, 10, 30], [8, 20])
    # pre@10: +big, clamped at w_max = 19661, then post@9 depresses with dt = 0 (LUT 2048) by
    # mulaf(s1615(1e-4) = 3, 2048) = 3: 19658 >> 4 = 1228
    prog = network(dict(PAIR_ADD, A_plus=5.0, A_minus=1e-4, w_min=0.25, w_max=0.6))
    _, traj = check_against_reference(prog, pre, drive)
    assert traj[0, 10, 0] == 1228
    # the same with A- = 5: the dt = 0 depression clamps at w_min at once; pre@30 (window {21}): +, clamp,
    # then depression to w_min
    prog = network(dict(PAIR_ADD, A_plus=5.0, A_minus=5.0, w_min=0.25, w_max=0.6))
    _, traj = check_against_reference(prog, pre, drive)
    w = traj[0, :, 0]
    assert w[10] == 512 and w[30] == 512
    assert w.max() == 1000 and w[10:].max() == 512


def test_post_history_overflow_drops_oldest_events():
    # 20 post spikes (every 2 ticks) between two pre spikes: only the 15 newest stay beside the sentinel,
    # so the oldest 5 never potentiate, and the depression still uses the newest event
    drive_ticks = list(range(4, 44, 2))  # post spikes at 5, 7, ..., 43
    prog = network(dict(PAIR_ADD, A_plus=0.02, A_minus=0.01, w_max=3.0))
    pre, drive = trains(50, [2, 46], drive_ticks)
    res, traj = check_against_reference(prog, pre, drive, max_events=16)
    assert int(res.recordings["post.spikes"].sum()) == 20
    unbounded = RefStdp(
        dict(prog.projections[PROJ].params["plasticity"]),
        1.0,
        [0],
        [0],
        [1],
        [1000],
        SHIFT,
        1,
        max_events=None,
    ).run(pre[0], res.recordings["post.spikes"][0].reshape(50, 1))
    assert unbounded[-1, 0] != traj[0, -1, 0], "the overflow case must differ from an unbounded history"
    # the dropped events were early (large dt -> small LUT) but not zero: bounded history potentiates less
    assert traj[0, -1, 0] < unbounded[-1, 0]


def test_multiplicative_hand_worked():
    # multiplicative, A+ = 0.5, A- = 0.25, w_min = 0, w_max = 1.5 nA (49152): pre 5, post 9, pre 10
    # potentiation: scale = mul_k(49152 - 16000, s1615(0.5) = 16384) = (33152 * 16384) >> 15 = 16576,
    #   mulaf(16576, 1594) = (16576 * 25504) >> 15 = 12901 -> w = 28901;
    # depression by post@9 at dt = 0 (LUT 2048): scale = mul_k(28901 - 0, s1615(0.25) = 8192) = 7225,
    #   mulaf(7225, 2048) = 7225 -> w = 21676 -> w16 = 1354
    block = dict(PAIR_ADD, weight="multiplicative", A_plus=0.5, A_minus=0.25)
    prog = network(block)
    pre, drive = trains(14, [5, 10], [8])
    _, traj = check_against_reference(prog, pre, drive)
    assert traj[0, 10, 0] == 1354


def test_triplet_hand_worked_and_reference():
    # Pfister: r2 / o2 are 0 for the first spike; post 9 and 11 -> o2 at 11 = mul16(0 + 2048, LUTy(2)),
    # LUTy has shift 2: index 2 >> 2 = 0 -> 2048, so o2 = 2048. pre 5, then pre 12:
    # window (4, 11] = {9, 11}: r1d(9) = LUT+(5) = 1594 (tau+ 20): pair part mulaf(A2+, 1594), triplet
    # part mul16(1594, o2=0) = 0; r1d(11) = LUT+(7) = floor(exp(-0.35)*2048) = 1443,
    # triplet mul16(1443, 2048) = 1443
    block = dict(
        timing="pfister_triplet",
        weight="additive_triplet",
        tau_plus=20.0,
        tau_minus=20.0,
        tau_x=40.0,
        tau_y=40.0,
        A_plus=0.02,
        A_minus=0.02,
        A3_plus=0.01,
        A3_minus=0.005,
        w_min=0.0,
        w_max=2.0,
    )
    prog = network(block)
    pre, drive = trains(16, [5, 12], [8, 10])
    res, traj = check_against_reference(prog, pre, drive)
    assert np.nonzero(res.recordings["post.spikes"][0, :, 0])[0].tolist() == [9, 11]
    c = learning.stdp_constants(block, 1.0)
    assert c.a2_plus == s1615(0.02 * 2.0) == 1311 and c.a3_plus == s1615(0.01 * 2.0) == 655
    # w = 16000 + mulaf(1311,1594) + mulaf(1311,1443) + mulaf(655,1443)  (events 9 then 11, clamped at w_max)
    w = 16000 + ((1311 * (1594 << 4)) >> 15) + 0
    w = w + ((1311 * (1443 << 4)) >> 15) + ((655 * (1443 << 4)) >> 15)
    # depression with prev = post@11 at dt = 12 - 12 = 0 (applied, LUT-(0) = 2048): o1(11) = mul16(2048,
    # LUT-(2) = 1853) + 2048 = 3901; r2(12) = mul16(0 + 2048, LUTx(7 >> 2 = 1) = 1853) = 1853;
    # w -= mulaf(A2-, 3901) + mulaf(A3-, mul16(3901, 1853))
    assert c.a2_minus == s1615(0.02 * 2.0) == 1311 and c.a3_minus == s1615(0.005 * 2.0) == 328
    o1, r2 = 1853 + 2048, 1853
    w = w - ((1311 * (o1 << 4)) >> 15) - ((328 * (((o1 * r2) >> 11) << 4)) >> 15)
    assert traj[0, 12, 0] == w >> SHIFT


@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("rule", ["pair_add", "pair_mult", "triplet"])
def test_random_trains_every_tick_equal_the_reference(seed, rule):
    rng = np.random.default_rng(seed)
    n_pre, n_post, T = 6, 3, 300
    if rule == "pair_add":
        block = dict(
            PAIR_ADD,
            A_plus=float(rng.uniform(0, 0.3)),
            A_minus=float(rng.uniform(0, 0.3)),
            tau_plus=float(rng.uniform(5, 40)),
            tau_minus=float(rng.uniform(5, 40)),
            w_max=2.0,
            w_min=0.1,
        )
    elif rule == "pair_mult":
        block = dict(
            PAIR_ADD,
            weight="multiplicative",
            A_plus=float(rng.uniform(0, 1)),
            A_minus=float(rng.uniform(0, 1)),
            w_max=2.0,
            w_min=0.1,
        )
    else:
        block = dict(
            timing="pfister_triplet",
            weight="additive_triplet",
            tau_plus=16.8,
            tau_minus=33.7,
            tau_x=101.0,
            tau_y=125.0,
            A_plus=float(rng.uniform(0, 0.1)),
            A_minus=float(rng.uniform(0, 0.1)),
            A3_plus=float(rng.uniform(0, 0.1)),
            A3_minus=float(rng.uniform(0, 0.05)),
            w_min=0.0,
            w_max=2.0,
        )
    pre_idx = np.repeat(np.arange(n_pre), n_post)
    post_idx = np.tile(np.arange(n_post), n_pre)
    m = pre_idx.size
    w16 = rng.integers(0, 4000, m)
    delays = rng.integers(1, 8, m)
    prog = network(
        block,
        n_pre=n_pre,
        n_post=n_post,
        pre_idx=pre_idx,
        post_idx=post_idx,
        w16=w16,
        delays=delays,
        drive_w16=65535,
    )
    batch = 2
    pre = (rng.random((batch, T, n_pre)) < 0.08).astype(np.uint8)
    drive = (rng.random((batch, T, n_post)) < 0.15).astype(np.uint8)
    res, traj = check_against_reference(prog, pre, drive)
    assert np.any(traj[:, -1] != w16), f"seed {seed}: nothing learned"
    assert int(res.recordings["post.spikes"].sum()) > 20, f"seed {seed}: too few post spikes"


def test_zero_learning_equals_the_static_kernel():
    """A = 0 and bounds that never bind: the STDP kernel must reproduce the static kernel bit for bit."""
    rng = np.random.default_rng(7)
    n_pre, n_post, T = 5, 4, 200
    pre_idx = np.repeat(np.arange(n_pre), n_post)
    post_idx = np.tile(np.arange(n_post), n_pre)
    w16 = rng.integers(1, 30000, pre_idx.size)
    delays = rng.integers(1, 6, pre_idx.size)
    block = dict(PAIR_ADD, A_plus=0.0, A_minus=0.0, w_min=0.0, w_max=16.0)
    outs = []
    for kind in ("stdp", "from_list"):
        b = SpiNNakerBuilder(1.0)
        b.spike_source("pre", n_pre)
        b.if_curr_exp("post", n_post, ring_buffer_shifts=[SHIFT, 0], tau_refrac=2.0)
        kw = dict(pre_idx=pre_idx, post_idx=post_idx, w16=w16, delays=delays, name=PROJ)
        b.stdp("pre", "post", plasticity=block, **kw) if kind == "stdp" else b.from_list("pre", "post", **kw)
        prog = b.build({"out": ("post", "spikes")})
        x = (rng.random((3, T, n_pre)) < 0.2).astype(np.uint8) if not outs else outs[0][2]
        r = prog.run({"pre": x}, record=[("post", "v"), ("post", "spikes")])
        outs.append((r.recordings["post.v"], r.recordings["post.spikes"], x))
    assert np.array_equal(outs[0][0], outs[1][0]) and np.array_equal(outs[0][1], outs[1][1])
    assert outs[0][1].sum() > 10


def test_learned_weight_is_the_one_delivered():
    """The weight written back at the pre spike is what reaches the ring buffer: the V change one tick
    after delivery grows with the updated weight, so the STDP run differs from a static
    run with the old weight exactly from that tick on."""
    prog = network(dict(PAIR_ADD, A_plus=1.0, A_minus=0.0, w_max=6.0), w16=(2000,), delays=(3,))
    pre, drive = trains(30, [5, 12], [8])
    r1 = prog.run({"pre": pre, "drive": drive}, record=[("post", "v"), (PROJ, "weights")])
    assert r1.recordings[PROJ + ".weights"][0, 0] > 2000
    static = Program.from_bytes(prog.to_bytes())
    q = static.projections[PROJ]
    q.kind = "from_list"
    del q.params["plasticity"]
    r0 = static.run({"pre": pre, "drive": drive}, record=[("post", "v")])
    v1, v0 = r1.recordings["post.v"][0, :, 0], r0.recordings["post.v"][0, :, 0]
    diff = np.nonzero(v1 != v0)[0]
    # second pre spike at 12, delay 3: delivered in tick 15, visible in the recorded v of tick 16
    assert diff.size and diff[0] == 16 and v1[16] > v0[16]


def test_batch_samples_learn_independently_and_save_load():
    prog = network(PAIR_ADD)
    prog2 = Program.from_bytes(prog.to_bytes())
    assert prog2.projections[PROJ].kind == "stdp" and prog2.projections[PROJ].params["plasticity"] == PAIR_ADD
    pre = np.zeros((3, 14, 1), np.uint8)
    drive = np.zeros((3, 14, 1), np.uint8)
    pre[:, [5, 10], 0] = 1
    drive[0, 8, 0] = 1  # sample 0: potentiation then the dt = 0 depression (956, hand-worked above)
    drive[1, 2, 0] = 1  # sample 1: post before both pre spikes
    res = prog2.run({"pre": pre, "drive": drive})
    w = res.recordings[PROJ + ".weights"]
    assert w.shape == (3, 1) and w[0, 0] == 956 and w[2, 0] == 1000 and w[1, 0] < 1000


# ----------------------------------------------------------------------------- mapping, validation, check
def test_map_library_rules():
    m = learning.map_rule(
        stdp_pair(A_plus=0.1, A_minus=0.12, tau_plus=10, tau_minus=20, w_max=2.0), tick_ms=0.1
    )
    # steps -> ms (x tick), additive A absolute (not x w_max), open w_min -> 0
    assert m.plasticity == dict(
        timing="spike_pair",
        weight="additive",
        tau_plus=1.0,
        tau_minus=2.0,
        A_plus=0.1,
        A_minus=0.12,
        w_min=0.0,
        w_max=2.0,
    )
    m = learning.map_rule(
        stdp_pair(
            A_plus=0.1,
            A_minus=0.12,
            tau_plus=10,
            tau_minus=20,
            weight_dependence="multiplicative",
            w_min=0.0,
            w_max=1.0,
        ),
        tick_ms=1.0,
        weight_scale=2.0,
    )
    assert m.plasticity["A_plus"] == 0.1 and m.plasticity["w_max"] == 2.0  # rates unscaled, bounds in nA
    m = learning.map_rule(
        stdp_triplet(
            A2_plus=0.04,
            A2_minus=0.02,
            A3_plus=0.01,
            A3_minus=0.0,
            tau_plus=17,
            tau_minus=34,
            tau_x=101,
            tau_y=125,
            w_max=2.0,
        ),
        tick_ms=1.0,
    )
    c = learning.stdp_constants(m.plasticity, 1.0)
    assert c.a2_plus == s1615(0.04) and c.a3_plus == s1615(0.01)  # host re-multiplies by w_max
    m = learning.map_rule(stdp_pair(A_plus=0.1, A_minus=0.1, tau_plus=10, tau_minus=10), tick_ms=1.0, shift=3)
    assert m.plasticity["w_max"] == 65535 / 4096  # largest weight of shift 3
    with pytest.raises(UnsupportedError, match="7.4.1.*Neuromodulation.*broken"):
        learning.map_rule(
            rstdp(lr=0.1, A_plus=1, A_minus=1, tau_plus=10, tau_minus=10, tau_e=100), tick_ms=1.0
        )
    with pytest.raises(UnsupportedError, match="no sPyNNaker"):
        learning.map_rule(hebbian(eta=0.1, tau_pre=10, w_max=1.0), tick_ms=1.0)


def test_neuromodulation_and_rule_clashes_are_check_findings():
    rules = {
        "w1": rstdp(lr=0.1, A_plus=1, A_minus=1, tau_plus=10, tau_minus=10, tau_e=100),
        "w2": hebbian(eta=0.1, tau_pre=10, w_max=1.0),
        "w3": stdp_pair(A_plus=0.1, A_minus=0.1, tau_plus=10, tau_minus=10, w_max=1.0),
        "w4": stdp_pair(A_plus=0.2, A_minus=0.1, tau_plus=10, tau_minus=10, w_max=1.0),
    }
    f = learning.rule_findings(rules, post_of={"w3": "lif", "w4": "lif"})
    codes = {(c, n) for c, _, n, _ in f}
    assert ("spinnaker-neuromodulation-broken", "w1") in codes
    assert ("spinnaker-rule-no-binary", "w2") in codes
    assert ("spinnaker-rules-differ-per-population", "lif") in codes
    msg = [m for c, _, _, m in f if c == "spinnaker-neuromodulation-broken"][0]
    assert "1!7.4.1" in msg and "synapse_dynamics_neuromodulation.py" in msg
    # through the registered check rule, with a context carrying the rules
    from neurocompile.targets.spinnaker import rules as check_rules

    class G:
        nodes = {}
        edges = []

    class Ctx:
        graph = G()
        learning = {"w1": rules["w1"]}

    got = list(check_rules._learning(Ctx()))
    assert [x.code for x in got] == ["spinnaker-neuromodulation-broken"] and got[0].severity == "error"


def test_program_validation_refuses_what_spynnaker_cannot_run():
    with pytest.raises(UnsupportedError, match="no if_curr_exp binary"):
        b = SpiNNakerBuilder(1.0)
        b.spike_source("pre", 1)
        b.if_curr_exp("post", 1, ring_buffer_shifts=[4, 0])
        b.stdp(
            "pre",
            "post",
            pre_idx=[0],
            post_idx=[0],
            w16=[10],
            plasticity=dict(
                PAIR_ADD, timing="pfister_triplet", weight="multiplicative", tau_x=10.0, tau_y=10.0
            ),
        )
        b.build()
    with pytest.raises(ParameterError, match="one STDP rule per post population"):
        b = SpiNNakerBuilder(1.0)
        b.spike_source("pre", 2)
        b.if_curr_exp("post", 1, ring_buffer_shifts=[4, 4])
        b.stdp("pre", "post", pre_idx=[0], post_idx=[0], w16=[10], plasticity=PAIR_ADD)
        b.stdp(
            "pre",
            "post",
            pre_idx=[1],
            post_idx=[0],
            w16=[10],
            plasticity=dict(PAIR_ADD, A_plus=0.5),
            receptor="inhibitory",
        )
        b.build()
    with pytest.raises(RangeError, match="delay-extension"):
        network(PAIR_ADD, delays=(5000,))  # one-neuron core: 4096 slots
    with pytest.raises(RangeError, match="would wrap"):
        network(dict(PAIR_ADD, w_max=40.0))  # shift 4 holds at most 65535 / 2048 = 32 nA
    with pytest.raises(ParameterError, match="tau_plus"):
        network(dict(PAIR_ADD, tau_plus=0.0))


def test_unpinned_shift_counts_w_max_like_the_host():
    b = SpiNNakerBuilder(1.0)
    b.spike_source("pre", 4)
    b.if_curr_exp("post", 1)
    b.stdp(
        "pre",
        "post",
        pre_idx=[0, 1, 2, 3],
        post_idx=[0] * 4,
        weights=0.1,
        plasticity=dict(PAIR_ADD, w_max=5.0),
    )
    p = b.build()
    # host: max weight = max(0.1, w_max = 5.0) -> total 4 x 5 = 20 nA -> shift ceil(log2 20) = 5
    assert p.populations["post"].params["ring_buffer_shifts"][0] == 5


# ----------------------------------------------------------------------------- virtual board (real sPyNNaker)
@pytest.mark.spinnaker
def test_stdp_projections_map_on_the_virtual_board(tmp_path):
    """sPyNNaker 1!7.4.1 accepts the STDPMechanism of each binary with our parameters (pair additive,
    pair multiplicative, Pfister + additive triplet, and pair additive into IF_curr_delta), maps it, and
    ``Projection.get("weight")`` reads back the Program's initial w16 synapse for synapse."""
    board = pytest.importorskip("neurocompile.targets.spinnaker.board")
    if not board.spinnaker_available():
        pytest.skip("sPyNNaker 1!7.4.1 not installed")
    rng = np.random.default_rng(3)
    blocks = [
        PAIR_ADD,
        dict(PAIR_ADD, weight="multiplicative", A_plus=0.3, A_minus=0.2),
        dict(
            timing="pfister_triplet",
            weight="additive_triplet",
            tau_plus=16.8,
            tau_minus=33.7,
            tau_x=101.0,
            tau_y=125.0,
            A_plus=0.02,
            A_minus=0.03,
            A3_plus=0.01,
            A3_minus=0.002,
            w_min=0.0,
            w_max=2.0,
        ),
    ]
    progs = []
    for i, block in enumerate(blocks + [PAIR_ADD]):
        b = SpiNNakerBuilder(1.0)
        b.spike_source("pre", 20)
        if i < 3:
            b.if_curr_exp("post", 10, ring_buffer_shifts=[SHIFT, 2])
        else:
            b.if_curr_delta("post", 10, ring_buffer_shifts=[SHIFT, 2])
        pi, qi = np.nonzero(rng.random((20, 10)) < 0.4)
        b.stdp(
            "pre",
            "post",
            pre_idx=pi,
            post_idx=qi,
            w16=rng.integers(0, 3000, pi.size),
            delays=rng.integers(1, 10, pi.size),
            plasticity=block,
        )
        pi, qi = np.nonzero(rng.random((20, 10)) < 0.3)
        b.from_list(
            "pre", "post", pre_idx=pi, post_idx=qi, w16=rng.integers(1, 60000, pi.size), receptor="inhibitory"
        )
        progs.append(b.build({"out": ("post", "spikes")}))
    net, arrays = board.merged_network(progs, [None] * len(progs), 20)
    _, rb = board.run_worker(net, arrays)  # one sPyNNaker run: mapping + readback
    pchecks, schecks = board._check_readback(progs, net, arrays, rb)
    assert len(pchecks) == 8
    bad = [c.as_dict() for c in pchecks + schecks if not c.ok]
    assert not bad, bad
    # the binaries sPyNNaker chose for the post populations (bundle_run.readback)
    binaries = sorted(str(rb[k]) for k in rb if k.endswith(".binary"))
    assert binaries == [
        "IF_curr_delta_stdp_mad_pair_additive.aplx",
        "IF_curr_exp_stdp_mad_pair_additive.aplx",
        "IF_curr_exp_stdp_mad_pair_multiplicative.aplx",
        "IF_curr_exp_stdp_mad_pfister_triplet_additive.aplx",
    ], binaries


def test_plastic_delay_equal_to_the_ring_size_is_dropped_fast_and_reference_agree():
    """sPyNNaker 1!7.4.1 gives 'post' 2**ceil(log2 2) = 2 delay slots when its largest incoming delay
    is 2; the STDP binaries read the plastic delay 2 as 2 & 1 = 0 (spec.stdp_row_delay): its input
    never arrives (checked on the binaries: tests/test_spinnaker_binary.py test_f). Delay 3 (4 slots)
    is delivered. With post spikes, the fast and the reference kernels agree on V and weights."""
    from neurocompile.targets.spinnaker.emulator.run import run_program

    T = 40
    pre, drive = trains(T, [5, 20], [])
    v = {}
    for d in (2, 3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prog = network(PAIR_ADD, w16=(60000,), delays=(d,))
        assert any("spinnaker-stdp-delay-dropped" in str(w.message) for w in caught) == (d == 2)
        res = run_program(prog, {"pre": pre, "drive": drive}, record=[("post", "v")])
        v[d] = np.asarray(res.recordings["post.v"]).reshape(-1)
    assert np.all(v[2] == v[2][0])  # never delivered
    assert np.any(v[3] != v[3][0])  # delivered at 5 + 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = network(PAIR_ADD, w16=(30000,), delays=(2,))
    pre, drive = trains(T, [3, 9, 15, 22, 30], [4, 8, 14, 16, 25, 29])
    rec = [("post", "v"), ("post", "spikes"), (PROJ, "weights")]
    fast = run_program(prog, {"pre": pre, "drive": drive}, record=rec)
    ref = run_program(prog, {"pre": pre, "drive": drive}, record=rec, reference=True)
    for k in fast.recordings:
        assert np.array_equal(np.asarray(fast.recordings[k]), np.asarray(ref.recordings[k])), k
    assert not np.array_equal(np.asarray(fast.recordings[PROJ + ".weights"]), [30000])  # it learned
