"""The schedule ops of checkpointed loops: runtime_cpp/stage/checkpoint.h."""
from . import Elementwise, register

register("checkpoint_capacity", Elementwise("stage::checkpoint_capacity({0}, {1})"))
register("checkpoint_split", Elementwise("stage::checkpoint_split({0}, {1})"))
