"""Small real data sets shipped inside the package, so examples, tests and benchmarks run offline.

- `load_digits()`: UCI optical handwritten digits (1,797 8x8 images), scaled to [0, 1].
- `load_mnist_5k()`: 5,000 MNIST digits (500 per class) as (N, 1, 28, 28), normalised as the paper did.
- `char_corpus()` / `encode_chars()`: a lowercase a-z character corpus (vocab 26) from the words of the
  Stanford Sentiment Treebank dev trees, for the character language models.
- `train_test_split()`: a deterministic shuffled split.

Sources and licences are in `data/README.md`. The SST tree parser lives elsewhere; this module only
reads the leaf words.
"""
from __future__ import annotations

import functools
import gzip
import os
import re
import string
from typing import List, Optional, Sequence, Tuple

import numpy as np

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
ALPHABET = string.ascii_lowercase

__all__ = ["DATA_DIR", "ALPHABET", "data_path", "load_digits", "load_mnist_5k", "sst_dev_lines",
           "char_corpus", "encode_chars", "decode_chars", "train_test_split"]


def data_path(name: str) -> str:
    """The absolute path of a shipped data file.

    Parameters
    ----------
    name : str
        `digits.csv.gz`, `mnist_5k.csv.gz` or `sst_dev.txt`.

    Raises
    ------
    FileNotFoundError
        No such file in the package.
    """
    path = os.path.join(DATA_DIR, name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"stage data file {name!r} not found in {DATA_DIR}")
    return path


@functools.lru_cache(maxsize=None)
def _read_csv_gz(name: str) -> np.ndarray:
    with gzip.open(data_path(name), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    table.setflags(write=False)
    return table


def load_digits() -> Tuple[np.ndarray, np.ndarray]:
    """The UCI optical handwritten digits (8x8 images), as scikit-learn's `load_digits`.

    Returns
    -------
    X : numpy.ndarray
        float32 (1797, 64), pixels 0..16 scaled to [0, 1].
    y : numpy.ndarray
        int64 (1797,), the digit 0..9.
    """
    table = _read_csv_gz("digits.csv.gz")
    X = (table[:, :64] / 16.0).astype(np.float32)
    y = table[:, 64].astype(np.int64)
    return X, y


def load_mnist_5k(normalize: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """5,000 MNIST digits (500 per class).

    Parameters
    ----------
    normalize : bool, default True
        Standardise with MNIST's mean 0.1307 and std 0.3081 (as the paper's CNN benchmark did)
        after scaling the pixels to [0, 1].

    Returns
    -------
    X : numpy.ndarray
        float32 (5000, 1, 28, 28).
    y : numpy.ndarray
        int64 (5000,), the digit 0..9.
    """
    table = _read_csv_gz("mnist_5k.csv.gz")
    X = (table[:, :784] / 255.0).astype(np.float32)
    if normalize:
        X = ((X - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)).astype(np.float32)
    y = table[:, 784].astype(np.int64)
    return X.reshape(-1, 1, 28, 28), y


def sst_dev_lines() -> List[str]:
    """The 1,101 SST dev trees as raw PTB-style lines (parse them with stage's SST parser)."""
    with open(data_path("sst_dev.txt"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


_LEAF = re.compile(r"\(\d+ ([^()\s]+)\)")
_PTB_ESCAPES = {"-LRB-", "-RRB-", "-LSB-", "-RSB-", "-LCB-", "-RCB-"}   # brackets: no letters
_NON_LETTERS = re.compile(r"[^a-z]+")


@functools.lru_cache(maxsize=None)
def char_corpus() -> str:
    """A lowercase a-z string (vocab 26): the leaf words of all SST dev trees, in order, lowercased,
    with every character outside a-z dropped, concatenated without separators.

    PTB bracket tokens (`-LRB-`, `-RRB-`, ...) stand for punctuation and are dropped whole."""
    words = []
    for line in sst_dev_lines():
        for w in _LEAF.findall(line):
            if w not in _PTB_ESCAPES:
                words.append(_NON_LETTERS.sub("", w.lower()))
    return "".join(words)


def encode_chars(text: Optional[str] = None) -> np.ndarray:
    """int64 ids 0..25 ('a' -> 0, ..., 'z' -> 25) of `text` (default: `char_corpus()`).

    Raises
    ------
    ValueError
        `text` has a character outside a-z.
    """
    text = char_corpus() if text is None else text
    ids = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - ord("a")
    if ids.size and (ids.min() < 0 or ids.max() >= len(ALPHABET)):
        raise ValueError("encode_chars accepts only lowercase letters a-z")
    return ids


def decode_chars(ids: Sequence[int]) -> str:
    """The inverse of `encode_chars`: the letters of integer `ids` 0..25."""
    return "".join(ALPHABET[int(i)] for i in np.asarray(ids).ravel())


def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A deterministic shuffled split, as scikit-learn's `train_test_split`.

    Parameters
    ----------
    X, y : array_like
        Samples and labels, the same number of rows.
    test_fraction : float, default 0.2
        The share of rows in the test split, in (0, 1).
    seed : int, default 0
        The same seed always gives the same split (NumPy's PCG64 permutation).

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy.ndarray

    Raises
    ------
    ValueError
        Different row counts, or a fraction that leaves a split empty.

    Examples
    --------
    >>> import numpy as np
    >>> from stage.datasets import train_test_split
    >>> parts = train_test_split(np.arange(10), np.arange(10), 0.3)
    >>> [len(p) for p in parts]
    [7, 3, 7, 3]
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(round(len(X) * test_fraction))
    if not 0 < n_test < len(X):
        raise ValueError(f"test_fraction {test_fraction} leaves an empty split of {len(X)} rows")
    perm = np.random.default_rng(seed).permutation(len(X))
    test, train = perm[:n_test], perm[n_test:]
    return X[train], X[test], y[train], y[test]
