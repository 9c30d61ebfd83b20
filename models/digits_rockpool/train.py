"""Train the ``digits_rockpool`` zoo model: a rockpool MLP with learned time constants per neuron.

Network (``build``): ``Sequential(LinearTorch((64, N_HID)), LIFTorch(N_HID), LinearTorch((N_HID,
10)), LIFTorch(10))``, no biases, threshold 1, ``dt = DT``, ``max_spikes_per_dt = 1`` (one event
per step, the chips' spike), rockpool's ``PeriodicExponential`` surrogate. Every neuron learns its
own ``tau_mem`` and ``tau_syn`` (start ``TAU_MEM_INIT`` / ``TAU_SYN_INIT``, clamped to
``TAU_RANGE`` after each step).

Reset: rockpool's ``LIFTorch`` only resets by subtraction (``vmem -= spikes * threshold``; no
option in rockpool 3.1.0), which neither chip implements. The model is trained and evaluated with
rockpool's own subtraction (its float accuracy is rockpool's ``evolve``); the chips run it with
``reset="zero"`` (``--reset zero``, the explicit approximation), so its chip columns carry the
cost of the reset as well as quantization (``docs/accuracy.md``).

Encoding: the deterministic regular rate code of ``neurocompile.models._digits.regular_rate`` (64
inputs, ``STEPS`` steps). Readout: argmax of the output spike counts.

Training: BPTT through rockpool's own ``evolve`` (torch autograd through its surrogate), Adam with a
cosine schedule (the time constants, in seconds, with ``TAU_LR_FACTOR`` times the weights' rate),
random one-pixel shifts, 2 % multiplicative weight noise; weights start at ``INIT_GAIN`` times
rockpool's initialization.

Export: ``neurocompile.load(net, sample)`` reads the modules into rockpool's ``to_nir`` form (node
names ``<i>_LIFTorch``, which mark the file as rockpool's, so ``neurocompile`` applies rockpool's
conventions without being asked) and ``neurocompile.nirio.write_nir`` writes it in float64 with
``dt`` in the metadata. rockpool's own ``to_nir`` runs with the nir 1.0.4 of ``.venv`` and gives the
same graph (its accuracy is recorded as ``to_nir_file_float``), but ``nir.write`` stores ``r =
tau exp(-dt/tau)/dt`` in float32, from which dt is recovered only to about 1e-7 relative: a given
``dt=1e-3`` would then be refused as a different step.

Writes ``model.nir``, ``test.npz`` (key ``input``, (360, STEPS, 64) uint8, plus ``labels``) and
``card.json``. Run: ``python -m neurocompile.models.digits_rockpool.train``.
``--hold-out-validation`` trains the hold-out twin (``holdout.nir``, ``holdout_card.json``) on the
training part without the validation split, evaluated on the validation split; no test set touched.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
STEPS = 16
N_IN = 64
N_HID = 128
EPOCHS = 20
BATCH = 128
LR = 1e-2
DT = 1e-3
TAU_MEM_INIT = 20e-3
TAU_SYN_INIT = 4e-3
TAU_RANGE = (1.5e-3, 0.2)
COUNT_SCALE = 0.5  # logits = output spike counts x COUNT_SCALE
WEIGHT_NOISE = 0.02
TAU_LR_FACTOR = 0.01  # the time constants' learning rate: lr x this
INIT_GAIN = 0.5  # x rockpool's default LinearTorch init


def build():
    """The untrained rockpool module (float32)."""
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.lif_torch import PeriodicExponential
    from rockpool.parameters import Constant

    def lif(n):
        return LIFTorch(
            n,
            tau_mem=torch.full((n,), TAU_MEM_INIT),
            tau_syn=torch.full((n,), TAU_SYN_INIT),
            threshold=Constant(1.0),
            bias=Constant(0.0),
            dt=DT,
            max_spikes_per_dt=1.0,
            spike_generation_fn=PeriodicExponential,
        )

    return Sequential(
        LinearTorch((N_IN, N_HID), has_bias=False),
        lif(N_HID),
        LinearTorch((N_HID, 10), has_bias=False),
        lif(10),
    )


def run(net, x):
    """rockpool's own ``evolve`` from a reset state: (batch, time, 64) -> output spikes."""
    net.reset_state()
    out, _, _ = net(x)
    return out


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
    import nir
    import rockpool
    import torch
    from rockpool.nn.modules.torch.nir import to_nir

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
    lin = [net[0].weight, net[2].weight]
    taus = [net[1].tau_mem, net[1].tau_syn, net[3].tau_mem, net[3].tau_syn]
    opt = torch.optim.Adam(
        [{"params": lin}, {"params": taus, "lr": args.lr * TAU_LR_FACTOR}], lr=args.lr
    )  # taus are seconds (~1e-2): steps of lr would throw them to the clamps
    with torch.no_grad():
        for w in lin:
            w.mul_(INIT_GAIN)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    ytr_t = torch.tensor(ytr)
    t_start = time.time()
    for epoch in range(args.epochs):
        spikes = torch.tensor(regular_rate(shifted(xtr, rng).reshape(len(xtr), N_IN), STEPS))
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            clean = [w.detach().clone() for w in lin]
            with torch.no_grad():
                for w in lin:
                    w.mul_(1.0 + WEIGHT_NOISE * torch.randn_like(w))
            out = run(net, spikes[idx])
            loss = torch.nn.functional.cross_entropy(out.sum(1) * COUNT_SCALE, ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            with torch.no_grad():
                for w, c in zip(lin, clean):
                    w.copy_(c)
            opt.step()
            with torch.no_grad():
                for tau in taus:
                    tau.clamp_(*TAU_RANGE)
        sched.step()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            with torch.no_grad():
                o = run(net, torch.tensor(test))
            acc = float((predict(o.numpy()) == yte).mean())
            print(
                f"epoch {epoch + 1}: loss {loss.item():.3f} {on} {acc:.4f} ({time.time() - t0:.0f} s)",
                flush=True,
            )
    train_s = time.time() - t_start
    with torch.no_grad():
        fw_out = run(net, torch.tensor(test))  # rockpool's own evolve, float32 as trained
    fw_acc = float((predict(fw_out.numpy()) == yte).mean())

    out_dir.mkdir(parents=True, exist_ok=True)
    for p in torch.nn.Module.parameters(net):
        p.requires_grad_(False)
    graph = nc.load(net, torch.zeros(1, N_IN))  # read from the modules (rockpool's to_nir form)
    graph.metadata = {"dt": DT}
    write_nir(graph, out_dir / f"{stem}.nir")
    # rockpool's own exporter, for comparison: the same graph (float32 parameters, no dt)
    nir.write(out_dir / f"{stem}.to_nir.tmp", to_nir(net, torch.zeros(1, N_IN)))
    own = nc.load(out_dir / f"{stem}.to_nir.tmp")
    (out_dir / f"{stem}.to_nir.tmp").unlink()
    own_acc = float((predict(nc.simulate(own, {"input": test}).outputs[own.outputs[0]]) == yte).mean())
    if not args.hold_out_validation:
        np.savez_compressed(out_dir / "test.npz", input=test.astype(np.uint8), labels=yte)
    sem = {
        "framework": "rockpool",
        "dt": DT,
        "discretization": "exponential",
        "reset": "subtract",
        "hop_delay": 0,
    }
    loaded = nc.load(out_dir / f"{stem}.nir")
    ref_acc = float(
        (predict(nc.simulate(loaded, {"input": test}, **sem).outputs[loaded.outputs[0]]) == yte).mean()
    )
    stats = {}
    for layer in ("1_LIFTorch", "3_LIFTorch"):
        mod = dict(net.named_children())[layer]
        for key in ("tau_mem", "tau_syn"):
            v = getattr(mod, key).detach().double().numpy().reshape(-1)
            stats[f"{layer}.{key}"] = {
                "n": int(v.size),
                "distinct": int(np.unique(v).size),
                "min": float(v.min()),
                "median": float(np.median(v)),
                "max": float(v.max()),
            }
    card = {
        "name": "digits_rockpool",
        "task": "sklearn digits (8x8), 10 classes; 360 held-out samples (split seed 0)",
        "framework": f"rockpool {rockpool.__version__}: LinearTorch(64, {N_HID}) -> LIFTorch(learned "
        "tau_mem, tau_syn per neuron) -> LinearTorch(10) -> LIFTorch(same), no biases, max_spikes_per_dt 1, "
        "BPTT through evolve (PeriodicExponential surrogate, Adam, cosine lr, one-pixel shifts, "
        "2 % weight noise)",
        "dt": DT,
        "steps": STEPS,
        "conventions": {
            "framework": "rockpool",
            "dt": DT,
            "discretization": "exponential: isyn = beta (isyn + x), vmem = alpha vmem + isyn",
            "reset": "subtract (LIFTorch has no other); the chips get reset zero",
            "threshold": "vmem >= threshold (1), at most one spike per step",
            "translation": "neurocompile.conventions.rockpool_to_nir (detected from the node names)",
            "export": "neurocompile.load(net, torch.zeros(1, 64)) + neurocompile.nirio.write_nir: "
            "rockpool's to_nir form (node names <i>_LIFTorch) in float64 with metadata dt = 1e-3; "
            "rockpool's own to_nir + nir.write works too (accuracy to_nir_file_float) but stores "
            "float32 r, from which dt is recovered only to ~1e-7",
            "taus": stats,
            "tau_mem_init": TAU_MEM_INIT,
            "tau_syn_init": TAU_SYN_INIT,
            "tau_clamp": list(TAU_RANGE),
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
        "accuracy": {"framework_float": fw_acc, "reference_float": ref_acc, "to_nir_file_float": own_acc},
        "train": {
            "seed": SEED,
            "epochs": args.epochs,
            "lr": args.lr,
            "tau_lr": args.lr * TAU_LR_FACTOR,
            "init_gain": INIT_GAIN,
            "batch": BATCH,
            "weight_noise": WEIGHT_NOISE,
            "data": data_note(args.hold_out_validation, len(ytr)),
            "validation_held_out": args.hold_out_validation,
            "seconds": round(train_s, 1),
            "script": "python -m neurocompile.models.digits_rockpool.train"
            + (" --hold-out-validation" if args.hold_out_validation else ""),
        },
    }
    (out_dir / ("holdout_card.json" if args.hold_out_validation else "card.json")).write_text(
        json.dumps(card, indent=2) + "\n"
    )
    print(f"framework {fw_acc:.4f} reference {ref_acc:.4f} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
