"""`make data`: fetch and check every dataset into data/ (or from SEQLAB_DATA_MIRROR).

    python -m seqlab.commands.download [dataset ...] [--data-dir data]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqlab.commands.cli import run_or_exit
from seqlab.data.download import DATASETS, ensure_files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fetch and check seqlab's public datasets")
    parser.add_argument("datasets", nargs="*", default=list(DATASETS), help=f"any of {', '.join(DATASETS)}")
    parser.add_argument("--data-dir", default="data", help="where data/<dataset>/ folders go (default: data)")
    args = parser.parse_args(argv)
    for name in args.datasets:
        if name not in DATASETS:
            sys.exit(f"error: unknown dataset '{name}'; datasets: {', '.join(DATASETS)}")
        folder = run_or_exit(ensure_files, name, Path(args.data_dir) / name, list(DATASETS[name]))
        print(f"{name}: {', '.join(DATASETS[name])} in {folder}")


if __name__ == "__main__":
    main()
