"""Canonical control flow: `break`, `continue` and `return` become assignments to flag variables.

A staged branch or loop is a function of the variables it changes, so control cannot jump out of
it; as TensorFlow's AutoGraph does, each jump becomes a flag set where it happens (`break__1 =
True`, `retval__ = v; do_return__ = True`), the statements after it that it would have skipped are
guarded by `if not flag:`, and a loop that may be left early gets an extra test (`while not
break__1 and test`, or `For.stage_extra` that the loop conversion reads). Two rewrites keep the
result small: when one branch of an `if` always leaves, the statements after the `if` move into the
other branch (no guard needed), and the `do_return__` flag is dropped when nothing reads it (returns
only in branches, none inside a loop). A loop's `else:` clause becomes an `if not break__N:` after
the loop. Functions without a return inside a compound statement keep their returns.
"""
from __future__ import annotations

import ast
from typing import Callable, List, Optional, Set, Tuple

RETVAL = "retval__"
DO_RETURN = "do_return__"


class NotConvertible(Exception):
    """The function uses a construct the converter does not handle (the reason is the message)."""


def _name(id: str, load=True) -> ast.Name:
    return ast.Name(id=id, ctx=ast.Load() if load else ast.Store())


def _assign(name: str, value: ast.expr, where: ast.AST) -> ast.Assign:
    return ast.copy_location(ast.Assign(targets=[_name(name, False)], value=value), where)


def _const(v):
    return ast.Constant(value=v)


def _scope_nodes(stmts):
    """Statements and expressions of these statements in this function (nested defs not entered)."""
    todo = list(stmts)
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(n))


def _loop_level(stmts, kinds):
    """Whether these statements hold a jump of `kinds` that belongs to the enclosing loop."""
    todo = list(stmts)
    while todo:
        n = todo.pop()
        if isinstance(n, kinds):
            return True
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                          ast.For, ast.AsyncFor, ast.While)):
            if isinstance(n, (ast.For, ast.AsyncFor, ast.While)):
                todo.extend(n.orelse)            # a loop's else belongs to the outer level
            continue
        todo.extend(ast.iter_child_nodes(n))
    return False


def is_generator(fn) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in _scope_nodes(fn.body))


def _always_leaves(stmts) -> bool:
    """Every path through the statements ends in return, break, continue or raise."""
    for s in stmts:
        if isinstance(s, (ast.Return, ast.Break, ast.Continue, ast.Raise)):
            return True
        if isinstance(s, ast.If) and _always_leaves(s.body) and _always_leaves(s.orelse):
            return True
        if isinstance(s, (ast.With, ast.AsyncWith)) and _always_leaves(s.body):
            return True
    return False


def _nested_return(body) -> bool:
    return any(isinstance(n, ast.Return) for s in body if not isinstance(s, ast.Return)
               for n in _scope_nodes([s]))


class _Ctx:
    def __init__(self, ret: bool, brk: Optional[str] = None, cont: Optional[str] = None):
        self.ret, self.brk, self.cont = ret, brk, cont


