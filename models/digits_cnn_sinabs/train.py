"""Train the ``digits_cnn_sinabs`` zoo model: a sinabs convolutional SNN (IAF, reset to zero) on
sklearn digits, rate coded, exported with ``sinabs.to_nir``.

Training, in three seeded stages (a few CPU minutes in all):

1. an ANN of the same shape (Conv-clamp(0, CLIP)-AvgPool-Conv-clamp-AvgPool-Linear, no biases)
   with Adam, a cosine learning-rate schedule and random shifts of up to one pixel;
2. ANN -> SNN conversion: clamp(0, CLIP) -> IF with threshold 1 (weights of layer 1 / CLIP),
   AvgPool 2x2 -> SumPool (next weights / 4), output weights scaled so that the 99th
   percentile of the largest training logit reaches the threshold in one step;
3. BPTT fine-tuning of the SNN itself (``FINETUNE_EPOCHS``) with a fast-sigmoid surrogate
   through a plain-torch IF loop that computes exactly what the sinabs IAF layers compute
   (``v += x``; spike when ``v > 1``; v reset to 0), so the sinabs module is evaluated and
   exported afterwards.

Encoding: the deterministic regular rate code of ``neurocompile.models._digits.regular_rate``
(pixel p in [0, 1] -> ``round(STEPS p)`` evenly spaced spikes over ``STEPS`` steps). Readout:
argmax of the output layer's spike counts.

Reset: the IAF layers reset to zero (``MembraneReset``), the reset both chips implement, so the
compiled models need no ``--reset`` approximation. sinabs.to_nir (nir 1.0.4) cannot express
``v_reset``; the exported graph gets ``v_reset = 0`` on every IF node and is serialized by
``neurocompile.nirio.write_nir``, so the file means reset to zero (simulate with reset "file").

Writes ``model.nir``, ``test.npz`` (key = the NIR Input name, (360, STEPS, 1, 8, 8) uint8, plus
``labels``) and ``card.json``. Run: ``python -m neurocompile.models.digits_cnn_sinabs.train``.

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
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
STEPS = 24
ANN_EPOCHS = 60
FINETUNE_EPOCHS = 4
BATCH = 64
CLIP = 2.0
SEMANTICS = {"dt": 1.0, "discretization": "exponential", "reset": "file", "hop_delay": 0}


def shifted(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by a random (dy, dx) in {-1, 0, 1}^2, zero filled."""
    out = np.zeros_like(images)
    pad = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    d = rng.integers(-1, 2, size=(len(images), 2))
    for k, (dy, dx) in enumerate(d):
        out[k] = pad[k, 1 + dy : 9 + dy, 1 + dx : 9 + dx]
    return out


def reset(net) -> None:
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()


def _spike_fn():
    import torch

    class Spike(torch.autograd.Function):
        """v > 1 forward; fast-sigmoid surrogate 1 / (1 + 5 |v - 1|)^2 backward."""

        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v > 1.0).to(v.dtype)

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            return grad / (1.0 + 5.0 * (v - 1.0).abs()) ** 2

    return Spike.apply


def snn_forward(net, x, n: int, t: int, spike):
    """The sinabs net's arithmetic in plain torch (trainable): x (n*t, 1, 8, 8) -> (n, t, 10)."""
    import torch

    def if_layer(h):
        h = h.reshape(n, t, *h.shape[1:])
        v = torch.zeros_like(h[:, 0])
        out = []
        for k in range(t):
            v = v + h[:, k]
            s = spike(v)
            v = v * (1.0 - s.detach())
            out.append(s)
        return torch.stack(out, 1).reshape(n * t, *h.shape[2:])

    h = net[2](if_layer(net[0](x)))
    h = net[5](if_layer(net[3](h)))
    return if_layer(net[7](net[6](h))).reshape(n, t, -1)


