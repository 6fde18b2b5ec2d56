"""Conv1d, ConvTranspose2d, Conv2d's string paddings and padding modes, AdaptiveAvgPool1d/2d and
Upsample against PyTorch from the same weights: forward values and the gradients of the inputs and
the parameters, every layer in one staged step per backend; and the errors bad arguments get."""
import numpy as np
import pytest

import stage as st

nn = st.nn
F = nn.functional
torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)

# (make(torch.nn or st.nn), input name); the inputs: x1 (N, C, L), x2 (N, C, H, W), x3 (C, H, W),
# x4 (N, C, H, W) with sizes that tile, x5 (N, C, D, H, W), x6 (C, L)
CASES = [
    (lambda T: T.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), "x1"),
    (lambda T: T.Conv1d(4, 3, 4, padding="same", bias=False), "x1"),        # padded 1 + 2
    (lambda T: T.Conv1d(4, 2, 3, padding="same", dilation=2), "x1"),
    (lambda T: T.Conv1d(4, 2, 2, stride=3, padding="valid", dilation=4), "x1"),
    (lambda T: T.Conv1d(4, 4, 3, padding=2, padding_mode="reflect"), "x1"),
    (lambda T: T.Conv1d(4, 2, 3, padding=1, padding_mode="circular"), "x1"),
    (lambda T: T.Conv2d(3, 2, 3, padding=(1, 2), padding_mode="replicate"), "x2"),
    (lambda T: T.Conv2d(3, 4, (3, 2), padding="same", dilation=(2, 1)), "x2"),   # 2 + 2, 0 + 1
    (lambda T: T.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), "x2"),
    (lambda T: T.ConvTranspose2d(3, 6, (2, 3), stride=(1, 2), padding=(0, 1), output_padding=(0, 1),
                                 groups=3, bias=False, dilation=(2, 1)), "x2"),
    (lambda T: T.ConvTranspose2d(3, 2, 2, padding=1, output_padding=1, dilation=2), "x2"),
    (lambda T: T.AdaptiveAvgPool2d((3, None)), "x2"),     # 5 -> 3 rows: windows overlap
    (lambda T: T.AdaptiveAvgPool2d(4), "x2"),             # 5 -> 4, 7 -> 4
    (lambda T: T.AdaptiveAvgPool2d(1), "x2"),
    (lambda T: T.AdaptiveAvgPool2d((3, 4)), "x4"),        # tiles: the avg_pool2d kernel
    (lambda T: T.AdaptiveAvgPool2d((4, 2)), "x4"),        # tiles one axis, not the other
    (lambda T: T.AdaptiveAvgPool2d((2, 3)), "x3"),        # unbatched
    (lambda T: T.AdaptiveAvgPool1d(4), "x1"),
    (lambda T: T.AdaptiveAvgPool1d(1), "x1"),
    (lambda T: T.Upsample(scale_factor=2), "x2"),         # a repeat
    (lambda T: T.Upsample(size=(8, 13)), "x2"),           # a take
    (lambda T: T.Upsample(scale_factor=(1.7, 0.5)), "x2"),
    (lambda T: T.Upsample(scale_factor=0.5), "x4"),       # a strided slice
    (lambda T: T.Upsample(scale_factor=1.3, recompute_scale_factor=True), "x2"),
    (lambda T: T.Upsample(size=(4, 3), mode="area"), "x2"),
    (lambda T: T.Upsample(scale_factor=2.6, mode="nearest-exact"), "x2"),
    (lambda T: T.Upsample(scale_factor=3), "x1"),
    (lambda T: T.Upsample(size=7, mode="nearest-exact"), "x1"),
    (lambda T: T.Upsample(scale_factor=(2, 1, 1.5)), "x5"),
    # unbatched inputs, as PyTorch: (C, *spatial) in, no batch dimension out
    (lambda T: T.Conv2d(3, 2, 3, padding=1, stride=(2, 1)), "x3"),
    (lambda T: T.Conv2d(3, 4, 2, padding_mode="reflect", padding=1, groups=1), "x3"),
    (lambda T: T.ConvTranspose2d(3, 2, 2, stride=2), "x3"),
    (lambda T: T.Conv1d(4, 2, 3, padding="same"), "x6"),
    (lambda T: T.MaxPool2d(2, stride=1), "x3"),
    (lambda T: T.AvgPool2d(3, stride=2, padding=1), "x3"),
]
SHAPES = {"x1": (2, 4, 11), "x2": (2, 3, 5, 7), "x3": (3, 5, 7), "x4": (2, 3, 6, 8),
          "x5": (1, 2, 3, 2, 4), "x6": (4, 9)}


