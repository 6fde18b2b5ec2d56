"""Neural-network layer of stage: functional losses and activations (modules come with the nn issue)."""
from ..ir.functions import (cross_entropy, log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax,
                            tanh)
from . import functional

__all__ = ["cross_entropy", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax",
           "tanh", "functional"]
