"""The stand-alone PyNN bundle of a spinnaker Program (``neurocompile emit PROG -o DIR``).

Bundle layout (``docs/reference/spinnaker.md`` §5.1)::

    run.py          stand-alone PyNN script (verbatim copy of bundle_run.py: numpy + PyNN only);
                    `python run.py` imports pyNN.spiNNaker, `python run.py spiNNaker` follows
                    EBRAINS' `run.py {system}` convention through pyNN.utility.get_simulator
    network.npz     populations (PyNN model, parameters, v_init, i_offset), projections as
                    FromListConnector lists (pre, post, weight, delay ms), input spikes per sample,
                    max_expected_summed_weight pinning the ring-buffer shifts, neurons_per_core
    spynnaker.cfg   template: virtual board (mapping check, no spikes); comments show a real board
    manifest.json   sPyNNaker 1!7.4.1 pin, tick/dt, shifts and weight scales per population,
                    w16 checksums, emulator golden info, file hashes
    golden.npz      the emulator's spikes (`POP.spikes`, (batch, ticks, size)) for `run.py --check`
    README.md       how to run it (local board, virtual board, EBRAINS)

:func:`network_arrays` is also what :mod:`.board` hands to the virtual-board worker, so the
board check and the bundle share one network description.

Weights: the PyNN weight is ``w16 / 2**(15 - shift)`` (exact in float64), negative for
inhibitory projections (PyNN's convention for current synapses; sPyNNaker 7.4.1 stores
``rint(|w| * 2**(15 - shift))``, verified by reading back with ``Projection.get``, which returns
magnitudes). Shifts are pinned with ``max_expected_summed_weight = 0.75 * 2**shift``
(``spec.pinning_weight``): sPyNNaker's ``get_ring_buffer_shifts`` takes ``ceil(log2(m))`` and
adds one when ``2**that <= m`` (``population_vertex.py`` L1365-1402), which gives exactly ``shift``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from neurocompile.errors import ParameterError, UnsupportedError
from neurocompile.files import atomic_directory
from neurocompile.program import Program, counts

from . import bundle_run, spec

SPYNNAKER_PIN = "1!7.4.1"
PYNN_PIN = "0.13.0"
DEFAULT_NEURONS_PER_CORE = 256
DEFAULT_STEPS = 100
#: Program population kind -> PyNN cell type.
PYNN_MODELS = {
    "spike_source": "SpikeSourceArray",
    "if_curr_exp": "IF_curr_exp",
    "if_curr_delta": "IF_curr_delta",
}
_SCALARS = {
    "IF_curr_exp": ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac", "tau_syn_E", "tau_syn_I"),
    "IF_curr_delta": ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac"),
}
_ARRAYS = ("i_offset", "v_init")
RECEPTORS = ("excitatory", "inhibitory")

VIRTUAL_CFG = """\
# sPyNNaker 1!7.4.1 configuration, read from the CWD of `python run.py`.
# sPyNNaker also needs a user file ~/.spynnaker.cfg to exist (it may hold only "[Machine]").
[Machine]
# Virtual SpiNN-5 board: maps the network (placement, routing, SDRAM, quantised weights) but runs
# nothing, so no spikes are recorded. For a real board replace these two lines by e.g.
#   machine_name = <board IP>        (a local board)   or   spalloc_server = <host>   (spalloc)
virtual_board = True
version = 5

[Mode]
mode = Info

[Reports]
write_network_graph = False
"""


def shift_to_max_expected(shift: int) -> float:
    """The ``max_expected_summed_weight`` that makes sPyNNaker 7.4.1 choose ``shift``
    (:func:`spec.pinning_weight`; the virtual-board readback tests check it)."""
    s = int(shift)
    if s < spec.RING_BUFFER_SHIFT_MIN:
        raise ParameterError(
            f"ring-buffer shift {s} is negative", parameter="ring_buffer_shifts", expected=">= 0"
        )
    return spec.pinning_weight(s)


def weight_scale(shift: int) -> float:
    """sPyNNaker's weight scale for current inputs: ``2**(16 - (shift + 1))`` (:func:`spec.weight_scale`)."""
    return spec.weight_scale(shift)


def _scalar(pop: str, name: str, value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64).ravel()
    if arr.size == 0 or not np.all(arr == arr[0]):
        raise UnsupportedError(
            "parameter varies across the population; PyNN cell parameters of this bundle are scalars",
            node=pop,
            parameter=name,
            expected="one value",
        )
    return float(arr[0])


