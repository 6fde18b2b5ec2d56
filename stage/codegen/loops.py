"""Loop nests for fused elementwise chains, copies and reductions, built as loop IR (`loopir`).

A fused chain is evaluated per element as one statement per op (`const float v7 = v5 * x3[i0];`).
Every input is read through its layout (broadcast inputs have stride 0), so broadcasting, transposed
and sliced inputs need no copies. Adjacent dimensions that are contiguous for every operand collapse
into one loop; the innermost loop carries `#pragma omp simd` (with a reduction clause for
reductions), which lets g++ vectorise them. Loops with enough work run on several threads
(`codegen.parallel` decides; results do not depend on the number of threads).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import math

import numpy as np

from ..ir.graph import Const, Exp, Node, Sym
from ..ir.ops import OPS
from . import parallel
from .cpp import ctype, literal
from .layout import Layout, contiguous_strides
from . import reduce_split
from .loopir import Line, Stmt
from .reduce_split import counted_nest as _nest
from .lowerings import LOWERINGS


def _index(vars_strides) -> str:
    terms = []
    for v, s in vars_strides:
        if s == 0:
            continue
        terms.append(v if s == 1 else f"{v} * {s}")
    return " + ".join(terms) if terms else "0"


def _collapse(dims):
    """Merge adjacent loop dims (n, kind, strides) that are contiguous for every operand."""
    out = []
    for n, kind, st in dims:
        if n == 1:
            continue
        if out:
            pn, pkind, pst = out[-1]
            if pkind == kind and all(ps == s * n for ps, s in zip(pst, st)):
                out[-1] = (pn * n, kind, st)
                continue
        out.append((n, kind, st))
    return out


def _work(nodes) -> int:
    """Element-operations per element of a fused loop: its loads and stores, and each op's cost."""
    return 1 + sum(getattr(LOWERINGS[n.op], "cost", 1) for n in nodes)


