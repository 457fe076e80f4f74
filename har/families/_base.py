"""The contract every model family fulfils: fit on windows, class probabilities, portable save/load.

A family instance is one model (sklearn style): `fit` returns the instance
itself, fitted. Inputs are windows already normalised by the training split's
`ChannelNormalizer`; outputs are `(n, n_classes)` float32 probabilities in the
order of `class_names`. `save` writes only `.keras`, `.npy` and `.json` files
(never pickle), and `load` rebuilds the model from them without refitting.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Sequence, Type, TypeVar

import numpy as np
from pydantic import BaseModel

from har.types import WindowedDataset

FORMAT_VERSION = 1
FAMILY_FILE = "family.json"
PORTABLE_SUFFIXES = frozenset({".keras", ".npy", ".json"})
DEFAULT_SEED = 42

EpochCallback = Callable[[int, Dict[str, float]], None]
ParamsLike = BaseModel | Mapping[str, Any] | None
F = TypeVar("F", bound="ModelFamily")


class ModelFamily(ABC):
    """One classifier of a registered family (see `get_family`).

    Subclasses set `name` and `Params` (a pydantic model with `extra="forbid"`
    and a `seed` field) and implement `_fit`, `_predict_proba`, `_save` and
    `_load`; the public methods here check inputs and outputs once for all.

    Attributes set by `fit` (and restored by `load`): `params`, `class_names`,
    `channel_names`, `window_size`, `history_` (per-epoch metrics for families
    that train in epochs, else empty) and `warmup_seconds_` (cost of the first
    prediction paid at load time; 0.0 after `fit`).
    """

    name: ClassVar[str]
    Params: ClassVar[Type[BaseModel]]
    # True when `export_graph` gives a Keras graph that `har.export` converts to LiteRT (a watch) and ONNX.
    exportable: ClassVar[bool] = False

    def __init__(self) -> None:
        self.params: BaseModel | None = None
        self.class_names: List[str] = []
        self.channel_names: List[str] = []
        self.window_size: int = 0
        self.history_: Dict[str, List[float]] = {}
        self.warmup_seconds_: float = 0.0

    # -- public API -------------------------------------------------------------------------------
    @classmethod
    def parse_params(cls, params: ParamsLike = None) -> BaseModel:
        """`params` as this family's validated `Params` (None = defaults; unknown keys raise)."""
        if params is None:
            return cls.Params()
        if isinstance(params, cls.Params):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump()
        return cls.Params.model_validate(dict(params))

    def fit(
        self: F,
        train: WindowedDataset,
        val: WindowedDataset | None = None,
        params: ParamsLike = None,
        seed: int | None = None,
        *,
        on_epoch_end: EpochCallback | None = None,
    ) -> F:
        """Fit on normalised, labelled training windows; returns self.

        `val` (optional) is used for early stopping or calibration, never to fit
        weights. `seed=None` uses `params.seed`; a given seed overrides it (and is
        what `params` records). `on_epoch_end(epoch, logs)` is called by families
        that train in epochs.
        """
        parsed = self.parse_params(params)
        if seed is not None:
            parsed = parsed.model_copy(update={"seed": int(seed)})
        _check_training_data(train, "train")
        if val is not None:
            _check_training_data(val, "val", like=train)
        self.params = None  # unfitted until _fit succeeds (a failed refit must not look fitted)
        self.class_names = list(train.class_names)
        self.channel_names = list(train.channel_names)
        self.window_size = train.window_size
        self.history_ = {}
        self.warmup_seconds_ = 0.0
        self._fit(train, val, parsed, on_epoch_end)
        self.params = parsed
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities `(n, n_classes)` float32 for normalised windows `(n, window, channels)`."""
        self._check_fitted()
        X = np.asarray(X)
        expected = (self.window_size, len(self.channel_names))
        if X.ndim != 3 or X.shape[1:] != expected:
            raise ValueError(f"{self.name}: expected windows of shape (n, {expected[0]}, {expected[1]}), "
                             f"got {X.shape}")
        if len(X) == 0:
            return np.zeros((0, self.n_classes), dtype=np.float32)
        proba = np.asarray(self._predict_proba(np.ascontiguousarray(X, dtype=np.float32)), dtype=np.float32)
        if proba.shape != (len(X), self.n_classes):
            raise RuntimeError(f"{self.name}: produced probabilities of shape {proba.shape}, "
                               f"expected {(len(X), self.n_classes)}")
        return proba

    def save(self, directory: str | Path) -> List[Path]:
        """Write the fitted model into `directory` (new or empty); returns the files written."""
        self._check_fitted()
        folder = Path(directory)
        if folder.exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder}: not empty; save a model into a new or empty folder")
        folder.mkdir(parents=True, exist_ok=True)
        state = self._save(folder)
        info = {
            "format_version": FORMAT_VERSION,
            "family": self.name,
            "params": self.params.model_dump(mode="json"),
            "class_names": self.class_names,
            "channel_names": self.channel_names,
            "window_size": self.window_size,
            "history": self.history_,
            "state": state,
        }
        (folder / FAMILY_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        bad = [p.name for p in files if p.suffix not in PORTABLE_SUFFIXES]
        if bad:  # a family bug, caught before anything downstream trusts the folder
            raise RuntimeError(f"{self.name}: wrote non-portable file(s) {bad}")
        return files

    @classmethod
    def load(cls: Type[F], directory: str | Path, *, warm_up: bool = True) -> F:
        """Rebuild a saved model without refitting; `warm_up` pays the first prediction's cost now."""
        folder = Path(directory)
        info = read_family_info(folder)
        if info["family"] != cls.name:
            raise ValueError(f"{folder / FAMILY_FILE}: holds a '{info['family']}' model, not '{cls.name}'")
        model = cls()
        model.params = cls.Params.model_validate(info["params"])
        model.class_names = [str(c) for c in info["class_names"]]
        model.channel_names = [str(c) for c in info["channel_names"]]
        model.window_size = int(info["window_size"])
        model.history_ = {k: [float(v) for v in values] for k, values in (info.get("history") or {}).items()}
        model._load(folder, dict(info.get("state") or {}))
        if warm_up:
            model.warm_up()
        return model

    def warm_up(self) -> float:
        """Predict one zero window (compiles/traces what the first request would); returns seconds."""
        start = time.perf_counter()
        self.predict_proba(np.zeros((1, self.window_size, len(self.channel_names)), dtype=np.float32))
        self.warmup_seconds_ = time.perf_counter() - start
        return self.warmup_seconds_

    def fit_summary(self) -> Dict[str, Any]:
        """What this fit learned besides its weights that a refit without validation windows needs
        (JSON-ready; e.g. the best epoch). Cross-validation keeps one per fold (`refit_params`)."""
        return {}

    @classmethod
    def refit_params(cls, params: ParamsLike, summaries: Sequence[Mapping[str, Any]]) -> BaseModel:
        """`params` for the final fit on all training subjects, without validation windows, set from the
        cross-validation folds' `fit_summary`s (e.g. epochs = the folds' median best epoch). Default: as is."""
        return cls.parse_params(params)

    def export_graph(self) -> Any:
        """A Keras model computing `predict_proba` (normalised windows in) for the exporters, or None."""
        return None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_fitted(self) -> bool:
        return self.params is not None and self._has_state()

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "unfitted"
        return f"{type(self).__name__}({state}, classes={self.n_classes})"

    # -- what a family implements ----------------------------------------------------------------
    @abstractmethod
    def _fit(self, train: WindowedDataset, val: WindowedDataset | None, params: Any,
             on_epoch_end: EpochCallback | None) -> None: ...

    @abstractmethod
    def _predict_proba(self, X: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _save(self, folder: Path) -> Dict[str, Any]:
        """Write the family's files into `folder`; returns JSON-ready state for family.json."""

    @abstractmethod
    def _load(self, folder: Path, state: Dict[str, Any]) -> None: ...

    @abstractmethod
    def _has_state(self) -> bool: ...

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"{self.name}: the model is not fitted; call fit() or {type(self).__name__}.load()")


