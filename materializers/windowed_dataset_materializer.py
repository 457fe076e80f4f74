"""Materializer for `har.types.WindowedDataset`.

Layout inside the artifact URI (all portable, nothing pickled)::

    X.npy              float (n_windows, window_size, n_channels)
    y.npy              int   (n_windows,)   class index or -1
    recording_ids.npy  <U..  (n_windows,)
    subjects.npy       <U..  (n_windows,)
    start_times.npy    float64 (n_windows,)
    meta.json          format_version, class/channel names, rate, step, shapes
    example_windows.png, class_balance.png   (visualizations)

Arrays are written with `numpy.lib.format.write_array(..., allow_pickle=False)`
and read with `read_array(..., allow_pickle=False)` through the artifact
store's file handles, so object arrays are refused in both directions and
remote artifact stores work unchanged. `meta.json` is written last.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Dict, Tuple, Type

import numpy as np
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.types import WindowedDataset

FORMAT_VERSION = 1
META_FILE = "meta.json"
# array name -> (file, required dtype kinds)
ARRAYS: Dict[str, Tuple[str, str]] = {
    "X": ("X.npy", "f"),
    "y": ("y.npy", "iu"),
    "recording_ids": ("recording_ids.npy", "U"),
    "subjects": ("subjects.npy", "U"),
    "start_times": ("start_times.npy", "f"),
}
META_FIELDS = (
    "format_version",
    "type",
    "class_names",
    "channel_names",
    "sample_rate_hz",
    "step",
    "n_windows",
    "window_size",
)
EXAMPLES_PNG = "example_windows.png"
BALANCE_PNG = "class_balance.png"


class WindowedDatasetMaterializer(BaseMaterializer):
    """Stores a `WindowedDataset` as one `.npy` per array plus `meta.json`."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (WindowedDataset,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    # ---------------------------------------------------------------- save
    def save(self, data: WindowedDataset) -> None:
        store = self.artifact_store
        if not store.exists(self.uri):
            store.makedirs(self.uri)
        arrays = {
            "X": np.asarray(data.X),
            "y": np.asarray(data.y),
            "recording_ids": _as_unicode(data.recording_ids),
            "subjects": _as_unicode(data.subjects),
            "start_times": np.asarray(data.start_times, dtype=np.float64),
        }
        if arrays["X"].dtype.kind != "f":
            raise TypeError(f"WindowedDataset.X must be a float array, got dtype {arrays['X'].dtype}")
        if arrays["y"].dtype.kind not in "iu":
            raise TypeError(f"WindowedDataset.y must be an integer array, got dtype {arrays['y'].dtype}")
        for name, (filename, _) in ARRAYS.items():
            with store.open(self._path(filename), "wb") as handle:
                np.lib.format.write_array(handle, arrays[name], allow_pickle=False)
        meta = {
            "format_version": FORMAT_VERSION,
            "type": "WindowedDataset",
            "class_names": [str(name) for name in data.class_names],
            "channel_names": [str(name) for name in data.channel_names],
            "sample_rate_hz": float(data.sample_rate_hz),
            "step": int(data.step),
            "n_windows": data.n_windows,
            "window_size": data.window_size,
            "n_channels": int(data.X.shape[2]),
            "dtypes": {name: arrays[name].dtype.str for name in ARRAYS},
        }
        with store.open(self._path(META_FILE), "w") as handle:
            handle.write(json.dumps(meta, indent=2))

    # ---------------------------------------------------------------- load
    def load(self, data_type: Type[Any]) -> WindowedDataset:
        meta = self._read_meta()
        arrays = {name: self._read_array(filename, kinds) for name, (filename, kinds) in ARRAYS.items()}

        n_windows = int(meta["n_windows"])
        X = arrays["X"]
        if X.ndim != 3 or X.shape[:2] != (n_windows, int(meta["window_size"])):
            raise ValueError(
                f"{self._path('X.npy')}: shape {X.shape} does not match {META_FILE} "
                f"(n_windows={n_windows}, window_size={meta['window_size']})"
            )
        if X.shape[2] != len(meta["channel_names"]):
            raise ValueError(
                f"{self._path('X.npy')}: {X.shape[2]} channels but {META_FILE} names "
                f"{len(meta['channel_names'])} ({', '.join(meta['channel_names'])})"
            )
        for name, (filename, _) in ARRAYS.items():
            if name != "X" and arrays[name].shape != (n_windows,):
                raise ValueError(
                    f"{self._path(filename)}: shape {arrays[name].shape} does not match "
                    f"n_windows={n_windows} in {META_FILE}"
                )
        y = arrays["y"]
        n_classes = len(meta["class_names"])
        if y.size and (int(y.min()) < -1 or int(y.max()) >= n_classes):
            raise ValueError(
                f"{self._path('y.npy')}: labels must lie in [-1, {n_classes - 1}] for {n_classes} classes, "
                f"found range [{int(y.min())}, {int(y.max())}]"
            )
        return WindowedDataset(
            X=X,
            y=y,
            recording_ids=arrays["recording_ids"],
            subjects=arrays["subjects"],
            start_times=arrays["start_times"],
            class_names=[str(name) for name in meta["class_names"]],
            channel_names=[str(name) for name in meta["channel_names"]],
            sample_rate_hz=float(meta["sample_rate_hz"]),
            step=int(meta["step"]),
        )

    def _read_meta(self) -> Dict[str, Any]:
        path = self._path(META_FILE)
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(
                f"{path}: missing; this is not a WindowedDataset artifact (or it is incomplete)"
            )
        try:
            with self.artifact_store.open(path, "r") as handle:
                meta = json.loads(handle.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: corrupt WindowedDataset metadata ({error})") from error
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(meta).__name__}")
        missing = [name for name in META_FIELDS if name not in meta]
        if missing:
            raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
        if meta["type"] != "WindowedDataset":
            raise ValueError(f"{path}: holds a '{meta['type']}' artifact, not a WindowedDataset")
        if meta["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"{path}: format_version {meta['format_version']!r} is not supported by this code "
                f"(expects {FORMAT_VERSION}); re-create the artifact with a matching version of the project"
            )
        for name in ("class_names", "channel_names"):
            if not isinstance(meta[name], list) or not all(isinstance(item, str) for item in meta[name]):
                raise ValueError(f"{path}: '{name}' must be a list of strings")
        return meta

    def _read_array(self, filename: str, kinds: str) -> np.ndarray:
        path = self._path(filename)
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(f"{path}: missing from the WindowedDataset artifact")
        try:
            with self.artifact_store.open(path, "rb") as handle:
                array = np.lib.format.read_array(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ValueError(f"{path}: not a readable .npy array without pickle ({error})") from error
        if array.dtype.kind not in kinds:
            raise ValueError(f"{path}: unexpected dtype {array.dtype} (expected kind {'/'.join(kinds)})")
        return array

    # ------------------------------------------------------ metadata & vis
    def extract_metadata(self, data: WindowedDataset) -> Dict[str, MetadataType]:
        metadata: Dict[str, MetadataType] = {
            "n_windows": data.n_windows,
            "window_size": data.window_size,
            "n_channels": int(data.X.shape[2]),
            "channel_names": ",".join(data.channel_names),
            "class_names": ",".join(data.class_names),
            "sample_rate_hz": float(data.sample_rate_hz),
            "step": int(data.step),
            "n_recordings": int(np.unique(data.recording_ids).size),
            "n_subjects": int(np.unique(data.subjects).size),
            "n_unlabelled": int(np.count_nonzero(np.asarray(data.y) < 0)),
            "dtype": str(data.X.dtype),
        }
        for name, count in data.class_counts().items():
            metadata[f"count_{name}"] = int(count)
        return metadata

    def save_visualizations(self, data: WindowedDataset) -> Dict[str, VisualizationType]:
        if data.n_windows == 0:
            return {}
        from har import plots

        y = np.asarray(data.y)
        examples = plots.example_windows_png(
            data.X, y, data.class_names, data.channel_names, sample_rate_hz=data.sample_rate_hz
        )
        balance = plots.class_balance_png(data.class_counts(), unlabelled=int(np.count_nonzero(y < 0)))
        visualizations: Dict[str, VisualizationType] = {}
        for filename, content in ((EXAMPLES_PNG, examples), (BALANCE_PNG, balance)):
            path = self._path(filename)
            with self.artifact_store.open(path, "wb") as handle:
                handle.write(content)
            visualizations[path] = VisualizationType.IMAGE
        return visualizations


def _as_unicode(values: Any) -> np.ndarray:
    """Fixed-width unicode array (`<U..`); object/bytes arrays are converted, never pickled."""
    array = np.asarray(values)
    if array.dtype.kind == "U":
        return array
    if array.dtype.kind == "O" and not all(isinstance(item, str) for item in array.ravel().tolist()):
        raise TypeError("string arrays (recording_ids, subjects) must contain only str values")
    return array.astype(str)
