"""User-facing cases of NumPy's shape, creation, selection and linear-algebra functions (issue 13;
see `optest_numpy_user`)."""
from __future__ import annotations

import numpy as np

import stage as st


def array_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1616)
    x = rng.standard_normal((3, 4))
    z = rng.standard_normal((2, 3, 4))
    v = rng.standard_normal(5)
    i64 = rng.integers(-5, 6, (4,))
    return [
        U("ravel", st.ravel, np.ravel, (z,)),
        U("ravel_T", lambda a: st.ravel(a.T), lambda a: np.ravel(a.T), (x,)),
        U("repeat_flat", lambda a: st.repeat(a, 2), lambda a: np.repeat(a, 2), (x,)),
        U("repeat_axis", lambda a: st.repeat(a, 3, axis=1), lambda a: np.repeat(a, 3, axis=1), (z,)),
        U("repeat_counts", lambda a: st.repeat(a, [1, 0, 2], axis=0),
          lambda a: np.repeat(a, [1, 0, 2], axis=0), (x,)),
        U("tile", lambda a: st.tile(a, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), (x,)),
        U("tile_int", lambda a: st.tile(a, 3), lambda a: np.tile(a, 3), (v,)),
        U("split", lambda a: st.stack(st.split(a, 2, axis=1)), lambda a: np.stack(np.split(a, 2, 1)),
          (x,)),
        U("array_split_uneven", lambda a: st.concatenate(st.array_split(a, 3)[1:] * 2),
          lambda a: np.concatenate(np.array_split(a, 3)[1:] * 2), (v,)),
        U("split_points", lambda a: st.split(a, [1, 3], axis=2)[1] * 2,
          lambda a: np.split(a, [1, 3], axis=2)[1] * 2, (z,)),
        U("hsplit_vsplit_dsplit", lambda a: st.concatenate(
            [st.ravel(p) * (k + 1) for k, p in enumerate(st.hsplit(a, 3) + st.vsplit(a, [1]) +
                                                         st.dsplit(a, 2))]),
          lambda a: np.concatenate(
            [np.ravel(p) * (k + 1) for k, p in enumerate(np.hsplit(a, 3) + np.vsplit(a, [1]) +
                                                         np.dsplit(a, 2))]), (z,)),
        U("hstack", lambda a, b: st.hstack([a, b, a]), lambda a, b: np.hstack([a, b, a]),
          (x, x[:, :2])),
        U("hstack_1d", lambda a: st.hstack((a, a[:2])), lambda a: np.hstack((a, a[:2])), (v,)),
        U("vstack", lambda a, b: st.vstack([a, b]), lambda a, b: np.vstack([a, b]), (x[0], x)),
        U("dstack", lambda a, b: st.dstack([a, b]), lambda a, b: np.dstack([a, b]), (x, x * 2)),
        U("column_stack", lambda a, b: st.column_stack([a, b]),
          lambda a, b: np.column_stack([a, b]), (x[:, 0], x)),
        U("moveaxis", lambda a: st.moveaxis(a, 0, -1), lambda a: np.moveaxis(a, 0, -1), (z,)),
        U("moveaxis_many", lambda a: st.moveaxis(a, [0, 1], [-1, -2]),
          lambda a: np.moveaxis(a, [0, 1], [-1, -2]), (z,)),
        U("rollaxis", lambda a: st.rollaxis(a, 2, 1), lambda a: np.rollaxis(a, 2, 1), (z,)),
        U("roll_flat", lambda a: st.roll(a, 5), lambda a: np.roll(a, 5), (x,)),
        U("roll_axes", lambda a: st.roll(a, (1, -2), axis=(0, 2)),
          lambda a: np.roll(a, (1, -2), axis=(0, 2)), (z,)),
        U("roll_staged_shift", lambda a, s: st.roll(a, s, axis=1),
          lambda a, s: np.roll(a, s, axis=1), (x, np.int64(-3))),
        U("flipud_fliplr", lambda a: st.flipud(a) * st.fliplr(a), lambda a: np.flipud(a) * np.fliplr(a),
          (x,)),
        U("rot90", lambda a: st.rot90(a), lambda a: np.rot90(a), (x,)),
        U("rot90_k", lambda a: st.stack([st.rot90(a, k, (1, 2)) for k in (2, 3, -1)]),
          lambda a: np.stack([np.rot90(a, k, (1, 2)) for k in (2, 3, -1)]), (z[:, :3, :3],)),
        U("atleast", lambda a, s: st.atleast_3d(a)[..., 0] + st.atleast_2d(s) + st.atleast_1d(s),
          lambda a, s: np.atleast_3d(a)[..., 0] + np.atleast_2d(s) + np.atleast_1d(s),
          (x, np.float64(0.5))),
        U("atleast_3d_1d", lambda a: st.atleast_3d(a), lambda a: np.atleast_3d(a), (v,)),
        U("append", lambda a, b: st.append(a, b), lambda a, b: np.append(a, b), (x, v)),
        U("append_axis", lambda a, b: st.append(a, b, axis=0), lambda a, b: np.append(a, b, axis=0),
          (x, x[:1])),
        U("broadcast_arrays", lambda a, b: st.stack(st.broadcast_arrays(a, b)),
          lambda a, b: np.stack(np.broadcast_arrays(a, b)), (x[:, :1], x[0])),
        U("swapaxes_names", lambda a: st.swapaxes(a, axis1=0, axis2=2),
          lambda a: np.swapaxes(a, axis1=0, axis2=2), (z,)),
        U("pad_constant", lambda a: st.pad(a, ((1, 2), (0, 1)), constant_values=-1.5),
          lambda a: np.pad(a, ((1, 2), (0, 1)), constant_values=-1.5), (x,)),
        U("pad_edge", lambda a: st.pad(a, 2, mode="edge"), lambda a: np.pad(a, 2, mode="edge"), (x,)),
        U("pad_reflect", lambda a: st.pad(a, (1, 3), mode="reflect"),
          lambda a: np.pad(a, (1, 3), mode="reflect"), (x,)),
        U("pad_reflect_wide", lambda a: st.pad(a, (6, 9), "reflect"),
          lambda a: np.pad(a, (6, 9), "reflect"), (v,)),
        U("pad_symmetric", lambda a: st.pad(a, ((0, 0), (2, 1), (3, 0)), mode="symmetric"),
          lambda a: np.pad(a, ((0, 0), (2, 1), (3, 0)), mode="symmetric"), (z,)),
        U("pad_wrap", lambda a: st.pad(a, ((2, 1), (5, 3)), mode="wrap"),
          lambda a: np.pad(a, ((2, 1), (5, 3)), mode="wrap"), (x,)),
        U("pad_int", lambda a: st.pad(a, 1, "edge"), lambda a: np.pad(a, 1, "edge"), (i64,)),
    ]