class _Function:
    """Canonicalises one function body (nested functions are separate)."""

    def __init__(self, fresh: Callable[[str], str]):
        self.fresh = fresh
        self.ret_read = False

    def run(self, fn):
        body = list(fn.body)
        convert = _nested_return(body)
        if convert and not _always_leaves(body):
            body.append(ast.copy_location(ast.Return(value=None), body[-1]))
        out, _, _ = self.block(body, _Ctx(convert))
        if convert:
            if self.ret_read:
                out.insert(0, _assign(DO_RETURN, _const(False), body[0]))
            else:
                _drop_assignments(out, DO_RETURN)
            out.append(ast.copy_location(ast.Return(value=_name(RETVAL)), body[-1]))
        fn.body = out

    def guard(self, kinds: Set[str], ctx: _Ctx, rest: List[ast.stmt], where) -> ast.If:
        flags = [f for k, f in (("brk", ctx.brk), ("cont", ctx.cont), ("ret", DO_RETURN))
                 if k in kinds and f is not None]
        if DO_RETURN in flags:
            self.ret_read = True
        test = _name(flags[0]) if len(flags) == 1 else ast.BoolOp(op=ast.Or(),
                                                                    values=[_name(f) for f in flags])
        return ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=test), body=rest,
                                        orelse=[]), where)

    def block(self, stmts: List[ast.stmt], ctx: _Ctx) -> Tuple[List[ast.stmt], bool, Set[str]]:
        """(new statements, whether every path leaves, which kinds of jump may happen)."""
        out: List[ast.stmt] = []
        may: Set[str] = set()
        stmts = list(stmts)
        i = 0
        while i < len(stmts):
            s, rest = stmts[i], stmts[i + 1:]
            # a `return` moved into a branch must become a flag: only where returns are converted
            movable = ctx.ret or not any(isinstance(n, ast.Return) for n in _scope_nodes(rest))
            if isinstance(s, ast.If) and rest and movable and \
                    _always_leaves(s.body) != _always_leaves(s.orelse):
                if _always_leaves(s.body):            # the rest runs only on the else path
                    s.orelse = list(s.orelse) + rest
                else:
                    s.body = list(s.body) + rest
                rest = []
                stmts = stmts[:i + 1]
            new, leaves, m = self.stmt(s, ctx)
            out += new
            may |= m
            if leaves:
                return out, True, may
            if m and rest:
                r_out, r_leaves, r_may = self.block(rest, ctx)
                if r_out:
                    out.append(self.guard(m, ctx, r_out, rest[0]))
                return out, r_leaves, may | r_may
            i += 1
        return out, False, may

    def stmt(self, s: ast.stmt, ctx: _Ctx) -> Tuple[List[ast.stmt], bool, Set[str]]:
        if isinstance(s, ast.Return):
            if not ctx.ret:
                return [s], True, set()
            value = s.value if s.value is not None else _const(None)
            return [_assign(RETVAL, value, s), _assign(DO_RETURN, _const(True), s)], True, {"ret"}
        if isinstance(s, ast.Break):
            return [_assign(ctx.brk, _const(True), s)], True, {"brk"}
        if isinstance(s, ast.Continue):
            return [_assign(ctx.cont, _const(True), s)], True, {"cont"}
        if isinstance(s, ast.Raise):
            return [s], True, set()
        if isinstance(s, ast.If):
            body, b_leaves, b_may = self.block(s.body, ctx)
            orelse, e_leaves, e_may = self.block(s.orelse, ctx)
            s.body, s.orelse = body or [ast.copy_location(ast.Pass(), s)], orelse
            return [s], b_leaves and e_leaves, b_may | e_may
        if isinstance(s, (ast.While, ast.For)):
            return self.loop(s, ctx)
        if isinstance(s, (ast.With, ast.AsyncWith)):
            body, leaves, may = self.block(s.body, ctx)
            s.body = body or [ast.copy_location(ast.Pass(), s)]
            return [s], leaves, may
        if isinstance(s, (ast.AsyncFor, ast.Try, getattr(ast, "TryStar", ast.Try), ast.Match)):
            if any(isinstance(n, (ast.Return, ast.Break, ast.Continue)) for n in _scope_nodes([s])):
                raise NotConvertible(f"return/break/continue inside {type(s).__name__.lower()} "
                                     f"(line {s.lineno}) is not converted")
        return [s], False, set()

    def loop(self, s, ctx: _Ctx):
        brk = self.fresh("break__") if _loop_level(s.body, ast.Break) else None
        cont = self.fresh("continue__") if _loop_level(s.body, ast.Continue) else None
        body, _, may = self.block(s.body, _Ctx(ctx.ret, brk, cont))
        if cont:
            body.insert(0, _assign(cont, _const(False), s))
        s.body = body or [ast.copy_location(ast.Pass(), s)]
        extra = ([brk] if brk else []) + ([DO_RETURN] if "ret" in may else [])
        if DO_RETURN in extra:
            self.ret_read = True
        if extra:
            if isinstance(s, ast.While):
                s.test = ast.copy_location(ast.BoolOp(op=ast.And(), values=[
                    ast.UnaryOp(op=ast.Not(), operand=_name(f)) for f in extra] + [s.test]), s.test)
            else:
                s.stage_extra = extra
        out = ([_assign(brk, _const(False), s)] if brk else []) + [s]
        orelse, s.orelse = s.orelse, []
        leaves, out_may = False, {"ret"} if "ret" in may else set()
        if orelse:
            o_out, leaves, o_may = self.block(orelse, ctx)
            if brk:
                flags = [brk] + ([DO_RETURN] if "ret" in may else [])
                test = _name(flags[0]) if len(flags) == 1 else ast.BoolOp(
                    op=ast.Or(), values=[_name(f) for f in flags])
                out.append(ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=test),
                                                    body=o_out, orelse=[]), orelse[0]))
                leaves = False
            elif "ret" in may:
                self.ret_read = True
                out.append(self.guard({"ret"}, ctx, o_out, orelse[0]))
                leaves = False
            else:
                out += o_out
            out_may |= o_may
        return out, leaves, out_may


def _drop_assignments(stmts, name):
    """Remove `name = ...` statements (an unread flag) from these statements, nested ones included."""
    def is_flag(x):
        return isinstance(x, ast.Assign) and len(x.targets) == 1 and \
            isinstance(x.targets[0], ast.Name) and x.targets[0].id == name

    def clean(lst, nonempty):
        out = [x for x in lst if not is_flag(x)]
        for x in out:
            if isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for field in ("body", "orelse", "finalbody"):
                sub = getattr(x, field, None)
                if isinstance(sub, list):
                    setattr(x, field, clean(sub, field == "body"))
            for h in getattr(x, "handlers", []):
                h.body = clean(h.body, True)
        return out or ([ast.Pass()] if nonempty else [])
    stmts[:] = clean(stmts, False)


def canonicalize(fn, fresh: Callable[[str], str]) -> None:
    """Rewrite `fn` and the functions nested in it in place (generators are left alone)."""
    funcs = [n for n in ast.walk(fn) if isinstance(n, ast.FunctionDef)]
    for f in funcs:
        if not is_generator(f):
            _Function(fresh).run(f)
