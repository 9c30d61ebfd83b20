"""``neurocompile emit``: a self-contained Lava project for a loihi2 Program (the hardware bundle).

The bundle needs lava-nc 0.10.0 (and its numpy/scipy), NOT neurocompile:

* ``network.py`` - ``build_network(input_data, hw=False)`` creating the network from stock
  ``lava.proc`` processes only (RingBuffer, LIF/LIFReset, Dense/Sparse/DelayDense/DelaySparse);
  every scalar is a literal in the code, every array an integer array from ``params.npz``. A
  population with per-neuron decays is our ``LIFDecays`` (``lifdecays.py``, copied into the bundle
  from ``targets/loihi2/lava_models/``: Lava's fixed-point LIF with du/dv per neuron; CPU only,
  ``--hw`` would need a Loihi 2 model for it, which the open Lava does not have). Learning is
  built as :mod:`.lava_runner` builds it: a ``learning_dense`` is ``LearningDense`` with a
  ``Loihi2FLearningRule``/``Loihi3FLearningRule`` (rule strings, impulses, taus, ``t_epoch``,
  ``rng_seed`` as literals; ``tag_1``/``tag_2`` from ``params.npz``), its bAP the post's
  ``s_out``; a ``lif_3f`` is our ``LIF3F`` (``lif3f.py``, copied from ``lava_models/`` with its
  trace arithmetic ``signals.py`` beside it as ``lif3f_signals.py``; CPU only), which sends bAP
  and, for three-factor rules, y1..y3; reward inputs and feedback projections go into its
  ``a_third_factor_in``. ``run.py --hw`` refuses a network with a CPU-only process (exit 2).
  A Program with learning and a projection other than dense/learning_dense is refused
  (:class:`UnsupportedError`): the emulator that writes ``golden.npz`` cannot run it.
* ``params.npz``   - ``POP.bias_mant``, ``PROJ.weights``, ``PROJ.delays``, ... (int64).
* ``run.py``       - ``Loihi2SimCfg(select_tag="fixed_pt")`` by default; ``--hw`` uses
  ``Loihi2HwCfg`` with ``lava.proc.embedded_io.spike`` PyToNx/NxToPy adapters around the I/O and
  ``lava.utils.loihi`` host selection (imported lazily: they need Intel's closed lava-loihi);
  ``--check`` compares the outputs with ``golden.npz`` exactly (exit 1 on any difference).
* ``inputs.npz``   - the run data (``(batch, time, *shape)`` per input key).
* ``golden.npz``   - the emulator's outputs for those inputs, plus ``POP.u``, ``POP.v``,
  ``POP.spikes`` of every LIF population (what a Lava Monitor reads at each step) and the
  learned ``PROJ.weights``, ``PROJ.tag_1_final``, ``PROJ.tag_2_final`` after the last step
  (what ``Var.get()`` reads; ``--check`` compares them too).
* ``README.md``    - what it needs, how to run it, the Lava traps it avoids.

Knowingly incomplete: on ``--hw`` only spike outputs are read back (through NxToPyAdapter);
``u``/``v`` of neurons on Loihi cores need lava-loihi's own probes, which this bundle does not
use, so ``--hw --check`` compares spike keys only (no learned weights either). The hardware
path cannot be exercised here (no lava-loihi, no chip); it follows the lava-dl tutorials'
adapter pattern (loihi2.md §5).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from neurocompile.errors import BackendUnavailableError, InputDataError, ParameterError, UnsupportedError
from neurocompile.files import atomic_directory
from neurocompile.program import Program, counts

from . import spec
from .lava_runner import components
from .signals import SIGNAL_FIELDS

#: Steps of the generated input when ``emit`` is given no ``--input``.
DEFAULT_STEPS = 100
#: Spike probability per input neuron and step of the generated input.
DEFAULT_ACTIVITY = 0.1
DEFAULT_SEED = 0

BUNDLE_FILES = ("network.py", "run.py", "params.npz", "inputs.npz", "golden.npz", "README.md")
_SIGNAL_FIELDS = tuple(SIGNAL_FIELDS)
#: our ProcessModel of lif_3f and the module it imports its trace arithmetic from, copied into the
#: bundle (the import rewritten from the package-relative one to the sibling file)
_LIF3F_FILES = ("lif3f.py", "lif3f_signals.py")
_LIF3F_IMPORT = ("from ..signals import ", "from lif3f_signals import ")
_SIGN_NAMES = {
    spec.SIGN_MODE_MIXED: "MIXED",
    spec.SIGN_MODE_EXCITATORY: "EXCITATORY",
    spec.SIGN_MODE_INHIBITORY: "INHIBITORY",
}


@dataclass(frozen=True)
class EmitReport:
    directory: str
    files: tuple[str, ...]
    populations: int
    projections: int
    lava_processes: int
    batch: int
    steps: int
    generated_input: bool
    golden_backend: str
    #: :meth:`neurocompile.program.Counts.text` (the counts compile and report print)
    counts: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = list(self.files)
        return d

    def summary(self) -> str:
        """The one line ``neurocompile emit`` prints."""
        return (
            f"emitted: Lava bundle in {self.directory} "
            f"({self.counts or f'{self.populations} populations, {self.projections} projections'}; "
            f"{self.lava_processes} Lava processes; "
            f"{self.batch} sample(s) x {self.steps} steps; golden from {self.golden_backend}); "
            f"run: {lava_interpreter()} {Path(self.directory) / 'run.py'} --check"
        )


def lava_interpreter() -> str:
    """The interpreter that can run the bundle (lava-nc 0.10.0 needs Python 3.10): this one when it
    has lava-nc, else the Lava interpreter the ``lava`` backend uses, else a description of one."""
    import sys

    from .run import lava_available, lava_python

    if lava_available():
        return sys.executable
    try:
        return str(lava_python())
    except BackendUnavailableError:
        return "<a Python 3.10 with lava-nc 0.10.0>"


def default_inputs(
    program: Program, steps: int = DEFAULT_STEPS, seed: int = DEFAULT_SEED
) -> dict[str, np.ndarray]:
    """Deterministic example input: Bernoulli(0.1) spikes; graded inputs get payloads 1..15."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, popname in program.inputs.items():
        pop = program.populations[popname]
        spikes = (rng.random((1, steps) + tuple(pop.shape)) < DEFAULT_ACTIVITY).astype(np.int64)
        if int(pop.params.get("num_message_bits", 0)) > 0:
            spikes = spikes * rng.integers(1, 16, size=spikes.shape)
        out[key] = spikes
    return out


