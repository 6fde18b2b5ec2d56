"""The user-facing cases of NumPy's vocabulary (issue 13): each function on fixed inputs next to the
NumPy expression it must agree with (values and dtypes on both backends, gradients by finite
differences). `optest_numpy.user_cases` groups them by family, one native build each; the shape,
creation, selection and linear-algebra ones are in `optest_numpy_arrays`."""
from __future__ import annotations

import numpy as np

import stage as st


def ufunc_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1313)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((3, 4)) * 3
    x32 = x.astype(np.float32)
    i32 = rng.integers(-40, 41, (3, 4)).astype(np.int32)
    i64 = rng.integers(-40, 41, (7,))
    big = np.array([800.0, -800.0, 1e-3, 30.0, -30.0])
    inf = np.array([np.inf, -np.inf, np.inf, -np.inf, 2.0, np.nan])
    inf2 = np.array([np.inf, -np.inf, -np.inf, 1.0, np.inf, 0.0])
    halves = np.array([0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 1234.5678, -0.05, 2.675])
    steps = np.array([-1.0, 0.0, 2.0, -0.0, 0.0])
    bad = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 3.0])
    return [
        U("logaddexp", st.logaddexp, np.logaddexp, (x, y)),
        U("logaddexp_broadcast_f32", st.logaddexp, np.logaddexp, (x32, x32[0] * 2)),
        U("logaddexp_large", st.logaddexp, np.logaddexp, (big, big[::-1] * 0.5)),
        U("logaddexp_ties", lambda a: st.logaddexp(a, a), lambda a: np.logaddexp(a, a), (x,)),
        U("logaddexp_infinities", st.logaddexp, np.logaddexp, (inf, inf2), grad=False),
        U("logaddexp_weak_scalar", lambda a: st.logaddexp(a, 0.0),
          lambda a: np.logaddexp(a, np.float32(0)), (x32,)),
        U("logaddexp2", st.logaddexp2, np.logaddexp2, (x, y)),
        U("logaddexp2_infinities", st.logaddexp2, np.logaddexp2, (inf, inf2), grad=False),
        U("round_default", st.round, np.round, (halves,), grad=False),    # (at the jumps)
        U("round_decimals", lambda a: st.round(a, 2), lambda a: np.round(a, 2), (halves,),
          grad=False),
        U("round_negative_decimals", lambda a: st.round(a, -1), lambda a: np.round(a, -1),
          (halves * 100,), grad=False),
        U("round_grad_is_zero", lambda a: st.round(a, 1) + a, lambda a: np.round(a, 1) + a, (x,)),
        U("round_f32", lambda a: st.around(a, 1), lambda a: np.around(a, 1), (x32 * 10,)),
        U("round_int_kept", lambda a: st.round(a, 1), lambda a: np.round(a, 1), (i32,)),
        U("round_int_negative", lambda a: st.round(a, -1), lambda a: np.round(a, -1), (i64,)),
        U("rint_int", st.rint, np.rint, (i64,)),
        U("floor_int_kept", st.floor, np.floor, (i32,)),
        U("ceil_int_kept", st.ceil, np.ceil, (i64,)),
        U("fix", st.fix, np.fix, (x * 3,)),
        U("fabs", st.fabs, np.fabs, (x,)),
        U("fabs_int", st.fabs, np.fabs, (i32,)),
        U("reciprocal", st.reciprocal, np.reciprocal, (x + 3,)),
        U("reciprocal_int", st.reciprocal, lambda a: np.reciprocal(np.where(a == 0, 7, a)),
          (np.array([-2, -1, 1, 2, 3, 7]),)),
        U("degrees", st.degrees, np.degrees, (x,)),
        U("rad2deg_f32", st.rad2deg, np.rad2deg, (x32,)),
        U("radians", st.radians, np.radians, (y * 60,)),
        U("deg2rad", st.deg2rad, np.deg2rad, (y * 60,)),
        U("heaviside", st.heaviside, np.heaviside, (np.array([-1.0, 0.0, 2.0, np.nan, 0.0]),
                                                    np.array([0.3, 0.5, 0.7, 0.1, -2.0])),
          grad=False),
        U("heaviside_grad_of_y", lambda b: st.heaviside(steps, b),     # flows where x == 0
          lambda b: np.heaviside(steps, b), (np.array([0.3, 0.5, 0.7, 0.1, -2.0]),)),
        U("heaviside_scalar", lambda a: st.heaviside(a, 0.5), lambda a: np.heaviside(a, 0.5),
          (np.round(x),), grad=False),
        U("nan_to_num", st.nan_to_num, np.nan_to_num, (bad,), grad=False),
        U("nan_to_num_f32", st.nan_to_num, np.nan_to_num, (bad.astype(np.float32),)),
        U("nan_to_num_values", lambda a: st.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0),
          lambda a: np.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0), (bad,), grad=False),
        U("nan_to_num_grad", lambda a: st.nan_to_num(a * a), lambda a: np.nan_to_num(a * a), (x,)),
        U("nan_to_num_int", st.nan_to_num, np.nan_to_num, (i64,)),
        U("absolute", st.absolute, np.absolute, (x + 0.05,)),
        U("true_divide", st.true_divide, np.true_divide, (x, y + 10)),
        U("remainder", st.remainder, np.remainder, (x * 5, np.float64(1.5))),
        U("pow", st.pow, np.pow, (np.abs(x) + 0.5, y)),
        U("positive", st.positive, np.positive, (x,)),
        U("exact_gelu", lambda a: a * 0.5 * (1 + st.erf(a / np.sqrt(2.0))),
          lambda a: a * 0.5 * (1 + np.vectorize(__import__("math").erf)(a / np.sqrt(2.0))), (x,)),
        U("isnan_weak", lambda a: st.isnan(a * 0.0), lambda a: np.isnan(a * 0.0), (bad,),
          grad=False),
    ]


