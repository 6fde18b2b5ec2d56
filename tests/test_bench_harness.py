"""benchmarks/harness.py's first-step check: a peer that computes other numbers than stage is
reported failed and never timed; parameters can be compared except where the gradient is rounding
noise (Adam's first step turns noise into a full step of either sign). Fake runners, no compiling.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import harness  # noqa: E402


def _snap(p, m):
    return {"w": np.array(p, np.float32), "m_w": np.array(m, np.float32)}


def test_noise_gradients_left_out_of_the_parameter_comparison():
    ref = _snap([1.0, 2.0, 3.0, 4.0], [1.0, -0.5, 1e-13, 0.0])
    got = _snap([1.0, 2.0, 3.006, 4.0], [1.0, -0.5, -2e-13, 0.0])   # noise moved element 2
    assert not harness.check(4.0, ref, 4.0, got, 1e-4)["ok"]
    c = harness.check(4.0, ref, 4.0, got, 1e-4, 1e-5)
    assert c["ok"] and c["params"]["max_rel"] == 0.0
    assert c["params"]["left_out"].startswith("2 of 4 elements")
    got["w"][0] = 1.01                                              # a real difference is seen
    c = harness.check(4.0, ref, 4.0, got, 1e-4, 1e-5)
    assert not c["ok"] and c["params"]["worst"] == "w"


class _Runner:
    def __init__(self, scale):
        self.scale, self.runs = scale, 0

    def step0(self):
        return 2.0 * self.scale

    def snapshot(self):
        return _snap([self.scale, 1.0], [0.5, 0.25])

    def run(self, n):
        self.runs += n
        return 0.0


def test_a_peer_that_differs_fails_loudly_and_is_not_timed(capsys):
    runners = {}

    def factory(name, scale):
        def make():
            runners[name] = _Runner(scale)
            return runners[name]
        return make
    model = harness.Model(name="fake", title="fake", unit="step", reps=2,
                          variants={"stage": factory("stage", 1.0), "good": factory("good", 1.0),
                                    "bad": factory("bad", 1.001)},
                          target_s=0.001, warmup_units=1, budget_s=1.0)
    out = harness.steady(model, ["stage", "good", "bad"], [1])
    assert out["checks"]["good"]["ok"] and not out["checks"]["bad"]["ok"]
    assert out["failed"]["bad"].startswith("CheckFailed: bad's first step differs")
    assert "bad" not in out["times"]["1"] and runners["bad"].runs == 0
    assert runners["good"].runs > 0 and "good" in out["times"]["1"]
    assert "CheckFailed: bad" in capsys.readouterr().err


class _Threaded(_Runner):
    """Takes 2 ms per unit at one thread and 1 ms at two; logs the thread count of every run."""

    def __init__(self, log):
        super().__init__(1.0)
        self.n, self.log = 1, log

    def set_threads(self, n):
        self.n = n

    def run(self, n):
        self.log.append(self.n)
        import time
        time.sleep(n * 0.002 / self.n)
        return 0.0


def test_thread_counts_interleave_and_stage_speedup_is_per_repetition():
    log = []
    model = harness.Model(name="fake", title="fake", unit="step", reps=4,
                          variants={"stage": lambda: _Threaded(log)}, target_s=0.01,
                          warmup_units=1, budget_s=10.0, cooldown_s=0.0)
    out = harness.steady(model, ["stage"], [1, 2])
    # after the calibration runs: 4 repetitions x 2 thread counts, each timed run after an
    # unmeasured warm-up at its thread count
    warm, timed = log[-16::2], log[-15::2]
    assert timed == [1, 2, 2, 1, 1, 2, 2, 1]      # adjacent in time, order alternating
    assert warm == timed
    assert len(out["times"]["2"]["stage"]["all"]) == 4
    sp = out["stage_speedup"]["2"]          # (repetitions other processes disturbed left out)
    assert 1.5 < sp["median"] < 2.5
