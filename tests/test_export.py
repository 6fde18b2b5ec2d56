"""st.export: exported libraries used from C programs that run without Python, NumPy or stage.

Two models, each exported with an inference entry and a training step (`st.assign` updates the
handle's parameters): an MLP, and an RNN whose trip count is a runtime int64 argument of the C
function (`st.fori_loop`; its gradient recurses on the library's private stack). The export is
moved before use (it must be relocatable), a C program is compiled against it with one `cc` command
and run in a subprocess whose environment cannot import stage or NumPy and has no stage cache;
its printed outputs are compared with the same functions run by `st.compile` in Python.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import stage as st
from stage.deploy import load_params, save_params

CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(CC is None or shutil.which("g++") is None,
                                reason="needs a C and a C++ compiler")
rng = np.random.default_rng(0)

# ------------------------------------------------------------------------------------------ models


def mlp_predict(params, x):
    h = st.tanh(x @ params[0]["w"] + params[0]["b"])
    return h @ params[1]["w"] + params[1]["b"]


def mlp_train_step(params, x, y, lr):
    loss, g = st.value_and_grad(lambda p: st.nn.cross_entropy(mlp_predict(p, x), y))(params)
    for p, gp in zip(params, g):
        for k in p:
            st.assign(p[k], p[k] - lr * gp[k])
    return loss


def rnn_predict(p, xs, n):
    def body(i, h):
        return st.tanh(xs[i] @ p["wx"] + h @ p["wh"] + p["b"])
    h = st.fori_loop(0, n, body, st.zeros((xs.shape[1], p["wh"].shape[0]), xs.dtype))
    return h @ p["wo"]


def rnn_train_step(p, xs, n, y, lr):
    loss, g = st.value_and_grad(lambda p: st.mse_loss(rnn_predict(p, xs, n), y))(p)
    for k in p:
        st.assign(p[k], p[k] - lr * g[k])
    return loss


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


MLP_PARAMS = [{"w": f32(8, 16, scale=0.5), "b": f32(16, scale=0.1)},
              {"w": f32(16, 3, scale=0.5), "b": np.zeros(3, np.float32)}]
MLP_X, MLP_Y = f32(5, 8), rng.integers(0, 3, 5)
T, N, B = 5000, 40, 2         # xs holds T steps; the C program runs N (or T: too deep)
RNN_PARAMS = {"wx": f32(4, 6, scale=0.5), "wh": f32(6, 6, scale=0.4), "b": f32(6, scale=0.1),
              "wo": f32(6, 2, scale=0.5)}
RNN_XS, RNN_Y = f32(T, B, 4), f32(B, 2)
STEPS, LR = 3, np.float32(0.1)


def copy_tree(p):
    return [dict((k, v.copy()) for k, v in d.items()) for d in p] if isinstance(p, list) else \
        {k: v.copy() for k, v in p.items()}


# ------------------------------------------------------------------------------------------ C side

PRELUDE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "{name}.h"

static void* slurp(const char* path, size_t bytes) {{
  FILE* f = fopen(path, "rb");
  void* p = malloc(bytes ? bytes : 1);
  if (!f || fread(p, 1, bytes, f) != bytes) {{ printf("cannot read %s\n", path); exit(3); }}
  fclose(f);
  return p;
}}

static void show(const char* tag, const float* v, int n) {{
  printf("%s", tag);
  for (int i = 0; i < n; ++i) printf(" %.9g", v[i]);
  printf("\n");
}}
"""

MLP_MAIN = r"""
int main(int argc, char** argv) {
  (void)argc;
  char err[512];
  mlp_model* m = mlp_create("mlp.safetensors", err, sizeof err);
  if (!m) { printf("create: %s\n", err); return 2; }
  float* x = slurp(argv[1], sizeof(float) * MLP_PREDICT_X_NUMEL);
  int64_t* y = slurp(argv[2], sizeof(int64_t) * MLP_TRAIN_STEP_Y_NUMEL);
  float out[MLP_PREDICT_OUT_NUMEL], loss;
  if (mlp_predict(m, x, out) != MLP_OK) { printf("predict: %s\n", mlp_error(m)); return 2; }
  show("predict", out, MLP_PREDICT_OUT_NUMEL);
  for (int s = 0; s < STEPS; ++s) {
    if (mlp_train_step(m, x, y, LR, &loss) != MLP_OK) { printf("train: %s\n", mlp_error(m)); return 2; }
    show("loss", &loss, 1);
  }
  mlp_predict(m, x, out);
  show("trained", out, MLP_PREDICT_OUT_NUMEL);
  if (mlp_save_params(m, argv[3]) != MLP_OK) { printf("save: %s\n", mlp_error(m)); return 2; }

  /* a second instance: the baked-in parameters, untouched by the first handle's training */
  mlp_model* m2 = mlp_create(NULL, err, sizeof err);
  if (!m2) { printf("create baked: %s\n", err); return 2; }
  mlp_predict(m2, x, out);
  show("baked", out, MLP_PREDICT_OUT_NUMEL);

  /* errors come back as codes and messages */
  printf("null_arg %d %s\n", mlp_predict(m2, NULL, out), mlp_error(m2));
  printf("missing %s\n", mlp_create("no/such.safetensors", err, sizeof err) ? "ok" : err);
  printf("wrong_file %s\n", mlp_create(argv[1], err, sizeof err) ? "ok" : err);
  printf("param0 %s %zu\n", mlp_param_name(0), mlp_param_nbytes(0));
  mlp_destroy(m);
  mlp_destroy(m2);
  return 0;
}
"""

