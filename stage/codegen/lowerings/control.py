"""Control forms: `if`/`else`, counted and `while (true)` loops, and closures (C++ lambdas assigned
to a `stage::fref`, so recursive closures can call each other) with their calls.

A branch or loop writes its results into storage defined before it; a closure's body is its own
native function with its own frame; a closure's results are written through out-pointers."""
from ...ir.types import FunType
from ..cpp import ctype
from ..layout import Layout, contiguous_strides
from ..loopir import For, FrameDecl, If, Lambda, Line, Scope, While
from . import Control, register


def _copy_results(ctx, results, targets):
    """Write a block's results into the given storages: a parallel assignment (a loop body may
    return its carries permuted), through temporaries when a result reads a target. Every source
    and target is in use until the last copy (a temporary is not reused by the next one; a carry
    written in a loop lives through the loop)."""
    srcs = [ctx.layout(r) for r in results]
    roots = {t.root for t in targets if t.root is not None} | {t.base for t in targets}
    clash = any(s != t and (s.root in roots or s.base in roots) for s, t in zip(srcs, targets))
    if clash:
        copies = {}                 # one temporary per distinct source (a result may repeat)
        for s in srcs:
            if s not in copies:
                copies[s] = ctx.materialize(s)
                ctx.used(*copies)   # sources already copied stay live while later ones are
        ctx.used(*copies.values())
        srcs = [copies[s] for s in srcs]
    for s, t in zip(srcs, targets):
        if s != t:
            for stmt in ctx.copy(t, s):
                ctx.emit(stmt)
    ctx.used(*srcs, *targets)


def _cond(ctx, n):
    pred = ctx.scalar(n.args[0])
    outs = [ctx.define(s) for s in n.syms]
    branches = []
    for blk in n.blocks:
        with ctx.scope() as body:
            for s, a in zip(blk.inputs, n.args[1:]):
                ctx.bind(s, ctx.layout(a))
            ctx.lower_block(blk)
            _copy_results(ctx, blk.result, outs)
        branches.append(body)
    ctx.emit(If(pred, branches[0], branches[1]))


def _carries(ctx, syms, init):
    cs = []
    for s, e in zip(syms, init):
        lay = ctx.define(s)
        for stmt in ctx.copy(lay, ctx.layout(e)):
            ctx.emit(stmt)
        cs.append(lay)
    return cs


def _fori(ctx, n):
    lo, hi = ctx.scalar(n.args[0]), ctx.scalar(n.args[1])
    cs = _carries(ctx, n.syms, n.args[2:])
    (body,) = n.blocks
    i = body.inputs[0].name
    start = ctx.position
    with ctx.scope() as stmts:
        ctx.bind(body.inputs[0], Layout(i, "int64", (), (), kind="scalar"))
        for s, c in zip(body.inputs[1:], cs):
            ctx.bind(s, c)
        ctx.emit(Line("STAGE_POLL_INTERRUPT();"))        # Ctrl-C: KeyboardInterrupt
        ctx.lower_block(body)
        _copy_results(ctx, body.result, cs)
    ctx.emit(For(i, hi, stmts, start=lo))
    ctx.extend_liveness(start)


def _while(ctx, n):
    cs = _carries(ctx, n.syms, n.args)
    cond, body = n.blocks
    start = ctx.position
    with ctx.scope() as stmts:
        ctx.emit(Line("STAGE_POLL_INTERRUPT();"))        # Ctrl-C: KeyboardInterrupt
        for s, c in zip(cond.inputs, cs):
            ctx.bind(s, c)
        ctx.lower_block(cond)
        ctx.emit(Line(f"if (!({ctx.scalar(cond.result[0])})) break;"))
        for s, c in zip(body.inputs, cs):
            ctx.bind(s, c)
        ctx.lower_block(body)
        _copy_results(ctx, body.result, cs)
    ctx.emit(While(stmts))
    ctx.extend_liveness(start)


def _remat(ctx, n):
    """`st.checkpoint`'s block, run in place (only reverse mode treats it differently)."""
    outs = [ctx.define(s) for s in n.syms]
    (blk,) = n.blocks
    with ctx.scope() as body:
        for s, a in zip(blk.inputs, n.args):
            ctx.bind(s, ctx.layout(a))
        ctx.lower_block(blk)
        _copy_results(ctx, blk.result, outs)
    ctx.emit(Scope(body))


def _fun(ctx, n):
    ft: FunType = n.sym.type
    name = n.sym.name
    (body,) = n.blocks
    params = [ctx.closure_param(s) for s in body.inputs]
    outs = [f"{name}_out{j}" for j in range(len(ft.outputs))]
    parent_pos = ctx.position
    with ctx.function(name) as fn:
        ctx.emit(Line("STAGE_CHECK_STACK();"))
        ctx.emit(FrameDecl(fn))
        ctx.lower_block(body)
        for j, (e, t) in enumerate(zip(body.result, ft.outputs)):
            out = Layout(outs[j], t.dtype, t.shape, contiguous_strides(t.shape))
            for stmt in ctx.copy(out, ctx.layout(e)):
                ctx.emit(stmt)
    decls = [d if ctx.is_used(s) else f"[[maybe_unused]] {d}" for s, d in zip(body.inputs, params)]
    decls += [f"{ctype(t.dtype)}* {o}" for o, t in zip(outs, ft.outputs)]
    ctx.emit(Lambda(f"{name}_fn", decls, fn.body))
    ctx.emit(Line(f"{name} = {name}_fn;"))
    ctx.capture(fn, n.sym, parent_pos)


def _call(ctx, n):
    f = n.args[0]
    name = ctx.use_closure(f)
    args = ctx.closure_args(f.type, n.args[1:])
    outs = [ctx.out(s) for s in n.syms]
    ctx.emit(Line(f"{name}({', '.join(args + outs)});"))
    ctx.args_used()          # operands (and copies of views) live until the call
    ctx.use_closure(f)       # and what the closure captures: the copies above must not take its slots


register("cond", Control(_cond))
register("fori_loop", Control(_fori))
register("while_loop", Control(_while))
register("remat", Control(_remat))
register("fun", Control(_fun))
register("call", Control(_call))
