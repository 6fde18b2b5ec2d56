"""The AST rewrite: Python control flow into calls of the runtime helpers (`ag__.*`).

Runs on canonical code (see `jumps`). Expressions first (`Expressions`): `a and b`, `a or b`,
`not a`, `a if p else b`, `range(...)` and calls of user functions become helper calls that keep
Python's meaning for static values and stage the rest. Then statements (`Statements`): every `if`,
`while` and `for` becomes nested functions of the variables it changes plus one helper call:

    if p:                         def if_true__1(h):          # the variables the branches read
        h = f(h)                      h = f(h)
    else:               ->            return (h,)              # the variables live after the if
        h = g(h)                  def if_false__1(h): ...
                                  (h,) = ag__.if_stmt(p, if_true__1, if_false__1, (h,), ('h',))

Which variables a branch or loop hands on is found by liveness (`analysis`): those it changes and
that are read later (after the `if`, or in the next iteration or after the loop). Every generated
node takes the location of the statement it comes from, so errors and the IR's provenance name the
user's own file and lines.
"""
from __future__ import annotations

import ast
import builtins
import types
from typing import Callable, Dict, List, Set

from .analysis import analyse, container_effects, declared, modified, target_names
from .jumps import is_generator

AG = "ag__"
_MISSING = object()
_STATIC_CALLS = {"isinstance", "issubclass", "hasattr", "callable", "len"}
_STAGED_BUILTINS = ("range", "enumerate", "zip", "print")   # with staged forms (`range_`, ...)
def _effects_keyword(body):
    eff = container_effects(body, AG)
    return [ast.keyword(arg="effects", value=_names_tuple(eff))] if eff else []


def _ag(attr: str) -> ast.Attribute:
    return ast.Attribute(value=ast.Name(id=AG, ctx=ast.Load()), attr=attr, ctx=ast.Load())


def _call(attr: str, args, keywords=()) -> ast.Call:
    return ast.Call(func=_ag(attr), args=list(args), keywords=list(keywords))


def _lambda(body: ast.expr) -> ast.Lambda:
    return ast.Lambda(args=_arguments([]), body=body)


def _arguments(names: List[str]) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _tuple(names: List[str], store=False) -> ast.Tuple:
    ctx = ast.Store() if store else ast.Load()
    return ast.Tuple(elts=[ast.Name(id=n, ctx=ctx) for n in names], ctx=ctx)


def _names_tuple(names: List[str]) -> ast.Tuple:
    return ast.Tuple(elts=[ast.Constant(value=n) for n in names], ctx=ast.Load())


def _funcdef(name: str, args: List[str], body: List[ast.stmt]) -> ast.FunctionDef:
    extra = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
    return ast.FunctionDef(name=name, args=_arguments(args), body=body, decorator_list=[],
                           returns=None, type_comment=None, **extra)


def locate(node, where=None):
    """Give generated nodes (those without a position) the start of the nearest located enclosing
    node (or `where`), on one line: a call's line is then the statement's first line, as a
    traceback and the IR's provenance should show it (a span would report its last line)."""
    def visit(n, line, col):
        if "lineno" in n._attributes:
            if getattr(n, "lineno", None) is None:
                n.lineno, n.col_offset, n.end_lineno, n.end_col_offset = line, col, line, col
            else:
                line, col = n.lineno, n.col_offset
        for c in ast.iter_child_nodes(n):
            visit(c, line, col)
    visit(node, getattr(where, "lineno", 1), getattr(where, "col_offset", 0))
    return node


def _located(nodes, where):
    for n in nodes:
        locate(n, where)
    return nodes


def _start(new, old):
    """`new` at the first line of `old` (where `old` has a position)."""
    if getattr(old, "lineno", None) is not None:
        new.lineno, new.col_offset = old.lineno, old.col_offset
        new.end_lineno, new.end_col_offset = old.lineno, old.col_offset
    return new


def _may_fail(e: ast.expr) -> bool:
    """Whether evaluating e could fail or cost much (a call or an index): `and`/`or` then keep
    Python's short circuit at run time with a staged branch instead of evaluating both sides."""
    return any(isinstance(n, (ast.Call, ast.Subscript)) for n in ast.walk(e))


