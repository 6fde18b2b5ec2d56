"""Random training setups for the training-step fuzzer (tests/test_fuzz_train.py): a model drawn
from the nn layers (an MLP with norms and dropout, a CNN with pooling and norms, a recurrent net,
a Transformer encoder layer, an embedding bag), a loss, an optimizer with its options (momentum,
Nesterov, weight decay, gradient clipping) and sometimes aux outputs. `setup(seed)` builds the
same model (same parameters: every layer is seeded) each time it is called, so one copy can be
trained natively and one by the interpreter, step by step, and compared."""
from __future__ import annotations

import numpy as np

import stage as st
from .gen_nn import _out

DT = "float64"
ACTS = ["ReLU", "Tanh", "GELU", "SiLU", "Sigmoid", "ELU", "LeakyReLU", "Softplus", "Mish"]


def _act(rng):
    return getattr(st.nn, ACTS[int(rng.integers(len(ACTS)))])()


def _mlp(rng, n, classes, seed):
    d = int(rng.integers(1, 7))
    layers, width = [], d
    for k in range(int(rng.integers(1, 4))):
        h = int(rng.integers(1, 9))
        layers += [st.nn.Linear(width, h, seed=seed + k, dtype=DT), _act(rng)]
        r = rng.random()
        if r < 0.2:
            layers.append(st.nn.LayerNorm(h, dtype=DT))
        elif r < 0.4 and n >= 2:
            layers.append(st.nn.BatchNorm1d(h, dtype=DT))
        elif r < 0.55:
            layers.append(st.nn.Dropout(0.3))
        width = h
    layers.append(st.nn.Linear(width, classes, bias=bool(rng.random() < 0.8), seed=seed + 9,
                               dtype=DT))
    return st.nn.Sequential(*layers), rng.standard_normal((n, d))


def _cnn(rng, n, classes, seed):
    c, h, w = int(rng.integers(1, 3)), int(rng.integers(3, 7)), int(rng.integers(3, 7))
    o, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    s, p = int(rng.choice([1, 2])), int(rng.choice([0, 1]))
    oh, ow = _out(h, k, s, p, 1), _out(w, k, s, p, 1)
    if min(oh, ow) < 1:
        k, s, p, oh, ow = 1, 1, 0, h, w
    layers = [st.nn.Conv2d(c, o, k, stride=s, padding=p, seed=seed, dtype=DT), _act(rng)]
    r = rng.random()
    if r < 0.3 and n >= 2:
        layers.append(st.nn.BatchNorm2d(o, dtype=DT))
    elif r < 0.5:
        layers.append(st.nn.GroupNorm(1, o, dtype=DT))
    if min(oh, ow) >= 2 and rng.random() < 0.6:
        layers.append(st.nn.MaxPool2d(2) if rng.random() < 0.5 else st.nn.AvgPool2d(2))
        oh, ow = oh // 2, ow // 2
    layers += [st.nn.Flatten(), st.nn.Linear(o * oh * ow, classes, seed=seed + 1, dtype=DT)]
    return st.nn.Sequential(*layers), rng.standard_normal((n, c, h, w))


class _Recurrent(st.nn.Module):
    def __init__(self, rng, classes, seed):
        super().__init__()
        kind = ["RNN", "LSTM", "GRU"][int(rng.integers(3))]
        self.batch_first = bool(rng.random() < 0.5)
        bi = bool(rng.random() < 0.3)
        self.d, h = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        self.rnn = getattr(st.nn, kind)(self.d, h, num_layers=int(rng.integers(1, 3)),
                                        batch_first=self.batch_first, bidirectional=bi, seed=seed,
                                        dtype=DT)
        self.head = st.nn.Linear(h * (2 if bi else 1), classes, seed=seed + 1, dtype=DT)

    def forward(self, x):
        out = self.rnn(x)[0]
        return self.head(out[:, -1] if self.batch_first else out[-1])


