"""Converting functions: parse, rewrite, compile, and rebuild the function over its own closure.

The rule for what is converted (AutoGraph's "convert calls recursively" for user code): the
functions stage stages -- given to `st.compile`, `st.grad`/`st.value_and_grad`, `st.train_step`/
`st.eval_step`, `@st.function`, `st.export`, and the `forward` of `st.nn.Module`s called while
staging -- and, inside converted code, every function they call whose source is user code: not in
stage itself, the standard library or an installed package (`source.is_user_file`). Bound methods
and `functools.partial`s of such functions are converted too; builtins, classes and library objects
are called as they are. `do_not_convert` opts a function out; `STAGE_CONVERT=0` turns it all off.

A conversion is cached per code object; the converted function is rebuilt per function object with
the original's globals, defaults and closure cells (plus one cell for the helper module `ag__`).
Where the source cannot be had (REPL, exec) or holds what the converter does not handle, the
function runs as written, and a staging error raised from it gets a note saying why it was not
converted.
"""
from __future__ import annotations

import __future__
import ast
import copy
import functools
import inspect
import itertools
import os
import sys
import threading
import types
import warnings
import weakref
from typing import Dict, List, Optional

from ..ir.graph import StageError
from . import runtime
from .analysis import binds, params
from .jumps import NotConvertible, canonicalize
from .source import find_node, is_user_file
from .transform import AG, Expressions, Resolver, Statements, locate

_FUTURE_FLAGS = functools.reduce(lambda a, b: a | b, (getattr(__future__, f).compiler_flag
                                                      for f in __future__.all_feature_names))
_NOT_CONVERTIBLE_FLAGS = (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE
                          | inspect.CO_ASYNC_GENERATOR)
_lock = threading.RLock()


class Conversion:
    """The converted form of one code object (or why there is none)."""

    def __init__(self, code, reason: str = "", node=None, new_code=None):
        self.code, self.reason, self.node, self.new_code = code, reason, node, new_code
        self.callees: List["Conversion"] = []

    @property
    def ok(self) -> bool:
        return self.new_code is not None

    @property
    def where(self) -> str:
        return f"{self.code.co_filename}:{self.code.co_firstlineno}"

    @property
    def source(self) -> str:
        if not self.ok:
            return f"# {self.code.co_name} ({self.where}) is not converted: {self.reason}\n"
        name = getattr(self.code, "co_qualname", self.code.co_name)
        return f"# converted from {name} ({self.where})\n{ast.unparse(self.node)}\n"


_by_code: Dict[types.CodeType, Conversion] = {}
_converted_codes: Dict[types.CodeType, Conversion] = {}    # every code object of converted code
_by_function: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_AG_CELL = types.CellType(runtime)


def enabled() -> bool:
    return os.environ.get("STAGE_CONVERT", "1") != "0"


def do_not_convert(fn):
    """Decorator: stage calls `fn` as written (its Python control flow is never staged)."""
    target = getattr(fn, "__func__", fn)
    target.__stage_do_not_convert__ = True
    return fn


# ------------------------------------------------------------------------------------------ rewriting

def _mangle(fdef, qualname: str):
    """Private names (`self.__x`) as the body of the innermost enclosing class would mangle them."""
    comps = qualname.split(".")
    classes = [c for c, nxt in zip(comps[:-1], comps[1:]) if c != "<locals>" and nxt != "<locals>"]
    prefix = "_" + classes[-1].lstrip("_") if classes else "_"
    if prefix == "_":
        return

    def m(name):
        return prefix + name if name.startswith("__") and not name.endswith("__") else name
    for n in ast.walk(fdef):
        if isinstance(n, ast.Attribute):
            n.attr = m(n.attr)
        elif isinstance(n, ast.Name):
            n.id = m(n.id)


