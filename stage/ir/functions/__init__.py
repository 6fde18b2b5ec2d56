"""The NumPy-named functions users call (`st.exp`, `st.sum(x, axis=0, keepdims=True)`, ...).

Each one converts its arguments (Python scalars are weakly typed: `x * 2` keeps x's dtype), normalises
static parameters (axes, shapes, index keys) and reflects one op of the table. Composite functions
(`mean`, `stack`, `one_hot`, ...) are written over those. Called outside staging with NumPy inputs,
they evaluate eagerly with the ops' NumPy references.

One module per family: `base` (conversion, promotion, `apply`), `elementwise`, `shape` (creation,
shapes, joins, indexing, `assign`), `reduce`, `nn` (products, softmax, losses); their docstrings and
type hints are kept in tables (`docs`), applied here.
"""
from .base import *          # noqa: F401,F403
from .base import (DEFAULT_FLOAT, DEFAULT_INT, _axes, _axis, _common_dtype, _dtype_of,  # noqa: F401
                   _is_weak, _nary, _shape, _staging, _to_exp, _weak_dtype, apply, as_rep, as_value,
                   astype)
from .elementwise import *   # noqa: F401,F403
from .shape import *         # noqa: F401,F403
from .indexing import _index_key  # noqa: F401
from .reduce import *        # noqa: F401,F403
from .nn import *            # noqa: F401,F403
from .io import print        # noqa: F401,A001  (st.print; not in `import *`: it shadows a builtin)
from .ufuncs import *        # noqa: F401,F403
from .scans import *         # noqa: F401,F403
from .stats import *         # noqa: F401,F403
from .arrays import *        # noqa: F401,F403
from .creation import *      # noqa: F401,F403
from .indexing import getitem  # noqa: F401
from .selection import *     # noqa: F401,F403
from .linalg import *        # noqa: F401,F403
from .linalg import cholesky, det, inv, norm, slogdet, solve  # noqa: F401
from .einstein import *      # noqa: F401,F403
from .nanfuncs import *      # noqa: F401,F403
from . import base as _base, elementwise as _elementwise, nn as _nn, reduce as _reduce, \
    shape as _shape_module, io as _io, ufuncs as _ufuncs, scans as _scans, stats as _stats, \
    arrays as _arrays, creation as _creation, selection as _selection, linalg as _linalg, \
    einstein as _einstein, indexing as _indexing, nanfuncs as _nanfuncs
from .docs import document as _document

for _m in (_base, _elementwise, _shape_module, _reduce, _nn, _io, _ufuncs, _scans, _stats, _arrays,
           _creation, _selection, _linalg, _einstein, _indexing, _nanfuncs):
    _document(vars(_m))      # annotations resolve in the module that defines each function
