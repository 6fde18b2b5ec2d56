"""`st.optim`: optimizers updating parameters and their own state inside the compiled step."""
from .clip import clip_grad_norm, clip_grad_value, global_norm
from .optimizer import SGD, Adagrad, Adam, AdamW, Optimizer

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam", "AdamW", "clip_grad_norm", "clip_grad_value",
           "global_norm"]
