"""The documentation cannot rot: the API reference builds from the docstrings and lists every public
name, every public function and class documents each of its parameters (NumPy style), the
examples in the docstrings run, and the package ships its `py.typed` marker."""
import doctest
import importlib
import inspect
import os
import sys
from pathlib import Path

import pytest

import stage as st

ROOT = Path(__file__).resolve().parent.parent

# (module, names) of the public surface; each name is documented on that module's reference page
SURFACE = {
    "stage": st.__all__,
    "stage.nn": st.nn.__all__,
    "stage.nn.functional": st.nn.functional.__all__,
    "stage.optim": st.optim.__all__,
    "stage.safetensors": st.safetensors.__all__,
    "stage.linalg": st.linalg.__all__,
    "stage.deploy": importlib.import_module("stage.deploy").__all__,
    "stage.trees": ["Forest", "parse_ptb", "build_forest", "load_sst", "tree_sizes"],
    "stage.datasets": importlib.import_module("stage.datasets").__all__,
    "stage.errors": importlib.import_module("stage.errors").__all__,
    "stage.progress": importlib.import_module("stage.progress").__all__,
    "stage.distributed": importlib.import_module("stage.distributed").__all__,
    "stage.pytree": [n for n in vars(st.pytree) if not n.startswith("_") and
                     getattr(getattr(st.pytree, n), "__module__", "") == "stage.pytree"],
}


def _public_objects():
    """(qualified name, object) of every public function and class of the surface, and of the
    public methods stage defines on those classes."""
    seen = set()
    for modname, names in SURFACE.items():
        mod = importlib.import_module(modname)
        for n in names:
            obj = getattr(mod, n)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{modname}.{n}", obj
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for m, f in vars(obj).items():      # (`forward`: the class's Shape section)
                    if not m.startswith("_") and m != "forward" and inspect.isfunction(f) and \
                            id(f) not in seen:
                        seen.add(id(f))
                        yield f"{modname}.{n}.{m}", f


def _documented_params(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.name not in ("self", "cls") and not p.name.startswith("_") and
            p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def test_every_public_function_and_class_documents_its_parameters():
    missing = []
    for name, obj in _public_objects():
        doc = inspect.getdoc(obj) or ""
        if len(doc) < 20:
            missing.append(f"{name}: no docstring")
            continue
        for p in _documented_params(obj):
            if p not in doc:
                missing.append(f"{name}: parameter {p!r} not documented")
    assert not missing, "\n".join(missing)


def test_main_entry_points_have_numpy_sections():
    for obj in (st.compile, st.grad, st.value_and_grad, st.cond, st.fori_loop, st.while_loop,
                st.function, st.train_step, st.eval_step, st.export, st.exp, st.sum, st.where,
                st.take, st.nn.Linear, st.nn.Conv2d, st.nn.BatchNorm1d, st.nn.LSTMCell,
                st.nn.Module.load, st.optim.Adam, st.safetensors.load_file):
        doc = inspect.getdoc(obj)
        assert "Parameters\n----------" in doc, obj
        assert "Returns\n-------" in doc or inspect.isclass(obj) or obj is st.nn.Module.load \
            or "Shape\n-----" in doc, obj


def test_help_compile_documents_every_option():
    from stage.codegen.build import build
    options = ["fn", "backend"] + [p for p in inspect.signature(build).parameters if p != "program"]
    doc = inspect.getdoc(st.compile)
    for opt in options:
        assert f"\n{opt} : " in doc, opt


def test_linear_help_says_what_pytorch_says():
    doc = inspect.getdoc(st.nn.Linear)
    for text in ("in_features : int", "out_features : int", "bias : bool, default True",
                 "(N, *, H_in)", "(N, *, H_out)", "(out_features, in_features)",
                 "U(-sqrt(k), sqrt(k))", "k = 1 / in_features"):
        assert text in doc, text


def test_every_public_name_is_exported():
    exported = set(st.__all__)
    for n in dir(st):
        obj = getattr(st, n)
        if not n.startswith("_") and not inspect.ismodule(obj):
            assert n in exported, f"stage.{n} is public but not in stage.__all__"
    for modname, names in SURFACE.items():
        mod = importlib.import_module(modname)
        for n in names:
            assert hasattr(mod, n), f"{modname}.__all__ names {n}, which does not exist"


DOCTEST_MODULES = ["stage.compile", "stage.control", "stage.cps.api", "stage.ir.functions",
                   "stage.nn.module", "stage.nn.containers", "stage.nn.layers", "stage.nn.conv",
                   "stage.nn.pooling", "stage.nn.rnn",
                   "stage.optim.optimizer", "stage.train", "stage.safetensors", "stage.trees",
                   "stage.datasets", "stage.progress", "stage.checkpointing",
                   "stage.distributed.sampler"]


@pytest.mark.parametrize("modname", DOCTEST_MODULES)
def test_docstring_examples_run(modname):
    mod = sys.modules.get(modname) or importlib.import_module(modname)
    mods = [mod]
    if modname == "stage.ir.functions":       # a package: the examples are in its modules
        import pkgutil
        mods = [importlib.import_module(f"{modname}.{m.name}")
                for m in pkgutil.iter_modules(mod.__path__)]
    attempted = 0
    for m in mods:
        res = doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
        assert res.failed == 0, (m.__name__, res)
        attempted += res.attempted
    assert attempted > 0


def test_api_reference_builds_and_lists_every_public_name(tmp_path):
    pytest.importorskip("pdoc", reason="the docs extra is not installed (pip install -e '.[docs]')")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import build_api
    finally:
        sys.path.remove(str(ROOT / "docs"))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a docstring or annotation pdoc cannot read
        index = build_api.build(tmp_path / "api")
    assert index.exists()
    for modname, names in SURFACE.items():
        page = tmp_path / "api" / (modname.replace(".", os.sep) + ".html")
        html = page.read_text()
        for n in names:
            if not inspect.ismodule(getattr(importlib.import_module(modname), n)):
                assert f'id="{n}"' in html, f"{n} missing from {page.name}"
    nn_page = (tmp_path / "api" / "stage" / "nn.html").read_text()
    assert 'id="Module.load"' in nn_page and "in_features" in nn_page


def test_py_typed_marker_is_shipped():
    assert (ROOT / "stage" / "py.typed").exists()
    assert '"py.typed"' in (ROOT / "setup.py").read_text()      # package data


def test_coming_from_pytorch_jax_page_runs(tmp_path, monkeypatch, capsys):
    """Every ```python block of docs/coming_from_pytorch_jax.md, in order, as one script (a real
    file, so plain Python control flow is converted as in a user's program)."""
    import re
    import runpy
    text = (ROOT / "docs" / "coming_from_pytorch_jax.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 8
    script = tmp_path / "coming_from.py"
    script.write_text("\n".join(blocks))
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "['0.weight', '0.bias', '2.weight', '2.bias']" in out and "[2. 0. 6.]" in out
    assert "float64\nfloat32" in out


def test_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert "docs/coming_from_pytorch_jax.md" in readme and "docs/build_api.py" in readme