def creation_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1717)
    x = rng.standard_normal((3, 4))
    s = np.float64(0.75)
    s32 = np.float32(1.25)
    k = np.int64(3)
    return [
        U("array_nested", lambda a, b: st.array([[a, 1.0], [2.0, b]]),
          lambda a, b: np.array([[a, 1.0], [2.0, b]]), (s, np.float64(-2.0))),
        U("array_rows", lambda a: st.array([a[0], a[1] * 2, [1, 2, 3, 4]]),
          lambda a: np.array([a[0], a[1] * 2, [1, 2, 3, 4]]), (x,)),
        U("array_promotes_like_numpy", lambda a: st.array([a, 2.0]),
          lambda a: np.array([a, 2.0]), (s32,)),
        U("array_int", lambda a: st.array([a, 2, a * 3]), lambda a: np.array([a, 2, a * 3]), (k,)),
        U("array_dtype", lambda a: st.array([a, 2], dtype=np.float32),
          lambda a: np.array([a, 2], dtype=np.float32), (s,)),
        U("asarray_list", lambda a: st.asarray([[a, a], [a, 0.0]]) * a,
          lambda a: np.asarray([[a, a], [a, 0.0]]) * a, (s,)),
        U("stack_nested", lambda a: st.stack([[a, 1.0], [a * a, 2.0]]),
          lambda a: np.stack([[a, 1.0], [a * a, 2.0]]), (s,)),
        U("arange", lambda a: st.arange(5) * a, lambda a: np.arange(5) * a, (s,)),
        U("arange_float", lambda a: st.arange(0.5, 3.0, 0.25) + a,
          lambda a: np.arange(0.5, 3.0, 0.25) + a, (s,)),
        U("arange_int", lambda a: st.arange(2, 11, 3) + a, lambda a: np.arange(2, 11, 3) + a, (k,)),
        U("linspace", lambda a, b: st.linspace(a, b, 7), lambda a, b: np.linspace(a, b, 7),
          (s, np.float64(3.5))),
        U("linspace_noend_step", lambda a, b: st.stack(st.linspace(a, b, 4, endpoint=False,
                                                                   retstep=True)[:1]),
          lambda a, b: np.stack(np.linspace(a, b, 4, endpoint=False, retstep=True)[:1]),
          (s, np.float64(3.5))),
        U("linspace_arrays_axis", lambda a, b: st.linspace(a, b, 5, axis=-1),
          lambda a, b: np.linspace(a, b, 5, axis=-1), (x[0], x[1])),
        U("linspace_static", lambda a: st.linspace(0, 1, 5) * a, lambda a: np.linspace(0, 1, 5) * a,
          (s,)),
        U("logspace", lambda a: st.logspace(0, a, 4), lambda a: np.logspace(0, a, 4), (s,)),
        U("eye", lambda a: st.eye(3, 4, 1) * a, lambda a: np.eye(3, 4, 1) * a, (s,)),
        U("eye_dtype", lambda a: st.eye(3, dtype="int64") + a, lambda a: np.eye(3, dtype=np.int64) + a,
          (k,)),
        U("identity", lambda a: st.identity(4) @ a, lambda a: np.identity(4) @ a, (x.T,)),
        U("tri", lambda a: st.tri(3, 5, -1) * a, lambda a: np.tri(3, 5, -1) * a, (s,)),
        U("tril_triu", lambda a: st.tril(a) + st.triu(a, 2) * 3, lambda a: np.tril(a) + np.triu(a, 2) * 3,
          (x,)),
        U("tril_batch", lambda a: st.tril(a, -1), lambda a: np.tril(a, -1),
          (rng.standard_normal((2, 3, 3)),)),
        U("empty_like_zeros", lambda a: st.empty_like(a) * 0 + a, lambda a: a * 1, (x,)),
        U("copy", lambda a: st.copy(a) * 2, lambda a: np.copy(a) * 2, (x,)),
        U("meshgrid_xy", lambda a, b: st.stack(st.meshgrid(a, b)) * st.pi,
          lambda a, b: np.stack(np.meshgrid(a, b)) * np.pi, (x[0], x[1, :3])),
        U("meshgrid_ij_sparse_np", lambda a, b, c: sum(np.meshgrid(a, b, c, indexing="ij",
                                                                   sparse=True)),
          lambda a, b, c: sum(np.meshgrid(a, b, c, indexing="ij", sparse=True)),
          (x[0], x[1, :3], x[2, :2])),
    ]


