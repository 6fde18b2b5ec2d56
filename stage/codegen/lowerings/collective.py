"""Collective effect forms: the gradient all-reduce of a data-parallel step, through the runtime's
`stage/mpi.h` (the program is then built against MPI; see `codegen.mpi_toolchain`)."""
from ..cpp import ctype
from . import Effect, register


def _start(ctx, node):
    ctx.require("mpi")
    ref, comm = node.args
    n = ref.type.elem.size
    T = ctype(ref.type.elem.dtype)
    buf = ctx.layout(ref).pointer()
    slot = ctx.define(node.sym)                 # an int64 scalar: the request's slot
    return [ctx.line(f"{slot.base} = stage::mpi::allreduce_start<{T}>({buf}, {n}, "
                     f"{ctx.scalar(comm)}, {ctx.where(node)});")]


def _wait(ctx, node):
    ctx.require("mpi")
    ref, req, fault, timeout = node.args
    ctx.layout(ref)                             # the bucket stays alive (MPI writes it) until here
    return [ctx.call("stage::mpi::allreduce_wait", ctx.scalar(req), ctx.scalar(fault),
                     ctx.scalar(timeout), ctx.where(node))]


register("allreduce_start", Effect(_start))
register("allreduce_wait", Effect(_wait))
