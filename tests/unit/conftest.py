"""Shared fixtures: write small, valid recording folders that a test can then break in one place.

Tests get the helpers through the `h` fixture rather than `from conftest import ...`: several
conftest.py files exist in this tree, so the module name `conftest` is ambiguous.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, Iterable, Mapping, Sequence, Tuple

import numpy as np
import pandas as pd
import pytest

from har.config import DataConfig, Schema, load_schema

REPO = Path(__file__).resolve().parents[2]
START_MS = 1_714_557_600_000  # 2024-05-01T10:00:00Z
DEFAULT_LABELS = (("walking", 0.0, 15.0), ("sitting", 15.0, 30.0))


def acc_signal(t: np.ndarray) -> np.ndarray:
    """Known accelerometer signal in g, t in seconds since the recording start."""
    return np.column_stack(
        [
            0.5 * np.sin(2 * np.pi * 1.0 * t),
            0.3 * np.cos(2 * np.pi * 0.5 * t),
            1.0 + 0.1 * np.sin(2 * np.pi * 0.25 * t),
        ]
    )


def gyro_signal(t: np.ndarray) -> np.ndarray:
    """Known gyroscope signal in rad/s."""
    return np.column_stack(
        [
            0.8 * np.sin(2 * np.pi * 0.7 * t),
            0.4 * np.cos(2 * np.pi * 0.3 * t),
            0.2 * np.sin(2 * np.pi * 1.2 * t + 0.5),
        ]
    )


SIGNALS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "accelerometer": acc_signal,
    "gyroscope": gyro_signal,
}


def format_times(ms: np.ndarray, time_format: str) -> pd.Series:
    if time_format == "ms":
        if np.allclose(ms, np.round(ms)):
            return pd.Series(np.round(ms).astype(np.int64).astype(str))
        return pd.Series([f"{v:.3f}" for v in ms])
    if time_format == "iso":
        stamps = pd.to_datetime(pd.Series(ms), unit="ms", utc=True)
        return stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    raise ValueError(time_format)


def write_recording(
    root: Path,
    recording_id: str = "s01_r1",
    *,
    duration_s: float = 30.0,
    rates: Mapping[str, float] | None = None,
    streams: Sequence[str] = ("accelerometer", "gyroscope"),
    jitter_s: float = 0.0,
    offsets_s: Mapping[str, float] | None = None,
    time_format: str = "ms",
    labels: Iterable[Tuple[str, float, float]] | None = DEFAULT_LABELS,
    meta: Mapping | None = None,
    drop: Mapping[str, Sequence[Tuple[float, float]]] | None = None,
    start_ms: float = START_MS,
    seed: int = 0,
) -> Path:
    """Write a valid recording folder and return it.

    rates: Hz per stream (default 50). offsets_s: start offset per stream. drop:
    per stream, (from_s, to_s) intervals whose samples are removed (to make gaps).
    meta: written as meta.json when given; values are written in the units it
    declares (converted from the canonical signal with the schema's factors).
    labels: (activity, start_s, end_s) relative to the start; None = no labels.csv.
    """
    schema = load_schema(REPO / "configs" / "schema.yaml")
    folder = Path(root) / recording_id
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    units = dict((meta or {}).get("units", {})) if isinstance(meta, Mapping) else {}
    for name in streams:
        rate = (rates or {}).get(name, 50.0)
        offset = (offsets_s or {}).get(name, 0.0)
        t = offset + np.arange(int(round(duration_s * rate)) + 1) / rate
        if jitter_s:
            t = t + rng.uniform(-jitter_s, jitter_s, size=t.size)
            t[0] = offset
        for lo, hi in (drop or {}).get(name, ()):
            t = t[(t < lo) | (t >= hi)]
        values = SIGNALS[name](t)
        spec = schema.streams[name]
        unit = units.get(name, spec.unit)
        if unit in spec.unit_factors:
            values = values / spec.unit_factors[unit]
        frame = pd.DataFrame(
            {
                "timestamp": format_times(start_ms + t * 1000.0, time_format),
                "x": [f"{v:.6f}" for v in values[:, 0]],
                "y": [f"{v:.6f}" for v in values[:, 1]],
                "z": [f"{v:.6f}" for v in values[:, 2]],
            }
        )
        frame.to_csv(folder / spec.file, index=False)
    if labels is not None:
        rows = list(labels)
        starts = format_times(start_ms + np.array([r[1] for r in rows], dtype=float) * 1000.0, time_format)
        ends = format_times(start_ms + np.array([r[2] for r in rows], dtype=float) * 1000.0, time_format)
        pd.DataFrame({"start": starts, "end": ends, "activity": [r[0] for r in rows]}).to_csv(
            folder / "labels.csv", index=False
        )
    if meta is not None:
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: Sequence[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Replace one cell of a simple comma-separated file; `line` as in an editor (header = 1)."""
    lines = read_lines(path)
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    write_lines(path, lines)


def get_cell(path: Path, line: int, column: str) -> str:
    lines = read_lines(path)
    return lines[line - 1].split(",")[lines[0].split(",").index(column)]


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema(REPO / "configs" / "schema.yaml")


@pytest.fixture(scope="session")
def synthetic_windows(tmp_path_factory, schema):
    """`synthetic_windows(activities, window_size=32, **generate_dataset settings)`: generated recordings through
    the project's own ingest and windowing, as raw-unit windows (what the pipeline's splits hold)."""
    from har.config import channel_names
    from har.ingest import ingest_recordings
    from har.synthetic import generate_dataset
    from har.windowing import make_windows

    def make(activities, window_size: int = 32, **generator):
        root = tmp_path_factory.mktemp("synthetic") / "data"
        generate_dataset(root, activities=activities, **generator)
        data = DataConfig(activities=activities, window_size=window_size, overlap=0.5)
        frame, _ = ingest_recordings(root, data, schema)
        return make_windows(frame, data, channel_names(data, schema))

    return make


@pytest.fixture
def data_config() -> DataConfig:
    return DataConfig()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def make_recording(data_dir: Path) -> Callable[..., Path]:
    """`make_recording(recording_id="s01_r1", **overrides)` writes a recording under `data_dir`."""
    return partial(write_recording, data_dir)


@pytest.fixture(scope="session")
def h() -> SimpleNamespace:
    """Helpers for writing and editing recording files (see the functions above)."""
    return SimpleNamespace(
        acc_signal=acc_signal,
        gyro_signal=gyro_signal,
        write_recording=write_recording,
        read_lines=read_lines,
        write_lines=write_lines,
        set_cell=set_cell,
        get_cell=get_cell,
        START_MS=START_MS,
    )


@pytest.fixture
def store(tmp_path: Path):
    """A real local ZenML artifact store in a temporary folder (materializer tests)."""
    import uuid
    from datetime import datetime

    from zenml.artifact_stores.local_artifact_store import LocalArtifactStore, LocalArtifactStoreConfig
    from zenml.enums import StackComponentType

    now = datetime.now()
    return LocalArtifactStore(
        name="test-store", id=uuid.uuid4(), config=LocalArtifactStoreConfig(path=str(tmp_path)), flavor="local",
        type=StackComponentType.ARTIFACT_STORE, user=None, created=now, updated=now,
    )


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """An empty artifact folder inside the temporary store."""
    path = tmp_path / "artifact"
    path.mkdir()
    return str(path)
