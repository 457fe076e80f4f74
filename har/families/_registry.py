"""Name -> family class, and loading a saved model of any family."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Type

from har.families._base import ModelFamily, read_family_info
from har.families._cnn_bilstm import CnnBiLstm
from har.families._minirocket import MiniRocketRidge
from har.families._resnet1d import ResNet1D

_FAMILIES: Dict[str, Type[ModelFamily]] = {}


def register_family(cls: Type[ModelFamily]) -> Type[ModelFamily]:
    """Add a family class under its `name` (usable as a class decorator)."""
    existing = _FAMILIES.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"model family '{cls.name}' is already registered ({existing.__qualname__})")
    _FAMILIES[cls.name] = cls
    return cls


def available_families() -> List[str]:
    return sorted(_FAMILIES)


def get_family(name: str) -> Type[ModelFamily]:
    """The family class registered as `name`; `get_family(name)()` is an unfitted model."""
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family '{name}' (known: {', '.join(available_families())})") from None


def load_model(directory: str | Path, *, warm_up: bool = True) -> ModelFamily:
    """Load a saved model of whichever family its family.json names."""
    return get_family(read_family_info(Path(directory))["family"]).load(directory, warm_up=warm_up)


for _family in (CnnBiLstm, ResNet1D, MiniRocketRidge):
    register_family(_family)
