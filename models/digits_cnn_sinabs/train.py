"""Train the ``digits_cnn_sinabs`` zoo model: a sinabs convolutional SNN (IAF, BPTT with a
surrogate gradient) on sklearn digits, rate coded, exported with ``sinabs.to_nir``.

Encoding: Bernoulli spikes, probability ``pixel/16 * MAX_RATE`` per step, ``STEPS`` steps
(training resamples every epoch; the test set uses seed ``TEST_SEED``). Readout: argmax of
the output layer's spike counts. Writes ``model.nir`` (sinabs' own export, serialized by ``neurocompile.nirio``: nir 1.0.4
objects, so IF nodes carry no ``v_reset`` and mean reset by subtraction), ``test.npz``
(key = the NIR Input name, (360, STEPS, 1, 8, 8), plus ``labels``) and ``card.json``.

Run: ``python -m neurocompile.models.digits_cnn_sinabs.train`` (about a minute on one core).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
TEST_SEED = 1234
STEPS = 16
MAX_RATE = 1.0
SEMANTICS = {"dt": 1.0, "discretization": "exponential", "reset": "subtract", "hop_delay": 0}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    import sinabs
    import torch

    import neurocompile as nc
    from neurocompile.models import predict
    from neurocompile.models._digits import bernoulli_rate, split
    from neurocompile.models.digits_cnn_sinabs.net import build, run
    from neurocompile.nirio import write_nir

    t0 = time.time()
    torch.manual_seed(SEED)
    xtr, ytr, xte, yte = split()
    net = build(STEPS)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    ytr_t = torch.tensor(ytr)
    rng = np.random.default_rng(SEED)
    for epoch in range(args.epochs):
        spikes = bernoulli_rate(xtr[:, None], STEPS, MAX_RATE, seed=SEED + 1 + epoch)  # (N, T, 1, 8, 8)
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            for m in net.modules():
                if hasattr(m, "reset_states"):
                    m.reset_states()
            x = torch.tensor(spikes[idx].reshape(len(idx) * STEPS, 1, 8, 8))
            counts = net(x).reshape(len(idx), STEPS, 10).sum(1)
            loss = torch.nn.functional.cross_entropy(counts * 0.5, ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    test = bernoulli_rate(xte[:, None], STEPS, MAX_RATE, seed=TEST_SEED)
    fw_acc = float((predict(run(net, test)) == yte).mean())

    args.out.mkdir(parents=True, exist_ok=True)
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = sinabs.to_nir(net, torch.zeros(STEPS, 1, 8, 8))
    # nir 1.0.4's nir.write fails on this export (Conv2d input_shape=None), so the exported
    # graph is read by neurocompile.load and serialized by neurocompile.nirio.write_nir.
    exported = nc.load(g)
    exported.metadata = {"dt": 1.0, "framework": "sinabs", "tau_unit": "steps", "reset": "subtract"}
    write_nir(exported, args.out / "model.nir")
    graph = nc.load(args.out / "model.nir")
    in_name = graph.inputs[0]
    np.savez_compressed(args.out / "test.npz", **{in_name: test.astype(np.uint8)}, labels=yte)
    out = nc.simulate(graph, {in_name: test}, **SEMANTICS).outputs[graph.outputs[0]]
    ref_acc = float((predict(out) == yte).mean())
    card = {
        "name": "digits_cnn_sinabs",
        "task": "sklearn digits (8x8), 10 classes; 360 held-out samples (split seed 0)",
        "framework": f"sinabs {sinabs.__version__}: Conv8-IAF-SumPool-Conv16-IAF-SumPool-Linear10-IAF, BPTT "
                     "(PeriodicExponential surrogate), exported with sinabs.to_nir",
        "dt": 1.0,
        "steps": STEPS,
        "conventions": {"framework": "sinabs", "tau_unit": "steps", "reset": "subtract", "spike_fn": "SingleSpike",
                        "min_v_mem": None, "threshold": "sinabs v >= theta, NIR v > theta (no ties with float weights)",
                        "translation": "neurocompile.conventions.sinabs_to_nir (IF: r = 1, dt = 1)",
                        "nir_version": "1.0.4 (no v_reset: legacy file, reset by subtraction)"},
        "encoding": {"kind": "Bernoulli rate code", "input": in_name, "shape": [STEPS, 1, 8, 8],
                     "p": f"pixel/16 * {MAX_RATE}", "test_seed": TEST_SEED},
        "readout": "argmax of output spike counts",
        "simulate": SEMANTICS,
        "accuracy": {"framework_float": fw_acc, "reference_float": ref_acc},
        "train": {"seed": SEED, "epochs": args.epochs, "seconds": round(time.time() - t0, 1),
                  "script": "python -m neurocompile.models.digits_cnn_sinabs.train"},
    }
    (args.out / "card.json").write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
