"""Train the ``digits_mlp_onnx`` zoo model: a torch MLP 64-128-10 (ReLU) on sklearn digits,
exported to ONNX and converted to an SNN of IF neurons by neurocompile's ONNX frontend.

Writes ``model.onnx`` (the ANN), ``model.nir`` (the converted SNN, threshold-balanced on the
training images at the 99.9th percentile), ``test.npz`` (the 360 held-out images as constant
analog input over ``STEPS`` steps, key ``input``, plus ``labels``) and ``card.json``.

Run: ``python -m neurocompile.models.digits_mlp_onnx.train`` (about 10 s on one CPU core).

``--hold-out-validation`` trains the model's hold-out twin instead (``holdout.nir``,
``holdout_card.json``): the same script on the training part without the validation split,
evaluated on the validation split (its card's accuracies), no test set touched;
``models/choose_options.py`` chooses the compile options on it. The bundled model is the same
script on the whole training part (the usual refit once the options are chosen).
"""

from __future__ import annotations

import argparse
import io
import json
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
STEPS = 64
PERCENTILE = 99.9
HIDDEN = 128


def train(epochs: int = 300, hold_out_validation: bool = False) -> tuple[object, float]:
    import torch

    from neurocompile.models._digits import training_data

    torch.manual_seed(SEED)
    xtr, ytr, xte, yte = training_data(hold_out_validation)
    xtr_t, ytr_t = torch.tensor(xtr.reshape(len(xtr), -1), dtype=torch.float32), torch.tensor(ytr)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(HIDDEN, 10)
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(epochs // 10):
        for _ in range(10):
            perm = torch.randperm(len(ytr_t), generator=gen)
            for i in range(0, len(perm), 128):
                idx = perm[i : i + 128]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(xtr_t[idx]), ytr_t[idx])
                loss.backward()
                opt.step()
    net.eval()
    with torch.no_grad():
        acc = float(
            (
                net(torch.tensor(xte.reshape(len(xte), -1), dtype=torch.float32)).argmax(1).numpy() == yte
            ).mean()
        )
    return net, acc


def export_onnx(net) -> bytes:
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            torch.zeros(1, 64),
            buf,
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--hold-out-validation",
        action="store_true",
        help="train the hold-out twin (holdout.nir, holdout_card.json): no validation images",
    )
    args = ap.parse_args(argv)
    import onnx

    import neurocompile as nc
    from neurocompile.models import predict
    from neurocompile.models._digits import data_note as _data_note
    from neurocompile.models._digits import training_data
    from neurocompile.nirio import write_nir
    from neurocompile.onnx_frontend import parse_onnx

    t0 = time.time()
    out_dir = args.out or HERE
    stem = "holdout" if args.hold_out_validation else "model"  # holdout.nir, holdout_card.json
    net, torch_acc = train(args.epochs, args.hold_out_validation)
    data = export_onnx(net)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.onnx").write_bytes(data)
    xtr, ytr, xte, yte = training_data(args.hold_out_validation)
    proto = onnx.load_from_string(data)
    ann_acc = float((parse_onnx(proto).predict(xte.reshape(len(xte), -1)) == yte).mean())
    graph = nc.load(proto, calibration=xtr.reshape(len(xtr), -1), percentile=PERCENTILE)
    write_nir(graph, out_dir / f"{stem}.nir")
    x = np.repeat(xte.reshape(len(xte), 1, 64), STEPS, axis=1).astype(np.float32)
    if not args.hold_out_validation:
        np.savez_compressed(out_dir / "test.npz", input=x, labels=yte)
    g2 = nc.load(out_dir / f"{stem}.nir")
    sem = {"dt": 1.0, "discretization": "forward", "reset": "subtract", "hop_delay": 0}
    out = nc.simulate(g2, {"input": x}, **sem).outputs["output"]
    snn_acc = float((predict(out) == yte).mean())
    card = {
        "name": "digits_mlp_onnx",
        "task": "sklearn digits (8x8), 10 classes; 360 held-out samples (split seed 0)",
        "framework": "torch 2.13 MLP 64-128-10 (ReLU) -> ONNX (torch.onnx.export, TorchScript exporter) -> "
        "neurocompile.onnx_frontend",
        "dt": 1.0,
        "steps": STEPS,
        "conventions": {k: v for k, v in graph.conventions.items() if k != "notes"},
        "encoding": {
            "kind": "constant analog current",
            "input": "input",
            "shape": [STEPS, 64],
            "value": "pixel / 16 at every step",
        },
        "readout": "argmax of output spike counts",
        "simulate": sem,
        "accuracy": {
            "ann_torch": torch_acc,
            "ann_onnx": ann_acc,
            "framework_float": ann_acc,
            "reference_float": snn_acc,
            "snn_over_ann": snn_acc / ann_acc,
        },
        "train": {
            "seed": SEED,
            "epochs": args.epochs,
            "data": _data_note(args.hold_out_validation, len(ytr)),
            "validation_held_out": args.hold_out_validation,
            "seconds": round(time.time() - t0, 1),
            "script": "python -m neurocompile.models.digits_mlp_onnx.train"
            + (" --hold-out-validation" if args.hold_out_validation else ""),
        },
    }
    (out_dir / ("holdout_card.json" if args.hold_out_validation else "card.json")).write_text(
        json.dumps(card, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
