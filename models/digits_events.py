"""The bundled digits test sets as event lists (tonic's structured arrays), ``docs/events.md``.

``python -m neurocompile.models.digits_events MODEL -o OUT.npz [--samples N]``
writes the first N samples of a zoo model's ``test.npz`` as an ``.npz`` of per-sample event lists
(``arr_0``, ``arr_1``, ... as ``np.savez(path, *samples)`` writes them, plus ``labels``), the
input ``neurocompile run/validate/simulate --input`` reads back with ``--bin-ms MS``.

Rule (:func:`neurocompile.events.grid_to_events`): a spike (a count c) at step k of input neuron
i becomes one event (c events) at ``t = k * bin`` microseconds, the start of step k, with
``(p, y, x)`` unravelled from i over the sensor inferred from the input shape ((1, 8, 8) -> an 8x8
single-polarity camera; (8,) -> 8 channels of a 1-D sensor, tonic's x, t, p layout). The bin is
the model's dt when it is in seconds (the norse RNN: 976.5625 us), else 1 ms per step (the sinabs
CNN, dt = 1 step). Binning the events with the same bin (count or binary) gives the dense test set
back exactly (tests/test_events.py). The ONNX MLP's input is an analog current and is refused.
``default`` converts the demo's placeholder network's ``models/default/input.npz`` (dt 1 ms).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from neurocompile.models import load_card, load_test_set

#: Bin width for models whose dt is in steps (dt >= 1): one step per millisecond.
STEP_US = 1000.0


def bin_us(name: str) -> float:
    """The bin width in microseconds used for model ``name``: its dt (seconds) or ``STEP_US``."""
    if name == "default":
        from neurocompile.models.default.build import DT

        dt = DT
    else:
        dt = float(load_card(name)["simulate"]["dt"])
    return round(dt * 1e6, 6) if dt < 1 else STEP_US


def _dense(name: str, n: int | None) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    if name != "default":
        return load_test_set(name, n)
    from neurocompile.data import load_npz
    from neurocompile.models.default.build import HERE

    inputs = load_npz(HERE / "input.npz", what="input.npz")
    labels = inputs.pop("labels", None)
    return {k: v[:n] for k, v in inputs.items()}, (None if labels is None else labels[:n])


def test_set_events(name: str, n: int | None = None) -> tuple[list[np.ndarray], np.ndarray | None, float]:
    """``(event lists, labels, bin_us)`` of the first ``n`` test samples of zoo model ``name``
    (``"default"``: the demo's placeholder network's ``models/default/input.npz``, no labels)."""
    from neurocompile.events import grid_to_events

    inputs, labels = _dense(name, n)
    if len(inputs) != 1:
        from neurocompile.errors import InputDataError

        raise InputDataError(f"model {name!r} has {len(inputs)} inputs", node=name, expected="one input")
    key, grid = next(iter(inputs.items()))
    width = bin_us(name)
    return grid_to_events(grid, width=width, name=key), labels, width


def main(argv: list[str] | None = None) -> int:
    from neurocompile.errors import NeurocompileError

    ap = argparse.ArgumentParser(prog="python -m neurocompile.models.digits_events", description=__doc__)
    ap.add_argument(
        "model", help="a zoo model with spike input (digits_cnn_sinabs, digits_rnn_norse) or 'default'"
    )
    ap.add_argument("-o", "--output", required=True, type=Path, help="the .npz of event lists to write")
    ap.add_argument("--samples", "-n", type=int, default=None, help="first N test samples (default all)")
    args = ap.parse_args(argv)
    try:
        from neurocompile.files import atomic_write, output_path

        out = output_path(args.output, what="--output")
        events, labels, width = test_set_events(args.model, args.samples)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, *events, **({} if labels is None else {"labels": labels}))

        atomic_write(out, write, what="--output")
    except NeurocompileError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 2
    n_ev = sum(len(e) for e in events)
    print(
        f"wrote {out}: {len(events)} samples, {n_ev} events, t in us at step starts; "
        f"bin back with --bin-ms {width / 1000:.10g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
