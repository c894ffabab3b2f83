"""Named entities in raw texts, tagged by a fine-tuned transformers token classifier."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification

from seqlab.data.word_pieces import check_fast, cut_warning, encode_words, word_tags
from seqlab.models.gpt2_lm import context_size
from seqlab.ner.word_tags import tagged_doc

# in the model's config.json: the language whose spaCy tokenizer splits texts into words
LANG_KEY = "spacy_lang"


class EntityTagger:
    """A token classifier (a save_pretrained folder of the model and its tokenizer) that tags words.

    Texts are split into words by spaCy's tokenizer for the model's language, the words into the model's
    sub-word pieces, and the tag predicted at each word's first piece becomes the word's; the words' IOB2 tags
    become the entities of a spaCy Doc, so that each entity has its text, label and character offsets in the
    raw text, and displacy draws it.
    """

    def __init__(self, model, tokenizer, lang: str = "en", max_length: int = 512, batch_size: int = 32):
        check_fast(tokenizer, type(model).__name__)
        self.model, self.tokenizer, self.lang = model.eval(), tokenizer, lang
        self.max_length, self.batch_size = max_length, batch_size
        self.id2label = {int(k): v for k, v in model.config.id2label.items()}

    @classmethod
    def from_folder(cls, folder: str | Path) -> EntityTagger:
        model = AutoModelForTokenClassification.from_pretrained(str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        limit = min(x for x in (context_size(model.config), tokenizer.model_max_length) if x)
        return cls(model, tokenizer, getattr(model.config, LANG_KEY, "en"), limit)

    def pipe(self, texts: Iterable[str]) -> list:
        """Docs of `texts` with the predicted entities."""
        import spacy  # only raw texts need it: the task's test outputs tag the Docs they have

        nlp = spacy.blank(self.lang)
        return self.tag(list(nlp.pipe(texts)))

    @torch.no_grad()
    def tag(self, docs: list) -> list:
        """Copies of `docs` (their words) with the predicted entities; sentences cut at the model's positions
        are counted and reported once."""
        collate = DataCollatorForTokenClassification(self.tokenizer, return_tensors="pt")
        device = next(self.model.parameters()).device
        tagged, cut = [], 0
        for start in range(0, len(docs), self.batch_size):
            chunk = docs[start : start + self.batch_size]
            encoded = encode_words(self.tokenizer, [[t.text for t in doc] for doc in chunk], self.max_length)
            batch = collate([{"input_ids": e.input_ids, "labels": e.labels} for e in encoded])
            logits = self.model(input_ids=batch["input_ids"].to(device),
                                attention_mask=batch["attention_mask"].to(device)).logits
            predicted = logits.argmax(-1).cpu()
            for row, (doc, e) in enumerate(zip(chunk, encoded, strict=True)):
                predicted_ids = predicted[row, e.positions].tolist()
                tags = word_tags(e.first_pieces, predicted_ids, len(doc), self.id2label)
                tagged.append(tagged_doc(doc, tags))
                cut += e.cut
        if cut:
            print(cut_warning(cut, len(docs), self.max_length, "texts"), file=sys.stderr)
        return tagged