class Inputs(nn.Module):
    """The inputs as parameters: one SGD step with lr 1 then shows their gradients too."""

    def __init__(self, arrays):
        super().__init__()
        for k, v in arrays.items():
            setattr(self, k, nn.Parameter(v.copy()))


def _close(a, b, tol):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.filterwarnings("ignore:Using padding='same'")     # PyTorch's, of its own padded copy
@pytest.mark.parametrize("backend", ["interp", "native"])
def test_layers_match_torch_forward_and_gradients(backend):
    torch.manual_seed(0)
    pairs = [(make(torch.nn), make(nn), key) for make, key in CASES]
    for t, s, _ in pairs:
        assert repr(s) == repr(t)
        assert [(k, v.shape) for k, v in s.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
        s.load_state_dict(t.state_dict())
    xs = {k: rng.standard_normal(shape).astype(np.float32) for k, shape in SHAPES.items()}
    tx = {k: torch.tensor(v, requires_grad=True) for k, v in xs.items()}
    touts = [t(tx[key]) for t, _, key in pairs]
    cs = [rng.standard_normal(tuple(y.shape)).astype(np.float32) for y in touts]
    sum(((y * torch.tensor(c)).sum() for y, c in zip(touts, cs))).backward()

    model = nn.ModuleDict({"layers": nn.ModuleList([s for _, s, _ in pairs]),
                           "inputs": Inputs(xs)})

    def loss(cs, one):
        outs = [s(getattr(model["inputs"], key)) for _, s, key in pairs]
        # returned as new arrays (times a runtime 1): an upsampled input is a view of it, which
        # the step may not return after updating the input in place
        return sum(st.sum(o * c) for o, c in zip(outs, cs)), [o * one for o in outs]
    before = [p.copy() for p in model.parameters()]
    _, outs = st.train_step(loss, model, st.optim.SGD(lr=1.0), has_aux=True,
                            backend=backend)(cs, np.float32(1))
    for o, y, (t, _, _) in zip(outs, touts, pairs):
        assert o.shape == tuple(y.shape), t
        _close(o, y, 1e-5)
    grads = [w0 - w1 for w0, w1 in zip(before, model.parameters())]     # SGD, lr 1
    expected = [p.grad for t, _, _ in pairs for p in t.parameters()] + \
        [tx[k].grad for k in SHAPES]
    assert len(grads) == len(expected)
    for g, e in zip(grads, expected):
        _close(g, e, 1e-4)


def test_conv_transpose_output_size_and_functional_forms_match_torch():
    torch.manual_seed(1)
    t = torch.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1)
    s = nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1)
    s.load_state_dict(t.state_dict())
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    w1 = rng.standard_normal((4, 2, 3)).astype(np.float32)
    x1 = rng.standard_normal((2, 2, 9)).astype(np.float32)
    T, tt = torch.nn.functional, torch.tensor

    def f(x, x1, w1):
        return (s(x, output_size=(8, 11)), s(x, output_size=(1, 3, 7, 12)),
                F.conv1d(x1, w1, stride=2, padding=1), F.conv_transpose2d(x, s.weight, stride=2),
                F.adaptive_avg_pool2d(x, (2, 3)), F.adaptive_avg_pool1d(x1, 5),
                F.interpolate(x1, scale_factor=2.5), F.interpolate(x, size=(5, 5)))
    ys = st.compile(f, backend="interp")(x, x1, w1)
    expected = (t(tt(x), output_size=(8, 11)), t(tt(x), output_size=(1, 3, 7, 12)),
                T.conv1d(tt(x1), tt(w1), stride=2, padding=1),
                T.conv_transpose2d(tt(x), t.weight, stride=2), T.adaptive_avg_pool2d(tt(x), (2, 3)),
                T.adaptive_avg_pool1d(tt(x1), 5), T.interpolate(tt(x1), scale_factor=2.5),
                T.interpolate(tt(x), size=(5, 5)))
    for y, e in zip(ys, expected):
        _close(y, e, 1e-5)
    with pytest.raises(ValueError, match="output_size"):
        st.compile(lambda x: s(x, output_size=(10, 11)), backend="interp")(x)


