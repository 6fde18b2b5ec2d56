"""Finding a function's source: which code is the user's, and the AST node a code object came from.

A whole file is parsed once (cached by its text, read through `linecache`, which also knows IPython
cells) and the function's `def` or `lambda` is found by name, line and, for lambdas sharing a line,
by column (from the code object's instruction positions). Compiling the rewritten node under the
file's own name keeps every line number: tracebacks and the IR's provenance show the user's lines.
"""
from __future__ import annotations

import ast
import hashlib
import linecache
import os
import site
import sysconfig
import threading
from typing import Dict, Optional, Tuple

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_lock = threading.Lock()
_trees: Dict[str, Tuple[str, ast.Module]] = {}


def _library_dirs():
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(os.path.realpath(p) + os.sep)
    try:
        dirs |= {os.path.realpath(p) + os.sep for p in site.getsitepackages()}
        dirs.add(os.path.realpath(site.getusersitepackages()) + os.sep)
    except Exception:               # some embedded interpreters have no site packages
        pass
    return tuple(sorted(dirs))


_LIBRARY_DIRS = _library_dirs()
_user_cache: Dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    """User code: not stage itself, not the standard library, not an installed package."""
    hit = _user_cache.get(filename)
    if hit is None:
        if filename.startswith("<"):
            hit = not filename.startswith("<frozen")
        else:
            real = os.path.realpath(filename)
            hit = not (real.startswith(_PKG_DIR) or filename.startswith(_PKG_DIR) or
                       real.startswith(_LIBRARY_DIRS))
        _user_cache[filename] = hit
    return hit


def _parse(filename: str, module_globals=None) -> Optional[ast.Module]:
    lines = linecache.getlines(filename, module_globals)
    if not lines:
        return None
    text = "".join(lines)
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    with _lock:
        hit = _trees.get(filename)
        if hit is not None and hit[0] == digest:
            return hit[1]
    try:
        tree = ast.parse(text, filename)
    except SyntaxError:
        return None
    with _lock:
        _trees[filename] = (digest, tree)
    return tree


def _first_line(node) -> int:
    decos = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decos])


def _arg_names(args: ast.arguments):
    return tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)


def find_node(code, module_globals=None) -> Tuple[Optional[ast.AST], str]:
    """The `FunctionDef`/`Lambda` node `code` was compiled from, or (None, why not)."""
    filename = code.co_filename
    tree = _parse(filename, module_globals)
    if tree is None:
        return None, ("its source is not available (a function typed at a REPL, made by exec, or "
                      "from a file that no longer exists)")
    line = code.co_firstlineno
    nargs = code.co_argcount + code.co_kwonlyargcount
    params = tuple(code.co_varnames[:nargs])
    if code.co_name == "<lambda>":
        found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == line and
                 _arg_names(n.args) == params]
        if len(found) > 1:
            cols = {(p[0], p[2]) for p in code.co_positions() if p[0] is not None} \
                if hasattr(code, "co_positions") else set()
            found = [n for n in found if (n.body.lineno, n.body.col_offset) in cols]
        what = "lambda"
    else:
        found = [n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and
                 n.name == code.co_name and _first_line(n) == line]
        what = f"function {code.co_name!r}"
    if len(found) != 1:
        return None, (f"its source ({what} at {filename}:{line}) was not found" if not found else
                      f"several {what}s at {filename}:{line} cannot be told apart")
    return found[0], ""
