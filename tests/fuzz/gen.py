"""A seeded generator of random well-typed staged programs (see program.py for their form).

`generate(seed)` builds one program: straight-line statements from gen_ops.OPGENS mixed with the
control forms (`st.cond` with closures or operands and branches returning views, `st.fori_loop` with
static or runtime bounds, `st.while_loop` counting to a runtime bound, carries that are pytrees,
nesting), inputs created on demand (float, int and bool arrays, staged indices, trip counts), a loss
(weighted sums of float values) and aux outputs (every value nothing else uses, of any dtype), and a
mode: forward only, `value_and_grad(..., has_aux=True)` or `grad`, with argnums over the parameters,
some of them pytrees. The same seed always gives the same program.
"""
from __future__ import annotations

import numpy as np

from . import gen_ops
from .features import enabled
from .program import Block, Input, Program, Stmt, Var, tree_leaves

FLOAT = "float64"
VIEW_OPS = {"reshape", "transpose", "T", "swapaxes", "expand_dims", "squeeze", "broadcast_to",
            "getitem", "zeros", "full", "iota"}
DTYPED_OPS = {"to_float", "one_hot", "zeros", "full", "cmul", "cadd"}     # templates naming {dt}


class Gen:
    def __init__(self, seed, max_stmts=8, max_depth=2):
        self.rng = np.random.default_rng(seed)
        # the float dtype of the whole program (drawn from its own stream: float64 programs do not
        # change when float32 is switched on or off)
        single = enabled("float32") and np.random.default_rng([seed, 32]).random() < 0.15
        self.fdt = "float32" if single else "float64"
        self.inputs = []
        self.expect = []
        self.scopes = [[]]
        self.depth = 0
        self.count = 0
        self.max_stmts = max_stmts
        self.max_depth = max_depth if enabled("nesting") else 1

    # -- random choices ---------------------------------------------------------------------------
    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def dim(self, nonzero=False):
        dims, w = [1, 2, 3, 4, 0], [0.3 if enabled("size1") else 0, 0.3, 0.25, 0.09,
                                    0.06 if enabled("size0") and not nonzero else 0]
        w = np.array(w) / sum(w)
        return int(self.rng.choice(dims, p=w))

    def shape(self, min_ndim=0):
        nd = max(min_ndim, int(self.rng.choice(4, p=[0.15, 0.3, 0.35, 0.2])))
        return tuple(self.dim() for _ in range(nd))

    def variant(self, shape):
        """A shape broadcasting with `shape` (dims dropped, set to 1, or grown from 1, a dim added)."""
        if not enabled("broadcasting") or self.rng.random() < 0.35:
            return tuple(shape)
        s = list(shape)
        for d, n in enumerate(s):
            r = self.rng.random()
            if n == 1 and r < 0.4:
                s[d] = self.dim()
            elif r < 0.3:
                s[d] = 1
        if self.rng.random() < 0.4:
            s = s[int(self.rng.integers(0, len(s) + 1)):]
        elif len(s) < 3 and self.rng.random() < 0.15:
            s = [self.dim()] + s
        return tuple(s)

    # -- values in scope --------------------------------------------------------------------------
    def name(self, prefix="v"):
        self.count += 1
        return f"{prefix}{self.count}"

    def visible(self):
        return [v for s in self.scopes for v in s]

    def new_var(self, shape, dtype, lo=None, hi=None):
        return Var(self.name(), tuple(shape), dtype, lo, hi)

    def new_input(self, shape, dtype, role=None, lo=-3, hi=4, value=None):
        shape = tuple(shape)
        if value is None:
            if dtype == self.fdt:
                value = self.rng.standard_normal(shape).astype(self.fdt)
            elif dtype == "bool":
                value = self.rng.random(shape) < 0.5
            else:
                value = self.rng.integers(lo, hi, size=shape).astype(np.int64)
        if shape == ():
            value = np.asarray(value)[()]          # a NumPy scalar, as users pass them
        prefix = {"float64": "x", "float32": "x", "int64": "i", "bool": "p"}[dtype]
        v = Var(self.name(prefix), shape, dtype, *((lo, hi) if shape == () and dtype == "int64"
                                                     else (None, None)))
        self.inputs.append(Input(v, value, role or prefix))
        self.scopes[0].append(v)
        return v

    def pick(self, pred=lambda v: True, fresh=0.0):
        cands = [v for v in self.visible() if pred(v)]
        if not cands or self.rng.random() < fresh:
            return None
        w = np.arange(1, len(cands) + 1, dtype=float) ** 1.5      # recent values are preferred
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    def var_of(self, shape, dtype, fresh=0.3):
        shape = tuple(shape)
        return self.pick(lambda v: v.shape == shape and v.dtype == dtype, fresh) or \
            self.new_input(shape, dtype)

    def float_var(self, min_ndim=0):
        return self.pick(lambda v: v.is_float and v.ndim >= min_ndim, fresh=0.1) or \
            self.new_input(self.shape(min_ndim), self.fdt)

    def int_var(self):
        return self.pick(lambda v: v.dtype == "int64", fresh=0.2) or \
            self.new_input(self.shape(), "int64")

    def any_var(self, min_ndim=0):
        if not enabled("ints") or self.rng.random() < 0.75:
            return self.float_var(min_ndim)
        return self.pick(lambda v: v.ndim >= min_ndim) or self.float_var(min_ndim)

    def index_var(self, n):
        """A staged int scalar in [-n, n) (rarely out of range), and the statements making it."""
        if enabled("index_errors") and self.rng.random() < 0.02:
            self.expect.append("index")
            return self.new_input((), "int64", "i", value=self.choice([n, -n - 1])), []
        v = self.pick(lambda v: v.dtype == "int64" and v.shape == () and v.lo is not None
                      and -n <= v.lo and v.hi <= n)
        if v is not None:
            return v, []
        src = self.pick(lambda v: v.dtype == "int64" and v.shape == () and v.lo is not None)
        if src is not None and self.rng.random() < 0.7:
            s = self.op("imodc", [src], (), "int64", c=n)
            s.outs[0].lo, s.outs[0].hi = 0, n
            return s.outs[0], [s]
        return self.new_input((), "int64", "i", lo=-n, hi=n), []

    def index_array(self, shape, n, nonneg=False):
        return self.new_input(shape, "int64", "a", lo=0 if nonneg else -n, hi=max(n, 1))

    def op(self, op, args, out_shape, out_dtype, /, **kw):
        out = self.new_var(out_shape, out_dtype)
        out.view = op in VIEW_OPS
        if op in DTYPED_OPS:
            kw.setdefault("dt", self.fdt)
        return Stmt("op", [out], list(args), op=op, kw=kw)

    # -- statements and blocks --------------------------------------------------------------------
    def stmt(self):
        gens = list(gen_ops.OPGENS)
        if self.depth < self.max_depth:
            gens += [(3, cond)] * enabled("cond") + [(3, fori)] * enabled("fori") + \
                [(2, while_)] * enabled("while")
        w = np.array([g[0] for g in gens], dtype=float)
        for _ in range(10):
            stmts = gens[int(self.rng.choice(len(gens), p=w / w.sum()))][1](self)
            if stmts:
                for s in stmts:
                    self.scopes[-1].extend(s.outs)
                return stmts
        return []

    def sub_block(self, params, n, k=None, types=None, views=True):
        """A nested block; its results are k values of its choice, or values of the given types
        (with views=False, never a view)."""
        self.scopes.append(list(params))
        self.depth += 1
        stmts = []
        for _ in range(n):
            stmts += self.stmt()
        local = self.scopes[-1]
        used = {id(a) for s in stmts for a in _uses(s)}
        results = []
        if types is None:
            unused = [v for v in local if id(v) not in used and (views or not v.view)]
            for _ in range(k):
                v = self.choice(unused) if unused and self.rng.random() < 0.8 else self.any_var()
                if v.view and not views:
                    v = self.new_input(v.shape, v.dtype)
                results.append(v)
        else:
            for shape, dtype in types:
                ok = lambda v: v.shape == shape and v.dtype == dtype and (views or not v.view)
                v = self.pick(lambda v: ok(v) and any(v is u for u in local), fresh=0.1) or \
                    self.pick(ok, fresh=0.3)
                if v is None:
                    made = make_value(self, shape, dtype, views)
                    stmts += made
                    local.extend(s for m in made for s in m.outs)
                    v = made[-1].outs[0] if made else self.new_input(shape, dtype)
                results.append(v)
        self.scopes.pop()
        self.depth -= 1
        return Block(list(params), stmts, results)

    def tree(self, k):
        """A pytree over leaves 0..k-1: a tuple, or with pytree_carry a dict/list/nested one."""
        leaves = list(range(k))
        if not enabled("pytree_carry") or self.rng.random() < 0.5:
            return ("tuple", leaves)
        if k >= 2 and self.rng.random() < 0.4:
            return ("tuple", [leaves[0], ("dict", [(f"k{j}", j) for j in leaves[1:]])])
        return ("list", leaves) if self.rng.random() < 0.5 else ("dict", [(f"k{j}", j) for j in leaves])


