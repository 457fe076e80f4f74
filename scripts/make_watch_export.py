"""Write an example smartwatch export (the tutorial's stand-in for your own recordings).

Usage: python scripts/make_watch_export.py OUT_DIR [--subjects 6] [--first-subject 1]

See README "Your own watch data" and har/watch_export.py for its quirks.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from har.watch_export import write_watch_export  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("out_dir")
parser.add_argument("--subjects", type=int, default=6)
parser.add_argument("--first-subject", type=int, default=1, help="use e.g. 20 for new people")
args = parser.parse_args()
ids = write_watch_export(args.out_dir, n_subjects=args.subjects, first_subject=args.first_subject)
print(f"Wrote {len(ids)} recordings to {args.out_dir}")
