"""A fitted `minirocket` family as a Keras 3 graph of fixed weights, for the ONNX and LiteRT exporters.

`minirocket_keras_model(model)` builds a `keras.Model` that computes what
`MiniRocketRidge.predict_proba` computes, from normalised windows
`(batch, window_size, n_channels)` to `(batch, n_classes)` probabilities:

1. aeon's multivariate MiniRocket transform (`_static_transform_multi` of
   aeon 1.6, `aeon/transformations/collection/convolution_based/_minirocket.py`).
   Per dilation d, each of the 84 fixed length-9 kernels (weight -1 everywhere,
   2 at the 3 taps of `combinations(range(9), 3)`) is convolved with the sum of
   its own random subset of channels. That linear map is one `Conv1D` kernel
   `(9, n_channels, 84)` per dilation, with zero at the channels a kernel does
   not read. aeon alternates the padding: kernel k at dilation index j gets
   zero "same" padding (all `window_size` outputs) when `(j + k)` is even,
   otherwise only the `window_size - 8d` outputs that need no padding. The
   graph therefore runs two convolutions per dilation: a SAME one over the 42
   padded kernels and a VALID one over the 42 unpadded ones.
2. PPV features: `mean_t(C[t, k] > bias[k, f])` for the dilation's
   `n_features_per_dilation` biases per kernel: the convolution output turned
   time-last, `(batch, 42, 1, t)`, one broadcast GREATER against the
   `(42, n_f, 1)` biases, CAST to float and MEAN over the last axis; no
   per-feature loop in the graph. (Time last matters: ONNX Runtime broadcasts a
   scalar bias over a contiguous row of t values 4x faster than the
   time-major layout.)
3. The ridge: `(features - feature_mean) * (1 / feature_scale)` (elementwise),
   then one `Dense` layer whose kernel is `ridge_coef.T / temperature` (a binary
   ridge's single score s becomes the two columns -s, s as in `_scores`), then
   softmax. Classes the ridge never saw get probability 0 through a fixed 0/1
   `Dense` (no bias) after the softmax, only when there are such classes.

The graph orders the features differently from aeon (per dilation: padded
kernels first, then the unpadded ones); the feature mean/scale and the ridge
rows are permuted to that order instead of permuting the features. Float32
arithmetic everywhere (aeon builds the convolutions in float32 too; the ridge
runs in float64 in the family), so a PPV feature flips only where a convolution
output lies within float32 rounding of a bias.

Cost per window for the project's default (`n_kernels=10_000`, window 128,
6 channels, 3 classes): aeon makes 9,996 features (84 kernels x 119 biases)
over the 15 dilations 1..15. The graph spends 6.53 M multiply-adds in the
convolutions (kernels dense over all 6 channels: 9 x 6 x 42 per output, 128
outputs for the padded half, 128 - 8d for the other; aeon's own loop exploits
the -1/2 weights and the channel subsets and adds instead), 1.09 M comparisons
(+ as many casts and mean terms) and 29,988 ridge multiply-adds; 128 k float32
constants (0.5 MB). `minirocket_graph_cost(model)` gives these figures for any
fitted model. Measured on one CPU thread (x86, onnxruntime 1.31): the ONNX export
takes ~0.5 ms per window, `predict_proba` (numba) ~0.9 ms for one window and
~0.7 ms per window in a batch of 64.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple

import numpy as np

from har.families._minirocket import MiniRocketRidge

if TYPE_CHECKING:  # pragma: no cover
    import keras

KERNEL_LENGTH = 9
N_KERNELS = 84
# aeon's MiniRocket._indices: the 3 taps with weight 2 of each of the 84 kernels, in kernel order
KERNEL_INDICES = np.array([(a, b, c) for a in range(9) for b in range(a + 1, 9) for c in range(b + 1, 9)],
                          dtype=np.int32)


def _kernel_weights() -> np.ndarray:
    """(9, 84): tap weights of the 84 kernels, -1 except 2 at the kernel's three indices."""
    weights = -np.ones((KERNEL_LENGTH, N_KERNELS), dtype=np.float32)
    for k, taps in enumerate(KERNEL_INDICES):
        weights[taps, k] = 2.0
    return weights