def _per_neuron_decays(pop) -> bool:
    return pop.kind != "input" and (np.ndim(pop.params["du"]) > 0 or np.ndim(pop.params["dv"]) > 0)


def _params_arrays(program: Program) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name, pop in program.populations.items():
        if pop.kind == "input":
            continue
        n = pop.size
        if _per_neuron_decays(pop):
            for key in ("du", "dv"):
                val = np.asarray(pop.params[key], dtype=np.int64).reshape(-1)
                arrays[f"{name}.{key}"] = np.broadcast_to(val, (n,)).copy()
        for key in ("bias_mant", "bias_exp", "u_init", "v_init"):
            val = np.asarray(pop.params.get(key, 0), dtype=np.int64).reshape(-1)
            arrays[f"{name}.{key}"] = np.broadcast_to(val, (n,)).copy() if val.size == 1 else val
    for name, proj in program.projections.items():
        for key in ("weights", "delays", "pre", "post", "tag_1", "tag_2"):
            if key in proj.params:
                arrays[f"{name}.{key}"] = np.asarray(proj.params[key], dtype=np.int64)
    return arrays


def _is_plastic(proj) -> bool:
    return proj.kind == "learning_dense"


def _is_feedback(proj) -> bool:
    return int(proj.params.get("feedback", 0)) != 0


def _has_learning(program: Program) -> bool:
    return any(p.kind == "lif_3f" for p in program.populations.values()) or any(
        _is_plastic(pj) for pj in program.projections.values()
    )


def _learning_rule_source(q: Mapping[str, Any]) -> str:
    """``Loihi2FLearningRule(...)`` / ``Loihi3FLearningRule(...)`` with every field a literal, built
    from the same fields in the same way as ``lava_runner._make_learning_dense``."""
    three = bool(int(q["three_factor"]))
    kw = [f"{k}={(q[k] or None)!r}" for k in ("dw", "dd", "dt")]
    traces = ("x1", "x2") if three else ("x1", "x2", "y1", "y2", "y3")
    kw += [f"{k}_{f}={float(q[f'{k}_{f}'])!r}" for k in traces for f in ("impulse", "tau")]
    kw += [f"t_epoch={int(q['t_epoch'])}", f"rng_seed={int(q['rng_seed'])}"]
    cls = "Loihi3FLearningRule" if three else "Loihi2FLearningRule"
    return f"{cls}(\n            " + ",\n            ".join(kw) + ")"


def _check_emittable(program: Program) -> None:
    """Refuse (typed, naming the projection) what the bundle cannot reproduce: the golden run is
    the emulator's, whose learning path runs only dense static projections next to learning."""
    if not _has_learning(program):
        return
    for name, proj in program.projections.items():
        if proj.kind not in ("dense", "learning_dense"):
            raise UnsupportedError(
                f"cannot emit projection '{name}' ({proj.kind}) in a Program with learning: the emulator "
                "that writes golden.npz runs only dense projections next to learning_dense",
                node=name,
                parameter="kind",
                expected="dense or learning_dense",
            )


