"""The training-step fuzzer: random models (MLPs with norms and dropout, CNNs, recurrent nets,
Transformer encoder layers, embedding bags; tests/fuzz/train.py), losses and optimizers (SGD with
momentum or Nesterov, Adam, AdamW, Adagrad; weight decay, gradient clipping), sometimes with aux
outputs, trained three steps natively and by the interpreter from the same parameters: losses,
aux outputs, parameters, buffers (batch-norm statistics) must agree. Every other seed runs with
every loop split between 2 threads however small (codegen/parallel.py GRAIN at 1), so in-place
updates, fused products and reductions of every shape meet the parallel code too.
STAGE_FUZZ_TRAIN=N runs N seeds (STAGE_FUZZ_SEED shifts them)."""
import os

import numpy as np
import pytest

import stage as st
from fuzz.train import setup
from stage import pytree
from stage.codegen import parallel

N = int(os.environ.get("STAGE_FUZZ_TRAIN", "24"))
BASE = int(os.environ.get("STAGE_FUZZ_SEED", "0"))


def _train(seed, backend):
    model, args, loss_fn, make_opt, aux, desc = setup(seed)
    opts = {"cxxflags": "-O1"} if backend == "native" else {}
    step = st.train_step(loss_fn(model), model, make_opt(), has_aux=aux, backend=backend, **opts)
    outs = [step(*args) for _ in range(3)]
    return outs, model.state_dict(), desc


@pytest.mark.parametrize("seed", range(BASE, BASE + N))
def test_native_training_steps_agree_with_the_interpreter(seed, monkeypatch):
    threads = st.get_num_threads()
    if seed % 2:
        monkeypatch.setattr(parallel, "GRAIN", 1)
        st.set_num_threads(2)
    try:
        got, got_state, desc = _train(seed, "native")
    finally:
        st.set_num_threads(threads)
    want, want_state, _ = _train(seed, "interp")
    a, b = pytree.flatten(got)[0], pytree.flatten(want)[0]
    assert len(a) == len(b), desc
    for k, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, err_msg=f"output {k}: {desc}")
    assert list(got_state) == list(want_state)
    for name in got_state:
        np.testing.assert_allclose(got_state[name], want_state[name], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name} after 3 steps: {desc}")
