"""Checkpointed reverse mode through loops: at most k carries stored, the rest recomputed.

A loop under grad is normally a recursive closure that runs iteration i, calls itself for i + 1 and
then runs iteration i's backward, so the native stack holds every iteration's tape. With
`checkpoints=k` the recursion follows Griewank's binomial schedule ("revolve") instead: each frame
of it holds one stored carry, at most k frames at a time, and the iterations between two stored
carries are recomputed forward when the backward reaches them. Its staged closures:

- `advance(i0, a, *x) -> y`: `a` iterations from carry x at index i0, forward only (no tape);
- `step(i, *x, *g, *d)`: iteration i with its tape, then its backward seeded with the cotangent g of
  its result; the cotangent of x is added into the refs d;
- `reverse(i0, n, s, *x, *g, *d)`: the n iterations from x at i0, given the cotangent g of the carry
  after them, with s stored carries (x included): while n > 1, advance to the split m
  (`checkpoint_split`), reverse the n - m after it recursively with s - 1 carries, continue with
  n = m; then `step`;
- `first(i0, n, s, *x, *d)`: the same for the iterations up to the loop's end, the last of which runs
  the rest of the program (the CPS continuation `k`) between its forward and its backward: the first
  forward sweep places the checkpoints.

A `fori_loop` knows its trip count when it starts, so it runs `first`: the fewest recomputations
possible with k carries. A `while_loop` does not, and explores online (`explore`, `online`): from a
stored carry, with s carries and repetition level r, it advances beta(s, r - 1) iterations and stores
a checkpoint there, continuing with s - 1, so that if the loop ends within the capacity beta(s, r)
the checkpoints stand where the binomial schedule puts them for a loop of that length; when the
capacity runs out, every nested level returns the frontier carry, and the outermost keeps it as its
checkpoint and starts over one repetition level higher (capacity beta(s, r + 1)). Each iteration runs
forward once in that sweep; the backward reverses each segment with `reverse`. Cotangents pass
between segments as values (`g`), into the caller's refs `d` only through `step`.
"""
from __future__ import annotations

from typing import Callable, List, Sequence

from ..ir import functions as F
from ..ir.graph import current_scope, reflect, reify
from ..ir.rep import Rep
from ..ir.types import FunType, RefType, TensorType
from .adjoint import Adj, zero_ref
from .control import _carry_activity, _pass_results, _refs_for, reify_continuation

INDEX = TensorType("int64", ())
BOOL = TensorType("bool", ())
NEVER = (1 << 63) - 1          # the exploration bound of a while loop with one stored carry


# ------------------------------------------------------------------------------------------ staging

def _int(x) -> Rep:
    return F.as_rep(x, "int64")


def _op(name, *args) -> Rep:
    return Rep(reflect(name, *[_int(a).exp for a in args])[0])


def _call(f: Rep, args, outs: Sequence = ()) -> List[Rep]:
    exps = [a.exp if isinstance(a, Rep) else _int(a).exp for a in args]
    return [Rep(o) for o in reflect("call", f.exp, *exps, out_types=tuple(outs))]


def _define(name: str, inputs, outputs, body: Callable) -> Rep:
    """A staged closure; `body(f, *inputs)` returns its results and may call f itself."""
    ftype = FunType(tuple(inputs), tuple(outputs))
    f = Rep(current_scope().trace.fresh(ftype))

    def fbody(*ins):
        res = body(f, *[Rep(v) for v in ins]) or []
        return [F.as_rep(r, t.dtype).exp for r, t in zip(res, outputs)]
    blk = reify(fbody, ftype.inputs, is_function=True)
    reflect("fun", blocks=(blk,), out_types=(ftype,), syms=(f.exp,), name=name)
    return f


def _cond(pred: Rep, then: Callable, other: Callable, out_types: Sequence = ()) -> List[Rep]:
    def blk(fn):
        return reify(lambda: [F.as_rep(v, t.dtype).exp for v, t in zip(fn() or [], out_types)], [])
    return [Rep(o) for o in reflect("cond", pred.exp, blocks=(blk(then), blk(other)),
                                    out_types=tuple(out_types))]


def _while(init: List[Rep], cond: Callable, body: Callable) -> List[Rep]:
    types = [r.type for r in init]
    cblk = reify(lambda *c: [cond(*[Rep(v) for v in c]).exp], types)
    bblk = reify(lambda *c: [F.as_rep(v, t.dtype).exp
                             for v, t in zip(body(*[Rep(v) for v in c]), types)], types)
    return [Rep(o) for o in reflect("while_loop", *[r.exp for r in init], blocks=(cblk, bblk),
                                    out_types=tuple(types))]


def _read(refs) -> List[Rep]:
    return [Rep(reflect("read_var", r.exp)[0]) for r in refs]


def _cut(seq, *counts):
    out, at = [], 0
    for n in counts:
        out.append(list(seq[at:at + n]))
        at += n
    return out


# ------------------------------------------------------------------------------------------ schedule

