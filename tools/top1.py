#!/usr/bin/python3
"""Top-1 accuracy of stacked logits against integer labels.

usage: /usr/bin/python3 tools/top1.py LOGITS.npy LABELS.npy
LOGITS holds [N, ..., classes] (ktc infer's stacked output), LABELS [N]."""
import sys

import numpy as np

logits = np.load(sys.argv[1])
labels = np.load(sys.argv[2])
predicted = logits.reshape(len(labels), -1).argmax(axis=1)
correct = int((predicted == labels).sum())
print(f"top-1 accuracy: {correct}/{len(labels)} = {100.0 * correct / len(labels):.2f}%")
