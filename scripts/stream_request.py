"""Turn one recording of a dataset into a POST /predict_stream body, in the recording's own units.

Usage: python scripts/stream_request.py RECORDING_DIR [--dataset NAME_OR_FILE] > request.json

Entry point only: the code is in har/stream_request.py.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from har.profiles import load_dataset  # noqa: E402
from har.stream_request import stream_body  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording_dir", type=Path)
    parser.add_argument("--dataset", default=None, help="dataset profile (name or YAML path); default: default")
    args = parser.parse_args()
    json.dump(stream_body(args.recording_dir, load_dataset(args.dataset, ROOT)), sys.stdout)


if __name__ == "__main__":
    main()