def selection_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1818)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((5, 6, 7))
    mask = np.array([True, False, True])
    mask2 = x > 0
    return [
        U("select", lambda a: st.select([a < -0.5, a > 0.5], [a * 2, a ** 2], 0.1),
          lambda a: np.select([a < -0.5, a > 0.5], [a * 2, a ** 2], 0.1), (x,)),
        U("select_first_wins", lambda a: st.select([a > 0, a > -1], [a, -a]),
          lambda a: np.select([a > 0, a > -1], [a, -a]), (x,)),
        U("where_one_arg_static", lambda a: a[st.where(mask2)], lambda a: a[np.where(mask2)], (x,)),
        U("nonzero_static", lambda a: a[st.nonzero(mask)], lambda a: a[np.nonzero(mask)], (x,)),
        U("argwhere_flatnonzero", lambda a: st.take(a, st.flatnonzero(mask2)) + st.sum(st.argwhere(mask2)),
          lambda a: np.take(a, np.flatnonzero(mask2)) + np.sum(np.argwhere(mask2)), (x,)),
        U("compress", lambda a: st.compress([True, False, True, True], a, axis=1),
          lambda a: np.compress([True, False, True, True], a, axis=1), (x,)),
        U("index_static_mask", lambda a: a[mask], lambda a: a[mask], (x,)),
        U("index_static_mask_2d", lambda a: a[mask2], lambda a: a[mask2], (x,)),
        U("index_mixed_separated", lambda a: a[3, 2:, [1, 3]], lambda a: a[3, 2:, [1, 3]], (y,)),
        U("index_mixed_adjacent", lambda a: a[:, [0, 1], [2, 3]], lambda a: a[:, [0, 1], [2, 3]], (y,)),
        U("index_mixed_broadcast", lambda a: a[[[0], [2]], :, [1, 5, 6]],
          lambda a: a[[[0], [2]], :, [1, 5, 6]], (y,)),
        U("index_mixed_none_ellipsis", lambda a: a[None, ..., [1, -1]],
          lambda a: a[None, ..., [1, -1]], (y,)),
        U("index_staged_arrays", lambda a, i, j: a[i, 1:3, j], lambda a, i, j: a[i, 1:3, j],
          (y, np.array([0, -1, 2]), np.array([[6], [-7]]))),
        U("index_staged_int_and_array", lambda a, i, j: a[i, :, j], lambda a, i, j: a[i, :, j],
          (y, np.int64(-2), np.array([1, 3, 3]))),
        U("index_mask_and_slice", lambda a: a[1:, mask2[0]], lambda a: a[1:, mask2[0]], (x,)),
    ]


