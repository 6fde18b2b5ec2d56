"""A small decoder-only Transformer (a character-level GPT) trained on the SST sentences shipped
with stage, then sampling text.

4 layers, 4 heads, width 128, context 64 (about 0.8 M parameters), pre-norm blocks (LayerNorm,
causal self-attention through `st.nn.functional.scaled_dot_product_attention`, a GELU MLP), the
output layer tied to the token embedding, AdamW (weight decay on matrices only: two parameter
groups) with a linear warm-up and cosine decay (`st.optim.lr_scheduler.LambdaLR`), gradients
clipped to norm 1. The whole training step -- forward, backward, clipping and the AdamW update --
is one native call; the schedule changes a runtime scalar, never the compiled code.

The corpus is the text of the 1,101 SST dev sentences (about 110,000 characters, one sentence a
line), 90 % for training and the last 10 % for validation. The default run (1,500 steps of 16
sequences) reaches a validation loss of 1.77 nats per character (guessing: ln 84 = 4.43; 2.10 at
step 500, 1.86 at step 1000) in 420 to 990 s on a shared 2-core machine under a load of about 10
(two runs; the same losses), so a few minutes on a quiet one.

    python examples/char_gpt.py [--steps 1500] [--batch 16] [--seed 0] [--sample 300]
"""
from __future__ import annotations

import argparse
import math
import re
import time

import numpy as np

import stage as st
from stage.datasets import sst_dev_lines
from stage.progress import progress

nn = st.nn
F = nn.functional

LAYERS, HEADS, WIDTH, CONTEXT = 4, 4, 128, 64
_UNESCAPE = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}


def sst_text() -> str:
    """The SST dev sentences as plain text, one a line (the leaves of each tree joined)."""
    leaf = re.compile(r"\(\d+ ([^()\s]+)\)")
    lines = [" ".join(_UNESCAPE.get(w, w) for w in leaf.findall(t)) for t in sst_dev_lines()]
    return "\n".join(lines) + "\n"


class Vocab:
    """Characters <-> ids (every character of the text)."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, s):
        return np.array([self.index[c] for c in s], np.int64)

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in ids)


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)

    def forward(self, x):
        B, T, C = x.shape
        H = self.heads
        qkv = st.reshape(self.c_attn(x), (B, T, 3, H, C // H))
        q, k, v = (st.transpose(qkv[:, :, i], (0, 2, 1, 3)) for i in range(3))   # (B, H, T, d)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(st.reshape(st.transpose(y, (0, 2, 1, 3)), (B, T, C)))


class Block(nn.Module):
    def __init__(self, width, heads, dropout=0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * width, width), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token and position embeddings, `layers` pre-norm blocks, a final LayerNorm and the output
    layer tied to the token embedding (GPT-2's structure and initialisation)."""

    def __init__(self, vocab, layers=LAYERS, heads=HEADS, width=WIDTH, context=CONTEXT,
                 dropout=0.0, seed=0):
        super().__init__()
        nn.manual_seed(seed)
        self.context = context
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(width, heads, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.lm_head.weight = self.wte.weight                  # tied: one array
        rng = np.random.default_rng(seed)
        for name, p in self.named_parameters():               # N(0, 0.02), residual outputs
            if p.ndim == 2:                                    # scaled by 1/sqrt(2 layers)
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("c_proj.weight") or \
                    name.endswith("mlp.2.weight") else 0.02
                p[...] = rng.standard_normal(p.shape) * std
            elif name.endswith(".bias"):
                p[...] = 0

    def forward(self, idx):
        B, T = idx.shape
        x = self.drop(self.wte(idx) + self.wpe.weight[:T])
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    def loss(self, idx, targets):
        logits = self(idx)
        return F.cross_entropy(st.reshape(logits, (-1, logits.shape[-1])),
                               st.reshape(targets, (-1,)))


def optimizer(model, lr=3e-3, weight_decay=0.1, clip=1.0):
    """AdamW, weight decay on the matrices only (two parameter groups), gradients clipped."""
    decay = [p for _, p in model.named_parameters() if p.ndim >= 2]
    rest = [p for _, p in model.named_parameters() if p.ndim < 2]
    return st.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=lr, betas=(0.9, 0.99), clip_norm=clip)