def population_shifts(program: Program) -> dict[str, list[int]]:
    out = {}
    for p in program.populations.values():
        if p.kind in ("if_curr_exp", "if_curr_delta"):
            sh = p.params.get("ring_buffer_shifts")
            if sh is None:
                raise ParameterError(
                    "neuron population has no ring_buffer_shifts",
                    node=p.name,
                    parameter="ring_buffer_shifts",
                    expected="[exc, inh] ints",
                )
            out[p.name] = [int(s) for s in np.asarray(sh).ravel()[:2]]
    return out


def network_arrays(
    program: Program,
    inputs: Mapping[str, np.ndarray] | None = None,
    steps: int | None = None,
    prefix: str = "",
) -> tuple[dict, dict[str, np.ndarray]]:
    """The ``network.npz`` description of ``program``: ``(net dict, arrays)``.

    ``inputs`` are the run inputs (``.npz`` layout, keys = ``program.inputs``); their spikes
    become the ``SpikeSourceArray`` times (tick ``t`` -> ``t * tick_ms`` ms). ``prefix`` is put
    before every label (used to batch several Programs into one sPyNNaker run).
    """
    if program.target != "spinnaker":
        raise UnsupportedError(
            f"a {program.target!r} Program cannot be written as a PyNN network",
            parameter="target",
            expected="spinnaker",
        )
    tick = float(program.semantics.get("tick_ms", 1.0))
    if tick <= 0:
        raise ParameterError(f"tick_ms {tick} is not positive", parameter="tick_ms", expected="0.1 or 1.0")
    shifts = population_shifts(program)
    index = {name: i for i, name in enumerate(program.populations)}
    arrays: dict[str, np.ndarray] = {}
    pops: list[dict] = []
    readout_v = {o.population for o in program.outputs.values() if o.observable == "v"}
    for i, p in enumerate(program.populations.values()):
        model = PYNN_MODELS.get(p.kind)
        if model is None:
            raise UnsupportedError(
                f"population kind {p.kind!r} has no PyNN model",
                node=p.name,
                parameter="kind",
                expected=" or ".join(PYNN_MODELS),
            )
        entry: dict[str, Any] = {"label": prefix + p.name, "model": model, "size": int(p.size)}
        if model != "SpikeSourceArray":
            missing = [k for k in _SCALARS[model] if k not in p.params]
            if missing:
                raise ParameterError(f"missing PyNN parameters {missing}", node=p.name, parameter=missing[0])
            entry["params"] = {}
            entry["arrays"] = []
            for k in _SCALARS[model]:
                vals = np.asarray(p.params[k], dtype=np.float64).ravel()
                if vals.size > 1 and not np.all(vals == vals[0]):
                    # one value per neuron: a PyNN per-neuron parameter array
                    arrays[f"pop{i}.{k}"] = np.broadcast_to(vals, (p.size,)).copy()
                    entry["arrays"].append(k)
                else:
                    entry["params"][k] = _scalar(p.name, k, p.params[k])
            for k in _ARRAYS:
                if k in p.params:
                    arrays[f"pop{i}.{k}"] = np.broadcast_to(
                        np.asarray(p.params[k], dtype=np.float64).ravel(), (p.size,)
                    ).copy()
                    entry["arrays"].append(k)
            entry["ring_buffer_shifts"] = shifts[p.name]
            entry["max_expected_summed_weight"] = [shift_to_max_expected(s) for s in shifts[p.name]]
            entry["weight_scales"] = [weight_scale(s) for s in shifts[p.name]]
            entry["neurons_per_core"] = int(p.params.get("neurons_per_core", DEFAULT_NEURONS_PER_CORE))
            entry["record"] = ["spikes"] + (["v"] if p.name in readout_v else [])
        pops.append(entry)
    projs: list[dict] = []
    for j, q in enumerate(program.projections.values()):
        if q.kind not in ("from_list", "stdp"):
            raise UnsupportedError(
                f"projection kind {q.kind!r}", node=q.name, parameter="kind", expected="from_list or stdp"
            )
        receptor = q.params.get("receptor", "excitatory")
        if receptor not in RECEPTORS:
            raise ParameterError(
                f"receptor {receptor!r}", node=q.name, parameter="receptor", expected=" or ".join(RECEPTORS)
            )
        if q.post not in shifts:
            raise UnsupportedError(
                f"projection into {q.post!r}, which is not a neuron population",
                node=q.name,
                parameter="post",
                expected="an if_curr_exp / if_curr_delta population",
            )
        shift = shifts[q.post][RECEPTORS.index(receptor)]
        w16 = np.asarray(q.params["w16"], dtype=np.int64).ravel()
        d = np.asarray(q.params["delays"], dtype=np.int64).ravel()
        if w16.size and (w16.min() < 0 or w16.max() > 0xFFFF):
            raise ParameterError("w16 outside 0..65535", node=q.name, parameter="w16", expected="uint16")
        if d.size and d.min() < 1:
            raise ParameterError(
                f"delay {int(d.min())} ticks", node=q.name, parameter="delays", expected=">= 1"
            )
        sign = -1.0 if receptor == "inhibitory" else 1.0
        arrays[f"proj{j}.pre"] = np.asarray(q.params["pre"], dtype=np.int64).ravel()
        arrays[f"proj{j}.post"] = np.asarray(q.params["post"], dtype=np.int64).ravel()
        arrays[f"proj{j}.weight"] = sign * w16.astype(np.float64) / weight_scale(shift)
        arrays[f"proj{j}.delay"] = np.round(d * tick, 9)
        arrays[f"proj{j}.w16"] = w16
        projs.append(
            {
                "label": prefix + q.name,
                "pre": prefix + q.pre,
                "post": prefix + q.post,
                "receptor": receptor,
                "n": int(w16.size),
                "shift": int(shift),
            }
        )
        if q.kind == "stdp":  # sim.STDPMechanism(timing_dependence=..., weight_dependence=...) (learning.py)
            from .learning import pynn_arguments

            projs[-1]["plasticity"] = {
                k: [c, kw] for k, (c, kw) in pynn_arguments(q.params["plasticity"]).items()
            }
    n_steps = int(steps) if steps is not None else DEFAULT_STEPS
    n_samples = 0
    if inputs:
        for name, pop_name in program.inputs.items():
            if name not in inputs:
                continue
            x = np.asarray(inputs[name])
            size = program.populations[pop_name].size
            x = x.reshape(x.shape[0], x.shape[1], size)
            n_steps, n_samples = int(x.shape[1]), int(x.shape[0])
            s, t, n = np.nonzero(x)
            arrays[f"pop{index[pop_name]}.spikes"] = np.stack([s, t, n]).astype(np.int64)
    for k in [k for k in arrays if k.endswith(".spikes")]:
        _check_tick_times(arrays[k][1], tick)
    net = {
        "format": bundle_run.NETWORK_FORMAT,
        "format_version": bundle_run.NETWORK_FORMAT_VERSION,
        "tick_ms": tick,
        "n_steps": n_steps,
        "n_samples": n_samples,
        "populations": pops,
        "projections": projs,
    }
    return net, arrays