def is_static_test(e: ast.expr) -> bool:
    """Tests whose value is always a Python bool (`x is None`, `isinstance(...)`): kept as Python."""
    if isinstance(e, ast.Constant):
        return True
    if isinstance(e, ast.Compare):
        return all(isinstance(op, (ast.Is, ast.IsNot)) for op in e.ops)
    if isinstance(e, ast.Call):
        return isinstance(e.func, ast.Name) and e.func.id in _STATIC_CALLS - {"len"}
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
        return is_static_test(e.operand)
    if isinstance(e, ast.BoolOp):
        return all(is_static_test(v) for v in e.values)
    return False


class Resolver:
    """Decides, at conversion time, which calls surely reach library code (left unwrapped)."""

    def __init__(self, globals_: Dict, local_names: Set[str], is_user_file: Callable[[str], bool]):
        self.globals, self.local, self.is_user_file = globals_, local_names, is_user_file

    def _lookup(self, name):
        if name in self.local:
            return _MISSING
        v = self.globals.get(name, _MISSING)
        return builtins.__dict__.get(name, _MISSING) if v is _MISSING else v

    def _user_module(self, m) -> bool:
        f = getattr(m, "__file__", None)
        return bool(f) and self.is_user_file(f)

    def is_library(self, func: ast.expr) -> bool:
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        v = self._lookup(root.id)
        if v is _MISSING:
            return False
        if root is not func:
            return isinstance(v, types.ModuleType) and not self._user_module(v)
        if isinstance(v, (type, types.BuiltinFunctionType, types.BuiltinMethodType)):
            return True
        if isinstance(v, types.FunctionType):
            return not self.is_user_file(v.__code__.co_filename)
        mod = getattr(type(v), "__module__", "") or ""
        top = __import__("sys").modules.get(mod)
        return top is not None and not self._user_module(top) and mod != "functools"

    def is_builtin(self, name: str, obj) -> bool:
        return self._lookup(name) is obj


