"""Modules: PyTorch's names, shapes, initialisation and numerics; state dicts both ways; dropout in
native code (bit-identical to the interpreter); batch-norm statistics; a CNN that learns digits."""
import numpy as np
import pytest

import stage as st
from stage.datasets import load_digits, train_test_split

nn = st.nn
torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


def _t(x):
    return torch.tensor(np.asarray(x))


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy() if hasattr(b, "detach") else b,
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("make", [
    lambda T: T.Linear(5, 3), lambda T: T.Conv2d(2, 3, 3, stride=2, padding=1),
    lambda T: T.Conv2d(2, 3, (3, 2), bias=False), lambda T: T.Conv2d(4, 6, 3, 1, 1, 2, 2),
    lambda T: T.RNNCell(4, 3),
    lambda T: T.LSTMCell(4, 3), lambda T: T.GRUCell(4, 3), lambda T: T.Embedding(7, 3),
    lambda T: T.BatchNorm1d(4), lambda T: T.BatchNorm2d(2)])
def test_same_parameters_as_torch_and_loads_its_state(make):
    torch.manual_seed(0)
    tm, sm = make(torch.nn), make(nn)
    tsd = tm.state_dict()
    ssd = sm.state_dict()
    assert list(ssd) == list(tsd)
    for k in tsd:
        assert ssd[k].shape == tuple(tsd[k].shape) and ssd[k].dtype == tsd[k].numpy().dtype
    sm.load_state_dict(tm.state_dict())
    for k in tsd:
        np.testing.assert_array_equal(ssd[k], tsd[k].numpy())     # copied into the same arrays
    assert sm.state_dict()[list(tsd)[0]] is ssd[list(tsd)[0]]


def test_default_init_follows_pytorch_bounds_and_seed():
    a, b = nn.Linear(100, 50, seed=1), nn.Linear(100, 50, seed=1)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert np.abs(a.weight).max() <= 0.1 and np.abs(a.weight).max() > 0.09     # 1/sqrt(100)
    c = nn.Conv2d(3, 8, 5, seed=2)
    assert np.abs(c.weight).max() <= 1 / np.sqrt(75) and np.abs(c.bias).max() <= 1 / np.sqrt(75)
    lstm = nn.LSTMCell(10, 25, seed=3)
    assert np.abs(lstm.weight_hh).max() <= 0.2 and lstm.weight_ih.shape == (100, 10)
    e = nn.Embedding(1000, 20, seed=4)
    assert 0.9 < e.weight.std() < 1.1
    nn.manual_seed(5)
    w1 = nn.Linear(4, 4).weight.copy()
    nn.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight, w1)


def test_forward_matches_torch_native_and_eager():
    torch.manual_seed(0)
    T = torch.nn
    tm = T.Sequential(T.Conv2d(2, 4, 3, padding=1), T.BatchNorm2d(4), T.ReLU(), T.AvgPool2d(2),
                      T.Conv2d(4, 6, 2, stride=2), T.ReLU(), T.MaxPool2d(2, padding=1), T.Flatten(),
                      T.Linear(24, 5)).eval()
    sm = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                       nn.Conv2d(4, 6, 2, stride=2), nn.ReLU(), nn.MaxPool2d(2, padding=1),
                       nn.Flatten(), nn.Linear(24, 5))
    tm[1].running_mean.uniform_(-1, 1)
    tm[1].running_var.uniform_(0.5, 2)
    sm.load_state_dict(tm.state_dict())
    sm.eval()
    x = rng.standard_normal((3, 2, 8, 8)).astype(np.float32)
    expected = tm(_t(x))
    _close(sm(x), expected)                                           # eager (interpreter)
    _close(st.eval_step(lambda x: sm(x), sm, cxxflags="-O1")(x), expected)


