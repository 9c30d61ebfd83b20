"""Command outputs and measured examples shown in docs/ pages, produced by running the code.

Each function returns the Markdown of one ``<!-- figures:NAME -->`` block; ``models/docfigures.py``
registers them and ``tests/test_doc_figures.py`` fails when a page differs from what they give now.

* :func:`paper_lif_steps` (``docs/semantics.md``): the NIR paper LIF's spike steps with
  ``hop_delay`` 0 and 1, and which recorded traces of the paper share them (needs the paper data);
* :func:`events_stderr` (``docs/events.md``): what ``simulate`` prints on stderr for an event input
  (the bundled digits as events, binned, with a window that drops events);
* :func:`run_label` / :func:`run_meta` (``docs/fidelity.md``): a run's label line and the
  ``__meta__`` of its saved ``.npz`` (a LIF graph compiled for Loihi 2 and run on the emulator);
* :func:`placement_errors` (``docs/targets/loihi2-placement.md``): the two ``ResourceError``
  lines of a placement that does not fit.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def _in_tmp():
    """Work in a fresh temporary directory (relative paths in messages), then come back."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="doc-output-") as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(here)


# ----------------------------------------------------------------------------- docs/semantics.md
#: the recorded traces of the NIR paper's LIF task (``01_lif/*.csv``: input, v, output spike) and
#: what produced them, as the paper data's file names say
PAPER_LIF_TRACES = {
    "lif_exact.csv": "exact solver",
    "lif_nengo.csv": "nengo",
    "lif_norse.csv": "norse",
    "lif_snntorch.csv": "snnTorch",
    "lif_spinnaker2.csv": "SpiNNaker2",
    "lif_lava_cpu_fixed.csv": "Lava CPU fixed point",
    "lif_lava_cpu_float.csv": "Lava CPU float",
    "lif_lava_loihi_fixed.csv": "the Loihi 2 chip",
    "lif_spyx.csv": "spyx",
    "lif_rockpool.csv": "rockpool",
    "lif_sinabs.csv": "sinabs",
}


def paper_lif_steps() -> str:
    """``simulate`` of ``01_lif/lif_norse.nir`` (dt 1e-4, reset by subtraction as the paper defines
    it, the input of ``lif_exact.csv``) with hop_delay 0 and 1, and the recorded traces whose output
    spikes fall on the same steps (the others listed with theirs)."""
    import neurocompile as nc
    from neurocompile.models.validate_table import paper_dir

    d = paper_dir() / "01_lif"
    x = np.loadtxt(d / "lif_exact.csv", delimiter=",")[:, 0].reshape(1, -1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = nc.load(d / "lif_norse.nir")
        ours = {
            h: np.nonzero(
                nc.simulate(g, {"input": x}, dt=1e-4, reset="subtract", hop_delay=h).outputs["output"]
            )[1].tolist()
            for h in (0, 1)
        }
    recorded = {
        f: np.nonzero(np.loadtxt(d / f, delimiter=",")[:, 2])[0].tolist()
        for f in PAPER_LIF_TRACES
        if (d / f).is_file()
    }

    def who(steps):
        return (
            ", ".join(f"{PAPER_LIF_TRACES[f]} (`{f}`)" for f, s in recorded.items() if s == steps) or "none"
        )

    rows = ["| `hop_delay` | output spikes at steps | recorded traces with the same steps |", "|---|---|---|"]
    for h, steps in ours.items():
        rows.append(f"| {h} | {', '.join(map(str, steps))} | {who(steps)} |")
    rest = [f for f, s in recorded.items() if s not in ours.values()]
    text = "\n".join(rows) + "\n"
    if rest:
        text += (
            "\nOther recorded traces: "
            + "; ".join(f"{PAPER_LIF_TRACES[f]} (`{f}`) {', '.join(map(str, recorded[f]))}" for f in rest)
            + ".\n"
        )
    return text


# ----------------------------------------------------------------------------- docs/events.md
EVENTS_SAMPLES = 20
EVENTS_STEPS = 20  # fewer than the data's own window: the drop warning shows


def events_stderr() -> str:
    """The bundled digits as events (:mod:`neurocompile.models.digits_events`), then ``simulate`` on
    them with a window shorter than the data: the commands and their stderr lines."""
    from neurocompile.cli.main import main as cli
    from neurocompile.models import digits_events, model_path

    model = Path(model_path("digits_cnn_sinabs"))
    rel = "models/digits_cnn_sinabs/model.nir"
    cmd1 = ["digits_cnn_sinabs", "-o", "ev.npz", "--samples", str(EVENTS_SAMPLES)]
    cmd2 = ["simulate", rel, "-i", "ev.npz", "--bin-ms", "1", "--steps", str(EVENTS_STEPS), "-o", "out.npz"]
    with _in_tmp() as tmp:
        (tmp / "models" / "digits_cnn_sinabs").mkdir(parents=True)
        (tmp / rel).symlink_to(model)
        out1, err2 = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out1), contextlib.redirect_stderr(io.StringIO()):
            rc1 = digits_events.main(cmd1)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err2):
            rc2 = cli(cmd2)
    if rc1 != 0 or rc2 != 0:
        raise RuntimeError(f"exit status {rc1}, {rc2}: {err2.getvalue()}")
    return (
        "```\n"
        f"$ python -m neurocompile.models.digits_events {' '.join(cmd1)}\n"
        f"{out1.getvalue().strip()}\n"
        f"$ neurocompile {' '.join(cmd2)} 2>&1 >/dev/null\n"
        f"{err2.getvalue().strip()}\n"
        "```\n"
    )


