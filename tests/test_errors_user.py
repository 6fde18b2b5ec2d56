"""Errors point at the user: the module and its path in the model, and tracebacks without stage's
internal frames (unless STAGE_TRACEBACK=full)."""
import os
import sys
import traceback

import numpy as np
import pytest

import stage as st

STAGE_DIR = os.path.dirname(os.path.abspath(st.__file__)) + os.sep


class Net(st.nn.Module):
    def __init__(self, bn_features=10):
        super().__init__()
        self.layers = st.nn.Sequential(st.nn.Linear(4, 12), st.nn.ReLU(),
                                       st.nn.BatchNorm1d(bn_features))

    def forward(self, x):
        return self.layers(x)


X = np.ones((3, 4), np.float32)
Y = np.zeros(3, np.int64)


def stage_frames(e):
    return [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith(STAGE_DIR)]


def test_batchnorm_in_a_model_names_itself_and_its_path():
    model = Net()
    step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model, st.optim.SGD(0.1),
                         backend="interp")
    with pytest.raises(st.StageTypeError) as e:
        step(X, Y)
    msg = str(e.value)
    assert msg.startswith("BatchNorm1d(10, eps=1e-05, momentum=0.1) at model.layers[2]: ")
    assert "got 12 features (input f32[3,12])" in msg
    assert msg.count(" at model") == 1          # named once, by the innermost module
    assert f"{__file__}:" in msg                 # and the user's line


def test_linear_called_eagerly_names_its_index_in_sequential():
    model = st.nn.Sequential(st.nn.Linear(4, 5), st.nn.Tanh(), st.nn.Linear(6, 2))
    with pytest.raises(st.StageTypeError,
                       match=r"^Linear\(6, 2, bias=True\) at model\[2\]: expects input \(\*, 6\) "
                             r"\(in_features=6\), got 5"):
        model(X)


def test_op_error_inside_a_user_module_gets_the_innermost_module():
    class Inner(st.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = st.nn.Parameter(np.ones((3, 3), np.float32))

        def forward(self, x):
            return x @ self.w                    # (3, 4) @ (3, 3): the mismatch

    class Outer(st.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Inner()

        def forward(self, x):
            return self.block(x)
    with pytest.raises(st.StageTypeError, match=r"^Inner\(\) at model\.block: matmul: inner"):
        Outer()(X)


def test_other_layers_check_their_inputs():
    cases = [(st.nn.Conv2d(3, 4, 3), np.ones((2, 1, 5, 5), np.float32), "got 1 channels"),
             (st.nn.Conv2d(3, 4, 3), np.ones((5, 5), np.float32), "got 2-d input"),
             (st.nn.BatchNorm2d(4), np.ones((2, 3, 5, 5), np.float32), "got 3 features"),
             (st.nn.Embedding(5, 2), np.ones(3, np.float32), r"integer indices, got f32\[3\]"),
             (st.nn.LSTMCell(4, 3), np.ones((2, 5), np.float32), r"\(input_size=4\), got f32\[2,5\]"),
             (st.nn.GRUCell(4, 3), np.ones((2, 5), np.float32), r"\(input_size=4\)")]
    for module, x, what in cases:
        with pytest.raises(st.StageTypeError, match=rf"^{type(module).__name__}\(.* at model: "
                                                    rf"expects .*{what}"):
            module(x)


def test_traceback_hides_stage_frames_and_ends_at_the_users_line():
    def f(x, w):
        return x @ w                             # the offending line
    with pytest.raises(st.StageTypeError) as e:
        st.compile(f, backend="interp")(X, X)
    frames = traceback.extract_tb(e.value.__traceback__)
    assert len(stage_frames(e.value)) == 1       # the entry point that re-raised, nothing else
    assert frames[-1].name == "f" and frames[-1].lineno == f.__code__.co_firstlineno + 1
    if sys.version_info >= (3, 11):
        assert any("STAGE_TRACEBACK=full" in n for n in e.value.__notes__)


def test_full_tracebacks_on_request(monkeypatch):
    monkeypatch.setenv("STAGE_TRACEBACK", "full")
    with pytest.raises(st.StageTypeError) as e:
        st.compile(lambda x, w: x @ w, backend="interp")(X, X)
    assert len(stage_frames(e.value)) > 5        # the tracer, the graph builder, the op's rule
    assert not getattr(e.value, "__notes__", None)


def test_every_entry_point_filters():
    model = Net(bn_features=12)
    bad = np.ones((3, 5), np.float32)
    calls = {
        "grad": lambda: st.grad(lambda w: st.sum(X @ w))(np.ones((3, 3), np.float32)),
        "train_step": lambda: st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model,
                                            st.optim.SGD(0.1), backend="interp")(bad, Y),
        "eval_step": lambda: st.eval_step(lambda x: model(x), model, backend="interp")(bad),
        "module": lambda: model(bad),
        "lower": lambda: st.compile(lambda x: x @ x, backend="interp").lower(X),
        "export": lambda: st.export(lambda x: x @ x, (X,), "/nonexistent/never-written"),
    }
    for name, call in calls.items():
        with pytest.raises(st.StageTypeError) as e:
            call()
        assert len(stage_frames(e.value)) == 1, (name, stage_frames(e.value))