def _network_source(program: Program) -> str:
    pops, projs = program.populations, program.projections
    lines = []
    for name, pop in pops.items():
        if pop.kind == "input":
            continue
        p = pop.params
        if _per_neuron_decays(pop):
            lines.append(
                f"    net[{name!r}] = LIFDecays(shape=({pop.size},), "
                f"du=p[{name + '.du'!r}], dv=p[{name + '.dv'!r}], vth={int(p['vth'])},\n"
                f"        bias_mant=p[{name + '.bias_mant'!r}], bias_exp=p[{name + '.bias_exp'!r}],\n"
                f"        u=p[{name + '.u_init'!r}], v=p[{name + '.v_init'!r}])"
            )
            continue
        if pop.kind == "lif_3f":  # our LIF3F (lif3f.py): a LIF that sends bAP and y1..y3
            fields = ("y1_impulse", "y1_decay", "y3_impulse", "y3_decay") + _SIGNAL_FIELDS
            lines.append(
                f"    net[{name!r}] = LIF3F(shape=({pop.size},), "
                f"du={int(p['du'])}, dv={int(p['dv'])}, vth={int(p['vth'])},\n"
                f"        bias_mant=p[{name + '.bias_mant'!r}], bias_exp=p[{name + '.bias_exp'!r}],\n"
                f"        u=p[{name + '.u_init'!r}], v=p[{name + '.v_init'!r}],\n        "
                + ", ".join(f"{k}={int(p.get(k, 0))}" for k in fields)
                + ")"
            )
            continue
        cls = "LIFReset" if pop.kind == "lif_reset" else "LIF"
        extra = ""
        if pop.kind == "lif_reset":
            extra = (
                f", reset_interval={int(p['reset_interval'])}, reset_offset={int(p.get('reset_offset', 0))}"
            )
        lines.append(
            f"    net[{name!r}] = {cls}(shape=({pop.size},), "
            f"du={int(p['du'])}, dv={int(p['dv'])}, vth={int(p['vth'])},\n"
            f"        bias_mant=p[{name + '.bias_mant'!r}], bias_exp=p[{name + '.bias_exp'!r}],\n"
            f"        u=p[{name + '.u_init'!r}], v=p[{name + '.v_init'!r}]{extra})"
        )
    for name, proj in projs.items():
        q = proj.params
        n_pre, n_post = pops[proj.pre].size, pops[proj.post].size
        if _is_plastic(proj):  # lava_runner.build_lava_network / _make_learning_dense
            lines.append(
                f"    net[{name!r}] = LearningDense(weights=p[{name + '.weights'!r}],\n"
                f"        learning_rule={_learning_rule_source(q)},\n"
                f"        weight_exp={int(q['weight_exp'])}, num_weight_bits={int(q['num_weight_bits'])}, "
                f"sign_mode=SignMode.{_SIGN_NAMES[int(q['sign_mode'])]}, num_message_bits=0"
                + "".join(f",\n        {t}=p[{name + '.' + t!r}]" for t in ("tag_1", "tag_2") if t in q)
                + ")"
            )
            lines.append(f"    _connect(net, {proj.pre!r}, {name!r}, {proj.post!r}, hw)")
            lines.append(
                f"    _connect_bap(net, {name!r}, {proj.post!r}, three_factor={bool(int(q['three_factor']))})"
            )
            continue
        common = (
            f"weight_exp={int(q['weight_exp'])}, num_weight_bits={int(q['num_weight_bits'])}, "
            f"sign_mode=SignMode.{_SIGN_NAMES[int(q['sign_mode'])]}, "
            f"num_message_bits={int(q['num_message_bits'])}"
        )
        w = f"p[{name + '.weights'!r}]"
        if proj.kind == "dense":
            ctor = f"Dense(weights={w},\n        {common})"
        elif proj.kind == "delay_dense":
            d = f"p[{name + '.delays'!r}]"
            ctor = f"DelayDense(weights={w}, delays={d}, max_delay=int({d}.max()),\n        {common})"
        else:
            coo = f"_coo(p, {name!r}, {n_post}, {n_pre}"
            if proj.kind == "sparse" or np.asarray(q["pre"]).size == 0:
                ctor = f"Sparse(weights={coo}, 'weights'),\n        {common})"
            else:
                ctor = (
                    f"DelaySparse(weights={coo}, 'weights'), delays={coo}, 'delays'),\n"
                    f"        max_delay=int(p[{name + '.delays'!r}].max()), {common})"
                )
        lines.append(f"    net[{name!r}] = {ctor}")
        if _is_feedback(proj):  # errors -> third-factor input (targets/loihi2/signals.py)
            lines.append(f"    _connect_feedback(net, {proj.pre!r}, {name!r}, {proj.post!r})")
        else:
            lines.append(f"    _connect(net, {proj.pre!r}, {name!r}, {proj.post!r}, hw)")
    for name, pop in pops.items():  # a reward input into the third-factor input of a lif_3f
        if pop.kind == "lif_3f" and pop.params.get("reward"):
            lines.append(
                f"    _source(net, {pop.params['reward']!r}, hw).connect(net[{name!r}].a_third_factor_in)"
            )
    anchors = []
    for comp in components(program):
        lifs = [n for n in comp if pops[n].kind != "input"]
        if lifs:
            anchors.append(lifs[0])
    populations = {
        n: {
            "kind": p.kind,
            "shape": list(p.shape),
            "size": p.size,
            "num_message_bits": int(p.params.get("num_message_bits", 0)) if p.kind == "input" else 0,
        }
        for n, p in pops.items()
    }
    outputs = {k: [o.population, o.observable, float(o.scale)] for k, o in program.outputs.items()}
    extra = []
    if any(_per_neuron_decays(p) for p in pops.values()):
        extra.append("from lifdecays import LIFDecays  # per-neuron du/dv (lifdecays.py)")
    if any(p.kind == "lif_3f" for p in pops.values()):
        extra.append("from lif3f import LIF3F  # bAP and y1..y3 for learning (lif3f.py)")
    rules = sorted(
        {
            "Loihi3FLearningRule" if int(pj.params["three_factor"]) else "Loihi2FLearningRule"
            for pj in projs.values()
            if _is_plastic(pj)
        }
    )
    if rules:
        extra.append("from lava.magma.core.learning.learning_rule import " + ", ".join(rules))
        extra.append("from lava.proc.dense.process import LearningDense")
    cpu_only = [
        n for n, p in pops.items() if p.kind != "input" and (p.kind == "lif_3f" or _per_neuron_decays(p))
    ]
    plastic = {n: [pops[pj.post].size, pops[pj.pre].size] for n, pj in projs.items() if _is_plastic(pj)}
    helpers = ""
    if rules:
        helpers += _BAP_HELPER
    if any(_is_feedback(pj) for pj in projs.values()):
        helpers += _FEEDBACK_HELPER
    return _NETWORK_TEMPLATE.format(
        extra_imports="".join(line + "\n" for line in extra),
        helpers=helpers,
        plastic=_literal(plastic),
        cpu_only=json.dumps(cpu_only),
        inputs=_literal(dict(program.inputs)),
        populations=_literal(populations),
        outputs=_literal(outputs),
        anchors=json.dumps(anchors),
        body="\n".join(lines),
    )


