"""Docstrings of the conversion and elementwise functions (see `docs.py`)."""
from __future__ import annotations

from typing import Dict

from .docs_templates import _BOOL, _FLOAT, _PROMOTED, _SAME, _binary, _unary

DOCS: Dict[str, str] = {
    "add": _binary("x + y", "add", _PROMOTED),
    "subtract": _binary("x - y", "subtract", _PROMOTED),
    "multiply": _binary("x * y", "multiply", _PROMOTED),
    "divide": _binary("True division x / y", "divide", _FLOAT),
    "floor_divide": _binary("Floor division x // y", "floor_divide", _PROMOTED + " No gradient.",
                            "As NumPy: floats round toward minus infinity (`1.0 // 0.1` is 9.0);\n"
                            "integer division by zero gives 0 (NumPy warns and gives 0 too)."),
    "mod": _binary("The remainder x % y with the sign of y", "mod", _PROMOTED,
                   "Integer `x % 0` is 0, as in NumPy."),
    "maximum": _binary("The larger of x and y", "maximum", _PROMOTED,
                       "NaN propagates. The gradient goes to the larger; ties share it equally."),
    "minimum": _binary("The smaller of x and y", "minimum", _PROMOTED,
                       "NaN propagates. The gradient goes to the smaller; ties share it equally."),
    "power": _binary("x ** y", "power", _FLOAT,
                     "A static exponent of 1, 2 or 0.5 is x, `square(x)` or `sqrt(x)`."),
    "less": _binary("x < y", "less", _BOOL),
    "less_equal": _binary("x <= y", "less_equal", _BOOL),
    "greater": _binary("x > y", "greater", _BOOL),
    "greater_equal": _binary("x >= y", "greater_equal", _BOOL),
    "equal": _binary("x == y", "equal", _BOOL),
    "not_equal": _binary("x != y", "not_equal", _BOOL),
    "logical_and": _binary("x and y (nonzero is true)", "logical_and", _BOOL),
    "logical_or": _binary("x or y (nonzero is true)", "logical_or", _BOOL),
    "logical_not": _unary("not x (nonzero is true)", "logical_not", _BOOL),
    "negative": _unary("-x", "negative", _SAME),
    "exp": _unary("e ** x", "exp", _FLOAT),
    "log": _unary("The natural logarithm", "log", _FLOAT),
    "sqrt": _unary("The square root", "sqrt", _FLOAT),
    "square": _unary("x * x", "square", _SAME),
    "tanh": _unary("The hyperbolic tangent", "tanh", _FLOAT),
    "sigmoid": _unary("The logistic function 1 / (1 + exp(-x))", "scipy.special.expit", _FLOAT),
    "relu": _unary("max(x, 0)", "torch.relu", _SAME, "The gradient at 0 is 0, as PyTorch's."),
    "abs": _unary("|x|", "abs", _SAME),
    "sign": _unary("-1, 0 or 1 by the sign of x", "sign", _SAME + " No gradient flows through it."),
    "log1p": _unary("log(1 + x), accurate for small x", "log1p", _FLOAT),
    "expm1": _unary("exp(x) - 1, accurate for small x", "expm1", _FLOAT),
    "tan": _unary("The tangent", "tan", _FLOAT),
    "sin": _unary("The sine", "sin", _FLOAT),
    "cos": _unary("The cosine", "cos", _FLOAT),
    "floor": _unary("The largest integer <= x", "floor", _FLOAT + " No gradient flows through it."),
}

DOCS["as_rep"] = """A staged value for `x`: Python scalars and NumPy arrays become constants.

Parameters
----------
x : Rep, array_like or scalar
    A staged value is returned as it is (converted when `dtype` differs).
dtype : str or numpy.dtype, optional
    The dtype to convert to. Python ints default to int64, floats to float32.

Returns
-------
Rep
    The staged value (also available as `st.asarray`).

Raises
------
TypeError
    An unsupported dtype (stage has float32, float64, int32, int64 and bool).
"""

DOCS["where"] = """`x` where `condition` is true, else `y`, elementwise, as `numpy.where`.

Parameters
----------
condition : Rep or array_like
    Converted to bool (nonzero is true).
x, y : Rep or array_like, optional
    The values; promoted to a common dtype. All three broadcast together. Without x and y,
    `where(condition)` is `nonzero(condition)`: its result's shape depends on the values, so the
    condition must then be static (a NumPy array or a staged constant); a staged one raises
    StageTypeError.

Returns
-------
Rep
    The broadcast shape and the promoted dtype. The gradient flows to the selected operand.

Examples
--------
>>> import numpy as np, stage as st
>>> st.where(np.array([True, False]), np.float32(1), np.float32(-1))
array([ 1., -1.], dtype=float32)
"""

DOCS["clip"] = """`x` limited to [a_min, a_max], as `numpy.clip`.

Parameters
----------
x : Rep or array_like
    The values.
a_min, a_max : scalar, Rep or None
    The bounds (None: unbounded on that side). Static bounds are folded into the code; staged
    ones are allowed too.

Returns
-------
Rep
    x's shape. The gradient is 1 inside the bounds, 0 outside.
"""

DOCS["astype"] = """`x` converted to `dtype`, as `numpy.ndarray.astype`.

Parameters
----------
x : Rep or array_like
    The values.
dtype : str or numpy.dtype
    float32, float64, int32, int64 or bool. Float to int truncates toward zero.

Returns
-------
Rep
    x's shape in the new dtype (x itself when it already has it). The gradient converts back
    (and is zero through integer dtypes).

Raises
------
TypeError
    An unsupported dtype.
"""

DOCS["stop_gradient"] = """`x`, with no gradient flowing back through it (as `jax.lax.stop_gradient`,
PyTorch's `x.detach()`).

Parameters
----------
x : Rep or array_like
    The value.

Returns
-------
Rep
    The same value, treated as a constant by `st.grad`.
"""


DOCS["print"] = """Print text and staged values when the compiled program runs (not while staging).

As Python's `print`: the values separated by `sep` and followed by `end`; static Python values
are printed as Python prints them, staged values when the native code (or the interpreter) runs,
e.g. once per iteration inside a loop. Plain `print(...)` of a staged value inside a converted
function becomes `st.print`.

Parameters
----------
*values : Rep or any
    What to print, in order.
sep : str, default " "
end : str, default "\\n"

Notes
-----
Numbers print as Python's `format(v, "g")` (6 significant digits), arrays nested as NumPy nests
them (`[[1 2]\\n [3 4]]`), summarised beyond 1000 elements; every backend prints the same text.
Native code writes to the process's standard output (file descriptor 1) and flushes after each
print; text Python has buffered but not flushed may appear after it. A print of a value being
differentiated prints it in the forward pass (no gradient flows through it).

Examples
--------
>>> import numpy as np, stage as st
>>> f = st.compile(lambda x: st.print("sum:", st.sum(x)) or x * 2, backend="interp")
>>> _ = f(np.arange(3.0))
sum: 3
"""
