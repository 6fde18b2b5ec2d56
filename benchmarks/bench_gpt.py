"""The character GPT of examples/char_gpt.py: one training step (forward, backward, gradient
clipping, AdamW with two parameter groups) in stage, PyTorch (eager and torch.compile) and JAX
(jit): the `gpt` model of benchmarks/run.py.

The example's model -- 4 layers, 4 heads, width 128, context 64, vocabulary 84 (the SST sentences'
characters), tied output layer, GELU (tanh), causal attention (PyTorch:
F.scaled_dot_product_attention with is_causal; JAX: jax.nn.dot_product_attention with is_causal),
AdamW lr 3e-3, betas (0.9, 0.99), weight decay 0.1 on matrices, clipping at norm 1, no dropout --
at batch 8 (the example trains at 16; 8 keeps a step within ~50-150 ms on one core). Every
framework starts from stage's initial weights and trains on the same batches.

The first-step check compares the loss, AdamW's moments (0.1 x the clipped gradients and 0.01 x
their squares) and the parameters after the step, the latter except where the gradient is below
1e-5 x the largest one (about 2 % of the elements): AdamW's first update is lr x sign(gradient),
and gradients that are zero in exact arithmetic (the attention's key bias, |g| ~ 1e-13) take a sign
from rounding noise in every framework.

    python benchmarks/bench_gpt.py [--quick] [--compile] [--threads 1,2]   # = run.py --models gpt
"""
from __future__ import annotations

import functools

import numpy as np

from harness import Model, examples_module

LR, BETAS, WD, CLIP, BATCH = 3e-3, (0.9, 0.99), 0.1, 1.0, 8
NOISE = 1e-5          # gradients below NOISE x the largest: parameters not compared


@functools.lru_cache(maxsize=None)
def corpus():
    g = examples_module("char_gpt")
    text = g.sst_text()
    vocab = g.Vocab(text)
    return vocab, vocab.encode(text)


def setup(nbatches):
    """stage's initial weights (state-dict names, the tied head included) and the batches."""
    g = examples_module("char_gpt")
    vocab, ids = corpus()
    model = g.GPT(len(vocab), seed=0)
    rng = np.random.default_rng(0)
    data = [g.batch(ids, rng, BATCH, g.CONTEXT) for _ in range(nbatches)]
    return len(vocab), {k: v.copy() for k, v in model.state_dict().items()}, data


class StageGPT:
    def __init__(self, vocab, init, data):
        g = examples_module("char_gpt")
        import stage as st
        self.st = st
        self.model = g.GPT(vocab, seed=0)
        self.model.load_state_dict(init)
        self.opt = g.optimizer(self.model, LR, WD, CLIP)
        self.step_fn = st.train_step(lambda x, y: self.model.loss(x, y), self.model, self.opt)
        self.data, self.i = data, 0

    def step0(self):
        self.i = 1
        return float(self.step_fn(*self.data[0]))

    def run(self, n):
        for _ in range(n):
            loss = self.step_fn(*self.data[self.i % len(self.data)])
            self.i += 1
        return float(loss)

    def set_threads(self, n):
        self.st.set_num_threads(n)

    def staged(self):
        s, opt = self.step_fn, self.opt
        args = (*s._state(), opt.state, opt.hyper(), s._key(), self.model.modes(), self.data[0])
        return s.compiled.fn, args

    def snapshot(self):
        s = {k: v.copy() for k, v in self.model.named_parameters()}
        s.update({"m_" + k: v["exp_avg"].copy() for k, v in self.opt.state.items()})
        s.update({"msq_" + k: v["exp_avg_sq"].copy() for k, v in self.opt.state.items()})
        return s


