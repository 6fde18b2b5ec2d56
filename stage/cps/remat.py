"""The CPS rule of `remat` (`st.checkpoint`): the forward is recomputed during the backward.

`y = remat(x)` with body f becomes

    y = forward(x)          # f without its tape: a native function, its frame freed on return
    k(y)                    # the rest of the program, forward and backward: fills y.d
    backward(x, y.d)        # f again, with its tape, then its backward (into x.d and f's free values)

`forward` and `backward` are closures of their own, so f's intermediate values live only in
their frames: while `k` runs (inside a loop under grad, while all later iterations run) none of
them is held. The recomputation stages f's body afresh in `backward`'s scope, so it is not shared
(CSE) with the forward's nodes.
"""
from __future__ import annotations

from ..ir import functions as F
from ..ir.graph import current_scope
from .adjoint import Adj
from .checkpoint import _call, _define
from .control import _block_activity, _float_act


def ad_remat(ad, node, k):
    (blk,) = node.blocks
    args = [ad.lookup(a) for a in node.args]
    in_types = [a.type for a in node.args]
    out_types = [s.type for s in node.syms]
    act = _block_activity(ad, blk, [adj is not None for _, adj in args])
    act = [a and f for a, f in zip(act, _float_act(out_types))]
    gtypes = [t for t, a in zip(out_types, act) if a]

    def forward(f, *xs):
        for s, x in zip(blk.inputs, xs):
            ad.bind(s, x, None)
        ad.replay_nodes(blk.nodes)
        return [ad.primal(e) for e in blk.result]

    def backward(f, *ins):
        xs, gs = ins[:len(in_types)], ins[len(in_types):]
        for s, x, (_, adj) in zip(blk.inputs, xs, args):
            ad.bind(s, x, adj)          # cotangents go to the caller's adjoints (refs from here)
        results = [e for e, a in zip(blk.result, act) if a]

        def seed():
            for e, g in zip(results, gs):
                adj = ad.lookup(e)[1]
                if adj is not None:
                    adj.add(g)
        ad.nodes(blk.nodes, 0, seed)

    fwd = _define("remat_forward", in_types, out_types, forward)
    xs = [r for r, _ in args]
    ys = _call(fwd, xs, out_types)
    sc = current_scope()
    adjs = [Adj(sc, t) if a else None for t, a in zip(out_types, act)]
    for s, y, adj in zip(node.syms, ys, adjs):
        ad.bind(s, y, adj)
    bwd = _define("remat_backward", in_types + gtypes, (), backward)
    k()
    gs = [adj.value() for adj in adjs if adj is not None]
    if all(g is None for g in gs):
        return                          # no cotangent reaches the results
    gs = [g if g is not None else F.zeros(t.shape, t.dtype) for g, t in zip(gs, gtypes)]
    _call(bwd, xs + gs)
