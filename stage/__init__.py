"""stage: differentiable programming by multi-stage programming.

Write a model in Python over staged values (`Rep`); stage records it as a graph IR, derives the
backward pass with continuation callbacks, generates C++ that calls BLAS, compiles and runs it.

The public API is what this module exports (`__all__`): `compile`, `grad` / `value_and_grad`,
the NumPy-named functions (`exp`, `sum`, `where`, `take`, ...), staged control flow (`cond`,
`fori_loop`, `while_loop`, `function`), `train_step` / `eval_step`, `export`, and the modules
`nn` (layers, `nn.functional`), `optim`, `safetensors`. See the README and
docs/coming_from_pytorch_jax.md.
"""
__version__ = "0.1.0"

from .ir.rep import Rep
from .ir.graph import StageError, StageTypeError, StageValueError
from .ir.functions import (
    abs, add, argmax, as_rep, assign, astype, broadcast_to, clip, concatenate, cos, cross_entropy, divide,
    dot, equal, exp, expand_dims, expm1, floor, floor_divide, full, full_like, getitem, greater,
    greater_equal, iota, less, less_equal, log, log1p, log_softmax, logical_and, logical_not, logical_or,
    logsumexp, matmul, max, maximum, mean, min, minimum, mod, mse_loss, multiply, negative,
    nll_loss, not_equal, one_hot, ones, ones_like, outer, pad, power, print, relu, reshape,
    scatter_add, sigmoid,
    sign, sin, softmax, sqrt, square, squeeze, stack, stop_gradient, subtract, sum, swapaxes, take,
    tan, tanh, transpose, var, where, zeros, zeros_like)
from .control import cond, fori_loop, while_loop
from .staged_function import ShapeDtype, function
from .checkpointing import checkpoint, checkpoints
from .parallel import parallel_map
from .cps.api import grad, value_and_grad
from .compile import Compiled, compile
from .threads import get_num_threads, set_num_threads
from .codegen import build as _build   # noqa: F401  (code generator, compiler driver, cffi loader
#                                         are loaded with stage, not on the first compiled call)
from .deploy import export
from . import datasets, nn, optim, pytree, safetensors, trees
from .logs import configure as _configure_logging
from .train import eval_step, train_step

_configure_logging()          # STAGE_LOG=info: specialisations and builds on stderr

__all__ = [
    "__version__", "Rep", "StageError", "StageTypeError", "StageValueError", "Compiled",
    "ShapeDtype",
    # compile, differentiate, control flow
    "compile", "grad", "value_and_grad", "cond", "fori_loop", "while_loop", "function",
    "checkpoint", "checkpoints",
    "parallel_map",
    # modules, training, deployment, formats
    "nn", "optim", "safetensors", "datasets", "trees", "pytree", "train_step", "eval_step", "export",
    "get_num_threads", "set_num_threads",
    # the NumPy-named functions
    "abs", "add", "argmax", "as_rep", "asarray", "assign", "astype", "broadcast_to", "clip",
    "concatenate", "cos", "cross_entropy", "divide", "dot", "equal", "exp", "expand_dims", "expm1",
    "floor", "floor_divide", "full", "full_like", "getitem", "greater", "greater_equal", "iota",
    "less", "less_equal", "log", "log1p", "log_softmax", "logical_and", "logical_not", "logical_or",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mod", "mse_loss",
    "multiply", "negative", "nll_loss", "not_equal", "one_hot", "ones", "ones_like", "outer",
    "pad", "power", "print", "relu", "reshape", "scatter_add", "sigmoid", "sign", "sin", "softmax", "sqrt",
    "square", "squeeze", "stack", "stop_gradient", "subtract", "sum", "swapaxes", "take", "tan",
    "tanh", "transpose", "var", "where", "zeros", "zeros_like",
]

# NumPy's vocabulary (issue 13), one family per module of stage.ir.functions
from .ir.functions.ufuncs import *  # noqa: E402,F401,F403
from .ir.functions.scans import *  # noqa: E402,F401,F403
from .ir.functions.stats import *  # noqa: E402,F401,F403
from .ir.functions.arrays import *  # noqa: E402,F401,F403
from .ir.functions.creation import *  # noqa: E402,F401,F403
from .ir.functions.selection import *  # noqa: E402,F401,F403
from .ir.functions.indexing import getitem  # noqa: E402,F401
from .ir.functions.linalg import *  # noqa: E402,F401,F403
from .ir.functions.einstein import einsum  # noqa: E402,F401
from .ir.functions.nanfuncs import *  # noqa: E402,F401,F403
from . import linalg  # noqa: E402
from .ir.functions.reduce import amax, amin, argmin, prod, std  # noqa: E402,F401
from .ir.functions import ufuncs as _ufuncs, scans as _scans, stats as _stats, \
    arrays as _arrays, creation as _creation, selection as _selection, linalg as _linalg, \
    nanfuncs as _nanfuncs  # noqa: E402
__all__ += [n for m in (_ufuncs, _scans, _stats, _arrays, _creation, _selection, _linalg, _nanfuncs)
            for n in m.__all__ if n not in __all__] + ["amax", "amin", "argmin", "prod", "std",
                                                        "einsum", "linalg"]

# NumPy's constants, so NumPy code written against `st` reads the same (`x[:, st.newaxis]`)
import numpy as _np  # noqa: E402

newaxis = None
"""`None`: in an index, a new axis of size 1 (as `numpy.newaxis`)."""
pi = _np.pi
"""The ratio of a circle's circumference to its diameter, as `numpy.pi`."""
e = _np.e
"""Euler's number, as `numpy.e`."""
inf = _np.inf
"""Positive infinity (a Python float), as `numpy.inf`."""
nan = _np.nan
"""Not a number (a Python float), as `numpy.nan`."""
__all__ += ["newaxis", "pi", "e", "inf", "nan"]
