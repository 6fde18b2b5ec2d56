"""Parallel examples: `parallel_map` (forward: the body as a native function of the example's index,
run by `stage::parallel_examples`) and `parallel_map_grad` (what CPS makes of it: the examples' CPS
functions run by `stage::parallel_examples_grad` on fibers, see runtime_cpp/stage/examples.h)."""
import math

from ...ir.ops import OPS
from ...ir.types import TensorType
from ..cpp import ctype, param_type, signature
from ..layout import Layout, contiguous_strides
from ..loopir import For, FrameDecl, Lambda, Line
from . import Control, Kernel, register

MAX_GROUPS = 8          # stage::MAX_EXAMPLE_GROUPS: copies of the shared gradients


def groups(n: int) -> int:
    """Groups of examples whose gradients are summed apart (fixed by their number alone)."""
    return max(1, min(n, MAX_GROUPS))


def _row(lay: Layout, i: str) -> Layout:
    """Row i of a stacked buffer."""
    size = math.prod(lay.shape[1:])
    return Layout(lay.base, lay.dtype, lay.shape[1:], lay.strides[1:], f"{i} * {size}", lay.root)


def _param_layout(name: str, t: TensorType) -> Layout:
    if t.shape == ():
        return Layout(name, t.dtype, (), (), kind="scalar")
    return Layout(name, t.dtype, t.shape, contiguous_strides(t.shape))


def _parallel_map(ctx, node):
    (body,) = node.blocks
    outs = [ctx.define(s) for s in node.syms]
    i = body.inputs[0]
    name = ctx.fresh("example")
    with ctx.function(name) as fn:
        ctx.bind(i, Layout(i.name, "int64", (), (), kind="scalar"))
        ctx.emit(FrameDecl(fn))
        ctx.lower_block(body)
        for e, o in zip(body.result, outs):
            for st in ctx.copy(_row(o, i.name), ctx.layout(e)):
                ctx.emit(st)
    big = any(OPS[m.op].kind in ("closure", "call") for m in body.walk())
    ctx.emit(Lambda(name, [f"int64_t {i.name}"], fn.body))
    ctx.emit(Line(f"stage::parallel_examples<{'true' if big else 'false'}>({node.params['n']}, "
                  f"{name});"))
    ctx.captures_used_here(fn)
    for o in outs:
        ctx.used(o)


def _parallel_map_grad(ctx, node):
    ex, kfun, *refs = node.args
    n, act = node.params["n"], node.params["act"]
    ng = groups(n)
    ex_name, k_name = ctx.use_closure(ex), ctx.use_closure(kfun)
    stacked = list(kfun.type.inputs[:len(act)])
    ktype = ex.type.inputs[-1]
    ys = [ctx.new_buffer("ys", t) for t in stacked]
    dys = [ctx.new_buffer("dys", t) for t, a in zip(stacked, act) if a]
    for d in dys:
        for st in ctx.fill(d, "0"):
            ctx.emit(st)
    grefs = []
    for r in refs:
        elem = r.type.elem
        g = ctx.new_buffer("gref", TensorType(elem.dtype, (ng,) + elem.shape))
        for st in ctx.fill(g, "0"):
            ctx.emit(st)
        grefs.append(g)
    i, g = ctx.fresh("ei"), ctx.fresh("eg")
    # the example's continuation: store its outputs, wait for the rest of the program, add its
    # rows of the output cotangents into its output refs (then its backward runs)
    ex_types = [TensorType(t.dtype, t.shape[1:]) for t in stacked]
    vals = [ctx.fresh("y") for _ in ex_types]
    drefs = [ctx.fresh("dy") for a in act if a]
    params = [f"{param_type(t)} {v}" for t, v in zip(ex_types, vals)] + \
        [f"{ctype(t.dtype)}* {d}" for t, d in zip([t for t, a in zip(ex_types, act) if a], drefs)]
    kbody = []
    for y, t, v in zip(ys, ex_types, vals):
        kbody += ctx.copy(_row(y, i), _param_layout(v, t))
    kbody.append(Line("stage::example_suspend();"))
    for dy, t, d in zip(dys, [t for t, a in zip(ex_types, act) if a], drefs):
        kbody += ctx.add_into(Layout(d, t.dtype, t.shape, contiguous_strides(t.shape)), _row(dy, i))
    kex_fn, kex = ctx.fresh("kex_fn"), ctx.fresh("kex")
    gargs = [f"{gr.base} + {g} * {math.prod(gr.shape[1:])}" for gr in grefs]
    run, mid, flush = ctx.fresh("run_example"), ctx.fresh("rest"), ctx.fresh("flush_group")
    ctx.emit(Lambda(run, [f"int64_t {i}", f"int64_t {g}"], [
        Lambda(kex_fn, params, kbody),
        Line(f"stage::fref<{signature(ktype)}> {kex} = {kex_fn};"),
        Line(f"{ex_name}({', '.join([i] + gargs + [kex])});")]))
    ctx.emit(Lambda(mid, [], [Line(f"{k_name}({', '.join(y.base for y in ys + dys)});")]))
    flushes = [Line(f"stage::flush_outer({a});") for a, r in zip(gargs, refs)
               if ctx.may_defer(r.type.elem)]
    ctx.emit(Lambda(flush, [f"[[maybe_unused]] int64_t {g}"], flushes))
    ctx.emit(Line(f"stage::parallel_examples_grad({n}, {ng}, {run}, {mid}, {flush});"))
    # the refs get the groups' sums, in group order
    for r, gr in zip(refs, grefs):
        target = ctx.layout(r)
        for k in range(ng):
            for st in ctx.add_into(target, _row(gr, str(k))):
                ctx.emit(st)
    for lay in ys + dys + grefs:
        ctx.used(lay)
    return []                  # (everything is emitted above, in order)


register("parallel_map", Control(_parallel_map))
register("parallel_map_grad", Kernel(_parallel_map_grad))