RNN_MAIN = r"""
static float* XS; static float* Y;

typedef struct { rnn_model* m; float losses[STEPS]; int rc; } job_t;

static void* train(void* arg) {
  job_t* j = (job_t*)arg;
  for (int s = 0; s < STEPS && !j->rc; ++s)
    j->rc = rnn_train_step(j->m, XS, (int64_t)N, Y, LR, &j->losses[s]);
  return NULL;
}

int main(int argc, char** argv) {
  char err[512];
  XS = slurp(argv[1], sizeof(float) * RNN_PREDICT_XS_NUMEL);
  Y = slurp(argv[2], sizeof(float) * RNN_TRAIN_STEP_Y_NUMEL);
  rnn_model* a = rnn_create("rnn.safetensors", err, sizeof err);
  rnn_model* b = rnn_create("rnn.safetensors", err, sizeof err);
  if (!a || !b) { printf("create: %s\n", err); return 2; }
  float out[RNN_PREDICT_OUT_NUMEL];
  if (argc > 4) {                 /* deep: T steps of backward recursion on a 1 MiB stack */
    float loss;
    int rc = rnn_train_step(a, XS, (int64_t)T, Y, LR, &loss);
    printf("deep %d %s\n", rc, rnn_error(a));
    rc = rnn_train_step(a, XS, (int64_t)N, Y, LR, &loss);     /* the handle is still usable */
    printf("after %d %g\n", rc, loss);
    return 0;
  }
  int64_t lengths[3] = {0, 7, N};
  for (int k = 0; k < 3; ++k) {
    if (rnn_predict(a, XS, lengths[k], out) != RNN_OK) { printf("predict: %s\n", rnn_error(a)); return 2; }
    char tag[32];
    snprintf(tag, sizeof tag, "predict%d", k);
    show(tag, out, RNN_PREDICT_OUT_NUMEL);
  }
  int rc = rnn_predict(a, XS, (int64_t)T + 1, out);
  printf("too_long %d %s\n", rc, rnn_error(a));

  /* two handles trained concurrently on two threads */
  job_t ja = {a, {0}, 0}, jb = {b, {0}, 0};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, train, &ja);
  pthread_create(&tb, NULL, train, &jb);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  if (ja.rc || jb.rc) { printf("train: %s | %s\n", rnn_error(a), rnn_error(b)); return 2; }
  show("loss_a", ja.losses, STEPS);
  show("loss_b", jb.losses, STEPS);
  rnn_predict(a, XS, N, out);
  show("trained", out, RNN_PREDICT_OUT_NUMEL);
  if (rnn_save_params(b, argv[3]) != RNN_OK) { printf("save: %s\n", rnn_error(b)); return 2; }
  rnn_destroy(a);
  rnn_destroy(b);
  return 0;
}
"""


def build(exp_dir, name, main, defines, tmp_path):
    """Compile `main` against the export in exp_dir with one cc command."""
    src = tmp_path / f"{name}_main.c"
    src.write_text("".join(f"#define {k} {v}\n" for k, v in defines.items()) +
                   PRELUDE.format(name=name) + textwrap.dedent(main))
    exe = tmp_path / f"{name}_main"
    subprocess.run([CC, "-std=c99", "-O1", "-Wall", "-Werror", str(src), f"-I{exp_dir}",
                    f"-L{exp_dir}", f"-l{name}", f"-Wl,-rpath,{exp_dir}", "-lpthread", "-o",
                    str(exe)], check=True, capture_output=True, text=True)
    return exe