def _lif3f_sources() -> dict[str, str]:
    """``lif3f.py`` (``lava_models/lif3f.py``, its ``..signals`` import pointed at the sibling
    ``lif3f_signals.py``) and ``lif3f_signals.py`` (``signals.py``, numpy only), verbatim otherwise."""
    here = Path(__file__).parent
    model = (here / "lava_models" / "lif3f.py").read_text()
    old, new = _LIF3F_IMPORT
    if model.count(old) != 1:  # the copy would import neurocompile: refuse rather than write a broken bundle
        raise UnsupportedError(
            f"lava_models/lif3f.py no longer imports its trace arithmetic as {old.strip()!r}",
            parameter="lif_3f",
            expected="one such import line (emit rewrites it for the bundle)",
        )
    signals = (here / "signals.py").read_text()
    return {"lif3f.py": model.replace(old, new), "lif3f_signals.py": signals}


def _literal(d: dict) -> str:
    """A dict as a Python literal, one key per line."""
    body = "".join(f"    {json.dumps(k)}: {json.dumps(v, sort_keys=True)},\n" for k, v in d.items())
    return "{\n" + body + "}"


def emit_bundle(
    program: Program,
    directory: str | os.PathLike,
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = DEFAULT_SEED,
) -> EmitReport:
    """Write the bundle for ``program`` into ``directory`` (created; existing bundle files replaced).

    ``inputs`` (the ``.npz`` convention) become ``inputs.npz``; without them a deterministic
    example input of ``steps`` steps is generated. ``golden.npz`` is the emulator's run on them.
    """
    from neurocompile.targets.loihi2.emulator.run import run_program as run_emulator

    from .schema import validate_program

    validate_program(program)
    _check_emittable(program)
    if not any(p.kind != "input" for p in program.populations.values()):
        raise ParameterError(
            "the Program has no lif or lif_reset population",
            parameter="populations",
            expected="at least one neuron population",
        )
    generated = inputs is None
    if generated:
        if steps < 1:
            raise InputDataError(f"steps={steps} is not positive", parameter="steps", expected=">= 1")
        inputs = default_inputs(program, steps, seed)
    inputs = {k: np.asarray(v) for k, v in inputs.items()}
    record = [
        f"{n}.{o}" for n, p in program.populations.items() if p.kind != "input" for o in ("u", "v", "spikes")
    ]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        golden = run_emulator(program, inputs, record=record)
    batch, n_steps = next(iter(golden.recordings.values())).shape[:2]

    final = Path(directory)
    with atomic_directory(final, what="--output") as out:  # written whole, or not at all
        (out / "network.py").write_text(_network_source(program))
        files = BUNDLE_FILES
        if any(_per_neuron_decays(p) for p in program.populations.values()):
            src = Path(__file__).parent / "lava_models" / "lifdecays.py"
            (out / "lifdecays.py").write_text(src.read_text())
            files = (*files, "lifdecays.py")
        if any(p.kind == "lif_3f" for p in program.populations.values()):
            for name, text in _lif3f_sources().items():
                (out / name).write_text(text)
            files = (*files, *_LIF3F_FILES)
        (out / "run.py").write_text(_RUN_TEMPLATE)
        np.savez_compressed(out / "params.npz", **_params_arrays(program))
        np.savez_compressed(out / "inputs.npz", **{k: v.astype(np.int64) for k, v in inputs.items()})
        gold = {k: np.asarray(v) for k, v in golden.arrays().items()}
        gold["__meta__"] = np.array(
            json.dumps(
                {"backend": golden.backend, "fidelity": golden.fidelity, "reference": golden.reference},
                sort_keys=True,
            )
        )
        np.savez_compressed(out / "golden.npz", **gold)
        n_lava = len(program.populations) + len(program.projections)
        n_comp = sum(1 for c in components(program) if any(program.populations[n].kind != "input" for n in c))
        (out / "README.md").write_text(
            _README_TEMPLATE.format(
                populations=len(program.populations),
                projections=len(program.projections),
                batch=batch,
                steps=n_steps,
                generated="generated by `neurocompile emit` (Bernoulli 0.1 spikes, seed 0)"
                if generated
                else "the `--input` file given to `neurocompile emit`",
                reference=golden.reference,
                link_note=("" if n_comp <= 1 else _LINK_NOTE.format(n=n_comp)),
            )
        )
    return EmitReport(
        directory=str(final),
        files=files,
        populations=len(program.populations),
        projections=len(program.projections),
        lava_processes=n_lava + (n_comp + 1 if n_comp > 1 else 0),
        batch=int(batch),
        steps=int(n_steps),
        generated_input=generated,
        golden_backend=golden.backend,
        counts=counts(program).text(),
    )


