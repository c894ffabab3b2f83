"""Entity-annotated sentences for spaCy (WNUT-17, or your CoNLL/IOB2 or JSONL files) as DocBin files."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Literal

from seqlab.data.download import ensure_files
from seqlab.data.options import check_sample_caps
from seqlab.errors import SeqlabError
from seqlab.ner.conll import read_conll
from seqlab.ner.jsonl import read_entity_jsonl

# spaCy is imported where used: config checks import this class (task_of) to read its task_name

SPLITS = ("train", "val", "test")
CACHE_VERSION = 1  # bump when the conversion changes
EXTENSIONS = {".conll": "conll", ".iob": "conll", ".iob2": "conll", ".bio": "conll", ".txt": "conll",
              ".tsv": "conll", ".jsonl": "jsonl"}


class NerDataset:
    """The files of a dataset, converted once to spaCy DocBin files (train, val, test) and cached under a key
    of the files' contents and the reading options."""

    task_name = "ner"

    def __init__(
        self,
        name: str,
        data_dir: str | None = None,
        source: str | None = None,
        train_file: str = "train.conll",
        val_file: str = "dev.conll",
        test_file: str | None = "test.conll",
        format: Literal["conll", "jsonl"] | None = None,
        stray_i_tags: Literal["repair", "reject"] = "repair",
        test_fraction: float = 0.1,
        split_seed: int = 1234,
        cache_dir: str | None = None,
        max_train_samples: int | None = None,
        max_eval_samples: int | None = None,
    ):
        if data_dir is None:
            raise SeqlabError("dataset.data_dir is not set; point it at the folder of the dataset's files")
        if not 0 < test_fraction < 1:
            raise SeqlabError(f"dataset.test_fraction={test_fraction} must lie between 0 and 1")
        for split, file in (("train", train_file), ("val", val_file)):
            if not file:
                raise SeqlabError(f"dataset.{split}_file is not set; name the {split} split's file in "
                                  "dataset.data_dir (only dataset.test_file may be null: test is then carved "
                                  "from train)")
        check_sample_caps(max_train_samples, max_eval_samples, "sentence")
        self.name, self.data_dir, self.source = name, Path(data_dir).expanduser(), source
        self.files = {"train": train_file, "val": val_file, "test": test_file}
        self.format, self.stray_i_tags = format, stray_i_tags
        self.test_fraction, self.split_seed = test_fraction, split_seed
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else self.data_dir / ".spacy"
        self.caps = {"train": max_train_samples, "val": max_eval_samples, "test": max_eval_samples}
        self.stats: dict[str, dict] = {}

    def prepare_data(self) -> None:
        ensure_files(self.source, self.data_dir, [f for f in self.files.values() if f])

    def data_files(self) -> list[Path]:
        """Every file the run reads (their sha256 are logged with it)."""
        return [self.data_dir / name for name in self.files.values() if name]

    @property
    def labels(self) -> list[str]:
        """Entity types of the train split, sorted."""
        return sorted(self.stats["train"]["entities"])

    def docbins(self, lang: str) -> dict[str, Path]:
        """{split: DocBin file}, converted on first use; `lang` picks the tokenizer for JSONL texts."""
        folder = self.cache_dir / f"{self.name}-{self._cache_key(lang)}"
        paths = {split: folder / f"{split}.spacy" for split in SPLITS}
        stats_file = folder / "stats.json"
        if not stats_file.is_file():
            self._convert(lang, folder, paths, stats_file)
        self.stats = json.loads(stats_file.read_text())
        for split in SPLITS:
            repaired = self.stats[split]["repaired_i_tags"]
            if repaired:
                print(f"warning: {self.stats[split]['file']}: {repaired} I- tag(s) with no entity open were "
                      "read as B- tags (dataset.stray_i_tags=repair)", file=sys.stderr)
        return paths

    def _file_format(self, path: Path) -> str:
        if self.format is not None:
            return self.format
        kind = EXTENSIONS.get(path.suffix.lower())
        if kind is None:
            raise SeqlabError(f"cannot tell the format of {path} from its extension; set dataset.format to "
                              "conll or jsonl")
        return kind

    def _cache_key(self, lang: str) -> str:
        import spacy

        digest = hashlib.sha256()
        for split in SPLITS:
            name = self.files[split]
            digest.update(f"{split}={name};".encode())
            if name:
                path = self.data_dir / name
                if not path.is_file():
                    raise SeqlabError(f"{path} does not exist; put the file there or set "
                                      f"dataset.{split}_file")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        options = [CACHE_VERSION, spacy.__version__, lang, self.format, self.stray_i_tags, self.test_fraction,
                   self.split_seed, self.caps]
        digest.update(json.dumps(options, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]

    def _read(self, split: str, nlp) -> tuple[list, int]:
        from spacy.tokens import Doc, Span

        path = self.data_dir / self.files[split]
        if self._file_format(path) == "jsonl":
            return read_entity_jsonl(path, nlp), 0
        read = read_conll(path, self.stray_i_tags)
        docs = []
        for sentence in read.sentences:
            doc = Doc(nlp.vocab, words=sentence.words, spaces=[True] * (len(sentence.words) - 1) + [False])
            doc.set_ents([Span(doc, s, e, label=label) for s, e, label in sentence.spans], default="outside")
            docs.append(doc)
        return docs, read.repaired

    def _convert(self, lang: str, folder: Path, paths: dict[str, Path], stats_file: Path) -> None:
        import spacy
        from spacy.tokens import DocBin

        nlp = spacy.blank(lang)
        docs, repaired = {}, {}
        for split in ("train", "val", "test"):
            if self.files[split]:
                docs[split], repaired[split] = self._read(split, nlp)
        if "test" not in docs:  # carve a fixed share of train, the same sentences in every run
            order = list(range(len(docs["train"])))
            random.Random(self.split_seed).shuffle(order)
            cut = max(1, int(len(order) * self.test_fraction))
            if cut >= len(order):
                raise SeqlabError(f"the train split has {len(order)} sentence(s): too few to carve a test "
                                  "split from")
            held = set(order[:cut])
            docs["test"] = [d for i, d in enumerate(docs["train"]) if i in held]
            docs["train"] = [d for i, d in enumerate(docs["train"]) if i not in held]
            repaired["test"] = 0
        stats = {}
        for split in SPLITS:
            if self.caps[split]:
                docs[split] = docs[split][: self.caps[split]]
            entities = Counter(e.label_ for d in docs[split] for e in d.ents)
            stats[split] = {"file": str(self.data_dir / (self.files[split] or self.files["train"])),
                            "sentences": len(docs[split]), "tokens": sum(len(d) for d in docs[split]),
                            "entities": dict(sorted(entities.items())), "repaired_i_tags": repaired[split]}
        if not stats["train"]["entities"]:
            raise SeqlabError(f"the train split ({stats['train']['file']}) has no entities; a recognizer "
                              "needs some")
        for split in ("val", "test"):
            unseen = sorted(set(stats[split]["entities"]) - set(stats["train"]["entities"]))
            if unseen:
                print(f"warning: the {split} split has entity type(s) {unseen} that train lacks; they count "
                      "as misses", file=sys.stderr)
        # written into a folder of this process's own, then renamed into place whole: a run that finds the
        # cache folder finds it complete, and two runs converting at once (parallel sweep trials) do not mix
        # their files
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
            for split in SPLITS:
                DocBin(docs=docs[split], store_user_data=False).to_disk(partial / paths[split].name)
            (partial / stats_file.name).write_text(json.dumps(stats, indent=2))
            if folder.is_dir() and not stats_file.is_file():
                shutil.rmtree(folder)  # left half-written by an older seqlab
            try:
                os.rename(partial, folder)
            except OSError:
                if not stats_file.is_file():
                    raise
                shutil.rmtree(partial)  # another run put the same conversion in place first
        except OSError as err:
            raise SeqlabError(f"cannot write the DocBin cache {folder} ({err.strerror or err}); set "
                              "dataset.cache_dir to a folder you can write") from None

