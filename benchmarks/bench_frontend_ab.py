"""Plain Python control flow vs the combinators, same process, interleaved (issue 11).

The examples' char-RNN, char-LSTM and TreeLSTM training steps are plain Python (`for t in
range(n)`, `if forest.left[i] < 0`), converted by stage.frontend; tests/test_frontend_examples.py
keeps the same models written with `st.fori_loop` / `st.cond`. Both are compiled natively and timed
in alternating rounds (the machine is shared: adjacent rounds see the same load); the ratio is
plain / combinators per round, and its median is reported, with the staging time of each.

    python benchmarks/bench_frontend_ab.py [--rounds 15] [--steps 50] [--trees 100]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples"), str(ROOT / "tests")]

import stage as st  # noqa: E402
import char_lstm  # noqa: E402
import char_rnn  # noqa: E402
import tree_lstm  # noqa: E402
import test_frontend_examples as comb  # noqa: E402
from stage.program import trace  # noqa: E402


def char_steps(model, combinators, nstate):
    """(plain step, combinator step, args): the examples' functional train_step, twice."""
    def make(loss):
        def step(params, memory, xs, ys, *rest):
            *state, n, lr = rest
            (loss_v, aux), grads = st.value_and_grad(loss, has_aux=True)(params, xs, ys, *state, n)
            char_rnn.adagrad_update(params, memory, grads, lr)
            return loss_v
        return step
    plain = model.rnn_loss if model is char_rnn else model.lstm_loss
    data = char_rnn.batches(np.random.default_rng(0).integers(0, 26, 20000))
    xs, ys, _ = next(data)
    params = model.init_params(0)
    state = [np.zeros((char_rnn.B, char_rnn.H), np.float32)] * nstate
    args = lambda p, m: (p, m, xs, ys, *state, np.int64(char_rnn.T), np.float32(0.1))  # noqa: E731
    return make(plain), make(combinators), params, args


def tree_steps():
    from stage.trees import load_sst
    forest, roots, vocab = load_sst()
    E = tree_lstm.embeddings(len(vocab))

    def make(loss):
        def step(P, mem, forest, E, root, lr):
            (loss_v, _), g = st.value_and_grad(loss, has_aux=True)(P, forest, E, root)
            for k in sorted(P):
                m = mem[k] + g[k] * g[k]
                st.assign(mem[k], m)
                st.assign(P[k], P[k] - lr * g[k] / st.sqrt(m + 1e-8))
            return loss_v
        return step
    return make(tree_lstm.tree_loss), make(comb.tree_loss), forest, roots, E


def timed(fn, reps):
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def staging_ms(fn, args, reps=5):
    return 1000 * min(timed(lambda: trace(fn, args), 1) for _ in range(reps))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--trees", type=int, default=100)
    a = ap.parse_args(argv)
    st.set_num_threads(1)
    rows = []
    for name, model, cf, nstate in [("rnn", char_rnn, comb.rnn_loss, 1),
                                    ("lstm", char_lstm, comb.lstm_loss, 2)]:
        plain, combi, params, args = char_steps(model, cf, nstate)
        sides = {}
        for label, fn in (("plain", plain), ("combinators", combi)):
            p = [x.copy() for x in params]
            m = [np.zeros_like(x) for x in params]
            f = st.compile(fn)
            losses = [float(f(*args(p, m))) for _ in range(3)]
            sides[label] = (f, args(p, m), losses, staging_ms(fn, args(p, m)))
        rows.append(measure(name, sides, a.rounds, a.steps, "step"))
    plain, combi, forest, roots, E = tree_steps()
    sides = {}
    order = np.random.default_rng(0).permutation(len(roots))[:a.trees]
    for label, fn in (("plain", plain), ("combinators", combi)):
        P = tree_lstm.init_params(0)
        M = {k: np.zeros_like(v) for k, v in P.items()}
        f = st.compile(fn)
        lr = np.float32(0.05)
        losses = [float(f(P, M, forest, E, roots[k], lr)) for k in order[:3]]
        sides[label] = (f, [(P, M, forest, E, roots[k], lr) for k in order], losses,
                        staging_ms(fn, (P, M, forest, E, roots[0], lr)))
    rows.append(measure("tree", sides, a.rounds, 1, "epoch of %d trees" % a.trees))
    print(f"\n{'model':6} {'plain':>12} {'combinators':>12} {'ratio (median)':>15}  staging ms "
          f"plain/comb  first losses equal")
    for r in rows:
        print(f"{r[0]:6} {r[1]:12.4g} {r[2]:12.4g} {r[3]:15.3f}  {r[4]:6.1f} / {r[5]:5.1f}  {r[6]}")


def measure(name, sides, rounds, steps, unit):
    (fp, ap_, lp, sp), (fc, ac, lc, sc) = sides["plain"], sides["combinators"]

    def run(f, a):
        if isinstance(a, list):                    # trees: one call per tree
            return timed(lambda: [f(*x) for x in a], 1)
        return timed(lambda: f(*a), steps)
    tp, tc, ratios = [], [], []
    for r in range(rounds):
        pair = [(fp, ap_, tp), (fc, ac, tc)]
        for f, a, out in (pair if r % 2 == 0 else pair[::-1]):
            out.append(run(f, a))
        ratios.append(tp[-1] / tc[-1])
    mp, mc = statistics.median(tp), statistics.median(tc)
    print(f"{name}: plain {1000 * mp:.4f} ms, combinators {1000 * mc:.4f} ms per {unit}; "
          f"ratio median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max "
          f"{max(ratios):.3f}); staging {sp:.1f} / {sc:.1f} ms; losses {lp} / {lc}", flush=True)
    return (name, 1000 * mp, 1000 * mc, statistics.median(ratios), sp, sc, lp == lc)


if __name__ == "__main__":
    main()
