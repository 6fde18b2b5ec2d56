"""What the export templates need (codegen/templates/export_*.j2), decided here as strings and
lists: the entries' C signatures, argument checks and docs, the parameters' layout in the handle
and in the safetensors file, the error codes and the API's function names."""
from __future__ import annotations

import textwrap
from pathlib import Path

from .. import openblas
from .. import safetensors
from .signature import EntrySpec

ERROR_CODES = [("OK", 0, "success"), ("INDEX_ERROR", 1, "an index out of range (IndexError)"),
               ("VALUE_ERROR", 2, "a bad argument or parameters file (ValueError)"),
               ("RECURSION_ERROR", 3, "staged recursion too deep for the native stack "
                                      "(RecursionError)"),
               ("MEMORY_ERROR", 4, "out of memory (MemoryError)"),
               ("RUNTIME_ERROR", 5, "any other native error (RuntimeError)"),
               ("IO_ERROR", 6, "a file could not be read or written (OSError)")]
API = ("create", "create_from_memory", "destroy", "error", "save_params", "num_params", "param_name",
       "param_data", "param_nbytes", "set_num_threads")


def blas():
    """(the OpenBLAS library's link name, its file)"""
    d, lib = openblas.library()
    return lib, Path(d) / f"lib{lib}.so"


def template_context(exp, opt: str) -> dict:
    """Everything the templates need, decided here as strings and lists."""
    from ..codegen.compiler import BASE_FLAGS
    name, NAME = exp.name, exp.name.upper()
    offset, prow = 0, []
    header, file_offsets = safetensors.layout([(p.name, p.dtype, p.shape) for p in exp.params])
    for p in exp.params:
        prow.append({"p": p, "st_dtype": safetensors.dtype_name(p.dtype), "offset": offset,
                     "c_name": c_string(p.name.encode()),
                     "dims": ", ".join(map(str, p.shape)),
                     "type_doc": _type_doc(p.dtype, p.shape),
                     "users": [e.name for e in exp.entries
                               if any(a.param is p and a.mutable for a in e.inputs)]})
        offset += (p.nbytes + 63) // 64 * 64
    entries = [_entry_context(exp, e) for e in exp.entries]
    api = [f"{name}_{f}" for f in API] + [e["cname"] for e in entries]
    sources = [e["glue_file"] for e in entries] + [f"{name}_api.cpp", f"{name}_pool.cpp"] + \
        ([f"{name}_params_blob.cpp"] if exp.baked else [])
    flags = [f for f in BASE_FLAGS if f != "-shared"] + ["-shared"]
    order = sorted(range(len(exp.params)), key=lambda i: file_offsets[i])
    return dict(name=name, NAME=NAME, params=prow, storage=max(offset, 64), entries=entries,
                header_lines=[c_string(header[i:i + 64]) for i in range(0, len(header), 64)],
                header_size=len(header), write_order=", ".join(map(str, order)),
                api=api, baked=exp.baked, errors=ERROR_CODES, opt=opt, base_flags=" ".join(flags),
                sources=" ".join(sources), blas_lib=blas()[0], blas_file=blas()[1].name,
                num_params=len(exp.params))


def c_string(b: bytes) -> str:
    """The inside of a C string literal holding exactly the bytes `b` (octal escapes for anything
    but printable ASCII; three digits each, so a following digit is never taken into one)."""
    return "".join(chr(c) if 0x20 <= c < 0x7f and c not in b'"\\?' else f"\\{c:03o}" for c in b)


def _type_doc(dtype, shape) -> str:
    return f"{dtype}[{', '.join(map(str, shape))}]" if shape else f"{dtype} scalar"


def _entry_context(exp, e: EntrySpec) -> dict:
    name, NAME = exp.name, exp.name.upper()
    cname = f"{name}_{e.name}"
    impl = f"stage_export_{name}_{e.name}"
    proto = [f"{name}_model* model"]
    docs = [("model", f"{name}_model*",
             "the handle" + (" (holds the parameters below)" if e.bound else ""))]
    call, checks, sizes = [], [], []
    locals_, omitted = [], []
    for a in e.inputs:
        if a.param is not None:
            call.append(f"({a.ctype}*)model->params[{a.param.index}]")
            continue
        by_value = a.shape == () and not a.mutable
        if not a.used:              # the program never reads it: not an argument of the C function
            omitted.append(a.path)
            if by_value:
                locals_.append(f"{a.ctype} {a.cname} = 0;")
            call.append(f"&{a.cname}" if by_value else "nullptr")
            continue
        decl = f"{a.ctype} {a.cname}" if by_value else \
            f"{'' if a.mutable else 'const '}{a.ctype}* {a.cname}"
        proto.append(decl)
        docs.append((a.cname, decl.rsplit(" ", 1)[0], f"{a.type_doc}  <- {a.path}" +
                     ("  (updated in place)" if a.mutable else "") +
                     (f"  (example: {a.example})" if a.example else "")))
        call.append(f"&{a.cname}" if by_value else a.cname)
        if not by_value:
            sizes.append((f"{NAME}_{e.name.upper()}_{a.cname.upper()}_NUMEL", a.numel))
            if a.numel:
                checks.append(a.cname)
    for a in e.outputs:
        proto.append(f"{a.ctype}* {a.cname}")
        docs.append((a.cname, f"{a.ctype}*", f"{a.type_doc}  -> {a.path} (written)"))
        call.append(a.cname)
        sizes.append((f"{NAME}_{e.name.upper()}_{a.cname.upper()}_NUMEL", a.numel))
        if a.numel:
            checks.append(a.cname)
    width = max(len(d[0]) for d in docs)
    twidth = max(len(d[1]) for d in docs)
    doc = [f"{n:<{width}}  {t:<{twidth}}  {s}" for n, t, s in docs]
    wrap = lambda items: textwrap.wrap(", ".join(items), 92)     # noqa: E731
    updated = wrap(f"#{a.param.index}" for a in e.bound if a.mutable)
    bound = wrap(f"{a.path} = #{a.param.index}" for a in e.bound)
    omitted = wrap(omitted)
    return dict(spec=e, name=e.name, cname=cname, impl=impl, proto=", ".join(proto), call=call,
                checks=checks, sizes=sizes, doc=doc, updated=updated, locals=locals_, bound=bound,
                omitted=omitted,
                statics=[f"{p} = {v}" for p, v in e.statics],
                program_file=f"{e.name}.stage.cpp", glue_file=f"{name}_{e.name}.cpp",
                signature=f"int {cname}({', '.join(proto)})")