def _graph_layout(model: MiniRocketRidge) -> Dict[str, Any]:
    """The transform's arrays arranged for the graph: per dilation the padded / unpadded kernel groups,
    their conv kernels and bias matrices, and `order`, the aeon feature index of every graph feature."""
    combo_sizes, channel_indices, dilations, per_dilation, biases = (np.asarray(a) for a in model.transform.parameters)
    n_channels = len(model.channel_names)
    window = model.window_size
    taps = _kernel_weights()
    n_features = int(per_dilation.sum()) * N_KERNELS
    if biases.shape != (n_features,) or combo_sizes.shape != (len(dilations) * N_KERNELS,):
        raise ValueError(f"MiniRocket parameters do not fit together: {len(dilations)} dilations, "
                         f"{combo_sizes.shape[0]} channel combinations, {biases.shape[0]} biases")
    combo_starts = np.concatenate([[0], np.cumsum(combo_sizes)])
    groups: List[Dict[str, Any]] = []
    order: List[np.ndarray] = []
    feature_start = 0
    for j, (dilation, n_f) in enumerate(zip(dilations.tolist(), per_dilation.tolist(), strict=True)):
        kernel = np.zeros((KERNEL_LENGTH, n_channels, N_KERNELS), dtype=np.float32)
        for k in range(N_KERNELS):
            comb = j * N_KERNELS + k
            channels = channel_indices[combo_starts[comb]:combo_starts[comb + 1]]
            for channel in channels:  # aeon sums the selected channels (drawn without replacement)
                kernel[:, channel, k] += taps[:, k]
        bias = biases[feature_start:feature_start + N_KERNELS * n_f].reshape(N_KERNELS, n_f)
        index = feature_start + np.arange(N_KERNELS * n_f).reshape(N_KERNELS, n_f)
        padded = np.array([k for k in range(N_KERNELS) if (j + k) % 2 == 0])
        unpadded = np.array([k for k in range(N_KERNELS) if (j + k) % 2 == 1])
        if window - 8 * dilation < 1:
            raise ValueError(f"dilation {dilation} leaves no unpadded output in a window of {window}")
        for kernels, padding in ((padded, "same"), (unpadded, "valid")):
            if n_f == 0:  # no features at this dilation (its channel combinations are still consumed)
                continue
            groups.append({"dilation": int(dilation), "padding": padding, "n_features": int(n_f),
                           "kernel": kernel[:, :, kernels], "bias": bias[kernels].astype(np.float32)})
            order.append(index[kernels].ravel())
        feature_start += N_KERNELS * n_f
    return {"groups": groups, "order": np.concatenate(order), "n_features": n_features}


def minirocket_graph_cost(model: MiniRocketRidge) -> Dict[str, int]:
    """Per-window work of the graph: features, dilations, multiply-adds (convolutions, ridge), comparisons,
    and the float32 constants (values)."""
    layout = _graph_layout(model)
    window, n_channels = model.window_size, len(model.channel_names)
    conv_macs = compares = 0
    for group in layout["groups"]:
        outputs = window if group["padding"] == "same" else window - 8 * group["dilation"]
        n_kernels = group["kernel"].shape[-1]
        conv_macs += outputs * KERNEL_LENGTH * n_channels * n_kernels
        compares += outputs * n_kernels * group["n_features"]
    n_features = layout["n_features"]
    n_scores = model.linear["ridge_coef"].shape[0]
    n_out = 2 if n_scores == 1 else n_scores
    constants = (sum(g["kernel"].size + g["bias"].size for g in layout["groups"]) + 2 * n_features
                 + n_features * n_out + n_out)
    return {"n_features": n_features, "n_dilations": len({g["dilation"] for g in layout["groups"]}),
            "conv_macs": conv_macs,
            "comparisons": compares, "ridge_macs": n_features * n_out, "constants": constants}


