"""Per-channel standardisation statistics (fitted on the training split only)."""

from __future__ import annotations

import numpy as np

from har.types import ChannelNormalizer, WindowedDataset

MIN_STD = 1e-6


def fit_normalizer(train: WindowedDataset) -> ChannelNormalizer:
    """Mean and standard deviation of every channel over all training samples."""
    if train.n_windows == 0:
        raise ValueError("cannot fit a normalizer on an empty training split")
    flat = train.X.reshape(-1, train.X.shape[-1]).astype(np.float64)
    mean = flat.mean(axis=0)
    std = flat.std(axis=0)
    std = np.where(std < MIN_STD, 1.0, std)  # a constant channel must not divide by zero
    return ChannelNormalizer(channel_names=list(train.channel_names), mean=mean.tolist(), std=std.tolist())
