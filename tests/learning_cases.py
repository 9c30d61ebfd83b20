"""Random learning_dense Programs for the emulator-vs-Lava differential tests.

Rules are drawn as Lava rule strings directly (every term kind: x0/y0/u_k gates, one to three
trace factors, w/d/t factors with constants, sgn(w|d|t + c), x0/y0 as plain factors, dd/dt
targets), with t_epoch 1..8, all sign modes, fractional impulses and tau = 0.
"""

from __future__ import annotations

import numpy as np

from neurocompile.targets.loihi2.builder import Loihi2Builder

TRACES = ("x1", "x2", "y1", "y2", "y3")


def random_product(rng: np.random.Generator, dep: str) -> str:
    facs = []
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.integers(0, 5)
        if kind <= 2:
            facs.append(str(rng.choice(TRACES)))
        elif kind == 3:
            v, c = str(rng.choice(["w", "d", "t"])), int(rng.integers(-40, 41))
            facs.append(f"({v}{c:+d})" if c else v)
        else:
            v, c = str(rng.choice(["w", "d", "t"])), int(rng.integers(-8, 9))
            facs.append(f"sgn({v}{c:+d})" if c else f"sgn({v})")
    if rng.random() < 0.15:
        facs.append("y0" if dep == "x0" else "x0")
    m, e = int(rng.integers(1, 8)), int(rng.integers(-7, 4))
    return "*".join([f"{m}*2^{e}", dep] + facs)


def random_rule(rng: np.random.Generator) -> dict:
    k = int(rng.integers(0, 3))
    fields = {}
    for tgt in ("dw", "dd", "dt"):
        if tgt != "dw" and rng.random() < 0.5:
            fields[tgt] = ""
            continue
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            dep = str(rng.choice(["x0", "y0", f"u{k}"]))
            parts.append(("-" if rng.random() < 0.4 else "+") + random_product(rng, dep))
        s = "".join(parts)
        fields[tgt] = s[1:] if s.startswith("+") else s
    for tr in TRACES:
        fields[f"{tr}_impulse"] = (
            float(rng.integers(0, 40 * 256) / 256) if rng.random() < 0.6 else float(rng.integers(0, 40))
        )
        fields[f"{tr}_tau"] = 0.0 if rng.random() < 0.2 else float(rng.choice([2, 3.5, 5, 10, 20, 60]))
    fields["t_epoch"] = int(rng.integers(1, 9))
    fields["three_factor"] = 0
    return fields


def random_learning_program(seed: int, n_rules: int = 3, n_pre: int = 6, n_post: int = 3):
    """One Program: pre input -> several learning_dense (random rules) -> one LIF driven by its own input."""
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", n_pre)
    b.input("z", n_post)
    b.lif(
        "h",
        n_post,
        du=int(rng.integers(0, 4096)),
        dv=int(rng.integers(0, 600)),
        vth=int(rng.integers(20, 200)),
    )
    b.dense("z", "h", np.full((n_post, n_post), 0) + np.eye(n_post, dtype=int) * 200, sign_mode=2)
    names = []
    for r in range(n_rules):
        sm = int(rng.integers(1, 4))
        lo, hi = {1: (-256, 255), 2: (0, 255), 3: (-255, 0)}[sm]
        w = rng.integers(lo, hi + 1, (n_post, n_pre))
        name = f"ld{r}"
        b.learning_dense(
            "x",
            "h",
            w,
            random_rule(rng),
            rng_seed=int(rng.integers(0, 10000)),
            sign_mode=sm,
            weight_exp=-4,
            num_weight_bits=int(rng.integers(4, 9)),
            name=name,
            tag_1=rng.integers(-50, 51, (n_post, n_pre)),
            tag_2=rng.integers(0, 51, (n_post, n_pre)),
        )
        names.append(name)
    prog = b.build({"y": ("h", "spikes")})
    return prog, names


def random_inputs(seed: int, prog, steps: int) -> dict:
    rng = np.random.default_rng(seed + 10_000)
    n_pre = prog.populations["x"].size
    n_post = prog.populations["z"].size
    return {
        "x": (rng.random((1, steps, n_pre)) < 0.3).astype(np.int8),
        "z": (rng.random((1, steps, n_post)) < 0.25).astype(np.int8),
    }


# ------------------------------------------------------------------ three-factor rules (lif_3f)
# Graded third factor y2 (the post's reward input, clipped by the neuron to [0, 127]), y1/y3 the
# lif_3f's own spike traces, tags as eligibility traces (tag_1 't', tag_2 'd' built by x0/y0
# products and decayed by u products, read by the weight update with y2), w/d/t factors with
# constants and sgn, t_epoch 1..4, u_k with k 0..2, fractional x impulses.

ELIG = ("t", "d")