def _stage(fn, *arrays):
    return st.compile(fn, backend="interp")(*arrays)


def test_bad_arguments_raise_errors_naming_them():
    x1 = np.zeros((2, 4, 8), np.float32)
    x2 = np.zeros((2, 3, 5, 6), np.float32)
    ctor_errors = [
        (lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError, "divisible by groups"),
        (lambda: nn.Conv1d(4, 6, 3, padding_mode="mirror"), ValueError, "padding_mode"),
        (lambda: nn.Conv1d(4, 6, 3, stride=2, padding="same"), ValueError, "strided"),
        (lambda: nn.Conv1d(4, 6, 3, padding="full"), ValueError, "padding"),
        (lambda: nn.Conv1d(4, 6, 3, padding=-1), ValueError, "padding"),
        (lambda: nn.Conv1d(4, 6, (3, 3)), ValueError, "kernel_size"),
        (lambda: nn.Conv2d(4, 6, 0), ValueError, "kernel_size"),
        (lambda: nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"), ValueError, "'zeros'"),
        (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=2), ValueError,
         "output_padding"),
        (lambda: nn.ConvTranspose2d(4, 6, 3, padding="same"), ValueError, "padding"),
        (lambda: nn.AdaptiveAvgPool2d((2, 0)), ValueError, "output_size"),
        (lambda: nn.AdaptiveAvgPool2d((2, 2, 2)), ValueError, "output_size"),
        (lambda: nn.AdaptiveAvgPool1d(None), ValueError, "output_size"),
        (lambda: nn.Upsample(), ValueError, "size and scale_factor"),
        (lambda: nn.Upsample(size=4, scale_factor=2), ValueError, "size and scale_factor"),
        (lambda: nn.Upsample(scale_factor=-2), ValueError, "positive"),
        (lambda: nn.Upsample(size=(4, None)), ValueError, "positive"),
        (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), NotImplementedError, "bilinear"),
    ]
    for make, exc, words in ctor_errors:
        with pytest.raises(exc, match=words):
            make()
    staged_errors = [
        (lambda x: nn.Conv1d(3, 6, 3)(x), x1, st.StageTypeError, "in_channels=3"),
        (lambda x: nn.Conv1d(4, 6, 3)(x), x2, st.StageTypeError, "4-d input"),
        (lambda x: nn.ConvTranspose2d(4, 6, 3)(x), x2, st.StageTypeError, "in_channels=4"),
        (lambda x: nn.Conv1d(4, 6, 3, padding=8, padding_mode="reflect")(x), x1, ValueError,
         "at most 7"),
        (lambda x: F.conv_transpose2d(x, np.zeros((3, 2, 3, 3), np.float32), padding=4), x2,
         ValueError, "empty"),
        (lambda x: F.conv_transpose2d(x, np.zeros((3, 2, 3, 3), np.float32), groups=2), x2,
         st.StageTypeError, "groups=2"),
        (lambda x: F.conv_transpose2d(x, np.zeros((4, 2, 3, 3), np.float32)), x2,
         st.StageTypeError, "3 channels"),
        (lambda x: F.conv1d(x, np.zeros((6, 4, 3), np.float32), dilation=(1, 2)), x1, ValueError,
         "dilation"),
        (lambda x: F.adaptive_avg_pool2d(x[0], 2), x1, st.StageTypeError, "adaptive_avg_pool2d"),
        (lambda x: F.adaptive_avg_pool1d(x, 2), x2, st.StageTypeError, "adaptive_avg_pool1d"),
        (lambda x: F.interpolate(x, size=(3, 3)), x1, ValueError, "size"),
        (lambda x: F.interpolate(x, scale_factor=0.1), x1, ValueError, "empty"),
        (lambda x: F.interpolate(x, scale_factor=2, mode="linear"), x1, NotImplementedError,
         "'linear'"),
        (lambda x: F.interpolate(x, scale_factor=2, align_corners=True), x1, ValueError,
         "align_corners"),
        (lambda x: F.interpolate(x, size=4, recompute_scale_factor=True), x1, ValueError,
         "recompute_scale_factor"),
        (lambda x: nn.Upsample(scale_factor=2)(x[0, 0]), x1, st.StageTypeError, "spatial"),
    ]
    for fn, x, exc, words in staged_errors:
        with pytest.raises(exc, match=words):               # (staging raises: nothing compiles)
            _stage(fn, x)
