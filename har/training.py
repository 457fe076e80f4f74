"""Recipes: a model family, its hyperparameters and augmentation; scored by subject, then fitted for good.

A `Recipe` is what cross-validation scores, what the search varies, what the
champion/challenger comparison re-runs and what the final fit trains::

    recipe = Recipe(family="minirocket", params={"n_kernels": 10_000})
    report = cross_validate_recipe(recipe, training_windows, CrossValidationSettings())  # by subject
    normalizer, model = fit_final(recipe, report, training_windows)  # on all training subjects

Every fit (fold or final) fits its channel normaliser on its own training
windows only, augments them (raw sensor units, before normalisation) when the
recipe says so, and trains the family on the normalised windows. The final fit
has no validation subjects: what the folds learned besides weights (the epoch
early stopping chose, MiniRocket's temperature) sets it up
(`ModelFamily.refit_params`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from typing import Any, Dict, List, Literal, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from har.augmentation import AugmentationConfig, augment_dataset
from har.cross_validation import cross_validate, subject_folds
from har.families import ModelFamily, get_family
from har.families._base import EpochCallback
from har.normalization import fit_normalizer
from har.types import ChannelNormalizer, CrossValidationReport, WindowedDataset

DEFAULT_FAMILY = "minirocket"


class Recipe(BaseModel):
    """How to make a model: family, its hyperparameters (checked against the family's `Params`), augmentation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str = Field(DEFAULT_FAMILY, description="A registered family: cnn_bilstm, resnet1d or minirocket.")
    params: Dict[str, Any] = Field(default_factory=dict, description="The family's hyperparameters; unset = "
                                   "its defaults. Unknown names are refused.")
    augmentation: AugmentationConfig | None = Field(None, description="Augmented copies of the training windows "
                                                    "(rotation, gain, time warp, jitter); None = off.")

    @model_validator(mode="after")
    def _known_family_and_params(self) -> Recipe:
        family = get_family(self.family)  # ValueError naming the known families
        try:
            family.parse_params(self.params)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise ValueError(f"params of family '{self.family}': {problems}") from None
        return self

    @property
    def family_class(self) -> type[ModelFamily]:
        return get_family(self.family)

    def full_params(self) -> Dict[str, Any]:
        """Every hyperparameter, defaults filled in (what the model version records)."""
        return self.family_class.parse_params(self.params).model_dump(mode="json")

    def seed(self) -> int:
        return int(self.full_params()["seed"])

    def to_dict(self) -> Dict[str, Any]:
        return {"family": self.family, "params": self.full_params(),
                "augmentation": self.augmentation.model_dump(mode="json") if self.augmentation else None}

    def key(self) -> str:
        """Short stable id of the recipe (family + every hyperparameter + augmentation)."""
        digest = hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.family}-{digest}"

    @classmethod
    def from_report(cls, report: CrossValidationReport) -> Recipe:
        """The recipe a cross-validation report scored."""
        return cls(family=report.family, params=dict(report.params), augmentation=report.augmentation)


class CrossValidationSettings(BaseModel):
    """Subject-grouped cross-validation: k folds (default min(5, subjects)) or leave-one-subject-out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["kfold", "loso"] = "kfold"
    k: int | None = Field(None, ge=2, description="Folds of 'kfold'; None = min(5, number of subjects).")
    seeds: List[int] | None = Field(None, min_length=1, description="Training seeds per fold; None = the "
                                    "recipe's seed. Several give the seed-to-seed spread.")
    fold_seed: int = Field(0, description="Shuffles the subjects into folds and picks validation subjects.")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="Share of a fold's training subjects kept for "
                                "early stopping / calibration.")


def with_default_augmentation(section: Dict[str, Any], augmentation: AugmentationConfig | None) -> Dict[str, Any]:
    """A configured recipe, or a search section (its `candidates`), with a dataset's `augmentation` wherever
    they set none of their own; a copy. What run configs and the family benchmark both apply."""
    section = copy.deepcopy(section)
    if augmentation is None:
        return section
    dumped = augmentation.model_dump(mode="json")
    for item in section["candidates"] if "candidates" in section else [section]:
        item["augmentation"] = item.get("augmentation") or dumped
    return section


def normalised(windows: WindowedDataset, normalizer: ChannelNormalizer) -> WindowedDataset:
    return replace(windows, X=normalizer.transform(windows.X))


def fit_recipe(recipe: Recipe, train: WindowedDataset, val: WindowedDataset | None = None, *,
               seed: int | None = None, params: BaseModel | None = None,
               on_epoch_end: EpochCallback | None = None) -> Tuple[ChannelNormalizer, ModelFamily]:
    """Normaliser fitted on `train`, then the family fitted on normalised (and augmented) `train`."""
    normalizer = fit_normalizer(train)
    data = train
    if recipe.augmentation is not None and recipe.augmentation.copies > 0:
        data = augment_dataset(train, recipe.augmentation, seed=recipe.seed() if seed is None else seed)
    model = recipe.family_class().fit(
        normalised(data, normalizer), None if val is None else normalised(val, normalizer),
        params=params if params is not None else recipe.params, seed=seed, on_epoch_end=on_epoch_end)
    return normalizer, model


def cross_validate_recipe(recipe: Recipe, windows: WindowedDataset,
                          settings: CrossValidationSettings = CrossValidationSettings()) -> CrossValidationReport:
    """Score `recipe` on subject-grouped folds of `windows` (see `har.cross_validation`)."""
    folds = subject_folds(windows.subjects, k=settings.k, scheme=settings.scheme, seed=settings.fold_seed,
                          val_fraction=settings.val_fraction)

    def fit_predict(train: WindowedDataset, val: WindowedDataset, test: WindowedDataset,
                    seed: int) -> Tuple[Any, Dict[str, Any]]:
        normalizer, model = fit_recipe(recipe, train, val, seed=seed)
        return model.predict_proba(normalizer.transform(test.X)), model.fit_summary()

    report = cross_validate(windows, fit_predict, folds, seeds=settings.seeds or [recipe.seed()],
                            family=recipe.family, params=recipe.full_params())
    report.augmentation = recipe.augmentation.model_dump(mode="json") if recipe.augmentation else None
    return report


def fit_final(recipe: Recipe, report: CrossValidationReport, windows: WindowedDataset, *,
              on_epoch_end: EpochCallback | None = None) -> Tuple[ChannelNormalizer, ModelFamily, BaseModel]:
    """The recipe fitted on all of `windows` (no validation subjects), set up from the folds' fits.

    Returns the normaliser, the model and the parameters it was fitted with.
    """
    if Recipe.from_report(report).to_dict() != recipe.to_dict():
        raise ValueError(f"the cross-validation report scored {Recipe.from_report(report).key()}, "
                         f"not {recipe.key()}")
    params = recipe.family_class.refit_params(recipe.params, report.fit_summaries)
    normalizer, model = fit_recipe(recipe, windows, None, params=params, on_epoch_end=on_epoch_end)
    return normalizer, model, params
