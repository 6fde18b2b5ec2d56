"""CPS rules for staged control flow: the continuation becomes a staged function.

- `cond`: the rest of the program is reified once as a closure `k(outs..., d_outs...)` and called from
  both branches; each branch runs its forward, calls `k`, then runs its own backward.
- `fori_loop`/`while_loop`: a recursive closure `loop(i, carry..., d_carry...)` runs iteration i's
  forward, calls itself for i+1 (the rest of the loop and of the program run inside that call), then
  runs iteration i's backward; when the loop ends it calls the continuation.
- `call` of a staged (maybe recursive) function: its CPS version takes the continuation as a runtime
  argument, so every call site passes its own rest-of-program.

Cotangents of the values passed to a closure travel as refs (`d_...`) owned by the caller.
"""
from __future__ import annotations

from typing import Callable, List

from ..ir.graph import Block, Node, StageError, current_scope, reflect, reify
from ..ir.ops import NONDIFF, OPS
from ..ir.ops.control import CONTROL
from ..ir.rep import Rep
from ..ir.types import FunType, RefType, TensorType
from .adjoint import Adj, zero_ref


def _refs_for(ad, exps, act) -> List:
    """Refs for the cotangents of the values passed to a closure (a zero ref when inactive here)."""
    refs = []
    for e, a in zip(exps, act):
        if not a:
            continue
        r, adj = ad.lookup(e)
        refs.append((adj.ref_for_call() if adj is not None else zero_ref(r.type)).exp)
    return refs


def _closure_type(types, act, extra=()):
    return FunType(tuple(types) + tuple(RefType(t) for t, a in zip(types, act) if a) + tuple(extra),
                   ())


def _bind_inputs(ad, syms, vals, refs, act):
    """Bind closure inputs: values, and adjoints backed by the refs the caller passed."""
    sc = current_scope()
    it = iter(refs)
    for s, v, a in zip(syms, vals, act):
        ad.bind(s, Rep(v), Adj(sc, s.type, ref=Rep(next(it))) if a else None)


def _float_act(types):
    return [isinstance(t, TensorType) and t.is_float for t in types]


def reify_continuation(ad, syms, act, k: Callable[[], None]) -> Rep:
    """The rest of the program as a closure taking `syms`' values and their cotangent refs."""
    types = [s.type for s in syms]
    ftype = _closure_type(types, act)

    def body(*ins):
        _bind_inputs(ad, syms, ins[:len(syms)], ins[len(syms):], act)
        k()
        return []
    blk = reify(body, ftype.inputs, is_function=True)
    return Rep(reflect("fun", blocks=(blk,), out_types=(ftype,), name="k")[0])


def _call(f: Rep, args):
    reflect("call", f.exp, *args, out_types=())


def _pass_results(ad, f: Rep, result_exps, act, extra=()):
    """Call closure f with a block's results and their cotangent refs (the CPS 'k(y)')."""
    vals = [ad.primal(e).exp for e in result_exps]
    _call(f, list(extra[:1]) + vals + _refs_for(ad, result_exps, act) + list(extra[1:]))


# ------------------------------------------------------------------------------------------- cond

def ad_cond(ad, node: Node, k):
    pred = ad.primal(node.args[0])
    operands = [ad.lookup(a) for a in node.args[1:]]
    act = _float_act([s.type for s in node.syms])
    kfun = reify_continuation(ad, node.syms, act, k)

    def branch(block: Block):
        def body():
            for s, (r, adj) in zip(block.inputs, operands):
                ad.bind(s, r, adj)
            ad.nodes(block.nodes, 0, lambda: _pass_results(ad, kfun, block.result, act))
            return []
        return reify(body, [])
    reflect("cond", pred.exp, blocks=(branch(node.blocks[0]), branch(node.blocks[1])), out_types=())


# ------------------------------------------------------------------------------------------- loops

def _block_activity(ad, block: Block, in_act: List[bool]) -> List[bool]:
    """Which results of `block` depend on active values, given which inputs are active."""
    active = {s.id for s, a in zip(block.inputs, in_act) if a}

    def is_act(e):
        return getattr(e, "id", None) in active or ad.active(e)
    for n in block.walk():
        if OPS[n.op].grad is CONTROL:
            hit = any(is_act(a) for a in n.args) or any(is_act(f) for b in n.blocks
                                                        for f in ad.free(b))
        else:
            hit = OPS[n.op].grad is not NONDIFF and any(is_act(a) for a in n.args)
        if hit:
            active.update(s.id for s in n.syms)
    return [is_act(e) for e in block.result]


def _carry_activity(ad, body: Block, init, offset):
    types = [s.type for s in body.inputs[offset:]]
    act = [adj is not None for _, adj in init]
    while True:
        res = _block_activity(ad, body, [False] * offset + act)
        new = [a or r for a, r in zip(act, res)]
        if new == act:
            break
        act = new
    return [a and f for a, f in zip(act, _float_act(types))]


