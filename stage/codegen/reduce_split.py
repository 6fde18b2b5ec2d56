"""How a reduction's loop nest is shared out between threads (used by `loops.Loops.reduce`).

Three ways, none of which changes a result with the number of threads: along the longest kept
dimension (each thread computes its own outputs in the serial order, `split_kept`); a reduction to
one value as partial results over fixed chunks of its outermost dimension (`chunked`); a reduction
over a leading dimension that keeps later ones (a bias gradient) as partial outputs over fixed
chunks of that dimension (`chunked_kept`). Chunks depend on the size of the work alone
(`parallel.reduction_chunks`) and are combined in chunk order.
"""
from __future__ import annotations

from typing import List, Optional

from . import parallel
from .layout import Layout, contiguous_strides
from .loopir import For, Line, Parallel, Stmt, find_loop, loop_nest


def counted_nest(extents, body: List[Stmt], inner_pragma: Optional[str], start_var=0) -> List[Stmt]:
    """Counted loops i{start_var}.. over extents around body, the pragma on the innermost."""
    return loop_nest(extents, lambda names: body, inner_pragma,
                     names=[f"i{start_var + k}" for k in range(len(extents))])


def kept_nest(lw, o: str, T: str, init: str, combine, dims, ntrail: int, reduction, element,
              acc: Optional[str] = None, overwrite: bool = False) -> List[Stmt]:
    """The loop nest of a reduction that keeps some dimensions, into the output element `o`: for
    every kept index, o = combine(o, the reduction over the `ntrail` trailing reduced dimensions)
    in an accumulator (`acc`, fresh if None; with `overwrite`, o = the accumulator), or, with no
    trailing reduced dimension, o = combine(o, each element) in the innermost (simd) loop.
    `reduction` and `element` are LoopEmitter.reduce's: the accumulation's parts, and the fused
    element's statements and value."""
    split = len(dims) - ntrail
    if not ntrail:
        body_stmts, expr = element()
        return counted_nest([d[0] for d in dims], [Line(s) for s in body_stmts] +
                            [Line(f"{o} = {combine(o, expr)};")], "omp simd")
    acc = acc or lw.fresh("acc")
    decls, clause, body, after = reduction(acc, *element())
    inner = [Line(f"{T} {acc} = {init};")] + decls + \
        counted_nest([d[0] for d in dims[split:]], body, f"omp simd {clause}", split) + after + \
        [Line(f"{o} = {acc if overwrite else combine(o, acc)};")]
    return counted_nest([d[0] for d in dims[:split]], inner, None)


def split_kept(lw, nest: List[Stmt], dims, work: float) -> List[Stmt]:
    """A reduction's nest on several threads along its longest kept dimension: each thread
    computes its own outputs, every one in the serial order (the same result for any number of
    threads). Unchanged when not worth it."""
    kept = [k for k, d in enumerate(dims) if d[1] == "k"]
    if not kept:
        return nest
    k = max(kept, key=lambda j: (dims[j][0], -j))
    per_iter = work / dims[k][0]
    if not parallel.worth(dims[k][0], per_iter):
        return nest
    g = parallel.grain(per_iter)
    if k == 0:
        nest[0].parallel = g
        return nest
    loop = find_loop(nest, f"i{k}")
    lo, hi = lw.fresh("lo"), lw.fresh("hi")
    loop.start, loop.extent = lo, hi
    return [Parallel(lo, hi, dims[k][0], g, nest)]


def chunked_kept(lw, out: Layout, T: str, init: str, combine, dims, work: float,
                  ntrail: int, index: str, reduction, element) -> Optional[List[Stmt]]:
    """out = combine(out, a reduction over a leading dimension that keeps later ones -- a bias
    gradient: column sums of [rows, features], [N, C, H, W] summed over N, H, W -- computed as
    partial outputs over fixed chunks of the leading dimension on several threads, combined in
    chunk order (the chunks depend on the work alone: the same result for any number of
    threads). Each thread reads its own rows, where a split along the kept dimension made every
    thread read every row (most of them written by the other thread's part of the loop before).
    None when not worth it or the partial outputs would be big."""
    extent, size = dims[0][0], out.size
    nch = parallel.reduction_chunks(extent, work)
    if nch < 2 or extent < 8 or size > parallel.MAX_PARTIAL // nch:
        return None
    c, c2, j, j2 = lw.fresh("c"), lw.fresh("c"), lw.fresh("j"), lw.fresh("j")
    part, pc = lw.fresh("part"), lw.fresh("pc")
    o = Layout(pc, out.dtype, out.shape, contiguous_strides(out.shape)).at(index)
    nest = kept_nest(lw, o, T, init, combine, dims, ntrail, reduction, element)
    nest[0].start = f"{c} * {extent} / {nch}"
    nest[0].extent = f"({c} + 1) * {extent} / {nch}"
    chunk = [Line(f"{T}* {pc} = {part}.data() + {c} * {size};"),
             For(j, size, [Line(f"{pc}[{j}] = {init};")], "omp simd")] + nest
    total = out.at(j2)
    return [Line(f"std::vector<{T}> {part}(size_t({nch}) * {size});"),
            For(c, nch, chunk, parallel=1),
            For(c2, nch, [For(j2, size, [Line(
                f"{total} = {combine(total, f'{part}[{c2} * {size} + {j2}]')};")], "omp simd")])]


def chunked(lw, target: str, T: str, init: str, combine, dims, work: float, make):
    """target = combine(target, the reduction over all of dims), computed as partial results
    over fixed chunks of the outermost dimension on several threads, combined in chunk order;
    None when not worth it. `make(acc)` gives the reduction's (declarations, simd clause, loop
    body, after the loop) into the accumulator `acc`."""
    if not dims:
        return None
    extent = dims[0][0]
    nch = parallel.reduction_chunks(extent, work)
    if nch < 2:
        return None
    lw = lw
    c, c2, part, acc = lw.fresh("c"), lw.fresh("c"), lw.fresh("part"), lw.fresh("acc")
    decls, clause, body, after = make(acc)
    nest = counted_nest([d[0] for d in dims], body, f"omp simd {clause}")
    nest[0].start = f"{c} * {extent} / {nch}"
    nest[0].extent = f"({c} + 1) * {extent} / {nch}"
    chunk = [Line(f"{T} {acc} = {init};")] + decls + nest + after + \
        [Line(f"{part}[{c}] = {acc};")]
    return [Line(f"{T} {part}[{nch}];"),
            For(c, nch, chunk, parallel=1),
            For(c2, nch, [Line(f"{target} = {combine(target, f'{part}[{c2}]')};")])]