class TorchGPT:
    check_params = NOISE

    def __init__(self, vocab, init, data, compile=False):
        import torch
        import torch.nn as tnn
        import torch.nn.functional as TF
        self.torch = torch
        C, H = 128, 4

        class Attn(tnn.Module):
            def __init__(self):
                super().__init__()
                self.c_attn, self.c_proj = tnn.Linear(C, 3 * C), tnn.Linear(C, C)

            def forward(self, x):
                B, T, _ = x.shape
                q, k, v = self.c_attn(x).view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)
                y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
                return self.c_proj(y.transpose(1, 2).reshape(B, T, C))

        class Block(tnn.Module):
            def __init__(self):
                super().__init__()
                self.ln_1, self.attn, self.ln_2 = tnn.LayerNorm(C), Attn(), tnn.LayerNorm(C)
                self.mlp = tnn.Sequential(tnn.Linear(C, 4 * C), tnn.GELU(approximate="tanh"),
                                          tnn.Linear(4 * C, C), tnn.Dropout(0.0))

            def forward(self, x):
                x = x + self.attn(self.ln_1(x))
                return x + self.mlp(self.ln_2(x))

        class GPT(tnn.Module):
            def __init__(self):
                super().__init__()
                self.wte, self.wpe = tnn.Embedding(vocab, C), tnn.Embedding(64, C)
                self.h = tnn.ModuleList([Block() for _ in range(4)])
                self.ln_f = tnn.LayerNorm(C)
                self.lm_head = tnn.Linear(C, vocab, bias=False)
                self.lm_head.weight = self.wte.weight

            def forward(self, idx, y):
                x = self.wte(idx) + self.wpe.weight[:idx.shape[1]]
                for b in self.h:
                    x = b(x)
                logits = self.lm_head(self.ln_f(x))
                return TF.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.model = GPT()
        self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
        named = list(self.model.named_parameters())
        self.names = [k for k, _ in named]
        decay = [p for k, p in named if p.ndim >= 2]
        rest = [p for k, p in named if p.ndim < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                                      {"params": rest, "weight_decay": 0.0}], lr=LR, betas=BETAS)
        self.loss_fn = torch.compile(self.model) if compile else self.model
        params = [p for _, p in named]

        def update():
            torch.nn.utils.clip_grad_norm_(params, CLIP)
            self.opt.step()
        self.update = torch.compile(update) if compile else update
        self.data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
        self.i = 0

    def _step(self, x, y):
        loss = self.loss_fn(x, y)
        loss.backward()
        self.update()
        self.opt.zero_grad(set_to_none=True)
        return loss.detach()

    def step0(self):
        self.i = 1
        return float(self._step(*self.data[0]))

    def run(self, n):
        for _ in range(n):
            loss = self._step(*self.data[self.i % len(self.data)])
            self.i += 1
        return float(loss)

    def snapshot(self):
        named = dict(self.model.named_parameters())
        s = {k: p.detach().numpy().copy() for k, p in named.items()}
        st = self.opt.state
        s.update({"m_" + k: st[p]["exp_avg"].numpy().copy() for k, p in named.items()})
        s.update({"msq_" + k: st[p]["exp_avg_sq"].numpy().copy() for k, p in named.items()})
        return s


