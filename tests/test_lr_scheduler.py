"""Learning-rate schedules: each scheduler's sequence (two parameter groups, and OneCycleLR's
momentum/beta1) equals PyTorch's; a schedule drives a compiled training step without recompiling."""
import numpy as np
import pytest

import stage as st

torch = pytest.importorskip("torch")
S = st.optim.lr_scheduler


def _pair(make_opt, make_topt):
    a, b = np.zeros(3, np.float32), np.zeros(2, np.float32)
    ta, tb = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    return make_opt([{"params": [a]}, {"params": [b], "lr": 0.05}]), \
        make_topt([{"params": [ta]}, {"params": [tb], "lr": 0.05}])


SCHEDULES = {
    "StepLR": (lambda o: S.StepLR(o, 3, gamma=0.5),
               lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.5)),
    "MultiStepLR": (lambda o: S.MultiStepLR(o, [2, 5, 5, 9], 0.3),
                    lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 5, 9], 0.3)),
    "ExponentialLR": (lambda o: S.ExponentialLR(o, 0.9),
                      lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    "CosineAnnealingLR": (lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
                          lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.001)),
    "LinearLR": (lambda o: S.LinearLR(o, start_factor=0.1, total_iters=6),
                 lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=6)),
    "LinearLR-down": (lambda o: S.LinearLR(o, 1.0, 0.2, 4),
                      lambda o: torch.optim.lr_scheduler.LinearLR(o, 1.0, 0.2, 4)),
    "LambdaLR": (lambda o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]),
                 lambda o: torch.optim.lr_scheduler.LambdaLR(o, [lambda e: 0.95 ** e,
                                                                 lambda e: 1 / (1 + e)])),
    "OneCycleLR": (lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=20),
                   lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=[0.5, 0.2],
                                                                 total_steps=20)),
    "OneCycleLR-3": (lambda o: S.OneCycleLR(o, 0.4, epochs=4, steps_per_epoch=5, pct_start=0.25,
                                            anneal_strategy="linear", three_phase=True),
                     lambda o: torch.optim.lr_scheduler.OneCycleLR(
                         o, 0.4, epochs=4, steps_per_epoch=5, pct_start=0.25,
                         anneal_strategy="linear", three_phase=True)),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("optim", ["SGD", "Adam"])
def test_schedule_sequences_equal_torchs(name, optim):
    make, tmake = SCHEDULES[name]
    kw = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.1)}[optim]
    opt, topt = _pair(lambda p: getattr(st.optim, optim)(p, **kw),
                      lambda p: getattr(torch.optim, optim)(p, **kw))
    sched, tsched = make(opt), tmake(topt)
    for _ in range(20):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        for g, tg in zip(opt.param_groups, topt.param_groups):
            assert g["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=1e-15)
            key = "momentum" if optim == "SGD" else "betas"
            assert np.allclose(g[key], tg[key], rtol=1e-12)
        topt.step()
        sched.step()
        tsched.step()


def test_a_schedule_changes_runtime_values_only_and_trains_like_torch():
    """Warm-up then cosine decay (the GPT example's schedule, through LambdaLR) and OneCycleLR on
    SGD's momentum: the same parameters as PyTorch after 6 steps, one compiled library."""
    torch.manual_seed(0)
    tm = torch.nn.Linear(4, 3)
    for optim, kw in [("AdamW", dict(lr=0.05)), ("SGD", dict(lr=0.1, momentum=0.9))]:
        sm = st.nn.Linear(4, 3).load_state_dict(tm.state_dict())
        tcopy = torch.nn.Linear(4, 3)
        tcopy.load_state_dict(tm.state_dict())
        opt = getattr(st.optim, optim)(**kw)
        topt = getattr(torch.optim, optim)(tcopy.parameters(), **kw)
        if optim == "AdamW":
            warm = lambda e: min(1.0, (e + 1) / 3) * 0.5 * (1 + np.cos(np.pi * e / 6))  # noqa: E731
            s, ts = S.LambdaLR(opt, warm), torch.optim.lr_scheduler.LambdaLR(topt, warm)
        else:
            s = S.OneCycleLR(opt, 0.3, total_steps=6)
            ts = torch.optim.lr_scheduler.OneCycleLR(topt, 0.3, total_steps=6)
        step = st.train_step(lambda x, y: st.nn.mse_loss(sm(x), y), sm, opt, cxxflags="-O1")
        rng = np.random.default_rng(1)
        for _ in range(6):
            x, y = rng.standard_normal((5, 4), np.float32), rng.standard_normal((5, 3), np.float32)
            loss = step(x, y)
            topt.zero_grad()
            tl = torch.nn.functional.mse_loss(tcopy(torch.tensor(x)), torch.tensor(y))
            tl.backward()
            topt.step()
            s.step()
            ts.step()
            np.testing.assert_allclose(loss, tl.item(), rtol=1e-5)
        np.testing.assert_allclose(sm.weight, tcopy.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert step.num_specializations == 1


def test_scheduler_errors_are_clear():
    opt = st.optim.SGD(lr=0.1)
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, 0.1)
    with pytest.raises(ValueError, match="start_factor"):
        S.LinearLR(opt, start_factor=0)
    with pytest.raises(TypeError, match="not an st.optim optimizer"):
        S.StepLR(object(), 2)
    sched = S.OneCycleLR(st.optim.Adam(lr=0.1), 0.1, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="total_steps is 2"):
        sched.step()
    opt = st.optim.Adagrad(lr=0.1)
    with pytest.raises(ValueError, match="momentum or betas"):
        S.OneCycleLR(opt, 0.1, total_steps=5)
    opt.lr = 0.5                                  # sets every group's learning rate
    assert opt.param_groups[0]["lr"] == 0.5 and opt.lr == 0.5