def test_cells_match_torch():
    torch.manual_seed(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    h = rng.standard_normal((3, 5)).astype(np.float32)
    c = rng.standard_normal((3, 5)).astype(np.float32)
    for name, state in [("RNNCell", h), ("GRUCell", h), ("LSTMCell", (h, c))]:
        tm = getattr(torch.nn, name)(4, 5)
        sm = getattr(nn, name)(4, 5).load_state_dict(tm.state_dict())
        ts = tuple(map(_t, state)) if isinstance(state, tuple) else _t(state)
        out, ref = sm(x, state), tm(_t(x), ts)
        for a, b in zip(out if isinstance(out, tuple) else (out,),
                        ref if isinstance(ref, tuple) else (ref,)):
            _close(a, b)
    lstm = nn.LSTMCell(4, 5)
    h1, c1 = lstm(x[0])                     # unbatched, zero initial state
    assert h1.shape == (5,) and c1.shape == (5,)


def test_frozen_embedding_is_an_input_but_not_trained():
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding.from_pretrained(rng.standard_normal((6, 3)).astype(np.float32))
            self.out = nn.Linear(3, 2, seed=0)

        def forward(self, idx):
            return self.out(st.sum(self.emb(idx), axis=0))
    m = Bag()
    frozen = m.emb.weight.copy()
    w = m.out.weight.copy()
    step = st.train_step(lambda i, y: nn.cross_entropy(m(i)[None], y), m, st.optim.SGD(lr=0.5),
                         cxxflags="-O1")
    step(np.array([1, 4, 4]), np.array([1]))
    np.testing.assert_array_equal(m.emb.weight, frozen)
    assert not np.allclose(m.out.weight, w)
    m.emb.weight[...] += 1                  # still a runtime input: the next step sees the change
    assert [k for k, _ in m.named_parameters(trainable_only=True)] == ["out.weight", "out.bias"]


def test_dropout_native_matches_interpreter_bit_for_bit():
    m = nn.Sequential(nn.Linear(6, 40, seed=0), nn.Dropout(0.5), nn.Linear(40, 3, seed=1))
    m2 = nn.Sequential(nn.Linear(6, 40, seed=0), nn.Dropout(0.5), nn.Linear(40, 3, seed=1))
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    loss = lambda m: (lambda x, y: nn.cross_entropy(m(x), y))           # noqa: E731
    s_nat = st.train_step(loss(m), m, st.optim.SGD(lr=0.1), seed=7, cxxflags="-O1")
    s_int = st.train_step(loss(m2), m2, st.optim.SGD(lr=0.1), seed=7, backend="interp")
    for _ in range(3):
        np.testing.assert_allclose(s_nat(x, y), s_int(x, y), rtol=1e-6)
    np.testing.assert_allclose(m[0].weight, m2[0].weight, rtol=1e-5, atol=1e-6)
    # the masks themselves are bit-identical: p=0.5 keeps about half and scales by 2
    f = st.compile(lambda x, s, c: nn.functional.dropout(x, 0.5, True, key=(s, c)))
    fi = st.compile(lambda x, s, c: nn.functional.dropout(x, 0.5, True, key=(s, c)),
                    backend="interp")
    ones = np.ones(10_000, np.float32)
    a, b = f(ones, np.int64(3), np.int64(1)), fi(ones, np.int64(3), np.int64(1))
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 2.0} and 0.47 < np.mean(a == 0) < 0.53
    assert not np.array_equal(a, f(ones, np.int64(3), np.int64(2)))     # a new counter, a new mask
    m.eval()
    assert np.array_equal(m(x), m(x))                                     # identity in eval mode


def test_batchnorm_training_statistics_match_torch():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    sm = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    sm.load_state_dict(tm.state_dict())
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    step = st.train_step(lambda x, y: nn.mse_loss(sm(x), y), sm, st.optim.SGD(lr=0.1),
                         cxxflags="-O1")
    for _ in range(3):
        x = rng.standard_normal((16, 3)).astype(np.float32)
        y = rng.standard_normal((16, 2)).astype(np.float32)
        loss = step(x, y)
        topt.zero_grad()
        tl = torch.nn.functional.mse_loss(tm(_t(x)), _t(y))
        tl.backward()
        topt.step()
        np.testing.assert_allclose(loss, tl.item(), rtol=1e-5)
    _close(sm[1].running_mean, tm[1].running_mean)
    _close(sm[1].running_var, tm[1].running_var)
    tm.eval()
    sm.eval()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    _close(st.eval_step(lambda x: sm(x), sm, cxxflags="-O1")(x), tm(_t(x)))


