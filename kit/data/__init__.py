"""The capstone's data: 1,797 handwritten digits, 8x8 pixels, 0..16 each.

Source: the UCI Machine Learning Repository's "Optical Recognition of Handwritten Digits"
data set, by E. Alpaydin and C. Kaynak (1998),
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits, licensed
under Creative Commons Attribution 4.0 (CC BY 4.0). digits.csv.gz is the copy scikit-learn
ships (sklearn/datasets/data/digits.csv.gz: the UCI test set, 64 pixels then the label on
each row), taken unchanged from its wheel so that no download and no scikit-learn is needed.

The split is fixed: a permutation of the 1,797 rows drawn from torch.Generator seeded with
SPLIT_SEED; its first TEST_SIZE rows are the held-out test set, the rest the training set.
"""
import functools
import gzip
import os

import numpy as np
import torch

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")
SPLIT_SEED = 0
TEST_SIZE = 360  # 20 %


@functools.lru_cache(maxsize=1)
def _load():
    with gzip.open(PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = torch.from_numpy(table[:, :64].copy()).reshape(-1, 1, 8, 8) / 16.0  # pixels to [0, 1]
    labels = torch.from_numpy(table[:, 64].astype(np.int64))
    return images, labels


def load(dtype=torch.float32):
    """((train_images, train_labels), (test_images, test_labels)): images (N, 1, 8, 8) in [0, 1],
    labels (N,) int64 in 0..9. Fresh tensors on every call."""
    images, labels = _load()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    test, train = order[:TEST_SIZE], order[TEST_SIZE:]
    images = images.to(dtype)
    return (images[train], labels[train]), (images[test], labels[test])