def run(exe, exp_dir, inputs, tmp_path, *extra_args, env=None):
    """Run the C program without Python; returns its printed lines by tag."""
    files = []
    for k, a in enumerate(inputs):
        f = tmp_path / f"{exe.name}_in{k}.bin"
        a.tofile(f)
        files.append(str(f))
    r = subprocess.run([str(exe), *files, *map(str, extra_args)], cwd=exp_dir,
                       env=_no_python_env(tmp_path, env), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    out = {}
    for line in r.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        out[tag] = rest
    return out


def build_and_run(exp_dir, name, main, defines, inputs, tmp_path):
    exe = build(exp_dir, name, main, defines, tmp_path)
    saved = tmp_path / f"{name}_saved.safetensors"
    return run(exe, exp_dir, inputs, tmp_path, saved), saved


def _no_python_env(tmp_path, extra=None):
    """An environment in which neither stage nor NumPy can be imported, and no stage cache exists."""
    poison = tmp_path / "poison"
    poison.mkdir(exist_ok=True)
    for mod in ("stage", "numpy"):
        (poison / f"{mod}.py").write_text("raise ImportError('not available to the C program')\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(poison),
           "STAGE_CACHE_DIR": str(tmp_path / "no-cache"), "HOME": str(tmp_path)}
    env.update(extra or {})
    return env


def floats(s):
    return np.array([float(v) for v in s.split()], np.float32)


def relocated_export(entries, tmp_path, name, **kw):
    """Export into one directory, then move it: nothing may point back at where it was built."""
    built = tmp_path / "build" / name
    exp = st.export(entries, built, params=(0,), **kw)
    moved = tmp_path / "elsewhere" / name
    moved.parent.mkdir(parents=True)
    shutil.move(str(built), str(moved))
    return exp, moved


def assert_self_contained(lib):
    data = lib.read_bytes()
    from stage.codegen.compiler import RUNTIME_DIR, cache_dir
    import scipy_openblas32
    for p in (str(RUNTIME_DIR.parent), str(cache_dir()), scipy_openblas32.get_lib_dir(),
              sys.prefix):
        assert p.encode() not in data, f"{lib} mentions {p}"
    if shutil.which("readelf"):
        dyn = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
        assert re.findall(r"\((?:RUNPATH|RPATH)\).*\[(.*)\]", dyn) == ["$ORIGIN"], dyn
        assert not any("/" in n for n in re.findall(r"\(NEEDED\).*\[(.*)\]", dyn)), dyn


# ------------------------------------------------------------------------------------------ tests


def test_mlp_exported_and_run_from_c(tmp_path):
    params = copy_tree(MLP_PARAMS)
    exp, d = relocated_export({"predict": (mlp_predict, (params, MLP_X)),
                               "train_step": (mlp_train_step, (params, MLP_X, MLP_Y, LR))},
                              tmp_path, "mlp", bake_params=True)
    assert [p.name for p in exp.params] == ["params.0.b", "params.0.w", "params.1.b", "params.1.w"]
    for f in ("libmlp.so", "mlp.h", "mlp.safetensors", "README.md", "libscipy_openblas.so",
              "src/predict.stage.cpp", "src/train_step.stage.cpp", "src/build.sh"):
        assert (d / f).exists(), f
    header = (d / "mlp.h").read_text()
    assert "int mlp_predict(mlp_model* model, const float* x, float* out);" in header
    assert "int mlp_train_step(mlp_model* model, const float* x, const int64_t* y, float lr, " \
           "float* out);" in header
    assert "float32[5, 8]" in header and "int64[5]" in header
    assert_self_contained(d / "libmlp.so")
    for mod in ("stage", "numpy"):           # the C program's environment has neither
        r = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True,
                           env=_no_python_env(tmp_path))
        assert r.returncode != 0

    out, saved = build_and_run(d, "mlp", MLP_MAIN, {"STEPS": STEPS, "LR": "0.1f"},
                               [MLP_X, MLP_Y.astype(np.int64)], tmp_path)

    # the same in Python
    ref = copy_tree(MLP_PARAMS)
    predict, step = st.compile(mlp_predict), st.compile(mlp_train_step)
    before = predict(ref, MLP_X)
    losses = [float(step(ref, MLP_X, MLP_Y, LR)) for _ in range(STEPS)]
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(floats(out["predict"]), before.ravel(), **tol)
    np.testing.assert_allclose([float(v) for v in [out["loss"]]], losses[-1:], **tol)
    np.testing.assert_allclose(floats(out["trained"]), predict(ref, MLP_X).ravel(), **tol)
    np.testing.assert_allclose(floats(out["baked"]), before.ravel(), **tol)
    trained = load_params(saved)
    assert saved.read_bytes() == st.safetensors.save(trained)     # the C writer is Python's
    for i, layer in enumerate(ref):
        for k, v in layer.items():
            np.testing.assert_allclose(trained[f"params.{i}.{k}"], v, **tol)
    # export does not touch the caller's arrays; errors are codes and messages
    np.testing.assert_array_equal(params[0]["w"], MLP_PARAMS[0]["w"])
    assert out["null_arg"].startswith("2 predict: argument x is NULL")
    assert "cannot open no/such.safetensors" in out["missing"]
    assert "not a safetensors file" in out["wrong_file"]
    assert out["param0"] == "params.0.b 64"


