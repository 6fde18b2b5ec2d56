"""C++ expressions of the elementwise ops: one line each (the functions of runtime_cpp/stage/
kernels.h where the standard library has no vectorisable or NumPy-exact form)."""
from ..cpp import literal
from . import Elementwise, View, register


def ew(op, expr, cost=1):
    register(op, Elementwise(expr, cost))


def _int_div(helper):
    """An integer division by zero gives 0, as in NumPy (stage::floordiv/pymod would throw, and a
    throw out of an `omp simd` loop terminates the process)."""
    def expr(a, T):
        call = f"stage::{helper}<{T}>({a[0]}, {a[1]})"
        return call if T in ("float", "double") else f"({a[1]} == 0 ? {T}(0) : {call})"
    return expr


def _clip(a, T, lo, hi):
    inf = "infinity" if T in ("float", "double") else "max"      # no bound: no-op for ints too
    lo = f"-std::numeric_limits<{T}>::{inf}()" if lo is None else literal(lo, T)
    hi = f"std::numeric_limits<{T}>::{inf}()" if hi is None else literal(hi, T)
    return f"stage::clip<{T}>({a[0]}, {lo}, {hi})"


# -- arithmetic
ew("add", "{0} + {1}")
ew("subtract", "{0} - {1}")
ew("multiply", "{0} * {1}")
ew("divide", "{0} / {1}", cost=4)
ew("power", "std::pow({0}, {1})", cost=20)
# NaN-propagating like NumPy (std::max/min would drop a NaN second operand)
ew("maximum", "({0} > {1} || {0} != {0}) ? {0} : {1}")
ew("minimum", "({0} < {1} || {0} != {0}) ? {0} : {1}")
ew("floor_divide", _int_div("floordiv"), cost=8)
ew("mod", _int_div("pymod"), cost=8)
ew("negative", "-{0}")
ew("exp", "stage::exp({0})", cost=8)
ew("log", "std::log({0})", cost=20)
ew("sqrt", "std::sqrt({0})", cost=4)
ew("square", "{0} * {0}")
ew("tanh", "stage::tanh({0})", cost=10)
ew("sigmoid", "stage::sigmoid({0})", cost=10)
ew("relu", "!({0} <= 0) ? {0} : {T}(0)")            # NaN stays NaN
ew("abs", "std::abs({0})")
ew("sign", "{0} != {0} ? {0} : stage::sign({0})")
ew("log1p", "std::log1p({0})", cost=20)
ew("expm1", "std::expm1({0})", cost=20)
ew("tan", "std::tan({0})", cost=20)
ew("sin", "std::sin({0})", cost=20)
ew("cos", "std::cos({0})", cost=20)
ew("floor", "std::floor({0})")
ew("logical_not", "!{0}")
# -- comparisons and logic
ew("less", "{0} < {1}")
ew("less_equal", "{0} <= {1}")
ew("greater", "{0} > {1}")
ew("greater_equal", "{0} >= {1}")
ew("equal", "{0} == {1}")
ew("not_equal", "{0} != {1}")
ew("logical_and", "{0} && {1}")
ew("logical_or", "{0} || {1}")
# -- selection, conversion
ew("where", "{0} ? {1} : {2}")
ew("clip", _clip)
ew("astype", "static_cast<{T}>({0})")
ew("stop_gradient", "{0}")


# iota: the index along `axis` as a value that reads no memory (its layout has the strides of that
# axis and the index itself as the element)
register("iota", View(lambda ctx, node: ctx.index_layout(node.params["shape"], node.params["axis"],
                                                        node.params["dtype"])))
