"""Neural-network layer of stage: modules owning NumPy parameters (`Module`, `Linear`, `Conv2d`,
cells, ...), the functional forms (`stage.nn.functional`) and the losses."""
from ..ir.functions import (cross_entropy, log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax,
                            tanh)
from . import functional, init
from .init import manual_seed
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import Dropout, Embedding, Flatten, Linear, ReLU, Sigmoid, Tanh
from .norm import BatchNorm1d, BatchNorm2d
from .module import Module, Parameter, Sequential, bind
from .rnn import GRUCell, LSTMCell, RNNCell

__all__ = ["cross_entropy", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax",
           "tanh", "functional", "init", "manual_seed", "Module", "Parameter", "Sequential", "bind",
           "Linear", "Embedding", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
           "Dropout", "Flatten", "ReLU", "Tanh", "Sigmoid", "RNNCell", "LSTMCell", "GRUCell"]
