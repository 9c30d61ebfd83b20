"""Loihi 2 quantization fidelity: the float reference vs the compiled Program, and where the
error comes from (ablation of each error source).

Every figure is the two-sided spike agreement of :func:`neurocompile.compare.spike_agreement`
(the one metric ``validate`` uses): F1 of precision (Program spikes with a float-reference spike
of the same neuron within +-1 step: extra spikes cost) and recall (reference spikes matched
within +-1 step: missed spikes cost), and the correlation of per (sample, neuron) spike counts,
on the output layer, hop_delay 1 on both sides.

``QuantSim`` runs a compiled loihi2 Program in the integer domain (float64 arithmetic) with one
switch per error source of the lowering; every switch on reproduces Lava's ``fixed_pt``
arithmetic (checked against the emulator, bit-exact), every switch off reproduces the float
reference (checked against ``simulate(hop_delay=1)``). Turning on one source at a time
measures what each source costs.

    .venv/bin/python benchmarks/quant_fidelity.py [--families affine-lif,conv-if,recurrent-cubalif]
        [--seeds 0-7] [--regime trained|legacy] [--ablate] [--perturb]
    .venv/bin/python benchmarks/quant_fidelity.py --write [--check]

``--write`` regenerates the generated blocks of docs/targets/loihi2-compiler.md (:data:`DOC`,
markers ``<!-- figures:NAME -->``; :func:`doc_blocks`), ``--check`` compares instead (exit 1 and a
diff when stale); ``tests/test_doc_figures.py`` runs the check. Not timed.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fidelity_graphs as fg  # noqa: E402

import neurocompile as nc  # noqa: E402
from neurocompile.compare import spike_agreement  # noqa: E402
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


DOC = Path(__file__).resolve().parents[1] / "docs" / "targets" / "loihi2-compiler.md"
FAMILIES = ("affine-lif", "conv-if", "recurrent-cubalif")
NAMES = {
    "affine-lif": "Affine-LIF 64-100-10",
    "conv-if": "conv-IF",
    "recurrent-cubalif": "recurrent CubaLIF 40-60-10",
}
#: the seeds the docs' figures use (every seed counted); the test asserts on seeds 0-3.
DOC_SEEDS = range(8)
#: relative float weight noise of the "perturbed float" comparison, and how many draws.
PERTURB, PERTURB_DRAWS = 0.005, 3


def case(family: str, seed: int, regime: str = "trained"):  # noqa: D103
    rng = np.random.default_rng(seed)
    if regime == "legacy":
        return fg.legacy_case(family, rng)
    return fg.make_case(family, rng)


def measure(family: str, seed: int, regime: str = "trained", *, perturb=False, ablate=False) -> dict:
    """One graph: the Program's output spikes vs the float reference (:func:`spike_agreement`),
    optionally the float reference with 0.5 % weight noise (``perturbed_f1``: mean F1 over
    :data:`PERTURB_DRAWS` draws) and the F1 with each error source alone on (``only``), all
    but one on (``all_but``) and none on (``none``)."""
    g, dt, x = case(family, seed, regime)
    prog = nc.compile(g, "loihi2", dt=dt)
    ref = nc.simulate(g, {"x": x}, dt=dt, hop_delay=1).outputs["o"]
    got = prog.run({"x": x}, backend="emulator").outputs["o"]
    out = {"family": family, "seed": seed, "regime": regime, **spike_agreement(ref, got)}
    out["rates"] = fg.layer_rates(g, x, dt)
    if ablate:
        sim = QuantSim(g, prog, dt)
        full = sim.run(x)
        assert np.array_equal(full.reshape(got.shape), got), "QuantSim all-on != emulator"

        def f1(quant):
            return spike_agreement(ref, sim.run(x, quant).reshape(ref.shape))["f1"]

        out["none"] = f1(())
        out["only"] = {src: f1((src,)) for src in SOURCES}
        out["all_but"] = {src: f1(tuple(s for s in SOURCES if s != src)) for src in SOURCES}
    if perturb:
        fp = []
        for k in range(PERTURB_DRAWS):
            gp = fg.perturb(g, np.random.default_rng(1000 + k), PERTURB)
            rp = nc.simulate(gp, {"x": x}, dt=dt, hop_delay=1).outputs["o"]
            fp.append(spike_agreement(ref, rp)["f1"])
        out["perturbed_f1"] = float(np.mean(fp))
    return out


# ----------------------------------------------------------------------------- the document
def _rng(vals) -> str:
    return f"{min(vals):.3f}-{max(vals):.3f}"


def fidelity_table(rows: list[dict]) -> str:
    """Markdown table, one line per family (rows: :func:`measure` with ``perturb``)."""
    lines = [
        "| family | F1 mean | F1 min-max | precision mean | recall mean | count corr mean "
        "| float, 0.5 % weight noise: F1 min-max |",
        "|---|---|---|---|---|---|---|",
    ]
    for fam in dict.fromkeys(r["family"] for r in rows):
        rs = [r for r in rows if r["family"] == fam]
        f1 = [r["f1"] for r in rs]
        mean = {k: np.mean([r[k] for r in rs]) for k in ("precision", "recall", "count_correlation")}
        lines.append(
            f"| {NAMES[fam]} | {np.mean(f1):.3f} | {_rng(f1)} | {mean['precision']:.3f} "
            f"| {mean['recall']:.3f} | {mean['count_correlation']:.3f} "
            f"| {_rng([r['perturbed_f1'] for r in rs])} |"
        )
    return "\n".join(lines) + "\n"


def ablation_table(rows: list[dict]) -> str:
    """Markdown table: mean output F1 per family with no source, each source alone, all but
    each source, and all sources (the Program) on (rows of :func:`measure` with ``ablate``;
    families measured without it are left out)."""
    rows = [r for r in rows if "only" in r]
    fams = list(dict.fromkeys(r["family"] for r in rows))

    def cells(get) -> str:
        return " | ".join(f"{np.mean([get(r) for r in rows if r['family'] == f]):.3f}" for f in fams)

    lines = [
        "| error sources on | " + " | ".join(NAMES[f] for f in fams) + " |",
        "|---|" + "---|" * len(fams),
        f"| none (the float reference's arithmetic) | {cells(lambda r: r['none'])} |",
    ]
    lines += [f"| only `{s}` | {cells(lambda r, s=s: r['only'][s])} |" for s in SOURCES]
    lines += [f"| all but `{s}` | {cells(lambda r, s=s: r['all_but'][s])} |" for s in SOURCES]
    lines.append(f"| all (the Program) | {cells(lambda r: r['f1'])} |")
    return "\n".join(lines) + "\n"


def legacy_table(rows: list[dict]) -> str:
    """Markdown table of the dense balanced regime per family (rows: ``regime="legacy"``,
    ``perturb``)."""
    lines = [
        "| family (dense balanced, `legacy_case`) | quantization: F1 mean | F1 min-max "
        "| float, 0.5 % weight noise: F1 min-max |",
        "|---|---|---|---|",
    ]
    for fam in dict.fromkeys(r["family"] for r in rows):
        rs = [r for r in rows if r["family"] == fam]
        f1 = [r["f1"] for r in rs]
        lines.append(
            f"| {NAMES[fam]} | {np.mean(f1):.3f} | {_rng(f1)} | {_rng([r['perturbed_f1'] for r in rs])} |"
        )
    return "\n".join(lines) + "\n"


def doc_blocks(seeds=DOC_SEEDS) -> dict[str, str]:
    """{block name: Markdown} of the generated blocks of :data:`DOC`."""
    # conv-IF is left out of the ablation (its QuantSim runs take ~10 s CPU per graph): its IF
    # layers have no leak and no bias, so only the weights can cost (measured once: every other
    # source alone gave F1 1.000 on seeds 0-7, weights alone the Program's F1)
    trained = [measure(f, s, perturb=True, ablate=f != "conv-if") for f in FAMILIES for s in seeds]
    # conv-IF has no legacy variant (legacy_case draws the same conv stack)
    legacy = [measure(f, s, "legacy", perturb=True) for f in FAMILIES if f != "conv-if" for s in seeds]
    return {
        "quant-fidelity": fidelity_table(trained),
        "quant-ablation": ablation_table(trained),
        "quant-legacy": legacy_table(legacy),
    }


def render_doc(text: str, blocks: dict[str, str]) -> str:
    """``text`` with ``blocks`` rewritten; the page's other generated blocks kept as they are."""
    from neurocompile.models.docfigures import TAG, current
    from neurocompile.models.walkthrough import render

    return render(text, {**current(text), **blocks}, tag=TAG, fence=False)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--seeds", default="0-7")
    ap.add_argument("--regime", default="trained", choices=["trained", "legacy"])
    ap.add_argument("--ablate", action="store_true")
    ap.add_argument("--perturb", action="store_true", help="float reference vs 0.5 %% weight noise")
    ap.add_argument("--write", action="store_true", help=f"regenerate the blocks of {DOC.name}")
    ap.add_argument("--check", action="store_true", help="with --write: compare instead of writing")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    if a.write:
        old = DOC.read_text()
        new = render_doc(old, doc_blocks())
        if a.check and new != old:
            sys.stdout.write("".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True))))
            sys.stdout.write(f"\n{DOC} is stale: regenerate with benchmarks/quant_fidelity.py --write\n")
            return 1
        if not a.check and new != old:
            DOC.write_text(new)
        sys.stdout.write(f"{DOC}: {'up to date' if new == old else 'rewritten'}\n")
        return 0
    lo, hi = (int(s) for s in a.seeds.split("-"))
    for fam in a.families.split(","):
        rows = []
        for seed in range(lo, hi + 1):
            r = measure(fam, seed, a.regime, perturb=a.perturb, ablate=a.ablate)
            rows.append(r)
            line = (
                f"{fam:18s} seed {seed}: F1 {r['f1']:.3f} (precision {r['precision']:.3f}, recall "
                f"{r['recall']:.3f}), count corr {r['count_correlation']:.3f}, spikes ref/prog "
                f"{r['spikes_reference']}/{r['spikes_program']}, rates "
                + " ".join(f"{x:.3f}" for x in r["rates"])
            )
            if a.ablate:
                line += f" | none {r['none']:.3f}" + "".join(
                    f" | {s} only {r['only'][s]:.3f} all-but {r['all_but'][s]:.3f}" for s in SOURCES
                )
            if a.perturb:
                line += f" | 0.5% perturbed float F1 {r['perturbed_f1']:.3f}"
            print(line, flush=True)
        f1 = [r["f1"] for r in rows]
        print(f"{fam}: F1 mean {np.mean(f1):.3f} min {np.min(f1):.3f} max {np.max(f1):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