def _check_tick_times(ticks: np.ndarray, tick_ms: float) -> None:
    """sPyNNaker's SpikeSourceArray puts time t at tick ``ceil(floor(t*1000) / dt_us)``."""
    t = np.unique(ticks)
    ms = np.round(t * tick_ms, 6)
    back = np.ceil(np.floor(ms * 1000.0 + 1e-9) / round(tick_ms * 1000.0))
    if not np.array_equal(back.astype(np.int64), t):
        raise ParameterError("input spike ticks do not survive the ms round trip", parameter="tick_ms")


def save_network(path: str | Path, net: dict, arrays: Mapping[str, np.ndarray]) -> None:
    np.savez_compressed(path, **{"network.json": np.array(json.dumps(net, sort_keys=True))}, **arrays)


@dataclass(frozen=True)
class BundleReport:
    directory: str
    populations: int
    projections: int
    synapses: int
    samples: int
    steps: int
    golden_backend: str | None
    golden_note: str
    #: :meth:`neurocompile.program.Counts.text` (the counts compile and report print)
    counts: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """The one line ``neurocompile emit`` prints."""
        return (
            f"emitted: PyNN/sPyNNaker bundle in {self.directory} ("
            + (
                self.counts
                or f"{self.populations} populations, {self.projections} projections, {self.synapses} synapses"
            )
            + "; "
            f"{self.samples} sample(s) x {self.steps} ticks; "
            f"golden: {self.golden_backend or self.golden_note}); "
            f"run: cd {self.directory} && python run.py"
        )


def _golden(program: Program, inputs: Mapping[str, np.ndarray] | None) -> tuple[dict, str | None, str]:
    if not inputs:
        return {}, None, "no input given: no golden spikes"
    try:
        res = program.run(
            inputs,
            backend="emulator",
            record=[(p, "spikes") for p, q in program.populations.items() if q.kind != "spike_source"],
        )
    except Exception as exc:  # noqa: BLE001 - the bundle is still useful without golden spikes
        return {}, None, f"emulator could not run this Program: {type(exc).__name__}: {exc}"
    gold = {k: np.asarray(v) for k, v in res.recordings.items() if k.endswith(".spikes")}
    return gold, res.label(), "emulator spikes per population, (batch, ticks, size)"


