"""Entity-annotated sentences for a token classifier: WNUT-17 or the user's own CoNLL/IOB2 or JSONL files."""

from __future__ import annotations

import sys

import lightning as L
import spacy
import torch
from spacy.tokens import DocBin
from torch.utils.data import DataLoader
from transformers import DataCollatorForTokenClassification

from seqlab.data.batching import LengthGroupedBatchSampler
from seqlab.data.split_loaders import SplitLoaders, training_position
from seqlab.data.word_pieces import EncodedSentence, check_fast, cut_warning, encode_words, word_tags
from seqlab.errors import SeqlabError
from seqlab.models.gpt2_lm import context_size
from seqlab.ner.dataset import SPLITS, NerDataset
from seqlab.ner.evaluation import SplitScores, score_docs
from seqlab.ner.word_tags import iob_tags, tagged_doc
from seqlab.pretrained.transformers_models import load_config, load_tokenizer


class TokenClassificationDataModule(NerDataset, SplitLoaders, L.LightningDataModule):
    """Sentences read (and cached as spaCy Docs) as the spaCy NER runs read them, then each sentence's words
    cut into the pretrained model's sub-word pieces with its word-level IOB2 tags on their first pieces
    (seqlab.data.word_pieces).

    Batches: {input_ids, attention_mask, labels [B, T] (IGNORE off first pieces), index [B] (the row in its
    split)}, padded per batch by transformers' DataCollatorForTokenClassification, grouped by length. The gold
    Docs stay at hand, so that predictions per word become Docs with entities and are scored by spaCy's
    scorer.
    """

    task_name = "ner"

    def __init__(
        self,
        name: str,
        pretrained: str,
        lang: str = "en",
        max_length: int | None = None,
        batch_size: int = 16,
        eval_batch_size: int = 64,
        num_workers: int = 0,
        **files,  # NerDataset's: data_dir, source, the split files, format, how test is carved, the cache
    ):
        L.LightningDataModule.__init__(self)
        NerDataset.__init__(self, name, **files)
        if batch_size < 1 or eval_batch_size < 1:
            raise SeqlabError("dataset.batch_size and dataset.eval_batch_size must be at least 1")
        if max_length is not None and max_length < 3:
            raise SeqlabError(f"dataset.max_length={max_length} must be at least 3 (two special tokens and a "
                              "word), or null for the model's own limit")
        self.pretrained, self.lang, self.requested_length = pretrained, lang, max_length
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.tokenizer = None
        self.max_length = 0
        self.tags: list[str] = []                      # O, then B- and I- of each entity type of train
        self.docs: dict[str, list] = {}                # gold Docs per split
        self.encoded: dict[str, list[EncodedSentence]] = {}
        self.cut: dict[str, int] = {}                  # sentences per split cut at the position limit
        self.checkpoint_tags: list[str] | None = None  # the tags of a checkpoint being resumed

    # -- reading ---------------------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        paths = self.docbins(self.lang)
        self.tags = ["O"] + [f"{prefix}-{label}" for label in self.labels for prefix in ("B", "I")]
        if self.checkpoint_tags is not None and self.checkpoint_tags != self.tags:
            raise SeqlabError(f"the checkpoint was trained on the tags {self.checkpoint_tags} and the data "
                              f"has {self.tags}: resume it on the data it was trained on")
        self.tokenizer = load_tokenizer(self.pretrained)
        check_fast(self.tokenizer, self.pretrained)
        limit = context_size(load_config(self.pretrained))
        self.max_length = min(x for x in (self.requested_length, limit, self.tokenizer.model_max_length) if x)
        index = {tag: i for i, tag in enumerate(self.tags)}
        vocab = spacy.blank(self.lang).vocab
        for split in SPLITS:
            self.docs[split] = list(DocBin().from_disk(paths[split]).get_docs(vocab))
            words = [[t.text for t in doc] for doc in self.docs[split]]
            # a type train has not seen is tagged O
            tags = [[index.get(tag, 0) for tag in iob_tags(doc)] for doc in self.docs[split]]
            self.encoded[split] = encode_words(self.tokenizer, words, self.max_length, tags)
            self.cut[split] = sum(e.cut for e in self.encoded[split])
        if sum(self.cut.values()):
            total = sum(len(d) for d in self.docs.values())
            counts = ", ".join(f"{split} {n}" for split, n in self.cut.items())
            print(cut_warning(sum(self.cut.values()), total, self.max_length, f"sentences ({counts})"),
                  file=sys.stderr)

    # -- what the model and task are sized from --------------------------------------------------------------
    MODEL_ARGUMENTS = frozenset({"labels"})

    def model_kwargs(self) -> dict:
        return {"labels": self.tags}

    def task_kwargs(self) -> dict:
        return {}

    def data_stats(self) -> dict:
        """Sentences, words and entities per split, I- tags repaired, sentences cut at the position limit."""
        return {split: {**self.stats[split], "cut_sentences": self.cut[split]} for split in SPLITS}

    # -- predictions -> scored Docs --------------------------------------------------------------------------
    def score(self, split: str, predicted: dict[int, list[int]]) -> SplitScores:
        """Tag ids predicted at each sentence's first pieces ({row: ids}) -> Docs with entities, scored."""
        id2label = dict(enumerate(self.tags))
        docs = []
        for row, (doc, encoded) in enumerate(zip(self.docs[split], self.encoded[split], strict=True)):
            tags = word_tags(encoded.first_pieces, predicted[row], len(doc), id2label)
            docs.append(tagged_doc(doc, tags))
        return score_docs(docs, self.docs[split])

    # -- batches ---------------------------------------------------------------------------------------------
    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        encoded, trainer = self.encoded[split], self.trainer
        sampler = LengthGroupedBatchSampler(
            [len(e.input_ids) for e in encoded], batch_size, shuffle, seed=self.split_seed,
            num_replicas=trainer.world_size if trainer else 1, rank=trainer.global_rank if trainer else 0,
        )
        if shuffle:
            self.resume_sampler(sampler, trainer.world_size if trainer else 1)
        pad = DataCollatorForTokenClassification(self.tokenizer, return_tensors="pt")
        collate = IndexedCollator(pad, encoded)
        # a generator of its own: starting an epoch leaves the global random state (dropout masks) untouched
        return DataLoader(list(range(len(encoded))), batch_sampler=sampler, collate_fn=collate,
                          num_workers=self.num_workers,
                          generator=torch.Generator().manual_seed(self.split_seed))

    # -- checkpoints: the tags and the position in the epoch travel with the weights -------------------------
    def state_dict(self) -> dict:
        return {"tags": self.tags, "position": training_position(self.trainer)}

    def load_state_dict(self, state: dict) -> None:
        self.checkpoint_tags = state.get("tags")
        self.restore_position(state)


class IndexedCollator:
    """Rows of a split -> a padded batch (transformers' token-classification collator) with the rows'
    indices."""

    def __init__(self, collator, encoded: list[EncodedSentence]):
        self.collator, self.encoded = collator, encoded

    def __call__(self, rows: list[int]) -> dict:
        batch = self.collator([{"input_ids": self.encoded[i].input_ids, "labels": self.encoded[i].labels}
                               for i in rows])
        return {**batch, "index": torch.tensor(rows)}
