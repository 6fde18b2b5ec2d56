"""The data-parallel half of `st.train_step(..., distributed=True)`.

At construction: the model and optimizer are compared across ranks (names, shapes, dtypes,
optimizer and settings: a mismatch is an error on every rank, before any training), then the
parameters, buffers and optimizer state are broadcast from rank 0.

While the step is staged: reverse mode reports each trainable parameter's gradient as soon as it
is complete (`stage.cps.ready`); gradients are packed, in that order, into buckets of about
`bucket_mb` MB per dtype, and each full bucket's all-reduce is started at once
(`allreduce_start` on a ref holding the bucket). Before the optimizer update the step waits for
every bucket (`allreduce_wait`) and hands the optimizer the averages (sum / world size): clipping
by global norm sees the averaged gradients. The communicator handles, 1 / world size and the
timeout are runtime scalars of the step, so one compiled library serves any job size.

Per rank: buffers (BatchNorm running statistics) are updated from each rank's own batch and are
not synchronised by the step (`stage.distributed.sync_buffers` averages them; PyTorch DDP
broadcasts rank 0's before every forward by default); dropout masks differ per rank (the key
includes the rank).
"""
from __future__ import annotations

import contextlib
from typing import Dict, List

import numpy as np

from ..cps.ready import watch_gradients
from ..ir import functions as F
from ..ir.graph import reflect
from ..ir.rep import Rep
from .comm import DistributedError, group

KEYS = ("__dist_comm", "__dist_fault", "__dist_scale", "__dist_timeout")


class Buckets:
    """The listener of reverse mode: packs finished gradients into buckets and starts their
    all-reduce; `average` waits for them and returns the averaged gradients."""

    def __init__(self, names: Dict[int, str], dist: Dict[str, Rep], bucket_bytes: int,
                 overlap: bool):
        self.names = names
        self.watch = set(names) if overlap else set()
        self.dist = dist
        self.bucket_bytes = bucket_bytes
        self.open: Dict[str, list] = {}         # dtype -> [(name, grad)] not started yet
        self.started: List[tuple] = []           # (ref, request, [(name, shape)])
        self.seen = set()

    def ready(self, sym_id: int, g: Rep):
        self._add(self.names[sym_id], g)

    def _add(self, name: str, g: Rep):
        self.seen.add(name)
        items = self.open.setdefault(g.dtype, [])
        items.append((name, g))
        if sum(x.type.size * np.dtype(x.dtype).itemsize for _, x in items) >= self.bucket_bytes:
            self._start(g.dtype)

    def _start(self, dtype: str):
        items = self.open.pop(dtype)
        flat = [F.reshape(g, (-1,)) for _, g in items]
        ref = Rep(reflect("new_var", (F.concatenate(flat) if len(flat) > 1 else flat[0]).exp)[0])
        req = Rep(reflect("allreduce_start", ref.exp, self.dist["__dist_comm"].exp)[0])
        self.started.append((ref, req, [(n, g.shape) for n, g in items]))

    def average(self, grads: Dict[str, Rep]) -> Dict[str, Rep]:
        """Start what is left, wait for every bucket, and return the averaged gradients."""
        for name, g in grads.items():
            if name not in self.seen:
                self._add(name, g)
        for dtype in list(self.open):
            self._start(dtype)
        d = self.dist
        flats = []
        for ref, req, items in self.started:
            reflect("allreduce_wait", ref.exp, req.exp, d["__dist_fault"].exp,
                    d["__dist_timeout"].exp)
        for ref, req, items in self.started:
            flats.append((Rep(reflect("read_var", ref.exp)[0]), items))
        out = {}
        for flat, items in flats:
            scale = F.astype(d["__dist_scale"], flat.dtype)
            off = 0
            for name, shape in items:
                n = int(np.prod(shape, dtype=np.int64))
                out[name] = F.reshape(flat[off:off + n], shape) * scale
                off += n
        self.layout = [[(n, tuple(s)) for n, s in items] for _, _, items in self.started]
        return {k: out[k] for k in grads}