# ----------------------------------------------------------------------------- templates
_NETWORK_TEMPLATE = '''\
"""The network, built from stock lava-nc 0.10.0 processes (generated by neurocompile emit); a
population with one du/dv per neuron is LIFDecays (lifdecays.py beside this file: Lava's
fixed-point LIF with per-neuron decays, a CPU ProcessModel only); a lif_3f population (the
post of a three-factor rule, a learning-signal population) is LIF3F (lif3f.py: our LIF whose
CPU model also sends its bAP and y1..y3 traces).

Scalars are literals below; arrays are the integer arrays of params.npz (weights as the user
wrote them: Lava clips them per sign mode and truncates them to num_weight_bits itself).
Every population is flat, shape (size,), neuron index = C-order flattening of its shape.
This file imports lava-nc, numpy and scipy only.
"""

import os

import numpy as np
from scipy.sparse import csr_matrix

from lava.proc.dense.process import DelayDense, Dense
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF, LIFReset
from lava.proc.sparse.process import DelaySparse, Sparse
from lava.utils.weightutils import SignMode
{extra_imports}
HERE = os.path.dirname(os.path.abspath(__file__))

#: run-data key -> input population
INPUTS = {inputs}
POPULATIONS = {populations}
#: output key -> [population, observable, scale]
OUTPUTS = {outputs}
#: one LIF population per connected component; Lava compiles only what is connected to the
#: process run() is called on, so several components are tied by zero-weight links.
ANCHORS = {anchors}
#: plastic projections -> [n_post, n_pre] (their weights and tags are read after the last step)
PLASTIC = {plastic}
#: populations whose process has a CPU ProcessModel only (LIFDecays, LIF3F): no --hw
CPU_ONLY = {cpu_only}


def load_params(path=None):
    with np.load(path or os.path.join(HERE, "params.npz")) as f:
        return {{k: f[k] for k in f.files}}


def _coo(p, name, n_post, n_pre, key):
    return csr_matrix((p[name + "." + key], (p[name + ".post"], p[name + ".pre"])), shape=(n_post, n_pre),
                      dtype=np.int64)


def _source(net, name, hw):
    """The OutPort carrying a population's spikes (on hardware, inputs pass a PyToNxAdapter)."""
    if POPULATIONS[name]["kind"] != "input" or not hw:
        return net[name].s_out
    key = name + "#py2nx"
    if key not in net:
        from lava.proc.embedded_io.spike import PyToNxAdapter  # needs lava-loihi

        net[key] = PyToNxAdapter(shape=(POPULATIONS[name]["size"],),
                                 num_message_bits=POPULATIONS[name]["num_message_bits"])
        net[name].s_out.connect(net[key].inp)
    return net[key].out


def _connect(net, pre, proj, post, hw):
    _source(net, pre, hw).connect(net[proj].s_in)
    net[proj].a_out.connect(net[post].a_in)
{helpers}

def build_network(input_data, params=None, hw=False):
    """Processes of one sample's network, {{name: process}}.

    input_data: {{input population: integer array (size, T)}} (RingBuffer data, time last).
    """
    p = load_params() if params is None else params
    net = {{}}
    for name, pop in POPULATIONS.items():
        if pop["kind"] == "input" and not name.startswith("#"):
            net[name] = RingBuffer(data=np.asarray(input_data[name], dtype=np.int64))
{body}
    if len(ANCHORS) > 1:
        net["#link"] = RingBuffer(data=np.zeros((1, 1), dtype=np.int64))
        POPULATIONS.setdefault("#link", {{"kind": "input", "size": 1, "num_message_bits": 0}})
        for i, name in enumerate(ANCHORS):
            size = POPULATIONS[name]["size"]
            net["#link%d" % i] = Dense(
                weights=np.zeros((size, 1), dtype=np.int64), sign_mode=SignMode.EXCITATORY
            )
            _connect(net, "#link", "#link%d" % i, name, hw)
    return net
'''