def random_three_factor_rule(rng: np.random.Generator) -> dict:
    k = int(rng.integers(0, 3))
    u = f"u{k}"
    fields = {"dw": "", "dd": "", "dt": ""}

    def term(dep: str, facs: list[str], sign: str | None = None) -> str:
        m, e = int(rng.integers(1, 8)), int(rng.integers(-7, 3))
        sg = sign or ("-" if rng.random() < 0.4 else "+")
        return sg + "*".join([f"{m}*2^{e}", dep] + facs)

    def add(tgt: str, s: str) -> None:
        fields[tgt] += s

    # eligibility tags: STDP-like build-up at spikes, decay every (u) epoch
    for tag, tgt in (("t", "dt"), ("d", "dd")):
        if tag == "t" or rng.random() < 0.6:
            add(tgt, term("y0", [str(rng.choice(["x1", "x2"]))], "+"))
            add(tgt, term("x0", [str(rng.choice(["y1", "y3"]))], "-"))
            if rng.random() < 0.8:
                add(tgt, term(u, [tag], "-"))
    # the weight: eligibility x graded third factor, sometimes a signed y2 - y3 learning signal
    elig = [e for e in ELIG if fields["dt" if e == "t" else "dd"]]
    for e in elig:
        add("dw", term(u, [e, "y2"]))
        if rng.random() < 0.3:
            add("dw", term(u, [e, "y3"], "-"))
    # extra random terms on every target (any dependency, traces, w/d/t with constants and sgn)
    for tgt in ("dw", "dd", "dt"):
        if tgt != "dw" and not fields[tgt]:
            continue
        for _ in range(int(rng.integers(0, 3))):
            dep = str(rng.choice(["x0", "y0", u]))
            add(tgt, ("-" if rng.random() < 0.4 else "+") + random_product(rng, dep))
    for tgt in fields:
        s = fields[tgt]
        fields[tgt] = s[1:] if s.startswith("+") else s
    for tr in ("x1", "x2"):
        fields[f"{tr}_impulse"] = (
            float(rng.integers(0, 40 * 256) / 256) if rng.random() < 0.6 else float(rng.integers(0, 40))
        )
        fields[f"{tr}_tau"] = 0.0 if rng.random() < 0.15 else float(rng.choice([2, 3.5, 5, 10, 20]))
    for tr in ("y1", "y2", "y3"):  # three-factor: the post traces come from the lif_3f
        fields[f"{tr}_impulse"] = 0.0
        fields[f"{tr}_tau"] = float(2**16 - 1)
    fields["t_epoch"] = int(rng.choice([1, 1, 2, 3, 4]))
    fields["three_factor"] = 1
    return fields


def random_three_factor_program(seed: int, n_rules: int = 8, n_pre: int = 6, n_post: int = 3):
    """Pre input -> ``n_rules`` three-factor learning_dense (random rules) -> one lif_3f (own drive
    ``z``, graded reward input ``r``: y2)."""
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("x", n_pre)
    b.input("z", n_post)
    b.input("r", n_post, num_message_bits=8)
    b.lif_3f(
        "h",
        n_post,
        du=int(rng.integers(0, 4096)),
        dv=int(rng.integers(0, 600)),
        vth=int(rng.integers(20, 200)),
        y1_impulse=int(rng.integers(1, 60)),
        y1_decay=int(rng.integers(0, 4096)),
        y3_impulse=int(rng.integers(1, 60)),
        y3_decay=int(rng.integers(0, 4096)),
        reward="r",
    )
    b.dense("z", "h", np.eye(n_post, dtype=int) * 200, sign_mode=2)
    names, rules = [], []
    for q in range(n_rules):
        sm = int(rng.integers(1, 4))
        lo, hi = {1: (-256, 255), 2: (0, 255), 3: (-255, 0)}[sm]
        rule = random_three_factor_rule(rng)
        name = f"ld{q}"
        b.learning_dense(
            "x",
            "h",
            rng.integers(lo, hi + 1, (n_post, n_pre)),
            rule,
            rng_seed=int(rng.integers(0, 10000)),
            sign_mode=sm,
            weight_exp=-4,
            num_weight_bits=int(rng.integers(4, 9)),
            name=name,
            tag_1=rng.integers(-60, 61, (n_post, n_pre)),
            tag_2=rng.integers(0, 61, (n_post, n_pre)),
        )
        names.append(name)
        rules.append(rule)
    return b.build({"y": ("h", "spikes")}), names, rules


def random_three_factor_inputs(seed: int, prog, steps: int) -> dict:
    """Pre spikes, drive spikes and a graded reward: mostly 0, sometimes 1..127, sometimes
    outside [0, 127] (the lif_3f clips y2)."""
    rng = np.random.default_rng(seed + 20_000)
    n_pre, n_post = prog.populations["x"].size, prog.populations["z"].size
    r = np.where(rng.random((1, steps, n_post)) < 0.35, rng.integers(1, 128, (1, steps, n_post)), 0)
    r = np.where(rng.random((1, steps, n_post)) < 0.05, rng.integers(-40, 200, (1, steps, n_post)), r)
    return {
        "x": (rng.random((1, steps, n_pre)) < 0.3).astype(np.int8),
        "z": (rng.random((1, steps, n_post)) < 0.25).astype(np.int8),
        "r": r.astype(np.int16),
    }
