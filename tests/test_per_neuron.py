"""Per-neuron parameters (issue 10 item 4): random graphs whose every neuron has its own time
constants, threshold and leak (``per_neuron_graphs``; seeds fixed in ``SEEDS`` before any run).

Loihi 2: a node keeps ONE population with per-neuron du/dv (``LIFDecays`` on Lava); the
emulator equals Lava bit for bit (u, v, spikes at every step; ``lava`` marker, .venv-lava), a
layer whose neurons all have different time constants uses at most one core more than the same
layer with one time constant, an Output reads such a node, and the Program stays close to the
float reference. SpiNNaker: see the second half of this file.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from per_neuron_graphs import DT, SEEDS, cores, example_network, inputs, layer_graph, random_graph

import neurocompile as nc
from neurocompile.errors import ParameterError, RangeError
from neurocompile.program import Program

COMPILE = {"dt": DT, "reset": "zero"}


def _loihi2(seed: int) -> tuple[Program, dict]:
    g, (n_in, _, _) = random_graph(seed)
    return nc.compile(g, target="loihi2", **COMPILE), inputs(seed, n_in)


def _record(prog: Program) -> list[str]:
    return [
        f"{n}.{o}" for n, p in prog.populations.items() if p.kind != "input" for o in ("u", "v", "spikes")
    ]


def _emulate(prog: Program, x: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return prog.run(x, backend="emulator", record=_record(prog), raw=True)  # chip integers


# ------------------------------------------------------------------------------------ Loihi 2
@pytest.mark.parametrize("seed", SEEDS)
def test_loihi2_one_population_per_node_with_per_neuron_decays(seed):
    g, _ = random_graph(seed)
    prog = nc.compile(g, target="loihi2", **COMPILE)
    findings = {(f["code"], f["node"]) for f in prog.provenance["findings"]}
    for node in ("n1", "n2"):
        pop = prog.populations[node]  # one population, named after the node (no G.k0 split)
        assert pop.kind == "lif"
        du, dv = (np.broadcast_to(pop.params[k], (pop.size,)) for k in ("du", "dv"))
        if node == "n2" or seed % 3 != 2:  # n1 is IF (no decay) for seed % 3 == 2
            assert np.unique(np.stack([du, dv], 1), axis=0).shape[0] > 1, "the draw gave one decay"
            assert ("loihi2-per-neuron-decay", node) in findings
    assert {o.population for o in prog.outputs.values()} == {"n1", "n2"}
    assert not any(c == "loihi2-split" for c, _ in findings)


def test_loihi2_per_neuron_program_saves_and_loads(tmp_path):
    prog, x = _loihi2(0)
    prog.save(tmp_path / "p.ncp")
    back = Program.load(tmp_path / "p.ncp")
    for name, pop in prog.populations.items():
        for k in ("du", "dv"):
            if k in pop.params:
                assert np.array_equal(np.asarray(back.populations[name].params[k]), np.asarray(pop.params[k]))
    a, b = _emulate(prog, x).arrays(), _emulate(back, x).arrays()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_loihi2_schema_per_neuron_decays():
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    b = Loihi2Builder()
    b.lif("a", 3, du=[0, 10, 4095], dv=[1, 2, 3], vth=10)
    with pytest.raises(RangeError) as e:
        b.lif("b", 3, du=[0, 10, 4096], dv=1, vth=10)
    assert e.value.node == "b" and e.value.parameter == "du"
    with pytest.raises(ParameterError) as e:
        b.lif("c", 3, du=[0, 10], dv=1, vth=10)
    assert e.value.parameter == "du"
    with pytest.raises(ParameterError) as e:  # LIFReset keeps one decay per population
        b.lif_reset("d", 3, du=[0, 1, 2], dv=1, vth=10, reset_interval=4)
    assert e.value.node == "d" and e.value.parameter == "du"


def test_loihi2_emulator_per_neuron_decays_equal_one_population_per_neuron():
    """The emulator's per-neuron decay path against its own scalar path: a population with
    per-neuron du/dv computes what one population per neuron computes (Lava's definition of the
    arithmetic, per neuron), at every step."""
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    rng = np.random.default_rng(3)
    n, n_in, T = 9, 6, 80
    du, dv = rng.integers(0, 4096, n), rng.integers(0, 4096, n)
    dv[:3] = (0, 1, 4095)
    du[:3] = (4095, 0, 1)
    w = rng.integers(-200, 255, (n, n_in))
    bias = rng.integers(-50, 50, n)
    x = {"x": (rng.random((2, T, n_in)) < 0.4).astype(np.float64)}
    one = Loihi2Builder()
    one.input("x", n_in)
    one.lif("p", n, du=du, dv=dv, vth=40, bias_mant=bias)
    one.dense("x", "p", w, sign_mode=1)
    many = Loihi2Builder()
    many.input("x", n_in)
    for i in range(n):
        many.lif(f"p{i}", 1, du=int(du[i]), dv=int(dv[i]), vth=40, bias_mant=int(bias[i]))
        many.dense("x", f"p{i}", w[i : i + 1], sign_mode=1)
    r1 = _emulate(one.build(outputs={"s": ("p", "spikes")}), x)
    r2 = _emulate(many.build(outputs={f"s{i}": (f"p{i}", "spikes") for i in range(n)}), x)
    for obs in ("u", "v", "spikes"):
        got = r1.recordings[f"p.{obs}"]
        want = np.concatenate([r2.recordings[f"p{i}.{obs}"] for i in range(n)], axis=-1)
        assert np.array_equal(got, want), obs
    assert r1.recordings["p.spikes"].sum() > 0


@pytest.mark.parametrize(
    ("n", "kind", "neurons_per_core"), [(300, "LIF", None), (300, "CubaLIF", 64), (9000, "LIF", None)]
)
def test_loihi2_core_bound_all_distinct_vs_one_time_constant(n, kind, neurons_per_core):
    """A layer whose neurons all have different time constants uses at most one core more than
    the same layer with one time constant."""
    from neurocompile.targets.loihi2.partition import place

    progs = {d: nc.compile(layer_graph(n, d, kind), target="loihi2", **COMPILE) for d in (True, False)}
    pop = progs[True].populations["n"]
    distinct = np.unique(np.stack([np.broadcast_to(pop.params[k], (n,)) for k in ("du", "dv")], 1), axis=0)
    assert distinct.shape[0] > n // 20, (
        f"only {distinct.shape[0]} distinct decays: the bound would be vacuous"
    )
    kw = {} if neurons_per_core is None else {"neurons_per_core": neurons_per_core}
    used = {d: place(p, write=False, **kw).cores_used for d, p in progs.items()}
    assert used[True] <= used[False] + 1, used


def test_loihi2_issue_examples_core_counts():
    """The issue's 210- and 60-neuron examples (learn_beta hidden layers): every layer within one
    core of its one-time-constant version, so the network within (layers) cores of it."""
    for hidden in ((100, 100), (50,)):
        prog = nc.compile(example_network(hidden), target="loihi2", **COMPILE)
        shared = nc.compile(example_network(hidden, shared=True), target="loihi2", **COMPILE)
        assert sum(p.size for p in prog.populations.values() if p.kind != "input") == sum(hidden) + 10
        assert cores(prog) <= cores(shared) + len(hidden) + 1, (cores(prog), cores(shared))


def test_loihi2_per_neuron_fidelity_vs_float_reference():
    """Sanity: the Program's spikes (emulator) agree with the float reference (hop_delay 1) with
    per-neuron parameters as they do without: mean output F1 over the seeds >= 0.85."""
    from neurocompile.compare import spike_agreement

    f1 = []
    for seed in SEEDS:
        g, (n_in, _, _) = random_graph(seed)
        prog = nc.compile(g, target="loihi2", **COMPILE)
        x = inputs(seed, n_in, batch=4, steps=100)
        ref = nc.simulate(g, x, hop_delay=1, **COMPILE).outputs
        got = _emulate(prog, x).outputs
        f1 += [spike_agreement(ref[k], got[k])["f1"] for k in ("h", "o")]
    assert np.mean(f1) >= 0.85, f1


@pytest.mark.lava
def test_loihi2_per_neuron_emulator_equals_lava_every_step():
    """emulator == Lava 0.10.0 (LIFDecays, fixed_pt): u, v and spikes of every population at every
    step, one sample per seed, all seeds in ONE Lava run."""
    pytest.importorskip("lava.magma.core.run_configs", reason="needs lava-nc 0.10.0 (run in .venv-lava)")
    from neurocompile.targets.loihi2 import lava_runner as L

    cases = []
    for seed in SEEDS:
        prog, x = _loihi2(seed)
        x = {k: v[:1] for k, v in x.items()}
        pop_data, _, steps = L.prepare_inputs(prog, x)
        needs = L.needed_observables(prog, L.normalize_record(_record(prog)), strict=False)
        cases.append((seed, prog, x, L.Job(prog, {k: v[0] for k, v in pop_data.items()}, steps, needs)))
    lava = L.run_jobs([c[3] for c in cases])
    failures, compared = [], 0
    for (seed, prog, x, job), got in zip(cases, lava):
        emu = _emulate(prog, x)
        assert any(np.ndim(p.params.get("du", 0)) for p in prog.populations.values())
        for key in _record(prog):
            pop, obs = key.rsplit(".", 1)
            mine = np.asarray(emu.recordings[key]).reshape(job.steps, -1).astype(np.int64)
            theirs = got[(pop, obs)]
            compared += mine.size
            if not np.array_equal(mine, theirs):
                t, i = (int(v) for v in np.argwhere(mine != theirs)[0])
                failures.append(f"seed {seed}: {key} first differs at step {t + 1}, neuron {i}")
    assert not failures, failures
    assert compared > 0


# ------------------------------------------------------------------------------------ SpiNNaker
def _spinnaker(seed: int) -> tuple[Program, dict]:
    g, (n_in, _, _) = random_graph(seed)
    return nc.compile(g, target="spinnaker", **COMPILE), inputs(seed, n_in, batch=1)


def _per_neuron(params: dict, key: str, i: int) -> float:
    v = params[key]
    return float(np.asarray(v).reshape(-1)[i]) if np.ndim(v) else float(v)


def spinnaker_numpy(prog: Program, x: dict, steps: int) -> dict[str, np.ndarray]:
    """A brute-force model of sPyNNaker 1!7.4.1's IF_curr_exp / IF_curr_delta tick
    (``docs/targets/spinnaker.md`` "Emulator semantics"), one neuron at a time in Python ints:
    every neuron's constants from its OWN parameters through ``fixed.py``'s scalar init functions
    (``lif_init``, ``exp_syn_init``), the ring buffer per (neuron, receptor, tick) saturating at
    0xFFFF, (a) ring buffer into the synapses, (b) record v and u, closed form (or refractory
    count-down), threshold ``>=``, reset, synapse decay / clear, (c) spikes of tick t into slot
    t + delay. Returns ``POP.v`` (s16.15 ints), ``POP.u``, ``POP.spikes`` of shape (steps, size)."""
    from neurocompile.targets.spinnaker import fixed, spec

    tick = float(prog.semantics["tick_ms"])
    neurons = [n for n, p in prog.populations.items() if p.kind in spec.NEURON_KINDS]
    st, const = {}, {}
    for n in neurons:
        pop = prog.populations[n]
        p, exp = pop.params, pop.kind == "if_curr_exp"
        cs = []
        for i in range(pop.size):
            c = fixed.lif_init(
                **{
                    k: _per_neuron(p, k, i)
                    for k in ("v_init", "v_rest", "cm", "tau_m", "i_offset", "v_reset")
                },
                tau_refrac=_per_neuron(p, "tau_refrac", i),
                dt_ms=tick,
            )
            c["V_thresh"] = fixed.s1615(_per_neuron(p, "v_thresh", i))
            if exp:
                e, h = (fixed.exp_syn_init(_per_neuron(p, k, i), tick) for k in ("tau_syn_E", "tau_syn_I"))
                c.update(dec=(e["decay"], h["decay"]), init=(e["init"], h["init"]))
            else:
                c["dscale"] = fixed.delta_input_scale(tick)
            cs.append(c)
        const[n] = (cs, exp, [int(s) for s in p["ring_buffer_shifts"]])
        st[n] = {
            "V": [c["V"] for c in cs],
            "ref": [0] * pop.size,
            "isyn": [[0, 0] for _ in cs],
            "ring": np.zeros((steps + 200, pop.size, 2), np.int64),
        }
    out = {
        f"{n}.{o}": np.zeros((steps, prog.populations[n].size), np.int64)
        for n in neurons
        for o in ("v", "u", "spikes")
    }
    src = {pop: np.asarray(x[key])[0].reshape(steps, -1) for key, pop in prog.inputs.items()}
    for t in range(steps):
        fired = {pop: np.flatnonzero(s[t]) for pop, s in src.items()}
        for n in neurons:
            cs, exp, shifts = const[n]
            s = st[n]
            spikes = []
            for i, c in enumerate(cs):
                isyn = s["isyn"][i]
                for r in (0, 1):  # (a) this tick's ring-buffer entry into the synapse
                    v16 = min(int(s["ring"][t, i, r]), 0xFFFF)
                    if v16:
                        isyn[r] = (
                            fixed.exp_syn_add(isyn[r], v16, shifts[r], c["init"][r])
                            if exp
                            else fixed.wrap32(isyn[r] + (v16 << shifts[r]))
                        )
                out[f"{n}.v"][t, i] = s["V"][i]  # (b) v before the update, u = exc - inh
                out[f"{n}.u"][t, i] = fixed.wrap32(isyn[0] - isyn[1])
                if exp:
                    cur = fixed.wrap32(isyn[0] - isyn[1] + c["I_offset"])
                else:
                    cur = fixed.wrap32(
                        fixed.mul_k(isyn[0], c["dscale"]) - fixed.mul_k(isyn[1], c["dscale"]) + c["I_offset"]
                    )
                if s["ref"][i] <= 0:
                    s["V"][i] = fixed.lif_closed_form(
                        s["V"][i], cur, R=c["R"], V_rest=c["V_rest"], exp_TC=c["exp_TC"]
                    )
                else:
                    s["ref"][i] -= 1
                if s["V"][i] >= c["V_thresh"]:
                    s["V"][i] = c["V_reset"]
                    s["ref"][i] = c["T_refract"]
                    spikes.append(i)
                    out[f"{n}.spikes"][t, i] = 1
                if exp:
                    s["isyn"][i] = [fixed.decay_s1615(isyn[r], c["dec"][r]) for r in (0, 1)]
                else:
                    s["isyn"][i] = [0, 0]
            fired[n] = np.asarray(spikes, np.int64)
        for q in prog.projections.values():  # (c) spikes of tick t into slot t + delay
            pre, post = np.asarray(q.params["pre"]), np.asarray(q.params["post"])
            w16, d = np.asarray(q.params["w16"]), np.asarray(q.params["delays"])
            r = spec.SYNAPSE_TYPES.index(q.params["receptor"])
            for k in np.flatnonzero(np.isin(pre, fired[q.pre])):
                st[q.post]["ring"][t + int(d[k]), int(post[k]), r] += int(w16[k])
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_spinnaker_per_neuron_lowering_and_emulator_equal_brute_force_numpy(seed):
    """Per-neuron tau_m / cm / v_rest / v_thresh / tau_syn arrays through the lowering and the
    emulator: v, u and spikes at every tick equal :func:`spinnaker_numpy` (which derives each
    neuron's integers from its own parameters)."""
    from neurocompile.targets.spinnaker import spec

    prog, x = _spinnaker(seed)
    varying = {
        n: [f for f in spec.NEURON_SCALAR_PARAMS[p.kind] if np.ndim(p.params[f]) > 0]
        for n, p in prog.populations.items()
        if p.kind in spec.NEURON_KINDS
    }
    assert "tau_m" in varying["n2"], varying  # the draw gives every neuron its own tau
    codes = {(f["code"], f["node"]) for f in prog.provenance["findings"]}
    assert ("spinnaker-per-neuron-param", "n2") in codes
    steps = next(iter(x.values())).shape[1]
    want = spinnaker_numpy(prog, x, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = prog.run(x, backend="emulator", record=list(want), raw=True).recordings  # mV
    for key, w in want.items():
        g = np.asarray(got[key])[0].reshape(steps, -1)
        g = g.astype(np.int64) if key.endswith("spikes") else np.rint(g * spec.S1615_ONE).astype(np.int64)
        if not np.array_equal(g, w):
            t, i = (int(v) for v in np.argwhere(g != w)[0])
            pytest.fail(
                f"seed {seed}: {key} differs first at tick {t}, neuron {i}: "
                f"emulator {g[t, i]} vs numpy {w[t, i]}"
            )


def test_spinnaker_per_neuron_fidelity_vs_float_reference():
    """Sanity: per-neuron parameters on SpiNNaker stay close to the float reference (hop_delay 1):
    mean output F1 over the seeds >= 0.85."""
    from neurocompile.compare import spike_agreement

    f1 = []
    for seed in SEEDS:
        g, (n_in, _, _) = random_graph(seed)
        prog = nc.compile(g, target="spinnaker", **COMPILE)
        x = inputs(seed, n_in, batch=4, steps=100)
        ref = nc.simulate(g, x, hop_delay=1, **COMPILE).outputs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = prog.run(x, backend="emulator").outputs
        f1 += [spike_agreement(ref[k], got[k])["f1"] for k in ("h", "o")]
    assert np.mean(f1) >= 0.85, f1


def test_spinnaker_schema_per_neuron_arrays():
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    b = SpiNNakerBuilder(1.0)
    b.if_curr_exp("a", 3, tau_m=[10.0, 20.0, 30.0], tau_syn_E=[1.0, 2.0, 3.0], ring_buffer_shifts=[0, 0])
    with pytest.raises(ParameterError) as e:
        b.if_curr_exp("b", 3, tau_m=[10.0, 20.0], ring_buffer_shifts=[0, 0])
    assert e.value.node == "b" and e.value.parameter == "tau_m"
    with pytest.raises(ParameterError) as e:
        b.if_curr_exp("c", 3, tau_m=[10.0, -1.0, 3.0], ring_buffer_shifts=[0, 0])
    assert e.value.node == "c" and e.value.parameter == "tau_m"


@pytest.mark.spinnaker
def test_spinnaker_per_neuron_parameters_read_back_on_the_virtual_board():
    """Every neuron's PyNN parameters as sPyNNaker 1!7.4.1 holds them after mapping on the virtual
    board (``Population.get``) equal the Program's per-neuron arrays (all seeds, one run)."""
    from neurocompile.targets.spinnaker import board

    if not board.spinnaker_available():
        pytest.skip("sPyNNaker 1!7.4.1 not installed (make venvs installs it in .venv)")
    progs, ins = zip(*(_spinnaker(s) for s in SEEDS))
    net, arrays = board.merged_network(list(progs), list(ins), None)
    per_neuron = [
        k for k in arrays if k.rsplit(".", 1)[-1] in ("tau_m", "cm", "v_rest", "v_thresh", "tau_syn_E")
    ]
    assert len(per_neuron) >= len(SEEDS), "the networks carry no per-neuron parameter arrays"
    _, rb = board.run_worker(net, arrays)
    assert board.parameter_mismatches(net, arrays, rb) == []


def test_spinnaker_parameter_readback_check_is_not_vacuous():
    """board.parameter_mismatches reports a changed per-neuron value and a missing read-back."""
    from neurocompile.targets.spinnaker import board

    prog, x = _spinnaker(0)
    net, arrays = board.merged_network([prog], [x], None)
    rb = {}
    for k, p in enumerate(net["populations"]):
        for name, v in p.get("params", {}).items():
            rb[f"pop{k}.param.{name}"] = np.full(int(p["size"]), float(v))
        for name in p.get("arrays", ()):
            rb[f"pop{k}.param.{name}"] = np.asarray(arrays[f"pop{k}.{name}"], np.float64).copy()
    assert board.parameter_mismatches(net, arrays, rb) == []
    key = next(k for k in rb if k.endswith(".param.tau_m") and np.ndim(rb[k]) and np.unique(rb[k]).size > 1)
    bad = dict(rb, **{key: rb[key] + np.eye(1, rb[key].size, 1)[0] * 1e-6})
    assert len(board.parameter_mismatches(net, arrays, bad)) == 1
    bad = {k: v for k, v in rb.items() if k != key}
    assert "not read back" in board.parameter_mismatches(net, arrays, bad)[0]


def test_loihi2_placement_doc_core_table_is_current():
    """The core table of docs/targets/loihi2-placement.md is what benchmarks/per_neuron_cores.py
    computes now; and the old layout (one population per distinct decay) is far larger."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "per_neuron_cores.py"
    spec = importlib.util.spec_from_file_location("per_neuron_cores", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.measure()
    assert all(
        r["cores"] <= r["cores_one_tau"] + 3 and r["split_populations"] > 10 * r["cores"] for r in rows
    )
    assert mod.main(["--check"]) == 0, "run: python benchmarks/per_neuron_cores.py --write"


@pytest.mark.lava
def test_loihi2_per_neuron_bundle_runs_in_lava_without_neurocompile(tmp_path):
    """``emit`` of a Program with per-neuron decays: the bundle carries lifdecays.py and reproduces
    the emulator's golden outputs and u/v/spikes exactly in Lava with neurocompile un-importable."""
    pytest.importorskip("lava.magma.core.run_configs", reason="needs lava-nc 0.10.0 (run in .venv-lava)")
    from test_emit import run_bundle

    from neurocompile.targets.loihi2.emit import emit_bundle

    prog, x = _loihi2(4)
    assert any(np.ndim(p.params.get("du", 0)) for p in prog.populations.values())
    rep = emit_bundle(prog, tmp_path / "b", x)
    assert "lifdecays.py" in rep.files
    proc = run_bundle(tmp_path / "b", "--check")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "keys identical to golden.npz" in proc.stdout and "MISMATCH" not in proc.stdout


# ------------------------------------------------------------------------------------ learning
def _learning_program(three_factor: bool = False):
    """input (6) -> fc (plastic, pair STDP in program units) -> lif (4 neurons, tau 3, 6, 12, 24)."""
    import dataclasses

    from neurocompile.ir import Graph, Node
    from neurocompile.learning import attach, rstdp, stdp_pair

    rng = np.random.default_rng(0)
    n_in, n = 6, 4
    lif = {"tau": np.array([3.0, 6.0, 12.0, 24.0]), "r": np.ones(n), "v_leak": np.zeros(n)}
    lif.update(v_threshold=np.full(n, 4.0), v_reset=np.zeros(n))
    nodes = {
        "input": Node("input", "Input", {"shape": (n_in,)}),
        "fc": Node("fc", "Affine", {"weight": rng.uniform(0, 8, (n, n_in)), "bias": np.zeros(n)}),
        "lif": Node("lif", "LIF", lif),
        "out": Node("out", "Output", {"shape": (n,)}),
    }
    g = nc.load(Graph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "out")]))
    if three_factor:
        rule = attach(rstdp(lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20), reward="r")
    else:
        rule = stdp_pair(A_plus=4, A_minus=4, tau_plus=8, tau_minus=8, w_min=0.0, w_max=200.0)
    # the post neurons' weight scales differ (their time constants do): rule in the Program's units
    rule = dataclasses.replace(rule, params={**(rule.params or {}), "units": "program"})
    prog = nc.compile(g, target="loihi2", dt=1.0, reset="zero", learning={"fc": rule})
    x = {"input": (np.random.default_rng(1).random((1, 80, n_in)) < 0.3).astype(np.float64)}
    return prog, x


