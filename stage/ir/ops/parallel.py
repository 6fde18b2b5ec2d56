"""Parallel examples, declared in the table like every control form.

- `parallel_map()` with block body(i) -> results, `n` a static count: the body for every index
  i < n, independently (on different threads); each result is stacked along a new leading axis.
  Its body may not update inputs in place; its CPS rule (`stage.cps.parallel`) differentiates it.
- `parallel_map_grad(ex, kfun, *refs)` is what CPS makes of it: `ex(i, *group_refs, kex)` runs
  example i as a CPS function whose continuation `kex(outputs, output refs)` stores the example's
  outputs; once every example has stored its outputs, `kfun(stacked outputs, stacked output refs)`
  (the rest of the program) runs once; then each `kex` adds its rows of the stacked output
  cotangents into its output refs and returns, and every example's backward runs. The examples
  accumulate their gradients into copies of `refs` (one per group of examples, groups fixed by `n`),
  added into `refs` in group order afterwards. `act` flags the outputs that have cotangents.
"""
from ..types import FunType, RefType, TensorType
from . import NONDIFF, Effects, OpDef, shape_error
from .control import CONTROL, INDEX


def _parallel_map_infer(ts, blocks, n):
    (body,) = blocks
    if ts:
        raise shape_error("parallel_map", "takes no arguments (the body reads what it needs)", *ts)
    if tuple(s.type for s in body.inputs) != (INDEX,):
        raise shape_error("parallel_map", "the body takes the example's index (int64)",
                          *[s.type for s in body.inputs])
    if not isinstance(n, int) or n < 0:
        raise shape_error("parallel_map", f"the number of examples must be a static count >= 0, "
                                          f"not {n!r}")
    for t in body.result_types:
        if not isinstance(t, TensorType):
            raise shape_error("parallel_map", "the body must return arrays", t)
    return tuple(TensorType(t.dtype, (n,) + t.shape) for t in body.result_types)


def _parallel_map_grad_infer(ts, n, act):
    ex, kfun, *refs = ts
    if not (isinstance(ex, FunType) and isinstance(kfun, FunType)):
        raise shape_error("parallel_map_grad", "expects two functions", ex, kfun)
    stacked = [t for t in kfun.inputs if isinstance(t, TensorType)]
    if len(stacked) != len(act) or \
            list(kfun.inputs[len(act):]) != [RefType(t) for t, a in zip(stacked, act) if a]:
        raise shape_error("parallel_map_grad", "the continuation does not take the outputs and "
                                               "their cotangent refs", kfun)
    ktype = FunType(tuple(TensorType(t.dtype, t.shape[1:]) for t in stacked) +
                    tuple(RefType(TensorType(t.dtype, t.shape[1:])) for t, a in zip(stacked, act)
                          if a), ())
    if ex.inputs != (INDEX,) + tuple(refs) + (ktype,) or ex.outputs:
        raise shape_error("parallel_map_grad", "the example function does not take (index, the "
                                               "refs, the example's continuation)", ex)
    if any(t.shape[:1] != (n,) for t in stacked):
        raise shape_error("parallel_map_grad", f"the outputs must stack {n} examples", *stacked)
    return ()


OpDef("parallel_map", _parallel_map_infer, None, "control", CONTROL, blocks=("body",), nargs=0)
# a kernel of the backend (it runs closures, but is not a call of one: nothing may assume its
# arguments are passed to its first argument's parameters)
OpDef("parallel_map_grad", _parallel_map_grad_infer, None, "general", NONDIFF,
      effects=Effects(unknown=True))
