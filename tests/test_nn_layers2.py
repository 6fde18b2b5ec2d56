"""Activations, LayerNorm/RMSNorm/GroupNorm, containers, weight tying and parameter groups against
PyTorch from the same weights: forward values, gradients, and optimizer steps."""
import numpy as np
import pytest

import stage as st

nn = st.nn
F = nn.functional
torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


def _t(x):
    return torch.tensor(np.asarray(x))


def _close(a, b, tol=1e-5):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol)


ACTIVATIONS = [  # (stage module, torch module)
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(beta=2.0, threshold=3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Hardtanh(-0.5, 0.8), lambda: torch.nn.Hardtanh(-0.5, 0.8)),
    (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
]


def test_activations_forward_and_gradient_match_torch_on_both_backends():
    # away from the kinks (0, the clip bounds) and far into the saturated ranges (no NaN)
    x = rng.uniform(-4, 4, (6, 7)).astype(np.float32)
    x[0, :3] = [60.0, -60.0, 25.0]
    x[np.abs(x) < 0.05] = 0.3
    x[np.abs(x + 0.5) < 0.05] = -0.6
    x[np.abs(x - 0.8) < 0.05] = 0.9
    c = rng.standard_normal(x.shape).astype(np.float32)
    mods = [make() for make, _ in ACTIVATIONS]

    def loss(x):
        outs = [m(x) for m in mods]
        return sum(st.sum(o * c) for o in outs), outs
    expected = []
    for _, make in ACTIVATIONS:
        tx = _t(x).requires_grad_()
        y = make()(tx)
        (y * _t(c)).sum().backward()
        expected.append((y, tx.grad))
    for backend in ("interp", "native"):
        (_, outs), dx = st.compile(st.value_and_grad(loss, has_aux=True), backend=backend)(x)
        for o, (y, _) in zip(outs, expected):
            _close(o, y)
        _close(dx, sum(g for _, g in expected), 1e-4)
    for (make, _), (y, g) in zip(ACTIVATIONS, expected):       # functional forms, eagerly
        assert np.all(np.isfinite(make()(x)))


def test_functional_activations_are_pytorch_named():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    tx = _t(x)
    T = torch.nn.functional
    for ours, theirs in [(F.silu(x), T.silu(tx)), (F.elu(x, 0.5), T.elu(tx, 0.5)),
                         (F.softplus(x, 2.0, 1.0), T.softplus(tx, 2.0, 1.0)),
                         (F.mish(x), T.mish(tx)), (F.hardtanh(x), T.hardtanh(tx)),
                         (F.leaky_relu(x), T.leaky_relu(tx)),
                         (F.gelu(x, approximate="tanh"), T.gelu(tx, approximate="tanh")),
                         (F.gelu(x), T.gelu(tx))]:
        _close(ours, theirs)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_norm_layers_match_torch_forward_and_gradients(backend):
    torch.manual_seed(0)
    pairs = [(nn.LayerNorm((3, 5)), torch.nn.LayerNorm((3, 5))),
             (nn.LayerNorm(5, elementwise_affine=False), torch.nn.LayerNorm(5, elementwise_affine=False)),
             (nn.LayerNorm(5, bias=False), torch.nn.LayerNorm(5, bias=False)),
             (nn.RMSNorm(5), torch.nn.RMSNorm(5)),
             (nn.RMSNorm([3, 5], eps=1e-3), torch.nn.RMSNorm([3, 5], eps=1e-3)),
             (nn.GroupNorm(1, 4), torch.nn.GroupNorm(1, 4)),
             (nn.GroupNorm(2, 4, affine=False), torch.nn.GroupNorm(2, 4, affine=False))]
    for s, t in pairs:
        assert list(s.state_dict()) == list(t.state_dict())
        with torch.no_grad():
            for p in t.parameters():
                p.uniform_(0.5, 1.5)
        s.load_state_dict(t.state_dict())
    x = (rng.standard_normal((4, 3, 5)) * 3 + 1).astype(np.float32)
    xg = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    model = nn.ModuleList([s for s, _ in pairs])

    def loss(x, xg):
        outs = [m(xg if isinstance(m, nn.GroupNorm) else x) for m in model]
        return sum(st.sum(st.tanh(o)) for o in outs), outs
    step = st.train_step(loss, model, st.optim.SGD(lr=1.0), has_aux=True, backend=backend)
    w_before = [p.copy() for p in model.parameters()]
    _, outs = step(x, xg)
    tx, txg = _t(x), _t(xg)
    tl = 0
    for o, (s, t) in zip(outs, pairs):
        y = t(txg if isinstance(s, nn.GroupNorm) else tx)
        _close(o, y, 1e-4)
        tl = tl + torch.tanh(y).sum()
    tl.backward()
    tparams = [p for _, t in pairs for p in t.parameters()]
    for w0, w1, p in zip(w_before, model.parameters(), tparams):
        _close(w0 - w1, p.grad, 1e-4)                      # SGD lr 1: the step is the gradient
    with pytest.raises(st.StageTypeError, match="normalized_shape"):
        st.compile(lambda x: nn.functional.layer_norm(x, (4,)), backend="interp")(x)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def _torch_block():
    T = torch.nn
    return T.Sequential(T.Linear(6, 8), T.LayerNorm(8), T.GELU(approximate="tanh"),
                        T.Linear(8, 8), T.GroupNorm(2, 8), T.Mish(), T.Linear(8, 8), T.RMSNorm(8),
                        T.ELU(), T.Linear(8, 8), T.Softplus(), T.LeakyReLU(0.1), T.Hardtanh(),
                        T.SiLU(), T.Identity(), T.Linear(8, 3))


def _stage_block():
    return nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.GELU(approximate="tanh"),
                         nn.Linear(8, 8), nn.GroupNorm(2, 8), nn.Mish(), nn.Linear(8, 8),
                         nn.RMSNorm(8), nn.ELU(), nn.Linear(8, 8), nn.Softplus(),
                         nn.LeakyReLU(0.1), nn.Hardtanh(), nn.SiLU(), nn.Identity(),
                         nn.Linear(8, 3))


