"""The helpers converted code calls (`ag__.if_stmt`, `ag__.for_stmt`, ...).

Each keeps Python's own semantics when the value deciding the control flow is a static Python value
at staging time -- a static `if` runs one branch, `for i in range(3)` runs its body three times, a
`while` with a static test is a Python loop -- and stages it (`st.cond`, `st.fori_loop`,
`st.while_loop`) when that value is staged. A Python loop whose `break` flag becomes staged runs its
remaining iterations as staged branches (`if not broke: body`).
"""
from __future__ import annotations

import operator

from ..control import _as_pred, cond
from ..ir import functions as F
from ..ir.graph import StageError
from ..ir.rep import Rep
from .branches import staged_if
from .loops import StagedRange, StagedRows, staged_for, staged_while
from .values import Site, Undefined

__all__ = ["if_stmt", "if_exp", "while_stmt", "for_stmt", "and_", "or_", "not_", "compare",
           "range_", "enumerate_", "zip_", "ld", "call", "Undefined"]


def ld(local_vars: dict, name: str):
    """The value of a local variable, or `Undefined(name)` where it is not bound yet."""
    return local_vars[name] if name in local_vars else Undefined(name)


# ------------------------------------------------------------------------------------------ branches

def _effects_error(what, site, effects, why, advice):
    calls = ", ".join(f"{e}(...)" for e in effects)
    return StageError(f"the {what} at {site} changes Python containers from outside it ({calls}), "
                      f"but {why}: {advice}")


def if_stmt(pred, true_fn, false_fn, ins: tuple, names: tuple, effects: tuple = ()) -> tuple:
    """`if pred:` -- each branch function takes the values `ins` and returns those of `names`;
    `effects` names the outside containers the branches change (`outs.append`)."""
    if not isinstance(pred, Rep):
        return true_fn(*ins) if pred else false_fn(*ins)
    if effects:
        raise _effects_error("`if`", Site(), effects, "its condition is staged and both branches "
                             "are traced once, whichever runs", "assign variables in the branches "
                             "(or select with st.where) instead")
    return staged_if(pred, true_fn, false_fn, ins, names, Site())


def if_exp(pred, true_fn, false_fn):
    """`true_fn() if pred else false_fn()`."""
    if not isinstance(pred, Rep):
        return true_fn() if pred else false_fn()
    return staged_if(pred, lambda: (true_fn(),), lambda: (false_fn(),), (),
                     ("<conditional expression>",), Site())[0]


# ------------------------------------------------------------------------------------------ loops

_LOOP_ADVICE = ("make the trip count static (a Python int, or a staged array's length), or carry an "
                "array through the loop (preallocated, rows added with st.scatter_add)")


def while_stmt(test, body, values: tuple, names: tuple, effects: tuple = ()) -> tuple:
    """`while test(*values): values = body(*values)`; staged from the first staged test on."""
    while True:
        t = test(*values)
        if isinstance(t, Rep):
            if effects:
                raise _effects_error("`while` loop", Site(), effects, "its test is staged and its "
                                     "body is traced once, not once per iteration", _LOOP_ADVICE)
            return staged_while(test, body, values, names, Site())
        if not t:
            return values
        values = body(*values)


def for_stmt(iterable, body, values: tuple, names: tuple, extra_test=None,
             effects: tuple = ()) -> tuple:
    """`for x in iterable: values = body(x, *values)` while `extra_test(*values)` (a break flag).
    With `effects` (the body appends to an outside list, ...) the rows of a staged array are
    iterated in Python (unrolled: the list grows as in Python); a staged trip count is an error."""
    if isinstance(iterable, (StagedRange, StagedRows, Rep)):
        if not effects:
            return staged_for(iterable, body, values, names, Site(), extra_test)
        rows = StagedRows([iterable], single=True) if isinstance(iterable, Rep) else iterable
        n = rows.range.stop if isinstance(rows, StagedRows) else None
        if n is None or isinstance(n, Rep):
            raise _effects_error("`for` loop", Site(), effects, "it runs a staged number of times "
                                 "and its body is traced once, not once per iteration",
                                 _LOOP_ADVICE)
        iterable = (rows.item(k) for k in range(n))
    for x in iterable:
        if extra_test is not None:
            go = extra_test(*values)
            if isinstance(go, Rep):            # the loop may have stopped: run this iteration if not
                values = staged_if(go, lambda *v, x=x: body(x, *v), lambda *v: v, values, names,
                                   Site())
                continue
            if not go:
                break
        values = body(x, *values)
    return values


