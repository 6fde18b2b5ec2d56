"""Neural-network layer of stage: modules owning NumPy parameters (`Module`, `Linear`, `Conv2d`,
cells, ...), the functional forms (`stage.nn.functional`) and the losses."""
from ..ir.functions import (cross_entropy, log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax,
                            tanh)
from . import functional, init
from .init import manual_seed
from .activation import ELU, GELU, Hardtanh, Identity, LeakyReLU, Mish, SiLU, Softplus
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool2d, MaxPool2d,
                      Upsample)
from .layers import Dropout, Embedding, Flatten, Linear, ReLU, Sigmoid, Tanh, Unflatten
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm
from .binding import bind
from .module import Module, Parameter
from .mha import MultiheadAttention
from .transformer import (TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .recurrent import GRU, LSTM, RNN
from .rnn import GRUCell, LSTMCell, RNNCell

__all__ = ["cross_entropy", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax",
           "tanh", "functional", "init", "manual_seed", "Module", "Parameter", "Sequential", "bind",
           "ModuleList", "ModuleDict",
           "Linear", "Embedding", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d",
           "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Upsample", "BatchNorm1d",
           "BatchNorm2d",
           "LayerNorm", "RMSNorm", "GroupNorm",
           "Dropout", "Flatten", "Unflatten", "Identity", "ReLU", "Tanh", "Sigmoid", "GELU", "SiLU",
           "LeakyReLU", "ELU", "Softplus", "Mish", "Hardtanh", "RNNCell", "LSTMCell", "GRUCell",
           "MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerDecoder", "RNN", "LSTM", "GRU"]
