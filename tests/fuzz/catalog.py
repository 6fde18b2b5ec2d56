"""How each generated statement is written in Python: one template per entry, `{0}`, `{1}` the
arguments, `{name}` a static parameter (rendered with repr), `{all}` every argument. A pair gives the
stage form and the PyTorch-shim form when they differ (the shim is `tests/fuzz/torch_shim.py`, bound
to the name `st` in the torch rendering); an entry absent from `TORCHLESS` maps to torch simply."""

TEMPLATES = {
    # float elementwise, unary (domains kept valid inside the template)
    "neg": "-{0}", "tanh": "st.tanh({0})", "sigmoid": "st.sigmoid({0})", "sin": "st.sin({0})",
    "cos": "st.cos({0})", "exp": "st.exp({0})", "square": "st.square({0})", "abs": "st.abs({0})",
    "relu": "st.relu({0})", "floor": "st.floor({0})", "sign": "st.sign({0})",
    "stop_gradient": "st.stop_gradient({0})",
    "log": "st.log(st.square({0}) + 0.5)", "sqrt": "st.sqrt(st.abs({0}) + 0.25)",
    "clip": "st.clip({0}, -0.5, 0.5)",
    # float elementwise with a Python scalar (weakly typed) or a NumPy constant
    "smul": "{0} * {c}", "sadd": "{0} + {c}", "rsub": "{c} - {0}", "sdiv": "{0} / {c}",
    "cmul": ("{0} * np.full({shape}, {c}, {dt})", "{0} * st.const(np.full({shape}, {c}, {dt}))"),
    "cadd": ("np.full({shape}, {c}, {dt}) + {0}", "st.const(np.full({shape}, {c}, {dt})) + {0}"),
    # binary, broadcasting
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / ({1} * {1} + 0.5)",
    "maximum": "st.maximum({0}, {1})", "minimum": "st.minimum({0}, {1})",
    "power": "st.power(st.abs({0}) + 0.5, {1})",
    "where": "st.where({0}, {1}, {2})",
    # comparisons and logic
    "lt": "({0} < {1})", "gt": "({0} > {1})", "le": "({0} <= {1})", "ge": "({0} >= {1})",
    "eq": "st.equal({0}, {1})", "ne": "st.not_equal({0}, {1})",
    "gtc": "({0} > {c})",
    "and": "({0} & {1})", "or": "({0} | {1})", "not": "(~{0})",
    # integers
    "iadd": "{0} + {1}", "isub": "{0} - {1}", "imulc": "{0} * {c}", "ineg": "-{0}",
    "ifloordiv": "st.floor_divide({0}, {c})", "imod": "st.mod({0}, {c})", "imodc": "{0} % {c}",
    "imax": "st.maximum({0}, {1})",
    "to_float": "st.astype({0}, {dt})",
    "to_int": "st.astype(st.floor(st.clip({0}, -3.0, 3.0)), 'int64')",
    # reductions
    "sum": "st.sum({0}, axis={axis}, keepdims={keepdims})",
    "mean": "st.mean({0}, axis={axis}, keepdims={keepdims})",
    "max": "st.max({0}, axis={axis}, keepdims={keepdims})",
    "min": "st.min({0}, axis={axis}, keepdims={keepdims})",
    "var": "st.var({0}, axis={axis}, keepdims={keepdims})",
    "logsumexp": "st.logsumexp({0}, axis={axis}, keepdims={keepdims})",
    "argmax": "st.argmax({0}, axis={axis})",
    # linear algebra
    "matmul": "{0} @ {1}", "outer": "st.outer({0}, {1})",
    # views
    "reshape": "st.reshape({0}, {shape})", "transpose": "st.transpose({0}, {axes})",
    "T": ("{0}.T", "st.transpose({0}, None)"),
    "swapaxes": "st.swapaxes({0}, {a}, {b})", "expand_dims": "st.expand_dims({0}, {axis})",
    "squeeze": "st.squeeze({0}, {axis})", "broadcast_to": "st.broadcast_to({0}, {shape})",
    # gathers and copies
    "take": "st.take({0}, {1}, axis={axis})",
    "take0": ("{0}[{1}]", "st.take({0}, {1}, axis=0)"),
    "take1": ("{0}[:, {1}]", "st.take({0}, {1}, axis=1)"),
    "concatenate": "st.concatenate([{all}], axis={axis})",
    "stack": "st.stack([{all}], axis={axis})",
    "pad": "st.pad({0}, {width})",
    "scatter_add": "st.scatter_add({0}, {1}, {2}, axis={axis})",
    "one_hot": "st.one_hot({0}, {k}, {dt})",
    # nn
    "softmax": "st.softmax({0}, axis={axis})", "log_softmax": "st.log_softmax({0}, axis={axis})",
    "cross_entropy": "st.cross_entropy({0}, {1})", "mse_loss": "st.mse_loss({0}, {1})",
    # creation (views of a scalar: no memory)
    "zeros": "st.zeros({shape}, {dt})", "full": "st.full({shape}, {c}, {dt})",
    "iota": "st.iota({shape}, {axis})",
    # the later NumPy vocabulary (gen_numpy.py); domains kept valid and away from kinks
    "sinh": "st.sinh({0})", "cosh": "st.cosh({0})", "arctan": "st.arctan({0})",
    "arcsinh": "st.arcsinh({0})", "erf": "st.erf({0})", "expm1": "st.expm1({0})",
    "log1p": "st.log1p(st.abs({0}))", "exp2": "st.exp2({0})", "log2": "st.log2(st.square({0}) + 0.5)",
    "cbrt": "st.cbrt(st.abs({0}) + 0.5)", "ceil": "st.ceil({0})", "trunc": "st.trunc({0})",
    "rint": "st.rint({0})",
    "arctan2": "st.arctan2({0}, st.square({1}) + 0.5)", "hypot": "st.hypot({0}, st.abs({1}) + 0.5)",
    "logaddexp": "st.logaddexp({0}, {1})", "fmax": "st.fmax({0}, {1})", "fmin": "st.fmin({0}, {1})",
    "cumsum": "st.cumsum({0}, axis={axis})", "cumprod": "st.cumprod({0}, axis={axis})",
    "flip": "st.flip({0}, axis={axis})", "roll": "st.roll({0}, {shift}, axis={axis})",
    "diff": "st.diff({0}, axis={axis})", "sort": "st.sort({0}, axis={axis})",
    "prod": "st.prod({0}, axis={axis}, keepdims={keepdims})",
    "tril": "st.tril({0}, k={k})", "triu": "st.triu({0}, k={k})", "tile": "st.tile({0}, {reps})",
    "repeat": "st.repeat({0}, {repeats}, axis={axis})",
    # nn.functional (gen_nn.py)
    "conv2d": ("st.nn.functional.conv2d({0}, {1}, stride={stride}, padding={padding}, "
               "dilation={dilation}, groups={groups})",
               "st.conv2d({0}, {1}, None, {stride}, {padding}, {dilation}, {groups})"),
    "conv2d_bias": ("st.nn.functional.conv2d({0}, {1}, {2}, stride={stride}, padding={padding}, "
                    "dilation={dilation}, groups={groups})",
                    "st.conv2d({0}, {1}, {2}, {stride}, {padding}, {dilation}, {groups})"),
    "conv1d": ("st.nn.functional.conv1d({0}, {1}, stride={stride}, padding={padding}, "
               "dilation={dilation}, groups={groups})",
               "st.conv1d({0}, {1}, None, {stride}, {padding}, {dilation}, {groups})"),
    "conv1d_bias": ("st.nn.functional.conv1d({0}, {1}, {2}, stride={stride}, padding={padding}, "
                    "dilation={dilation}, groups={groups})",
                    "st.conv1d({0}, {1}, {2}, {stride}, {padding}, {dilation}, {groups})"),
    "max_pool2d": ("st.nn.functional.max_pool2d({0}, {k}, {stride}, {padding})",
                   "st.max_pool2d({0}, {k}, {stride}, {padding})"),
    "avg_pool2d": ("st.nn.functional.avg_pool2d({0}, {k}, {stride}, {padding})",
                   "st.avg_pool2d({0}, {k}, {stride}, {padding})"),
    "layer_norm_affine": ("st.nn.functional.layer_norm({0}, {shape}, {1}, {2})",
                          "st.layer_norm({0}, {shape}, {1}, {2})"),
    "group_norm": ("st.nn.functional.group_norm({0}, {groups}, {1}, {2})",
                   "st.group_norm({0}, {groups}, {1}, {2})"),
    "sdpa": ("st.nn.functional.scaled_dot_product_attention({0}, {1}, {2}, is_causal={causal})",
             "st.sdpa({0}, {1}, {2}, {causal})"),
    "gelu": ("st.nn.functional.gelu({0})", "st.gelu({0})"),
    "gelu_tanh": ("st.nn.functional.gelu_tanh({0})", "st.gelu_tanh({0})"),
    "silu": ("st.nn.functional.silu({0})", "st.silu({0})"),
    "softplus": ("st.nn.functional.softplus({0})", "st.softplus({0})"),
    "elu": ("st.nn.functional.elu({0})", "st.elu({0})"),
    "leaky_relu": ("st.nn.functional.leaky_relu({0})", "st.leaky_relu({0})"),
    # a gradient taken inside the program (differentiated again by an outer grad)
    "inner_grad": "st.grad(lambda u: st.sum(st.tanh(u * {1})))({0})",
    # the loss: a weighted sum of float outputs
    "dotsum": "st.sum({0} * {1})",
    "addl": "{0} + {1}",
}

TORCHLESS = frozenset()          # every entry has a shim function today