def train_ann(xtr, ytr, rng, epochs: int):
    import torch
    from torch import nn

    from neurocompile.models.digits_cnn_sinabs.net import CH1, CH2

    class Clamp(nn.Module):
        def forward(self, x):
            return x.clamp(0.0, CLIP)

    ann = nn.Sequential(
        nn.Conv2d(1, CH1, 3, padding=1, bias=False),
        Clamp(),
        nn.AvgPool2d(2),
        nn.Conv2d(CH1, CH2, 3, padding=1, bias=False),
        Clamp(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(CH2 * 4, 10, bias=False),
    )
    opt = torch.optim.Adam(ann.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    ytr_t = torch.tensor(ytr)
    for _ in range(epochs):
        xs = torch.tensor(shifted(xtr, rng)[:, None], dtype=torch.float32)
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            loss = torch.nn.functional.cross_entropy(ann(xs[idx]), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return ann


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ann-epochs", type=int, default=ANN_EPOCHS)
    ap.add_argument("--finetune-epochs", type=int, default=FINETUNE_EPOCHS)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--hold-out-validation",
        action="store_true",
        help="train the hold-out twin (holdout.nir, holdout_card.json): no validation images",
    )
    args = ap.parse_args(argv)
    import sinabs
    import torch

    import neurocompile as nc
    from neurocompile.models import predict
    from neurocompile.models._digits import data_note as _data_note
    from neurocompile.models._digits import regular_rate, training_data
    from neurocompile.models.digits_cnn_sinabs.net import CH1, CH2, build, run
    from neurocompile.nirio import write_nir

    t0 = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    out_dir = args.out or HERE
    stem = "holdout" if args.hold_out_validation else "model"  # holdout.nir, holdout_card.json
    xtr, ytr, xte, yte = training_data(args.hold_out_validation)
    test = regular_rate(xte[:, None], STEPS)  # (N, T, 1, 8, 8)

    def sinabs_acc(net) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float((predict(run(net, test)) == yte).mean())

    # 1. ANN
    ann = train_ann(xtr, ytr, rng, args.ann_epochs)
    with torch.no_grad():
        ann_acc = float(
            (ann(torch.tensor(xte[:, None], dtype=torch.float32)).argmax(1).numpy() == yte).mean()
        )
        top = ann(torch.tensor(xtr[:, None], dtype=torch.float32)).max(1).values.numpy()
    # 2. conversion
    out_scale = 1.0 / float(np.percentile(top, 99))
    net = build(STEPS)
    with torch.no_grad():
        net[0].weight.copy_(ann[0].weight / CLIP)
        net[3].weight.copy_(ann[3].weight / 4.0)
        net[7].weight.copy_(ann[7].weight * (CLIP / 4.0 * out_scale))
    converted_acc = sinabs_acc(net)
    print(f"ANN {ann_acc:.4f}, converted SNN {converted_acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
    # 3. BPTT fine-tuning of the SNN
    spike = _spike_fn()
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.finetune_epochs, 1))
    ytr_t = torch.tensor(ytr)
    for epoch in range(args.finetune_epochs):
        spikes = regular_rate(shifted(xtr, rng)[:, None], STEPS)
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            x = torch.tensor(spikes[idx].reshape(len(idx) * STEPS, 1, 8, 8))
            counts = snn_forward(net, x, len(idx), STEPS, spike).sum(1)
            loss = torch.nn.functional.cross_entropy(counts * (8.0 / STEPS), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        print(f"fine-tune epoch {epoch + 1}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    fw_acc = sinabs_acc(net)
    print(f"fine-tuned SNN (sinabs) {fw_acc:.4f}", flush=True)

    out_dir.mkdir(parents=True, exist_ok=True)
    reset(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = sinabs.to_nir(net, torch.zeros(STEPS, 1, 8, 8))
    # nir 1.0.4's nir.write fails on this export (Conv2d input_shape=None) and its IF has no
    # v_reset, so the exported graph is read by neurocompile.load, given v_reset = 0 (what
    # MembraneReset does) and serialized by neurocompile.nirio.write_nir.
    exported = nc.load(g)
    for node in exported.nodes.values():
        if node.kind == "IF":
            node.params["v_reset"] = np.zeros_like(np.asarray(node.params["v_threshold"], dtype=np.float64))
    exported.legacy_reset = ()
    exported.metadata = {"dt": 1.0, "framework": "sinabs", "tau_unit": "steps", "reset": "zero"}
    write_nir(exported, out_dir / f"{stem}.nir")
    graph = nc.load(out_dir / f"{stem}.nir")
    in_name = graph.inputs[0]
    if not args.hold_out_validation:
        np.savez_compressed(out_dir / "test.npz", **{in_name: test.astype(np.uint8)}, labels=yte)
    out = nc.simulate(graph, {in_name: test}, **SEMANTICS).outputs[graph.outputs[0]]
    ref_acc = float((predict(out) == yte).mean())
    card = {
        "name": "digits_cnn_sinabs",
        "task": "sklearn digits (8x8), 10 classes; 360 held-out samples (split seed 0)",
        "framework": f"sinabs {sinabs.__version__}: Conv{CH1}-IAF-SumPool-Conv{CH2}-IAF-SumPool-Linear10-IAF "
        "(reset to zero): ANN (clamp(0, 2), AvgPool) trained with +-1 pixel shifts, converted "
        "to IF, then BPTT fine-tuned (fast-sigmoid surrogate); exported with sinabs.to_nir",
        "dt": 1.0,
        "steps": STEPS,
        "conventions": {
            "framework": "sinabs",
            "tau_unit": "steps",
            "reset": "zero (MembraneReset(0), v_reset = 0)",
            "spike_fn": "SingleSpike",
            "min_v_mem": None,
            "threshold": "sinabs v >= theta, NIR v > theta (no ties with float weights)",
            "translation": "IF with r = 1, dt = 1, v_reset = 0 (reset 'file')",
            "nir_version": "written by neurocompile.nirio with v_reset (sinabs.to_nir on nir 1.0.4 has none)",
        },
        "encoding": {
            "kind": "regular rate code",
            "input": in_name,
            "shape": [STEPS, 1, 8, 8],
            "spikes": "floor((t+1) p + 1/2) - floor(t p + 1/2), p = pixel/16",
            "function": "neurocompile.models._digits.regular_rate",
        },
        "readout": "argmax of output spike counts",
        "simulate": SEMANTICS,
        "accuracy": {
            "ann": ann_acc,
            "converted_snn": converted_acc,
            "framework_float": fw_acc,
            "reference_float": ref_acc,
        },
        "train": {
            "seed": SEED,
            "ann_epochs": args.ann_epochs,
            "finetune_epochs": args.finetune_epochs,
            "clip": CLIP,
            "output_scale": out_scale,
            "data": _data_note(args.hold_out_validation, len(ytr)),
            "validation_held_out": args.hold_out_validation,
            "seconds": round(time.time() - t0, 1),
            "script": "python -m neurocompile.models.digits_cnn_sinabs.train"
            + (" --hold-out-validation" if args.hold_out_validation else ""),
        },
    }
    (out_dir / ("holdout_card.json" if args.hold_out_validation else "card.json")).write_text(
        json.dumps(card, indent=2) + "\n"
    )
    print(f"framework {fw_acc:.4f} reference {ref_acc:.4f} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
