"""Label-free monitors of a model's predictions, next to Evidently's feature drift.

Each monitor is a pure function of predictions; `run_monitors` computes each on
the current data and on a reference (the production model's predictions on its
own held-out test windows: people it never trained on, the same sensors) and
compares with a threshold from `configs/drift.yaml` (`MonitorsConfig`):

- `low_confidence_share`: share of windows whose top probability is below
  `confidence_threshold`. Alert when it exceeds the reference share by more
  than `low_confidence_max_increase` (absolute).
- `prediction_change_rate`: share of consecutive windows of the same stream
  whose predicted class differs (a model that flickers between activities is
  unsure, or the windows are not what it was trained on). Alert when it exceeds
  the reference rate by more than `change_rate_max_increase`.
- `activity_mix_shift`: total-variation distance between the predicted
  activity mix and the training mix, 0.5 * sum |p_i - q_i| in [0, 1] (the share
  of windows that would have to change class to match; symmetric, bounded and
  defined when a class is absent, unlike KL). Alert above `mix_shift_max`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

LOW_CONFIDENCE = "low_confidence_share"
CHANGE_RATE = "prediction_change_rate"
MIX_SHIFT = "activity_mix_shift"
MONITORS = (LOW_CONFIDENCE, CHANGE_RATE, MIX_SHIFT)


class MonitorsConfig(BaseModel):
    """Thresholds of the label-free monitors (`steps.monitor_predictions.parameters.monitors`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence_threshold: float = Field(0.6, gt=0, lt=1, description="A window whose top class probability is "
                                        "below this is low-confidence.")
    low_confidence_max_increase: float = Field(0.15, ge=0, le=1, description="Alert when the low-confidence "
                                               "share exceeds the reference share by more than this.")
    change_rate_max_increase: float = Field(0.25, ge=0, le=1, description="Alert when the prediction change rate "
                                            "exceeds the reference rate by more than this.")
    mix_shift_max: float = Field(0.35, gt=0, le=1, description="Alert when the total-variation distance between "
                                 "the predicted activity mix and the training mix exceeds this.")
    count_as_drift: List[str] = Field(
        default_factory=lambda: [LOW_CONFIDENCE, CHANGE_RATE],
        description="Monitors whose alert makes the verdict 'drift' (and triggers on_drift). The activity mix "
                    "is left out by default: a batch of a few people has its own mix.")
    min_windows: int = Field(30, ge=1, description="Fewer current windows than this: no monitor alerts "
                             "(too little evidence); values are still reported.")

    def model_post_init(self, __context: Any) -> None:
        unknown = sorted(set(self.count_as_drift) - set(MONITORS))
        if unknown:
            raise ValueError(f"count_as_drift: unknown monitor(s) {unknown}; choose from {list(MONITORS)}")


@dataclass(frozen=True)
class MonitorResult:
    """One monitor's outcome: the figure on current data, on the reference, the threshold, the alert."""

    name: str
    value: float
    reference_value: float
    threshold: float
    alert: bool
    explanation: str

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, content: Mapping[str, Any]) -> MonitorResult:
        return cls(name=str(content["name"]), value=float(content["value"]),
                   reference_value=float(content["reference_value"]), threshold=float(content["threshold"]),
                   alert=bool(content["alert"]), explanation=str(content["explanation"]))


