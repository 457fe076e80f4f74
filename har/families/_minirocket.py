"""`minirocket`: aeon's MiniRocket transform + a ridge classifier on standardised features.

MiniRocket (Dempster et al., KDD 2021) turns each window into ~10,000
proportion-of-positive-values features of fixed dilated convolutions; a linear
model separates them. The transform is aeon's (numba-compiled); this module
only stores and restores its learned arrays.

Probabilities: softmax over the ridge decision function divided by a
temperature, which is fitted (minimum log-loss) on the validation windows when
`fit` gets them, else 1.0. Ridge scores are regression targets (+-1), not
log-odds, so without that temperature the probabilities are far too flat.

Stored files (no pickle): the transform's learned arrays (`minirocket_*.npy`),
the feature standardisation (`feature_mean.npy`, `feature_scale.npy`), the
ridge's `ridge_coef.npy` / `ridge_intercept.npy`, the classes it saw
(`ridge_classes.npy`), and in family.json the transform's fitted facts, the
chosen alpha and the temperature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from har.families._base import DEFAULT_SEED, EpochCallback, ModelFamily, load_array, save_array, softmax
from har.types import WindowedDataset

# aeon's MiniRocket.parameters, in order: what its numba `_static_transform_multi` reads.
TRANSFORM_ARRAYS = ("n_channels_per_combination", "channel_indices", "dilations", "n_features_per_dilation",
                    "biases")
TRANSFORM_DTYPES = ("int32", "int32", "int32", "int32", "float32")
LINEAR_ARRAYS = ("feature_mean", "feature_scale", "ridge_coef", "ridge_intercept", "ridge_classes")
BATCH = 1024  # windows per transform call: bounds the (batch, n_features) float32 feature matrix


class MiniRocketParams(BaseModel):
    """MiniRocket size and the ridge's regularisation grid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_kernels: int = Field(10_000, ge=84, description="Features; aeon rounds down to a multiple of 84.")
    max_dilations_per_kernel: int = Field(32, ge=1)
    alphas: List[float] = Field(default_factory=lambda: np.logspace(-3, 3, 10).tolist(), min_length=1,
                                description="Ridge penalties; chosen by leave-one-out (RidgeClassifierCV).")
    n_jobs: int = Field(1, ge=1, description="numba threads of the transform.")
    temperature: float | None = Field(None, gt=0, description="Softmax temperature of a fit without validation "
                                      "windows (the final fit: the cross-validation folds' median); None = 1.")
    seed: int = DEFAULT_SEED


def _aeon_minirocket():
    from aeon.transformations.collection.convolution_based import MiniRocket

    return MiniRocket


def _channels_first(X: np.ndarray) -> np.ndarray:
    # aeon wants (n, channels, time); contiguous so numba reuses one compiled (cached) signature
    return np.ascontiguousarray(np.transpose(X, (0, 2, 1)), dtype=np.float32)


def _fit_temperature(scores: np.ndarray, y_index: np.ndarray) -> float:
    """Temperature T minimising the log-loss of softmax(scores / T)."""
    from scipy.optimize import minimize_scalar

    def log_loss(log_t: float) -> float:
        z = scores / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y_index)), y_index].mean())

    return float(np.exp(minimize_scalar(log_loss, bounds=(-6.0, 4.0), method="bounded").x))


