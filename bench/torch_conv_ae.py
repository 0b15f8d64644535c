"""PyTorch reference for models C and C0, the convolutional autoencoders `ae train
--arch conv --channels 32,64 --layers 32 [--batch-norm]` builds, on Fashion-MNIST
(settings as torch_ae.py). C has --batch-norm, C0 not:

    Conv2d(1→32, 3, stride 2, padding 1) [BatchNorm2d] ReLU    28×28 → 14×14
    Conv2d(32→64, 3, stride 2, padding 1) [BatchNorm2d] ReLU   14×14 → 7×7
    Flatten, Linear(3136→32) ReLU                              the code
    Linear(32→3136) ReLU, Unflatten(64, 7, 7)
    ConvTranspose2d(64→32, 3, 2, 1, output_padding=1) [BatchNorm2d] ReLU   → 14×14
    ConvTranspose2d(32→1, 3, 2, 1, output_padding=1) Sigmoid               → 28×28

Glorot/Xavier-uniform weights, zero biases, Adam(lr 1e-3, eps 1e-7), mean BCE, batch
128, a fresh permutation each epoch, the last 6,000 training images for validation.
Usage: python torch_conv_ae.py --model C --threads 1 --seed 0 --out result.json
It imports the peers' `common.py` (PEERS_DIR, default ../../shared/bench/peers).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(HERE, "..", "..", "shared", "bench", "peers")))
import common  # noqa: E402

THREADS = common.threads_from_argv(default=1)
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(THREADS)
torch.set_num_interop_threads(THREADS)


def build(batch_norm):
    def norm(c):
        # ae's --batch-norm: BatchNorm2d (momentum 0.1, eps 1e-5) after each convolution but the last.
        return [nn.BatchNorm2d(c)] if batch_norm else []
    layers = [
        nn.Conv2d(1, 32, 3, stride=2, padding=1), *norm(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), *norm(64), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 32), nn.ReLU(),
        nn.Linear(32, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), *norm(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),
    ]
    for m in layers:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="C", choices=["C", "C0"],
                    help="C: with batch norm after each convolution but the last; C0: without")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=common.EPOCHS)
    ap.add_argument("--flush-denormal", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    x_train, x_test = common.load_fmnist()
    torch.manual_seed(args.seed)
    n_fit = common.N_TRAIN_FIT
    xt = torch.from_numpy(x_train[:n_fit]).reshape(-1, 1, 28, 28)
    xv = torch.from_numpy(x_train[n_fit:]).reshape(-1, 1, 28, 28)
    model = build(args.model == "C")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.BCELoss()
    epoch_s, losses, val_losses = [], [], []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        tot, n = 0.0, 0
        perm = torch.randperm(n_fit)
        for i in range(0, n_fit, common.BATCH):
            xb = xt[perm[i:i + common.BATCH]]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
            tot += loss.item() * xb.shape[0]
            n += xb.shape[0]
        model.eval()
        vtot = 0.0
        with torch.no_grad():
            for i in range(0, xv.shape[0], common.BATCH):
                xb = xv[i:i + common.BATCH]
                vtot += loss_fn(model(xb), xb).item() * xb.shape[0]
        epoch_s.append(time.perf_counter() - t0)
        losses.append(tot / n)
        val_losses.append(vtot / xv.shape[0])
        print(f"Epoch {epoch + 1}/{args.epochs} - {epoch_s[-1]:.2f}s - loss: {losses[-1]:.4f}"
              f" - val_loss: {val_losses[-1]:.4f}", flush=True)
    xte = torch.from_numpy(x_test).reshape(-1, 1, 28, 28)

    def predict():
        with torch.inference_mode():
            return torch.cat([model(xte[i:i + common.INFER_BATCH])
                              for i in range(0, xte.shape[0], common.INFER_BATCH)]).reshape(-1, 784).numpy()

    pred = predict()
    infer_s = []
    for _ in range(3):
        t = time.perf_counter()
        predict()
        infer_s.append(time.perf_counter() - t)
    res = {
        "framework": "torch", "model": args.model, "seed": args.seed, "epochs": args.epochs,
        "versions": {"torch": torch.__version__},
        "n_params": int(sum(p.numel() for p in model.parameters())),
        "epoch_s": epoch_s, "loss": losses, "val_loss": val_losses,
        "final_train_loss": losses[-1], "final_val_loss": val_losses[-1],
        "test": common.recon_metrics(x_test, pred),
        "infer_predict_med_s": common.median(infer_s),
        "threads": {"intra": torch.get_num_threads(), "inter": torch.get_num_interop_threads()},
    }
    common.write_json(args.out, res)
    print(f"torch {args.model} threads={THREADS} seed={args.seed}: med2-={common.median(epoch_s[1:]) if len(epoch_s) > 1 else epoch_s[0]:.2f}s "
          f"loss={losses[-1]:.5f} val={val_losses[-1]:.5f} test_sse={res['test']['sse_image']:.3f}")


if __name__ == "__main__":
    main()