def low_confidence_share(probabilities: np.ndarray, threshold: float) -> float:
    """Share of windows whose highest class probability is below `threshold` (0.0 for no window)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (windows, classes), got shape {probabilities.shape}")
    if not len(probabilities):
        return 0.0
    return float(np.mean(probabilities.max(axis=1) < threshold))


def prediction_change_rate(labels: np.ndarray, stream_ids: np.ndarray, order: np.ndarray) -> float:
    """Share of consecutive window pairs of the same stream whose predicted class differs.

    `order` is each window's position in its stream (e.g. its start time); pairs
    are formed after sorting by (stream, order). Windows with an empty stream
    id belong to no stream. 0.0 when there is no pair.
    """
    labels, streams, order = np.asarray(labels), np.asarray(stream_ids).astype(str), np.asarray(order, dtype=float)
    if not (labels.shape == streams.shape == order.shape) or labels.ndim != 1:
        raise ValueError(f"labels, stream_ids and order must be 1-D of one length, got {labels.shape}, "
                         f"{streams.shape}, {order.shape}")
    index = np.lexsort((order, streams))
    labels, streams = labels[index], streams[index]
    same_stream = (streams[1:] == streams[:-1]) & (streams[1:] != "")
    pairs = int(same_stream.sum())
    if not pairs:
        return 0.0
    return float(np.sum((labels[1:] != labels[:-1]) & same_stream) / pairs)


def activity_mix(predicted_labels: Sequence[str], class_names: Sequence[str]) -> Dict[str, float]:
    """Share of windows per class (every class listed, 0.0 when absent)."""
    labels = np.asarray(predicted_labels).astype(str)
    total = max(len(labels), 1)
    return {str(name): float(np.sum(labels == str(name)) / total) for name in class_names}


def activity_mix_shift(predicted_labels: Sequence[str], reference_distribution: Mapping[str, float],
                       class_names: Sequence[str]) -> float:
    """Total-variation distance, in [0, 1], between the predicted mix and `reference_distribution` (normalised)."""
    current = activity_mix(predicted_labels, class_names)
    reference = np.array([max(float(reference_distribution.get(name, 0.0)), 0.0) for name in class_names])
    if reference.sum() <= 0:
        raise ValueError("reference_distribution has no positive share for any of the classes "
                         f"{list(class_names)}")
    reference = reference / reference.sum()
    return float(0.5 * np.abs(np.array([current[name] for name in class_names]) - reference).sum())


@dataclass(frozen=True)
class Predictions:
    """What the monitors need of one side: class probabilities, and the stream and order of each window."""

    probabilities: np.ndarray
    stream_ids: np.ndarray
    order: np.ndarray

    def labels(self, class_names: Sequence[str]) -> np.ndarray:
        return np.asarray(class_names)[np.asarray(self.probabilities).argmax(axis=1)]


def run_monitors(current: Predictions, reference: Predictions, class_names: Sequence[str],
                 training_distribution: Mapping[str, float], config: MonitorsConfig) -> List[MonitorResult]:
    """Every monitor on current vs. reference predictions; the alert rules of the module docstring."""
    names = list(class_names)
    enough = len(current.probabilities) >= config.min_windows
    few = "" if enough else f" (only {len(current.probabilities)} windows, fewer than min_windows " \
                            f"{config.min_windows}: no alert)"
    results: List[MonitorResult] = []

    value = low_confidence_share(current.probabilities, config.confidence_threshold)
    ref = low_confidence_share(reference.probabilities, config.confidence_threshold)
    threshold = min(1.0, ref + config.low_confidence_max_increase)
    results.append(MonitorResult(
        LOW_CONFIDENCE, value, ref, threshold, enough and value > threshold,
        f"{value:.1%} of windows have a top probability below {config.confidence_threshold:g} "
        f"(reference {ref:.1%}; alert above {threshold:.1%}){few}"))

    value = prediction_change_rate(current.labels(names), current.stream_ids, current.order)
    ref = prediction_change_rate(reference.labels(names), reference.stream_ids, reference.order)
    threshold = min(1.0, ref + config.change_rate_max_increase)
    results.append(MonitorResult(
        CHANGE_RATE, value, ref, threshold, enough and value > threshold,
        f"the predicted activity changes between {value:.1%} of consecutive windows of a stream "
        f"(reference {ref:.1%}; alert above {threshold:.1%}){few}"))

    value = activity_mix_shift(current.labels(names), training_distribution, names)
    ref = activity_mix_shift(reference.labels(names), training_distribution, names)
    results.append(MonitorResult(
        MIX_SHIFT, value, ref, config.mix_shift_max, enough and value > config.mix_shift_max,
        f"predicted activity mix is {value:.2f} (total variation) from the training mix (held-out subjects: "
        f"{ref:.2f}; alert above {config.mix_shift_max:g}){few}"))
    return results


CONFIDENCE_BINS = np.linspace(0.0, 1.0, 21)


def monitor_evidence(current: Predictions, reference: Predictions, class_names: Sequence[str],
                     training_distribution: Mapping[str, float]) -> Dict[str, Any]:
    """Plain JSON values behind the plots: top-probability histograms and activity mixes (current, reference,
    training)."""
    names = list(class_names)
    total = sum(max(float(training_distribution.get(n, 0.0)), 0.0) for n in names) or 1.0

    def histogram(side: Predictions) -> List[int]:
        top = np.asarray(side.probabilities, dtype=np.float64).max(axis=1) if len(side.probabilities) else []
        return [int(c) for c in np.histogram(top, bins=CONFIDENCE_BINS)[0]]

    return {
        "confidence_bins": [float(b) for b in CONFIDENCE_BINS],
        "current_confidence_counts": histogram(current),
        "reference_confidence_counts": histogram(reference),
        "current_mix": activity_mix(current.labels(names), names),
        "reference_mix": activity_mix(reference.labels(names), names),
        "training_mix": {n: max(float(training_distribution.get(n, 0.0)), 0.0) / total for n in names},
        "n_current": int(len(current.probabilities)),
        "n_reference": int(len(reference.probabilities)),
    }


def monitor_report(current: Predictions, reference: Predictions, class_names: Sequence[str],
                   training_distribution: Mapping[str, float], config: MonitorsConfig, source: str) -> Dict[str, Any]:
    """What the monitoring step hands to the drift verdict, as plain JSON values: results, evidence, source,
    and whether an alert counts as drift (`config.count_as_drift`)."""
    results = run_monitors(current, reference, class_names, training_distribution, config)
    return {
        "source": str(source),
        "results": [r.to_dict() for r in results],
        "evidence": {**monitor_evidence(current, reference, class_names, training_distribution),
                     "confidence_threshold": config.confidence_threshold},
        "drift": any(r.alert and r.name in config.count_as_drift for r in results),
        "config": config.model_dump(),
    }
