"""`st.nn.functional`: PyTorch-named functional forms."""
from ..ir.functions import (cross_entropy, log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax,
                            tanh)
