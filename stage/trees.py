"""Trees as runtime data: index arrays that staged recursive functions walk.

A `Forest` holds any number of binary trees in flat int64 arrays, one entry per node: `left[i]` and
`right[i]` are child indices (-1 for none), `word[i]` a feature index (-1 for internal nodes),
`label[i]` a per-node label. Children come before their parents. A tree is named by its root index,
so one compiled library serves every tree of the forest (the shapes never change, only the root).
`load_sst()` parses the Stanford Sentiment Treebank's PTB-style lines into a Forest and a vocabulary.
"""

from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

import numpy as np


class Forest(NamedTuple):
    """Flat arrays of a set of binary trees (a pytree: pass it to staged functions as it is).

    One entry per node, children before their parents; a tree is its root's index, so one
    compiled library serves every tree.

    Attributes
    ----------
    left, right : numpy.ndarray
        int64 child indices, -1 for none (a leaf has neither, a unary node only `left`).
    word : numpy.ndarray
        int64 feature index of a leaf (into a vocabulary), -1 for internal nodes.
    label : numpy.ndarray
        int64 per-node label (SST: sentiment 0..4).

    Examples
    --------
    >>> from stage.trees import build_forest
    >>> forest, roots, vocab = build_forest(["(3 (2 good) (4 fun))"])
    >>> forest.left.tolist(), forest.right.tolist(), int(roots[0])
    ([-1, -1, 0], [-1, -1, 1], 2)
    """
    left: np.ndarray
    right: np.ndarray
    word: np.ndarray
    label: np.ndarray


def _tokens(line: str) -> List[str]:
    return line.replace("(", " ( ").replace(")", " ) ").split()


def parse_ptb(line: str, vocab: Dict[str, int], nodes: List[Tuple[int, int, int, int]]) -> int:
    """Append the nodes of one PTB tree ``(label (label word) ...)`` to `nodes`; return the root.

    Iterative (an explicit stack), so deep trees parse without Python recursion limits.

    Parameters
    ----------
    line : str
        One tree, e.g. ``(3 (2 good) (4 fun))``; labels are integers.
    vocab : dict of str to int
        Word -> index; new words are added.
    nodes : list of (left, right, word, label)
        Appended to, children first.

    Returns
    -------
    int
        The root's index in `nodes`.

    Raises
    ------
    ValueError
        Unbalanced parentheses, or a node with more than two children.
    """
    toks = _tokens(line)
    stack: List[list] = []          # open nodes: [label, children...]
    root = -1
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "(":
            stack.append([int(toks[i + 1])])
            i += 2
            continue
        if t == ")":
            label, *kids = stack.pop()
            if len(kids) == 1 and isinstance(kids[0], str):          # a leaf
                w = vocab.setdefault(kids[0], len(vocab))
                nodes.append((-1, -1, w, label))
            elif len(kids) == 2:
                nodes.append((kids[0], kids[1], -1, label))
            elif len(kids) == 1:                                      # unary: pass through
                nodes.append((kids[0], -1, -1, label))
            else:
                raise ValueError(f"parse_ptb: a node with {len(kids)} children in {line[:60]!r}")
            idx = len(nodes) - 1
            if stack:
                stack[-1].append(idx)
            else:
                root = idx
            i += 1
            continue
        stack[-1].append(t)                                           # a word
        i += 1
    if stack or root < 0:
        raise ValueError(f"parse_ptb: unbalanced parentheses in {line[:60]!r}")
    return root


def build_forest(lines: Iterable[str], vocab: Optional[Dict[str, int]] = None
                 ) -> Tuple[Forest, np.ndarray, Dict[str, int]]:
    """Parse PTB-style lines (one tree each; blank lines skipped) into one forest.

    Parameters
    ----------
    lines : iterable of str
        The trees.
    vocab : dict of str to int, optional
        A vocabulary to extend (default: a new one).

    Returns
    -------
    (Forest, numpy.ndarray, dict)
        The forest, the int64 root index of each tree, and the vocabulary.
    """
    vocab = {} if vocab is None else vocab
    nodes: List[Tuple[int, int, int, int]] = []
    roots = []
    for line in lines:
        line = line.strip()
        if line:
            roots.append(parse_ptb(line, vocab, nodes))
    arr = np.array(nodes, dtype=np.int64).reshape(-1, 4)
    forest = Forest(*(np.ascontiguousarray(arr[:, k]) for k in range(4)))
    return forest, np.array(roots, dtype=np.int64), vocab


def load_sst(path: Optional[str] = None) -> Tuple[Forest, np.ndarray, Dict[str, int]]:
    """The Stanford Sentiment Treebank dev split shipped with stage, parsed.

    Parameters
    ----------
    path : str, optional
        Another file of PTB-style trees instead.

    Returns
    -------
    (Forest, numpy.ndarray, dict)
        1,101 trees and 41,447 nodes (labels 0..4 at every node), their roots, and the
        vocabulary.
    """
    if path is None:
        from .datasets import data_path
        path = data_path("sst_dev.txt")
    with open(path, encoding="utf-8") as f:
        return build_forest(f)


def tree_sizes(forest: Forest, roots: np.ndarray) -> np.ndarray:
    """The number of nodes of each tree of `forest` given by `roots` (trees are stored
    contiguously, children first, in the order of `roots`)."""
    starts = np.concatenate([[0], roots[:-1] + 1])
    return roots - starts + 1
