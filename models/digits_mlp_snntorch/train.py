"""Train the ``digits_mlp_snntorch`` zoo model: an snnTorch MLP with a learned decay per neuron.

Network (``build``): ``nn.Linear(64, N_HID, bias=False) -> snn.Leaky(beta per neuron,
learn_beta=True) -> nn.Linear(N_HID, 10, bias=False) -> snn.Leaky(beta per neuron,
learn_beta=True)``, every ``Leaky`` with ``reset_mechanism="zero"`` (the reset both chips
implement: snnTorch's ``mem[t] = beta (1 - z[t-1]) mem[t-1] + x[t]`` is NIR's LIF resetting to
zero, so the deployed model is the trained one, no ``--reset`` approximation) and threshold 1.
Every neuron starts with ``BETA_INIT`` and learns its own ``beta`` (clamped to
``BETA_RANGE`` after each step, so ``tau = dt/(1-beta)`` stays finite).

Encoding: the deterministic regular rate code of ``neurocompile.models._digits.regular_rate``
(pixel p -> ``round(STEPS p)`` evenly spaced spikes over ``STEPS`` steps), 64 inputs. Readout:
argmax of the output spike counts.

Training: BPTT through snnTorch's own ``Leaky`` layers (its ``fast_sigmoid`` surrogate), Adam with
a cosine schedule, random one-pixel shifts of the training images and 2 % multiplicative weight
noise (robustness to the chips' 8-bit weights). The framework's accuracy is snnTorch's own
forward pass (``run``) of the trained module.

Export: ``neurocompile.load(net, torch.zeros(1, 64))`` reads the modules (snnTorch's
``export_to_nir`` needs nir >= 1.0.6, which cannot share ``.venv`` with sinabs' nir 1.0.4) and
``neurocompile.nirio.write_nir`` writes the graph in the exporter's form (dt = 1e-4, ``r =
tau/dt``, ``v_reset = 0``) with ``dt`` in its metadata. The file does not say which reset
snnTorch used: the card's ``simulate`` gives ``framework="snntorch", reset="zero"``.

Writes ``model.nir``, ``test.npz`` (key ``input``, (360, STEPS, 64) uint8, plus ``labels``) and
``card.json``. Run: ``python -m neurocompile.models.digits_mlp_snntorch.train``.
``--hold-out-validation`` trains the hold-out twin (``holdout.nir``, ``holdout_card.json``) on the
training part without the validation split, evaluated on the validation split; no test set touched
(``models/choose_options.py`` chooses the compile options on it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
STEPS = 24
N_IN = 64
N_HID = 128
EPOCHS = 20
BATCH = 64
LR = 5e-3
BETA_INIT = 0.9
BETA_RANGE = (0.5, 0.99)
COUNT_SCALE = 0.5  # logits = output spike counts x COUNT_SCALE
WEIGHT_NOISE = 0.02
DT = 1e-4  # snnTorch's export convention (neurocompile.framework_modules.SNNTORCH_DT)


def build():
    """The untrained module (float32)."""
    import snntorch as snn
    import torch
    from snntorch import surrogate

    grad = surrogate.fast_sigmoid(slope=25)

    def leaky(n):
        return snn.Leaky(
            beta=torch.full((n,), BETA_INIT),
            learn_beta=True,
            reset_mechanism="zero",
            spike_grad=grad,
        )

    return torch.nn.Sequential(
        torch.nn.Linear(N_IN, N_HID, bias=False),
        leaky(N_HID),
        torch.nn.Linear(N_HID, 10, bias=False),
        leaky(10),
    )


def run(net, x):
    """snnTorch's own step-by-step forward: ``x`` (batch, time, 64) -> (output spikes, hidden
    spikes), each (batch, time, n), in the dtype of ``x``."""
    import torch

    fc1, lif1, fc2, lif2 = net
    m1, m2 = lif1.init_leaky(), lif2.init_leaky()
    outs, hids = [], []
    for t in range(x.shape[1]):
        s1, m1 = lif1(fc1(x[:, t]), m1)
        s1 = s1.to(x.dtype)
        s2, m2 = lif2(fc2(s1), m2)
        outs.append(s2.to(x.dtype))
        hids.append(s1)
    return torch.stack(outs, 1), torch.stack(hids, 1)


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
    import snntorch
    import torch

    import neurocompile as nc
    from neurocompile.models import predict
    from neurocompile.models._digits import data_note, regular_rate, shifted, training_data
    from neurocompile.nirio import write_nir

    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    out_dir = args.out or HERE
    stem = "holdout" if args.hold_out_validation else "model"
    xtr, ytr, xte, yte = training_data(args.hold_out_validation)
    on = "validation" if args.hold_out_validation else "test"
    test = regular_rate(xte.reshape(len(xte), N_IN), STEPS)
    net = build()
    weights = [net[0].weight, net[2].weight]
    betas = [net[1].beta, net[3].beta]
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    ytr_t = torch.tensor(ytr)
    for epoch in range(args.epochs):
        spikes = torch.tensor(regular_rate(shifted(xtr, rng).reshape(len(xtr), N_IN), STEPS))
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            clean = [w.detach().clone() for w in weights]
            with torch.no_grad():  # the gradient at noisy weights, the step on the clean ones
                for w in weights:
                    w.mul_(1.0 + WEIGHT_NOISE * torch.randn_like(w))
            out, hid = run(net, spikes[idx])
            loss = torch.nn.functional.cross_entropy(out.sum(1) * COUNT_SCALE, ytr_t[idx]) + 1e-3 * hid.mean()
            opt.zero_grad()
            loss.backward()
            with torch.no_grad():
                for w, c in zip(weights, clean):
                    w.copy_(c)
            opt.step()
            with torch.no_grad():
                for b in betas:
                    b.clamp_(*BETA_RANGE)
        sched.step()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            with torch.no_grad():
                o, _ = run(net, torch.tensor(test))
            acc = float((predict(o.numpy()) == yte).mean())
            print(
                f"epoch {epoch + 1}: loss {loss.item():.3f} {on} {acc:.4f} ({time.time() - t0:.0f} s)",
                flush=True,
            )
    train_s = time.time() - t0
    net.eval()
    with torch.no_grad():
        fw_out, _ = run(net, torch.tensor(test))  # snnTorch's own forward, float32 as trained
    fw_acc = float((predict(fw_out.numpy()) == yte).mean())

    out_dir.mkdir(parents=True, exist_ok=True)
    graph = nc.load(net, torch.zeros(1, N_IN))  # read from the modules (framework conventions)
    graph.metadata = {"dt": DT}
    write_nir(graph, out_dir / f"{stem}.nir")
    if not args.hold_out_validation:
        np.savez_compressed(out_dir / "test.npz", input=test.astype(np.uint8), labels=yte)
    sem = {"framework": "snntorch", "dt": DT, "discretization": "forward", "reset": "zero", "hop_delay": 0}
    loaded = nc.load(out_dir / f"{stem}.nir")
    ref_acc = float((predict(nc.simulate(loaded, {"input": test}, **sem).outputs["output"]) == yte).mean())
    beta_stats = {}
    for name, b in (("1", net[1].beta), ("3", net[3].beta)):
        v = b.detach().double().numpy()
        beta_stats[name] = {
            "n": int(v.size),
            "distinct": int(np.unique(v).size),
            "min": float(v.min()),
            "median": float(np.median(v)),
            "max": float(v.max()),
        }
    card = {
        "name": "digits_mlp_snntorch",
        "task": "sklearn digits (8x8), 10 classes; 360 held-out samples (split seed 0)",
        "framework": f"snnTorch {snntorch.__version__}: Linear(64, {N_HID}) "
        "-> Leaky(per-neuron learned beta) "
        "-> Linear(10) -> Leaky(per-neuron learned beta), reset_mechanism zero, no biases, BPTT "
        "(fast_sigmoid surrogate, Adam, cosine lr, one-pixel shifts, 2 % weight noise)",
        "dt": DT,
        "steps": STEPS,
        "conventions": {
            "framework": "snntorch",
            "dt": DT,
            "discretization": "forward: mem = beta mem + x",
            "reset": "zero (reset_mechanism='zero', reset_delay=True): NIR's LIF reset to v_reset = 0",
            "threshold": "mem - threshold > 0, threshold 1",
            "translation": "neurocompile.conventions.snntorch_to_nir(reset='zero')",
            "export": "neurocompile.load(net, torch.zeros(1, 64)) + neurocompile.nirio.write_nir "
            "(snnTorch's export_to_nir needs nir >= 1.0.6); metadata dt = 1e-4",
            "beta": beta_stats,
            "beta_init": BETA_INIT,
            "beta_clamp": list(BETA_RANGE),
        },
        "encoding": {
            "kind": "regular rate code",
            "input": "input",
            "shape": [STEPS, N_IN],
            "spikes": "floor((t+1) p + 1/2) - floor(t p + 1/2), p = pixel/16",
            "function": "neurocompile.models._digits.regular_rate",
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
            "data": data_note(args.hold_out_validation, len(ytr)),
            "validation_held_out": args.hold_out_validation,
            "seconds": round(train_s, 1),
            "script": "python -m neurocompile.models.digits_mlp_snntorch.train"
            + (" --hold-out-validation" if args.hold_out_validation else ""),
        },
    }
    (out_dir / ("holdout_card.json" if args.hold_out_validation else "card.json")).write_text(
        json.dumps(card, indent=2) + "\n"
    )
    print(f"framework {fw_acc:.4f} reference {ref_acc:.4f} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
