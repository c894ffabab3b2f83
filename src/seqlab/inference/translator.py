"""A trained translator, loaded from a bundle folder or a Lightning checkpoint, that translates raw text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer

from seqlab.data.batching import pad_sequences
from seqlab.data.seq2seq_tokenizers import decode, display_tokens, encode, special_ids
from seqlab.decoding.hypothesis import SearchLimits
from seqlab.decoding.translation_search import translation_search
from seqlab.errors import SeqlabError
from seqlab.inference.checkpoint_reader import net_state_dict, read_checkpoint
from seqlab.inference.net_builder import build_net, load_net

DEFAULT_DECODING = {
    "beam_size": 5, "length_penalty": 0.6, "max_len_a": 1.5, "max_len_b": 10, "max_length": 50,
}


@dataclass
class Translation:
    source: str
    text: str  # the detokenized translation
    source_tokens: list[str]  # as the model saw them, <eos> included
    target_tokens: list[str]  # as generated, <eos> included when reached
    attention: torch.Tensor | None  # [target tokens, source tokens]; None without attention
    # the source was longer than max_length tokens: its end was cut before translating
    truncated: bool = False


class Translator:
    """Bundle layout: the net saved the Hugging Face way (config.json naming its class, model.safetensors, the
    model card README.md: <NetClass>.from_pretrained(folder) loads it), source_tokenizer.json,
    target_tokenizer.json, decoding.json (beam size, length penalty, length limits, the source max_length).
    Only classes defined in seqlab.models are rebuilt: nothing in a bundle is run as code."""

    def __init__(self, net: torch.nn.Module, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer,
                 decoding: dict | None = None):
        self.net = net.eval()
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.decoding = {**DEFAULT_DECODING, **(decoding or {})}
        self.ids = special_ids(tgt_tokenizer)
        self.src_pad = special_ids(src_tokenizer)["pad_id"]

    @property
    def has_attention(self) -> bool:
        return self.net.has_attention

    @classmethod
    def from_bundle(cls, folder: str | Path) -> Translator:
        folder = Path(folder)
        net = load_net(folder)
        return cls(net, Tokenizer.from_file(str(folder / "source_tokenizer.json")),
                   Tokenizer.from_file(str(folder / "target_tokenizer.json")),
                   json.loads((folder / "decoding.json").read_text()))

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Translator:
        path = Path(path)
        checkpoint = read_checkpoint(path, "translation")
        data = next((v for v in checkpoint.values() if isinstance(v, dict) and v.get("target_tokenizer")),
                    None)
        if data is None or not checkpoint.get("net_config"):
            raise SeqlabError(f"{path} is not a seqlab translation checkpoint (no tokenizers or net config)")
        net = build_net(checkpoint["net_config"])
        net.load_state_dict(net_state_dict(checkpoint))
        decoding = {**checkpoint.get("decoding", {}), "max_length": data.get("max_length", 50)}
        return cls(net, Tokenizer.from_str(data["source_tokenizer"]),
                   Tokenizer.from_str(data["target_tokenizer"]), decoding)

    def save_bundle(self, folder: str | Path, card: dict | None = None) -> Path:
        """`card`: what the model card records (dataset, license, metrics, command; tasks.model_card)."""
        folder = Path(folder)
        self.net.save_pretrained(folder, model_card_kwargs=card)  # the tied output and embedding weights once
        self.src_tokenizer.save(str(folder / "source_tokenizer.json"))
        self.tgt_tokenizer.save(str(folder / "target_tokenizer.json"))
        (folder / "decoding.json").write_text(json.dumps(self.decoding, indent=2))
        return folder

    @torch.no_grad()
    def translate(self, texts: list[str], beam_size: int | None = None, length_penalty: float | None = None,
                  batch_size: int = 64) -> list[Translation]:
        """One Translation per text, in order; beam_size 1 is greedy search (default: the run's beam size).
        Each text is stripped; a blank one is translated as an empty line, without the model. A text longer
        than the run's max_length tokens is cut to it, as training cut its sentences
        (Translation.truncated)."""
        beam = beam_size if beam_size is not None else self.decoding["beam_size"]
        if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
            raise SeqlabError(f"beam_size={beam!r} must be a whole number of at least 1")
        alpha = length_penalty if length_penalty is not None else self.decoding["length_penalty"]
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise SeqlabError(f"length_penalty={alpha!r} must be a number (0: rank by log-probability alone)")
        limits = SearchLimits(self.decoding["max_len_a"], self.decoding["max_len_b"])
        texts = [str(t).strip() for t in texts]
        results: list[Translation | None] = [
            Translation(t, "", [], [], None) if not t else None for t in texts
        ]
        kept = [i for i, t in enumerate(texts) if t]
        max_length = int(self.decoding["max_length"])
        encoded_kept, cut = encode(self.src_tokenizer, [texts[i] for i in kept], max_length, bos=False)
        encoded = dict(zip(kept, encoded_kept, strict=True))
        truncated = {kept[i] for i in cut}
        order = sorted(kept, key=lambda i: len(encoded[i]))  # little padding per batch
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            src_ids, src_mask = pad_sequences([encoded[i] for i in rows], self.src_pad)
            hypotheses = translation_search(self.net, src_ids, src_mask, self.ids["bos_id"],
                                            self.ids["eos_id"], beam, float(alpha), limits)
            texts_out = decode(self.tgt_tokenizer, [h.tokens for h in hypotheses])
            for row, hypothesis, text in zip(rows, hypotheses, texts_out, strict=True):
                target = hypothesis.tokens + ([self.ids["eos_id"]] if hypothesis.ended else [])
                results[row] = Translation(
                    texts[row], text, display_tokens(self.src_tokenizer, encoded[row]),
                    display_tokens(self.tgt_tokenizer, target), hypothesis.attention, row in truncated,
                )
        return results