def _uses(s):
    out = [a for a in s.args if isinstance(a, Var)]
    for b in s.blocks:
        for t in b.stmts:
            out += _uses(t)
        out += b.result
    return out


def make_value(g, shape, dtype, views=True):
    """Statements computing a value of this type from what the block has (a view when it can)."""
    if dtype != g.fdt:
        return []
    src = g.pick(lambda v: v.is_float and v.size > 0 and any(v is u for u in g.scopes[-1]))
    if src is not None and g.rng.random() < 0.7:
        s = g.op("sum", [src], (), g.fdt, axis=None, keepdims=False)
        if shape == ():
            return [s]
        if not views:
            return [s, g.op("cadd", [s.outs[0]], shape, g.fdt, shape=shape, c=0.0)]
        return [s, g.op("broadcast_to", [s.outs[0]], shape, g.fdt, shape=shape)]
    if g.rng.random() < 0.5 and enabled("creation") and views:
        return [g.op("zeros", [], shape, g.fdt, shape=shape)]
    return []


# ------------------------------------------------------------------------------------------ control

def _pred(g):
    r = g.rng.random()
    if r < 0.3 and enabled("data_pred"):
        x = g.float_var()
        s = g.op("sum", [x], (), g.fdt, axis=None, keepdims=False)
        return s.outs[0], [s, g.op("gtc", [s.outs[0]], (), "bool", c=0.0)]
    if r < 0.45:
        v = g.pick(lambda v: v.shape == () and v.dtype in ("bool", "int64"))
        if v is not None:
            return v, []
    return g.new_input((), "bool", "p"), []