def reduction_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1414)
    x = rng.standard_normal((3, 4))
    z = rng.standard_normal((2, 3, 4))
    x32 = x.astype(np.float32)
    i32 = rng.integers(-5, 6, (3, 4)).astype(np.int32)
    zeros = np.array([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [0.5, 2.0, -1.0]])
    mask = x > -0.3
    nan = np.array([[1.0, np.nan, 2.0], [0.5, 1.5, -1.0]])
    odd = rng.standard_normal((3, 5))
    w = rng.random(4) + 0.5
    return [
        U("sum_dtype_f64", lambda a: st.sum(a, 1, dtype=np.float64),
          lambda a: np.sum(a, 1, dtype=np.float64), (x32,)),
        U("sum_dtype_int32", lambda a: st.sum(a, 0, dtype="int32"),
          lambda a: np.sum(a, 0, dtype=np.int32), (i32,)),
        U("sum_initial", lambda a: st.sum(a, axis=0, initial=2.5),
          lambda a: np.sum(a, axis=0, initial=2.5), (x,)),
        U("sum_where", lambda a, m: st.sum(a, axis=1, where=m),
          lambda a, m: np.sum(a, axis=1, where=m), (x, mask)),
        U("prod_all", st.prod, np.prod, (x,)),
        U("prod_zeros_axis0", lambda a: st.prod(a, 0), lambda a: np.prod(a, 0), (zeros,)),
        U("prod_zeros_keepdims", lambda a: st.prod(a, 1, keepdims=True),
          lambda a: np.prod(a, 1, keepdims=True), (zeros,)),
        U("prod_int32", lambda a: st.prod(a, 1), lambda a: np.prod(a, 1), (i32,)),
        U("prod_initial_where", lambda a, m: st.prod(a, axis=0, initial=2.0, where=m),
          lambda a, m: np.prod(a, axis=0, initial=2.0, where=m), (x, mask)),
        U("max_initial", lambda a: st.max(a, axis=1, initial=0.5),
          lambda a: np.max(a, axis=1, initial=0.5), (x,)),
        U("min_where", lambda a, m: st.min(a, axis=0, initial=9.0, where=m),
          lambda a, m: np.min(a, axis=0, initial=9.0, where=m), (x, mask)),
        U("amax_empty_initial", lambda a: st.amax(a[:0], axis=0, initial=-1.0),
          lambda a: np.amax(a[:0], axis=0, initial=-1.0), (x,)),
        U("amin_keepdims", lambda a: st.amin(a, (0, 2), keepdims=True),
          lambda a: np.amin(a, (0, 2), keepdims=True), (z,)),
        U("mean_dtype", lambda a: st.mean(a, 0, dtype="float64"),
          lambda a: np.mean(a, 0, dtype=np.float64), (x32,)),
        U("mean_where", lambda a, m: st.mean(a, 1, where=m), lambda a, m: np.mean(a, 1, where=m),
          (x, mask)),
        U("var_ddof1", lambda a: st.var(a, 1, ddof=1), lambda a: np.var(a, 1, ddof=1), (x,)),
        U("var_correction", lambda a: st.var(a, correction=1), lambda a: np.var(a, correction=1),
          (z,)),
        U("std_all", st.std, np.std, (x,)),
        U("std_axis_keepdims", lambda a: st.std(a, (0, 1), keepdims=True),
          lambda a: np.std(a, (0, 1), keepdims=True), (z,)),
        U("std_ddof_f32", lambda a: st.std(a, 0, ddof=1), lambda a: np.std(a, 0, ddof=1), (x32,)),
        U("argmin_all", st.argmin, np.argmin, (x,)),
        U("argmin_axis", lambda a: st.argmin(a, -1), lambda a: np.argmin(a, -1), (z,)),
        U("argmax_keepdims", lambda a: st.argmax(a, 1, keepdims=True),
          lambda a: np.argmax(a, 1, keepdims=True), (z,)),
        U("argmin_keepdims_none", lambda a: st.argmin(a, keepdims=True),
          lambda a: np.argmin(a, keepdims=True), (x,)),
        U("all", lambda a: st.all(a > -2), lambda a: np.all(a > -2), (x,), grad=False),
        U("any_axis", lambda a: st.any(a > 1, axis=0), lambda a: np.any(a > 1, axis=0), (x,),
          grad=False),
        U("any_keepdims_ints", lambda a: st.any(a, axis=1, keepdims=True),
          lambda a: np.any(a, axis=1, keepdims=True), (i32,)),
        U("all_floats", lambda a: st.all(a, axis=0), lambda a: np.all(a, axis=0), (zeros,),
          grad=False),
        U("count_nonzero", lambda a: st.count_nonzero(a, axis=0),
          lambda a: np.count_nonzero(a, axis=0), (zeros,), grad=False),
        U("ptp", lambda a: st.ptp(a, axis=1), lambda a: np.ptp(a, axis=1), (x,)),
        U("ptp_all_int", st.ptp, np.ptp, (i32,)),
        U("average_weights", lambda a: st.average(a, 1, weights=w),
          lambda a: np.average(a, 1, weights=w), (x,)),
        U("average_weights_full", lambda a, v: st.average(a, weights=v),
          lambda a, v: np.average(a, weights=v), (x, np.abs(x) + 0.5)),
        U("average_returned", lambda a: st.stack(st.average(a, 0, returned=True)),
          lambda a: np.stack(np.average(a, 0, returned=True)), (x,)),
        U("median_all_even", st.median, np.median, (x,)),
        U("median_axis_odd", lambda a: st.median(a, 1), lambda a: np.median(a, 1), (odd,)),
        U("median_axes_keepdims", lambda a: st.median(a, (0, 2), keepdims=True),
          lambda a: np.median(a, (0, 2), keepdims=True), (z,)),
        U("median_nan", lambda a: st.median(a, 1), lambda a: np.median(a, 1), (nan,), grad=False),
        U("median_int", lambda a: st.median(a, 0), lambda a: np.median(a, 0), (i32,)),
        U("quantile", lambda a: st.quantile(a, 0.3, axis=1), lambda a: np.quantile(a, 0.3, axis=1),
          (odd,)),
        U("quantile_many", lambda a: st.quantile(a, [0.0, 0.25, 0.5, 0.9, 1.0]),
          lambda a: np.quantile(a, [0.0, 0.25, 0.5, 0.9, 1.0]), (x,)),
        U("percentile_keepdims", lambda a: st.percentile(a, [10, 75], axis=0, keepdims=True),
          lambda a: np.percentile(a, [10, 75], axis=0, keepdims=True), (z,)),
        U("trace", st.trace, np.trace, (x,)),
        U("trace_offset_axes", lambda a: st.trace(a, 1, 0, 2), lambda a: np.trace(a, 1, 0, 2), (z,)),
        U("trace_int", lambda a: st.trace(a, -1), lambda a: np.trace(a, -1), (i32,)),
        U("diagonal", lambda a: st.diagonal(a, -1), lambda a: np.diagonal(a, -1), (x,)),
        U("diagonal_axes", lambda a: st.diagonal(a, 1, 2, 0), lambda a: np.diagonal(a, 1, 2, 0),
          (z,)),
    ] + _nan_user_cases(U, nan, x32, i32)


