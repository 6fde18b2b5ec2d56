"""safetensors everywhere: stage's reader and writer against the reference implementation, modules
saved and loaded across stage and PyTorch, and the C reader inside an exported library."""
import ctypes
import json
import shutil
import struct

import numpy as np
import pytest

import stage as st
from stage import safetensors as S

rng = np.random.default_rng(0)

ARRAYS = {"w": rng.standard_normal((2, 3)).astype(np.float32), "mask": np.array([True, False]),
          "step": np.array(7, np.int64), "i32": np.arange(5, dtype=np.int32),
          "f64": rng.standard_normal(4), "half": np.array([1.5, -2.0], np.float16),
          "u8": np.arange(3, dtype=np.uint8), "empty": np.zeros((0, 4), np.float32),
          "naïve \"name\"": np.ones(1, np.float32)}


def same(a, b, ordered=False):
    assert (list(a) == list(b)) if ordered else (sorted(a) == sorted(b))
    for k in b:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k])


def test_roundtrip_and_layout(tmp_path):
    blob = S.save(ARRAYS, metadata={"format": "np"})
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0                                  # data starts 8-byte aligned
    header = json.loads(blob[8:8 + n])
    assert header["__metadata__"] == {"format": "np"}
    assert header["w"] == {"dtype": "F32", "shape": [2, 3],
                           "data_offsets": header["w"]["data_offsets"]}
    for k, e in header.items():                              # each tensor aligned to its item size
        if k != "__metadata__":
            assert e["data_offsets"][0] % np.dtype(S.DTYPES[e["dtype"]]).itemsize == 0
    same(S.load(blob), ARRAYS, ordered=True)               # the header keeps the given order
    S.save_file(ARRAYS, tmp_path / "a.safetensors", {"k": "v"})
    same(S.load_file(tmp_path / "a.safetensors"), ARRAYS)
    assert S.load_metadata(tmp_path / "a.safetensors") == {"k": "v"}
    assert S.load(S.save({})) == {} and len(S.save({})) == 16
    assert [p.name for p in tmp_path.iterdir()] == ["a.safetensors"]   # no temporary left behind


def test_agrees_with_the_reference_implementation(tmp_path):
    ref = pytest.importorskip("safetensors.numpy")
    same(ref.load(S.save(ARRAYS)), ARRAYS)                 # theirs reads ours
    same(S.load(ref.save(ARRAYS, metadata={"a": "b"})), ARRAYS)   # ours reads theirs
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    t = {"bf": torch.randn(3, 5).to(torch.bfloat16), "f": torch.randn(2)}
    save_file(t, tmp_path / "t.safetensors", metadata={"format": "pt"})
    back = S.load_file(tmp_path / "t.safetensors")
    assert back["bf"].dtype == np.float32                   # bfloat16 widens exactly
    np.testing.assert_array_equal(back["bf"], t["bf"].float().numpy())
    np.testing.assert_array_equal(back["f"], t["f"].numpy())
    assert S.load_metadata(tmp_path / "t.safetensors") == {"format": "pt"}