def test_rnn_with_runtime_length_exported_and_run_from_c(tmp_path):
    params = copy_tree(RNN_PARAMS)
    n = np.int64(N)
    exp, d = relocated_export({"predict": (rnn_predict, (params, RNN_XS, n)),
                               "train_step": (rnn_train_step, (params, RNN_XS, n, RNN_Y, LR))},
                              tmp_path, "rnn", march="native")
    assert "int rnn_predict(rnn_model* model, const float* xs, int64_t n, float* out);" in \
        (d / "rnn.h").read_text()
    assert_self_contained(d / "librnn.so")
    exe = build(d, "rnn", RNN_MAIN, {"STEPS": STEPS, "LR": "0.1f", "N": N, "T": T}, tmp_path)
    saved = tmp_path / "rnn_saved.safetensors"
    out = run(exe, d, [RNN_XS, RNN_Y], tmp_path, saved)

    ref = copy_tree(RNN_PARAMS)
    predict, step = st.compile(rnn_predict), st.compile(rnn_train_step)
    tol = dict(rtol=1e-4, atol=1e-5)
    for k, length in enumerate([0, 7, N]):
        np.testing.assert_allclose(floats(out[f"predict{k}"]),
                                   predict(ref, RNN_XS, np.int64(length)).ravel(), **tol)
    assert out["too_long"].startswith("1 predict: index 5000 is out of bounds for size 5000")
    losses = [float(step(ref, RNN_XS, n, RNN_Y, LR)) for _ in range(STEPS)]
    np.testing.assert_allclose(floats(out["loss_a"]), losses, **tol)
    np.testing.assert_array_equal(floats(out["loss_a"]), floats(out["loss_b"]))
    np.testing.assert_allclose(floats(out["trained"]), predict(ref, RNN_XS, n).ravel(), **tol)
    trained = load_params(saved)
    assert list(trained) == ["p.b", "p.wh", "p.wo", "p.wx"]
    for k, v in ref.items():
        np.testing.assert_allclose(trained[f"p.{k}"], v, **tol)

    # staged recursion deeper than the private stack: RecursionError's code, then business as usual
    deep = run(exe, d, [RNN_XS, RNN_Y], tmp_path, saved, "deep", env={"STAGE_STACK_MB": "1"})
    assert deep["deep"].startswith("3 train_step: staged recursion too deep"), deep
    assert deep["after"].startswith("0 ")


def test_params_files_are_safetensors_and_the_old_format_still_reads(tmp_path):
    arrays = {"a.w": f32(2, 3), "n": np.array(5, np.int64), "mask": np.array([True, False]),
              "e": np.zeros((0, 4), np.float64)}
    save_params(tmp_path / "p.safetensors", arrays)
    back = load_params(tmp_path / "p.safetensors")
    assert list(back) == list(arrays)
    for k in arrays:
        assert back[k].dtype == arrays[k].dtype
        np.testing.assert_array_equal(back[k], arrays[k])
    # stage 0.1's STGPARAM file: u32 version 1, u32 count, then name, dtype code, dims, data
    x = np.arange(3, dtype=np.int32)
    legacy = b"STGPARAM" + struct.pack("<II", 1, 1) + struct.pack("<I", 1) + b"x" + \
        struct.pack("<IIQQ", 3, 1, 3, 12) + x.tobytes()
    (tmp_path / "old.params").write_bytes(legacy)
    with pytest.warns(DeprecationWarning, match="STGPARAM"):
        np.testing.assert_array_equal(load_params(tmp_path / "old.params")["x"], x)
    (tmp_path / "old.params").write_bytes(legacy[:-1])
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="truncated"):
        load_params(tmp_path / "old.params")


def test_export_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        st.export(mlp_predict, (MLP_PARAMS, MLP_X), tmp_path, params=(0,))
    assert (tmp_path / "mine.txt").read_text() == "keep me"