def _ridge_arrays(model: MiniRocketRidge, order: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Feature mean and 1/scale in graph order, the Dense kernel/bias (temperature folded in), and the
    0/1 matrix placing the ridge's classes among `class_names` (None when it saw them all)."""
    lin = model.linear
    coef = np.atleast_2d(np.asarray(lin["ridge_coef"], dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(lin["ridge_intercept"], dtype=np.float64))
    if coef.shape[0] == 1:  # binary ridge: one score for the second class, its negative for the first
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    temperature = float(model.temperature)
    mean = np.asarray(lin["feature_mean"], dtype=np.float64)[order]
    inv_scale = 1.0 / np.asarray(lin["feature_scale"], dtype=np.float64)[order]
    kernel = coef[:, order].T / temperature
    bias = intercept / temperature
    classes = np.asarray(lin["ridge_classes"], dtype=np.int64)
    placement = None
    if len(classes) != model.n_classes or np.any(classes != np.arange(model.n_classes)):
        placement = np.zeros((len(classes), model.n_classes), dtype=np.float32)
        placement[np.arange(len(classes)), classes] = 1.0
    return (mean.astype(np.float32), inv_scale.astype(np.float32), kernel.astype(np.float32),
            bias.astype(np.float32), placement)


@cache
def _features_layer_class() -> type:
    """The graph's one custom layer, defined on first use so importing this module does not import Keras."""
    import keras
    from keras import ops

    class MiniRocketFeatures(keras.layers.Layer):
        """Standardised MiniRocket PPV features in graph order; every weight is fixed (non-trainable).

        Config holds only the shapes (`window_size`, `n_channels`, per group its
        dilation, padding and biases per kernel); the weights are set after
        building. Output: `(batch, sum of groups' 42 * n_features)`.
        """

        def __init__(self, window_size: int, n_channels: int, dilations: Sequence[int], paddings: Sequence[str],
                     n_features: Sequence[int], group_kernels: Sequence[int], **kwargs: Any) -> None:
            super().__init__(trainable=False, **kwargs)
            self.window_size, self.n_channels = int(window_size), int(n_channels)
            self.dilations = [int(d) for d in dilations]
            self.paddings = [str(p) for p in paddings]
            self.n_features = [int(n) for n in n_features]
            self.group_kernels = [int(n) for n in group_kernels]
            total = sum(k * n for k, n in zip(self.group_kernels, self.n_features, strict=True))
            self.total_features = total
            self.kernels, self.biases = [], []
            for g, (n_k, n_f) in enumerate(zip(self.group_kernels, self.n_features, strict=True)):
                self.kernels.append(self.add_weight(shape=(KERNEL_LENGTH, self.n_channels, n_k), name=f"kernel_{g}",
                                                    initializer="zeros", trainable=False))
                self.biases.append(self.add_weight(shape=(n_k, n_f), name=f"bias_{g}", initializer="zeros",
                                                   trainable=False))
            self.feature_mean = self.add_weight(shape=(total,), name="feature_mean", initializer="zeros",
                                                trainable=False)
            self.feature_inv_scale = self.add_weight(shape=(total,), name="feature_inv_scale", initializer="ones",
                                                     trainable=False)
            self.built = True

        def call(self, inputs):
            parts = []
            for g, dilation in enumerate(self.dilations):
                conv = ops.conv(inputs, self.kernels[g], strides=1, padding=self.paddings[g],
                                data_format="channels_last", dilation_rate=dilation)  # (b, t, k)
                # time last: the comparison broadcasts one bias over a contiguous row of the window
                series = ops.expand_dims(ops.transpose(conv, (0, 2, 1)), 2)  # (b, k, 1, t)
                above = ops.greater(series, ops.expand_dims(self.biases[g], -1))  # (b, k, f, t)
                ppv = ops.mean(ops.cast(above, "float32"), axis=-1)  # (b, k, f)
                parts.append(ops.reshape(ppv, (-1, self.group_kernels[g] * self.n_features[g])))
            features = ops.concatenate(parts, axis=-1)
            return (features - self.feature_mean) * self.feature_inv_scale

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.total_features)

        def get_config(self) -> Dict[str, Any]:
            config = super().get_config()
            config.pop("trainable", None)
            config.update(window_size=self.window_size, n_channels=self.n_channels, dilations=self.dilations,
                          paddings=self.paddings, n_features=self.n_features, group_kernels=self.group_kernels)
            return config

    return MiniRocketFeatures


def minirocket_keras_model(model: MiniRocketRidge) -> keras.Model:
    """A Keras model of fixed weights computing `model.predict_proba` (float32, within rounding).

    Input: normalised windows `(None, window_size, n_channels)` float32; output
    `(None, n_classes)` probabilities in the order of `model.class_names`.
    """
    import keras

    if not isinstance(model, MiniRocketRidge):
        raise TypeError(f"expected a fitted MiniRocketRidge, got {type(model).__name__}")
    model._check_fitted()
    layout = _graph_layout(model)
    groups = layout["groups"]
    mean, inv_scale, kernel, bias, placement = _ridge_arrays(model, layout["order"])
    features_layer = _features_layer_class()(
        window_size=model.window_size, n_channels=len(model.channel_names),
        dilations=[g["dilation"] for g in groups], paddings=[g["padding"] for g in groups],
        n_features=[g["n_features"] for g in groups], group_kernels=[g["kernel"].shape[-1] for g in groups],
        name="minirocket_features")
    weights: List[np.ndarray] = []
    for group in groups:
        weights += [group["kernel"], group["bias"]]
    features_layer.set_weights([*weights, mean, inv_scale])

    inputs = keras.Input(shape=(model.window_size, len(model.channel_names)), name="window")
    scores = keras.layers.Dense(kernel.shape[1], name="ridge", trainable=False)
    logits = scores(features_layer(inputs))
    scores.set_weights([kernel, bias])
    outputs = keras.layers.Softmax(name="softmax")(logits)
    if placement is not None:
        place = keras.layers.Dense(placement.shape[1], use_bias=False, name="place_classes", trainable=False)
        outputs = place(outputs)
        place.set_weights([placement])
    return keras.Model(inputs, outputs, name="minirocket_ridge")
