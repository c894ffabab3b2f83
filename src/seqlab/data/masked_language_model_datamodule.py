"""Unlabelled text for masked-language-model (BERT) pretraining: Tiny Shakespeare, SST-2's sentences, any
UTF-8 corpus."""

from __future__ import annotations

from collections.abc import Iterable

from transformers import DataCollatorForLanguageModeling

from seqlab.data.language_model_datamodule import LanguageModelDataModule
from seqlab.data.masked_blocks import MaskedBlocks, SeededMasking
from seqlab.data.token_blocks import BlockSampler
from seqlab.data.token_cache import TokenIds
from seqlab.data.wordpiece_tokenizer import WordPieceOptions, train_wordpiece_tokenizer, wordpiece_from_str
from seqlab.errors import SeqlabError


class MaskedLanguageModelDataModule(LanguageModelDataModule):
    """The corpus is read and split as for language modelling, the WordPiece tokenizer is trained on the train
    split (or a pretrained model's own is loaded, to continue its pretraining), documents are joined by [SEP],
    and the stream is served in blocks of [CLS] ... [SEP] of block_size tokens, masked by transformers'
    DataCollatorForLanguageModeling: {input_ids, attention_mask, labels [B, T]}."""

    task_name = "masked_language_model"
    options_class = WordPieceOptions

    def __init__(self, *args, mlm_probability: float = 0.15, block_size: int = 128, **kwargs):
        if not isinstance(block_size, int) or block_size < 3:
            raise SeqlabError(f"dataset.block_size={block_size} must be a whole number of at least 3: [CLS], "
                              "a token and [SEP]")
        if not 0 < mlm_probability < 1:
            raise SeqlabError(f"dataset.mlm_probability={mlm_probability} must lie in (0, 1)")
        super().__init__(*args, block_size=block_size, **kwargs)
        self.mlm_probability = mlm_probability

    def _train_tokenizer(self, texts: Iterable[str]):
        return train_wordpiece_tokenizer(texts, self.tokenizer_options)

    def _tokenizer_from_str(self, text: str):
        return wordpiece_from_str(text)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if None in (self.tokenizer.mask_token_id, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id):
            raise SeqlabError(f"the tokenizer of '{self.tokenizer_options.pretrained}' lacks [MASK], [CLS] "
                              "or [SEP]: it is not a masked language model's; give an encoder (BERT-like) "
                              "as model.net.pretrained")

    @property
    def separator_id(self) -> int:
        """The token between documents: [SEP]."""
        return self.tokenizer.sep_token_id

    @property
    def block_stride(self) -> int:
        """Tokens of the stream one block holds: block_size less [CLS] and [SEP]."""
        return self.block_size - 2

    def task_kwargs(self) -> dict:
        return {"vocab_size": len(self.tokenizer)}

    def _blocks(self, stream: TokenIds):
        return MaskedBlocks(stream, self.block_size, self.tokenizer.cls_token_id, self.separator_id)

    def _collator(self, sampler: BlockSampler):
        masking = DataCollatorForLanguageModeling(self.tokenizer, mlm_probability=self.mlm_probability)
        return SeededMasking(masking, self.shuffle_seed, sampler)