def linalg_user_cases():
    import optest as T
    U = T.U
    rng = np.random.default_rng(1919)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((4, 5))
    z = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((3, 4, 2))
    v = rng.standard_normal(4)
    m = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    mb = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    i32 = rng.integers(-4, 5, (3, 4)).astype(np.int32)
    i64 = rng.integers(-4, 5, (4, 2))
    s = np.float64(1.5)
    return [
        U("dot_scalar", st.dot, np.dot, (s, x)),
        U("dot_matrix", st.dot, np.dot, (x, y)),
        U("dot_nd_1d", st.dot, np.dot, (z, v)),
        U("dot_1d_nd", st.dot, np.dot, (x[0], w)),
        U("dot_nd_nd", st.dot, np.dot, (z, w)),
        U("dot_int", st.dot, np.dot, (i32, i64)),
        U("dot_int_float", st.dot, np.dot, (i32, y)),
        U("vdot", st.vdot, np.vdot, (x, x * 2)),
        U("inner", st.inner, np.inner, (z, x)),
        U("inner_1d", st.inner, np.inner, (v, v * 3)),
        U("outer_flattens", st.outer, np.outer, (x, v)),
        U("outer_int", st.outer, np.outer, (i64, i32[0])),
        U("tensordot_default", st.tensordot, np.tensordot, (z, w)),
        U("tensordot_int_axes", lambda a, b: st.tensordot(a, b, 1), lambda a, b: np.tensordot(a, b, 1),
          (x, y)),
        U("tensordot_lists", lambda a, b: st.tensordot(a, b, ([1, 2], [0, 1])),
          lambda a, b: np.tensordot(a, b, ([1, 2], [0, 1])), (z, w)),
        U("tensordot_zero", lambda a, b: st.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0),
          (v, x[0])),
        U("matmul_int", st.matmul, np.matmul, (i32, i64)),
        U("matmul_int_vec", lambda a: a @ np.array([1, 2, 3, 4], np.int32),
          lambda a: a @ np.array([1, 2, 3, 4], np.int32), (i32,)),
        U("einsum_matmul", lambda a, b: st.einsum("ij,jk->ik", a, b),
          lambda a, b: np.einsum("ij,jk->ik", a, b), (x, y)),
        U("einsum_implicit", lambda a, b: st.einsum("ij,jk", a, b),
          lambda a, b: np.einsum("ij,jk", a, b), (x, y)),
        U("einsum_batch", lambda a, b: st.einsum("bij,bjk->bki", a, b),
          lambda a, b: np.einsum("bij,bjk->bki", a, b), (z, rng.standard_normal((2, 4, 3)))),
        U("einsum_trace_diag", lambda a: st.einsum("ii", a) + st.sum(st.einsum("ii->i", a)),
          lambda a: np.einsum("ii", a) + np.sum(np.einsum("ii->i", a)), (m,)),
        U("einsum_transpose_sum", lambda a: st.einsum("ijk->kj", a), lambda a: np.einsum("ijk->kj", a),
          (z,)),
        U("einsum_outer", lambda a, b: st.einsum("i,j->ij", a, b),
          lambda a, b: np.einsum("i,j->ij", a, b), (v, x[0])),
        U("einsum_three", lambda a, b, c: st.einsum("ij,jk,k->i", a, b, c),
          lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), (x, y, y[0])),
        U("einsum_hadamard", lambda a, b: st.einsum("ij,ij->ij", a, b),
          lambda a, b: np.einsum("ij,ij->ij", a, b), (x, x * 2)),
        U("einsum_ellipsis", lambda a, b: st.einsum("...ij,jk->...ik", a, b),
          lambda a, b: np.einsum("...ij,jk->...ik", a, b), (z, y)),
        U("einsum_ellipsis_broadcast", lambda a, b: st.einsum("...ij,...jk", a, b),
          lambda a, b: np.einsum("...ij,...jk", a, b), (mb, m[None])),
        U("einsum_repeated_across", lambda a: st.einsum("i,i,i->", a, a, a),
          lambda a: np.einsum("i,i,i->", a, a, a), (v,)),
        U("einsum_bilinear", lambda a, b, c: st.einsum("bi,ij,bj->b", a, b, c),
          lambda a, b, c: np.einsum("bi,ij,bj->b", a, b, c), (x, rng.standard_normal((4, 4)), x)),
        U("einsum_int", lambda a, b: st.einsum("ij,jk->ik", a, b),
          lambda a, b: np.einsum("ij,jk->ik", a, b), (i32, i64.astype(np.int32))),
        U("kron", st.kron, np.kron, (x[:2, :2], m)),
        U("kron_1d_2d", st.kron, np.kron, (v, x)),
        U("cross", st.cross, np.cross, (x[:, :3], x[:, 1:])),
        U("cross_2d", st.cross, np.cross, (x[:, :2], x[:, 2:])),
        U("cross_axis", lambda a, b: st.cross(a, b, axis=0), lambda a, b: np.cross(a, b, axis=0),
          (x, x * 2 + 1)),
        U("diag_vector", lambda a: st.diag(a, 1) + st.diag(a, -1) * 2 + st.pad(st.diag(a), (0, 1)),
          lambda a: np.diag(a, 1) + np.diag(a, -1) * 2 + np.pad(np.diag(a), (0, 1)), (v,)),
        U("diag_matrix", lambda a: st.diag(a, -1), lambda a: np.diag(a, -1), (x,)),
        U("diagflat", st.diagflat, np.diagflat, (x[:2],)),
        U("norm_default", st.linalg.norm, np.linalg.norm, (z,)),
        U("norm_vector_orders", lambda a: st.stack([st.linalg.norm(a, o) for o in
                                                    (1, 2, 3, np.inf, -np.inf, 0.5)]),
          lambda a: np.stack([np.linalg.norm(a, o) for o in (1, 2, 3, np.inf, -np.inf, 0.5)]),
          (np.array([1.3, -0.6, 0.45, -0.9]),)),   # (no element near 0, where order 0.5 is steep)
        U("norm_axis_keepdims", lambda a: st.linalg.norm(a, axis=-1, keepdims=True),
          lambda a: np.linalg.norm(a, axis=-1, keepdims=True), (z,)),
        U("norm_matrix_orders", lambda a: st.stack([st.linalg.norm(a, o) for o in
                                                    ("fro", 1, -1, np.inf, -np.inf)]),
          lambda a: np.stack([np.linalg.norm(a, o) for o in ("fro", 1, -1, np.inf, -np.inf)]), (x,)),
        U("norm_matrix_axes", lambda a: st.linalg.norm(a, 1, axis=(2, 0)),
          lambda a: np.linalg.norm(a, 1, axis=(2, 0)), (z,)),
        U("norm_of_zero_grad", lambda a: st.linalg.norm(a * 0.0) + st.sum(a),
          lambda a: np.linalg.norm(a * 0.0) + np.sum(a), (x,)),
        U("inv", st.linalg.inv, np.linalg.inv, (m,)),
        U("inv_batch", st.linalg.inv, np.linalg.inv, (mb,)),
        U("solve_vector", st.linalg.solve, np.linalg.solve, (m, v[:3])),
        U("solve_batch_broadcast", st.linalg.solve, np.linalg.solve, (mb, x[:, :2])),
        U("det", st.linalg.det, np.linalg.det, (m,)),
        U("det_batch", st.linalg.det, np.linalg.det, (mb,)),
        U("slogdet", lambda a: st.stack(st.linalg.slogdet(a)), lambda a: np.stack(np.linalg.slogdet(a)),
          (mb * np.array([1.0, -1.0])[:, None, None],)),
        U("cholesky_symmetrized", lambda a: st.linalg.cholesky(a @ a.T + 3 * st.eye(3)),
          lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3)), (m,)),
        U("cholesky_upper", lambda a: st.linalg.cholesky(a @ a.T + 3 * st.eye(3), upper=True),
          lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3), upper=True), (m,)),
        U("inv_f32", st.linalg.inv, np.linalg.inv, (m.astype(np.float32),)),
    ]
