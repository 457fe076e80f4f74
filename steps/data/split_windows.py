"""Split windows into train/val/test by subject."""

from typing import Annotated, Tuple

from zenml import log_metadata, step

from har.splitting import split_by_subject
from har.types import WindowedDataset


@step
def split_windows(
    windows: WindowedDataset,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 42,
) -> Tuple[
    Annotated[WindowedDataset, "train_windows"],
    Annotated[WindowedDataset, "val_windows"],
    Annotated[WindowedDataset, "test_windows"],
]:
    """Whole subjects go to one split, so test scores measure unseen people.

    Args:
        windows: Output of `window_recordings`.
        val_fraction: Share of subjects for validation (early stopping).
        test_fraction: Share of subjects for the held-out test.
        seed: Makes the assignment reproducible.

    Returns:
        Train, validation and test windows.
    """
    train, val, test, assignment = split_by_subject(windows, val_fraction, test_fraction, seed)
    for name, part in (("train", train), ("val", val), ("test", test)):
        if part.n_windows == 0:
            raise ValueError(f"the {name} split has no windows (subjects {assignment[name]})")
    log_metadata(metadata={"subjects": assignment})
    return train, val, test