class Schedule:
    """The closures of one checkpointed loop under grad (see the module docstring)."""

    def __init__(self, ad, body, cond_blk, types, act, kfun):
        self.ad, self.body, self.cond_blk = ad, body, cond_blk
        self.indexed = cond_blk is None         # a fori_loop's body takes the index first
        self.types, self.act, self.kfun = types, act, kfun
        self.gtypes = [t for t, a in zip(types, act) if a]      # cotangents of the active carries
        self.rtypes = [RefType(t) for t in self.gtypes]
        self.nx, self.ng = len(types), len(self.gtypes)
        self.advance = _define("advance", [INDEX, INDEX] + types, types, self._advance)
        self.step = _define("step", [INDEX] + types + self.gtypes + self.rtypes, (), self._step)
        self.reverse = _define("reverse", [INDEX] * 3 + types + self.gtypes + self.rtypes, (),
                               self._reverse)

    # -- one iteration --------------------------------------------------------------------------
    def bind_body(self, i, xs, refs=None):
        """Bind the body's inputs: inactive (forward only), or with adjoints held in `refs`."""
        inputs = self.body.inputs
        if self.indexed:
            self.ad.bind(inputs[0], i, None)
            inputs = inputs[1:]
        sc, it = current_scope(), iter(refs or ())
        for s, x, a in zip(inputs, xs, self.act):
            self.ad.bind(s, x, Adj(sc, s.type, ref=next(it)) if a and refs is not None else None)

    def forward(self, i, xs) -> List[Rep]:
        """The body, forward only."""
        self.bind_body(i, xs)
        self.ad.replay_nodes(self.body.nodes)
        return [self.ad.primal(e) for e in self.body.result]

    def test(self, xs) -> Rep:
        """The while loop's condition, forward only."""
        for s, x in zip(self.cond_blk.inputs, xs):
            self.ad.bind(s, x, None)
        self.ad.replay_nodes(self.cond_blk.nodes)
        return F.as_rep(self.ad.primal(self.cond_blk.result[0]))

    def taped(self, i, xs, refs, k: Callable[[], None]):
        """The body with its tape: forward, `k`, then its backward into `refs`."""
        self.bind_body(i, xs, refs)
        self.ad.nodes(self.body.nodes, 0, k)

    def taped_last(self, i, xs, refs):
        """The loop's last iteration: its continuation is the rest of the program."""
        self.taped(i, xs, refs,
                   lambda: _pass_results(self.ad, self.kfun, self.body.result, self.act))

    def _advance(self, f, i0, a, *xs):
        blk = reify(lambda i, *cs: [r.exp for r in self.forward(Rep(i), [Rep(c) for c in cs])],
                    [INDEX] + self.types)
        return [Rep(o) for o in reflect("fori_loop", i0.exp, (i0 + a).exp, *[x.exp for x in xs],
                                        blocks=(blk,), out_types=tuple(self.types))]

    def _step(self, f, i, *ins):
        xs, gs, refs = _cut(ins, self.nx, self.ng, self.ng)
        self.taped(i, xs, refs, lambda: self.seed(gs))

    def seed(self, gs):
        """The continuation of one taped iteration: a closure that adds the cotangents gs into
        the refs of the body's results. A call, like the next iteration's in a loop without
        checkpoints, so that the iteration's code (which values are kept in buffers, which are
        fused into the backward's loops) and hence its rounding are those of that loop."""
        def sink(f, *ins):
            for d, g in zip(ins[self.nx:], gs):
                reflect("accum", d.exp, g.exp)
        k = _define("seed", self.types + self.rtypes, (), sink)
        _pass_results(self.ad, k, self.body.result, self.act)

    # -- the binomial reversal ------------------------------------------------------------------
    def _reverse(self, f, i0, n, s, *ins):
        xs, gs, refs = _cut(ins, self.nx, self.ng, self.ng)

        def segment(n_, *g):            # reverse the part after the split; continue before it
            m = _op("checkpoint_split", n_, s)
            ys = _call(self.advance, [i0, m] + xs, self.types)
            es = [zero_ref(t) for t in self.gtypes]
            _call(f, [i0 + m, n_ - m, s - 1] + ys + list(g) + es)
            return [m] + _read(es)
        out = _while([n] + gs, lambda n_, *g: n_ > 1, segment)
        _call(self.step, [i0] + xs + out[1:] + refs)

    def finish(self, i0, n, s, xs, end, refs):
        """The loop ended at carry `end`, n >= 1 iterations after the stored carry xs at i0: run
        the rest of the program, then reverse the n iterations."""
        es = [zero_ref(t) for t in self.gtypes]
        _call(self.kfun, end + es)
        _call(self.reverse, [i0, n, s] + xs + _read(es) + refs)

    # -- fori_loop: the trip count is known --------------------------------------------------------
    def define_first(self) -> Rep:
        def first(f, i0, n, s, *ins):
            xs, refs = _cut(ins, self.nx, self.ng)

            def split():
                m = _op("checkpoint_split", n, s)
                ys = _call(self.advance, [i0, m] + xs, self.types)
                es = [zero_ref(t) for t in self.gtypes]
                _call(f, [i0 + m, n - m, s - 1] + ys + es)
                _call(self.reverse, [i0, m, s] + xs + _read(es) + refs)
            _cond(n > 1, split, lambda: self.taped_last(i0, xs, refs))
        return _define("first", [INDEX] * 3 + self.types + self.rtypes, (), first)

    # -- while_loop: the trip count is found by running it ----------------------------------------
    def define_explore(self) -> Rep:
        """explore(L, *x) -> (j, p, *y): at most L iterations from x while the condition holds
        (known to hold at x); y after j of them, p the condition at y."""
        def explore(f, bound, *xs):
            out = _while([_int(0), F.as_rep(True)] + list(xs),
                         lambda j, p, *c: F.logical_and(p, j < bound),
                         lambda j, p, *c: self._explore_step(j, c))
            return out
        return _define("explore", [INDEX] + self.types, [INDEX, BOOL] + self.types, explore)

    def _explore_step(self, j, cs):
        ys = self.forward(None, list(cs))
        return [j + 1, self.test(ys)] + ys

    def define_online(self, explore: Rep) -> Rep:
        """online(s, r, *x, *d) -> (exhausted, *frontier): the loop from stored carry x with s
        carries at repetition level r (capacity beta(s, r) iterations). If it ends within the
        capacity, everything after x is reversed (d receives x's cotangent); else nothing is, and
        the carry beta(s, r) iterations after x is returned."""
        outs = [BOOL] + self.types

        def online(f, s, r, *ins):
            xs, refs = _cut(ins, self.nx, self.ng)
            bound = F.where(s == 1, r + 1, _op("checkpoint_capacity", s, r - 1))
            j, p, *ys = _call(explore, [bound] + xs, [INDEX, BOOL] + self.types)

            def ended():
                self.finish(0, j, s, xs, ys, refs)
                return [False] + ys

            def deeper():
                es = [zero_ref(t) for t in self.gtypes]
                ex, *front = _call(f, [s - 1, r] + ys + es, outs)

                def done():
                    _call(self.reverse, [0, bound, s] + xs + _read(es) + refs)
                    return [False] + front
                return _cond(ex, lambda: [True] + front, done, outs)
            return _cond(F.logical_not(p), ended,
                         lambda: _cond(s == 1, lambda: [True] + ys, deeper, outs), outs)
        return _define("online", [INDEX, INDEX] + self.types + self.rtypes, outs, online)