def _nan_user_cases(U, nan, x32, i32):
    """NumPy's NaN-ignoring reductions (gradients where no slice is all NaN) and their dispatch."""
    allnan = np.array([[np.nan, np.nan], [1.0, np.nan]])
    nan32 = np.where(x32 > 0.8, np.float32(np.nan), x32)
    with np.errstate(all="ignore"):
        return [
            U("nansum_nanprod", lambda a: st.stack([st.nansum(a, 1), st.nanprod(a, 1)]),
              lambda a: np.stack([np.nansum(a, 1), np.nanprod(a, 1)]), (nan,)),
            U("nanmax_nanmin", lambda a: st.stack([st.nanmax(a, 0), st.nanmin(a, 0)]),
              lambda a: np.stack([np.nanmax(a, 0), np.nanmin(a, 0)]), (nan,)),
            U("nanmean_nanvar_nanstd", lambda a: st.stack([st.nanmean(a, 1), st.nanvar(a, 1, ddof=1),
                                                           st.nanstd(a, 1)]),
              lambda a: np.stack([np.nanmean(a, 1), np.nanvar(a, 1, ddof=1), np.nanstd(a, 1)]),
              (nan,)),
            U("nancumsum_nancumprod", lambda a: st.stack([st.nancumsum(a, 1), st.nancumprod(a, 1)]),
              lambda a: np.stack([np.nancumsum(a, 1), np.nancumprod(a, 1)]), (nan,)),
            U("nan_keepdims_f32", lambda a: st.nanmean(a, 0, keepdims=True) + st.nanmax(a),
              lambda a: np.nanmean(a, 0, keepdims=True) + np.nanmax(a), (nan32,)),
            U("nan_all_nan_slices", lambda a: st.stack([st.nanmax(a, 1), st.nanmean(a, 1),
                                                        st.nanvar(a, 1), st.nansum(a, 1)]),
              lambda a: np.stack([np.nanmax(a, 1), np.nanmean(a, 1), np.nanvar(a, 1),
                                  np.nansum(a, 1)]), (allnan,), grad=False),
            U("nan_ints", lambda a: st.stack([st.nansum(a, 0), st.nanmax(a, 0)]),
              lambda a: np.stack([np.nansum(a, 0), np.nanmax(a, 0)]), (i32,)),
            U("nan_numpy_dispatch", lambda a: np.nanmean(a, 1) + np.nanstd(a, 1),
              lambda a: np.nanmean(a, 1) + np.nanstd(a, 1), (nan,)),
        ]