class DataParallel:
    """What a distributed TrainStep adds: set-up across ranks and the staged all-reduce."""

    def __init__(self, model, optimizer, bucket_mb: float = 4.0, overlap: bool = True):
        if not bucket_mb > 0:
            raise ValueError(f"bucket_mb must be positive, got {bucket_mb!r}")
        self.group = g = group()
        self.bucket_bytes = int(bucket_mb * (1 << 20))
        self.overlap = overlap
        self.layout: list = []                 # buckets of the last staged step (name, shape)
        self.checked = set()                   # specialisations whose layout the ranks agreed on
        self.model, self.optimizer = model, optimizer
        _check_same(model, optimizer, bucket_mb, overlap)
        for k, a in _arrays(model, optimizer):
            g.wait(g.comm.Ibcast(a, root=0), f"broadcast of {k} from rank 0")
        steps = np.array([optimizer.steps], np.int64)
        g.wait(g.comm.Ibcast(steps, root=0), "broadcast of the optimizer's step count")
        optimizer.steps = int(steps[0])

    def inputs(self) -> Dict[str, object]:
        """The runtime scalars the step takes (with the hyper-parameters)."""
        g = self.group
        if g.broken is not None:
            raise g.broken
        comm, fault = g.handles()
        return {"__dist_comm": np.int64(comm), "__dist_fault": np.int64(fault),
                "__dist_scale": np.float64(1.0 / g.size), "__dist_timeout": np.float64(g.timeout)}

    def key(self, key):
        """The dropout key of this rank: (seed, k) becomes (seed, k * world size + rank)."""
        g = self.group
        return key[0], np.int64(int(key[1]) * g.size + g.rank)

    def failed(self, e: BaseException) -> BaseException:
        """The exception a failed step raises: a collective's failure names the failed rank."""
        de = self.group.native_failed(e)
        if de is not None and de is not e:
            de.__cause__ = e
            return de
        return e

    @contextlib.contextmanager
    def staging(self, trainable: Dict[str, Rep], hyper: Dict[str, Rep]):
        """While the step is staged: takes the distributed scalars out of `hyper` and yields the
        Buckets listening to reverse mode."""
        dist = {k: hyper.pop(k) for k in KEYS}
        b = Buckets({p.exp.id: k for k, p in trainable.items()}, dist, self.bucket_bytes,
                    self.overlap)
        with watch_gradients(b):
            yield b
        self.layout = getattr(b, "layout", [])

    def check_layout(self, exe):
        """Once per specialisation: every rank staged the same buckets (else the all-reduces
        would not match)."""
        if id(exe) in self.checked:
            return
        from . import _gather_objects
        layouts = _gather_objects(self.layout)
        for r, lay in enumerate(layouts):
            if lay != layouts[0]:
                raise DistributedError(f"stage.distributed: rank {r} staged a different step than "
                                       f"rank 0 (gradient buckets {_short(lay)} vs "
                                       f"{_short(layouts[0])}): every rank must run the same loss "
                                       f"on batches of the same shapes")
        self.checked.add(id(exe))


def _short(layout):
    return [[n for n, _ in b] for b in layout]


def _arrays(model, optimizer):
    """Every array rank 0 broadcasts, in a fixed order."""
    out = [(f"parameter {k!r}", a) for k, a in model.named_parameters()]
    out += [(f"buffer {k!r}", a) for k, a in model.named_buffers()]
    for k in sorted(optimizer.state):
        for s in sorted(optimizer.state[k]):
            out.append((f"optimizer state {k!r}.{s}", optimizer.state[k][s]))
    return out


def _describe(model, optimizer, bucket_mb, overlap):
    arrays = [(k, a.dtype.name, a.shape) for k, a in _arrays(model, optimizer)]
    settings = {k: v for k, v in vars(optimizer).items() if isinstance(v, (int, float, tuple, str))
                and k != "steps"}
    return {"arrays": arrays, "optimizer": (type(optimizer).__name__, sorted(settings.items())),
            "buckets": (bucket_mb, overlap)}


def _check_same(model, optimizer, bucket_mb, overlap):
    from . import _gather_objects
    mine = _describe(model, optimizer, bucket_mb, overlap)
    every = _gather_objects(mine)
    for r, d in enumerate(every):
        if d == every[0]:
            continue
        what = _first_difference(every[0], d)
        raise DistributedError(f"stage.distributed: rank {r}'s model or optimizer differs from "
                               f"rank 0's: {what}")


def _first_difference(a, b):
    if a["arrays"] != b["arrays"]:
        da, db = dict((k, (t, s)) for k, t, s in a["arrays"]), dict((k, (t, s)) for k, t, s in b["arrays"])
        for k in list(da) + [k for k in db if k not in da]:
            if da.get(k) != db.get(k):
                fmt = lambda v: "missing" if v is None else f"{v[0]}{list(v[1])}"  # noqa: E731
                return f"{k} is {fmt(da.get(k))} on rank 0 but {fmt(db.get(k))} there"
        return "the arrays come in a different order"
    if a["optimizer"] != b["optimizer"]:
        return f"optimizer {a['optimizer']} on rank 0 but {b['optimizer']} there"
    return f"bucket_mb/overlap {a['buckets']} on rank 0 but {b['buckets']} there"
