"""Attention and Transformer layers against PyTorch from the same weights: scaled dot-product
attention (masks, causal, scale, dropout), MultiheadAttention (layouts, masks, weights, separate
key/value sizes, bias_kv, zero attention), encoder and decoder layers and stacks (pre- and
post-norm): forward values, gradients, and 5 optimizer steps."""
import numpy as np
import pytest

import stage as st

nn = st.nn
F = nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional
rng = np.random.default_rng(0)


def _t(x):
    return torch.tensor(np.asarray(x))


def _close(a, b, tol=1e-5):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol)


def _randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


SDPA_CASES = {          # name -> (kwargs builder over L, S, masks)
    "plain": lambda L, S: {},
    "causal": lambda L, S: {"is_causal": True},
    "scale": lambda L, S: {"scale": 0.3},
    "bool mask": lambda L, S: {"attn_mask": np.tril(np.ones((L, S), bool), 1)},
    "float mask": lambda L, S: {"attn_mask": _randn(2, 1, L, S)},
}


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_scaled_dot_product_attention_matches_torch(backend):
    L, S, E = 5, 7, 4
    q, k, v = _randn(2, 3, L, E), _randn(2, 3, S, E), _randn(2, 3, S, 6)
    c = _randn(2, 3, L, 6)
    cases = [(n, kw(L, S)) for n, kw in SDPA_CASES.items()] + [("causal square",
                                                                  {"is_causal": True})]

    def loss(q, k, v):
        outs = []
        for name, kw in cases:
            kk, vv = (k[..., :L, :], v[..., :L, :]) if name == "causal square" else (k, v)
            outs.append(F.scaled_dot_product_attention(q, kk, vv, **kw))
        return sum(st.sum(o * c) for o in outs), outs
    (_, outs), grads = st.compile(st.value_and_grad(loss, (0, 1, 2), has_aux=True),
                                  backend=backend)(q, k, v)
    tq, tk, tv = (_t(a).requires_grad_() for a in (q, k, v))
    tl = 0
    for o, (name, kw) in zip(outs, cases):
        kk, vv = (tk[..., :L, :], tv[..., :L, :]) if name == "causal square" else (tk, tv)
        targs = {a: (_t(b) if isinstance(b, np.ndarray) else b) for a, b in kw.items()}
        y = TF.scaled_dot_product_attention(tq, kk, vv, **targs)
        _close(o, y, 1e-5)
        tl = tl + (y * _t(c)).sum()
    tl.backward()
    for g, t in zip(grads, (tq, tk, tv)):
        _close(g, t.grad, 1e-4)


def test_attention_dropout_zeroes_and_rescales_weights_and_errors_are_clear():
    q, k = _randn(2, 8, 6, 4), _randn(2, 8, 6, 4)
    v = np.broadcast_to(np.eye(6, dtype=np.float32), (2, 8, 6, 6)).copy()   # output = weights
    holder = nn.Identity()
    for backend in ("interp", "native"):
        f = st.eval_step(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.5,
                                                                         is_causal=True),
                         holder, backend=backend, seed=1)
        dropped = f(q, k, v)
        p = TF.scaled_dot_product_attention(_t(q), _t(k), _t(v), is_causal=True).numpy()
        kept = dropped != 0
        assert 0.2 < kept[p > 0].mean() < 0.8
        np.testing.assert_allclose(dropped[kept], 2 * p[kept], rtol=1e-5)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((6, 6), bool), is_causal=True)
    with pytest.raises(st.StageTypeError, match="query"):
        st.compile(lambda q, k: F.scaled_dot_product_attention(q, k, k), backend="interp")(
            q, _randn(2, 8, 6, 5))


def _mha_pair(**kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, **kw)
    s = nn.MultiheadAttention(8, 2, **kw)
    assert list(s.state_dict()) == list(t.state_dict())
    s.load_state_dict(t.state_dict())
    return s, t


@pytest.mark.parametrize("kw", [dict(batch_first=True), dict(),
                                dict(kdim=5, vdim=3, batch_first=True, bias=False),
                                dict(add_bias_kv=True, add_zero_attn=True, batch_first=True)])
