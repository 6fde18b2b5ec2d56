"""`print`: text and staged values printed when the program runs (`st.print`).

`parts` is the static text and the places of the values: a string is printed as it is, `None` is
the next argument's value. Values are formatted alike by every backend: numbers as Python's
`format(v, "g")` (6 significant digits), bools as True/False, arrays nested like NumPy's
(`[[1 2]\\n [3 4]]`), summarised to the first and last three entries of each axis beyond 1000
elements. The effect is `io`: prints are kept in program order, and a print of a value being
differentiated prints it in the forward pass, with no gradient.
"""
import sys

import numpy as np

from . import NONDIFF, Effects, OpDef, shape_error
from ..types import TensorType


def _print_infer(ts, parts):
    if sum(p is None for p in parts) != len(ts):
        raise shape_error("print", f"{len(ts)} values for {sum(p is None for p in parts)} places")
    for t in ts:
        if not isinstance(t, TensorType):
            raise shape_error("print", "can print arrays and scalars only", t)
    return ()


def _one(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    v = float(v)
    return "nan" if v != v else format(v, "g")


def format_value(x: np.ndarray) -> str:
    """The text of a value, as the native runtime prints it (runtime_cpp/stage/print.h)."""
    x = np.asarray(x)
    summary = x.size > 1000

    def axis(a, d):
        if a.ndim == 0:
            return _one(a.item())
        n = a.shape[0]
        cut = summary and n > 6
        items = [axis(a[i], d + 1) for i in (range(3) if cut else range(n))]
        if cut:
            items += ["..."] + [axis(a[i], d + 1) for i in range(n - 3, n)]
        sep = " " if a.ndim == 1 else "\n" + " " * (d + 1)
        return "[" + sep.join(items) + "]"
    return axis(x, 0)


def _print_ref(*values, parts):
    it = iter(values)
    text = "".join(p if p is not None else format_value(next(it)) for p in parts)
    sys.stdout.write(text)
    sys.stdout.flush()
    return ()


OpDef("print", _print_infer, _print_ref, "effect", NONDIFF, effects=Effects(io=True))
