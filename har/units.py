"""Is accelerometer data in the unit it claims? One rule, used by ingest and by the HTTP API.

An accelerometer that measures gravity reads about 1 g in magnitude on the
median sample, whatever the activity (walking and running swing around it,
postures sit on it). Data whose median magnitude is far from 1 g after the
declared unit's conversion is in another unit: 9.8 "g" is m/s^2 declared as g,
0.1 "g" is g declared as m/s^2. Gravity-free linear acceleration has no such
anchor, so it is not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

# The one threshold: a median magnitude within [1 / ratio, ratio] g is plausible.
# m/s^2 read as g is off by 9.81x, g read as m/s^2 by 1/9.81x; real data with
# gravity stays within 2x (free fall and centrifuges aside).
PLAUSIBLE_GRAVITY_RATIO = 3.0
MIN_SAMPLES = 16  # fewer samples say too little about the median


@dataclass(frozen=True)
class UnitMismatch:
    """Acceleration that is not about 1 g in its declared unit, and the unit it looks like."""

    declared_unit: str
    median_magnitude: float  # in the canonical unit (g), after the declared unit's conversion
    canonical_unit: str
    likely_unit: str | None  # the known unit that brings the median closest to 1 g, if it is plausible

    def describe(self) -> str:
        looks = f"; it looks like {self.likely_unit}" if self.likely_unit else ""
        return (
            f"median acceleration magnitude is {self.median_magnitude:.3g} {self.canonical_unit} when read as "
            f"{self.declared_unit} (about 1 {self.canonical_unit} is expected with gravity){looks}"
        )


def check_acceleration_unit(
    values: np.ndarray,
    declared_unit: str,
    unit_factors: Mapping[str, float],
    canonical_unit: str = "g",
    linear_acceleration: bool = False,
) -> UnitMismatch | None:
    """None when `values` (n, 3), in the canonical unit after conversion, are plausible; else what is wrong.

    `unit_factors` maps each known unit to the factor that converts it to the
    canonical unit (`configs/schema.yaml`), `declared_unit` is the unit the
    values were converted from.
    """
    values = np.asarray(values, dtype=np.float64)
    if linear_acceleration or values.ndim != 2 or values.shape[1] != 3 or len(values) < MIN_SAMPLES:
        return None
    magnitude = np.sqrt(np.einsum("ij,ij->i", values, values))
    magnitude = magnitude[np.isfinite(magnitude)]
    if magnitude.size < MIN_SAMPLES:
        return None
    median = float(np.median(magnitude))
    if median > 0 and abs(math.log(median)) <= math.log(PLAUSIBLE_GRAVITY_RATIO):
        return None
    factors = {canonical_unit: 1.0, **dict(unit_factors)}
    raw_median = median / factors.get(declared_unit, 1.0)
    likely = None
    if raw_median > 0:
        best = min(factors, key=lambda unit: abs(math.log(raw_median * factors[unit])))
        if best != declared_unit and abs(math.log(raw_median * factors[best])) <= math.log(PLAUSIBLE_GRAVITY_RATIO):
            likely = best
    return UnitMismatch(declared_unit, median, canonical_unit, likely)