def _rewrite(f, node):
    """The converted FunctionDef, and whether anything changed."""
    code = f.__code__
    if isinstance(node, ast.Lambda):
        body = ast.copy_location(ast.Return(value=node.body), node.body)
        fdef = ast.copy_location(ast.FunctionDef(
            name="lambda__", args=node.args, body=[body], decorator_list=[], returns=None,
            type_comment=None, **({"type_params": []} if "type_params" in ast.FunctionDef._fields
                                  else {})), node)
    else:
        fdef = node
        fdef.decorator_list, fdef.returns = [], None
    counter = itertools.count(1)

    def fresh(prefix):
        return f"{prefix}{next(counter)}"
    before = ast.dump(fdef)
    canonicalize(fdef, fresh)
    locate(fdef)                        # flags get their statement's line (orders carried names)
    local = set(code.co_freevars) | set(code.co_cellvars) | set(code.co_varnames)
    local |= params(fdef.args)
    for n in (m for s in fdef.body for m in ast.walk(s)):
        if isinstance(n, (ast.FunctionDef, ast.Lambda)):
            local |= params(n.args)
        if isinstance(n, ast.stmt):
            local |= binds(n)
    resolver = Resolver(f.__globals__, local, is_user_file)
    first = fdef.args.posonlyargs + fdef.args.args
    super_self = first[0].arg if "__class__" in code.co_freevars and first else None
    expressions = Expressions(resolver, super_self)
    fdef = expressions.visit(fdef)
    stmts = Statements(fresh, expressions)
    stmts.function(fdef)
    _mangle(fdef, getattr(f, "__qualname__", ""))
    return fdef, ast.dump(fdef) != before


_INNER = "stage_converted__"        # the converted def's name inside the factory (which must not
#                                     bind the user's name: a recursive call would find the factory's)


def _compile(f, fdef) -> types.CodeType:
    code = f.__code__
    name, fdef.name = fdef.name, _INNER
    factory = ast.FunctionDef(
        name="stage_factory__", args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=n) for n in (AG,) + code.co_freevars], vararg=None,
            kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=[fdef, ast.Return(value=ast.Name(id=_INNER, ctx=ast.Load()))], decorator_list=[],
        returns=None, type_comment=None,
        **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {}))
    ast.copy_location(factory, fdef)
    module = ast.Module(body=[locate(factory)], type_ignores=[])
    outer = compile(module, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS,
                    dont_inherit=True)
    fcode = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    fdef.name = name
    inner = next(c for c in fcode.co_consts if isinstance(c, types.CodeType) and c.co_name == _INNER)
    names = {"co_name": code.co_name}
    if hasattr(code, "co_qualname"):
        names["co_qualname"] = code.co_qualname
    return inner.replace(**names)


def _register(conv: Conversion, code: types.CodeType):
    _converted_codes[code] = conv
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _register(conv, c)


def _convert_code(f) -> Conversion:
    code = f.__code__
    if code.co_flags & _NOT_CONVERTIBLE_FLAGS:
        return Conversion(code, "generators and coroutines are not converted")
    node, why = find_node(code, f.__globals__)
    if node is None:
        return Conversion(code, why)
    try:
        fdef, changed = _rewrite(f, copy.deepcopy(node))
        if not changed:
            return Conversion(code, "")             # nothing to convert: runs as written
        new_code = _compile(f, fdef)
    except NotConvertible as e:
        return Conversion(code, str(e))
    except Exception as e:                          # a bug of the converter: run f as written
        why = f"the converter failed ({type(e).__name__}: {e}); please report it"
        warnings.warn(f"stage could not convert {f.__qualname__} ({code.co_filename}:"
                      f"{code.co_firstlineno}) and runs it as written: {why}", stacklevel=2)
        return Conversion(code, why)
    conv = Conversion(code, "", fdef, new_code)
    _register(conv, new_code)
    if os.environ.get("STAGE_SHOW_CONVERTED", "0") not in ("", "0"):
        print(conv.source, file=sys.stderr)
    return conv


def _cell(f, name):
    if name == AG:
        return _AG_CELL
    return f.__closure__[f.__code__.co_freevars.index(name)]


