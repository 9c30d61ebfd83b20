"""Where does Loihi 2 quantization error come from? Ablation of each error source.

``QuantSim`` runs a compiled loihi2 Program in the integer domain (float64 arithmetic) with one
switch per error source of the lowering; every switch on reproduces Lava's ``fixed_pt``
arithmetic (checked against the emulator, bit-exact), every switch off reproduces the float
reference (checked against ``simulate(hop_delay=1)``). Turning on one source at a time, and
off one at a time, measures how many float-reference output spikes each source moves by more
than one step.

    .venv/bin/python benchmarks/quant_fidelity.py [--families affine-lif,conv-if,recurrent-cubalif]
        [--seeds 0-7] [--ablate]

Not timed; for the fidelity report in docs/targets/loihi2-compiler.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fidelity_graphs as fg  # noqa: E402

import neurocompile as nc  # noqa: E402
from neurocompile.compiler import build_netlist  # noqa: E402
from neurocompile.semantics import resolve_semantics  # noqa: E402
from neurocompile.targets.loihi2 import spec  # noqa: E402
from neurocompile.targets.loihi2.lower import _coefficients  # noqa: E402
from neurocompile.targets.loihi2.weights import effective_weights  # noqa: E402

SOURCES = ("weights", "floor", "dv", "du", "rtz", "bias", "sat")


class QuantSim:
    """Integer-domain run of a loihi2 Program with per-source switches (see module docstring)."""

    def __init__(self, graph, prog, dt):
        sem = resolve_semantics(graph, dt=dt, reset="file", hop_delay=1)
        self.net = build_netlist(graph, sem)
        self.prog = prog
        self.pops = {}
        for gname, g in self.net.groups.items():
            c = _coefficients(g, sem.dt, sem.discretization, [])
            pop = prog.populations[gname]  # families never split groups
            p = pop.params
            vth = p["vth"]
            scale = (
                (g.params["v_threshold"] / (64.0 * vth))
                if g.spiking
                else np.full(g.size, prog.quantization["populations"][gname]["scale"])
            )
            dv_exact = c["one_minus_a"] * spec.DECAY_UNITY
            du1_exact = (
                c["one_minus_as"] * spec.DECAY_UNITY if "one_minus_as" in c else np.full(g.size, 4096.0)
            )
            self.pops[gname] = dict(
                g=g,
                vth=vth,
                scale=scale,
                dv_q=np.full(g.size, float(p["dv"])),
                dv_x=dv_exact,
                du_q=np.full(g.size, float(p["du"] + spec.DS_OFFSET)),
                du_x=du1_exact,
                bias_q=p["bias_mant"] * 2.0 ** p["bias_exp"],
                bias_x=c["bias_v"] / scale,
                uinit_q=p["u_init"].astype(float),
                uinit_x=-c["cuba_bias"] / scale,
                drive=c["drive"],
            )
        self.projs = []
        for conn in self.net.connections:
            n_post, n_pre = self.net.size_of(conn.post), self.net.size_of(conn.pre)
            P = self.pops[conn.post]
            w_eff = P["drive"][conn.post_idx] * conn.weight / (64.0 * P["scale"][conn.post_idx])
            names = [n for n in prog.projections if n == conn.name or n.startswith(conn.name + ".")]
            for n in names:
                pr = prog.projections[n]
                pp = pr.params
                e = int(pp["weight_exp"])
                wq = np.zeros((n_post, n_pre))
                eff = effective_weights(pp["weights"], pp["sign_mode"], pp["num_weight_bits"]).astype(float)
                if pr.kind.endswith("dense"):
                    wq[:] = eff
                else:
                    np.add.at(wq, (pp["post"], pp["pre"]), eff)
                sel = np.ones(w_eff.size, bool)
                if n.endswith(".exc"):
                    sel = w_eff > 0
                elif n.endswith(".inh"):
                    sel = w_eff < 0
                wx = np.zeros((n_post, n_pre))
                np.add.at(wx, (conn.post_idx[sel], conn.pre_idx[sel]), w_eff[sel] / 2.0**e)
                assert not np.any(conn.delay), "families have no delays"
                self.projs.append((conn.pre, conn.post, e, wq, wx))

    def run(self, x: np.ndarray, quant=SOURCES) -> np.ndarray:
        q = set(quant)
        B, T = x.shape[:2]
        xin = x.reshape(B, T, -1)
        st = {
            n: dict(
                u=np.broadcast_to(P["uinit_q" if "bias" in q else "uinit_x"], (B, P["g"].size)).copy(),
                v=np.zeros((B, P["g"].size)),
                s=np.zeros((B, P["g"].size)),
            )
            for n, P in self.pops.items()
        }
        a_buf = {n: np.zeros((B, P["g"].size)) for n, P in self.pops.items()}
        ((oname, (osrc, _)),) = self.net.outputs.items()
        out = np.zeros((B, T, self.pops[osrc]["g"].size))
        for t in range(T):
            for n, P in self.pops.items():
                s = st[n]
                du = P["du_q" if "du" in q else "du_x"]
                dv = P["dv_q" if "dv" in q else "dv_x"]
                bias = P["bias_q" if "bias" in q else "bias_x"]
                pu = s["u"] * (4096 - du)
                pv = s["v"] * (4096 - dv)
                if "rtz" in q:
                    pu = np.sign(pu) * np.floor(np.abs(pu) / 4096)
                    pv = np.sign(pv) * np.floor(np.abs(pv) / 4096)
                else:
                    pu, pv = pu / 4096, pv / 4096
                u = pu + a_buf[n] * 64
                if "sat" in q:
                    u = np.where(u > 2**23, u - 2**24, np.where(u <= -(2**23), u + 2**24, u))
                v = pv + u + bias
                if "sat" in q:
                    v = np.clip(v, spec.V_MIN, spec.V_MAX)
                spk = v > P["vth"] * 64.0 if P["g"].spiking else np.zeros_like(v, bool)
                v[spk] = 0
                s["u"], s["v"], s["s"] = u, v, spk.astype(float)
            new = {n: np.zeros_like(a) for n, a in a_buf.items()}
            for pre, post, e, wq, wx in self.projs:
                src = xin[:, t] if pre in self.net.inputs else st[pre]["s"]
                acc = src @ (wq if "weights" in q else wx).T
                if "floor" in q:
                    acc = np.floor(acc * 2.0**e) if e < 0 else acc * 2.0**e
                else:
                    acc = acc * 2.0**e
                new[post] += acc
            a_buf = new
            out[:, t] = st[osrc]["s"]
        return out


def case(family: str, seed: int, regime: str = "trained"):  # noqa: D103
    rng = np.random.default_rng(seed)
    if regime == "legacy":
        return fg.legacy_case(family, rng)
    return fg.make_case(family, rng)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default="affine-lif,conv-if,recurrent-cubalif")
    ap.add_argument("--seeds", default="0-7")
    ap.add_argument("--regime", default="trained", choices=["trained", "legacy"])
    ap.add_argument("--ablate", action="store_true")
    ap.add_argument("--perturb", action="store_true", help="float reference vs 0.5 %% weight noise")
    a = ap.parse_args(argv)
    lo, hi = (int(s) for s in a.seeds.split("-"))
    warnings.simplefilter("ignore", RuntimeWarning)
    for fam in a.families.split(","):
        fr = []
        for seed in range(lo, hi + 1):
            g, dt, x = case(fam, seed, a.regime)
            prog = nc.compile(g, "loihi2", dt=dt)
            ref = nc.simulate(g, {"x": x}, dt=dt, hop_delay=1).outputs["o"]
            got = prog.run({"x": x}, backend="emulator").outputs["o"]
            f = fg.within_one_step(ref, got)
            fr.append(f)
            line = f"{fam:18s} seed {seed}: {f:.3f}  ref spikes {int(ref.sum())} rates " + " ".join(
                f"{r:.3f}" for r in fg.layer_rates(g, x, dt)
            )
            if a.ablate:
                sim = QuantSim(g, prog, dt)
                full = sim.run(x)
                none = sim.run(x, ())
                assert np.array_equal(full.reshape(got.shape), got), "QuantSim all-on != emulator"
                line += f" | none {fg.within_one_step(ref, none.reshape(ref.shape)):.3f}"
                for src in SOURCES:
                    only = fg.within_one_step(ref, sim.run(x, (src,)).reshape(ref.shape))
                    but = fg.within_one_step(
                        ref, sim.run(x, tuple(s for s in SOURCES if s != src)).reshape(ref.shape)
                    )
                    line += f" | {src} only {only:.3f} all-but {but:.3f}"
            if a.perturb:
                fp = []
                for k in range(3):
                    gp = fg.perturb(g, np.random.default_rng(1000 + k), 0.005)
                    rp = nc.simulate(gp, {"x": x}, dt=dt, hop_delay=1).outputs["o"]
                    fp.append(fg.within_one_step(ref, rp))
                line += f" | 0.5% perturbed float {np.mean(fp):.3f}"
            print(line, flush=True)
        print(f"{fam}: mean {np.mean(fr):.3f} min {np.min(fr):.3f} max {np.max(fr):.3f}", flush=True)


if __name__ == "__main__":
    main()