def print_(*values, **kwargs):
    """`print(...)`: printed when the program runs (st.print) when a value is staged."""
    if any(isinstance(v, Rep) for v in values):
        return F.print(*values, **kwargs)
    return print(*values, **kwargs)


def range_(*args):
    """`range(...)`; a `StagedRange` when a bound is staged."""
    if any(isinstance(a, Rep) for a in args):
        return StagedRange(*args)
    return range(*args)


def enumerate_(iterable, start=0):
    """`enumerate(...)`; over a staged array or range, the items of a staged loop."""
    if isinstance(iterable, (Rep, StagedRange, StagedRows)):
        return StagedRows([iterable], start)
    return enumerate(iterable, start)


def zip_(*iterables, **kwargs):
    """`zip(...)`; over staged arrays or ranges (all of them), the items of a staged loop."""
    if iterables and all(isinstance(a, (Rep, StagedRange, StagedRows)) for a in iterables) and \
            not kwargs:
        return StagedRows(list(iterables))
    return zip(*iterables, **kwargs)


# ------------------------------------------------------------------------------------------ logic

def _bool(x):
    return _as_pred(x) if isinstance(x, Rep) else bool(x)


def and_(a, b_fn, lazy: bool = False):
    """`a and b_fn()`. With a staged `a` the result is a staged bool; `lazy` (the right side may fail
    or cost) evaluates it only where `a` holds, in a staged branch, as Python's short circuit does."""
    if not isinstance(a, Rep):
        return b_fn() if a else a
    pa = _as_pred(a)
    if lazy:
        return cond(pa, lambda: _bool(b_fn()), lambda: False)
    b = b_fn()
    if not isinstance(b, Rep):
        return pa if b else False
    return F.logical_and(pa, _as_pred(b))


def or_(a, b_fn, lazy: bool = False):
    """`a or b_fn()` (see `and_`)."""
    if not isinstance(a, Rep):
        return a if a else b_fn()
    pa = _as_pred(a)
    if lazy:
        return cond(pa, lambda: True, lambda: _bool(b_fn()))
    b = b_fn()
    if not isinstance(b, Rep):
        return True if b else pa
    return F.logical_or(pa, _as_pred(b))


_COMPARE = {"Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt, "GtE": operator.ge,
            "Eq": operator.eq, "NotEq": operator.ne, "Is": operator.is_, "IsNot": operator.is_not,
            "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b}


def compare(left, *rest):
    """A chained comparison `left op1 b op2 c ...` (`rest` alternates op names and thunks): each
    operand evaluated once, the chain stopping at the first static false, staged parts and-ed."""
    result = None
    for k in range(0, len(rest), 2):
        right = rest[k + 1]()
        r = _COMPARE[rest[k]](left, right)
        result = r if result is None else and_(result, lambda r=r: r)
        if not isinstance(result, Rep) and not result:
            return result
        left = right
    return result


def not_(x):
    """`not x`."""
    return F.logical_not(_as_pred(x)) if isinstance(x, Rep) else not x


# ------------------------------------------------------------------------------------------ calls

_call_target = None


def call(f, /, *args, **kwargs):
    """`f(*args, **kwargs)`, with f converted first when it is user code (see `convert`)."""
    global _call_target
    if _call_target is None:
        from .convert import call_target
        _call_target = call_target
    return _call_target(f)(*args, **kwargs)
