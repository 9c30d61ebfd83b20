"""Train the ``digits_rnn_norse`` zoo model: a recurrent CubaLIF network of norse cells on
sklearn digits presented row by row (each of the 8 rows for ``REPEAT`` steps with the regular
rate code of ``neurocompile.models._digits.rows_regular``, then ``BLANK`` silent steps).

Training: BPTT through ``net.train_forward`` (plain torch, the norse cells' arithmetic, a
fast-sigmoid surrogate), Adam with a cosine schedule, random one-pixel shifts of the training
images, small multiplicative weight noise (robustness to the chips' 8-bit weights); the norse
module itself is evaluated and exported afterwards.

The graph is written by ``neurocompile.nirio.write_nir`` from the trained parameters, not by
``norse.torch.to_nir``: norse 1.1.0's exporter writes ``tau = dt * tau`` (norse#411), cannot
trace the step-wise recurrent loop into a cycle, and goes through nir 1.0.4, which has no
``v_reset``. The written file is NIR-exact for this module (see ``net.py``); the tests check
it spike for spike.

Writes ``model.nir``, ``test.npz`` (key ``input``, (360, 8 * REPEAT + BLANK, 8), ``labels``)
and ``card.json``. Run: ``python -m neurocompile.models.digits_rnn_norse.train``.

``--hold-out-validation`` trains the model's hold-out twin instead (``holdout.nir``,
``holdout_card.json``): the same script on the training part without the validation split,
evaluated on the validation split (its card's accuracies), no test set touched;
``models/choose_options.py`` chooses the compile options on it. The bundled model is the same
script on the whole training part (the usual refit once the options are chosen).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
REPEAT = 4
BLANK = 8
EPOCHS = 40
BATCH = 64
LR = 3e-3
COUNT_SCALE = 0.2  # logits = output spike counts x COUNT_SCALE
INIT_GAIN = {"fc1": 0.5, "rec": 0.3, "fc2": 0.2}  # x torch's default init (output starts near silent)
WEIGHT_NOISE = 0.02


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--hold-out-validation",
        action="store_true",
        help="train the hold-out twin (holdout.nir, holdout_card.json): no validation images",
    )
    args = ap.parse_args(argv)
    import norse
    import torch

    import neurocompile as nc
    from neurocompile.models import predict
    from neurocompile.models._digits import data_note as _data_note
    from neurocompile.models._digits import rows_regular, shifted, training_data
    from neurocompile.models.digits_rnn_norse import net as N
    from neurocompile.nirio import write_nir

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x > 0).to(x.dtype)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad / (1.0 + 5.0 * x.abs()) ** 2

    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    out_dir = args.out or HERE
    stem = "holdout" if args.hold_out_validation else "model"  # holdout.nir, holdout_card.json
    xtr, ytr, xte, yte = training_data(args.hold_out_validation)
    on = "validation" if args.hold_out_validation else "test"  # what xte, yte are
    test = rows_regular(xte, REPEAT, BLANK)
    net = N.DigitsRNN()
    with torch.no_grad():
        for key, gain in INIT_GAIN.items():
            getattr(net, key).weight.mul_(gain)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    ytr_t = torch.tensor(ytr)
    for epoch in range(args.epochs):
        spikes = torch.tensor(rows_regular(shifted(xtr, rng), REPEAT, BLANK))
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            clean = [p.detach().clone() for p in params]
            with torch.no_grad():  # evaluate the gradient at noisy weights, step the clean ones
                for p in params:
                    p.mul_(1.0 + WEIGHT_NOISE * torch.randn_like(p))
            out, hid = N.train_forward(net, spikes[idx], Spike.apply)
            loss = torch.nn.functional.cross_entropy(out.sum(1) * COUNT_SCALE, ytr_t[idx]) + 1e-3 * hid.mean()
            opt.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p, c in zip(params, clean):
                    p.copy_(c)
            opt.step()
        sched.step()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            with torch.no_grad():
                o, _ = N.train_forward(net, torch.tensor(test), Spike.apply)
            acc = float((predict(o.numpy()) == yte).mean())
            print(
                f"epoch {epoch + 1}: loss {loss.item():.3f} {on} {acc:.4f} ({time.time() - t0:.0f} s)",
                flush=True,
            )
    with torch.no_grad():
        fw_out, _ = net.double()(torch.tensor(test, dtype=torch.float64))
    fw_acc = float((predict(fw_out.numpy()) == yte).mean())

    out_dir.mkdir(parents=True, exist_ok=True)
    write_nir(N.to_graph(net), out_dir / f"{stem}.nir")
    if not args.hold_out_validation:
        np.savez_compressed(out_dir / "test.npz", input=test.astype(np.uint8), labels=yte)
    sem = {"dt": N.DT, "discretization": "forward", "reset": "file", "hop_delay": 0}
    graph = nc.load(out_dir / f"{stem}.nir")
    ref_acc = float((predict(nc.simulate(graph, {"input": test}, **sem).outputs["output"]) == yte).mean())
    card = {
        "name": "digits_rnn_norse",
        "task": "sklearn digits (8x8) row by row, 10 classes; 360 held-out samples (split seed 0)",
        "framework": f"norse {norse.__version__}: Linear -> CubaLIF({N.N_HID}, recurrent) -> Linear -> "
        "CubaLIF(10) (LIBoxCell + LIFBoxCell, as norse.from_nir builds CubaLIF), no biases, "
        "BPTT (fast-sigmoid surrogate, Adam, cosine lr, one-pixel shifts, 2 % weight noise)",
        "dt": N.DT,
        "steps": int(test.shape[1]),
        "conventions": {
            "framework": "norse",
            "dt": N.DT,
            "discretization": "forward (box input)",
            "reset": "to v_reset = 0",
            "threshold": "v > theta",
            "recurrence": "back-edge reads the previous step (nirtorch, neurocompile hop_delay 0)",
            "translation": "neurocompile.conventions.norse_to_nir(dt=DT) (identity for this graph)",
            "export": "neurocompile.nirio.write_nir from the trained parameters (norse#411 writes "
            "dt*tau; nir 1.0.4 has no v_reset)",
            "tau_syn": N.TAU_SYN,
            "tau_mem": N.TAU_MEM,
            "w_in": N.W_IN,
            "r": N.R,
        },
        "encoding": {
            "kind": "row by row regular rate code",
            "input": "input",
            "shape": [int(test.shape[1]), 8],
            "spikes": "row r at steps r*repeat .. r*repeat+repeat-1: round(repeat p) evenly spaced "
            "spikes, p = pixel/16",
            "repeat": REPEAT,
            "blank": BLANK,
            "function": "neurocompile.models._digits.rows_regular",
        },
        "readout": "argmax of output spike counts",
        "simulate": sem,
        "accuracy": {"framework_float": fw_acc, "reference_float": ref_acc},
        "train": {
            "seed": SEED,
            "epochs": args.epochs,
            "lr": args.lr,
            "batch": BATCH,
            "weight_noise": WEIGHT_NOISE,
            "data": _data_note(args.hold_out_validation, len(ytr)),
            "validation_held_out": args.hold_out_validation,
            "seconds": round(time.time() - t0, 1),
            "script": "python -m neurocompile.models.digits_rnn_norse.train"
            + (" --hold-out-validation" if args.hold_out_validation else ""),
        },
    }
    (out_dir / ("holdout_card.json" if args.hold_out_validation else "card.json")).write_text(
        json.dumps(card, indent=2) + "\n"
    )
    print(f"framework {fw_acc:.4f} reference {ref_acc:.4f} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
