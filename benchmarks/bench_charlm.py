"""Character language models: the paper's vanilla RNN and LSTM (vocab 26, hidden 50, sequences of 20,
batch 20, Adagrad lr 0.1, clipping at 5) and min-char-rnn (batch 1, V=80, H=100, T=20).

Stage runs `examples/char_rnn.py` / `examples/char_lstm.py` themselves (their `init_params` and
`train_step`, one native call per step); the peers get copies of the same initial arrays and batches.
The hidden state is carried from step to step (truncated backpropagation through time, as the examples
train), in every framework.
"""
from __future__ import annotations

import functools

import numpy as np

from harness import Model, examples_module

LR, CLIP = 0.1, 5.0


@functools.lru_cache(maxsize=None)
def corpus():
    """The SST character corpus, encoded once per process."""
    from stage.datasets import encode_chars
    return encode_chars()


def rnn_data(nbatches, kind):
    """(params, batches) for "rnn"/"lstm" (the SST character corpus) or "minrnn" (synthetic ids)."""
    char_rnn = examples_module("char_rnn")
    if kind == "minrnn":
        V, H, T = 80, 100, 20          # batch 1
        ids = np.random.default_rng(1).integers(0, V, T * nbatches + 1)
        data = [(ids[k * T:(k + 1) * T].reshape(T, 1).copy(),
                 ids[k * T + 1:(k + 1) * T + 1].reshape(T, 1).copy()) for k in range(nbatches)]
    else:
        V, H = char_rnn.V, char_rnn.H
        gen = char_rnn.batches(corpus())
        data = [next(gen)[:2] for _ in range(nbatches)]
    mod = examples_module("char_lstm" if kind == "lstm" else "char_rnn")
    return mod.init_params(0, vocab=V, hidden=H), data


class StageCharLM:
    """The example's compiled `train_step`, called once per step (forward, backward, update in place)."""

    def __init__(self, params, data, lstm):
        import stage as st
        mod = examples_module("char_lstm" if lstm else "char_rnn")
        self.fn = st.compile(mod.train_step)
        self.P = [p.copy() for p in params]
        self.M = [np.zeros_like(p) for p in params]
        self.data = data
        B, H = data[0][0].shape[1], params[1].shape[0]
        self.state = (np.zeros((B, H), np.float32),) * (2 if lstm else 1)
        self.n, self.lr = np.int64(data[0][0].shape[0]), np.float32(LR)
        self.i = 0

    def args(self):
        xs, ys = self.data[self.i % len(self.data)]
        return (self.P, self.M, xs, ys, *self.state, self.n, self.lr)

    def step(self):
        loss, *self.state = self.fn(*self.args())
        self.i += 1
        return loss

    def step0(self):
        return float(self.step())

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(loss)

    def set_threads(self, n):
        self.fn.last.lib.stage_set_num_threads(n)

    def snapshot(self):
        return {**{f"p{k}": p.copy() for k, p in enumerate(self.P)},
                **{f"m{k}": m.copy() for k, m in enumerate(self.M)}}


MODULE_EPS = ("st.optim.Adagrad divides by sqrt(m) + 1e-10 (PyTorch's formula), the functional step "
              "by sqrt(m + 1e-8); parameters differ where |g| is tiny, so only the loss and the "
              "optimizer state (the squared gradients) are compared")


class StageCharLMModule(StageCharLM):
    """What the example's `train()` runs: its st.nn.Module, st.train_step, st.optim.Adagrad."""
    check_params = MODULE_EPS

    def __init__(self, params, data, lstm):
        import stage as st
        mod = examples_module("char_lstm" if lstm else "char_rnn")
        cls = mod.CharLSTM if lstm else mod.CharRNN
        V, H = params[0].shape[0], params[1].shape[0]
        self.model = cls(vocab=V, hidden=H, seed=0)
        self.names = cls.names
        self.opt = st.optim.Adagrad(lr=LR, clip=CLIP)
        self.fn = st.train_step(self.model.loss, self.model, self.opt, has_aux=True)
        self.data, self.lstm = data, lstm
        B = data[0][0].shape[1]
        self.state = (np.zeros((B, H), np.float32),) * (2 if lstm else 1)
        self.n = np.int64(data[0][0].shape[0])
        self.i = 0

    def step(self):
        xs, ys = self.data[self.i % len(self.data)]
        loss, aux = self.fn(xs, ys, *self.state, self.n)
        self.state = tuple(aux) if self.lstm else (aux,)
        self.i += 1
        return loss

    def set_threads(self, n):
        import stage as st
        st.set_num_threads(n)

    def snapshot(self):
        p = dict(self.model.named_parameters())
        return {**{f"p{k}": np.array(p[q]) for k, q in enumerate(self.names)},
                **{f"m{k}": np.array(self.opt.state[q]["sum"]) for k, q in enumerate(self.names)}}


def _model(kind, quick):
    lstm = kind == "lstm"
    nb = 20 if quick else 50

    def data():
        return rnn_data(nb, kind)

    def stage():
        return StageCharLM(*data(), lstm)

    def stage_module():
        return StageCharLMModule(*data(), lstm)

    def torch_form(cls, compile=False):
        def make():
            import peers_torch
            return getattr(peers_torch, cls)(*data(), LR, CLIP, lstm=lstm, compile=compile)
        return make

    def jax():
        import peers_jax
        return peers_jax.CharLM(*data(), LR, CLIP, lstm=lstm)

    titles = {"rnn": "vanilla RNN char-LM (V 26, H 50, T 20, B 20)",
              "lstm": "LSTM char-LM (V 26, H 50, T 20, B 20)",
              "minrnn": "min-char-rnn step (V 80, H 100, T 20, B 1)"}
    fused = "nn.LSTM" if lstm else "nn.RNN"
    return Model(
        name=kind, title=titles[kind], unit="step", per=5000 if kind != "minrnn" else None,
        reps=3 if quick else 6, target_s=0.08 if quick else 0.2,
        variants={"stage": stage, "stage-module": stage_module,
                  "torch": torch_form("CharLMCells"),
                  "torch-fused": torch_form("CharLMFused"),
                  "torch-compile": torch_form("CharLMCells", compile=True),
                  "torch-compile-fused": torch_form("CharLMFused", compile=True),
                  "jax": jax},
        labels={"stage": "stage (functional train_step)",
                "stage-module": "stage (st.nn.Module + st.train_step + st.optim)",
                "torch": "torch eager (cells)", "torch-fused": f"torch eager ({fused})",
                "torch-compile": "torch.compile (cells)",
                "torch-compile-fused": f"torch.compile ({fused})", "jax": "JAX jit (lax.scan)"},
        profile=lambda: _profile_args(kind),
        data=corpus if kind != "minrnn" else None,
    )


def _profile_args(kind):
    r = StageCharLM(*rnn_data(2, kind), kind == "lstm")
    return r.fn.fn, r.args()


def harness_models(quick=False):
    return [_model(k, quick) for k in ("rnn", "lstm", "minrnn")]
