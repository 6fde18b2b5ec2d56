"""C++ expressions of the ops of `stage.ir.ops.ufuncs`: the C++ standard library's functions (the
classification helpers of runtime.h accept integers too)."""
from . import Elementwise, register


def ew(op, expr, cost=1):
    register(op, Elementwise(expr, cost))


ew("log2", "std::log2({0})")
ew("log10", "std::log10({0})")
ew("exp2", "std::exp2({0})")
ew("cbrt", "std::cbrt({0})")
ew("sinh", "std::sinh({0})")
ew("cosh", "std::cosh({0})")
ew("arcsin", "std::asin({0})")
ew("arccos", "std::acos({0})")
ew("arctan", "std::atan({0})")
ew("arcsinh", "std::asinh({0})")
ew("arccosh", "std::acosh({0})")
ew("arctanh", "std::atanh({0})")
ew("arctan2", "std::atan2({0}, {1})")
ew("hypot", "std::hypot({0}, {1})")
ew("erf", "std::erf({0})")
ew("erfc", "std::erfc({0})")
ew("ceil", "std::ceil({0})")
ew("trunc", "std::trunc({0})")
ew("rint", "std::nearbyint({0})")            # the default rounding mode: ties to even
ew("copysign", "std::copysign({0}, {1})")
ew("fmax", "std::fmax({0}, {1})")            # a NaN operand is ignored (NumPy's fmax)
ew("fmin", "std::fmin({0}, {1})")
ew("isnan", "stage::is_nan({0})")
ew("isinf", "stage::is_inf({0})")
ew("isfinite", "stage::is_finite({0})")
ew("signbit", "stage::sign_bit({0})")
ew("logical_xor", "{0} != {1}")

# -- GELU and its derivative (stage/ir/ops/gelu.py; runtime.h)
def _gelu(fn):
    def expr(a, T, approximate):
        return f"stage::{fn}<{T}>({', '.join(a)}, {'true' if approximate == 'tanh' else 'false'})"
    return expr


ew("gelu", _gelu("gelu"), cost=12)
ew("gelu_grad", _gelu("gelu_grad"), cost=16)
