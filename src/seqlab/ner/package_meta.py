"""The meta.json of a trained NER pipeline, filled in for `python -m spacy package`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from seqlab import __version__
from seqlab.data.download import LICENSES


def write_package_meta(folder: Path, dataset_name: str, source: str | None, labels: list[str],
                       run_id: str | None) -> dict:
    """Fills in the meta.json in `folder`, so that `python -m spacy package <folder> <output>` makes an
    installable package of it: its name, version, a description (labels, dataset, run) and the license of the
    data it learnt from (the public dataset's; empty for your own files: fill it in before packaging)."""
    path = Path(folder) / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(
        name=re.sub(r"[^a-z0-9_]+", "_", f"seqlab_{dataset_name}_ner".lower()),
        version=__version__,
        description=f"Named entities ({', '.join(labels)}) learnt from {dataset_name} by seqlab's spaCy NER"
                    + (f" (MLflow run {run_id})" if run_id else ""),
        license=LICENSES.get(source or "", ""),
    )
    path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta
