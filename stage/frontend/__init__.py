"""Plain Python control flow over staged values, by rewriting the user's function source.

`if`/`elif`/`else`, conditional expressions, `while`, `for` over `range(...)` or a staged array,
`break`, `continue`, `return` anywhere, and `and`/`or`/`not` in the functions stage stages become
calls of helpers that keep Python's meaning for static values and stage the rest as `st.cond`,
`st.while_loop` and `st.fori_loop`, as TensorFlow's AutoGraph and the paper group's snek-LMS do.

- `source`: which functions are user code, and their AST.
- `jumps`: `break`/`continue`/`return` into flags (canonical control flow).
- `analysis`: assigned names, liveness and definite assignment.
- `transform`: the AST rewrite into `ag__.*` calls.
- `runtime`, `branches`, `loops`, `values`: the helpers the converted code calls.
- `convert`: the driver (cache, compile, closure) and the rule for what is converted.
"""
from .convert import convert, converted_source, do_not_convert

__all__ = ["convert", "converted_source", "do_not_convert"]
