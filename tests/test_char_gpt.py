"""examples/char_gpt.py at a small size: the GPT (tied head, AdamW with two parameter groups, a
warm-up/cosine schedule, clipping) learns the SST text, one compiled step serves the whole run
while the learning rate changes, and sampling gives text of the corpus' characters."""
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import char_gpt  # noqa: E402


def test_small_char_gpt_learns_and_samples():
    out = char_gpt.train(steps=120, batch_size=8, lr=1e-2, eval_every=60, verbose=False,
                         layers=1, heads=2, width=32, context=16)
    vocab, model = out["vocab"], out["model"]
    uniform = math.log(len(vocab))
    (_, _, val1), (_, train2, val2) = out["history"]
    assert val2 < val1 and val2 < uniform - 1.0           # well below guessing a character
    assert train2 < uniform - 1.0
    assert out["step"].num_specializations == 1            # the schedule recompiled nothing
    assert model.lm_head.weight is model.wte.weight        # tied: one array
    text = char_gpt.sample(model, vocab, prompt="the ", length=40, seed=1)
    assert text.startswith("the ") and len(text) == 44 and set(text) <= set(vocab.chars)
    assert text == char_gpt.sample(model, vocab, prompt="the ", length=40, seed=1)
    assert np.isfinite(val2)
