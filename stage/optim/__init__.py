"""`st.optim`: optimizers updating parameters and their own state inside the compiled step, and
learning-rate schedules (`st.optim.lr_scheduler`) that change runtime values only."""
from . import lr_scheduler
from .clip import clip_grad_norm, clip_grad_value, global_norm
from .base import Optimizer
from .optimizer import SGD, Adagrad, Adam, AdamW

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam", "AdamW", "clip_grad_norm", "clip_grad_value",
           "global_norm", "lr_scheduler"]
