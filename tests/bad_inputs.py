"""The bad-input catalogue: each case is something a user may pass or do, and what stage must answer
-- a clear Python exception of the given type (whose message matches), or the correct result. Never
a crash, a hang or a silent change of the user's data.

Cases are grouped; tests/test_bad_inputs.py runs each group in one subprocess (a crash then fails
that group's test naming the case that was running, instead of ending the test run), with the
group's environment. `python tests/bad_inputs.py GROUP` runs one group and prints one JSON line per
case.

A case is a function that either returns normally after checking the result itself (expect "ok"),
or raises. `LEAD` marks cases that still fail because of the code generator (owned elsewhere): the
test expects them to fail until they are fixed (strict), so the fix is noticed.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CASES = {}          # group -> [(name, fn, expect, match)]
GROUP_ENV = {"depth": {"STAGE_STACK_MB": "32"}}
LEAD = {}           # case name -> why it fails today (the code generator's issue)


def case(group, expect="ok", match=None, lead=None):
    def deco(fn):
        CASES.setdefault(group, []).append((fn.__name__, fn, expect, match))
        if lead:
            LEAD[fn.__name__] = lead
        return fn
    return deco


def _st():
    import stage
    return stage


def close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)


f32 = np.float32


def ones(*shape, dtype=np.float64):
    return np.ones(shape, dtype)


# ------------------------------------------------------------------------------------------ call
# wrong count, structure, dtype and kind of arguments

@case("call", TypeError)
def too_few_arguments():
    _st().compile(lambda x, y: x + y)(ones(3))


@case("call", TypeError)
def too_many_arguments():
    _st().compile(lambda x: x + 1)(ones(3), ones(3))


@case("call", TypeError)
def keyword_arguments():
    _st().compile(lambda x: x + 1)(x=ones(3))


@case("call", TypeError, r"argument `x` has dtype float64")
def wrong_dtype_on_a_specialisation():
    st = _st()
    exe = st.compile(lambda x: x * 2).lower(ones(3, dtype=f32))
    exe(ones(3))


@case("call", ValueError, r"argument `y` has shape \(4,\)")
def wrong_shape_on_a_specialisation():
    st = _st()
    exe = st.compile(lambda x, y: x * y).lower(ones(3), ones(3))
    exe(ones(3), ones(4))


@case("call", TypeError, "structured")
def wrong_structure_on_a_specialisation():
    st = _st()
    exe = st.compile(lambda p: p[0] * p[1]).lower((ones(3), ones(3)))
    exe([ones(3), ones(3)])


@case("call", TypeError, "structured")
def missing_dict_key_on_a_specialisation():
    st = _st()
    exe = st.compile(lambda p: p["a"] * p["b"]).lower({"a": ones(2), "b": ones(2)})
    exe({"a": ones(2), "c": ones(2)})


@case("call", KeyError)
def missing_dict_key_while_staging():
    _st().compile(lambda p: p["a"] * p["b"])({"a": ones(2)})


@case("call", TypeError, "dtype")
def float16_array():
    _st().compile(lambda x: x + 1)(ones(3, dtype=np.float16))


@case("call", TypeError, "dtype")
def complex_array():
    _st().compile(lambda x: x + 1)(ones(3, dtype=np.complex128))


@case("call", TypeError, "dtype")
def object_array():
    _st().compile(lambda x: x + 1)(np.array([1, "a"], dtype=object))


@case("call", TypeError, "dtype")
def uint8_array():
    _st().compile(lambda x: x + 1)(np.ones(3, np.uint8))


@case("call", TypeError, "dtype")
def structured_dtype_array():
    _st().compile(lambda x: x + 1)(np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]))


@case("call", TypeError, "dtype")
def datetime_array():
    _st().compile(lambda x: x + 1)(np.array(["2020-01-01"], dtype="datetime64[D]"))


@case("call", Exception)
def string_where_an_array_is_expected():
    _st().compile(lambda x, y: x + y)(ones(3), "abc")


@case("call", Exception)
def none_where_an_array_is_expected():
    _st().compile(lambda x, y: x * y)(ones(3), None)


@case("call")
def python_list_of_floats_is_static():
    st = _st()
    close(st.compile(lambda x, c: x * c[0] + c[1])(ones(2), [2.0, 1.0]), [3.0, 3.0])


@case("call")
def int32_index_array():
    st = _st()
    close(st.compile(lambda e, i: st.take(e, i, axis=0))(np.arange(6.).reshape(3, 2), np.array([2, 0], np.int32)),
          [[4, 5], [0, 1]])


@case("call")
def bool_array_in_arithmetic():
    st = _st()
    close(st.compile(lambda m, x: st.where(m, x, -x))(np.array([True, False]), ones(2)), [1, -1])


@case("call")
def zero_d_array_and_numpy_scalar():
    st = _st()
    f = st.compile(lambda x, s: x * s)
    close(f(ones(3), np.array(2.0)), [2, 2, 2])
    close(f(ones(3), np.float64(3.0)), [3, 3, 3])
    assert f.num_specializations == 1


@case("call", TypeError, r"argument `x`.*(grad|gradient)")
def torch_tensor_requiring_grad():
    import torch
    _st().compile(lambda x: x * 2)(torch.ones(3, requires_grad=True))


@case("call", TypeError, r"argument `x`")
def torch_bfloat16_tensor():
    import torch
    _st().compile(lambda x: x * 2)(torch.ones(3, dtype=torch.bfloat16))


@case("call", TypeError, r"argument `x`")
def torch_meta_tensor():
    import torch
    _st().compile(lambda x: x * 2)(torch.ones(3, device="meta"))


class _BrokenArray:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("cannot be read today")


@case("call", TypeError, r"argument `x`.*cannot be read today")
def object_whose_array_method_fails():
    _st().compile(lambda x: x * 2)(_BrokenArray())


@case("call", Exception)
def a_class_as_argument():
    _st().compile(lambda x, k: x * k)(ones(2), np.ndarray)


@case("call")
def numpy_matrix_subclass():
    st = _st()
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    close(st.compile(lambda x: x * 2)(m), np.asarray(m) * 2)


@case("call", TypeError, "masked")
def masked_array():
    st = _st()
    st.compile(lambda x: st.sum(x))(np.ma.masked_array([1.0, 2.0], mask=[False, True]))


@case("call", TypeError)
def not_callable():
    _st().compile(42)(ones(2))


@case("call", ValueError, "backend")
def unknown_backend():
    _st().compile(lambda x: x, backend="gpu")


# ------------------------------------------------------------------------------------------ layout
# views, orders, read-only memory, in-place targets

def _sgd(w, g):
    st = _st()
    new = w - 0.5 * g
    st.assign(w, new)
    return st.sum(new)


@case("layout")
def transposed_view_input():
    st = _st()
    a = np.arange(6.).reshape(2, 3)
    close(st.compile(lambda x, y: x @ y)(a.T, a), a.T @ a)


@case("layout")
def fortran_order_input():
    st = _st()
    a = np.asfortranarray(np.arange(12.).reshape(3, 4))
    close(st.compile(lambda x: st.sum(x, axis=0))(a), a.sum(0))


@case("layout")
def negative_stride_input():
    st = _st()
    a = np.arange(5.)
    close(st.compile(lambda x: x * 2)(a[::-1]), a[::-1] * 2)


@case("layout")
def zero_stride_input():
    st = _st()
    a = np.broadcast_to(np.arange(3.), (4, 3))
    close(st.compile(lambda x: st.sum(x, axis=0))(a), [0, 4, 8])


@case("layout")
def read_only_input_is_read():
    st = _st()
    a = np.arange(4.)
    a.flags.writeable = False
    close(st.compile(lambda x: x + 1)(a), np.arange(4.) + 1)


@case("layout")
def misaligned_input():
    st = _st()
    a = np.arange(8.)
    un = np.ndarray(8, np.float64, buffer=bytearray(b"\0" + a.tobytes()), offset=1)
    assert not un.flags.aligned
    close(st.compile(lambda x: st.sum(x * 2))(un), 56.0)
    close(st.compile(lambda x: x * 2)(un), a * 2)


@case("layout")
def offset_view_input():
    st = _st()
    a = np.arange(10.)
    close(st.compile(lambda x: x * 2)(a[3:7]), a[3:7] * 2)


@case("layout")
def same_array_passed_twice():
    st = _st()
    a = np.arange(4.)
    close(st.compile(lambda x, y: x * y)(a, a), a * a)


@case("layout", ValueError, r"argument `w` is updated in place.*read-only")
def read_only_assign_target():
    w = ones(4)
    w.flags.writeable = False
    try:
        _st().compile(_sgd)(w, ones(4))
    finally:
        assert (w == 1).all()


@case("layout", ValueError, r"argument `w`.*read-only")
def frombuffer_bytes_assign_target():
    data = bytes(32)
    try:
        _st().compile(_sgd)(np.frombuffer(data, np.float64), ones(4))
    finally:
        assert data == bytes(32)


@case("layout", ValueError, r"argument `w`.*read-only")
def read_only_memmap_assign_target():
    import tempfile
    path = os.path.join(tempfile.mkdtemp(), "w.bin")
    ones(4).tofile(path)
    try:
        _st().compile(_sgd)(np.memmap(path, np.float64, mode="r", shape=(4,)), ones(4))
    finally:
        assert (np.fromfile(path) == 1).all()


@case("layout", ValueError, r"argument `w`.*not C-contiguous")
def strided_assign_target():
    base = ones(8)
    try:
        _st().compile(_sgd)(base[::2], ones(4))
    finally:
        assert (base == 1).all()


@case("layout", ValueError, r"argument `w`.*not C-contiguous")
def fortran_assign_target():
    st = _st()

    def f(w):
        new = w * 2
        st.assign(w, new)
        return st.sum(new)
    w = np.asfortranarray(ones(2, 3))
    try:
        st.compile(f)(w)
    finally:
        assert (w == 1).all()


@case("layout", ValueError, r"argument `w`.*NumPy scalar")
def numpy_scalar_assign_target():
    _st().compile(_sgd)(np.float64(1.0), np.float64(1.0))


@case("layout")
def zero_d_array_assign_target():
    w = np.array(1.0)
    _st().compile(_sgd)(w, np.array(1.0))
    assert w == 0.5


@case("layout")
def offset_view_assign_target_updates_only_its_part():
    big = ones(8)
    _st().compile(_sgd)(big[2:6], ones(4))
    close(big, [1, 1, .5, .5, .5, .5, 1, 1])


@case("layout")
def torch_tensor_assign_target():
    import torch
    t = torch.ones(4, dtype=torch.float64)
    _st().compile(_sgd)(t, torch.ones(4, dtype=torch.float64))
    assert t.tolist() == [0.5] * 4


@case("layout", ValueError, r"argument `w`.*not C-contiguous")
def torch_transposed_assign_target():
    import torch
    st = _st()

    def f(w):
        new = w * 2
        st.assign(w, new)
        return st.sum(new)
    t = torch.ones(2, 3, dtype=torch.float64)
    try:
        st.compile(f)(t.T)
    finally:
        assert (t == 1).all()


@case("layout", ValueError, r"argument `params\['0.weight'\]` is updated in place")
def train_step_with_a_read_only_parameter():
    st = _st()
    model = st.nn.Sequential(st.nn.Linear(3, 2))
    step = st.train_step(lambda x, y: st.mse_loss(model(x), y), model, st.optim.SGD(lr=0.1))
    model[0].weight.flags.writeable = False
    step(ones(4, 3, dtype=f32), np.zeros((4, 2), f32))


# ------------------------------------------------------------------------------------------ values
# NaN, inf, overflow: NumPy's answers

def _same_as_numpy(fn, npfn, *args, **kw):
    st = _st()
    with np.errstate(all="ignore"):
        close(st.compile(fn)(*args), npfn(*args), **kw)


@case("values")
def nan_through_tanh():
    st = _st()
    _same_as_numpy(lambda x: st.tanh(x), np.tanh, np.array([np.nan, 1.0, -np.inf, np.inf]))


@case("values")
def inf_through_exp():
    st = _st()
    _same_as_numpy(lambda x: st.exp(x), np.exp, np.array([np.inf, -np.inf, 800.0, np.nan]))


@case("values")
def float32_overflow():
    st = _st()
    _same_as_numpy(lambda x: x * x, lambda x: x * x, np.array([3e38, -3e38], f32))


@case("values")
def log_and_sqrt_of_negatives():
    st = _st()
    _same_as_numpy(lambda x: st.log(x) + st.sqrt(x), lambda x: np.log(x) + np.sqrt(x),
                   np.array([-1.0, 0.0, 4.0]))


@case("values")
def integer_division_by_zero():
    _same_as_numpy(lambda a, b: a // b, lambda a, b: np.floor_divide(a, b),
                   np.array([7, -7, 0], np.int64), np.array([0, 0, 0], np.int64))


@case("values")
def integer_overflow_wraps():
    _same_as_numpy(lambda a: a + 1, lambda a: a + 1, np.array([2**63 - 1], np.int64))


@case("values")
def nan_gradient_matches_the_interpreter():
    st = _st()
    f = st.grad(lambda x: st.sum(st.sqrt(x)))
    x = np.array([-1.0, 0.0, 4.0])
    with np.errstate(all="ignore"):
        close(st.compile(f)(x), st.compile(f, backend="interp")(x))


@case("values")
def cross_entropy_of_nan_logits():
    st = _st()
    z = np.array([[np.nan, 1.0], [0.0, 1.0]])
    out = st.compile(lambda z, y: st.nn.cross_entropy(z, y))(z, np.array([0, 1]))
    assert np.isnan(out)


@case("values")
def argmax_with_nan():
    st = _st()
    x = np.array([1.0, np.nan, 3.0])
    assert int(st.compile(lambda x: st.argmax(x))(x)) == int(np.argmax(x))


@case("values")
def max_of_minus_infinities():
    st = _st()
    assert st.compile(lambda x: st.max(x))(np.full(3, -np.inf)) == -np.inf


@case("values")
def softmax_of_huge_logits():
    st = _st()
    y = st.compile(lambda x: st.softmax(x, axis=-1))(np.array([1000.0, 0.0, -1000.0]))
    close(y, [1.0, 0.0, 0.0])


# ------------------------------------------------------------------------------------------ index
# out-of-range and negative indices

@case("index", IndexError, "out of bounds")
def runtime_index_too_large():
    st = _st()
    st.compile(lambda x, i: x[i])(np.arange(5.), np.int64(5))


@case("index", IndexError)
def runtime_negative_index_too_small():
    st = _st()
    st.compile(lambda x, i: x[i])(np.arange(5.), np.int64(-6))


@case("index")
def runtime_negative_index_in_range():
    st = _st()
    assert st.compile(lambda x, i: x[i])(np.arange(5.), np.int64(-2)) == 3.0


@case("index", IndexError, "take")
def take_out_of_range():
    st = _st()
    st.compile(lambda e, i: st.take(e, i, axis=0))(ones(4, 2), np.array([1, 4]))


@case("index")
def take_negative_indices_like_numpy():
    st = _st()
    e = np.arange(8.).reshape(4, 2)
    i = np.array([-1, 0])
    close(st.compile(lambda e, i: st.take(e, i, axis=0))(e, i), np.take(e, i, axis=0))


@case("index", IndexError, "cross_entropy")
def cross_entropy_target_too_large():
    st = _st()
    st.compile(lambda z, y: st.nn.cross_entropy(z, y))(np.zeros((2, 3)), np.array([0, 3]))


@case("index", IndexError)
def cross_entropy_negative_target():
    st = _st()
    st.compile(lambda z, y: st.nn.cross_entropy(z, y))(np.zeros((2, 3)), np.array([0, -2]))


@case("index", IndexError)
def scatter_add_out_of_range():
    st = _st()
    st.compile(lambda i, v: st.scatter_add(st.zeros((3,), "float64"), i, v))(
        np.array([0, 5]), ones(2))


@case("index", IndexError)
def embedding_token_out_of_range():
    st = _st()
    emb = st.nn.Embedding(5, 2)
    st.eval_step(lambda t: emb(t), emb)(np.array([1, 7]))


@case("index", IndexError)
def index_out_of_range_inside_a_loop_under_grad():
    st = _st()

    def f(x, idx, n):
        return st.sum(st.fori_loop(0, n, lambda i, c: c * x[idx[i]], x))
    st.compile(st.grad(f))(ones(3), np.array([0, 1, 7]), np.int64(3))


@case("index")
def library_is_usable_after_an_index_error():
    st = _st()

    def f(x, idx, n):
        return st.sum(st.fori_loop(0, n, lambda i, c: c * x[idx[i]], x))
    g = st.compile(st.grad(f))
    try:
        g(ones(3) * 2, np.array([0, 1, 7]), np.int64(3))
    except IndexError:
        pass
    x = np.array([1.0, 2.0, 3.0])
    close(g(x, np.array([0, 1, 2]), np.int64(3)), st.compile(st.grad(f), backend="interp")(
        x, np.array([0, 1, 2]), np.int64(3)))


@case("index", IndexError)
def static_index_out_of_range():
    st = _st()
    st.compile(lambda x: x[7])(ones(3))


@case("index")
def static_slice_beyond_bounds_clamps():
    st = _st()
    close(st.compile(lambda x: x[2:100] * 1.0)(np.arange(5.)), [2, 3, 4])


@case("index", IndexError)
def tree_child_index_out_of_range():
    st = _st()

    @st.function
    def node(i, left, feat):
        return st.cond(left[i] < 0, lambda: feat[i], lambda: node(left[i], left, feat) * 2)
    st.compile(lambda left, feat, r: node(r, left, feat))(np.array([-1, 9]), ones(2), np.int64(1))


# ------------------------------------------------------------------------------------------ empty
# 0-size arrays

@case("empty")
def sum_of_empty():
    st = _st()
    assert st.compile(lambda x: st.sum(x))(np.zeros(0)) == 0.0


@case("empty")
def mean_of_empty_is_nan():
    st = _st()
    with np.errstate(all="ignore"):
        assert np.isnan(st.compile(lambda x: st.mean(x))(np.zeros(0)))


@case("empty", ValueError)
def max_of_empty():
    st = _st()
    st.compile(lambda x: st.max(x))(np.zeros(0))


@case("empty", ValueError)
def argmax_of_empty():
    st = _st()
    st.compile(lambda x: st.argmax(x))(np.zeros(0))


@case("empty", ValueError)
def logsumexp_of_empty():
    st = _st()
    st.compile(lambda x: st.logsumexp(x))(np.zeros(0))


@case("empty")
def matmul_with_empty_inner_dimension():
    st = _st()
    close(st.compile(lambda a, b: a @ b)(np.zeros((2, 0)), np.zeros((0, 3))), np.zeros((2, 3)))


@case("empty")
def elementwise_on_empty():
    st = _st()
    assert st.compile(lambda x: st.tanh(x) * 2)(np.zeros((0, 4))).shape == (0, 4)


@case("empty")
def fori_loop_of_zero_iterations():
    st = _st()
    close(st.compile(lambda x, n: st.fori_loop(0, n, lambda i, c: c * 2, x))(ones(2), np.int64(0)),
          [1, 1])


@case("empty")
def fori_loop_with_upper_below_lower_under_grad():
    st = _st()
    f = st.grad(lambda x, n: st.sum(st.fori_loop(5, n, lambda i, c: c * 2, x)))
    close(st.compile(f)(ones(2), np.int64(-3)), [1, 1])


@case("empty")
def while_loop_never_entered():
    st = _st()
    f = st.compile(lambda x: st.while_loop(lambda c: st.sum(c) < 0, lambda c: c * 2, x))
    close(f(ones(2)), [1, 1])


@case("empty")
def concatenate_with_empty():
    st = _st()
    close(st.compile(lambda a, b: st.concatenate([a, b]))(np.zeros(0), ones(2)), [1, 1])


@case("empty")
def empty_assign_target():
    w = np.zeros(0)
    _st().compile(_sgd)(w, np.zeros(0))


@case("empty")
def empty_batch_through_a_linear_layer():
    st = _st()
    lin = st.nn.Linear(3, 2)
    assert st.eval_step(lambda x: lin(x), lin)(np.zeros((0, 3), f32)).shape == (0, 2)


@case("empty")
def empty_batch_convolution():
    st = _st()
    conv = st.nn.Conv2d(1, 2, 3)
    assert st.eval_step(lambda x: conv(x), conv)(np.zeros((0, 1, 5, 5), f32)).shape == (0, 2, 3, 3)


# ------------------------------------------------------------------------------------------ huge
# shapes whose size overflows or exceeds memory

def _stage_type_error():
    from stage import StageTypeError
    return StageTypeError


HUGE = (ValueError, MemoryError, OverflowError, _stage_type_error())


@case("huge", HUGE)
def zeros_whose_byte_size_overflows_int64():
    st = _st()
    st.compile(lambda x: st.sum(st.zeros((2**40, 2**40), "float64")) + x)(np.float64(0))


@case("huge", HUGE)
def broadcast_to_an_overflowing_shape():
    st = _st()
    st.compile(lambda x: st.broadcast_to(x, (2**62, 4)))(ones(4))


@case("huge", MemoryError)
def output_larger_than_memory():
    st = _st()
    st.compile(lambda x: st.broadcast_to(x, (10**6, 10**6)) * 2)(np.float64(1.0))


@case("huge", MemoryError)
def intermediate_larger_than_memory():
    st = _st()                               # a 16 TB product feeding a matmul (never fused away)
    st.compile(lambda x: st.sum((x[:, None] * x[None, :]) @ x))(np.zeros(2 * 10**6))


@case("huge", (ValueError, TypeError))
def negative_dimension():
    st = _st()
    st.compile(lambda x: st.zeros((-1, 3), "float64") + x)(np.float64(0))


@case("huge", (ValueError, TypeError))
def fractional_dimension():
    st = _st()
    st.compile(lambda x: st.zeros((2.5,), "float64") + x)(np.float64(0))


@case("huge", (ValueError, Exception))
def reshape_to_a_wrong_size():
    st = _st()
    st.compile(lambda x: st.reshape(x, (4, 4)))(ones(10))


# ------------------------------------------------------------------------------------------ staging
# staged values used where they cannot be, Python recursion, deep programs

_LEAKED = []


@case("staging", Exception, r"(stag|scope|trace|used before its definition)")
def leaked_staged_value_used_in_another_compile():
    st = _st()

    def keep(x):
        _LEAKED.append(x * 2)
        return x + 1
    st.compile(keep)(ones(2))
    st.compile(lambda y: y + _LEAKED[-1])(ones(2))


@case("staging", Exception)
def leaked_staged_value_used_outside_staging():
    st = _st()
    st.compile(lambda x: _LEAKED.append(x) or x)(ones(2))
    np.asarray(_LEAKED[-1]) + 1


@case("staging", Exception, "st.cond")
def staged_value_as_python_bool():
    st = _st()

    def f(x):
        return x if bool(st.sum(x) > 0) else -x
    st.compile(f)(ones(2))


@case("staging", Exception)
def staged_value_as_python_float():
    st = _st()
    st.compile(lambda x: float(st.sum(x)))(ones(2))


@case("staging", Exception)
def staged_value_as_list_index():
    st = _st()
    st.compile(lambda x, i: [1.0, 2.0][i] * x)(ones(2), np.int64(0))


@case("staging", RecursionError)
def unbounded_python_recursion_while_staging():
    st = _st()

    def f(x):
        return f(x * 1.0)
    st.compile(f)(ones(2))


@case("staging")
def ten_thousand_chained_ops():
    st = _st()

    def f(x):
        for _ in range(10_000):
            x = x * 1.0001
        return x
    close(st.compile(f)(ones(1)), [1.0001 ** 10_000], rtol=1e-9)


@case("staging", Exception, "scalar")
def grad_of_a_non_scalar():
    st = _st()
    st.compile(st.grad(lambda x: x * 2))(ones(3))


@case("staging", Exception)
def grad_with_argnums_out_of_range():
    st = _st()
    st.compile(st.grad(lambda x: st.sum(x), argnums=3))(ones(3))


@case("staging", Exception)
def assign_to_an_intermediate():
    st = _st()

    def f(x):
        y = x * 2
        st.assign(y, y + 1)
        return st.sum(x)
    st.compile(f)(ones(2))


@case("staging", Exception)
def assign_with_a_wrong_shape():
    st = _st()

    def f(w):
        st.assign(w, st.zeros((3,), "float64"))
        return 0.0
    st.compile(f)(ones(2))


@case("staging")
def assign_inside_a_branch():
    st = _st()

    def f(w, p):
        st.cond(p, lambda: st.assign(w, w * 2), lambda: None)
        return 0.0
    w = ones(2)
    g = st.compile(f)
    g(w, np.array(True))
    g(w, np.array(False))
    close(w, [2, 2])


@case("staging", Exception)
def cond_branches_of_different_types():
    st = _st()
    st.compile(lambda x, p: st.cond(p, lambda: x, lambda: x[0]))(ones(2), np.array(True))


@case("staging")
def function_returning_none():
    st = _st()
    assert st.compile(lambda x: None)(ones(2)) is None


# ------------------------------------------------------------------------------------------ threads

def _in_threads(fn, n=6):
    errors, results = [], [None] * n

    def run(k):
        try:
            results[k] = fn(k)
        except BaseException as e:       # noqa: BLE001 (reported to the case)
            errors.append(e)
    ts = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    if errors:
        raise errors[0]
    return results


@case("threads")
def threads_call_one_compiled_function():
    st = _st()
    f = st.compile(lambda x, w: st.tanh(x @ w))
    w = np.eye(3) * 0.5
    f(ones(2, 3), w)
    out = _in_threads(lambda k: [f(np.full((2, 3), float(k)), w) for _ in range(200)][-1])
    for k, y in enumerate(out):
        close(y, np.tanh(np.full((2, 3), k * 0.5)))


@case("threads")
def threads_make_the_first_call_together():
    st = _st()
    f = st.compile(lambda x: st.sum(st.exp(x)) * 3.25)
    out = _in_threads(lambda k: f(np.full(4, float(k))))
    for k, y in enumerate(out):
        close(y, 4 * np.exp(k) * 3.25)
    assert f.num_specializations == 1


@case("threads")
def threads_stage_different_signatures():
    st = _st()
    f = st.compile(lambda x: st.sum(x * x))
    out = _in_threads(lambda k: f(np.ones(k + 1)))
    assert [float(y) for y in out] == [k + 1.0 for k in range(6)]


@case("threads")
def threads_run_recursive_programs():
    st = _st()

    def loss(x, n):
        return st.sum(st.fori_loop(0, n, lambda i, c: st.tanh(c * 1.01), x))
    g = st.compile(st.grad(loss))
    ref = st.compile(st.grad(loss), backend="interp")(ones(3), np.int64(50))
    out = _in_threads(lambda k: [g(ones(3), np.int64(50)) for _ in range(30)][-1])
    for y in out:
        close(y, ref, rtol=1e-12)


@case("threads", IndexError)
def an_error_in_one_thread_does_not_leak_into_another():
    st = _st()
    f = st.compile(lambda x, i: x[i])
    x = np.arange(4.)
    out = _in_threads(lambda k: f(x, np.int64(k % 4)), n=4)
    assert [float(y) for y in out] == [0, 1, 2, 3]
    f(x, np.int64(9))


# ------------------------------------------------------------------------------------------ depth
# run with STAGE_STACK_MB=32 (GROUP_ENV): deep recursion ends in RecursionError

@case("depth", RecursionError, "STAGE_STACK_MB")
def loop_under_grad_deeper_than_the_stack():
    st = _st()
    st.compile(st.grad(lambda x, n: st.sum(st.fori_loop(0, n, lambda i, c: st.tanh(c), x))))(
        ones(2), np.int64(10**8))


@case("depth", RecursionError, "STAGE_STACK_MB")
def cyclic_tree_recursion():
    st = _st()

    @st.function
    def node(i, left, feat):
        return st.cond(left[i] < 0, lambda: feat[i], lambda: node(left[i], left, feat) * 2)
    st.compile(lambda left, feat, r: node(r, left, feat))(np.array([1, 0]), ones(2), np.int64(0))


@case("depth")
def deep_but_fitting_recursion_then_usable():
    st = _st()
    g = st.compile(st.grad(lambda x, n: st.sum(st.fori_loop(0, n, lambda i, c: c * 0.5, x))))
    try:
        g(ones(2), np.int64(10**8))
    except RecursionError:
        pass
    close(g(ones(2), np.int64(3)), [0.125, 0.125])


# ------------------------------------------------------------------------------------------ compiler
# the compiler missing, failing, hanging or lying; bad configuration

def _fake_cxx(body):
    import tempfile
    d = tempfile.mkdtemp()
    p = os.path.join(d, "fake-cxx")
    with open(p, "w") as f:
        f.write('#!/bin/sh\nif [ "$1" = --version ]; then echo fake 1; exit 0; fi\n' + body)
    os.chmod(p, 0o755)
    return p


class _env:
    def __init__(self, **kv):
        self.kv = kv

    def __enter__(self):
        self.old = {k: os.environ.get(k) for k in self.kv}
        os.environ.update(self.kv)

    def __exit__(self, *a):
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _compile_fresh(c):
    """Compile something never built before (c makes the source unique)."""
    st = _st()
    return st.compile(lambda x: x * c + 0.125)(ones(2))


@case("compiler", Exception, "no C.. compiler found")
def missing_compiler():
    with _env(STAGE_CXX="no-such-compiler-anywhere"):
        _compile_fresh(101.0)


@case("compiler", Exception, "fake: cannot compile")
def failing_compiler():
    with _env(STAGE_CXX=_fake_cxx("echo 'fake: cannot compile' >&2; exit 1\n")):
        _compile_fresh(102.0)


@case("compiler", Exception, "did not finish within")
def hanging_compiler():
    with _env(STAGE_CXX=_fake_cxx("exec sleep 600\n"), STAGE_COMPILE_TIMEOUT="1"):
        _compile_fresh(103.0)


@case("compiler", Exception, "no library|not a shared library")
def compiler_that_succeeds_without_output():
    with _env(STAGE_CXX=_fake_cxx("exit 0\n")):
        _compile_fresh(104.0)


@case("compiler", Exception, "not a shared library")
def compiler_that_writes_garbage():
    script = ('out=""; prev=""; for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done\n'
              'echo garbage > "$out"\n')
    with _env(STAGE_CXX=_fake_cxx(script)):
        _compile_fresh(105.0)


@case("compiler", Exception, "stage_entry|load")
def compiler_that_writes_an_unrelated_library():
    lib = "/lib/x86_64-linux-gnu/libm.so.6"
    script = ('out=""; prev=""; for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done\n'
              f'cp {lib} "$out"\n')
    with _env(STAGE_CXX=_fake_cxx(script)):
        _compile_fresh(106.0)


@case("compiler", Exception, "no-such-flag")
def bad_compiler_flags():
    with _env(STAGE_CXXFLAGS="-fno-such-flag"):
        _compile_fresh(107.0)


@case("compiler", ValueError, "STAGE_COMPILE_TIMEOUT")
def bad_compile_timeout():
    with _env(STAGE_COMPILE_TIMEOUT="soon"):
        _compile_fresh(108.0)


@case("compiler", ValueError, "STAGE_SANITIZE")
def bad_sanitizer_name():
    with _env(STAGE_SANITIZE="memory-safety"):
        _compile_fresh(109.0)


@case("compiler", ValueError, "STAGE_NUM_THREADS")
def bad_thread_count():
    from stage import threads
    with _env(STAGE_NUM_THREADS="many"):
        threads._chosen = None
        threads.apply_default()


@case("compiler", ValueError, "backend")
def bad_backend_variable():
    with _env(STAGE_BACKEND="fpga"):
        _st().compile(lambda x: x)


@case("compiler", OSError)
def cache_dir_is_a_file():
    import tempfile
    fd, path = tempfile.mkstemp()
    os.close(fd)
    with _env(STAGE_CACHE_DIR=path):
        _compile_fresh(110.0)


@case("compiler", ValueError, "STAGE_STACK_MB")
def bad_stack_size():
    st = _st()
    with _env(STAGE_STACK_MB="lots"):
        st.compile(st.grad(lambda x, n: st.sum(st.fori_loop(0, n, lambda i, c: c * 2.0, x))))(
            ones(2), np.int64(2))


# ------------------------------------------------------------------------------------------ cache
# what a damaged cache holds is rebuilt, never loaded

def _cached_library(c):
    """Build (and load) a fresh function; return its cached library's path and a fresh compile of
    the same source that will look the library up again."""
    st = _st()
    from stage.codegen.build import generate
    from stage.codegen import compiler
    from stage.program import trace
    src = generate(trace(lambda x: x * c - 0.25, (ones(2),)))[1]
    return compiler.build(src), src


def _rebuilt_after(damage, c):
    from stage.codegen import cache, compiler
    so, src = _cached_library(c)
    damage(so)
    before = compiler.BUILDS["count"]
    again = compiler.build(src)
    assert again == so and cache.verified(so, so.stem)
    assert compiler.BUILDS["count"] == before + 1, "not rebuilt"


@case("cache")
def truncated_library():
    _rebuilt_after(lambda so: os.truncate(so, os.path.getsize(so) // 2), 201.0)


@case("cache")
def empty_library():
    _rebuilt_after(lambda so: open(so, "wb").close(), 202.0)


@case("cache")
def garbage_library():
    _rebuilt_after(lambda so: open(so, "wb").write(os.urandom(4096)), 203.0)


@case("cache")
def foreign_library():
    other, _ = _cached_library(299.0)
    _rebuilt_after(lambda so: open(so, "wb").write(open(other, "rb").read()), 204.0)


@case("cache")
def garbage_sidecar():
    from stage.codegen import cache
    _rebuilt_after(lambda so: cache.sidecar(so).write_text("nonsense"), 205.0)


@case("cache")
def missing_sidecar():
    from stage.codegen import cache
    _rebuilt_after(lambda so: cache.sidecar(so).unlink(), 206.0)


@case("cache")
def stale_lock_file_of_a_killed_process():
    _rebuilt_after(lambda so: (so.with_suffix(".lock").write_text(""), so.unlink()), 207.0)


@case("cache")
def stale_temporary_of_a_killed_build():
    def damage(so):
        (so.parent / f"{so.stem}.killed.so.tmp").write_bytes(b"half")
        so.unlink()
    _rebuilt_after(damage, 208.0)
    from stage.codegen import cache
    assert not list(cache.cache_dir().rglob("*.killed.so.tmp"))


@case("cache", OSError)
def library_path_taken_by_a_directory():
    import shutil
    so, src = _cached_library(209.0)
    os.unlink(so)
    os.mkdir(so)
    from stage.codegen import compiler
    try:
        compiler.build(src)
    finally:
        shutil.rmtree(so, ignore_errors=True)


@case("cache")
def garbage_compiler_version_memo():
    from stage.codegen import cache, compiler
    for p in cache.cache_dir().glob("compiler-*.txt"):
        p.write_text("\0garbage")
    compiler.compiler_version.cache_clear()
    _compile_fresh(210.0)


# ------------------------------------------------------------------------------------------ runner

def run_group(group):
    """Run one group's cases in this process: a JSON line per case ("start" first, flushed, so a
    crash names the case that was running)."""
    for name, fn, expect, match in CASES[group]:
        print(json.dumps({"start": name}), flush=True)
        try:
            fn()
            res = {"case": name, "outcome": "ok"}
        except BaseException as e:              # noqa: BLE001 (recorded, judged by the test)
            res = {"case": name, "outcome": "raised", "type": type(e).__name__,
                   "mro": [c.__name__ for c in type(e).__mro__], "message": str(e)[:2000],
                   "trace": traceback.format_exc()[-3000:]}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    run_group(sys.argv[1])