def scan_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1515)
    x = rng.standard_normal((3, 4))
    z = rng.standard_normal((2, 3, 4))
    i32 = rng.integers(-3, 4, (3, 4)).astype(np.int32)
    zeros = np.array([[1.5, 0.0, -2.0, 0.0], [0.0, 0.5, 3.0, 1.0], [0.5, 2.0, -1.0, 0.0]])
    idx = np.array([[2, 0, 1, 2]])
    return [
        U("cumsum_flat", st.cumsum, np.cumsum, (x,)),
        U("cumsum_axis_dtype", lambda a: st.cumsum(a, 1, dtype="int32"),
          lambda a: np.cumsum(a, 1, dtype=np.int32), (i32,)),
        U("cumprod_zeros", lambda a: st.cumprod(a, 1), lambda a: np.cumprod(a, 1), (zeros,)),
        U("cumprod_flat_zeros", st.cumprod, np.cumprod, (zeros,)),
        U("cumulative_sum", lambda a: st.cumulative_sum(a, axis=0),
          lambda a: np.cumulative_sum(a, axis=0), (x,)),
        U("diff", st.diff, np.diff, (x,)),
        U("diff_n2_axis0", lambda a: st.diff(a, 2, 0), lambda a: np.diff(a, 2, 0), (z,)),
        U("diff_prepend_append", lambda a: st.diff(a, prepend=0.5, append=x[:, :1]),
          lambda a: np.diff(a, prepend=0.5, append=x[:, :1]), (x,)),
        U("diff_bool", lambda a: st.diff(a > 0), lambda a: np.diff(a > 0), (x,), grad=False),
        U("diff_int", lambda a: st.diff(a, axis=0), lambda a: np.diff(a, axis=0), (i32,)),
        U("sort", st.sort, np.sort, (x,)),
        U("sort_axis0", lambda a: st.sort(a, axis=0), lambda a: np.sort(a, axis=0), (z,)),
        U("sort_flat", lambda a: st.sort(a, axis=None), lambda a: np.sort(a, axis=None), (x,)),
        U("sort_int_ties", lambda a: st.sort(a, 1), lambda a: np.sort(a, 1), (i32,)),
        U("sort_grad_weighted", lambda a: st.sort(a, 1) * np.arange(4.0),
          lambda a: np.sort(a, 1) * np.arange(4.0), (x,)),
        U("argsort", lambda a: st.argsort(a, 0, kind="stable"),
          lambda a: np.argsort(a, 0, kind="stable"), (i32,)),
        U("argsort_flat", lambda a: st.argsort(a, None), lambda a: np.argsort(a, None), (x,)),
        U("partition_kth", lambda a: st.partition(a, 2, axis=1)[:, 2],
          lambda a: np.partition(a, 2, axis=1)[:, 2], (x,)),
        U("argpartition_kth", lambda a: st.take_along_axis(a, st.argpartition(a, 1, 0), 0)[1],
          lambda a: np.take_along_axis(a, np.argpartition(a, 1, 0), 0)[1], (z,)),
        U("take_along_argmax", lambda a: st.take_along_axis(a, st.argmax(a, 1, keepdims=True), 1),
          lambda a: np.take_along_axis(a, np.argmax(a, 1, keepdims=True), 1), (x,)),
        U("take_along_broadcast", lambda a: st.take_along_axis(a, idx, 1),
          lambda a: np.take_along_axis(a, idx, 1), (x,)),
        U("take_along_none", lambda a: st.take_along_axis(a, np.array([5, -1, 0]), None),
          lambda a: np.take_along_axis(a, np.array([5, -1, 0]), None), (x,)),
        U("put_along_axis", lambda a, v: st.put_along_axis(a, idx, v, 0),
          lambda a, v: _np_put(a, idx, v, 0), (x, np.float64(7.5))),
        U("put_along_axis_dupes", lambda a, v: st.put_along_axis(a, np.array([[0, 2, 0]]).T, v, 0),
          lambda a, v: _np_put(a, np.array([[0, 2, 0]]).T, v, 0), (x, x[:, :1] * 3)),
        U("flip", st.flip, np.flip, (z,)),
        U("flip_axis", lambda a: st.flip(a, (0, 2)), lambda a: np.flip(a, (0, 2)), (z,)),
    ]


def _np_put(a, idx, v, axis):
    out = np.array(a, copy=True)
    np.put_along_axis(out, idx, v, axis)
    return out
