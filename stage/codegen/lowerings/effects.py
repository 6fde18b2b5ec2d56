"""Effect forms: refs and in-place updates (the code generator's own rules, see codegen.effects)."""
from . import Effect, register

register("new_var", Effect(lambda ctx, node: ctx.new_ref(node.sym, node.args[0])))
register("read_var", Effect(lambda ctx, node: ctx.read_ref(node.sym, node.args[0])))
register("accum", Effect(lambda ctx, node: ctx.effect(node)))
register("store", Effect(lambda ctx, node: ctx.effect(node)))
