"""Dataset profiles: one file that describes a dataset for every pipeline.

A profile (`configs/datasets/<name>.yaml`, or any YAML file given by path)
says once what the data is and how its files are written:

- `model`: the ZenML Model its pipelines train, deploy and monitor;
- `data`: rate, streams, activity set, window (`har.config.DataConfig`);
- `schema`: overrides of `configs/schema.yaml` for this dataset: file and
  column names, units the files are written in, label renames, tolerances
  such as `recording.min_duration_s` and `recording.max_gap_s`;
- `data_dir`: where the recordings are (relative to the profile's folder), or
  `synthetic`: generate the built-in dataset instead.

Who wins when they disagree: a command-line flag (`--data-dir`, `--model`)
beats the profile; the profile owns the model name and the data settings, and
a run config (`configs/train.yaml`, ...) that names another model or other
data settings is an error instead of a silent override. Run configs own step
parameters (epochs, gate, ports, drift policy).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from har.augmentation import AugmentationConfig
from har.config import DataConfig, Schema, channel_names, load_yaml
from har.outcomes import ConfigError

PROFILES_DIR = Path("configs") / "datasets"
DEFAULT_PROFILE = "default"
BASE_SCHEMA = Path("configs") / "schema.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ModelSpec(_Strict):
    """The ZenML Model of a dataset: every version trained on it, its production stage, its deployments."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    description: str = ""
    license: str | None = None
    tags: List[str] = Field(default_factory=list)


class SyntheticData(_Strict):
    """The built-in generated dataset (`har.synthetic.generate_dataset`), at the profile's rate and activities."""

    output_dir: str = Field("data/default", description="Relative to the project root.")
    seed: int = 42
    n_subjects: int = Field(16, ge=3)
    recordings_per_subject: int = Field(1, ge=1)
    seconds_per_activity: float = Field(40.0, gt=0)
    transition_seconds: float = Field(1.5, ge=0)
    # How subjects differ (har.synthetic.generate_dataset documents each); 0 = the base model, byte for byte.
    # Their ranges are checked once, by har.synthetic.SubjectVariation.
    placement_mix: float = 0.0
    orientation_deg: float = 0.0
    other_wrist_fraction: float = 0.0
    cadence_spread: float = 0.0
    intensity_spread: float = 0.0
    within_subject_noise: float = 0.0

    @model_validator(mode="after")
    def _check_variation(self) -> SyntheticData:
        from dataclasses import fields

        from har.synthetic import SubjectVariation

        SubjectVariation(**{f.name: getattr(self, f.name) for f in fields(SubjectVariation)}).check()
        return self

    def generator(self) -> Dict[str, Any]:
        return self.model_dump(exclude={"output_dir"})


class DatasetProfile(_Strict):
    model: ModelSpec
    data: DataConfig = DataConfig()
    data_dir: str | None = Field(None, description="The recordings; relative paths start at the profile's folder.")
    synthetic: SyntheticData | None = None
    schema_overrides: Dict[str, Any] = Field(default_factory=dict, alias="schema")
    augmentation: AugmentationConfig | None = Field(
        None, description="How this dataset's training windows are augmented (device rotation, gain, time warp, "
                          "jitter; har/augmentation.py): used by every recipe that sets none of its own.")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetProfile:
        if self.data_dir is not None and self.synthetic is not None:
            raise ValueError("give either data_dir (your recordings) or synthetic (generated data), not both")
        return self


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated profile."""

    name: str
    path: Path
    profile: DatasetProfile
    schema: Schema

    @property
    def model_name(self) -> str:
        return self.profile.model.name

    @property
    def data(self) -> DataConfig:
        return self.profile.data

    def data_dir(self) -> Path | None:
        """The profile's recordings folder, absolute; None when it has none (synthetic or not given)."""
        if self.profile.data_dir is None:
            return None
        path = Path(self.profile.data_dir).expanduser()
        return path if path.is_absolute() else (self.path.parent / path).resolve()


def available(root: Path) -> List[str]:
    return sorted(p.stem for p in (root / PROFILES_DIR).glob("*.yaml"))


def profile_path(name_or_path: str | None, root: Path) -> Path:
    """`configs/datasets/<name>.yaml`, or the YAML file itself when given a path."""
    name_or_path = name_or_path or DEFAULT_PROFILE
    given = Path(name_or_path).expanduser()
    if given.suffix in (".yaml", ".yml") or given.parent != Path("."):
        if not given.is_file():
            raise ConfigError(f"dataset profile {given} does not exist (expected a YAML file, or a name among: "
                              f"{', '.join(available(root))})")
        return given.resolve()
    path = root / PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"no dataset profile named '{name_or_path}' (known: {', '.join(available(root))}); "
                          f"give a profile file's path, or create {PROFILES_DIR}/{name_or_path}.yaml "
                          "(see README 'Your own watch data')")
    return path


def load_dataset(name_or_path: str | None, root: Path) -> Dataset:
    """Read and validate a profile, with the project's schema and the profile's overrides merged."""
    path = profile_path(name_or_path, root)
    content = read_yaml(path)
    try:
        profile = DatasetProfile.model_validate(content)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_pydantic_summary(error)}") from None
    base = load_yaml(root / BASE_SCHEMA)
    try:
        schema = Schema.model_validate(deep_merge(base, profile.schema_overrides))
    except ValidationError as error:
        raise ConfigError(f"{path}: {_pydantic_summary(error, prefix='schema')}") from None
    _check_consistency(path, profile, schema)
    return Dataset(name=path.stem, path=path, profile=profile, schema=schema)


def _check_consistency(path: Path, profile: DatasetProfile, schema: Schema) -> None:
    try:
        channel_names(profile.data, schema)
    except ValueError as error:
        raise ConfigError(f"{path}: data.streams: {error}") from None
    unknown = sorted(set(schema.labels.activity_names.values()) - set(profile.data.activities))
    if unknown:
        raise ConfigError(f"{path}: schema.labels.activity_names maps to {', '.join(unknown)}, which "
                          f"data.activities does not list ({', '.join(profile.data.activities)})")


def read_yaml(path: Path) -> Dict[str, Any]:
    """A YAML mapping, or a ConfigError naming the file and the line of a syntax error."""
    import yaml

    try:
        return load_yaml(path)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    except (OSError, ValueError) as error:
        raise ConfigError(str(error) if str(path) in str(error) else f"{path}: {error}") from None


def deep_merge(base: Dict[str, Any], overrides: Dict[str, Any]) -> Dict[str, Any]:
    """`base` with `overrides` merged in, mapping by mapping (lists and scalars are replaced)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _pydantic_summary(error: ValidationError, prefix: str = "") -> str:
    """One line per problem: the key path and what was expected (pydantic's own words, without its URLs)."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (typo?)"
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