def _instantiate(f, conv: Conversion):
    g = types.FunctionType(conv.new_code, f.__globals__, f.__name__, f.__defaults__,
                           tuple(_cell(f, n) for n in conv.new_code.co_freevars))
    g.__kwdefaults__ = f.__kwdefaults__
    g.__dict__.update(f.__dict__)
    g.__qualname__, g.__module__, g.__doc__ = f.__qualname__, f.__module__, f.__doc__
    g.__wrapped__ = f
    g.__stage_conversion__ = conv
    return g


def _with_note(f, conv: Conversion):
    """f as written; a staging error raised from it says why it was not converted."""
    note = f"note: stage did not convert {f.__qualname__} ({conv.where}): {conv.reason}"

    @functools.wraps(f)
    def run(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except StageError as e:
            if hasattr(e, "add_note") and note not in getattr(e, "__notes__", ()):
                e.add_note(note)
            raise
    run.__stage_conversion__ = conv
    return run


def _function(f):
    hit = _by_function.get(f)
    if hit is None:
        with _lock:
            code = f.__code__
            if code in _converted_codes or getattr(f, "__stage_do_not_convert__", False) or \
                    not is_user_file(code.co_filename):
                hit = f
            else:
                conv = _by_code.get(code)
                if conv is None:
                    conv = _by_code[code] = _convert_code(f)
                hit = _instantiate(f, conv) if conv.ok else _with_note(f, conv) if conv.reason \
                    else f
            _by_function[f] = hit
    if hit is not f or f.__code__ in _by_code:
        _record(_by_code.get(f.__code__))
    return hit


def _record(conv: Optional[Conversion]):
    """Note `conv` as a callee of the nearest user function on the stack (for converted_source)."""
    if conv is None:
        return
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        parent = _converted_codes.get(code) or _by_code.get(code)
        if parent is not None and parent is not conv:
            if conv not in parent.callees:
                parent.callees.append(conv)
            return
        frame = frame.f_back


# ----------------------------------------------------------------------------------------- entry points

def convert(f):
    """The converted form of `f` (a function, bound method or `functools.partial`), or `f`."""
    if not enabled():
        return f
    t = type(f)
    if t is types.FunctionType:
        return _function(f)
    if t is types.MethodType and type(f.__func__) is types.FunctionType:
        g = _function(f.__func__)
        return f if g is f.__func__ else types.MethodType(g, f.__self__)
    if t is functools.partial:
        g = convert(f.func)
        return f if g is f.func else functools.partial(g, *f.args, **f.keywords)
    return f


def call_target(f):
    """What converted code calls for `f`: its converted form, or f itself."""
    return convert(f)


def conversion_of(f) -> Optional[Conversion]:
    """The `Conversion` of a function (converting it if needed), or None when it is not user code."""
    g = convert(getattr(f, "__func__", f))
    conv = getattr(g, "__stage_conversion__", None)
    if conv is None and type(f) is types.FunctionType:
        conv = _by_code.get(f.__code__)
    return conv


def converted_source(f, callees: bool = True) -> str:
    """The source stage stages for `f` (after rewriting its control flow), and with `callees` that
    of the user functions it called while being staged."""
    for _ in range(10):                 # through st.compile, st.function, st.grad and train_step
        inner = getattr(f, "loss_fn", None) or getattr(f, "fn", None)
        if inner is not None and callable(inner) and not isinstance(f, types.FunctionType):
            f = inner
        elif isinstance(f, types.FunctionType) and hasattr(f, "__wrapped__") and \
                not is_user_file(f.__code__.co_filename):
            f = f.__wrapped__
        else:
            break
    conv = conversion_of(f)
    if conv is None:
        return f"# {getattr(f, '__qualname__', f)!s} is not converted (not user code, or nothing " \
               f"to convert)\n"
    seen, out, todo = set(), [], [conv]
    while todo:
        c = todo.pop(0)
        if id(c) in seen:
            continue
        seen.add(id(c))
        out.append(c.source if c.ok or c.reason else
                   f"# {c.code.co_name} ({c.where}): runs as written (no control flow to convert)\n")
        if callees:
            todo += c.callees
    return "\n".join(out)