def test_functional_pad_and_flatten():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    f = st.compile(lambda x: (nn.functional.pad(x, (1, 2), 0.5), nn.functional.flatten(x)),
                   backend="interp")
    p, fl = f(x)
    _close(p, torch.nn.functional.pad(_t(x), (1, 2), value=0.5))
    assert fl.shape == (2, 12)
    np.testing.assert_array_equal(st.compile(lambda x: st.pad(x, ((0, 1), (2, 0), (1, 1))),
                                             backend="interp")(x),
                                  np.pad(x, ((0, 1), (2, 0), (1, 1))))


def test_small_cnn_learns_digits():
    """A small CNN on the 8x8 UCI digits reaches >= 95 % held-out accuracy."""
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X.reshape(-1, 1, 8, 8), y, seed=0)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    step = st.train_step(lambda x, y: nn.cross_entropy(model(x), y), model,
                         st.optim.SGD(lr=0.05, momentum=0.9))
    order = np.random.default_rng(0)
    for epoch in range(12):
        perm = order.permutation(len(Xtr))
        for b in range(len(Xtr) // 50):
            i = perm[b * 50:(b + 1) * 50]
            step(Xtr[i], ytr[i])
    predict = st.eval_step(lambda x: st.argmax(model(x), 1), model.eval())
    acc = float(np.mean(predict(Xte) == yte))
    assert acc >= 0.95, acc


@pytest.mark.parametrize("n,hw", [(3, (9, 7)), (5, (9, 7)), (2, (30, 17))])
def test_conv_strategies_agree(n, hw):
    """conv2d runs one gemm per chunk of images (one image when it has >= 128 output positions, else
    several, the last chunk possibly shorter): right for every chunking and BLAS thread count."""
    x = rng.standard_normal((n, 2) + hw)
    w = rng.standard_normal((4, 2, 3, 2))
    c = rng.standard_normal((n, 4, (hw[0] - 1) // 2 + 1, hw[1] + 1))
    f = st.compile(st.value_and_grad(
        lambda x, w: st.sum(nn.functional.conv2d(x, w, stride=(2, 1), padding=1) * c), (0, 1)),
        cxxflags="-O1")
    f(x, w)
    lib = f.last.lib
    results = []
    for n in (1, 2):
        lib.stage_set_num_threads(n)
        results.append(f(x, w))
    lib.stage_set_num_threads(1)
    tx, tw = _t(x).requires_grad_(), _t(w).requires_grad_()
    v = (torch.nn.functional.conv2d(tx, tw, stride=(2, 1), padding=1) * _t(c)).sum()
    v.backward()
    for val, (gx, gw) in results:
        np.testing.assert_allclose(val, v.item(), rtol=1e-10)
        np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_embedding_padding_idx_gets_no_gradient(backend):
    torch.manual_seed(0)
    te = torch.nn.Embedding(6, 3, padding_idx=-2)
    se = nn.Embedding(6, 3, padding_idx=-2)
    assert se.padding_idx == 4 and not se.weight[4].any()          # zero-initialised, as torch
    se.load_state_dict(te.state_dict())
    with torch.no_grad():
        te.weight[4] = 1.5                  # a non-zero padding row is still looked up as it is
    se.weight[4] = 1.5
    idx = np.array([[0, 4, 5], [4, 4, 1]])
    loss = lambda w, i: st.sum(st.tanh(nn.functional.embedding(i, w, -2)) * 2)   # noqa: E731
    value, grad = st.compile(st.value_and_grad(loss), backend=backend)(se.weight, idx)
    tl = (torch.tanh(te(torch.tensor(idx))) * 2).sum()
    tl.backward()
    np.testing.assert_allclose(value, tl.item(), rtol=1e-6)
    _close(grad, te.weight.grad)
    assert not grad[4].any() and grad[0].any()
    with pytest.raises(ValueError, match="padding_idx 6 is outside"):
        nn.Embedding(6, 3, padding_idx=6)


def test_batchnorm_cumulative_average_with_momentum_none():
    torch.manual_seed(0)
    tb, sb = torch.nn.BatchNorm2d(3, momentum=None), nn.BatchNorm2d(3, momentum=None)
    step = st.train_step(lambda x: st.sum(sb(x) ** 2), sb, st.optim.SGD(lr=0.01), cxxflags="-O1")
    topt = torch.optim.SGD(tb.parameters(), lr=0.01)
    for i in range(4):
        x = (rng.standard_normal((8, 3, 2, 2)) * (i + 1) + i).astype(np.float32)
        step(x)
        topt.zero_grad()
        (tb(_t(x)) ** 2).sum().backward()
        topt.step()
    assert sb.num_batches_tracked.shape == () and int(sb.num_batches_tracked) == 4
    _close(sb.running_mean, tb.running_mean)
    _close(sb.running_var, tb.running_var)
    _close(sb.weight, tb.weight)
    fresh = nn.BatchNorm2d(3)
    fresh.load_state_dict({k: v for k, v in tb.state_dict().items()
                           if k != "num_batches_tracked"})          # older checkpoints load
    assert int(fresh.num_batches_tracked) == 0
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_dilated_and_grouped_convolutions_match_torch(backend):
    torch.manual_seed(0)
    make = lambda T: T.Sequential(T.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),   # noqa: E731
                                  T.Tanh(), T.Conv2d(6, 6, (2, 3), dilation=(3, 1), groups=6))
    tm, sm = make(torch.nn), make(nn)
    sm.load_state_dict(tm.state_dict())
    assert sm[0].weight.shape == (6, 2, 3, 3) and "groups=2" in repr(sm)
    x = rng.standard_normal((2, 4, 9, 8)).astype(np.float32)
    loss = lambda p, x: st.sum(nn.functional.conv2d(                  # noqa: E731
        st.tanh(nn.functional.conv2d(x, p[0], p[1], 1, 2, 2, 2)), p[2], p[3], dilation=(3, 1),
        groups=6) ** 2)
    params = [sm[0].weight, sm[0].bias, sm[2].weight, sm[2].bias]
    value, grads = st.compile(st.value_and_grad(loss), backend=backend)(params, x)
    tl = (tm(_t(x)) ** 2).sum()
    tl.backward()
    np.testing.assert_allclose(value, tl.item(), rtol=1e-5)
    for g, p in zip(grads, [tm[0].weight, tm[0].bias, tm[2].weight, tm[2].bias]):
        _close(g, p.grad, 1e-4)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(st.StageTypeError, match="groups=3"):
        st.compile(lambda x, w: nn.functional.conv2d(x, w, groups=3), backend="interp")(
            x, np.zeros((6, 2, 3, 3), np.float32))


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 3, 0), (3, 2, 1), (2, 1, 0)])
def test_max_pool_ties_and_nans_route_like_torch(kernel, stride, padding):
    # small integers: many ties (the first maximum in scan order wins), and NaNs (the last NaN
    # wins); the tiled kernels (stride = window) and the general scan must agree with PyTorch
    x = rng.integers(0, 3, (2, 3, 9, 10)).astype(np.float32)
    x.reshape(-1)[rng.choice(x.size, 12, replace=False)] = np.nan
    tx = _t(x).requires_grad_()
    ty = torch.nn.functional.max_pool2d(tx, kernel, stride, padding)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    ty.backward(_t(g))

    def loss(x, g):
        y = nn.functional.max_pool2d(x, kernel, stride, padding)
        return st.sum(y * g), y
    for backend in ("interp", "native"):
        (_, y), dx = st.compile(st.value_and_grad(loss, has_aux=True), backend=backend)(x, g)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(dx, tx.grad.numpy())