class MiniRocketRidge(ModelFamily):
    """MiniRocket features -> standardisation -> RidgeClassifierCV; params are `MiniRocketParams`."""

    name = "minirocket"
    Params = MiniRocketParams
    exportable = True  # as a Keras graph of fixed convolutions and thresholds (`_minirocket_graph`)

    def __init__(self) -> None:
        super().__init__()
        self.transform = None  # aeon MiniRocket, fitted
        self.linear: Dict[str, np.ndarray] = {}
        self.alpha: float | None = None
        self.temperature: float = 1.0
        self.temperature_source: str = "none"

    # -- fit / predict ----------------------------------------------------------------------------
    def _fit(self, train: WindowedDataset, val: WindowedDataset | None, params: MiniRocketParams,
             on_epoch_end: EpochCallback | None) -> None:
        from sklearn.linear_model import RidgeClassifierCV

        self.transform = _aeon_minirocket()(
            n_kernels=params.n_kernels, max_dilations_per_kernel=params.max_dilations_per_kernel,
            n_jobs=params.n_jobs, random_state=params.seed)
        # aeon's fit reseeds numpy's *global* RNG (np.random.seed); keep callers' global state as it was
        global_state = np.random.get_state()
        try:
            self.transform.fit(_channels_first(train.X))
        finally:
            np.random.set_state(global_state)
        features = self._features(train.X).astype(np.float64)
        mean = features.mean(axis=0)
        scale = features.std(axis=0)
        scale[scale < 1e-12] = 1.0  # a constant feature carries nothing; keep it at zero
        ridge = RidgeClassifierCV(alphas=list(params.alphas)).fit((features - mean) / scale, train.y)
        coef, intercept = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
        self.linear = {"feature_mean": mean, "feature_scale": scale, "ridge_coef": coef,
                       "ridge_intercept": intercept, "ridge_classes": np.asarray(ridge.classes_, dtype=np.int64)}
        self.alpha = float(ridge.alpha_)
        self.temperature, self.temperature_source = 1.0, "none"
        if params.temperature is not None:
            self.temperature, self.temperature_source = float(params.temperature), "params"
        if val is not None:
            scores = self._scores(val.X)
            known = np.isin(val.y, self.linear["ridge_classes"])
            if known.any():
                y_index = np.searchsorted(self.linear["ridge_classes"], val.y[known])
                self.temperature, self.temperature_source = _fit_temperature(scores[known], y_index), "val"

    def export_graph(self) -> Any:
        from har.families._minirocket_graph import minirocket_keras_model

        self._check_fitted()
        return minirocket_keras_model(self)

    def fit_summary(self) -> Dict[str, Any]:
        return {"temperature": self.temperature} if self.temperature_source == "val" else {}

    @classmethod
    def refit_params(cls, params: Any, summaries: Sequence[Mapping[str, Any]]) -> MiniRocketParams:
        """The temperature of the final fit (no validation windows) = the folds' median."""
        parsed = cls.parse_params(params)
        temperatures = [float(s["temperature"]) for s in summaries if s.get("temperature")]
        if not temperatures or parsed.temperature is not None:
            return parsed
        return parsed.model_copy(update={"temperature": float(np.median(temperatures))})

    def _features(self, X: np.ndarray) -> np.ndarray:
        return np.concatenate([self.transform.transform(_channels_first(X[i:i + BATCH]))
                               for i in range(0, len(X), BATCH)])

    def _scores(self, X: np.ndarray) -> np.ndarray:
        """Ridge decision values, one column per class seen in training."""
        lin = self.linear
        z = (self._features(X).astype(np.float64) - lin["feature_mean"]) / lin["feature_scale"]
        scores = z @ lin["ridge_coef"].T + lin["ridge_intercept"]
        if scores.shape[1] == 1:  # binary ridge: one score for the second class; the first gets its negative
            scores = np.hstack([-scores, scores])
        return scores

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(X), self.n_classes), dtype=np.float64)
        proba[:, self.linear["ridge_classes"]] = softmax(self._scores(X) / self.temperature)
        return proba

    # -- save / load ------------------------------------------------------------------------------
    def _save(self, folder: Path) -> Dict[str, Any]:
        import aeon

        for name, array in zip(TRANSFORM_ARRAYS, self.transform.parameters, strict=True):
            save_array(folder, f"minirocket_{name}", array)
        for name in LINEAR_ARRAYS:
            save_array(folder, name, self.linear[name])
        meta = {key: (value.item() if isinstance(value, np.generic) else value)
                for key, value in self.transform.metadata_.items()}
        return {"aeon_version": aeon.__version__, "n_kernels_": int(self.transform.n_kernels_),
                "transform_metadata": meta, "alpha": self.alpha, "temperature": self.temperature,
                "temperature_source": self.temperature_source,
                "n_features": int(self.linear["ridge_coef"].shape[1])}

    def _load(self, folder: Path, state: Dict[str, Any]) -> None:
        import aeon

        saved = str(state.get("aeon_version", "?"))
        if saved.split(".")[:2] != aeon.__version__.split(".")[:2]:
            raise ValueError(f"{folder}: MiniRocket arrays were saved with aeon {saved}; this is aeon "
                             f"{aeon.__version__}, whose transform may read them differently: retrain")
        arrays = []
        for name, dtype in zip(TRANSFORM_ARRAYS, TRANSFORM_DTYPES, strict=True):
            array = load_array(folder, f"minirocket_{name}")
            if array.dtype != np.dtype(dtype) or array.ndim != 1:
                raise ValueError(f"{folder}/minirocket_{name}.npy: expected a 1-D {dtype} array, "
                                 f"got {array.ndim}-D {array.dtype}")
            arrays.append(np.ascontiguousarray(array))
        params: MiniRocketParams = self.params
        transform = _aeon_minirocket()(
            n_kernels=params.n_kernels, max_dilations_per_kernel=params.max_dilations_per_kernel,
            n_jobs=params.n_jobs, random_state=params.seed)
        # What aeon's fit leaves behind (BaseCollectionTransformer.fit + MiniRocket._fit), set without fitting.
        transform.parameters = tuple(arrays)
        transform.n_kernels_ = int(state["n_kernels_"])
        transform._n_jobs = params.n_jobs
        transform.metadata_ = dict(state["transform_metadata"])
        transform.is_fitted = True
        self.transform = transform
        self.linear = {name: load_array(folder, name) for name in LINEAR_ARRAYS}
        n_features = int(arrays[3].sum()) * 84
        if self.linear["ridge_coef"].shape[1] != n_features or arrays[4].shape != (n_features,):
            raise ValueError(f"{folder}: the ridge expects {self.linear['ridge_coef'].shape[1]} features, "
                             f"the transform makes {n_features}")
        self.alpha = state.get("alpha")
        self.temperature = float(state["temperature"])
        self.temperature_source = str(state.get("temperature_source", "none"))

    def _has_state(self) -> bool:
        return self.transform is not None and bool(self.linear)
