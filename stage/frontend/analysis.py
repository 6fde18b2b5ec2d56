"""What a piece of Python code reads and writes: the analyses the converter needs.

All of them work on Python's structured AST (no control-flow graph): a statement list is walked
backwards for liveness and forwards for definite assignment, loops iterate to a fixed point. They
run on canonical code (see `jumps`): no `break`, `continue`, or `return` except at a function's end.

- `binds(stmt)` / `modified(stmts)`: names a statement (re)binds in the current function's scope;
  `modified` also counts `x` for `x[i] = v` (the container changes, so a staged branch or loop must
  hand the new one on).
- `uses(node)`: names read, including the free names of nested functions, lambdas, comprehensions.
- `Liveness`: the names live after each `if`/`while`/`for` and at the head of each loop.
- `Defined`: the names definitely bound before each of them.
"""
from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Set

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


# ----------------------------------------------------------------------------------------- names

def target_names(t: ast.AST, subscripts: bool = False) -> Set[str]:
    """Names bound by an assignment target (with `subscripts`, also `x` of `x[i] = ...`)."""
    if isinstance(t, ast.Name):
        return {t.id}
    if isinstance(t, (ast.Tuple, ast.List)):
        out: Set[str] = set()
        for e in t.elts:
            out |= target_names(e, subscripts)
        return out
    if isinstance(t, ast.Starred):
        return target_names(t.value, subscripts)
    if subscripts and isinstance(t, ast.Subscript):
        base = t.value
        while isinstance(base, ast.Subscript):
            base = base.value
        return {base.id} if isinstance(base, ast.Name) else set()
    return set()


def _walk_scope(node: ast.AST) -> Iterable[ast.AST]:
    """Nodes of `node` in its own scope (nested functions, classes, comprehensions not entered)."""
    todo = list(ast.iter_child_nodes(node))
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, _SCOPES):
            todo.extend(getattr(n, "decorator_list", []))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                todo.extend(n.args.defaults + [d for d in n.args.kw_defaults if d is not None])
            continue
        if isinstance(n, _COMPS):
            todo.append(n.generators[0].iter)     # evaluated in the enclosing scope
            continue
        todo.extend(ast.iter_child_nodes(n))


def binds(s: ast.AST, subscripts: bool = False) -> Set[str]:
    """Names a statement binds in the current scope, nested statements included."""
    out: Set[str] = set()
    nodes = [s] if isinstance(s, _SCOPES) else [s, *_walk_scope(s)]
    for n in nodes:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                out |= target_names(t, subscripts)
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            if isinstance(n, ast.AugAssign) or n.value is not None:
                out |= target_names(n.target, subscripts)
        elif isinstance(n, (ast.For, ast.AsyncFor)):
            out |= target_names(n.target, subscripts)
        elif isinstance(n, ast.withitem) and n.optional_vars is not None:
            out |= target_names(n.optional_vars, subscripts)
        elif isinstance(n, ast.NamedExpr):
            out |= target_names(n.target)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif isinstance(n, ast.Delete):
            for t in n.targets:
                out |= target_names(t, subscripts)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
        elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            out.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            out.add(n.rest)
    return out


def modified(stmts: List[ast.stmt]) -> Set[str]:
    """Names the statements bind or whose containers they change (`x[i] = v`)."""
    out: Set[str] = set()
    for s in stmts:
        out |= binds(s, subscripts=True)
    return out


def declared(fn: ast.AST) -> Dict[str, type]:
    """Names a function declares `global` or `nonlocal` (they are never carried)."""
    out: Dict[str, type] = {}
    for n in _walk_scope(fn):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            for name in n.names:
                out[name] = type(n)
    return out


def params(args: ast.arguments) -> Set[str]:
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return set(names)


def free_names(fn: ast.AST) -> Set[str]:
    """Names a nested function, lambda or comprehension reads from its enclosing scopes."""
    if isinstance(fn, _COMPS):
        local: Set[str] = set()
        reads: Set[str] = set()
        for g in fn.generators:
            local |= target_names(g.target)
            for e in g.ifs:
                reads |= uses(e)
        for g in fn.generators[1:]:
            reads |= uses(g.iter)
        elts = [fn.key, fn.value] if isinstance(fn, ast.DictComp) else [fn.elt]
        for e in elts:
            reads |= uses(e)
        return reads - local
    if isinstance(fn, ast.ClassDef):
        reads = set()
        for s in fn.body:
            reads |= uses(s)
        return reads
    local = params(fn.args)
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    reads = set()
    for s in body:
        local |= binds(s)
        reads |= uses(s)
    glob = {k for k, v in declared(fn).items() if v is ast.Global}
    return reads - local - glob


def uses(node: ast.AST) -> Set[str]:
    """Names read by a statement or expression (in this scope, or freely by nested scopes)."""
    out: Set[str] = set()
    nodes = [node] if isinstance(node, _SCOPES + _COMPS) else [node, *_walk_scope(node)]
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            out.add(n.id)
        elif isinstance(n, ast.AugAssign):
            out |= target_names(n.target, subscripts=True)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            out |= free_names(n)
        elif isinstance(n, _COMPS):
            out |= free_names(n)
    return out


def _uses_shallow(s: ast.stmt) -> Set[str]:
    """What a compound statement reads itself (its test, iterable, context managers)."""
    if isinstance(s, (ast.If, ast.While)):
        return uses(s.test)
    if isinstance(s, (ast.For, ast.AsyncFor)):
        return uses(s.iter) | (uses(s.target) - target_names(s.target))
    if isinstance(s, (ast.With, ast.AsyncWith)):
        out: Set[str] = set()
        for it in s.items:
            out |= uses(it.context_expr)
        return out
    return uses(s)


_MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "remove",
             "clear", "discard", "appendleft", "extendleft"}


def container_effects(body: List[ast.stmt], helpers: str) -> List[str]:
    """Names of containers from outside `body` that it changes in place (`outs.append(h)`, also as
    `<helpers>.call(outs.append, h)`): a staged loop or branch cannot follow such Python effects."""
    local = modified(body)
    out = set()
    for n in (m for s in body for m in ast.walk(s)):
        if not isinstance(n, ast.Call):
            continue
        f = n.func
        if isinstance(f, ast.Attribute) and f.attr == "call" and isinstance(f.value, ast.Name) and \
                f.value.id == helpers and n.args:
            f = n.args[0]
        if isinstance(f, ast.Attribute) and f.attr in _MUTATORS and isinstance(f.value, ast.Name) \
                and f.value.id not in local and f.value.id != helpers:
            out.add(f"{f.value.id}.{f.attr}")
    return sorted(out)


# ----------------------------------------------------------------------------------------- liveness

class Liveness:
    """Backward liveness over structured statements; records what each construct needs.

    `after[id(node)]`: live after an if/while/for. `head[id(loop)]`: live at the loop's head (what an
    iteration may read before writing, and what is live after the loop). `entry[id(if)]`: the names
    live at the start of either branch.
    """

    def __init__(self):
        self.after: Dict[int, Set[str]] = {}
        self.head: Dict[int, Set[str]] = {}
        self.entry: Dict[int, Set[str]] = {}

    def block(self, body: List[ast.stmt], live: Set[str]) -> Set[str]:
        for s in reversed(body):
            live = self.stmt(s, live)
        return live

    def stmt(self, s: ast.stmt, live: Set[str]) -> Set[str]:
        if isinstance(s, ast.If):
            self.after[id(s)] = set(live)
            a, b = self.block(s.body, live), self.block(s.orelse, live)
            self.entry[id(s)] = a | b
            return a | b | uses(s.test)
        if isinstance(s, (ast.While, ast.For, ast.AsyncFor)):
            self.after[id(s)] = set(live)
            out = self.block(s.orelse, live)
            is_for = not isinstance(s, ast.While)
            # a for loop's break/return flags are read at its head like a while loop's test
            test = set(getattr(s, "stage_extra", ())) if is_for else uses(s.test)
            head = out | test
            while True:
                body = self.block(s.body, head)
                if is_for:
                    body = (body - target_names(s.target)) | \
                        (uses(s.target) - target_names(s.target))
                new = out | test | body
                if new == head:
                    break
                head = new
            self.head[id(s)] = head
            return head | (uses(s.iter) if is_for else set())
        if isinstance(s, (ast.With, ast.AsyncWith)):
            inner = self.block(s.body, live)
            for it in s.items:
                if it.optional_vars is not None:
                    inner = inner - target_names(it.optional_vars)
            return inner | _uses_shallow(s)
        if isinstance(s, ast.Return):
            return uses(s.value) if s.value is not None else set()
        if isinstance(s, ast.Raise):
            return uses(s)
        if isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try), ast.Match)):
            # rare in staged code: everything the statement reads, and nothing killed
            for part in ("body", "orelse", "finalbody"):
                self.block(getattr(s, part, []), live)
            for h in getattr(s, "handlers", []):
                self.block(h.body, live)
            for c in getattr(s, "cases", []):
                self.block(c.body, live)
            return live | uses(s)
        if isinstance(s, ast.AugAssign):
            return live | uses(s)
        return (live - binds(s)) | uses(s)


# ----------------------------------------------------------------------------------------- definedness

class _All(set):
    """The names 'defined' after code that never falls through (everything)."""


def _meet(a: Set[str], b: Set[str]) -> Set[str]:
    if isinstance(a, _All):
        return b
    if isinstance(b, _All):
        return a
    return a & b


class Defined:
    """Forward definite assignment; `before[id(node)]` for each if/while/for."""

    def __init__(self):
        self.before: Dict[int, Set[str]] = {}

    def block(self, body: List[ast.stmt], defined: Set[str]) -> Set[str]:
        for s in body:
            defined = self.stmt(s, defined)
        return defined

    def stmt(self, s: ast.stmt, d: Set[str]) -> Set[str]:
        if isinstance(d, _All):
            return d
        if isinstance(s, ast.If):
            self.before[id(s)] = set(d)
            return _meet(self.block(s.body, set(d)), self.block(s.orelse, set(d)))
        if isinstance(s, (ast.While, ast.For, ast.AsyncFor)):
            self.before[id(s)] = set(d)
            first = set(d) if isinstance(s, ast.While) else d | target_names(s.target)
            self.block(s.body, first)
            return self.block(s.orelse, set(d))
        if isinstance(s, (ast.With, ast.AsyncWith)):
            inner = set(d)
            for it in s.items:
                if it.optional_vars is not None:
                    inner |= target_names(it.optional_vars)
            return self.block(s.body, inner)
        if isinstance(s, (ast.Return, ast.Raise)):
            return _All()
        if isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try), ast.Match)):
            for part in ("body", "orelse", "finalbody"):
                self.block(getattr(s, part, []), set(d))
            for h in getattr(s, "handlers", []):
                self.block(h.body, set(d))
            for c in getattr(s, "cases", []):
                self.block(c.body, set(d))
            return set(d)
        if isinstance(s, ast.Delete):
            return d - binds(s)
        return d | binds(s)


def analyse(body: List[ast.stmt], args: Optional[ast.arguments]):
    """Liveness and definite assignment of one function body (nothing is live at its end)."""
    live = Liveness()
    live.block(body, set())
    defined = Defined()
    defined.block(body, params(args) if args is not None else set())
    return live, defined