# ------------------------------------------------------------------------------------------ rules

def ad_fori(ad, node, k, snaps: int):
    lo, hi = ad.primal(node.args[0]), ad.primal(node.args[1])
    init = [ad.lookup(a) for a in node.args[2:]]
    (body,) = node.blocks
    act = _carry_activity(ad, body, init, 1)
    types = [s.type for s in node.syms]
    kfun = reify_continuation(ad, node.syms, act, k)
    sched = Schedule(ad, body, None, types, act, kfun)
    first = sched.define_first()
    xs = [r for r, _ in init]
    refs = [Rep(e) for e in _refs_for(ad, node.args[2:], act)]
    n = hi - lo
    _cond(n > 0, lambda: _call(first, [lo, n, snaps] + xs + refs),
          lambda: _call(kfun, xs + refs))


def ad_while(ad, node, k, snaps: int):
    init = [ad.lookup(a) for a in node.args]
    cond_blk, body = node.blocks
    act = _carry_activity(ad, body, init, 0)
    types = [s.type for s in node.syms]
    kfun = reify_continuation(ad, node.syms, act, k)
    sched = Schedule(ad, body, cond_blk, types, act, kfun)
    explore = sched.define_explore()
    online = sched.define_online(explore) if snaps > 1 else None
    xs = [r for r, _ in init]
    refs = [Rep(e) for e in _refs_for(ad, node.args, act)]

    def run():                          # the condition holds at the initial carry
        if online is None:              # one stored carry: find the end, then recompute from x
            j, _, *ys = _call(explore, [NEVER] + xs, [INDEX, BOOL] + types)
            sched.finish(0, j, 1, xs, ys, refs)
            return
        j, p, *ys = _call(explore, [1] + xs, [INDEX, BOOL] + types)

        def epochs():                   # the stored carry y at `dist`, capacity grows each epoch
            def epoch(r, dist, go, *rest):
                y, g = _cut(rest, sched.nx, sched.ng)
                es = [zero_ref(t) for t in sched.gtypes]
                ex, *front = _call(online, [snaps - 1, r] + y + es, [BOOL] + types)
                return _cond(ex, lambda: [r + 1, _op("checkpoint_capacity", snaps, r), True]
                             + front + g,
                             lambda: [r, dist, False] + y + _read(es),
                             [INDEX, INDEX, BOOL] + types + sched.gtypes)
            zeros = [F.zeros(t.shape, t.dtype) for t in sched.gtypes]
            out = _while([_int(1), _int(1), F.as_rep(True)] + ys + zeros,
                         lambda r, dist, go, *rest: go, epoch)
            _call(sched.reverse, [0, out[1], snaps] + xs + out[3 + sched.nx:] + refs)
        _cond(F.logical_not(p), lambda: sched.finish(0, 1, snaps, xs, ys, refs), epochs)
    _cond(sched.test(xs), run, lambda: _call(kfun, xs + refs))
