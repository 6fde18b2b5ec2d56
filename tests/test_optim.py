"""Optimizers inside the compiled training step, against PyTorch: the same model, initial weights
and batches give the same losses and parameters step by step (float32 tolerance)."""
import numpy as np
import pytest

import stage as st
from stage.datasets import load_digits

torch = pytest.importorskip("torch")
nn = st.nn

X, Y = load_digits()
X = X.reshape(-1, 1, 8, 8)
BATCHES = [(X[i * 16:(i + 1) * 16], Y[i * 16:(i + 1) * 16]) for i in range(5)]


def stage_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))


def torch_model():
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 4, 3, padding=1), T.ReLU(), T.MaxPool2d(2), T.Flatten(),
                        T.Linear(64, 16), T.Tanh(), T.Linear(16, 10))


def run_both(make_stage_opt, make_torch_opt, steps=5, lr_schedule=None):
    torch.manual_seed(0)
    tm = torch_model()
    sm = stage_model().load_state_dict(tm.state_dict())
    topt = make_torch_opt(tm.parameters())
    sopt = make_stage_opt()
    step = st.train_step(lambda x, y: nn.cross_entropy(sm(x), y), sm, sopt, cxxflags="-O1")
    w0 = sm[0].weight
    s_losses, t_losses = [], []
    for i, (x, y) in enumerate(BATCHES[:steps]):
        if lr_schedule:
            sopt.lr = lr_schedule(i)
            for g in topt.param_groups:
                g["lr"] = lr_schedule(i)
        s_losses.append(float(step(x, y)))
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        topt.step()
        t_losses.append(loss.item())
    np.testing.assert_allclose(s_losses, t_losses, rtol=2e-5, atol=2e-6)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(sm.state_dict()[k], v.numpy(), rtol=1e-4, atol=2e-5, err_msg=k)
    assert sm[0].weight is w0                    # updated in place, no copy
    assert step.num_specializations == 1         # hyper-parameters are runtime scalars
    return step, sopt


def test_sgd_momentum_matches_torch():
    run_both(lambda: st.optim.SGD(lr=0.1, momentum=0.9),
             lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))


def test_sgd_nesterov_weight_decay_dampening_matches_torch():
    run_both(lambda: st.optim.SGD(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True),
             lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True))
    run_both(lambda: st.optim.SGD(lr=0.05, momentum=0.9, dampening=0.3),
             lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3))


def test_adagrad_matches_torch():
    run_both(lambda: st.optim.Adagrad(lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1))


def test_adagrad_lr_decay_and_schedule_without_recompiling():
    step, opt = run_both(lambda: st.optim.Adagrad(lr=0.1, lr_decay=0.1, weight_decay=0.01),
                         lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.1, weight_decay=0.01),
                         lr_schedule=lambda i: 0.1 / (1 + i))
    assert opt.steps == 5


def test_adam_matches_torch():
    run_both(lambda: st.optim.Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01))


def test_adamw_matches_torch():
    run_both(lambda: st.optim.AdamW(lr=0.01, weight_decay=0.1),
             lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1))


def test_gradient_clipping_matches_torch():
    class ClipNorm(torch.optim.SGD):
        def step(self):
            torch.nn.utils.clip_grad_norm_(self.param_groups[0]["params"], 0.5)
            super().step()

    class ClipValue(torch.optim.SGD):
        def step(self):
            torch.nn.utils.clip_grad_value_(self.param_groups[0]["params"], 0.01)
            super().step()
    run_both(lambda: st.optim.SGD(lr=0.5, clip_norm=0.5), lambda p: ClipNorm(p, lr=0.5), steps=3)
    run_both(lambda: st.optim.SGD(lr=0.5, clip_value=0.01), lambda p: ClipValue(p, lr=0.5), steps=3)


def test_paper_adagrad_clips_elements():
    """Adagrad(clip=c) clamps each gradient element to [-c, c] before the update (min-char-rnn)."""
    w = np.array([1.0, -1.0], np.float32)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(w.copy())

    m = M()
    step = st.train_step(lambda s: st.sum(m.w * s), m, st.optim.Adagrad(lr=1.0, clip=5.0),
                         backend="interp")
    step(np.array([100.0, 0.5], np.float32))
    # clipped g = [5, 0.5]: each element moves by lr * g / sqrt(g^2) = 1
    np.testing.assert_allclose(m.w, [0.0, -2.0], atol=1e-6)
    assert m.w.dtype == np.float32


def test_optimizer_state_lives_in_arrays_updated_in_place():
    m = nn.Linear(3, 2, seed=0)
    opt = st.optim.Adam(lr=0.1)
    step = st.train_step(lambda x: st.sum(st.square(m(x))), m, opt, cxxflags="-O1")
    x = np.ones((4, 3), np.float32)
    step(x)
    m_arr = opt.state["weight"]["exp_avg"]
    assert np.abs(m_arr).sum() > 0
    step(x)
    assert opt.state["weight"]["exp_avg"] is m_arr and opt.steps == 2
    assert "exp_avg" in step.source or "store(" in step.ir


def test_train_step_is_a_compiled_function_of_arrays():
    m = nn.Linear(3, 2, seed=0)
    step = st.train_step(lambda x: st.sum(st.square(m(x))), m, st.optim.SGD(lr=0.1), backend="interp")
    x = np.ones((2, 3), np.float32)
    assert st.compile(step, backend="interp") is step       # compiled already
    l1 = step(x)
    m.eval()                       # modes are static: a new specialisation, same arrays
    l2 = step(x)
    assert step.num_specializations == 2 and l2 < l1


def test_compile_of_a_train_step_is_the_step():
    """`st.compile(st.train_step(loss_fn, model, opt))`: one line, parameters updated in place."""
    import stage as st
    m = st.nn.Linear(4, 3, seed=0)
    w0 = m.weight
    step = st.compile(st.train_step(lambda x, y: st.nn.cross_entropy(m(x), y), m,
                                    st.optim.Adagrad(lr=0.1)))
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = np.arange(16) % 3
    losses = [float(step(x, y)) for _ in range(5)]
    assert losses[-1] < losses[0] and m.weight is w0


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_train_step_aux_may_return_parameters_as_computed(backend):
    # an aux output that is a parameter, a view of one, or the optimizer's state is the value the
    # loss function saw (before the update), as JAX's has_aux gives; the parameter itself is updated
    model = st.nn.Sequential(st.nn.Linear(3, 2), st.nn.Tanh(), st.nn.Linear(2, 1))
    opt = st.optim.SGD(lr=0.5, momentum=0.9)

    def loss(x, y):
        w = model[0].weight
        return st.mse_loss(model(x), y), {"w": w, "wT": w.T, "b": model[2].bias[0], "n": st.sum(w)}
    step = st.train_step(loss, model, opt, has_aux=True, backend=backend)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    y = np.ones((4, 1), np.float32)
    for _ in range(3):
        w0, b0 = model[0].weight.copy(), model[2].bias.copy()
        _, aux = step(x, y)
        np.testing.assert_array_equal(aux["w"], w0)
        np.testing.assert_array_equal(aux["wT"], w0.T)
        np.testing.assert_array_equal(aux["b"], b0[0])
        np.testing.assert_allclose(aux["n"], w0.sum(), rtol=1e-6)
        assert not np.array_equal(model[0].weight, w0)        # and the step did update it
        assert not np.shares_memory(aux["w"], model[0].weight)
