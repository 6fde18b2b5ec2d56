"""Loop nests for fused elementwise chains, copies and reductions.

A fused chain is evaluated per element as one statement per op (`const float v7 = v5 * x3[i0];`).
Every input is read through its layout (broadcast inputs have stride 0), so broadcasting, transposed
and sliced inputs need no copies. Adjacent dimensions that are contiguous for every operand collapse
into one loop; the innermost loop carries `#pragma omp simd` (with a reduction clause for
reductions), which lets g++ vectorise them.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..ir.graph import Const, Exp, Node, Sym
from ..ir.ops import OPS
from .cpp import ctype, literal
from .layout import Layout, contiguous_strides


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


class LoopEmitter:
    def __init__(self, lw):
        self.lw = lw

    # ------------------------------------------------------------------------------ fused trees
    def _tree(self, root, shape, expand_root=False):
        """The inlined nodes computing `root` -- an expression, or a list of them sharing nodes --
        in post-order, and its leaves' layouts (broadcast). With expand_root, root's own node is
        computed in the loop too (the node being lowered)."""
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
            return p if p is not None and id(p) in lw.inlined and OPS[p.op].kind == "elementwise" \
                else None
        stack = [(r, False) for r in reversed(roots)]
        while stack:
            e, done = stack.pop()
            p = inlined(e)
            if p is None:
                k = key(e)
                if k not in leaf_ix:
                    lay = lw.layout(e)
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
        return nodes, leaf_ix, leaves, key

    def _statements(self, nodes, leaf_ix, key, root, loads: List[str]) -> Tuple[List[str], str]:
        """One statement per fused op; returns (statements, expression of the root's value, or the
        list of the roots' values)."""
        fused = {n.sym.id for n in nodes}

        def val(e):
            if isinstance(e, Sym) and e.id in fused:
                return f"v{e.id}"
            return loads[leaf_ix[key(e)]]
        stmts = []
        for n in nodes:
            T = ctype(n.sym.type.dtype)
            opdef = OPS[n.op]
            args = [val(a) for a in n.args]
            if callable(opdef.cpp):
                expr = opdef.cpp(args, T, **n.params)
            else:
                expr = opdef.cpp.format(*args, T=T, **n.params)
            stmts.append(f"const {T} v{n.sym.id} = {expr};")
        return stmts, ([val(r) for r in root] if isinstance(root, list) else val(root))

    # ------------------------------------------------------------------------------ elementwise
    def elementwise_node(self, n: Node) -> List[str]:
        lw = self.lw
        t = n.sym.type
        if t.shape == ():
            nodes, leaf_ix, leaves, key = self._tree(n.sym, (), expand_root=True)
            stmts, expr = self._statements(nodes, leaf_ix, key, n.sym, [l.at("0") for l in leaves])
            lw.store[n.sym.id] = Layout(n.sym.name, t.dtype, (), (), kind="scalar")
            body = stmts[:-1] + [f"{ctype(t.dtype)} {n.sym.name} = {stmts[-1].split(' = ', 1)[1]}"] \
                if stmts and stmts[-1].startswith(f"const {ctype(t.dtype)} v{n.sym.id} ") \
                else stmts + [f"{ctype(t.dtype)} {n.sym.name} = {expr};"]
            return body
        out = lw.define(n.sym)
        return self.elementwise(out, n.sym, expand_root=True)

    def elementwise(self, target: Layout, root: Exp, accumulate=False, expand_root=False):
        """target[...] (+)= root, for every element of target's shape."""
        nodes, leaf_ix, leaves, key = self._tree(root, target.shape, expand_root)
        return self._loop(target, leaves, lambda loads: self._statements(
            nodes, leaf_ix, key, root, loads), accumulate)

    def copy(self, target: Layout, src: Layout) -> List[str]:
        if src.shape != target.shape:
            src = src.broadcast_to(target.shape)
        return self._loop(target, [src], lambda loads: ([], loads[0]), False)

    def _loop(self, target, leaves: List[Layout], body, accumulate: bool) -> List[str]:
        """One loop nest over target's shape: body(loads) gives (statements, value); with a list of
        targets (the same shape), body gives one value per target, all stored after every read."""
        targets = target if isinstance(target, list) else [target]
        op = "+=" if accumulate else "="
        shape = targets[0].shape
        if targets[0].size == 0:
            return []
        lays = targets + leaves
        nt = len(targets)
        dims = _collapse([(n, "k", [l.strides[d] if l.kind != "scalar" else 0 for l in lays])
                          for d, n in enumerate(shape)])

        def assign(idx_t, exprs):
            exprs = exprs if isinstance(target, list) else [exprs]
            return [f"{t.at(i)} {op} {e};" for t, i, e in zip(targets, idx_t, exprs)]
        if not dims:
            stmts, expr = body([l.at("0") for l in leaves])
            return stmts + assign(["0"] * nt, expr)
        lines = []
        vars_ = [f"i{k}" for k in range(len(dims))]
        for k, (n, _, _) in enumerate(dims):
            if k == len(dims) - 1:
                lines.append("  " * k + "#pragma omp simd")
            lines.append("  " * k + f"for (int64_t {vars_[k]} = 0; {vars_[k]} < {n}; ++{vars_[k]}) {{")
        idx = [_index([(vars_[k], dims[k][2][j]) for k in range(len(dims))]) for j in range(len(lays))]
        stmts, expr = body([l.at(i) for l, i in zip(leaves, idx[nt:])])
        pad = "  " * len(dims)
        lines += [pad + s for s in stmts] + [pad + a for a in assign(idx[:nt], expr)]
        lines += ["  " * k + "}" for k in reversed(range(len(dims)))]
        return lines

    def stores(self, targets: List[Layout], roots: List[Exp], accumulate=False) -> List[str]:
        """targets[k][...] (+)= roots[k] for every k in one loop (in-place updates of several arrays
        of one shape -- an optimizer's parameters and state -- or accumulations into refs), shared
        subexpressions computed once."""
        nodes, leaf_ix, leaves, key = self._tree(list(roots), targets[0].shape)
        return self._loop(list(targets), leaves, lambda loads: self._statements(
            nodes, leaf_ix, key, list(roots), loads), accumulate)

    # ------------------------------------------------------------------------------ reductions
    def reduce(self, n: Node, into: Optional[Layout] = None) -> List[str]:
        """The reduction n into its own output, or (a sum) added into the layout `into` (a ref)."""
        lw = self.lw
        x = n.args[0]
        axes = set(n.params["axis"])
        spec = OPS[n.op].cpp
        out_t = n.sym.type
        T = ctype(out_t.dtype)
        out = lw.define(n.sym) if into is None else into.reshape(out_t.shape)
        in_shape = x.type.shape
        nodes, leaf_ix, leaves, key = self._tree(x, in_shape)
        kept = [d for d in range(len(in_shape)) if d not in axes]
        ost = dict(zip(kept, contiguous_strides(tuple(in_shape[d] for d in kept))))
        out_strides = [0 if d in axes else ost[d] for d in range(len(in_shape))]
        lays = leaves
        dims = _collapse([(m, "r" if d in axes else "k",
                           [out_strides[d]] + [l.strides[d] if l.kind != "scalar" else 0 for l in lays])
                          for d, m in enumerate(in_shape)])
        if spec["init"] == "lowest":
            init = (f"-std::numeric_limits<{T}>::infinity()" if out_t.is_float
                    else f"std::numeric_limits<{T}>::lowest()")
            omp = "max"
        else:
            init = literal(0, out_t.dtype)
            omp = "+"

        def combine(acc, v):
            return spec["combine"].format(acc=acc, x=v, T=T)

        # SIMD lanes of a max reduction are combined with max, which drops NaNs: a NaN seen by any
        # lane is flagged (an `|` reduction) and put back after the loop, as NumPy propagates it
        nan_flag = omp == "max" and out_t.is_float

        def reduction_loop(acc, pad, stmts, expr):
            """(pragma clause, body, lines after the loop) of `acc = combine(acc, expr)`."""
            if not nan_flag:
                return f"reduction({omp}:{acc})", stmts + [f"{acc} = {combine(acc, expr)};"], []
            e = lw.fresh("e")          # in the lanes a plain max (it vectorises), NaNs flagged
            body = stmts + [f"const {T} {e} = {expr};", f"{acc} = std::max<{T}>({acc}, {e});",
                            f"{acc}_nan |= {e} != {e};"]
            return (f"reduction({omp}:{acc}) reduction(|:{acc}_nan)", body,
                    [pad + f"if ({acc}_nan) {acc} = std::numeric_limits<{T}>::quiet_NaN();"])
        if out_t.size == 0:
            return []
        if any(m == 0 for m in in_shape):
            return self._loop(out, [], lambda loads: ([], init), False)
        vars_ = [f"i{k}" for k in range(len(dims))]
        idx = [_index([(vars_[k], dims[k][2][j]) for k in range(len(dims))])
               for j in range(len(lays) + 1)]

        def element():
            stmts, expr = self._statements(nodes, leaf_ix, key, x,
                                           [l.at(i) for l, i in zip(lays, idx[1:])])
            if x.type.dtype != out_t.dtype:
                expr = f"static_cast<{T}>({expr})"
            return stmts, expr
        ntrail = 0
        while ntrail < len(dims) and dims[len(dims) - 1 - ntrail][1] == "r":
            ntrail += 1
        split = len(dims) - ntrail
        needs_init = ntrail == 0 or any(k == "r" for _, k, _ in dims[:split])
        accumulate = into is not None
        lines = []
        if out.kind == "scalar" and not accumulate:
            acc = out.base
            lines.append(f"{acc} = {init};")
            clause, body, after = reduction_loop(acc, "", *element())
            if nan_flag:
                lines.append(f"int {acc}_nan = 0;")
            for k, (m, _, _) in enumerate(dims):
                if k == len(dims) - 1:
                    lines.append("  " * k + f"#pragma omp simd {clause}")
                lines.append("  " * k + f"for (int64_t {vars_[k]} = 0; {vars_[k]} < {m}; ++{vars_[k]}) {{")
            pad = "  " * len(dims)
            lines += [pad + s for s in body]
            lines += ["  " * k + "}" for k in reversed(range(len(dims)))]
            return lines + after
        if needs_init and not accumulate:
            lines += self._loop(out, [], lambda loads: ([], init), False)
        for k in range(split):
            m = dims[k][0]
            if k == split - 1 and ntrail == 0:
                lines.append("  " * k + "#pragma omp simd")
            lines.append("  " * k + f"for (int64_t {vars_[k]} = 0; {vars_[k]} < {m}; ++{vars_[k]}) {{")
        pad = "  " * split
        o = out.at(idx[0])
        if ntrail:
            acc = lw.fresh("acc")
            lines.append(pad + f"{T} {acc} = {init};")
            clause, body, after = reduction_loop(acc, pad, *element())
            if nan_flag:
                lines.append(pad + f"int {acc}_nan = 0;")
            for k in range(split, len(dims)):
                m = dims[k][0]
                if k == len(dims) - 1:
                    lines.append("  " * k + f"#pragma omp simd {clause}")
                lines.append("  " * k + f"for (int64_t {vars_[k]} = 0; {vars_[k]} < {m}; ++{vars_[k]}) {{")
            ipad = "  " * len(dims)
            lines += [ipad + s for s in body]
            lines += ["  " * k + "}" for k in reversed(range(split, len(dims)))]
            lines += after
            lines.append(pad + f"{o} = {combine(o, acc) if needs_init or accumulate else acc};")
        else:
            stmts, expr = element()
            lines += [pad + s for s in stmts] + [pad + f"{o} = {combine(o, expr)};"]
        lines += ["  " * k + "}" for k in reversed(range(split))]
        return lines
