#!/usr/bin/python3
"""Fashion-MNIST as .npy files for ktc, with the example model's preprocessing.

Reads the Debian package dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz).

Preprocessing (the one rule, used by tools/train_example.py too):
    x = (pixel / 255 - MEAN) / STD   with MEAN = 0.5, STD = 0.5
so pixels map from [0, 255] to [-1, 1] (float32).

Usage:
    /usr/bin/python3 tools/fashion_mnist.py --split test --count 100 \
        --out-images imgs.npy --out-labels labels.npy [--layout nhwc|nchw] [--offset K]

Output shapes: images [N,1,28,28,1] for nhwc (N samples, each the model's channel-last input
[1,28,28,1]) or [N,1,1,28,28] for nchw; labels int64 [N].
"""
import argparse
import gzip
import os
import struct
import sys

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.5
STD = 0.5
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_PREFIX = {"train": "train", "test": "t10k"}


def _read_idx(path, magic_expected):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated IDX header")
    magic, n = struct.unpack(">II", data[:8])
    if magic != magic_expected:
        raise ValueError(f"{path}: bad IDX magic {magic:#x}, expected {magic_expected:#x}")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(data) - offset != count:
        raise ValueError(f"{path}: payload is {len(data) - offset} bytes, expected {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_raw(split, data_dir=DATA_DIR):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 'test'."""
    if split not in _PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    p = _PREFIX[split]
    images = _read_idx(os.path.join(data_dir, f"{p}-images-idx3-ubyte.gz"), 0x00000803)
    labels = _read_idx(os.path.join(data_dir, f"{p}-labels-idx1-ubyte.gz"), 0x00000801)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def preprocess(images_u8):
    """uint8 pixels [..., 28, 28] -> float32 (x/255 - 0.5)/0.5 in [-1, 1], same shape."""
    x = np.asarray(images_u8, dtype=np.float32) / np.float32(255.0)
    return ((x - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)


def to_layout(x, layout):
    """float32 [N,28,28] -> [N,1,28,28,1] (nhwc) or [N,1,1,28,28] (nchw)."""
    n = x.shape[0]
    if layout == "nhwc":
        return np.ascontiguousarray(x.reshape(n, 1, 28, 28, 1))
    if layout == "nchw":
        return np.ascontiguousarray(x.reshape(n, 1, 1, 28, 28))
    raise ValueError(f"layout must be 'nhwc' or 'nchw', got {layout!r}")


def load(split, count=None, offset=0, layout="nhwc", data_dir=DATA_DIR):
    """Preprocessed (images, labels int64) in the requested layout."""
    images, labels = load_raw(split, data_dir)
    end = images.shape[0] if count is None else offset + count
    if offset < 0 or end > images.shape[0] or end < offset:
        raise ValueError(f"{split}: range [{offset}, {end}) outside 0..{images.shape[0]}")
    x = to_layout(preprocess(images[offset:end]), layout)
    return x, labels[offset:end].astype(np.int64)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=["test", "train"], default="test")
    ap.add_argument("--count", type=int, default=None, help="number of samples (default: all)")
    ap.add_argument("--offset", type=int, default=0, help="index of the first sample")
    ap.add_argument("--out-images", required=True)
    ap.add_argument("--out-labels", required=True)
    ap.add_argument("--layout", choices=["nhwc", "nchw"], default="nhwc")
    ap.add_argument("--data-dir", default=DATA_DIR)
    a = ap.parse_args(argv)
    try:
        x, y = load(a.split, a.count, a.offset, a.layout, a.data_dir)
    except (OSError, ValueError) as e:
        print(f"fashion_mnist.py: {e}", file=sys.stderr)
        return 1
    np.save(a.out_images, x)
    np.save(a.out_labels, y)
    print(f"wrote {a.out_images} {x.dtype}{list(x.shape)} and {a.out_labels} {y.dtype}{list(y.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