def cond(g):
    pred, pre = _pred(g)
    pred = pre[-1].outs[0] if pre else pred
    operands = []
    if enabled("cond_operands") and g.rng.random() < 0.4:
        operands = [g.any_var() for _ in range(int(g.rng.integers(1, 3)))]
    k = int(g.rng.integers(1, 4))
    n = lambda: int(g.rng.integers(1, 4))
    views = enabled("cond_views")

    def params():
        ps = [g.new_var(v.shape, v.dtype, v.lo, v.hi) for v in operands]
        for p, v in zip(ps, operands):
            p.view = v.view
        return ps
    tb = g.sub_block(params(), n(), k=k, views=views)
    types = [(v.shape, v.dtype) for v in tb.result]
    fb = g.sub_block(params(), n(), types=types, views=views)
    outs = [g.new_var(*t) for t in types]
    return pre + [Stmt("cond", outs, [pred] + operands, blocks=[tb, fb], tree=g.tree(k))]


def _carry(g):
    k = int(g.rng.integers(1, 4)) if enabled("multi_carry") else 1
    return [g.any_var() for _ in range(k)]


def _damp(g, block):
    """Keep loop carries bounded: float results pass through tanh half of the time."""
    for j, v in enumerate(block.result):
        if v.is_float and g.rng.random() < 0.5:
            s = g.op("tanh", [v], v.shape, g.fdt)
            block.stmts.append(s)
            block.result[j] = s.outs[0]


def fori(g):
    init = _carry(g)
    runtime = enabled("runtime_bounds")
    lo = 0 if g.rng.random() < 0.7 else (
        g.new_input((), "int64", "n", lo=0, hi=2) if runtime and g.rng.random() < 0.5 else 1)
    hi = g.new_input((), "int64", "n", lo=0, hi=4) if runtime and g.rng.random() < 0.8 else \
        int(g.rng.integers(0, 4))
    lo_min = lo if isinstance(lo, int) else 0
    hi_max = hi if isinstance(hi, int) else 3
    i = g.new_var((), "int64", lo_min, max(hi_max, lo_min + 1))
    body = g.sub_block([i] + [g.new_var(v.shape, v.dtype) for v in init], int(g.rng.integers(1, 5)),
                       types=[(v.shape, v.dtype) for v in init])
    _damp(g, body)
    outs = [g.new_var(v.shape, v.dtype) for v in init]
    return [Stmt("fori", outs, [lo, hi] + init, blocks=[body], tree=g.tree(len(init)))]


