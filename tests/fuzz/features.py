"""THE ONE PLACE where fuzzer features are switched on or off.

Every choice point of the generator asks `enabled(name)`. A feature that finds a known,
unfixed defect is switched off here, with a comment naming the defect, so the quick profile stays
green on main; turn it on when the fix lands. Every feature is on today: the defects the fuzzer
found (A-F) are fixed, and tests/test_regressions.py keeps their reproducers (test_fuzz_*). `STAGE_FUZZ_ALL=1` switches every feature
on (with `pytest tests/test_fuzz.py --fuzz-long`, or `python -m fuzz --all`) to see what still
fails. Elementwise arithmetic, the loss and the aux outputs are always generated.
"""
import os

FEATURES = {
    # -- straight-line ops
    "broadcasting": True,
    "scalars": True,             # Python scalars and NumPy constants as operands
    "nondiff": True,             # floor, sign, stop_gradient, comparisons
    "ints": True,                # int64 arithmetic, int/bool values passed through as outputs
    "reductions": True,
    "var": True,
    "var_empty": True,           # st.var over an empty axis (was defect C: ZeroDivisionError)
    "argmax": True,
    "matmul": True,
    "batched_matmul_empty": True,  # grad of a batched product with an empty dim (was defect D)
    "views": True,               # reshape, transpose, swapaxes, expand_dims, squeeze, broadcast_to
    "getitem": True,             # static ints and slices, None, Ellipsis
    "negative_step": True,       # slices with a negative step
    "dyn_index": True,           # staged integer indices
    "take": True,
    "concatenate": True,
    "pad": True,
    "scatter_add": True,
    "nn": True,                  # softmax, log_softmax, cross_entropy, mse_loss, one_hot
    "softmax_empty": True,       # softmax over a size-0 axis (was defect B in the interpreter)
    "numpy_ops": True,           # sinh, erf, log1p, arctan2, hypot, logaddexp, fmax, rint...
    "scans": True,               # cumsum cumprod flip roll diff sort prod tril/triu tile repeat
    "nn_layers": True,           # conv1d/2d, pooling, layer/group norm, attention, activations
    "creation": True,            # zeros/full/iota (views of a scalar)
    "float32": True,             # 15% of the programs are float32 (no finite differences then)
    # -- shapes
    "size0": True,               # dims of size 0
    "size1": True,               # dims of size 1
    # -- control forms
    "cond": True,
    "cond_operands": True,       # st.cond(p, f, g, *operands) besides closures
    # branch results that are views, under grad (were defects E and F: a copy made for the
    # continuation took the slot of a value the continuation reads)
    "cond_views": True,
    "data_pred": True,           # predicates computed from data (not only bool inputs)
    "fori": True,
    "runtime_bounds": True,      # fori_loop bounds that are runtime integers (trip count 0 included)
    "while": True,
    "pytree_carry": True,        # dict/list/nested carries and branch results
    # several carries, permuted and dead ones (was defect A: native loops assigned carries one
    # after another). Off, loops carry one array (a while loop also its int counter).
    "multi_carry": True,
    "nesting": True,             # control forms inside control forms
    # -- differentiation
    "grad": True,
    "inner_grad": True,          # st.grad inside the program (second order under an outer grad)
    "pytree_args": True,         # arguments grouped into tuples/dicts (argnums over pytrees)
    # -- inputs that must be refused the same way by both backends
    "empty_reduce": True,        # max/min/argmax/logsumexp over a size-0 axis (NumPy raises)
    "index_errors": True,        # a staged index out of range at run time
}


def enabled(name: str) -> bool:
    if os.environ.get("STAGE_FUZZ_ALL"):
        return True
    return FEATURES[name]
