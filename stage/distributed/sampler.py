"""Sharding a data set by rank: the same shuffled order on every rank, a different shard each."""
from __future__ import annotations

from typing import Iterator, Optional

import numpy as np


class DistributedSampler:
    """Indices of this rank's shard of a data set of `n` examples, as `torch.utils.data.
    DistributedSampler`: every rank draws the same permutation (seed + epoch), pads it to a
    multiple of the number of ranks (repeating its start) or drops the tail, and takes every
    `world_size`-th index from its rank on, so the shards are disjoint and of equal length (every
    rank runs the same number of steps: the collectives match).

    Parameters
    ----------
    n : int
        The number of examples.
    shuffle : bool, default True
        Permute (the same way on every rank) each epoch.
    seed : int, default 0
        Seeds the permutation (with the epoch).
    drop_last : bool, default False
        Drop the tail that does not divide evenly instead of repeating examples.
    rank, world_size : int, optional
        Default: this process's (`stage.distributed.rank()` and `world_size()`).

    Examples
    --------
    >>> from stage.distributed import DistributedSampler
    >>> s = DistributedSampler(10, rank=1, world_size=3, shuffle=False)
    >>> list(s)
    [1, 4, 7, 0]
    >>> [b.tolist() for b in s.batches(2)]
    [[1, 4], [7, 0]]
    """

    def __init__(self, n: int, shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 rank: Optional[int] = None, world_size: Optional[int] = None):
        if rank is None or world_size is None:
            from . import rank as _rank, world_size as _size
            rank = _rank() if rank is None else rank
            world_size = _size() if world_size is None else world_size
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"DistributedSampler: rank {rank} of world size {world_size}")
        if n < 1 or (drop_last and n < world_size):
            raise ValueError(f"DistributedSampler: {n} examples cannot be shared by {world_size} "
                             f"ranks" + (" with drop_last" if drop_last else ""))
        self.n, self.shuffle, self.seed, self.drop_last = int(n), shuffle, int(seed), drop_last
        self.rank, self.world_size = int(rank), int(world_size)
        self.epoch = 0
        self.num_samples = (self.n // self.world_size if drop_last
                            else -(-self.n // self.world_size))

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of this epoch (call it with the same epoch on every rank)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch (int64, length `num_samples`)."""
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
                 if self.shuffle else np.arange(self.n))
        total = self.num_samples * self.world_size
        if total > self.n:
            order = np.concatenate([order, np.resize(order, total - self.n)])
        return order[:total][self.rank::self.world_size].astype(np.int64)

    def batches(self, batch_size: int, drop_last: bool = True) -> Iterator[np.ndarray]:
        """This rank's indices in batches of `batch_size` (a short last batch only without
        `drop_last`; with it every rank has the same number of equal batches)."""
        idx = self.indices()
        stop = len(idx) - len(idx) % batch_size if drop_last else len(idx)
        for i in range(0, stop, batch_size):
            yield idx[i:i + batch_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
