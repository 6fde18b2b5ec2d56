"""Dense linear algebra on stacks of square matrices (..., n, n), as numpy.linalg computes it with
LAPACK: inv, solve, det, slogdet (sign and log|det| packed in a last axis of 2), cholesky. A
singular (or, for cholesky, indefinite) matrix raises ValueError, as NumPy's LinAlgError (a
ValueError). Gradients are the standard matrix-calculus rules, written with these same ops (so they
differentiate again)."""
import numpy as np

from ..types import FLOATS, TensorType
from . import OpDef, shape_error
from .. import functions as F


def _square(name, t):
    if t.dtype not in FLOATS:
        raise shape_error(name, "needs floating-point matrices", t)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise shape_error(name, "needs square matrices (..., n, n)", t)


def _T(x):
    return F.swapaxes(x, -1, -2)


def _mat(x):
    """A batch of scalars (...,) as (..., 1, 1), to scale matrices."""
    return F.reshape(x, x.shape + (1, 1))


def _inv_infer(ts):
    _square("inv", ts[0])
    return ts[0]


OpDef("inv", _inv_infer, lambda a: np.linalg.inv(a), "general",
      lambda g, out, a: (-(_T(out) @ g @ _T(out)),), nargs=1, domain={"well_conditioned": True})


def _solve_infer(ts):
    a, b = ts
    _square("solve", a)
    if b.dtype != a.dtype or b.ndim != a.ndim or b.shape[-2] != a.shape[-1] or \
            b.shape[:-2] != a.shape[:-2]:
        raise shape_error("solve", "needs b of shape (..., n, k) with a's batch and dtype", a, b)
    return b


def _solve_grad(g, out, a, b):
    gb = F.apply("solve", _T(a), g)
    return -(gb @ _T(out)), gb


OpDef("solve", _solve_infer, lambda a, b: np.linalg.solve(a, b), "general", _solve_grad,
      nargs=2, domain={"well_conditioned": True})


def _det_infer(ts):
    _square("det", ts[0])
    return TensorType(ts[0].dtype, ts[0].shape[:-2])


OpDef("det", _det_infer, lambda a: np.asarray(np.linalg.det(a), a.dtype), "general",
      lambda g, out, a: (_mat(g * out) * _T(F.apply("inv", a)),), nargs=1,
      domain={"well_conditioned": True})


def _slogdet_infer(ts):
    _square("slogdet", ts[0])
    return TensorType(ts[0].dtype, ts[0].shape[:-2] + (2,))


def _slogdet_ref(a):
    sign, logabs = np.linalg.slogdet(a)
    return np.stack([sign, logabs], -1).astype(a.dtype)


# out[..., 0] is the sign (no gradient), out[..., 1] log|det a| (gradient inv(a)^T)
OpDef("slogdet", _slogdet_infer, _slogdet_ref, "general",
      lambda g, out, a: (_mat(g[..., 1]) * _T(F.apply("inv", a)),), nargs=1,
      domain={"well_conditioned": True})


def _cholesky_infer(ts):
    _square("cholesky", ts[0])
    return ts[0]


def _cholesky_grad(g, L, a):
    """Murray (2016), as PyTorch and JAX: L^-T Phi(L^T g) L^-1, symmetrised (the input is taken
    to be symmetric: only its lower triangle is read)."""
    phi = _T(L) @ g
    phi = F.tril(phi) - 0.5 * (F.tril(phi) - F.tril(phi, -1))      # lower, diagonal halved
    linv = F.apply("inv", L)
    ga = _T(linv) @ phi @ linv
    return (0.5 * (ga + _T(ga)),)


OpDef("cholesky", _cholesky_infer, lambda a: np.linalg.cholesky(a), "general", _cholesky_grad,
      nargs=1, domain={"spd": True})
