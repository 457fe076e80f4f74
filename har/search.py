"""Hyperparameter search over model families: the search space, its budget, and the choice among trials.

The search pipeline (`pipelines/search.py`) turns `SearchSpace.trials()` into one ZenML step per trial
(`cross_validate_model`, all on the same subject folds), stops starting trials when the budget is spent,
and `choose` picks the winner from their cross-validation reports::

    space = SearchSpace.model_validate(yaml_section)
    recipes = space.trials(champion=production_recipe)      # champion first, then round-robin over families
    index, rows = choose(reports, exportable, space.prefer_exportable_within)
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Sequence, Tuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from har.augmentation import AugmentationConfig
from har.training import Recipe
from har.types import CrossValidationReport

CHAMPION = "champion"


class Candidate(BaseModel):
    """One family to try: fixed `params`, plus a `grid` of values to try for some of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str
    params: Dict[str, Any] = Field(default_factory=dict)
    grid: Dict[str, List[Any]] = Field(default_factory=dict, description="Hyperparameter -> values to try "
                                       "(every combination is one trial).")
    augmentation: AugmentationConfig | None = None

    @model_validator(mode="after")
    def _valid(self) -> Candidate:
        overlap = sorted(set(self.params) & set(self.grid))
        if overlap:
            raise ValueError(f"{self.family}: {overlap} both fixed in params and searched in grid")
        empty = sorted(name for name, values in self.grid.items() if not values)
        if empty:
            raise ValueError(f"{self.family}: grid values of {empty} are empty")
        self.recipes()  # every combination must be valid for the family (unknown names, bad values)
        return self

    def recipes(self) -> List[Recipe]:
        names = sorted(self.grid)
        return [Recipe(family=self.family, params={**self.params, **dict(zip(names, values, strict=True))},
                       augmentation=self.augmentation)
                for values in itertools.product(*(self.grid[name] for name in names))]


class SearchBudget(BaseModel):
    """No new trial starts after `max_trials` trials or `max_minutes` of search (a running one finishes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_trials: int = Field(12, ge=1)
    max_minutes: float = Field(12.0, gt=0)


class SearchSpace(BaseModel):
    """Families and hyperparameters to search, the budget, and how the winner is chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidates: List[Candidate] = Field(min_length=1)
    budget: SearchBudget = SearchBudget()
    prefer_exportable_within: float | None = Field(
        0.01, ge=0, description="Choose the best family that runs on a watch (exportable) when its CV macro-F1 "
                                "is within this of the best trial's; None = always the best.")
    champion: bool = Field(True, description="Re-run the production version's recipe on the same folds as "
                                             "the first trial, so champion and challengers meet on equal terms.")

    def trials(self, champion: Recipe | None = None) -> List[Tuple[str, Recipe]]:
        """(name, recipe) per trial, at most `budget.max_trials`: the champion's recipe first (when given and
        `champion` is on), then the candidates' recipes round-robin (a budget cut leaves every family tried).
        A recipe already on the list is not tried twice."""
        queues = [candidate.recipes() for candidate in self.candidates]
        ordered: List[Tuple[str, Recipe]] = []
        if champion is not None and self.champion:
            ordered.append((CHAMPION, champion))
        seen = {recipe.key() for _, recipe in ordered}
        number = itertools.count(1)
        for round_ in itertools.zip_longest(*queues):
            for recipe in round_:
                if recipe is not None and recipe.key() not in seen:
                    seen.add(recipe.key())
                    ordered.append((f"trial_{next(number)}", recipe))
        return ordered[: self.budget.max_trials]


def choose(reports: Sequence[CrossValidationReport], exportable: Sequence[bool],
           prefer_exportable_within: float | None) -> Tuple[int, List[Dict[str, Any]]]:
    """Index of the winning trial and a leaderboard row per trial (best first).

    Best = highest CV macro-F1 mean; ties go to the lower std, then the earlier trial. When the best
    cannot run on a watch and an exportable trial is within `prefer_exportable_within` of it, that one wins.
    """
    if not reports or len(reports) != len(exportable):
        raise ValueError("choose needs one exportable flag per report, and at least one report")
    order = sorted(range(len(reports)), key=lambda i: (-reports[i].mean("macro_f1"), reports[i].std("macro_f1"), i))
    best = order[0]
    chosen, why = best, "best CV macro-F1"
    if prefer_exportable_within is not None and not exportable[best]:
        runners = [i for i in order if exportable[i]
                   and reports[best].mean("macro_f1") - reports[i].mean("macro_f1") <= prefer_exportable_within]
        if runners:
            chosen = runners[0]
            why = (f"runs on a watch, within {prefer_exportable_within} of the best "
                   f"({reports[best].family} {reports[best].mean('macro_f1'):.4f})")
    rows = [{"rank": rank + 1, "index": i, "family": reports[i].family,
             "cv_macro_f1": round(reports[i].mean("macro_f1"), 4), "std": round(reports[i].std("macro_f1"), 4),
             "recording_acc": round(reports[i].mean("recording_accuracy"), 4),
             "worst_subject_f1": round(reports[i].worst_subject_macro_f1, 4), "watch": bool(exportable[i]),
             "chosen": why if i == chosen else ""}
            for rank, i in enumerate(order)]
    return chosen, rows