class _Encoder(st.nn.Module):
    def __init__(self, rng, classes, seed):
        super().__init__()
        heads = int(rng.integers(1, 3))
        self.d = heads * int(rng.integers(1, 4))
        self.layer = st.nn.TransformerEncoderLayer(
            self.d, heads, dim_feedforward=int(rng.integers(1, 9)), dropout=0.0,
            activation=["relu", "gelu"][int(rng.integers(2))], batch_first=True,
            norm_first=bool(rng.random() < 0.5), seed=seed, dtype=DT)
        self.head = st.nn.Linear(self.d, classes, seed=seed + 1, dtype=DT)

    def forward(self, x):
        return self.head(st.mean(self.layer(x), axis=1))


class _Bag(st.nn.Module):
    def __init__(self, rng, classes, seed):
        super().__init__()
        self.emb = st.nn.Embedding(int(rng.integers(2, 8)), int(rng.integers(1, 5)), seed=seed,
                                   dtype=DT)
        self.head = st.nn.Linear(self.emb.weight.shape[1], classes, seed=seed + 1, dtype=DT)

    def forward(self, i):
        return self.head(st.mean(self.emb(i), axis=1))


def _optimizer(rng, sgd_only):
    # Adam, AdamW and Adagrad divide by the gradient's size: where the true gradient is zero (a
    # bias before batch norm, attention's key bias) they turn rounding noise (1e-17) into steps
    # of lr, different on the two backends. Such models are trained with SGD.
    kind = 0 if sgd_only else int(rng.integers(4))
    clip = {} if rng.random() < 0.7 else (
        {"clip_norm": 0.5} if rng.random() < 0.5 else {"clip_value": 0.05})
    wd = float(rng.choice([0.0, 0.0, 0.01]))
    if kind == 0:
        mom = float(rng.choice([0.0, 0.9]))
        return st.optim.SGD(lr=0.1, momentum=mom, nesterov=bool(mom and rng.random() < 0.5),
                            weight_decay=wd, **clip)
    if kind == 1:
        return st.optim.Adam(lr=0.01, weight_decay=wd, **clip)
    if kind == 2:
        return st.optim.AdamW(lr=0.01, weight_decay=wd or 0.01, **clip)
    return st.optim.Adagrad(lr=0.1, weight_decay=wd, **clip)


def setup(seed):
    """(model, step arguments (x, y), loss function factory, optimizer factory, description)."""
    rng = np.random.default_rng(seed)
    n, classes = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    kind = ["mlp", "cnn", "rnn", "encoder", "bag"][int(rng.integers(5))]
    if kind == "mlp":
        model, x = _mlp(rng, n, classes, seed)
    elif kind == "cnn":
        model, x = _cnn(rng, n, classes, seed)
    elif kind == "rnn":
        model = _Recurrent(rng, classes, seed)
        t = int(rng.integers(1, 4))
        x = rng.standard_normal((n, t, model.d) if model.batch_first else (t, n, model.d))
    elif kind == "encoder":
        model = _Encoder(rng, classes, seed)
        x = rng.standard_normal((n, int(rng.integers(1, 4)), model.d))
    else:
        model = _Bag(rng, classes, seed)
        x = rng.integers(0, model.emb.weight.shape[0], size=(n, int(rng.integers(1, 4))))
    ce = classes >= 2 and rng.random() < 0.6
    y = rng.integers(0, classes, size=n) if ce else rng.standard_normal((n, classes))
    aux = bool(rng.random() < 0.3)

    def loss_fn(m):
        def loss(x, y):
            out = m(x)
            value = st.nn.cross_entropy(out, y) if ce else st.nn.mse_loss(out, y)
            return (value, {"out": out}) if aux else value
        return loss
    sgd_only = kind == "encoder" or any(type(m).__name__.startswith("BatchNorm")
                                        for m in model.modules())
    opt_rng_state = rng.bit_generator.state
    def make_opt():
        r = np.random.default_rng()
        r.bit_generator.state = opt_rng_state
        return _optimizer(r, sgd_only)
    return model, (x, y), loss_fn, make_opt, aux, f"{kind} {model!r}"
