"""`print`: calls of runtime_cpp/stage/print.h, one per text part and value, then a flush."""
import json

from . import Effect, register


def _print(ctx, node):
    stmts, values = [], iter(node.args)
    for part in node.params["parts"]:
        if part is not None:
            stmts.append(ctx.call("stage::print_text", json.dumps(part)))
            continue
        v = next(values)
        if v.type.shape == ():
            stmts.append(ctx.call("stage::print_one", ctx.scalar(v)))
        else:
            dims = "{" + ", ".join(str(n) for n in v.type.shape) + "}"
            stmts.append(ctx.call("stage::print_array", ctx.ptr(v), dims))
    return stmts + [ctx.call("stage::print_flush")]


register("print", Effect(_print))