def read_family_info(folder: Path) -> Dict[str, Any]:
    """family.json of a saved model, checked for the fields and format version this code reads."""
    path = Path(folder) / FAMILY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; {folder} is not a saved model family folder")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: corrupt ({error})") from error
    required = ("format_version", "family", "params", "class_names", "channel_names", "window_size")
    if not isinstance(info, dict) or any(key not in info for key in required):
        raise ValueError(f"{path}: expected a JSON object with fields {', '.join(required)}")
    if info["format_version"] != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {info['format_version']!r} is not supported "
                         f"(expects {FORMAT_VERSION})")
    return info


def save_array(folder: Path, name: str, array: np.ndarray) -> str:
    """Write one plain (non-object) array as `<name>.npy`; returns the file name."""
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise TypeError(f"{name}: object arrays need pickle; store plain numbers only")
    file = f"{name}.npy"
    np.save(folder / file, array, allow_pickle=False)
    return file


def load_array(folder: Path, name: str) -> np.ndarray:
    path = folder / f"{name}.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the saved model")
    return np.load(path, allow_pickle=False)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _check_training_data(ds: WindowedDataset, role: str, like: WindowedDataset | None = None) -> None:
    if ds.n_windows == 0:
        raise ValueError(f"{role}: no windows to fit on")
    if np.any(ds.y < 0) or np.any(ds.y >= len(ds.class_names)):
        raise ValueError(f"{role}: every window needs a label in 0..{len(ds.class_names) - 1} "
                         f"(unlabelled windows are -1)")
    if not np.all(np.isfinite(ds.X)):
        raise ValueError(f"{role}: windows contain NaN or infinite values")
    if like is not None and (ds.X.shape[1:] != like.X.shape[1:] or ds.class_names != like.class_names):
        raise ValueError(f"{role}: windows {ds.X.shape[1:]} / classes {ds.class_names} differ from train's "
                         f"{like.X.shape[1:]} / {like.class_names}")
    if role == "train" and len(np.unique(ds.y)) < 2:
        raise ValueError("train: needs windows of at least two classes")
