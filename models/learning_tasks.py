"""Two learning tasks of the model zoo on the loihi2 target, built only from the public API
(``Loihi2Builder`` + the library rules of ``neurocompile.learning``).

(a) :func:`pattern_data` / :func:`pattern_program` - after Masquelier, Guyonneau & Thorpe (2008):
    ``n_aff`` (1000) Poisson afferents (probability ``p`` per step), a frozen ``length``-step
    segment of the same statistics is pasted in at random times (gaps drawn uniformly from
    ``gap`` steps); one LIF neuron learns to fire inside the pattern with :func:`pattern_rule`:
    pair STDP plus two homeostatic terms (issue 13, item 4), all Loihi 2 learning-engine products:

    * pair STDP with more potentiation than depression (A+ tau+ = 2 A- tau-): uncorrelated pre spikes
      gain weight in proportion to the afferent's rate. In this task the afferents that take part in
      the pattern fire more often than the others (the pattern replaces all afferents), so this
      favours them, where depression-dominated STDP depresses exactly them whenever the neuron has
      not yet locked on;
    * heterosynaptic depression: every post spike lowers every weight by ``depress`` (a ``y0``
      product without factors), which bounds the total weight and the rate: only afferents whose
      spikes precede the neuron's spikes gain in the end;
    * silence rescue: tag 2 (``d``) counts epochs of ``2^epoch_k`` steps since the last post spike
      (``dd = u - y0*d``); while it exceeds ``silence`` every weight rises by ``rescue`` per epoch
      (``dw += rescue/2*u + rescue/2*u*sgn(d - silence)``), so a neuron that fell silent comes back.

    The neuron starts above threshold (mean input ~1.3x ``vth``), so it fires in every presentation at
    first and the heterosynaptic term brings it down to the pattern.

    :data:`PATTERN_PLAIN_RULE` / :data:`PATTERN_PLAIN_NEURON` (``homeostasis=False``) are the
    earlier configuration: additive depression-dominated pair STDP alone, which locks on for a
    minority of seeds (the neuron falls silent, or fires only outside the pattern, first).
(b) :func:`choice_data` / :func:`choice_program` - reward-modulated STDP (``rstdp`` on a ``lif_3f``
    neuron): two input groups, one active per trial (random); a reward pulse follows every trial
    of the rewarded group. Eligibility is only built when the neuron fires, so the reward
    potentiates the rewarded group's synapses only after responses to it; the other group's
    weights stay near their start.

Everything is integer Loihi 2 arithmetic (EXCITATORY sign mode, weights 0..255). Knowingly
simplified: single neuron, no lateral inhibition, no refractory period or after-potential
(Masquelier's SRM has one); the pattern replaces all afferents during its presentations; the
reward is open loop (scheduled after every rewarded-group trial) - R-STDP makes it effective
only after responses. How many seeds of (a) learn is measured on evaluation seeds fixed before the
rule was tuned (:data:`PATTERN_EVAL_SEEDS`; ``docs/learning.md``, ``tests/test_learning_demos.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocompile.learning import LearningRule, rstdp, rule_from_strings, stdp_pair

# ---------------------------------------------------------------------- (a) pattern detection
PATTERN = dict(n_aff=1000, p=0.01, length=50, gap=(100, 250))
#: the neuron and rule of :func:`pattern_rule` (tuned on :data:`PATTERN_DEV_SEEDS` only)
PATTERN_NEURON = dict(du=4095, dv=256, vth=12000)
PATTERN_RULE = dict(
    A_plus=4.0, A_minus=1.0, tau_plus=17, tau_minus=34, depress=1.0, rescue=0.5, silence=64, epoch_k=4
)
#: the earlier configuration (``homeostasis=False``): additive pair STDP alone
PATTERN_PLAIN_NEURON = dict(du=4095, dv=256, vth=10000)
PATTERN_PLAIN_RULE = dict(A_plus=4.0, A_minus=3.0, tau_plus=17, tau_minus=34)
PATTERN_W0 = 100  # initial weights uniform in [w0/2, 3 w0/2]
#: Seeds of issue 13 (item 4), written down before any run of the homeostatic rule: the rule and its
#: parameters are tuned on the development seeds only; the evaluation seeds are run once, for the seed
#: table of docs/learning.md and the test that asks >= 9/10 of them to learn. A seed s draws the pattern
#: from s, the noise from 1000 + s (test noise 2000 + s), the initial weights from 100 + s and the
#: stochastic rounding from 7 + s, so the two sets share no random stream.
PATTERN_DEV_SEEDS = tuple(range(10))
PATTERN_EVAL_SEEDS = tuple(range(500, 510))


def pattern_data(
    pattern_seed: int,
    noise_seed: int,
    steps: int,
    *,
    n_aff: int = 1000,
    p: float = 0.01,
    length: int = 50,
    gap: tuple[int, int] = (100, 250),
) -> tuple[np.ndarray, np.ndarray]:
    """(spikes (steps, n_aff) int8, pattern start steps (0-based rows)). The pattern is drawn
    from ``pattern_seed`` (same for training and test data), noise and times from ``noise_seed``."""
    pat = np.random.default_rng(pattern_seed).random((length, n_aff)) < p
    rng = np.random.default_rng(noise_seed)
    x = rng.random((steps, n_aff)) < p
    starts = []
    t = int(rng.integers(*gap))
    while t + length < steps:
        x[t : t + length] = pat
        starts.append(t)
        t += length + int(rng.integers(*gap))
    return x.astype(np.int8), np.array(starts, np.int64)


def pattern_rule(
    *,
    A_plus: float,
    A_minus: float,
    tau_plus: float,
    tau_minus: float,
    depress: float,
    rescue: float,
    silence: int,
    epoch_k: int,
    trace_impulse: float = 16.0,
    name: str = "syn",
) -> LearningRule:
    """Pair STDP with heterosynaptic depression and a silence rescue (module docstring, (a)):

    ``dw = A+/I y0 x1 - A-/I x0 y1 - depress y0 + rescue/2 u + rescue/2 u sgn(d - silence)``,
    ``dd = u - y0 d`` with ``u`` = ``u<epoch_k>`` (every ``2^epoch_k`` steps at ``t_epoch`` 1).
    Tag 2 (``d``, clipped to 0..255 by the chip) counts the epochs since the neuron's last spike;
    ``sgn(d - silence)`` is -1 below the limit, so the two rescue products cancel there."""
    imp = float(trace_impulse)
    u = f"u{int(epoch_k)}"
    return rule_from_strings(
        dw=(
            f"{A_plus / imp}*y0*x1 - {A_minus / imp}*x0*y1 - {depress}*y0"
            f" + {rescue / 2}*{u} + {rescue / 2}*{u}*sgn(d - {int(silence)})"
        ),
        dd=f"1*{u} - 1*y0*d",
        traces={"x1": {"impulse": imp, "tau": tau_plus}, "y1": {"impulse": imp, "tau": tau_minus}},
        name=name,
        kind="pattern_homeostatic_stdp",
        params=dict(
            A_plus=A_plus,
            A_minus=A_minus,
            tau_plus=tau_plus,
            tau_minus=tau_minus,
            depress=depress,
            rescue=rescue,
            silence=silence,
            epoch_k=epoch_k,
            trace_impulse=imp,
        ),
    )


def pattern_program(
    seed: int,
    *,
    w0: int = PATTERN_W0,
    n_aff: int = 1000,
    rng_seed: int | None = None,
    homeostasis: bool = True,
    rule: LearningRule | None = None,
):
    """One LIF (``PATTERN_NEURON``) learning from ``n_aff`` afferents with :func:`pattern_rule`
    (``homeostasis=False``: ``PATTERN_PLAIN_NEURON`` and plain pair STDP; ``rule``: another rule).
    Initial weights uniform in [w0/2, 3 w0/2] drawn from ``100 + seed``."""
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    if rule is None:
        rule = pattern_rule(**PATTERN_RULE) if homeostasis else stdp_pair(**PATTERN_PLAIN_RULE, name="syn")
    b = Loihi2Builder()
    b.input("inp", n_aff)
    b.lif("out", 1, **(PATTERN_NEURON if homeostasis else PATTERN_PLAIN_NEURON))
    w = np.random.default_rng(100 + seed).integers(w0 // 2, w0 * 3 // 2 + 1, size=(1, n_aff))
    b.learning_dense(
        "inp",
        "out",
        w,
        rule,
        rng_seed=7 + seed if rng_seed is None else rng_seed,
        sign_mode=2,
        name="syn",
    )
    return b.build(outputs={"y": ("out", "spikes")})


@dataclass(frozen=True)
class PatternScore:
    presentations: int
    hit_rate: float  # fraction of presentations with >= 1 output spike inside
    false_alarms_per_1000: float  # output spikes per 1000 steps outside the pattern windows
    spikes: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def score_pattern(
    spikes: np.ndarray, starts: np.ndarray, length: int, lo: int = 0, hi: int | None = None, lag: int = 1
) -> PatternScore:
    """Output spike s[r] (row r = step r+1) counts for the presentation starting at row ``start``
    when ``start + lag <= r < start + length + lag`` (one step of synaptic delay)."""
    spikes = np.asarray(spikes).reshape(-1)
    hi = len(spikes) if hi is None else hi
    win = np.zeros(len(spikes), bool)
    hits = n = 0
    for s in starts:
        win[s + lag : s + length + lag] = True
        if s >= lo and s + length + lag <= hi:
            n += 1
            hits += bool(spikes[s + lag : s + length + lag].any())
    noise = ~win
    noise[:lo] = False
    noise[hi:] = False
    return PatternScore(
        n,
        hits / max(n, 1),
        float(spikes[noise].sum()) / max(int(noise.sum()), 1) * 1000,
        int(spikes[lo:hi].sum()),
    )


#: the issue's criterion of a detector: hits >= 90 % and < 1 false alarm per 1000 noise steps
DETECT_HITS, DETECT_FA = 0.9, 1.0


def detects(score: PatternScore) -> bool:
    return score.hit_rate >= DETECT_HITS and score.false_alarms_per_1000 < DETECT_FA


def lock_on_step(
    spikes: np.ndarray, starts: np.ndarray, length: int, *, block: int = 1000, tail: int = 10_000
) -> int | None:
    """The earliest multiple ``b`` of ``block`` from which the rest of the run (at least ``tail``
    steps) meets :func:`detects`; None if even the last ``tail`` steps do not."""
    n = np.asarray(spikes).size
    for b in range(0, n - tail + 1, block):
        if detects(score_pattern(spikes, starts, length, b, n)):
            return b
    return None


# ---------------------------------------------------------------------- (b) reward-modulated choice
CHOICE = dict(n_group=20, trial=80, on=30, p=0.1, reward_at=(30, 35), reward=64)
CHOICE_NEURON = dict(du=4095, dv=512, vth=1200)
CHOICE_RULE = dict(lr=0.125, A_plus=8.0, A_minus=8.0, tau_plus=5, tau_minus=5, tau_e=10)
CHOICE_W0 = 52


def choice_data(
    seed: int,
    n_trials: int,
    *,
    rewarded: int = 0,
    n_group: int = 20,
    trial: int = 80,
    on: int = 30,
    p: float = 0.1,
    reward_at: tuple[int, int] = (30, 35),
    reward: int = 64,
):
    """(spikes (T, 2 n_group) int8, reward (T, 1) int64, group per trial). Each trial: the chosen
    group fires (probability p per step) for ``on`` steps, then silence; trials of group
    ``rewarded`` get the reward payload in steps ``reward_at`` of the trial."""
    rng = np.random.default_rng(seed)
    T = n_trials * trial
    x = np.zeros((T, 2 * n_group), np.int8)
    r = np.zeros((T, 1), np.int64)
    which = rng.integers(0, 2, n_trials)
    for k, g in enumerate(which):
        t0 = k * trial
        x[t0 : t0 + on, g * n_group : (g + 1) * n_group] = rng.random((on, n_group)) < p
        if g == rewarded:
            r[t0 + reward_at[0] : t0 + reward_at[1]] = reward
    return x, r, which


def choice_program(seed: int, *, w0: int = CHOICE_W0, n_group: int = 20):
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    b = Loihi2Builder()
    b.input("inp", 2 * n_group)
    b.input("reward", 1, num_message_bits=8)
    rule = rstdp(**CHOICE_RULE, name="syn")
    b.lif_3f("out", 1, **CHOICE_NEURON, rule=rule, reward="reward")
    w = np.random.default_rng(1000 + seed).integers(w0 // 2, w0 * 3 // 2 + 1, size=(1, 2 * n_group))
    b.learning_dense("inp", "out", w, rule, rng_seed=11 + seed, sign_mode=2, name="syn")
    return b.build(outputs={"y": ("out", "spikes")})


@dataclass(frozen=True)
class ChoiceScore:
    trials: int
    rewarded_response: float  # fraction of rewarded-group trials with a response
    other_response: float  # fraction of other-group trials with a response
    correct: float  # respond to the rewarded group, stay silent for the other

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def score_choice(
    spikes: np.ndarray,
    which: np.ndarray,
    lo: int,
    hi: int,
    *,
    rewarded: int = 0,
    trial: int = 80,
    on: int = 30,
) -> ChoiceScore:
    """A trial's response: an output spike in rows ``[t0 + 1, t0 + on + 1]`` (one step of delay)."""
    spikes = np.asarray(spikes).reshape(-1)
    fired = np.array([spikes[k * trial + 1 : k * trial + on + 2].any() for k in range(len(which))])[lo:hi]
    w = which[lo:hi] == rewarded
    correct = np.where(w, fired, ~fired)
    return ChoiceScore(int(hi - lo), float(fired[w].mean()), float(fired[~w].mean()), float(correct.mean()))