class LoopEmitter:
    def __init__(self, lw):
        self.lw = lw

    # ------------------------------------------------------------------------------ fused trees
    def _tree(self, root, shape, expand_root=False, zero=None):
        """The inlined nodes computing `root` -- an expression, or a list of them sharing nodes --
        in post-order, and its leaves' layouts (broadcast). With expand_root, root's own node is
        computed in the loop too (the node being lowered). `zero`: a sym read as 0 (a term the
        loop leaves out, see `elementwise_node`)."""
        roots = root if isinstance(root, list) else [root]
        lw = self.lw
        nodes: List[Node] = []
        leaf_ix: Dict[object, int] = {}
        leaves: List[Layout] = []
        seen = set()

        def key(e):
            return e.key() if isinstance(e, Const) else e.id

        def inlined(e):
            if not isinstance(e, Sym):
                return None
            p = lw.producers.get(e.id)
            if expand_root and any(e is r for r in roots):
                return p
            return p if p is not None and id(p) in lw.plan.inlined and \
                OPS[p.op].kind == "elementwise" else None
        stack = [(r, False) for r in reversed(roots)]
        while stack:
            e, done = stack.pop()
            p = None if zero is not None and e is zero else inlined(e)
            if p is None:
                k = key(e)
                if k not in leaf_ix:
                    lay = lw.layout(e) if e is not zero else Layout(
                        literal(0, e.type.dtype), e.type.dtype, (), (), kind="scalar")
                    if lay.shape != tuple(shape):
                        lay = lay.broadcast_to(shape)
                    leaf_ix[k] = len(leaves)
                    leaves.append(lay)
                continue
            if done:
                if id(p) not in seen:
                    seen.add(id(p))
                    nodes.append(p)
                continue
            stack.append((e, True))
            for a in reversed(p.args):
                stack.append((a, False))
        lw.note_fused(nodes)
        return nodes, leaf_ix, leaves, key

    def _statements(self, nodes, leaf_ix, key, root, loads: List[str],
                    zero: Optional[Sym] = None) -> Tuple[List[str], object]:
        """One statement per fused op; returns (statements, expression of the root's value, or the
        list of the roots' values). A sum with the `zero` term leaves it out."""
        fused = {n.sym.id for n in nodes}

        def val(e):
            if isinstance(e, Sym) and e.id in fused:
                return f"v{e.id}"
            v = loads[leaf_ix[key(e)]]
            return f"({v})" if v.startswith("-") else v     # a negative literal: never "--0.5"
        stmts = []
        for n in nodes:
            T = ctype(n.sym.type.dtype)
            expr = LOWERINGS[n.op].expr
            args = [val(a) for a in n.args]
            signs = OPS[n.op].signs
            if zero is not None and signs and any(a is zero for a in n.args):
                kept = [(v, sg) for v, sg, a in zip(args, signs, n.args) if a is not zero]
                expr = " ".join(("-" if sg < 0 else "+" if k else "") + (f"({v})" if sg < 0 else v)
                                for k, (v, sg) in enumerate(kept)) or literal(0, T)
            else:
                expr = expr(args, T, **n.params) if callable(expr) else \
                    expr.format(*args, T=T, **n.params)
            stmts.append(f"const {T} v{n.sym.id} = {expr};")
        return stmts, ([val(r) for r in root] if isinstance(root, list) else val(root))

    # ------------------------------------------------------------------------------ elementwise
    def elementwise_node(self, n: Node, zero: Optional[Sym] = None) -> List[Stmt]:
        """The loop computing n into fresh storage; with `zero`, n's value with that inlined term
        of it read as 0 (the rest of a sum a product is then added to, see fusion.Epilogue)."""
        lw = self.lw
        t = n.sym.type
        if t.shape == ():
            nodes, leaf_ix, leaves, key = self._tree(n.sym, (), expand_root=True)
            stmts, expr = self._statements(nodes, leaf_ix, key, n.sym, [lf.at("0") for lf in leaves])
            lw.bind(n.sym, Layout(n.sym.name, t.dtype, (), (), kind="scalar"))
            T = ctype(t.dtype)
            last = f"const {T} v{n.sym.id} = "
            if stmts and stmts[-1].startswith(last):      # the root's own statement declares it
                stmts = stmts[:-1] + [f"{T} {n.sym.name} = {stmts[-1][len(last):]}"]
            else:
                stmts = stmts + [f"{T} {n.sym.name} = {expr};"]
            return [Line(s) for s in stmts]
        out = lw.define(n.sym)
        return self.elementwise(out, n.sym, expand_root=True, zero=zero)

    def elementwise(self, target: Layout, root: Exp, accumulate=False, expand_root=False,
                    zero=None, update=False):
        """target[...] (+)= root, for every element of target's shape (`update`: target is an
        array of the caller updated in place, see parallel.update_wakes)."""
        nodes, leaf_ix, leaves, key = self._tree(root, target.shape, expand_root, zero)
        return self._loop(target, leaves, lambda loads: self._statements(
            nodes, leaf_ix, key, root, loads, zero), accumulate, _work(nodes), update)

    def copy(self, target: Layout, src: Layout, update=False) -> List[Stmt]:
        if src.shape != target.shape:
            src = src.broadcast_to(target.shape)
        return self._loop(target, [src], lambda loads: ([], loads[0]), False, update=update)

    def add(self, target: Layout, src: Layout) -> List[Stmt]:
        if src.shape != target.shape:
            src = src.broadcast_to(target.shape)
        return self._loop(target, [src], lambda loads: ([], loads[0]), True)

    def fill(self, target: Layout, value: str) -> List[Stmt]:
        return self._loop(target, [], lambda loads: ([], value), False)

    def _loop(self, target, leaves: List[Layout], body, accumulate: bool, work: int = 1,
              update: bool = False) -> List[Stmt]:
        """One loop nest over target's shape: body(loads) gives (statements, value); with a list of
        targets (the same shape), body gives one value per target, all stored after every read.
        `work`: element-operations per element (the outermost loop runs on several threads when
        the whole is worth it); `update`: the targets are the caller's arrays updated in place."""
        targets = target if isinstance(target, list) else [target]
        op = "+=" if accumulate else "="
        shape = targets[0].shape
        if targets[0].size == 0:
            return []
        lays = targets + leaves
        nt = len(targets)
        dims = _collapse([(n, "k", [lf.strides[d] if lf.kind != "scalar" else 0 for lf in lays])
                          for d, n in enumerate(shape)])

        def assign(idx_t, exprs):
            exprs = exprs if isinstance(target, list) else [exprs]
            return [f"{t.at(i)} {op} {e};" for t, i, e in zip(targets, idx_t, exprs)]
        if not dims:
            stmts, expr = body([lf.at("0") for lf in leaves])
            return [Line(s) for s in stmts + assign(["0"] * nt, expr)]
        vars_ = [f"i{k}" for k in range(len(dims))]
        idx = [_index([(vars_[k], dims[k][2][j]) for k in range(len(dims))]) for j in range(len(lays))]
        stmts, expr = body([lf.at(i) for lf, i in zip(leaves, idx[nt:])])
        inner = [Line(s) for s in stmts + assign(idx[:nt], expr)]
        nest = _nest([d[0] for d in dims], inner, "omp simd")
        per_iter = work * math.prod(d[0] for d in dims[1:]) * len(targets)
        if parallel.worth(dims[0][0], per_iter) and all(dims[0][2][j] for j in range(nt)):
            nest[0].parallel = parallel.grain(per_iter)     # each iteration its own outputs
            if update:
                nest[0].wakes = parallel.update_wakes(
                    sum(t.size * np.dtype(t.dtype).itemsize for t in targets))
        return nest

    def stores(self, targets: List[Layout], roots: List[Exp], accumulate=False,
               update=False) -> List[Stmt]:
        """targets[k][...] (+)= roots[k] for every k in one loop (in-place updates of several arrays
        of one shape -- an optimizer's parameters and state -- or accumulations into refs), shared
        subexpressions computed once."""
        nodes, leaf_ix, leaves, key = self._tree(list(roots), targets[0].shape)
        return self._loop(list(targets), leaves, lambda loads: self._statements(
            nodes, leaf_ix, key, list(roots), loads), accumulate, _work(nodes), update)

    # ------------------------------------------------------------------------------ reductions
    def reduce(self, n: Node, into: Optional[Layout] = None) -> List[Stmt]:
        """The reduction n into its own output, or (a sum) added into the layout `into` (a ref)."""
        lw = self.lw
        x = n.args[0]
        axes = set(n.params["axis"])
        rule = LOWERINGS[n.op]
        out_t = n.sym.type
        T = ctype(out_t.dtype)
        in_shape = x.type.shape
        if rule.init == "lowest":
            init = (f"-std::numeric_limits<{T}>::infinity()" if out_t.is_float
                    else f"std::numeric_limits<{T}>::lowest()")
        else:                    # "zero" or "one" (a product)
            init = literal(1 if rule.init == "one" else 0, out_t.dtype)
        scalar_out = into is None and out_t.shape == ()
        if scalar_out:           # declared with its initial value: `float x9 = 0.0f;`
            out = Layout(n.sym.name, out_t.dtype, (), (), kind="scalar")
            lw.bind(n.sym, out)
            head = [Line(f"{T} {out.base} = {init};")]
        else:
            out = lw.define(n.sym) if into is None else into.reshape(out_t.shape)
            head = []
        nodes, leaf_ix, leaves, key = self._tree(x, in_shape)
        if out_t.size == 0:
            return head
        if any(m == 0 for m in in_shape):   # nothing to combine: the initial value, which
            if scalar_out or into is not None:  # added to `into` (a sum's 0) changes nothing
                return head
            return head + self.fill(out, init)
        kept = [d for d in range(len(in_shape)) if d not in axes]
        ost = dict(zip(kept, contiguous_strides(tuple(in_shape[d] for d in kept))))
        out_strides = [0 if d in axes else ost[d] for d in range(len(in_shape))]
        dims = _collapse([(m, "r" if d in axes else "k",
                           [out_strides[d]] + [lf.strides[d] if lf.kind != "scalar" else 0
                                               for lf in leaves])
                          for d, m in enumerate(in_shape)])

        def combine(acc, v):
            return rule.combine.format(acc=acc, x=v, T=T)

        # SIMD lanes of a max reduction are combined with max, which drops NaNs: a NaN seen by any
        # lane is flagged (an `|` reduction) and put back after the loop, as NumPy propagates it
        nan_flag = rule.nan_propagating and out_t.is_float

        def reduction(acc, body_stmts, expr):
            """(declarations, pragma clause, loop body, after the loop) of acc = combine(acc, x)."""
            if not nan_flag:
                return [], f"reduction({rule.simd}:{acc})", \
                    [Line(s) for s in body_stmts] + [Line(f"{acc} = {combine(acc, expr)};")], []
            e = lw.fresh("e")          # in the lanes a plain max (it vectorises), NaNs flagged
            body = [Line(s) for s in body_stmts] + [
                Line(f"const {T} {e} = {expr};"), Line(f"{acc} = std::max<{T}>({acc}, {e});"),
                Line(f"{acc}_nan |= {e} != {e};")]
            return ([Line(f"int {acc}_nan = 0;")],
                    f"reduction({rule.simd}:{acc}) reduction(|:{acc}_nan)", body,
                    [Line(f"if ({acc}_nan) {acc} = std::numeric_limits<{T}>::quiet_NaN();")])
        vars_ = [f"i{k}" for k in range(len(dims))]
        idx = [_index([(vars_[k], dims[k][2][j]) for k in range(len(dims))])
               for j in range(len(leaves) + 1)]

        def element():
            stmts, expr = self._statements(nodes, leaf_ix, key, x,
                                           [lf.at(i) for lf, i in zip(leaves, idx[1:])])
            if x.type.dtype != out_t.dtype:
                expr = f"static_cast<{T}>({expr})"
            return stmts, expr
        work = _work(nodes) * x.type.size
        if scalar_out:
            chunked = reduce_split.chunked(lw, out.base, T, init, combine, dims, work,
                                           lambda acc: reduction(acc, *element()))
            if chunked is not None:
                return head + chunked
            decls, clause, body, after = reduction(out.base, *element())
            return head + decls + _nest([d[0] for d in dims], body, f"omp simd {clause}") + after
        ntrail = 0
        while ntrail < len(dims) and dims[len(dims) - 1 - ntrail][1] == "r":
            ntrail += 1
        split = len(dims) - ntrail
        needs_init = ntrail == 0 or any(k == "r" for _, k, _ in dims[:split])
        accumulate = into is not None
        stmts: List[Stmt] = list(head)
        if dims and dims[0][1] == "r" and split > 0:      # over a leading dimension: in chunks?
            chunked = reduce_split.chunked_kept(lw, out, T, init, combine, dims, work, ntrail,
                                                idx[0], reduction, element)
            if chunked is not None:
                return stmts + ([] if accumulate else self.fill(out, init)) + chunked
        if needs_init and not accumulate:
            stmts += self.fill(out, init)
        o = out.at(idx[0])
        overwrite = not (needs_init or accumulate)
        acc = None
        if ntrail:
            acc = lw.fresh("acc")
            if split == 0:           # everything reduced (into a 0-d ref): maybe in chunks
                chunked = reduce_split.chunked(lw, acc, T, init, combine, dims, work,
                                               lambda a: reduction(a, *element()))
                if chunked is not None:
                    return stmts + [Line(f"{T} {acc} = {init};")] + chunked + \
                        [Line(f"{o} = {acc if overwrite else combine(o, acc)};")]
        nest = reduce_split.kept_nest(lw, o, T, init, combine, dims, ntrail, reduction, element,
                                      acc, overwrite)
        return stmts + reduce_split.split_kept(lw, nest, dims, work)
