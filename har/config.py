"""Typed configuration shared by every pipeline.

`DataConfig` describes *what the data is* (rate, streams, activities, window
geometry); `Schema` (from `configs/schema.yaml`) describes *what a valid file
looks like*. Both are pydantic models with `extra="forbid"`, so a typo in a
YAML key is an error instead of a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Literal, Tuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

AXES = ("x", "y", "z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """What the recordings are and how they are cut into windows."""

    sampling_rate_hz: float = Field(50.0, gt=0, description="Resampling target rate.")
    streams: List[str] = Field(
        default_factory=lambda: ["accelerometer", "gyroscope"],
        description="Sensor streams to use, by schema name; order fixes channel order.",
    )
    activities: List[str] = Field(
        default_factory=lambda: [
            "walking",
            "running",
            "sitting",
            "standing",
            "walking_upstairs",
            "walking_downstairs",
        ],
        description="The activity set; index in this list is the class id.",
    )
    window_size: int = Field(128, ge=4, description="Samples per window.")
    overlap: float = Field(0.5, ge=0.0, lt=1.0, description="Fraction shared by consecutive windows.")
    label_policy: Literal["majority", "drop_mixed"] = "majority"
    min_label_purity: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="majority policy: drop windows whose majority label covers less than this fraction.",
    )
    merge_tolerance_ms: float = Field(
        50.0, gt=0, description="Max distance to the nearest raw sample of each stream."
    )
    linear_acceleration: bool = Field(
        False,
        description="The accelerometer reports gravity-free linear acceleration (Android's "
        "TYPE_LINEAR_ACCELERATION, Apple's userAcceleration); the 1 g plausibility check is then skipped.",
    )

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if len(set(self.activities)) != len(self.activities) or not self.activities:
            raise ValueError(f"activities must be a non-empty list of unique names, got {self.activities}")
        if len(set(self.streams)) != len(self.streams) or not self.streams:
            raise ValueError(f"streams must be a non-empty list of unique names, got {self.streams}")
        if self.step < 1:
            raise ValueError("overlap leaves a window step below one sample")
        return self

    @property
    def step(self) -> int:
        """Samples between the starts of consecutive windows."""
        return max(1, int(round(self.window_size * (1.0 - self.overlap))))


TIMESTAMP_UNITS: Dict[str, float] = {"ms": 1e-3, "s": 1.0, "us": 1e-6, "ns": 1e-9}  # seconds per unit


class StreamSchema(_Strict):
    """One sensor stream: the file and columns it is read from, unit conversions and plausible range.

    Several streams may name the same `file` (one CSV holding accelerometer and
    gyroscope); that file then has the union of their columns.
    """

    file: str
    prefix: str = Field(description="Channel name prefix, e.g. 'acc' -> acc_x, acc_y, acc_z.")
    columns: List[str] = Field(
        default_factory=lambda: ["timestamp", *AXES],
        description="Column names in the file: the timestamp column (= timestamp_column), then x, y, z.",
    )
    unit: str = Field(description="Canonical unit the data is converted to.")
    unit_factors: Dict[str, float] = Field(description="Multiply a value in KEY unit by this to get `unit`.")
    value_range: Tuple[float, float] = Field(description="Plausible range in the canonical unit.")
    input_unit: str | None = Field(
        None, description="Unit the files are written in when meta.json does not say (default: `unit`)."
    )

    @model_validator(mode="after")
    def _check_units(self) -> StreamSchema:
        if self.input_unit is not None and self.input_unit not in self.known_units():
            raise ValueError(f"input_unit '{self.input_unit}' is not one of {', '.join(self.known_units())}")
        return self

    def channels(self) -> List[str]:
        return [f"{self.prefix}_{axis}" for axis in AXES]

    def known_units(self) -> List[str]:
        return sorted(set(self.unit_factors) | {self.unit})

    def factor(self, unit: str) -> float:
        """Multiply a value in `unit` by this to get the canonical unit."""
        return 1.0 if unit == self.unit else float(self.unit_factors[unit])

    @property
    def default_unit(self) -> str:
        return self.input_unit or self.unit


class LabelSchema(_Strict):
    file: str = "labels.csv"
    columns: List[str] = Field(
        default_factory=lambda: ["start", "end", "activity"],
        description="Column names in the file for the interval start, end and activity, in that order.",
    )
    activity_names: Dict[str, str] = Field(
        default_factory=dict,
        description="The recordings' own label -> activity of data_config.activities (renamed on ingest).",
    )
    ignore_activities: List[str] = Field(
        default_factory=list,
        description="Labels whose intervals count as unlabelled (e.g. 'null', 'transition').",
    )


class RecordingRules(_Strict):
    min_duration_s: float = Field(10.0, ge=0)
    max_gap_s: float = Field(1.0, gt=0)
    min_rate_ratio: float = Field(
        0.5, gt=0, le=1, description="A stream's median rate must be at least this fraction of sampling_rate_hz."
    )


class Schema(_Strict):
    """The contract for a data directory (`configs/schema.yaml`)."""

    timestamp_column: str = "timestamp"
    timestamp_unit: Literal["ms", "s", "us", "ns"] = Field(
        "ms", description="Unit of numeric epoch timestamps (ISO-8601 text is always accepted)."
    )
    streams: Dict[str, StreamSchema]
    labels: LabelSchema = LabelSchema()
    meta_file: str = "meta.json"
    recording: RecordingRules = RecordingRules()
    ignore_columns: List[str] = Field(
        default_factory=list, description="Further columns the files may have; they are not read."
    )
    max_issues_reported: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _check_columns(self) -> Schema:
        for name, spec in self.streams.items():
            if len(spec.columns) != 1 + len(AXES) or spec.columns[0] != self.timestamp_column:
                raise ValueError(
                    f"streams.{name}.columns must be [{self.timestamp_column}, <x>, <y>, <z>] "
                    f"(timestamp_column first), got {spec.columns}"
                )
        return self

    def file_columns(self, file: str) -> List[str]:
        """Columns a stream file must have: those of every stream read from it, in order, once each."""
        names: List[str] = []
        for spec in self.streams.values():
            if spec.file == file:
                names.extend(c for c in spec.columns if c not in names)
        return names


def load_yaml(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return content


def load_schema(path: str | Path) -> Schema:
    return Schema.model_validate(load_yaml(path))


def channel_names(data: DataConfig, schema: Schema) -> List[str]:
    """Channel order of every window: streams in config order, axes x, y, z."""
    names: List[str] = []
    for stream in data.streams:
        if stream not in schema.streams:
            raise ValueError(f"stream '{stream}' is not defined in the schema (known: {sorted(schema.streams)})")
        names.extend(schema.streams[stream].channels())
    return names
