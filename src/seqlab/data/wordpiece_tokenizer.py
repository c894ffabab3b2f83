"""The WordPiece tokenizer of a BERT trained from scratch (Hugging Face `tokenizers`), on train only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from seqlab.data.options import options_from_config
from seqlab.errors import SeqlabError

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = [PAD, UNK, CLS, SEP, MASK]


@dataclass
class WordPieceOptions:
    kind: Literal["wordpiece"] = "wordpiece"
    # the vocabulary trained, special tokens included; the corpus must be able to reach it
    vocab_size: int = 8000
    min_frequency: int = 1  # a merge seen fewer times in train is not made
    lowercase: bool = True  # fold case (and strip accents) before splitting, as uncased BERT does
    pretrained: str | None = None  # a pretrained model's own tokenizer instead of training one

    @classmethod
    def from_config(cls, options: dict | None, where: str = "dataset.tokenizer") -> WordPieceOptions:
        return options_from_config(cls, options, where, {"min_frequency": (1, ""),
                                                          "vocab_size": (len(SPECIAL_TOKENS) + 1, "")})


def train_wordpiece_tokenizer(texts: Iterable[str], options: WordPieceOptions):
    """A transformers fast tokenizer of exactly options.vocab_size tokens, trained on `texts` (the train
    split); a size below the corpus's alphabet or above what its merges reach is an error that names the sizes
    it can.

    The same texts give the same tokenizer: the trainer numbers the word-inner pieces (##a) in the order of a
    hash map, which breaks ties between merges differently from one process to the next (tokenizers issue
    1794), so they are given to it, sorted, as tokens to keep; the trained vocabulary is then put in a
    WordPiece model of its own, with only BERT's special tokens special. `texts` is read twice (its
    characters, then the training): a list, or an iterable that reads its texts again each time."""
    normalizer = _normalizer(options.lowercase)
    characters = sorted({c for text in texts for c in normalizer.normalize_str(text) if not c.isspace()})
    inner = [f"##{c}" for c in characters]
    trained = Tokenizer(models.WordPiece(unk_token=UNK))
    trained.normalizer = normalizer
    _set_splitting(trained)
    trainer = trainers.WordPieceTrainer(vocab_size=options.vocab_size, min_frequency=options.min_frequency,
                                        special_tokens=SPECIAL_TOKENS + inner, show_progress=False)
    lines = (line for text in texts for line in text.splitlines())
    trained.train_from_iterator(lines, trainer)  # in parallel
    size = trained.get_vocab_size()
    if size > options.vocab_size:
        raise SeqlabError(f"dataset.tokenizer.vocab_size={options.vocab_size} is below what the tokenizer "
                          f"can reach: the train split's characters and the special tokens alone make {size} "
                          f"tokens; set dataset.tokenizer.vocab_size to at least {size}")
    if size < options.vocab_size:
        raise SeqlabError(f"dataset.tokenizer.vocab_size={options.vocab_size} is more than the tokenizer can "
                          f"reach: the train split yields {size} tokens (merges seen at least "
                          f"dataset.tokenizer.min_frequency={options.min_frequency} times); set "
                          f"dataset.tokenizer.vocab_size to at most {size}, or use a larger corpus")
    tokenizer = Tokenizer(models.WordPiece(trained.get_vocab(), unk_token=UNK))
    tokenizer.normalizer = _normalizer(options.lowercase)
    _set_splitting(tokenizer)
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    return wrap_wordpiece(tokenizer)


def _normalizer(lowercase: bool):
    return normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase or None)


def _set_splitting(tokenizer) -> None:
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()


def wrap_wordpiece(tokenizer):
    """A WordPiece `tokenizers` Tokenizer -> the transformers fast tokenizer around it, with BERT's special
    tokens, adding [CLS] ... [SEP] to each text it encodes, so that it saves with save_pretrained beside the
    model and a fine-tuning run reads text as BERT does."""
    cls_id, sep_id = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, unk_token=UNK, cls_token=CLS,
                                   sep_token=SEP, mask_token=MASK)


def wordpiece_from_str(text: str):
    """A trained tokenizer back from the JSON text a checkpoint keeps (its backend_tokenizer.to_str())."""
    return wrap_wordpiece(Tokenizer.from_str(text))