def test_loihi2_per_neuron_decays_with_two_factor_learning():
    """A plastic projection into a node with per-neuron time constants: one lif population with
    per-neuron du/dv; the learning emulator's fused kernel and its per-step loop (taken when a
    projection's weights are recorded) compute the same v and spikes, and the weights learn."""
    prog, x = _learning_program()
    pop = prog.populations["lif"]
    assert pop.kind == "lif" and np.unique(np.asarray(pop.params["dv"])).size == 4
    (lp,) = [k for k, p in prog.projections.items() if p.kind == "learning_dense"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fused = prog.run(x, record=["lif.v", "lif.spikes"], raw=True)
        loop = prog.run(x, record=["lif.v", "lif.spikes", f"{lp}.w"], raw=True)
    for k in ("lif.v", "lif.spikes"):
        assert np.array_equal(fused.recordings[k], loop.recordings[k]), k
    assert fused.recordings["lif.spikes"].sum() > 0
    assert np.abs(np.diff(loop.recordings[f"{lp}.w"][0], axis=0)).sum() > 0


def test_loihi2_three_factor_post_with_per_neuron_decays_is_refused():
    from neurocompile.errors import UnsupportedError

    with pytest.raises(UnsupportedError) as e:
        _learning_program(three_factor=True)
    assert e.value.node == "lif" and e.value.parameter == "tau"


@pytest.mark.lava
def test_loihi2_per_neuron_decays_with_learning_equal_lava():
    """The two-factor learning Program above on Lava (LIFDecays post + LearningDense): spikes, v and
    the learning projection's weights at every step, and the final weights, equal the emulator's."""
    pytest.importorskip("lava.magma.core.run_configs", reason="needs lava-nc 0.10.0 (run in .venv-lava)")
    from neurocompile.targets.loihi2.lava_runner import Job, run_jobs

    prog, x = _learning_program()
    (lp,) = [k for k, p in prog.projections.items() if p.kind == "learning_dense"]
    steps = x["input"].shape[1]
    needs = [("lif", "spikes"), ("lif", "v"), (lp, "w")]
    (got,) = run_jobs([Job(prog, {"input": x["input"][0].astype(np.int64)}, steps, needs)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        emu = prog.run(x, record=[f"{n}.{v}" for n, v in needs], raw=True)
    for n, v in needs:
        a = got[(n, v)].reshape(steps, -1)
        b = np.asarray(emu.recordings[f"{n}.{v}"][0]).reshape(steps, -1).astype(np.int64)
        assert np.array_equal(a, b), (
            f"{n}.{v} differs first at step {int(np.argwhere((a != b).any(1))[0][0]) + 1}"
        )
    assert np.array_equal(got[(lp, "final_weights")], emu.recordings[f"{lp}.weights"][0])
    assert emu.recordings["lif.spikes"].sum() > 0


# ------------------------------------------------------------------------------------ decay levels
def _distinct(pop) -> int:
    d = np.stack(
        [np.broadcast_to(np.asarray(pop.params[k]).reshape(-1), (pop.size,)) for k in ("du", "dv")], 1
    )
    return int(np.unique(d, axis=0).shape[0])


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_loihi2_decay_levels_cluster_each_node(levels):
    """decay_levels=K: at most K distinct (du, dv) per node, a finding per clustered node; the
    cost in fidelity is measured by benchmarks/decay_levels.py."""
    for seed in (1, 4, 7):  # LIF and CubaLIF nodes, recurrent and not
        g, _ = random_graph(seed)
        prog = nc.compile(g, target="loihi2", decay_levels=levels, **COMPILE)
        codes = {(f["code"], f["node"]) for f in prog.provenance["findings"]}
        for name in ("n1", "n2"):
            pop = prog.populations[name]
            assert _distinct(pop) <= levels
            if _distinct(nc.compile(g, target="loihi2", **COMPILE).populations[name]) > levels:
                assert ("loihi2-decay-levels", name) in codes


def test_loihi2_decay_levels_at_least_the_distinct_count_change_nothing():
    g, _ = random_graph(4)
    a = nc.compile(g, target="loihi2", **COMPILE)
    b = nc.compile(g, target="loihi2", decay_levels=1000, **COMPILE)
    for name in ("n1", "n2"):
        for k in ("du", "dv", "bias_mant", "vth"):
            assert np.array_equal(
                np.asarray(a.populations[name].params[k]), np.asarray(b.populations[name].params[k])
            )
    assert not any(f["code"] == "loihi2-decay-levels" for f in b.provenance["findings"])


def test_loihi2_decay_levels_bad_values_and_cli(tmp_path, capsys):
    import nir

    from neurocompile.cli.main import main as cli_main

    g, _ = random_graph(4)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ParameterError) as e:
            nc.compile(g, target="loihi2", decay_levels=bad, **COMPILE)
        assert e.value.parameter == "decay_levels"
    n = 5
    model = tmp_path / "m.nir"
    nir.write(
        str(model),
        nir.NIRGraph(
            nodes={
                "x": nir.Input(input_type=np.array([3])),
                "fc": nir.Affine(weight=np.ones((n, 3)), bias=np.zeros(n)),
                "lif": nir.LIF(
                    tau=np.linspace(2e-3, 2e-2, n), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)
                ),
                "o": nir.Output(output_type=np.array([n])),
            },
            edges=[("x", "fc"), ("fc", "lif"), ("lif", "o")],
        ),
    )
    args = ["compile", str(model), "--target", "loihi2", "--dt", "1e-3", "--reset", "zero", "--quiet"]
    assert cli_main([*args, "-o", str(tmp_path / "p.ncp"), "--decay-levels", "2"]) == 0
    assert _distinct(Program.load(tmp_path / "p.ncp").populations["lif"]) == 2
    capsys.readouterr()
    assert cli_main([*args, "-o", str(tmp_path / "q.ncp"), "--decay-levels", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--decay-levels" in err
    assert (
        cli_main([*args[:3], "spinnaker", *args[4:], "-o", str(tmp_path / "s.ncp"), "--decay-levels", "2"])
        == 2
    )
