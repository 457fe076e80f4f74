"""Fit per-channel normalisation on the training split."""

from typing import Annotated

from zenml import step

from har.normalization import fit_normalizer as fit
from har.types import ChannelNormalizer, WindowedDataset


@step
def fit_normalizer(train_windows: WindowedDataset) -> Annotated[ChannelNormalizer, "normalizer"]:
    """Mean/std per channel from training windows only (no leakage from val/test).

    Args:
        train_windows: Training split.

    Returns:
        The normalizer, shipped with the model for serving.
    """
    return fit(train_windows)