def emit_bundle(
    program: Program,
    out: str | Path,
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
) -> BundleReport:
    """Write the PyNN bundle of ``program`` into ``out`` (created). Without ``inputs``, Bernoulli(0.1)
    spikes (``seed``) of ``steps`` ticks, batch 1, are generated for each input population."""
    final = Path(out)
    with atomic_directory(final, what="--output") as out:  # written whole, or not at all
        if inputs is None:
            rng = np.random.default_rng(seed)
            inputs = {
                name: (rng.random((1, steps, *program.populations[pop].shape)) < 0.1).astype(np.uint8)
                for name, pop in program.inputs.items()
            }
        net, arrays = network_arrays(program, inputs, steps)
        save_network(out / "network.npz", net, arrays)
        shutil.copyfile(Path(bundle_run.__file__), out / "run.py")
        (out / "spynnaker.cfg").write_text(VIRTUAL_CFG)
        gold, gold_label, gold_note = _golden(program, inputs)
        if gold:
            np.savez_compressed(out / "golden.npz", **gold)
        manifest = {
            "format": "neurocompile-spinnaker-bundle",
            "format_version": 1,
            "requires": {"spynnaker": SPYNNAKER_PIN, "pynn": PYNN_PIN, "python": ">=3.11"},
            "ebrains": {"command": "run.py {system}", "hardware_config": {"spynnaker_version": "7.4.1"}},
            "tick_ms": net["tick_ms"],
            "dt": program.semantics.get("dt"),
            "n_steps": net["n_steps"],
            "n_samples": net["n_samples"],
            "populations": {
                p["label"]: {
                    k: p[k]
                    for k in (
                        "model",
                        "size",
                        "ring_buffer_shifts",
                        "weight_scales",
                        "max_expected_summed_weight",
                        "neurons_per_core",
                    )
                    if k in p
                }
                for p in net["populations"]
            },
            "projections": {
                q["label"]: {
                    "pre": q["pre"],
                    "post": q["post"],
                    "receptor": q["receptor"],
                    "synapses": q["n"],
                    "shift": q["shift"],
                    "w16_sum": int(arrays[f"proj{j}.w16"].sum()),
                }
                for j, q in enumerate(net["projections"])
            },
            "inputs": dict(program.inputs),
            "outputs": {
                k: {"population": o.population, "observable": o.observable, "scale": o.scale}
                for k, o in program.outputs.items()
            },
            "golden": {"file": "golden.npz" if gold else None, "backend": gold_label, "note": gold_note},
            "files": {},
        }
        (out / "README.md").write_text(_readme(program, net, bool(gold)))
        for name in ("run.py", "network.npz", "spynnaker.cfg", "golden.npz", "README.md"):
            if (out / name).is_file():
                manifest["files"][name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return BundleReport(
        str(final),
        len(net["populations"]),
        len(net["projections"]),
        int(sum(q["n"] for q in net["projections"])),
        int(net["n_samples"]),
        int(net["n_steps"]),
        gold_label,
        gold_note,
        counts(program).text(),
    )


def _readme(program: Program, net: dict, golden: bool) -> str:
    n_syn = sum(q["n"] for q in net["projections"])
    return f"""# SpiNNaker bundle (neurocompile)

{len(net["populations"])} populations, {len(net["projections"])} projections ({n_syn} synapses),
{net["n_steps"]} ticks of {net["tick_ms"]} ms, {net["n_samples"]} input sample(s).

Requires sPyNNaker {SPYNNAKER_PIN} (`pip install "spynnaker=={SPYNNAKER_PIN}"`, Python 3.11) and
PyNN {PYNN_PIN}; nothing from neurocompile. sPyNNaker also needs `~/.spynnaker.cfg` to exist
(a file holding `[Machine]` is enough); `./spynnaker.cfg` here selects the board.

- Virtual board (mapping check, no spikes): `python run.py --readback` with the shipped
  `spynnaker.cfg` (`virtual_board = True`, `version = 5`). `readback.npz` then holds the weights
  and delays sPyNNaker mapped (`Projection.get`) and the ring-buffer shifts it used; they must
  equal `manifest.json` (`w = w16 / 2**(15 - shift)`).
- Real board: edit `spynnaker.cfg` (`machine_name = ...` or `spalloc_server = ...`), then
  `python run.py --check` compares the recorded spikes with the emulator's `golden.npz`
  {"" if golden else "(absent: no golden spikes were produced)"}; `--sample N` picks the input sample.
- EBRAINS: zip this folder, submit with command `run.py {{system}}` (platform SpiNNaker,
  hardware config `{{"spynnaker_version": "7.4.1"}}`); `results.npz` is written to the CWD.

Files: `run.py` (PyNN script), `network.npz` (FromListConnector lists, parameters, input spikes),
`spynnaker.cfg`, `manifest.json` (pins, tick, shifts, checksums), `golden.npz`, this README.
"""