def warmup_cosine(warmup, total, floor=0.1):
    """The learning-rate factor of step e: linear warm-up, then cosine decay to `floor`."""
    def factor(e):
        if e < warmup:
            return (e + 1) / warmup
        t = min(1.0, (e - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    return factor


def batch(ids, rng, size, context):
    """`size` random windows of the text: inputs and the next characters."""
    starts = rng.integers(0, len(ids) - context - 1, size)
    x = np.stack([ids[s:s + context] for s in starts])
    y = np.stack([ids[s + 1:s + context + 1] for s in starts])
    return x, y


def evaluate(model, loss_of, ids, batch_size=32, context=CONTEXT):
    """Mean loss over consecutive windows of `ids` (a fixed validation set)."""
    n = (len(ids) - 1) // context
    windows = np.arange(n) * context
    total = 0.0
    model.eval()
    for i in range(0, n - batch_size + 1, batch_size):
        s = windows[i:i + batch_size]
        x = np.stack([ids[j:j + context] for j in s])
        y = np.stack([ids[j + 1:j + context + 1] for j in s])
        total += float(loss_of(x, y)) * len(s)
    model.train()
    return total / ((n // batch_size) * batch_size)


def sample(model, vocab, prompt="the ", length=300, temperature=0.8, seed=0):
    """Generate `length` characters after `prompt`: one compiled function for every position
    (the window is padded to the context on the right; the causal mask keeps the padding out)."""
    model.eval()
    T = model.context
    next_logits = st.eval_step(lambda idx, pos: model(idx)[0, pos], model)
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    for _ in range(length):
        window = ids[-T:]
        idx = np.zeros((1, T), np.int64)
        idx[0, :len(window)] = window
        logits = next_logits(idx, np.int64(len(window) - 1)).astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return vocab.decode(ids)


def train(steps=1500, batch_size=16, seed=0, lr=3e-3, eval_every=250, verbose=True,
          dropout=0.0, layers=LAYERS, heads=HEADS, width=WIDTH, context=CONTEXT):
    """Train the GPT; returns the model, vocabulary, losses (step, smoothed training loss,
    validation loss) and the training time."""
    text = sst_text()
    vocab = Vocab(text)
    ids = vocab.encode(text)
    split = int(0.9 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    model = GPT(len(vocab), layers, heads, width, context, dropout=dropout, seed=seed)
    opt = optimizer(model, lr)
    sched = st.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(min(100, steps // 10), steps))
    step = st.train_step(lambda x, y: model.loss(x, y), model, opt, seed=seed)
    val_loss = st.eval_step(lambda x, y: model.loss(x, y), model)
    rng = np.random.default_rng(seed)
    history, smooth = [], None
    t0 = time.perf_counter()
    bar = progress(range(1, steps + 1), desc="steps", enabled=verbose)
    for i in bar:
        loss = float(step(*batch(train_ids, rng, batch_size, model.context)))
        sched.step()
        smooth = loss if smooth is None else 0.95 * smooth + 0.05 * loss
        bar.set(loss=smooth, lr=sched.get_last_lr()[0])
        if i % eval_every == 0 or i == steps:
            history.append((i, smooth, evaluate(model, val_loss, val_ids, context=context)))
            bar.write(f"step {i}: train loss {smooth:.3f}, validation loss {history[-1][2]:.3f}")
    return {"model": model, "vocab": vocab, "history": history, "step": step,
            "seconds": time.perf_counter() - t0, "params": model.num_parameters()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--sample", type=int, default=300, help="characters to generate")
    a = ap.parse_args()
    out = train(a.steps, a.batch, a.seed, a.lr)
    i, tr, va = out["history"][-1]
    print(f"{out['params']:,} parameters, {a.steps} steps in {out['seconds']:.0f} s: "
          f"train loss {tr:.3f}, validation loss {va:.3f} nats/char "
          f"(uniform: {math.log(len(out['vocab'])):.2f})")
    print(sample(out["model"], out["vocab"], length=a.sample, seed=a.seed))
