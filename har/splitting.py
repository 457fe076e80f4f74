"""Split windows by subject so no person appears in two splits."""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from har.types import WindowedDataset


def assign_subjects(
    subjects: List[str], val_fraction: float, test_fraction: float, seed: int
) -> Dict[str, List[str]]:
    """Deterministically assign whole subjects to train/val/test.

    Every split gets at least one subject, so at least three are required.
    """
    unique = sorted(set(subjects))
    if len(unique) < 3:
        raise ValueError(
            f"splitting by subject needs at least 3 subjects, found {len(unique)} ({unique}); "
            "add recordings of more people or set 'subject' in each recording's meta.json"
        )
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"need 0 < val_fraction, test_fraction and their sum < 1, got {val_fraction}, {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(unique))
    shuffled = [unique[i] for i in order]
    n_test = max(1, int(round(test_fraction * len(unique))))
    n_val = max(1, int(round(val_fraction * len(unique))))
    n_val = min(n_val, len(unique) - n_test - 1)
    return {
        "test": sorted(shuffled[:n_test]),
        "val": sorted(shuffled[n_test : n_test + n_val]),
        "train": sorted(shuffled[n_test + n_val :]),
    }


def split_by_subject(
    dataset: WindowedDataset, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 42
) -> Tuple[WindowedDataset, WindowedDataset, WindowedDataset, Dict[str, List[str]]]:
    """Return train, val and test datasets plus the subject assignment."""
    assignment = assign_subjects(dataset.subjects.tolist(), val_fraction, test_fraction, seed)
    parts = tuple(dataset.subset(np.isin(dataset.subjects, assignment[name])) for name in ("train", "val", "test"))
    return parts[0], parts[1], parts[2], assignment