_BAP_HELPER = """

def _connect_bap(net, proj, post, three_factor):
    \"\"\"The post population's spikes as the bAP of a plastic projection; from a LIF3F its
    s_out_bap, and for a three-factor rule also its y1, y2, y3 traces.\"\"\"
    if POPULATIONS[post]["kind"] == "lif_3f":
        net[post].s_out_bap.connect(net[proj].s_in_bap)
        if three_factor:
            for k in ("y1", "y2", "y3"):
                getattr(net[post], "s_out_" + k).connect(getattr(net[proj], "s_in_" + k))
    else:
        net[post].s_out.connect(net[proj].s_in_bap)
"""

_FEEDBACK_HELPER = """

def _connect_feedback(net, pre, proj, post):
    \"\"\"A feedback projection: the errors of a LIF3F (s_out_err, graded) into the third-factor
    input of another LIF3F.\"\"\"
    net[pre].s_out_err.connect(net[proj].s_in)
    net[proj].a_out.connect(net[post].a_third_factor_in)
"""

_RUN_TEMPLATE = '''\
"""Run the emitted network on Lava (generated by neurocompile emit; needs lava-nc 0.10.0 only).

    python run.py                 # Loihi2SimCfg(select_tag="fixed_pt"), writes outputs.npz
    python run.py --check         # ... and compares with golden.npz exactly (exit 1 on a difference)
    python run.py --hw [--partition P | --board B | --host ADDR]   # Loihi 2 (needs lava-loihi)

Samples run one after another, each in a fresh network (Lava has no batch dimension). With
plastic projections the learned weights and tags after the last step are read too
(PROJ.weights, PROJ.tag_1_final, PROJ.tag_2_final; not on --hw).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import network  # noqa: E402


def _load(name):
    with np.load(os.path.join(HERE, name)) as f:
        return {k: f[k] for k in f.files if k != "__meta__"}


def wanted_keys(golden, hw):
    """Keys to read back: outputs plus POP.u/v/spikes recordings (spikes only on hardware)."""
    keys = {}
    for key, (pop, obs, scale) in network.OUTPUTS.items():
        keys[key] = (pop, obs, scale)
    for key in golden:
        if key not in keys and "." in key:
            pop, obs = key.rsplit(".", 1)
            if pop in network.POPULATIONS:
                keys[key] = (pop, obs, None)
    if hw:
        keys = {k: v for k, v in keys.items() if v[1] == "spikes"}
    return keys


#: learned state read after the last step: (Var of the plastic projection, golden.npz key suffix)
FINAL_VARS = (("weights", "weights"), ("tag_1", "tag_1_final"), ("tag_2", "tag_2_final"))


def final_keys(golden, hw):
    """PROJ.weights/tag_1_final/tag_2_final of the plastic projections that golden.npz records
    (none on hardware: only spikes are read back there)."""
    if hw:
        return {}
    return {proj + "." + suffix: (proj, var) for proj in network.PLASTIC for var, suffix in FINAL_VARS
            if proj + "." + suffix in golden}


def run_sample(data, steps, keys, finals=None, hw=False):
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc.monitor.process import Monitor

    net = network.build_network(data, hw=hw)
    probes = {}
    for key, (pop, obs, _) in keys.items():
        proc = net[pop]
        if network.POPULATIONS[pop]["kind"] == "input":
            continue
        target = {"u": proc.u, "v": proc.v, "spikes": proc.s_out}[obs]
        if hw:
            from lava.proc.embedded_io.spike import NxToPyAdapter  # needs lava-loihi

            adapter = NxToPyAdapter(shape=proc.s_out.shape)
            proc.s_out.connect(adapter.inp)
            target = adapter.out
        mon = Monitor()
        mon.probe(target, steps)
        probes[key] = (mon, target)
    root = net[network.ANCHORS[0]]
    if hw:
        from lava.magma.core.run_configs import Loihi2HwCfg

        cfg = Loihi2HwCfg()
    else:
        from lava.magma.core.run_configs import Loihi2SimCfg

        cfg = Loihi2SimCfg(select_tag="fixed_pt")
    out = {}
    try:
        root.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
        for key, (mon, target) in probes.items():
            out[key] = np.asarray(mon.get_data()[target.process.name][target.name]).astype(np.int64)
        for key, (proj, var) in (finals or {}).items():
            out[key] = np.asarray(getattr(net[proj], var).get()).astype(np.int64)
    finally:
        root.stop()
    for key, (pop, obs, _) in keys.items():
        if network.POPULATIONS[pop]["kind"] == "input":
            out[key] = np.asarray(data[pop]).T.astype(np.int32).astype(np.int64)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hw", action="store_true", help="run on Loihi 2 (Loihi2HwCfg; needs lava-loihi)")
    ap.add_argument("--partition", help="SLURM partition for --hw")
    ap.add_argument("--board", help="SLURM board for --hw")
    ap.add_argument("--host", help="Ethernet host address for --hw (instead of SLURM)")
    ap.add_argument("--check", action="store_true", help="compare with golden.npz exactly")
    ap.add_argument("--output", default=os.path.join(HERE, "outputs.npz"))
    args = ap.parse_args(argv)
    if args.hw and network.CPU_ONLY:
        print("--hw: population(s) %s use a CPU-only ProcessModel (LIFDecays/LIF3F); the open Lava has "
              "no Loihi 2 model for them" % ", ".join(network.CPU_ONLY), file=sys.stderr)
        return 2
    if args.hw:
        from lava.utils import loihi  # host selection; needs lava-loihi

        if args.host:
            loihi.use_ethernet_host(args.host)
        else:
            loihi.use_slurm_host(partition=args.partition, board=args.board)

    inputs = _load("inputs.npz")
    golden = _load("golden.npz")
    keys = wanted_keys(golden, args.hw)
    finals = final_keys(golden, args.hw)
    batch, steps = next(iter(inputs.values())).shape[:2]
    per_sample = []
    for b in range(batch):
        data = {network.INPUTS[k]: np.asarray(v[b]).reshape(steps, -1).T for k, v in inputs.items()}
        per_sample.append(run_sample(data, steps, keys, finals, hw=args.hw))
    results = {}
    for key, (pop, obs, scale) in keys.items():
        shape = tuple(network.POPULATIONS[pop]["shape"])
        arr = np.stack([s[key] for s in per_sample]).reshape((batch, steps) + shape)
        results[key] = arr.astype(np.float64) * scale if (scale is not None and obs != "spikes") else arr
    for key, (proj, _) in finals.items():  # (batch, n_post, n_pre)
        results[key] = np.stack([s[key] for s in per_sample]).reshape((batch, *network.PLASTIC[proj]))
    np.savez_compressed(args.output, **results)
    platform = "Loihi 2 (Loihi2HwCfg)" if args.hw else 'Loihi2SimCfg(select_tag="fixed_pt")'
    print("ran %d sample(s) x %d steps on %s; wrote %s" % (batch, steps, platform, args.output))
    if not args.check:
        return 0
    bad = 0
    for key in sorted(results):
        if key not in golden:
            continue
        same = results[key].shape == golden[key].shape and np.array_equal(results[key], golden[key])
        if not same:
            bad += 1
            if results[key].shape == golden[key].shape:
                diff = np.argwhere(results[key] != golden[key])
                first = tuple(int(i) for i in diff[0])
                axes = "(sample, post, pre)" if key in finals else "(sample, step-1, ...)"
                where = "%d values differ, first at %s %s" % (len(diff), axes, first)
            else:
                where = "shape %s vs %s" % (results[key].shape, golden[key].shape)
            print("MISMATCH %s: %s" % (key, where))
    print("check: %d of %d keys identical to golden.npz" % (len(results) - bad, len(results)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
'''