MODULE_MAIN = r"""
int main(int argc, char** argv) {
  (void)argc;
  char err[512];
  mod_model* m = mod_create("mod.safetensors", err, sizeof err);
  if (!m) { printf("create: %s\n", err); return 2; }
  float* x = slurp(argv[1], sizeof(float) * MOD_TRAIN_STEP_X_NUMEL);
  int64_t* y = slurp(argv[2], sizeof(int64_t) * MOD_TRAIN_STEP_Y_NUMEL);
  float out[MOD_PREDICT_OUT_NUMEL], loss[STEPS];
  for (int s = 0; s < STEPS; ++s)        /* SGD with momentum: PyTorch's dampening is 0 at first */
    if (mod_train_step(m, s ? DAMPENING : 0.0f, LR, MOMENTUM, x, y, &loss[s]) != MOD_OK) {
      printf("train: %s\n", mod_error(m));
      return 2;
    }
  show("loss", loss, STEPS);
  if (mod_predict(m, x, out) != MOD_OK) { printf("predict: %s\n", mod_error(m)); return 2; }
  show("predict", out, MOD_PREDICT_OUT_NUMEL);
  mod_save_params(m, argv[3]);
  mod_destroy(m);
  return 0;
}
"""


def make_module_model():
    return st.nn.Sequential(st.nn.Linear(6, 8, seed=0), st.nn.Tanh(), st.nn.Linear(8, 3, seed=1))


def test_train_step_and_eval_step_of_a_module_exported(tmp_path):
    """st.train_step / st.eval_step export with the module's parameters and the optimizer's state
    bound into the handle; the optimizer's hyper-parameters are runtime arguments."""
    model = make_module_model()
    opt = st.optim.SGD(lr=0.1, momentum=0.9, dampening=0.1)
    x, y = f32(4, 6), rng.integers(0, 3, 4)
    step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model, opt)
    predict = st.eval_step(lambda x: model(x), model)
    exp = st.export({"predict": (predict, (x,)), "train_step": (step, (x, y))}, tmp_path / "mod")
    header = exp.header.read_text()
    assert ("int mod_train_step(mod_model* model, float hyper_dampening, float hyper_lr, "
            "float hyper_momentum, const float* x, const int64_t* y, float* out);") in header
    assert "int mod_predict(mod_model* model, const float* x, float* out);" in header
    assert [p.name for p in exp.params] == [
        "params.0.bias", "params.0.weight", "params.2.bias", "params.2.weight",
        "opt_state.0.bias.momentum_buffer", "opt_state.0.weight.momentum_buffer",
        "opt_state.2.bias.momentum_buffer", "opt_state.2.weight.momentum_buffer"]
    out, saved = build_and_run(exp.path, "mod", MODULE_MAIN,
                               {"STEPS": STEPS, "LR": "0.1f", "MOMENTUM": "0.9f",
                                "DAMPENING": "0.1f"}, [x, y.astype(np.int64)], tmp_path)
    losses = [float(step(x, y)) for _ in range(STEPS)]       # the same steps in Python
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(floats(out["loss"]), losses, **tol)
    np.testing.assert_allclose(floats(out["predict"]), predict(x).ravel(), **tol)
    trained = load_params(saved)
    for k, v in model.named_parameters():
        np.testing.assert_allclose(trained[f"params.{k}"], v, **tol)
    for k, slots in opt.state.items():
        np.testing.assert_allclose(trained[f"opt_state.{k}.momentum_buffer"],
                                   slots["momentum_buffer"], **tol)


def test_deploy_example_end_to_end(tmp_path):
    """examples/deploy: train (briefly), export, build.sh (one command), run the demo."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples", "deploy")
    sys.path.insert(0, root)
    try:
        import train_and_export
        acc = train_and_export.main(["--epochs", "2", "--out", str(tmp_path / "out")])
    finally:
        sys.path.remove(root)
    subprocess.run(["sh", os.path.join(root, "build.sh"), str(tmp_path / "out")], check=True,
                   capture_output=True)
    moved = tmp_path / "moved"
    shutil.move(str(tmp_path / "out"), str(moved))         # relocatable as a whole
    r = subprocess.run([str(moved / "digits_demo"), str(moved)], capture_output=True, text=True,
                       env=_no_python_env(tmp_path), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"exported model: test accuracy {acc:.4f}" in r.stdout
    assert "classify(NULL) -> 2: classify: argument x is NULL" in r.stdout
    assert (moved / "digits_finetuned.safetensors").exists()
