"""The CPS rule of `parallel_map`: every example is its own CPS function, run on its own thread.

`ad_parallel_map` stages, for a parallel map whose examples touch active values:

- `k`: the rest of the program as a closure over the stacked outputs and their cotangent refs;
- `example(i, *group_refs, kex)`: the CPS version of the body for example i, whose continuation
  `kex` receives the example's outputs and their cotangent refs. The active values of enclosing
  scopes that the examples read -- directly or through the staged functions they call -- get their
  cotangents through `group_refs` instead of the enclosing refs, so that examples running at the same
  time never add into the same memory; staged functions called inside get CPS versions of their own,
  placed in the example (their contributions go to the same group refs);
- one `parallel_map_grad(example, k, *refs)` node: the backend runs the examples (their forwards,
  then `k` once, then their backwards, see `stage.ir.ops.parallel`) and adds the group refs into
  `refs` in a fixed order.
"""
from __future__ import annotations

import contextlib

from ..ir.graph import current_scope, reflect, reify
from ..ir.ops.control import INDEX
from ..ir.rep import Rep
from ..ir.types import FunType, RefType
from .adjoint import Adj
from .control import _closure_type, _float_act, _pass_results, reify_continuation


def _shared_active(ad, body):
    """The active values of enclosing scopes that the body may accumulate cotangents into: its free
    values, and those of the staged functions it calls (transitively)."""
    out, seen, seen_fun = [], set(), set()

    def visit(block):
        for s in ad.free(block):
            if isinstance(s.type, FunType):
                home = ad.fun_home.get(s.id)
                if home is not None and s.id not in seen_fun:
                    seen_fun.add(s.id)
                    visit(home[1].blocks[0])
            elif s.id not in seen and ad.active(s):
                seen.add(s.id)
                out.append(s)
    visit(body)
    return out


@contextlib.contextmanager
def _examples_own_functions(ad, scope):
    """While the example is staged, staged functions get CPS (and inactive) versions placed in the
    example's own scope, which see the example's group refs."""
    saved = ad.fun_home, ad.cps_funs, ad.direct_funs
    ad.fun_home = {f: (scope, node) for f, (_, node) in saved[0].items()}
    ad.cps_funs, ad.direct_funs = {}, {}
    try:
        yield
    finally:
        ad.fun_home, ad.cps_funs, ad.direct_funs = saved


def ad_parallel_map(ad, node, k):
    (body,) = node.blocks
    n = node.params["n"]
    ex_types = list(body.result_types)
    act = _float_act(ex_types)
    shared = _shared_active(ad, body)
    kfun = reify_continuation(ad, node.syms, act, k)
    ktype = _closure_type(ex_types, act)
    ftype = FunType((INDEX,) + tuple(RefType(s.type) for s in shared) + (ktype,), ())

    def example(i, *ins):
        refs, kex = ins[:-1], Rep(ins[-1])
        sc = current_scope()
        saved = {s.id: ad.env.get(s.id) for s in shared}
        try:
            with _examples_own_functions(ad, sc):
                for s, r in zip(shared, refs):
                    ad.bind(s, ad.primal(s), Adj(sc, s.type, ref=Rep(r)))
                ad.bind(body.inputs[0], Rep(i), None)
                ad.nodes(body.nodes, 0, lambda: _pass_results(ad, kex, body.result, act))
        finally:
            for sid, entry in saved.items():
                if entry is None:
                    ad.env.pop(sid, None)
                else:
                    ad.env[sid] = entry
        return []
    blk = reify(example, ftype.inputs, is_function=True)
    ex = reflect("fun", blocks=(blk,), out_types=(ftype,), name="example")[0]
    outer = [ad.lookup(s)[1].ref_for_call().exp for s in shared]
    reflect("parallel_map_grad", ex, kfun.exp, *outer, n=n, act=tuple(act), out_types=())