def while_(g):
    others = _carry(g)[:int(g.rng.integers(0, 3 if enabled("multi_carry") else 2))]
    k0 = 0 if g.rng.random() < 0.5 else g.new_input((), "int64", "i", lo=0, hi=3)
    n = g.new_input((), "int64", "n", lo=0, hi=4) if enabled("runtime_bounds") else \
        int(g.rng.integers(0, 4))
    types = [((), "int64")] + [(v.shape, v.dtype) for v in others]
    cparams = [g.new_var(*t) for t in types]
    test = g.op("lt", [cparams[0], n], (), "bool")
    cblock = Block(cparams, [test], [test.outs[0]])
    bparams = [g.new_var(*t) for t in types]
    bparams[0].lo, bparams[0].hi = 0, 3
    g.scopes.append(list(bparams))
    step = g.op("sadd", [bparams[0]], (), "int64", c=1)
    g.scopes.pop()
    body = g.sub_block(bparams, int(g.rng.integers(1, 4)), types=types[1:])
    body.stmts.insert(0, step)
    body.result.insert(0, step.outs[0])
    _damp(g, body)
    outs = [g.new_var(*t) for t in types]
    return [Stmt("while", outs, [k0] + others, blocks=[cblock, body], tree=g.tree(len(types)))]


# ------------------------------------------------------------------------------------------ programs

def generate(seed, max_stmts=8) -> Program:
    g = Gen(seed, max_stmts)
    stmts = []
    for _ in range(int(g.rng.integers(2, max_stmts + 1))):
        stmts += g.stmt()
    used = {id(a) for s in stmts for a in _uses(s)}
    computed = [v for s in stmts for v in s.outs]
    leaves = [v for v in computed if id(v) not in used]
    floats = [v for v in leaves if v.is_float] or [g.float_var()]
    loss_terms = []
    for v in floats[-3:]:
        w = g.new_input(v.shape, g.fdt, "w")
        s = g.op("dotsum", [v, w], (), g.fdt)
        stmts.append(s)
        loss_terms.append(s.outs[0])
    loss = loss_terms[0]
    for t in loss_terms[1:]:
        s = g.op("addl", [loss, t], (), g.fdt)
        stmts.append(s)
        loss = s.outs[0]
    aux = [v for v in leaves if not v.is_float] + floats[:-3] + \
        [v for v in floats[-3:] if g.rng.random() < 0.5]
    if g.inputs and g.rng.random() < 0.2:
        aux.append(g.choice(g.inputs).var)                  # an input passed through unchanged
    if aux and g.rng.random() < 0.1:
        aux.append(g.choice(aux))                           # the same value returned twice
    p = Program(g.inputs, Block([], stmts, [loss] + aux), groups=list(range(len(g.inputs))), seed=seed,
                expect=g.expect)
    _choose_mode(g, p)
    return p


def _choose_mode(g, p):
    if enabled("pytree_args") and len(p.groups) >= 3 and g.rng.random() < 0.4:
        k = int(g.rng.integers(0, len(p.groups) - 1))
        m = int(g.rng.integers(2, min(4, len(p.groups) - k) + 1))
        members = p.groups[k:k + m]
        kind = g.choice(["tuple", "dict", "list"])
        tree = ("dict", [(f"k{j}", leaf) for j, leaf in enumerate(members)]) if kind == "dict" \
            else (kind, members)
        p.groups = p.groups[:k] + [tree] + p.groups[k + m:]
    if not enabled("grad") or g.rng.random() < 0.25:
        p.mode = "fwd"
        return
    diff = [k for k, grp in enumerate(p.groups)
            if any(p.inputs[j].var.is_float for j in tree_leaves(grp))]
    if not diff:
        p.mode = "fwd"
        return
    p.mode = "vg" if g.rng.random() < 0.65 else "g"
    chosen = sorted(g.rng.choice(diff, size=int(g.rng.integers(1, len(diff) + 1)), replace=False))
    p.argnums = int(chosen[0]) if len(chosen) == 1 and g.rng.random() < 0.5 else \
        tuple(int(c) for c in chosen)
