"""The checkout seqlab runs from (an editable install): conf/ and pipelines/ beside src/."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONF_DIR = PROJECT_ROOT / "conf"
PIPELINES_DIR = PROJECT_ROOT / "pipelines"