def ad_fori(ad, node: Node, k):
    snaps = node.params.get("checkpoints")
    if snaps is not None:               # bounded memory: a binomial schedule (stage.cps.checkpoint)
        from . import checkpoint
        return checkpoint.ad_fori(ad, node, k, snaps)
    lo, hi = ad.primal(node.args[0]), ad.primal(node.args[1])
    init = [ad.lookup(a) for a in node.args[2:]]
    (body,) = node.blocks
    act = _carry_activity(ad, body, init, 1)
    kfun = reify_continuation(ad, node.syms, act, k)
    types = [s.type for s in node.syms]
    ftype = _closure_type([TensorType("int64", ())] + types, [False] + act)
    loop = Rep(current_scope().trace.fresh(ftype))

    def loop_body(i, *ins):
        n = len(types)
        cs, refs = ins[:n], ins[n:]
        i = Rep(i)

        def then():
            ad.bind(body.inputs[0], i, None)
            _bind_inputs(ad, body.inputs[1:], cs, refs, act)
            ad.nodes(body.nodes, 0, lambda: _pass_results(ad, loop, body.result, act,
                                                          extra=((i + 1).exp,)))
            return []

        def done():
            _call(kfun, list(cs) + list(refs))
            return []
        reflect("cond", (i < hi).exp, blocks=(reify(then, []), reify(done, [])), out_types=())
        return []
    blk = reify(loop_body, ftype.inputs, is_function=True)
    reflect("fun", blocks=(blk,), out_types=(ftype,), syms=(loop.exp,), name="loop")
    _pass_results(ad, loop, node.args[2:], act, extra=(lo.exp,))


def ad_while(ad, node: Node, k):
    snaps = node.params.get("checkpoints")
    if snaps is not None:               # bounded memory: an online schedule (stage.cps.checkpoint)
        from . import checkpoint
        return checkpoint.ad_while(ad, node, k, snaps)
    init = [ad.lookup(a) for a in node.args]
    cond_blk, body = node.blocks
    act = _carry_activity(ad, body, init, 0)
    kfun = reify_continuation(ad, node.syms, act, k)
    types = [s.type for s in node.syms]
    ftype = _closure_type(types, act)
    loop = Rep(current_scope().trace.fresh(ftype))

    def loop_body(*ins):
        n = len(types)
        cs, refs = ins[:n], ins[n:]
        for s, v in zip(cond_blk.inputs, cs):
            ad.bind(s, Rep(v), None)
        ad.replay_nodes(cond_blk.nodes)
        pred = ad.primal(cond_blk.result[0])

        def then():
            _bind_inputs(ad, body.inputs, cs, refs, act)
            ad.nodes(body.nodes, 0, lambda: _pass_results(ad, loop, body.result, act))
            return []

        def done():
            _call(kfun, list(cs) + list(refs))
            return []
        reflect("cond", pred.exp, blocks=(reify(then, []), reify(done, [])), out_types=())
        return []
    blk = reify(loop_body, ftype.inputs, is_function=True)
    reflect("fun", blocks=(blk,), out_types=(ftype,), syms=(loop.exp,), name="loop")
    _pass_results(ad, loop, node.args, act)


# ------------------------------------------------------------------------------------------- calls

def cps_function(ad, f, in_act) -> Rep:
    """The CPS version of forward closure f for one activity pattern of its arguments."""
    key = (f.id, tuple(in_act))
    hit = ad.cps_funs.get(key)
    if hit is not None:
        return hit
    home, fnode = ad.fun_home[f.id]
    (body,) = fnode.blocks
    out_types = list(f.type.outputs)
    out_act = _float_act(out_types)
    ktype = _closure_type(out_types, out_act)
    in_types = list(f.type.inputs)
    ftype = _closure_type(in_types, in_act, extra=(ktype,))
    sym = home.trace.fresh(ftype)
    ad.cps_funs[key] = Rep(sym)

    def fbody(*ins):
        n = len(in_types)
        nref = sum(in_act)
        _bind_inputs(ad, body.inputs, ins[:n], ins[n:n + nref], in_act)
        kparam = Rep(ins[-1])
        ad.nodes(body.nodes, 0, lambda: _pass_results(ad, kparam, body.result, out_act))
        return []
    blk = reify(fbody, ftype.inputs, is_function=True, parent=home)
    reflect("fun", blocks=(blk,), out_types=(ftype,), scope=home, syms=(sym,),
            name=f"{fnode.params.get('name', 'f')}_cps")
    return Rep(sym)


def ad_call(ad, node: Node, k):
    f = node.args[0]
    if f.id not in ad.fun_home:
        raise StageError("differentiating a call of a closure defined outside the differentiated "
                         "function (or a second-order derivative through staged control flow) is "
                         "not supported")
    args = node.args[1:]
    in_act = [ad.active(a) for a in args]
    cps = cps_function(ad, f, in_act)
    act = _float_act([s.type for s in node.syms])
    kfun = reify_continuation(ad, node.syms, act, k)
    vals = [ad.primal(a).exp for a in args]
    _call(cps, vals + _refs_for(ad, args, in_act) + [kfun.exp])


# The CPS rules of the table's control forms (a completeness test checks that every op whose gradient
# column says CONTROL has one here, or is a closure, which CPS records where it is defined).
def ad_remat(ad, node: Node, k):
    from .remat import ad_remat as rule
    return rule(ad, node, k)


RULES = {"cond": ad_cond, "fori_loop": ad_fori, "while_loop": ad_while, "remat": ad_remat,
         "call": ad_call}

from .parallel import ad_parallel_map  # noqa: E402  (it builds on the helpers above)
RULES["parallel_map"] = ad_parallel_map