def test_multihead_attention_matches_torch(kw):
    s, t = _mha_pair(**kw)
    N, L, S = 3, 4, 6
    bf = kw.get("batch_first", False)
    lay = (lambda n, l, e: _randn(n, l, e) if bf else _randn(l, n, e))
    q, k, v = lay(N, L, 8), lay(N, S, kw.get("kdim", 8)), lay(N, S, kw.get("vdim", 8))
    pad = np.zeros((N, S), bool)
    pad[0, -2:] = pad[2, 0] = True
    bool_mask = ~np.tril(np.ones((L, S), bool), 2)
    float_mask = _randn(N * 2, L, S)
    calls = [dict(), dict(key_padding_mask=pad), dict(attn_mask=bool_mask, need_weights=False),
             dict(attn_mask=float_mask, average_attn_weights=False,
                  key_padding_mask=np.where(pad, -np.inf, 0).astype(np.float32)),
             dict(attn_mask=bool_mask, is_causal=True, need_weights=False)]

    def loss(q, k, v):
        outs = [s(q, k, v, **c) for c in calls]
        return sum(st.sum(st.tanh(o)) for o, _ in outs), outs
    step = st.train_step(loss, s, st.optim.SGD(lr=1.0), has_aux=True, backend="interp")
    before = [p.copy() for p in s.parameters()]
    _, outs = step(q, k, v)
    tl = 0
    for (o, w), c in zip(outs, calls):
        to, tw = t(_t(q), _t(k), _t(v), **{a: _t(b) if isinstance(b, np.ndarray) else b
                                           for a, b in c.items()})
        _close(o, to, 1e-5)
        assert (w is None) == (tw is None)
        if w is not None:
            _close(w, tw, 1e-5)
        tl = tl + torch.tanh(to).sum()
    tl.backward()
    for b, a, p in zip(before, s.parameters(), t.parameters()):
        _close(b - a, p.grad, 1e-4)
    s.load_state_dict(t.state_dict())       # unbatched inputs, from the same weights
    o, w = s(q[0] if bf else q[:, 0], k[0] if bf else k[:, 0], v[0] if bf else v[:, 0])
    to, tw = t(*(_t(a[0] if bf else a[:, 0]) for a in (q, k, v)))
    _close(o, to)
    _close(w, tw)


def _layers(T, norm_first, kind="encoder"):
    torch.manual_seed(0)
    if kind == "encoder":
        layer = T.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation="relu",
                                          batch_first=True, norm_first=norm_first)
        return T.TransformerEncoder(layer, 2, norm=T.LayerNorm(16) if norm_first else None)
    layer = T.TransformerDecoderLayer(16, 4, 24, dropout=0.0, batch_first=True,
                                      norm_first=norm_first,
                                      activation=T.functional.gelu if hasattr(st, "erf") else
                                      "relu")
    return T.TransformerDecoder(layer, 2)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_and_decoder_train_like_torch(norm_first):
    """Five AdamW steps of an encoder (causal, padded) + decoder stack, one compiled library."""
    class Model:
        def __init__(self, T, Module):
            class M(Module):
                def __init__(self):
                    super().__init__()
                    self.enc = _layers(T, norm_first)
                    self.dec = _layers(T, norm_first, "decoder")
                    self.head = T.Linear(16, 5)

                def forward(self, src, tgt, pad):
                    mem = self.enc(src, src_key_padding_mask=pad)
                    L = tgt.shape[1]
                    mask = np.triu(np.full((L, L), -np.inf, np.float32), 1)
                    if Module is not nn.Module:
                        mask = torch.tensor(mask)
                    y = self.dec(tgt, mem, tgt_mask=mask, tgt_is_causal=True,
                                 memory_key_padding_mask=pad)
                    return self.head(y)
            self.m = M()
    tm, sm = Model(torch.nn, torch.nn.Module).m, Model(nn, nn.Module).m
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict(tm.state_dict())
    topt = torch.optim.AdamW(tm.parameters(), lr=3e-3)
    step = st.train_step(lambda s, t, p, y: nn.cross_entropy(st.reshape(sm(s, t, p), (-1, 5)),
                                                             st.reshape(y, (-1,))),
                         sm, st.optim.AdamW(lr=3e-3), cxxflags="-O1")
    for _ in range(5):
        src, tgt = _randn(2, 6, 16), _randn(2, 5, 16)
        pad = np.zeros((2, 6), bool)
        pad[1, -2:] = True
        y = rng.integers(0, 5, (2, 5))
        loss = step(src, tgt, pad, y)
        topt.zero_grad()
        tl = TF.cross_entropy(tm(_t(src), _t(tgt), _t(pad)).reshape(-1, 5), _t(y).reshape(-1))
        tl.backward()
        topt.step()
        np.testing.assert_allclose(loss, tl.item(), rtol=1e-4)
    for k, v in tm.state_dict().items():
        a, b = sm.state_dict()[k], v.numpy()
        if k.endswith("in_proj_bias"):
            # the key bias adds one constant to a query's scores: its gradient is rounding noise,
            # which Adam scales up to steps of +-lr in both frameworks alike
            a, b = np.delete(a, np.s_[16:32]), np.delete(b, np.s_[16:32])
        _close(a, b, 1e-4)


def test_attention_without_a_mask_is_the_fused_op_and_keeps_no_scores():
    """No mask (or the causal one) and no dropout: the forward and backward programs use the
    fused `attention` / `attention_grad` ops (no softmax over an (L, S) score array); an explicit
    mask takes the composite."""
    q, k, v = _randn(2, 130, 8), _randn(2, 100, 8), _randn(2, 100, 4)

    def loss(mask):
        return lambda q, k, v: st.sum(F.scaled_dot_product_attention(
            q, k, v, **({"attn_mask": np.ones((130, 100), bool)} if mask else {"is_causal": True})))
    fused = st.compile(st.value_and_grad(loss(False), (0, 1, 2))).lower(q, k, v).source
    assert "stage::attention(" in fused and "stage::attention_grad(" in fused
    assert "softmax" not in fused and "130 * 100" not in fused
    masked = st.compile(st.value_and_grad(loss(True), (0, 1, 2))).lower(q, k, v).source
    assert "stage::attention" not in masked and "softmax" in masked