def test_a_model_of_the_new_layers_trains_like_torch_for_five_adamw_steps():
    torch.manual_seed(0)
    tm, sm = _torch_block(), _stage_block()
    sm.load_state_dict(tm.state_dict())
    topt = torch.optim.AdamW(tm.parameters(), lr=0.01)
    step = st.train_step(lambda x, y: nn.cross_entropy(sm(x), y), sm, st.optim.AdamW(lr=0.01))
    for _ in range(5):
        x = rng.standard_normal((10, 6)).astype(np.float32)
        y = rng.integers(0, 3, 10)
        loss = step(x, y)
        topt.zero_grad()
        tl = torch.nn.functional.cross_entropy(tm(_t(x)), _t(y))
        tl.backward()
        topt.step()
        np.testing.assert_allclose(loss, tl.item(), rtol=1e-5)
    for k, v in tm.state_dict().items():
        _close(sm.state_dict()[k], v, 2e-5)


class _Tied:
    """Embedding -> ModuleList of (Linear, LayerNorm) blocks -> ModuleDict of heads, the output
    head tied to the embedding: the same structure in both frameworks."""

    @staticmethod
    def build(T, Module):
        class Net(Module):
            def __init__(self):
                super().__init__()
                self.emb = T.Embedding(10, 8)
                self.blocks = T.ModuleList([T.Linear(8, 8) for _ in range(2)])
                self.blocks.append(T.LayerNorm(8))
                self.heads = T.ModuleDict({"lm": T.Linear(8, 10, bias=False),
                                           "aux": T.Linear(8, 2)})
                self.heads["lm"].weight = self.emb.weight          # weight tying

            def forward(self, idx):
                h = self.emb(idx)
                for b in self.blocks:
                    h = T.functional.silu(b(h)) if isinstance(b, T.Linear) else b(h)
                return self.heads["lm"](h), self.heads["aux"](h)
        return Net()


def test_containers_tying_and_parameter_groups_match_torch():
    torch.manual_seed(0)
    tm = _Tied.build(torch.nn, torch.nn.Module)
    sm = _Tied.build(nn, nn.Module)
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict(tm.state_dict())
    assert sm.heads["lm"].weight is sm.emb.weight                  # one array
    names = [k for k, _ in sm.named_parameters()]
    assert names == [k for k, _ in tm.named_parameters()] and "heads.lm.weight" not in names
    decay = [p for k, p in sm.named_parameters() if p.ndim >= 2]
    no_decay = [k for k, p in sm.named_parameters() if p.ndim < 2]       # groups by name, too
    sopt = st.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                           {"params": no_decay, "weight_decay": 0.0, "lr": 0.03}], lr=0.01)
    tdecay = [p for p in tm.parameters() if p.ndim >= 2]
    tno = [p for p in tm.parameters() if p.ndim < 2]
    topt = torch.optim.AdamW([{"params": tdecay, "weight_decay": 0.1},
                              {"params": tno, "weight_decay": 0.0, "lr": 0.03}], lr=0.01)
    step = st.train_step(lambda i, y, z: nn.cross_entropy(sm(i)[0], y) +
                         nn.cross_entropy(sm(i)[1], z), sm, sopt)
    for _ in range(5):
        i, y, z = rng.integers(0, 10, 12), rng.integers(0, 10, 12), rng.integers(0, 2, 12)
        loss = step(i, y, z)
        topt.zero_grad()
        a, b = tm(_t(i))
        tl = torch.nn.functional.cross_entropy(a, _t(y)) + torch.nn.functional.cross_entropy(b, _t(z))
        tl.backward()
        topt.step()
        np.testing.assert_allclose(loss, tl.item(), rtol=1e-5)
    for k, v in tm.state_dict().items():
        _close(sm.state_dict()[k], v, 2e-5)
    assert sm.heads["lm"].weight is sm.emb.weight                  # still one array
    assert step.num_specializations == 1
    with pytest.raises(ValueError, match="more than one group"):
        st.train_step(lambda i: st.sum(sm(i)[1]), sm,
                      st.optim.SGD([{"params": decay}, {"params": decay[:1]}], lr=0.1))


def test_module_list_and_dict_behave_like_torchs():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    layers.insert(0, nn.Identity())
    assert len(layers) == 3 and isinstance(layers[0], nn.Identity)
    assert list(layers.state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]
    del layers[0]
    assert list(layers.state_dict())[0] == "0.weight" and len(layers[1:]) == 1
    d = nn.ModuleDict([("a", nn.Linear(1, 1))])
    d["b"] = nn.Tanh()
    assert list(d) == ["a", "b"] and "b" in d and [k for k, _ in d.items()] == ["a", "b"]
    with pytest.raises(TypeError, match="not a Module"):
        d["c"] = 3
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(np.zeros(2, np.float32))
    u = nn.Unflatten(1, (2, -1))
    assert u(np.zeros((3, 8), np.float32)).shape == (3, 2, 4)
    assert torch.nn.Unflatten(1, (2, 4))(torch.zeros(3, 8)).shape == (3, 2, 4)
