"""Full RNN/LSTM/GRU layers against PyTorch: state-dict names, forward over stacked and
bidirectional layers, initial states, packed (per-sequence) lengths given at run time, gradients,
and five optimizer steps of a model of both, compiled once."""
import numpy as np
import pytest

import stage as st

nn = st.nn
torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)
pack = torch.nn.utils.rnn


def _t(x):
    return torch.tensor(np.asarray(x))


def _close(a, b, tol=1e-5):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol)


CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True, batch_first=True),
           dict(num_layers=3, bidirectional=True, bias=False)]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layers_load_torch_state_and_match_its_forward(name):
    torch.manual_seed(0)
    for kw in CONFIGS + ([dict(nonlinearity="relu", num_layers=2)] if name == "RNN" else []):
        t, s = getattr(torch.nn, name)(4, 5, **kw), getattr(nn, name)(4, 5, **kw)
        assert list(s.state_dict()) == list(t.state_dict())
        assert [v.shape for v in s.state_dict().values()] == \
            [tuple(v.shape) for v in t.state_dict().values()]
        s.load_state_dict(t.state_dict())
        D = 2 if kw.get("bidirectional") else 1
        x = rng.standard_normal((3, 6, 4) if kw.get("batch_first") else (6, 3, 4)).astype(np.float32)
        h0 = rng.standard_normal((kw.get("num_layers", 1) * D, 3, 5)).astype(np.float32)
        state = (h0, h0 * 0.5) if name == "LSTM" else h0
        out, fin = s(x, state)
        tout, tfin = t(_t(x), tuple(map(_t, state)) if name == "LSTM" else _t(state))
        _close(out, tout)
        for a, b in zip(fin if name == "LSTM" else (fin,), tfin if name == "LSTM" else (tfin,)):
            _close(a, b)
    uo, uh = s(x[0] if kw.get("batch_first") else x[:, 0])        # unbatched input
    assert uo.shape == (6, 5 * D) and \
        (uh[0] if name == "LSTM" else uh).shape == (kw.get("num_layers", 1) * D, 5)


class Both:
    """An LSTM (2 layers, bidirectional, batch first) feeding a GRU, over padded sequences."""

    def __init__(self, T, Module):
        class M(Module):
            def __init__(self):
                super().__init__()
                self.lstm = T.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
                self.gru = T.GRU(10, 3, batch_first=True)
                self.head = T.Linear(3, 2)
        self.m = M()


def _stage_loss(m, x, lengths, h0, c0):
    out, (h, c) = m.lstm(x, (h0, c0), lengths)
    out2, h2 = m.gru(out, None, lengths)
    return st.sum(st.tanh(m.head(out2))) + st.sum(h * h) + st.sum(c) + st.sum(h2)


def _torch_loss(m, x, lengths, h0, c0):
    p = pack.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h, c) = m.lstm(p, (h0, c0))
    out2, h2 = m.gru(out)
    out2, _ = pack.pad_packed_sequence(out2, batch_first=True, total_length=x.shape[1])
    return torch.tanh(m.head(out2)).sum() + (h * h).sum() + c.sum() + h2.sum()


def test_lstm_and_gru_train_like_torch_over_runtime_lengths():
    torch.manual_seed(0)
    rng = np.random.default_rng(3)     # its own draws: under xdist the module's rng depends on order
    tm, sm = Both(torch.nn, torch.nn.Module).m, Both(nn, nn.Module).m
    sm.load_state_dict(tm.state_dict())
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    step = st.train_step(lambda *a: _stage_loss(sm, *a), sm, st.optim.Adam(lr=0.01))
    for lengths in ([7, 3, 5], [2, 7, 7], [1, 4, 6], [7, 7, 7], [5, 5, 2]):
        x = rng.standard_normal((3, 7, 4)).astype(np.float32)
        h0, c0 = (rng.standard_normal((4, 3, 5)).astype(np.float32) for _ in range(2))
        loss = step(x, np.array(lengths), h0, c0)
        topt.zero_grad()
        tl = _torch_loss(tm, _t(x), torch.tensor(lengths), _t(h0), _t(c0))
        tl.backward()
        topt.step()
        np.testing.assert_allclose(loss, tl.item(), rtol=3e-4)     # float32 after Adam steps
    for k, v in tm.state_dict().items():
        _close(sm.state_dict()[k], v, 1e-4)
    assert step.num_specializations == 1                  # every length: one compiled library
    # padded steps give zero outputs (as pad_packed_sequence) on the interpreter too
    f = st.compile(lambda x, n: sm.lstm(x, None, n)[0], backend="interp")
    out = f(x, np.array([2, 7, 4]))
    assert not out[0, 2:].any() and not out[2, 4:].any() and out[1, 6].any()


def test_dropout_between_layers_and_bad_inputs():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    f = st.eval_step(lambda x: lstm(x)[0], lstm, backend="interp", seed=1)
    a = f(x)
    lstm.eval()
    b = f(x)
    assert not np.allclose(a, b)                                      # dropped in training
    np.testing.assert_array_equal(b, f(x))                            # deterministic in eval
    with pytest.raises(st.StageTypeError, match="input_size=3"):
        lstm(np.zeros((5, 2, 4), np.float32))
    with pytest.raises(st.StageTypeError, match="initial state"):
        lstm(x, (np.zeros((1, 2, 4), np.float32),) * 2)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.0)