class Expressions(ast.NodeTransformer):
    """`and`/`or`/`not`, conditional expressions, `range`, calls, zero-argument `super()`."""

    def __init__(self, resolver: Resolver, super_self=None):
        self.resolver = resolver
        self.super_self = super_self         # (first parameter name) when __class__ is available
        self.changed = 0

    def visit_If(self, node):
        if not is_static_test(node.test):
            return self.generic_visit(node)
        test, node.test = node.test, ast.Constant(value=True)    # a Python test stays as written
        self.generic_visit(node)
        node.test = test
        return node

    def visit_BoolOp(self, node):
        lazy = [_may_fail(v) for v in node.values]
        self.generic_visit(node)
        self.changed += 1
        helper = "and_" if isinstance(node.op, ast.And) else "or_"
        out = node.values[-1]
        for v, lz in zip(reversed(node.values[:-1]), reversed(lazy[1:])):
            kw = [ast.keyword(arg="lazy", value=ast.Constant(value=True))] if lz else []
            out = _call(helper, [v, _lambda(out)], kw)
        return _start(out, node)

    def visit_Compare(self, node):
        """`a < b < c` is `a < b and b < c` with b evaluated once: `ag__.compare(a, '<', lambda: b,
        '<', lambda: c)` (the later operands only where the earlier comparisons hold)."""
        self.generic_visit(node)
        if len(node.ops) < 2:
            return node
        self.changed += 1
        args = [node.left]
        for op, right in zip(node.ops, node.comparators):
            args += [ast.Constant(value=type(op).__name__), _lambda(right)]
        return _start(_call("compare", args), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Not):
            return node
        self.changed += 1
        return _start(_call("not_", [node.operand]), node)

    def visit_IfExp(self, node):
        self.generic_visit(node)
        self.changed += 1
        return _start(_call("if_exp", [node.test, _lambda(node.body), _lambda(node.orelse)]), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == AG:
            return node
        if isinstance(f, ast.Name) and f.id in _STAGED_BUILTINS and \
                self.resolver.is_builtin(f.id, getattr(builtins, f.id)):
            self.changed += 1                   # range/enumerate/zip stage loops, print prints later
            return _start(ast.Call(func=_ag(f.id + "_"), args=node.args, keywords=node.keywords),
                          node)
        if isinstance(f, ast.Name) and f.id == "super" and not node.args and self.super_self:
            node.args = [ast.Name(id="__class__", ctx=ast.Load()),
                         ast.Name(id=self.super_self, ctx=ast.Load())]
            return node
        if self.resolver.is_library(f):
            return node
        self.changed += 1
        return _start(ast.Call(func=_ag("call"), args=[f] + node.args, keywords=node.keywords),
                      node)


class _Scope:
    def __init__(self, fn):
        self.live, self.defined = analyse(fn.body, fn.args)
        self.declared = declared(fn)
        # carried variables are listed in the order they first appear in the source (`h, c, loss`)
        names = sorted((getattr(n, "lineno", 0) or 0, getattr(n, "col_offset", 0) or 0, n.id)
                       for n in ast.walk(fn) if isinstance(n, ast.Name))
        self.order: Dict[str, int] = {}
        for k, (_, _, name) in enumerate(names):
            self.order.setdefault(name, k)


class Statements:
    """`if`/`while`/`for` into helper calls, per function scope (nested functions get their own)."""

    def __init__(self, fresh: Callable[[str], str], expressions: Expressions):
        self.fresh = fresh
        self.expressions = expressions
        self.changed = 0

    def function(self, fn):
        if is_generator(fn):
            return
        fn.body = self.block(fn.body, _Scope(fn))

    def block(self, stmts: List[ast.stmt], sc: _Scope) -> List[ast.stmt]:
        out: List[ast.stmt] = []
        for s in stmts:
            out += self.stmt(s, sc)
        return out

    def stmt(self, s: ast.stmt, sc: _Scope) -> List[ast.stmt]:
        if isinstance(s, ast.FunctionDef):
            self.function(s)
            return [s]
        if isinstance(s, ast.ClassDef):
            for m in s.body:
                if isinstance(m, ast.FunctionDef):
                    self.function(m)
            return [s]
        if isinstance(s, ast.If):
            if is_static_test(s.test):
                s.body = self.block(s.body, sc) or [ast.Pass()]
                s.orelse = self.block(s.orelse, sc)
                return [s]
            return self.if_(s, sc)
        if isinstance(s, ast.While):
            return self.while_(s, sc)
        if isinstance(s, ast.For):
            return self.for_(s, sc)
        for field in ("body", "orelse", "finalbody"):
            sub = getattr(s, field, None)
            if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                setattr(s, field, self.block(sub, sc))
        for h in getattr(s, "handlers", []):
            h.body = self.block(h.body, sc)
        for c in getattr(s, "cases", []):
            c.body = self.block(c.body, sc)
        return [s]

    # -- helpers ------------------------------------------------------------------------------------
    def _declare(self, body: List[ast.stmt], sc: _Scope) -> List[ast.stmt]:
        """`global`/`nonlocal` for the user's declared names a generated function assigns."""
        names = modified(body)
        out = []
        for kind in (ast.Global, ast.Nonlocal):
            hit = sorted(n for n in names if sc.declared.get(n) is kind)
            if hit:
                out.append(kind(names=hit))
        return out + body

    def _guards(self, names: List[str], known: Set[str]) -> List[ast.stmt]:
        """`x = ag__.ld(locals(), 'x')` for inputs that may be unbound here (an `Undefined`)."""
        out = []
        for n in names:
            if n not in known:
                loc = ast.Call(func=ast.Name(id="locals", ctx=ast.Load()), args=[], keywords=[])
                out.append(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())],
                                      value=_call("ld", [loc, ast.Constant(value=n)])))
        return out

    def _result(self, outs: List[str], call: ast.Call) -> ast.stmt:
        if outs:
            return ast.Assign(targets=[_tuple(outs, store=True)], value=call)
        return ast.Expr(value=call)

    def _carried(self, names: Set[str], sc: _Scope) -> List[str]:
        return sorted((n for n in names if n not in sc.declared),
                      key=lambda n: (sc.order.get(n, len(sc.order)), n))

    # -- the three statements -----------------------------------------------------------------------
    def if_(self, s: ast.If, sc: _Scope) -> List[ast.stmt]:
        self.changed += 1
        mod = modified(s.body) | modified(s.orelse)
        outs = self._carried(sc.live.after[id(s)] & mod, sc)
        ins = self._carried(sc.live.entry[id(s)] & mod, sc)
        effects = _effects_keyword(s.body + s.orelse)
        body = self.block(s.body, sc) + [ast.Return(value=_tuple(outs))]
        orelse = self.block(s.orelse, sc) + [ast.Return(value=_tuple(outs))]
        k = self.fresh("")
        t, f = f"if_true__{k}", f"if_false__{k}"
        defs = [_funcdef(t, ins, self._declare(body, sc)), _funcdef(f, ins, self._declare(orelse, sc))]
        call = _call("if_stmt", [s.test, ast.Name(id=t, ctx=ast.Load()),
                                 ast.Name(id=f, ctx=ast.Load()), _tuple(ins), _names_tuple(outs)],
                     effects)
        out = defs + self._guards(ins, sc.defined.before[id(s)]) + [self._result(outs, call)]
        return _located(out, s)

    def while_(self, s: ast.While, sc: _Scope) -> List[ast.stmt]:
        self.changed += 1
        carried = self._carried(sc.live.head[id(s)] & modified(s.body), sc)
        effects = _effects_keyword(s.body)
        body = self.block(s.body, sc) + [ast.Return(value=_tuple(carried))]
        k = self.fresh("")
        t, b = f"loop_test__{k}", f"loop_body__{k}"
        defs = [_funcdef(t, carried, [ast.Return(value=s.test)]),
                _funcdef(b, carried, self._declare(body, sc))]
        call = _call("while_stmt", [ast.Name(id=t, ctx=ast.Load()), ast.Name(id=b, ctx=ast.Load()),
                                    _tuple(carried), _names_tuple(carried)], effects)
        out = defs + self._guards(carried, sc.defined.before[id(s)]) + \
            [self._result(carried, call)]
        return _located(out, s)

    def for_(self, s: ast.For, sc: _Scope) -> List[ast.stmt]:
        self.changed += 1
        mod = modified(s.body) | target_names(s.target, subscripts=True)
        carried = self._carried(sc.live.head[id(s)] & mod, sc)
        keywords = _effects_keyword(s.body)
        k = self.fresh("")
        if isinstance(s.target, ast.Name) and s.target.id not in carried:
            item, prologue = s.target.id, []
        else:
            item = f"itr__{k}"
            prologue = [ast.Assign(targets=[s.target], value=ast.Name(id=item, ctx=ast.Load()))]
        body = prologue + self.block(s.body, sc) + [ast.Return(value=_tuple(carried))]
        b = f"loop_body__{k}"
        defs = [_funcdef(b, [item] + carried, self._declare(body, sc))]
        extra = getattr(s, "stage_extra", None)
        if extra:
            t = f"loop_test__{k}"
            test = ast.Name(id=extra[0], ctx=ast.Load()) if len(extra) == 1 else ast.BoolOp(
                op=ast.Or(), values=[ast.Name(id=n, ctx=ast.Load()) for n in extra])
            test = self.expressions.visit(ast.UnaryOp(op=ast.Not(), operand=test))
            defs.append(_funcdef(t, carried, [ast.Return(value=test)]))
            keywords.append(ast.keyword(arg="extra_test", value=ast.Name(id=t, ctx=ast.Load())))
        call = _call("for_stmt", [s.iter, ast.Name(id=b, ctx=ast.Load()), _tuple(carried),
                                  _names_tuple(carried)], keywords)
        out = defs + self._guards(carried, sc.defined.before[id(s)]) + \
            [self._result(carried, call)]
        return _located(out, s)