# ----------------------------------------------------------------------------- docs/fidelity.md
@functools.lru_cache(maxsize=1)
def _small_run():
    """A LIF graph (``tests/bad_models.lif_graph`` with weights 5: Input(3) -> Affine -> LIF(2),
    dt 1e-3) compiled for Loihi 2 and run on the emulator on 100 steps of Bernoulli(0.2) input
    (seed 0), v recorded; returns the RunResult and the ``__meta__`` of its saved ``.npz``."""
    import neurocompile as nc
    from neurocompile.models import check_examples as CE

    with _in_tmp() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        name, _ = CE._graph(CE._set("fc", weight=np.full((2, 3), 5.0)))(tmp)
        prog = nc.compile(name, target="loihi2")
        x = (np.random.default_rng(0).random((1, 100, 3)) < 0.2).astype(np.float64)
        res = prog.run({"in": x}, record="lif.v")
        res.save(tmp / "out.npz")
        with np.load(tmp / "out.npz") as z:
            meta = json.loads(str(z["__meta__"]))
    return res, meta


def run_label() -> str:
    res, _ = _small_run()
    return f"```\n{res.label()}\n```\n"


def run_meta() -> str:
    """The ``units``, ``time`` and ``rates`` of the run's ``__meta__`` (the example of the page)."""
    _, meta = _small_run()
    shown = {k: meta[k] for k in ("units", "time", "rates")}
    return "```json\n" + json.dumps(shown, indent=1, sort_keys=True) + "\n```\n"


# ---------------------------------------------------------------------- docs/targets/loihi2-placement.md
def placement_errors() -> str:
    """The one-line ``ResourceError`` of a neuron whose synapses exceed a core (200 000 inputs) and
    of a network one core larger than ``max_chips=1`` allows (``tests/test_partition.py``'s cases)."""
    from neurocompile.errors import ResourceError
    from neurocompile.targets.loihi2 import spec
    from neurocompile.targets.loihi2.builder import Loihi2Builder
    from neurocompile.targets.loihi2.partition import place

    lines = []
    b = Loihi2Builder()
    b.input("x", 200_000)
    b.lif("wide", 2, du=4095, dv=0, vth=1)
    b.dense("x", "wide", np.ones((2, 200_000), np.int8), name="fc_wide")
    b2 = Loihi2Builder()
    b2.input("x", 1)
    b2.lif("a", spec.CORES_PER_CHIP * spec.NEURONS_PER_CORE, du=4095, dv=0, vth=1)  # exactly one chip
    b2.lif("b", 10, du=4095, dv=0, vth=1)
    for prog, kw in ((b.build(), {}), (b2.build(), {"max_chips": 1})):
        try:
            place(prog, **kw)
        except ResourceError as exc:
            lines.append(exc.one_line())
        else:
            raise RuntimeError(f"place({kw}) did not refuse")
    return "```\n" + "\n".join(lines) + "\n```\n"
