"""From a traced program to a callable native executable: lower, render, compile (cached), load."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import jinja2

from . import parallel
from .compiler import build as compile_source
from .loader import NativeExecutable
from .lower import Lowering

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=False)
_MODULE = _TEMPLATES.get_template("module.cpp.j2")     # parsed once, at import


def render(lowered) -> str:
    from .. import __version__
    tmpl = _MODULE
    body = ["  " * 1 + ln if ln else ln for ln in lowered.body]
    # the type of each parameter: its declaration without the name (and attributes)
    types = [d.replace("[[maybe_unused]] ", "").rsplit(" ", 1)[0] for d in lowered.params]
    return tmpl.render(version=__version__, name=lowered.name, params=lowered.params,
                       param_types=types, defines=parallel.runtime_defines(),
                       requires=lowered.requires,
                       constants=lowered.constants, body=body, big_stack=lowered.big_stack,
                       inputs=lowered.inputs, outputs=lowered.outputs, profile=lowered.profile)


def generate(program, profile: bool = False) -> tuple:
    lowered = Lowering(program, program.name, profile).lower_program()
    return lowered, render(lowered)


def build(program, cxxflags: Optional[str] = None, profile: bool = False,
          sanitize: Optional[str] = None) -> NativeExecutable:
    """Lower, render, compile (cached) and load. With `profile`, the library times every op kind:
    read the totals with the executable's `.profile()`; with `sanitize` ("address,undefined"), a
    sanitizer build (as $STAGE_SANITIZE)."""
    lowered, source = generate(program, profile)
    path = compile_source(source, cxxflags, sanitize, requires=lowered.requires)
    return NativeExecutable(program, source, path, lowered)