class JaxGPT:
    check_params = TorchGPT.check_params

    def __init__(self, vocab, init, data):
        import jax
        import jax.numpy as jnp
        H = 4
        P = {k: v for k, v in init.items() if k != "lm_head.weight"}      # tied to wte.weight
        names = sorted(P)

        def ln(x, w, b):
            m = x.mean(-1, keepdims=True)
            v = ((x - m) ** 2).mean(-1, keepdims=True)
            return (x - m) / jnp.sqrt(v + 1e-5) * w + b

        def lin(x, P, n):
            return x @ P[n + ".weight"].T + (P[n + ".bias"] if n + ".bias" in P else 0)

        def loss_fn(P, idx, y):
            B, T = idx.shape
            x = P["wte.weight"][idx] + P["wpe.weight"][:T]
            for i in range(4):
                b = f"h.{i}."
                h = ln(x, P[b + "ln_1.weight"], P[b + "ln_1.bias"])
                q, k, v = jnp.split(lin(h, P, b + "attn.c_attn").reshape(B, T, 3 * H, -1), 3, 2)
                a = jax.nn.dot_product_attention(q, k, v, is_causal=True)     # (B, T, H, d)
                x = x + lin(a.reshape(B, T, -1), P, b + "attn.c_proj")
                h = ln(x, P[b + "ln_2.weight"], P[b + "ln_2.bias"])
                x = x + lin(jax.nn.gelu(lin(h, P, b + "mlp.0"), approximate=True), P, b + "mlp.2")
            logits = ln(x, P["ln_f.weight"], P["ln_f.bias"]) @ P["wte.weight"].T
            lse = jax.nn.logsumexp(logits, -1)
            return jnp.mean(lse - jnp.take_along_axis(logits, y[..., None], -1)[..., 0])

        b1, b2 = BETAS

        @functools.partial(jax.jit, donate_argnums=(0, 1, 2))
        def step(P, M, V, t, x, y):
            loss, g = jax.value_and_grad(loss_fn)(P, x, y)
            norm = jnp.sqrt(sum(jnp.sum(d * d) for d in g.values()))
            coef = jnp.minimum(CLIP / (norm + 1e-6), 1.0)
            new = ({}, {}, {})
            for k in names:
                d = g[k] * coef
                m = b1 * M[k] + (1 - b1) * d
                v = b2 * V[k] + (1 - b2) * d * d
                p = P[k] * (1 - LR * WD) if P[k].ndim >= 2 else P[k]
                denom = jnp.sqrt(v) / jnp.sqrt(1 - b2 ** t) + 1e-8
                new[0][k] = p - LR / (1 - b1 ** t) * m / denom
                new[1][k], new[2][k] = m, v
            return new + (loss,)
        self.jax, self.fn, self.t = jax, step, 0
        self.P = {k: jnp.asarray(v) for k, v in P.items()}
        self.M = {k: jnp.zeros_like(v) for k, v in self.P.items()}
        self.V = {k: jnp.zeros_like(v) for k, v in self.P.items()}
        self.data = [(jnp.asarray(x), jnp.asarray(y)) for x, y in data]
        self.i = 0

    def _step(self, x, y):
        self.t += 1
        self.P, self.M, self.V, loss = self.fn(self.P, self.M, self.V, np.float32(self.t), x, y)
        return loss

    def step0(self):
        self.i = 1
        return float(self._step(*self.data[0]))

    def run(self, n):
        for _ in range(n):
            loss = self._step(*self.data[self.i % len(self.data)])
            self.i += 1
        return float(self.jax.block_until_ready(loss))

    def snapshot(self):
        s = {k: np.asarray(v) for k, v in self.P.items()}
        s.update({"m_" + k: np.asarray(v) for k, v in self.M.items()})
        s.update({"msq_" + k: np.asarray(v) for k, v in self.V.items()})
        return s


def harness_models(quick):
    nb = 10 if quick else 40

    def make(cls, **kw):
        def factory():
            return cls(*setup(nb), **kw)
        return factory
    return [Model(name="gpt", title="char GPT (4 layers, 4 heads, width 128, context 64; "
                  f"batch {BATCH}, AdamW, clip 1)", unit="step", reps=3 if quick else 6,
                  target_s=0.3 if quick else 0.6,
                  variants={"stage": make(StageGPT), "torch": make(TorchGPT),
                            "torch-compile": make(TorchGPT, compile=True), "jax": make(JaxGPT)},
                  labels={"stage": "stage (st.nn + st.train_step + st.optim.AdamW)",
                          "torch": "torch eager (nn.Module, F.scaled_dot_product_attention, "
                                   "optim.AdamW)",
                          "torch-compile": "torch.compile (model, and clip + optimizer step)",
                          "jax": "JAX jit (jax.nn.dot_product_attention)"},
                  warmup_units=3, data=corpus,
                  profile=lambda: StageGPT(*setup(1)).staged())]


def main(argv=None):
    """`run.py --models gpt` with the other arguments passed on."""
    import sys
    import run
    run.main(["--models", "gpt"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