def _file(header, data=b"", pad=True):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("blob, match", [
    (b"\x01\x02", "not a safetensors file"),
    (struct.pack("<Q", 1000) + b"{}", "header length 1000"),
    (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    (struct.pack("<Q", 3) + b"{x}", "not valid JSON"),
    (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4), "bad shape or offsets"),
    (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4), "needs 8 bytes"),
    (_file({"a": {"dtype": "Q8", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8), "malformed entry"),
    (_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), "bad shape"),
    (_file({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
            "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\0" * 3), "overlap"),
    (_file({"a": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\0" * 3), "hole"),
    (_file({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 3), "cover 2"),
    (_file({"__metadata__": {"a": 1}}), "strings to strings"),
])
def test_malformed_files_are_value_errors(blob, match):
    with pytest.raises(ValueError, match=match):
        S.load(blob)


def test_writer_refuses_what_the_format_cannot_hold():
    with pytest.raises(TypeError, match="complex128"):
        S.save({"c": np.ones(2, np.complex128)})
    with pytest.raises(ValueError, match="reserved"):
        S.save({"__metadata__": np.ones(1)})
    with pytest.raises(TypeError, match="str to str"):
        S.save({"a": np.ones(1)}, metadata={"n": 1})


# ----------------------------------------------------------------------------- modules and PyTorch

def _pair(nn):
    """The same small CNN + LSTM cell in PyTorch and stage (PyTorch's names)."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                          nn.MaxPool2d(2), nn.Flatten())
            self.head = nn.Linear(36, 5)
            self.cell = nn.LSTMCell(5, 3)
            self.emb = nn.Embedding(10, 5)

        def forward(self, x, idx):
            z = self.head(self.features(x)) + self.emb(idx)
            return self.cell(z)[0]
    return Net()


def test_torch_checkpoint_loads_into_the_matching_st_nn_model(tmp_path):
    torch = pytest.importorskip("torch")
    save_file = pytest.importorskip("safetensors.torch").save_file
    torch.manual_seed(0)
    tm = _pair(torch.nn)
    tm.train()
    for _ in range(3):                                      # batch-norm statistics that moved
        tm(torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,)))
    tm.eval()
    save_file(tm.state_dict(), tmp_path / "torch.safetensors", metadata={"format": "pt"})
    sm = _pair(st.nn).eval().load(tmp_path / "torch.safetensors")
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    idx = np.array([3, 9])
    with torch.no_grad():
        expect = tm(torch.tensor(x), torch.tensor(idx)).numpy()
    np.testing.assert_allclose(sm(x, idx), expect, rtol=1e-5, atol=1e-5)

    # float16 and bfloat16 checkpoints load into the float32 model
    for dt, tol in ((torch.float16, 2e-2), (torch.bfloat16, 1e-1)):
        save_file({k: (v.to(dt) if v.is_floating_point() else v) for k, v in tm.state_dict().items()},
                  tmp_path / "low.safetensors")
        low = _pair(st.nn).eval().load(tmp_path / "low.safetensors")
        assert low.head.weight.dtype == np.float32
        np.testing.assert_allclose(low(x, idx), expect, rtol=tol, atol=tol)


def test_st_nn_save_loads_into_torch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    load_file = pytest.importorskip("safetensors.torch").load_file
    sm = _pair(st.nn).eval()
    sm.save(tmp_path / "st.safetensors")
    tm = _pair(torch.nn).eval()
    tm.load_state_dict(load_file(tmp_path / "st.safetensors"))
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    idx = np.array([0, 4])
    with torch.no_grad():
        np.testing.assert_allclose(sm(x, idx), tm(torch.tensor(x), torch.tensor(idx)).numpy(),
                                   rtol=1e-5, atol=1e-5)
    other = _pair(st.nn).load(tmp_path / "st.safetensors")
    for (k, a), (_, b) in zip(sm.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a, b)


def test_module_load_errors_name_the_tensor(tmp_path):
    m = st.nn.Linear(3, 2)
    S.save_file({"weight": np.ones((2, 4), np.float32), "bias": np.ones(2, np.float32)},
                tmp_path / "bad.safetensors")
    with pytest.raises(ValueError, match="weight has shape"):
        m.load(tmp_path / "bad.safetensors")
    S.save_file({"weight": np.ones((2, 3), np.float32)}, tmp_path / "part.safetensors")
    with pytest.raises(KeyError, match="bias"):
        m.load(tmp_path / "part.safetensors")
    m.load(tmp_path / "part.safetensors", strict=False)
    np.testing.assert_array_equal(m.weight, 1)


# ----------------------------------------------------------------------------- the C reader

PARAMS = {"a": rng.standard_normal((2, 3)).astype(np.float32), "b\"é?": rng.standard_normal(3),
          "n": np.array(7, np.int64), "m": np.array([True, False, True]),
          "i": np.arange(4, dtype=np.int32)}


def _small(p, x):
    return x * p["a"] + st.astype(p["b\"é?"], "float32") + st.astype(p["n"], "float32") + \
        st.astype(st.where(p["m"], 1, 0), "float32") + st.astype(st.sum(p["i"]), "float32")


@pytest.fixture(scope="module")
def small_lib(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("needs a C++ compiler")
    d = tmp_path_factory.mktemp("export") / "small"
    exp = st.export(_small, (PARAMS, np.ones((2, 3), np.float32)), d, params=(0,))
    lib = ctypes.CDLL(str(exp.library))
    lib.small_create_from_memory.restype = ctypes.c_void_p
    lib.small_create_from_memory.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                             ctypes.c_size_t]
    lib.small_create.restype = ctypes.c_void_p
    lib.small_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.small_param_data.restype = ctypes.c_void_p
    lib.small_param_data.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.small_param_name.restype = ctypes.c_char_p
    lib.small_save_params.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.small_destroy.argtypes = [ctypes.c_void_p]
    return exp, lib


def _create(lib, blob):
    err = ctypes.create_string_buffer(512)
    h = lib.small_create_from_memory(blob, len(blob), err, len(err))
    return h, err.value.decode("utf-8", "replace")


def _params_of(exp, lib, h):
    out = {}
    for p in exp.params:
        buf = (ctypes.c_char * p.nbytes).from_address(lib.small_param_data(h, p.index)) \
            if p.nbytes else b""
        out[p.name] = np.frombuffer(bytes(buf), p.array.dtype).reshape(p.shape)
    return out


def test_exported_library_reads_and_writes_safetensors(small_lib, tmp_path):
    exp, lib = small_lib
    expect = {f"p.{k}": v for k, v in PARAMS.items()}
    assert exp.params_file.name == "small.safetensors"
    same(S.load_file(exp.params_file), expect)
    assert lib.small_param_name(1).decode() == "p.b\"é?"
    blobs = [exp.params_file.read_bytes(), S.save(dict(reversed(list(expect.items()))),
                                                  metadata={"format": "np"})]
    ref = pytest.importorskip("safetensors.numpy")
    blobs.append(ref.save(expect, metadata={"producer": "the reference writer"}))
    for blob in blobs:                                      # any order, metadata, ours or theirs
        h, err = _create(lib, blob)
        assert h, err
        same(_params_of(exp, lib, h), expect)
        assert lib.small_save_params(h, str(tmp_path / "saved.safetensors").encode()) == 0
        assert (tmp_path / "saved.safetensors").read_bytes() == exp.params_file.read_bytes()
        lib.small_destroy(h)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved.safetensors"]


def test_exported_library_rejects_bad_files_with_a_reason(small_lib):
    exp, lib = small_lib
    good = {f"p.{k}": v for k, v in PARAMS.items()}

    def raw(header, data):
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text)) + text + data
    blob = exp.params_file.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    cases = [
        (S.save({**good, "p.a": good["p.a"].astype(np.float64)}), "has dtype F64, the model expects F32"),
        (S.save({**good, "p.a": good["p.a"].reshape(3, 2)}), "has shape [3, 2], the model expects [2, 3]"),
        (S.save({k: v for k, v in good.items() if k != "p.n"}), "has no tensor 'p.n'"),
        (S.save({**good, "extra": np.ones(1)}), "'extra', which the model does not have"),
        (blob[:-1], "data offsets"),
        (blob + b"\0", "data section has"),
        (raw({**header, "p.a": {**header["p.a"], "data_offsets": [0, 4]}}, blob[8 + n:]),
         "data offsets [0, 4]"),
        (b"\xff" * 16, "not a safetensors file"),
        (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    ]
    for bad, match in cases:
        h, err = _create(lib, bad)
        assert not h and match in err, (match, err)
    for cut in range(len(blob)):                            # every truncation fails cleanly
        h, err = _create(lib, blob[:cut])
        assert not h and err
    noise = np.random.default_rng(1)
    for _ in range(300):                                    # damaged headers never crash
        b = bytearray(blob)
        for pos in noise.integers(8, 8 + n, 3):
            b[pos] = int(noise.integers(0, 256))
        h, _ = _create(lib, bytes(b))
        if h:
            lib.small_destroy(h)
