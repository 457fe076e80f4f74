"""Locating input data: the built-in default dataset and content fingerprints."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Dict

from har.config import DataConfig

GENERATOR_RECORD = "generator.json"


def fingerprint_directory(path: str | Path) -> str:
    """SHA-256 over every file's relative path and content (order independent of the filesystem)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def ensure_default_data(out_dir: str | Path, data_config: DataConfig, generator: Dict[str, Any]) -> Path:
    """Generate the deterministic synthetic dataset unless an identical one is already there.

    The recording rate and activity set follow the training config, so a
    10 Hz / 4-activity config gets matching default data.
    """
    from har.synthetic import generate_dataset

    params = {
        **generator,
        "sampling_rate_hz": data_config.sampling_rate_hz,
        "activities": list(data_config.activities),
    }
    # One folder per generator setting, so a 10 Hz config does not overwrite the 50 Hz data.
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    out = Path(out_dir) / f"{int(data_config.sampling_rate_hz)}hz-{len(data_config.activities)}act-{digest}"
    record = out / GENERATOR_RECORD
    if record.exists() and json.loads(record.read_text()) == params:
        return out / "recordings"
    if out.exists():
        shutil.rmtree(out)
    generate_dataset(out / "recordings", **params)
    record.write_text(json.dumps(params, indent=2, sort_keys=True))
    return out / "recordings"
