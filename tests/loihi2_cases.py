"""Random and hand-made loihi2 Programs for the differential tests (emulator vs Lava).

Programs are built directly with ``neurocompile.program`` per the loihi2 Program schema, so the
generator depends on neither backend. Every random Program is a pure function of its seed.
Parameter ranges follow the limits of ``docs/reference/loihi2.md`` §1.2, §2, §4 (the validator's
``targets/loihi2/spec.py``: weights within each sign mode's 8-bit range, which the validator
enforces), including the edges of every range and, in ``extreme`` Programs, inputs that drive
``u`` through its single-shot 24-bit wrap and ``v`` into saturation.

Lava spawns one OS process per Lava process and synchronises all of them every step, so the
differential test runs *families*: members share every value a Lava process holds as one scalar
(topology, kinds, du/dv/vth, reset, weight_exp, num_weight_bits, sign_mode, num_message_bits)
and differ in everything held per neuron or synapse (sizes, weights, delays, sparsity, biases,
initial u/v, input data). A family's members merge block-diagonally into ONE Program.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocompile.program import OutputSpec, Population, Program, Projection

MIXED, EXC, INH = 1, 2, 3
PROJ_KINDS = ("dense", "delay_dense", "sparse", "delay_sparse")


@dataclass
class Case:
    name: str
    program: Program
    inputs: dict[str, np.ndarray]  # run-data key -> (batch=1, T, *shape)
    record: list[str]

    @property
    def steps(self) -> int:
        return next(iter(self.inputs.values())).shape[1]


def _record_all(prog: Program) -> list[str]:
    out = []
    for name, pop in prog.populations.items():
        if pop.kind != "input":
            out += [f"{name}.u", f"{name}.v", f"{name}.spikes"]
    return out


def _weights(rng: np.random.Generator, sign_mode: int, shape, big: bool) -> np.ndarray:
    lo, hi = {MIXED: (-256, 255), EXC: (0, 255), INH: (-255, 0)}[sign_mode]
    if big:  # mostly at the limits of the range
        w = rng.choice([lo, hi, lo // 2, hi // 2], size=shape)
    else:
        span = int(rng.choice([8, 32, 128, 256]))
        w = rng.integers(max(lo, -span), min(hi, span) + 1, size=shape)
    return w.astype(np.int64)


def _family_scalars(fseed: int) -> dict:
    """Everything a Lava process holds as ONE value (shared by a family's members): topology,
    population kinds, du/dv/vth, reset interval/offset, projection kinds, weight_exp,
    num_weight_bits, sign_mode and num_message_bits."""
    rng = np.random.default_rng([fseed, 0])
    extreme = fseed % 8 == 7  # one family in eight drives u and v to their limits
    long_delays = fseed % 6 == 5
    fam = {
        "extreme": extreme,
        "long_delays": long_delays,
        "steps": int(rng.integers(66, 72) if long_delays else rng.integers(16, 33)),
        "inputs": [],
        "lifs": [],
        "projs": [],
    }
    for _ in range(int(rng.integers(1, 3))):
        fam["inputs"].append(0 if rng.random() < 0.6 else int(rng.integers(1, 25)))
    n_lif = int(rng.integers(1, 4))
    for _ in range(n_lif):
        lif = {
            "kind": "lif_reset" if rng.random() < 0.3 else "lif",
            "du": int(rng.choice([0, 4095, int(rng.integers(0, 4096))])),
            "dv": int(rng.choice([0, 4095, int(rng.integers(0, 4096))])),
            "vth": int(rng.choice([0, 2**17 - 1, int(2 ** rng.uniform(0, 17))])),
            "bias_mag": 4095 if extreme else int(rng.choice([0, 16, 512, 4095])),
            "bias_exp_hi": 8 if extreme or rng.random() < 0.3 else 3,
        }
        if lif["kind"] == "lif_reset":
            lif["reset_interval"] = int(rng.integers(1, 9))
            lif["reset_offset"] = int(rng.integers(0, 9))
        fam["lifs"].append(lif)
    n_in = len(fam["inputs"])
    pops = [f"in{i}" for i in range(n_in)] + [f"lif{j}" for j in range(n_lif)]
    edges = [(str(rng.choice(pops[: n_in + j])), f"lif{j}") for j in range(n_lif)]
    for _ in range(int(rng.integers(0, 4))):  # extra edges: recurrent, self, several into one
        edges.append((str(rng.choice(pops)), f"lif{int(rng.integers(n_lif))}"))
    for pre, post in dict.fromkeys(edges):
        pre_nmb = fam["inputs"][int(pre[2:])] if pre.startswith("in") else 0
        nmb = (
            pre_nmb
            if (pre_nmb and rng.random() < 0.6)
            else (0 if rng.random() < 0.8 else int(rng.integers(1, 25)))
        )
        fam["projs"].append(
            {
                "pre": pre,
                "post": post,
                "kind": str(rng.choice(PROJ_KINDS)),
                "weight_exp": int(rng.integers(6, 9) if extreme else rng.integers(-8, 9)),
                "num_weight_bits": int(8 if extreme else rng.integers(1, 9)),
                "sign_mode": int(rng.integers(1, 4)),
                "num_message_bits": nmb,
                "maxd": 62 if long_delays else int(rng.choice([1, 3, 8])),
            }
        )
    return fam


def random_case(fseed: int, member: int) -> Case:
    """Member ``member`` of family ``fseed``: the family's scalars and topology, its own sizes,
    weights, delays, sparsity, biases, initial u/v and input data (seeded by both numbers)."""
    fam = _family_scalars(fseed)
    rng = np.random.default_rng([fseed, member + 1])
    extreme, steps = fam["extreme"], fam["steps"]
    prog = Program(target="loihi2")
    inputs: dict[str, np.ndarray] = {}
    for i, nmb in enumerate(fam["inputs"]):
        size = int(rng.integers(8, 25) if extreme else rng.integers(1, 7))
        name = f"in{i}"
        prog.populations[name] = Population(name, "input", (size,), {"num_message_bits": nmb})
        if nmb == 0:
            data = (rng.random((1, steps, size)) < (0.9 if extreme else rng.uniform(0.1, 0.6))).astype(
                np.int64
            )
        else:
            mag = 2 ** int(rng.integers(1, min(nmb, 12) + 1))
            data = rng.integers(-mag, mag + 1, size=(1, steps, size)) * (rng.random((1, steps, size)) < 0.5)
        prog.inputs[f"x{i}"] = name
        inputs[f"x{i}"] = data.astype(np.int64)
    for j, lif in enumerate(fam["lifs"]):
        size = int(rng.integers(1, 7))
        bm = lif["bias_mag"]
        params = {
            "du": lif["du"],
            "dv": lif["dv"],
            "vth": lif["vth"],
            "bias_mant": rng.integers(-bm, bm + 1, size=size).astype(np.int64),
            "bias_exp": rng.integers(0, lif["bias_exp_hi"], size=size).astype(np.int64),
            "u_init": (
                rng.integers(-(2**23), 2**23, size=size) if rng.random() < 0.3 else np.zeros(size)
            ).astype(np.int64),
            "v_init": (
                rng.integers(-(2**23) + 1, 2**23, size=size) if rng.random() < 0.3 else np.zeros(size)
            ).astype(np.int64),
        }
        for key in ("reset_interval", "reset_offset"):
            if key in lif:
                params[key] = lif[key]
        prog.populations[f"lif{j}"] = Population(f"lif{j}", lif["kind"], (size,), params)
    for k, pj in enumerate(fam["projs"]):
        n_pre, n_post = prog.populations[pj["pre"]].size, prog.populations[pj["post"]].size
        params = {key: pj[key] for key in ("weight_exp", "num_weight_bits", "sign_mode", "num_message_bits")}
        kind, sm, maxd = pj["kind"], pj["sign_mode"], pj["maxd"]
        if kind in ("dense", "delay_dense"):
            params["weights"] = _weights(rng, sm, (n_post, n_pre), extreme)
            if kind == "delay_dense":
                params["delays"] = rng.integers(0, maxd + 1, size=(n_post, n_pre)).astype(np.int64)
        else:
            pairs = [(i, o) for o in range(n_post) for i in range(n_pre)]
            keep = rng.random(len(pairs)) < rng.uniform(0.3, 1.0)
            if not keep.any():
                keep[int(rng.integers(len(pairs)))] = True
            sel = [pairs[i] for i in rng.permutation(np.flatnonzero(keep))]
            params["pre"] = np.array([s[0] for s in sel], dtype=np.int64)
            params["post"] = np.array([s[1] for s in sel], dtype=np.int64)
            params["weights"] = _weights(rng, sm, (len(sel),), extreme)
            if kind == "delay_sparse":
                params["delays"] = rng.integers(0, maxd + 1, size=len(sel)).astype(np.int64)
        name = f"p{k}_{pj['pre']}_{pj['post']}"
        prog.projections[name] = Projection(name, pj["pre"], pj["post"], kind, params)
    for j in range(len(fam["lifs"])):
        prog.outputs[f"out_lif{j}"] = OutputSpec(f"lif{j}", "spikes")
    return Case(f"family{fseed}.member{member}", prog, inputs, _record_all(prog))


def merge_cases(cases: list[Case]) -> tuple[Case, list[dict[str, slice]]]:
    """Block-diagonal union of same-family members: ONE Program (so one Lava process per
    population / projection for the whole family). Population sizes add up, Dense/DelayDense
    matrices are block-diagonal (zero weights, delay 0 off the blocks), Sparse COO indices are
    offset. Returns the merged Case and, per member, ``{population: slice of its neurons}``."""
    first = cases[0].program
    prog = Program(target="loihi2")
    offsets: list[dict[str, slice]] = [{} for _ in cases]
    for name, pop in first.populations.items():
        sizes = [c.program.populations[name].size for c in cases]
        start = 0
        for m, sz in enumerate(sizes):
            offsets[m][name] = slice(start, start + sz)
            start += sz
        params = dict(pop.params)
        for key, val in pop.params.items():
            if isinstance(val, np.ndarray):
                params[key] = np.concatenate([c.program.populations[name].params[key] for c in cases])
        prog.populations[name] = Population(name, pop.kind, (start,), params)
    for name, proj in first.projections.items():
        n_pre = prog.populations[proj.pre].size
        n_post = prog.populations[proj.post].size
        params = {k: v for k, v in proj.params.items() if not isinstance(v, np.ndarray)}
        members = [c.program.projections[name] for c in cases]
        if proj.kind in ("dense", "delay_dense"):
            for key in ("weights", "delays") if proj.kind == "delay_dense" else ("weights",):
                full = np.zeros((n_post, n_pre), np.int64)
                for m, mp in enumerate(members):
                    full[offsets[m][proj.post], offsets[m][proj.pre]] = mp.params[key]
                params[key] = full
        else:
            params["pre"] = np.concatenate(
                [mp.params["pre"] + offsets[m][proj.pre].start for m, mp in enumerate(members)]
            )
            params["post"] = np.concatenate(
                [mp.params["post"] + offsets[m][proj.post].start for m, mp in enumerate(members)]
            )
            for key in ("weights", "delays") if proj.kind == "delay_sparse" else ("weights",):
                params[key] = np.concatenate([mp.params[key] for mp in members])
        prog.projections[name] = Projection(name, proj.pre, proj.post, proj.kind, params)
    prog.inputs = dict(first.inputs)
    prog.outputs = dict(first.outputs)
    inputs = {k: np.concatenate([c.inputs[k] for c in cases], axis=2) for k in first.inputs}
    return Case(cases[0].name.split(".")[0], prog, inputs, _record_all(prog)), offsets


# ----------------------------------------------------------------------------- hand-made
def _lif(name, size=1, **kw):
    params = {
        "du": 0,
        "dv": 0,
        "vth": 10,
        "bias_mant": np.zeros(size, np.int64),
        "bias_exp": np.zeros(size, np.int64),
    }
    params.update(kw)
    return Population(name, "lif", (size,), params)


def _proj(name, pre, post, kind="dense", **kw):
    params = {"weight_exp": 0, "num_weight_bits": 8, "sign_mode": EXC, "num_message_bits": 0}
    params.update(kw)
    return Projection(name, pre, post, kind, params)


def timing_chain(steps: int = 6) -> Case:
    """loihi2.md §2.4: RingBuffer (spikes at t=1, 4) -> Dense(w=10) -> LIF1(du=4095, vth=5)
    -> Dense(w=7) -> LIF2."""
    prog = Program(target="loihi2")
    prog.populations["src"] = Population("src", "input", (1,), {"num_message_bits": 0})
    prog.populations["l1"] = _lif("l1", du=4095, vth=5)
    prog.populations["l2"] = _lif("l2", du=4095, vth=100000)
    prog.projections["d1"] = _proj("d1", "src", "l1", weights=np.array([[10]]))
    prog.projections["d2"] = _proj("d2", "l1", "l2", weights=np.array([[7]]))
    prog.inputs["x"] = "src"
    prog.outputs["y"] = OutputSpec("l2", "spikes")
    x = np.zeros((1, steps, 1), np.int64)
    x[0, 0] = x[0, 3] = 1
    return Case("timing_chain", prog, {"x": x}, _record_all(prog))


def timing_delays() -> Case:
    """loihi2.md §2.3: DelayDense delays 0/1/3, one spike at t=1 -> u changes at steps 2/3/5."""
    prog = Program(target="loihi2")
    prog.populations["src"] = Population("src", "input", (1,), {"num_message_bits": 0})
    prog.populations["l"] = _lif("l", size=3, du=4095, vth=100000)
    prog.projections["d"] = _proj(
        "d",
        "src",
        "l",
        kind="delay_dense",
        weights=np.array([[10], [10], [10]]),
        delays=np.array([[0], [1], [3]]),
    )
    prog.inputs["x"] = "src"
    prog.outputs["y"] = OutputSpec("l", "spikes")
    x = np.zeros((1, 8, 1), np.int64)
    x[0, 0] = 1
    return Case("timing_delays", prog, {"x": x}, _record_all(prog))


def timing_lif_reset() -> Case:
    """loihi2.md §1.3: LIFReset interval 3, offset 1, constant input -> u = 0, 64, 127, 64, 127, 190, 64..."""
    prog = Program(target="loihi2")
    prog.populations["src"] = Population("src", "input", (1,), {"num_message_bits": 0})
    pop = _lif("l", du=0, vth=100000)
    pop.kind = "lif_reset"
    pop.params.update(reset_interval=3, reset_offset=1)
    prog.populations["l"] = pop
    prog.projections["d"] = _proj("d", "src", "l", weights=np.array([[1]]))
    prog.inputs["x"] = "src"
    prog.outputs["y"] = OutputSpec("l", "spikes")
    x = np.ones((1, 10, 1), np.int64)
    return Case("timing_lif_reset", prog, {"x": x}, _record_all(prog))


def graded_case() -> Case:
    """loihi2.md §2.2: payload 5 / -3 with w=4, weight_exp -1 -> 10 / -6 into a graded Dense;
    the same source into a binary Dense gives 4 / 4."""
    prog = Program(target="loihi2")
    prog.populations["src"] = Population("src", "input", (1,), {"num_message_bits": 8})
    prog.populations["g"] = _lif("g", du=4095, vth=100000)
    prog.populations["b"] = _lif("b", du=4095, vth=100000)
    prog.projections["dg"] = _proj(
        "dg", "src", "g", weights=np.array([[4]]), weight_exp=-1, num_message_bits=8, sign_mode=EXC
    )
    prog.projections["db"] = _proj(
        "db", "src", "b", weights=np.array([[4]]), num_message_bits=0, sign_mode=EXC
    )
    prog.inputs["x"] = "src"
    prog.outputs["y"] = OutputSpec("g", "spikes")
    x = np.zeros((1, 5, 1), np.int64)
    x[0, 0] = 5
    x[0, 2] = -3
    return Case("graded", prog, {"x": x}, _record_all(prog))


HAND_MADE = (timing_chain, timing_delays, timing_lif_reset, graded_case)
