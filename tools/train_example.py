#!/usr/bin/python3
"""Train the small Fashion-MNIST CNN used as ktc's example model, and export it.

    /usr/bin/python3 tools/train_example.py [--epochs 30] [--out examples/fashion_mnist]

Runs on CPU with 2 threads (a few minutes), fixed seeds. Writes into --out:
  fashion_cnn.onnx        opset 11, input "input" [1,1,28,28] (NCHW), output "logits" [1,10]
  inputs/sample_<i>.npy   8 preprocessed test images (test indices 0..7), channel-last [1,28,28,1]
  inputs/labels.txt       their labels, one integer per line (line i is sample_<i>)
  inputs_batch.npy        the same 8 stacked, [8,1,28,28,1]
  expected_logits.npy     PyTorch eval output for those 8, [8,1,10] float32
  README.md               model, training, test accuracy, how to retrain

Preprocessing is tools/fashion_mnist.py:preprocess ((x/255 - 0.5)/0.5).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402  (the one place the preprocessing rule lives)

SEED = 0
N_SAMPLES = 8


def conv_bn_relu(cin, cout, k, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True))


class FashionCNN(nn.Module):
    """conv3x3(1->16) pool dw3x3(16) pw1x1(16->32) pool conv3x3(32->32) gap fc(32->10)."""

    def __init__(self, width=32):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 16, 3),                  # 28x28
            nn.MaxPool2d(2),                         # 14x14
            conv_bn_relu(16, 16, 3, groups=16),      # depthwise
            conv_bn_relu(16, width, 1),              # pointwise
            nn.MaxPool2d(2),                         # 7x7
            conv_bn_relu(width, width, 3),
            nn.AdaptiveAvgPool2d(1))                 # global average pool
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


def to_nchw(x_u8):
    x = fashion_mnist.preprocess(x_u8)               # [N,28,28] float32
    return torch.from_numpy(x).unsqueeze(1)          # [N,1,28,28]


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / x.shape[0]


def augment(xb, g):
    """Random horizontal flip and +-2 pixel shift (padding value = background -1)."""
    n = xb.shape[0]
    flip = torch.rand(n, generator=g) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    pad = F.pad(xb, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()   # one shift per batch: cheap
    return pad[:, :, dy:dy + 28, dx:dx + 28].contiguous()


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="train and export the Fashion-MNIST example CNN")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(root, "examples", "fashion_mnist"))
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    g = torch.Generator().manual_seed(SEED)

    xtr_u8, ytr = fashion_mnist.load_raw("train")
    xte_u8, yte = fashion_mnist.load_raw("test")
    xtr, ytr = to_nchw(xtr_u8), torch.from_numpy(ytr.astype(np.int64))
    xte, yte = to_nchw(xte_u8), torch.from_numpy(yte.astype(np.int64))

    model = FashionCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    steps_per_epoch = (xtr.shape[0] + a.batch - 1) // a.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, epochs=a.epochs,
                                                steps_per_epoch=steps_per_epoch)
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=g)
        total = 0.0
        for i in range(0, xtr.shape[0], a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = augment(xtr[idx], g), ytr[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * idx.shape[0]
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{a.epochs}  loss {total / xtr.shape[0]:.4f}  "
              f"test acc {acc:.4f}  ({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    model.eval()
    acc = evaluate(model, xte, yte)
    print(f"final test accuracy: {acc:.4f} on {xte.shape[0]} images, trained in {train_s:.0f} s")

    # ---- export ----
    os.makedirs(os.path.join(a.out, "inputs"), exist_ok=True)
    onnx_path = os.path.join(a.out, "fashion_cnn.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, opset_version=11,
                      do_constant_folding=True, input_names=["input"],
                      output_names=["logits"])
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes), ops: {' '.join(ops)}")

    # ---- the 8 test samples (test indices 0..7) ----
    xs, ys = fashion_mnist.load("test", count=N_SAMPLES, layout="nhwc")   # [8,1,28,28,1]
    with torch.no_grad():
        nchw = torch.from_numpy(np.ascontiguousarray(xs.transpose(0, 1, 4, 2, 3)))  # [8,1,1,28,28]
        logits = np.stack([model(nchw[i]).numpy() for i in range(N_SAMPLES)]).astype(np.float32)
    for i in range(N_SAMPLES):
        np.save(os.path.join(a.out, "inputs", f"sample_{i}.npy"), xs[i])             # [1,28,28,1]
    with open(os.path.join(a.out, "inputs", "labels.txt"), "w") as f:
        f.write("".join(f"{int(v)}\n" for v in ys))
    np.save(os.path.join(a.out, "inputs_batch.npy"), xs)
    np.save(os.path.join(a.out, "expected_logits.npy"), logits)                    # [8,1,10]
    pred = logits.reshape(N_SAMPLES, 10).argmax(1)
    print(f"samples: labels {ys.tolist()}  predicted {pred.tolist()}")

    write_readme(a, acc, train_s, ops, ys, pred)
    return 0


def write_readme(a, acc, train_s, ops, ys, pred):
    names = ", ".join(f"{i} {c}" for i, c in enumerate(fashion_mnist.CLASSES))
    text = f"""# Fashion-MNIST example model

`fashion_cnn.onnx` is a small CNN classifying 28x28 grey Fashion-MNIST images into 10 classes
({names}).

- Layers: conv3x3(1->16)+BN+ReLU, maxpool2, depthwise conv3x3(16, groups=16)+BN+ReLU,
  pointwise conv1x1(16->32)+BN+ReLU, maxpool2, conv3x3(32->32)+BN+ReLU, global average pool,
  flatten, Linear(32->10). The ONNX export (opset 11, constant folding, eval mode) folds each
  BatchNorm into its conv, so the graph holds only: {', '.join(ops)}.
- Input `input` float32 [1,1,28,28] (NCHW in the ONNX file; ktc's default channel-last layout is
  [1,28,28,1]); output `logits` float32 [1,10].
- Preprocessing: `x = (pixel/255 - 0.5) / 0.5`, i.e. [-1, 1] (`tools/fashion_mnist.py:preprocess`).
- Training: PyTorch on CPU (`--threads {a.threads}`), AdamW, one-cycle LR (max {a.lr}), batch {a.batch},
  {a.epochs} epochs over the 60,000 training images with random horizontal flips and +-2 pixel
  shifts, seed {SEED}; this run took {train_s:.0f} s (about 3 minutes with 2 threads on 2 idle
  cores; PyTorch's threads slow down badly on a busy machine, where `--threads 1` is faster).
- **Test accuracy: {acc * 100:.2f}%** on the 10,000 Fashion-MNIST test images (PyTorch, float).

Files for tests:
- `inputs/sample_<i>.npy`: test images 0..7, preprocessed, channel-last [1,28,28,1] float32.
- `inputs/labels.txt`: their labels, one integer per line ({' '.join(str(int(v)) for v in ys)};
  the model predicts {' '.join(str(int(v)) for v in pred)}).
- `inputs_batch.npy`: the same 8 stacked, [8,1,28,28,1].
- `expected_logits.npy`: PyTorch eval output for the 8 samples, [8,1,10] float32.

More data (needs the Debian package dataset-fashion-mnist):

    /usr/bin/python3 tools/fashion_mnist.py --split test --count 1000 \\
        --out-images test_images.npy --out-labels test_labels.npy [--layout nhwc|nchw]

Retrain and regenerate every file here (fixed seeds; the same thread count reproduces these
files, another one may change the last bits of the weights):

    /usr/bin/python3 tools/train_example.py --threads {a.threads}
"""
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