_LINK_NOTE = """
The network has {n} separate components. Lava compiles only the processes connected to the one
`run()` is called on, so `network.py` ties them together with a zero-data RingBuffer and one
all-zero-weight Dense into one LIF population per component (each adds exactly 0 to that input).
"""

_README_TEMPLATE = """# Lava bundle (generated by `neurocompile emit`)

A loihi2 Program as a stand-alone Lava project: {populations} populations, {projections} projections.

## Needs

* Python 3.10 with **lava-nc 0.10.0** (`pip install lava-nc==0.10.0`; it brings numpy and scipy).
  Not neurocompile.
* For `--hw` only: Intel's closed *Lava extension for Loihi* (lava-loihi, INRC members) and access
  to a Loihi 2 system (SLURM partition/board, or an Ethernet host).

## Files

| file | what |
|---|---|
| `network.py` | `build_network(input_data, hw=False)`: stock `lava.proc` processes only \
(RingBuffer, LIF/LIFReset, Dense/Sparse/DelayDense/DelaySparse, LearningDense with a \
`Loihi2FLearningRule`/`Loihi3FLearningRule`; a population with per-neuron \
decays is `LIFDecays` from `lifdecays.py`, a `lif_3f` population (post of a three-factor rule, \
learning-signal population) `LIF3F` from `lif3f.py` (with `lif3f_signals.py`), both CPU \
only: `--hw` needs Loihi 2 models for them, which the open Lava does not have), scalars and \
rule strings as literals, explicit \
`weight_exp`, `num_weight_bits`, `sign_mode`, `num_message_bits` |
| `params.npz` | integer arrays: `POP.bias_mant`, `POP.bias_exp`, `POP.u_init`, `POP.v_init`, \
`PROJ.weights`, `PROJ.delays`, `PROJ.pre`/`PROJ.post` (sparse), `PROJ.tag_1`/`PROJ.tag_2` (plastic) |
| `inputs.npz` | the input data, one key per input, `(batch, time, *shape)`: {generated} |
| `golden.npz` | outputs of neurocompile's emulator for those inputs ({reference}), plus `POP.u`, \
`POP.v`, `POP.spikes` of every LIF population at every step and, per plastic projection, \
`PROJ.weights`, `PROJ.tag_1_final`, `PROJ.tag_2_final` after the last step `(batch, n_post, n_pre)` |
| `run.py` | runs it and writes `outputs.npz`; `--check` compares with `golden.npz` |

{batch} sample(s) x {steps} steps.

## Run

    python run.py --check                      # CPU, Loihi2SimCfg(select_tag="fixed_pt"); exit 0 = bit-exact
    python run.py --hw --partition oheogulch   # Loihi 2 via SLURM (or --board B, or --host ADDR)

Samples run one after another, each in a fresh network. On `--hw` the inputs enter the chip
through `lava.proc.embedded_io.spike.PyToNxAdapter` and output spikes come back through
`NxToPyAdapter`; only spike outputs are read back and checked there (`u`/`v` of neurons on
Loihi cores need lava-loihi's own probes; learned weights are not read back either). A network
with a CPU-only process (`LIFDecays`, `LIF3F`) refuses `--hw` (exit 2). Timing is Lava's: a
spike emitted at step t reaches the next population at t+1 (+ its synaptic delay), the first
step has `time_step == 1`.
{link_note}
## Lava traps this bundle avoids

* **LIFRefractory** has no `fixed_pt` model (`Loihi2SimCfg(select_tag="fixed_pt")` fails with
  "No ProcessModels found"); only LIF and LIFReset are used.
* **TernaryLIF into a binary Dense**: a binary Dense does `astype(bool)`, so a -1 spike acts as +1;
  no TernaryLIF is used.
* **Runtime `vth` changes** are ignored by the fixed-point LIF (the threshold is cached on the
  first step), and weights set at runtime are not re-truncated: every parameter is given at
  construction and never changed.
* **LearningLIF with 3-factor ports** deadlocks (its fixed model never sends bAP/y traces): the
  post population of a plastic projection is a LIF whose `s_out` is the bAP, or our `LIF3F`
  (`lif3f.py`), whose model sends `s_out_bap` and `s_out_y1..y3` every step.
* **Sign mode**: `sign_mode` is always explicit (Lava would otherwise infer it from the weights,
  and MIXED mode drops one more weight LSB than the others).
"""
