"""Train the ``digits_rnn_norse`` zoo model: a recurrent CubaLIF network of norse cells on
sklearn digits presented row by row (each of the 8 rows for ``REPEAT`` steps as Bernoulli
spikes with p = pixel/16, then ``BLANK`` silent steps), BPTT with norse's SuperSpike surrogate.

The graph is written by ``neurocompile.nirio.write_nir`` from the trained parameters, not by
``norse.torch.to_nir``: norse 1.1.0's exporter writes ``tau = dt * tau`` (norse#411), cannot
trace the step-wise recurrent loop into a cycle, and goes through nir 1.0.4, which has no
``v_reset``. The written file is NIR-exact for this module (see ``net.py``); the tests check
it spike for spike.

Writes ``model.nir``, ``test.npz`` (key ``input``, (360, 8 * REPEAT + BLANK, 8), ``labels``)
and ``card.json``. Run: ``python -m neurocompile.models.digits_rnn_norse.train`` (a few minutes).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
TEST_SEED = 4321
REPEAT = 3
BLANK = 8


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    import norse
    import torch

    import neurocompile as nc
    from neurocompile.models import predict
    from neurocompile.models._digits import rows_spikes, split
    from neurocompile.models.digits_rnn_norse import net as N
    from neurocompile.nirio import write_nir

    t0 = time.time()
    torch.manual_seed(SEED)
    xtr, ytr, xte, yte = split()
    net = N.DigitsRNN()
    with torch.no_grad():
        net.fc1.weight.mul_(1.0)
        net.rec.weight.mul_(0.5)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    ytr_t = torch.tensor(ytr)
    rng = np.random.default_rng(SEED)
    for epoch in range(args.epochs):
        spikes = torch.tensor(rows_spikes(xtr, REPEAT, BLANK, seed=SEED + 1 + epoch))
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), 96):
            idx = perm[i:i + 96]
            out, hid = net(spikes[idx])
            loss = torch.nn.functional.cross_entropy(out.sum(1) * 0.5, ytr_t[idx]) + 1e-3 * hid.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    test = rows_spikes(xte, REPEAT, BLANK, seed=TEST_SEED)
    with torch.no_grad():
        fw_out, _ = net(torch.tensor(test))
    fw_acc = float((predict(fw_out.numpy()) == yte).mean())

    args.out.mkdir(parents=True, exist_ok=True)
    write_nir(N.to_graph(net), args.out / "model.nir")
    np.savez_compressed(args.out / "test.npz", input=test.astype(np.uint8), labels=yte)
    sem = {"dt": N.DT, "discretization": "forward", "reset": "file", "hop_delay": 0}
    graph = nc.load(args.out / "model.nir")
    ref_acc = float((predict(nc.simulate(graph, {"input": test}, **sem).outputs["output"]) == yte).mean())
    card = {
        "name": "digits_rnn_norse",
        "task": "sklearn digits (8x8) row by row, 10 classes; 360 held-out samples (split seed 0)",
        "framework": f"norse {norse.__version__}: Linear -> CubaLIF(64, recurrent) -> Linear -> CubaLIF(10) "
                     "(LIBoxCell + LIFBoxCell, as norse.from_nir builds CubaLIF), BPTT with SuperSpike",
        "dt": N.DT,
        "steps": int(test.shape[1]),
        "conventions": {"framework": "norse", "dt": N.DT, "discretization": "forward (box input)",
                        "reset": "to v_reset = 0", "threshold": "v > theta", "recurrence": "back-edge reads the "
                        "previous step (nirtorch, neurocompile hop_delay 0)",
                        "translation": "neurocompile.conventions.norse_to_nir(dt=DT) (identity for this graph)",
                        "export": "neurocompile.nirio.write_nir from the trained parameters (norse#411 writes "
                                  "dt*tau; nir 1.0.4 has no v_reset)",
                        "tau_syn": N.TAU_SYN, "tau_mem": N.TAU_MEM, "w_in": N.W_IN, "r": N.R},
        "encoding": {"kind": "row by row Bernoulli spikes", "input": "input", "shape": [int(test.shape[1]), 8],
                     "p": "pixel/16", "repeat": REPEAT, "blank": BLANK, "test_seed": TEST_SEED},
        "readout": "argmax of output spike counts",
        "simulate": sem,
        "accuracy": {"framework_float": fw_acc, "reference_float": ref_acc},
        "train": {"seed": SEED, "epochs": args.epochs, "seconds": round(time.time() - t0, 1),
                  "script": "python -m neurocompile.models.digits_rnn_norse.train"},
    }
    (args.out / "card.json").write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
