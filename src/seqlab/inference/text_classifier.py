"""A trained text classifier, loaded from a bundle folder or a Lightning checkpoint, that labels raw texts."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer

from seqlab.data.batching import pad_sequences
from seqlab.data.word_tokenizer import PAD, encode_texts
from seqlab.errors import SeqlabError
from seqlab.inference.checkpoint_reader import net_state_dict, read_checkpoint
from seqlab.inference.net_builder import build_net, load_net


class TextClassifier:
    """Bundle layout: the net saved the Hugging Face way (config.json naming its class, model.safetensors, the
    model card README.md: <NetClass>.from_pretrained(folder) loads it), tokenizer.json, labels.json. Only
    classes defined in seqlab.models are rebuilt: nothing in a bundle is run as code."""

    def __init__(self, net: torch.nn.Module, tokenizer: Tokenizer, labels: list[str]):
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.labels = labels
        self.pad_id = tokenizer.token_to_id(PAD)

    @classmethod
    def from_bundle(cls, folder: str | Path) -> TextClassifier:
        folder = Path(folder)
        net = load_net(folder)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        return cls(net, tokenizer, json.loads((folder / "labels.json").read_text()))

    @classmethod
    def from_checkpoint(cls, path: str | Path):
        """The classifier a checkpoint holds: a TextClassifier, or a PretrainedTextClassifier for a fine-tuned
        transformers encoder."""
        path = Path(path)
        checkpoint = read_checkpoint(path, "classification")
        data = next((v for v in checkpoint.values() if isinstance(v, dict) and v.get("label_names")), None)
        if data is not None and (checkpoint.get("net_config") or {}).get("pretrained"):
            # imported here: it needs transformers, which a logged TextClassifier model does not list
            from seqlab.inference.pretrained_text_classifier import PretrainedTextClassifier

            return PretrainedTextClassifier.from_checkpoint(checkpoint, data)
        if data is None or not data.get("tokenizer") or not checkpoint.get("net_config"):
            raise SeqlabError(f"{path} is not a seqlab classification checkpoint (no labels, tokenizer or "
                              "net config); a translator's checkpoint goes to pipelines/translate.py, a "
                              "language model's run to pipelines/generate.py run_id=<id>")
        net = build_net(checkpoint["net_config"])
        net.load_state_dict(net_state_dict(checkpoint))
        return cls(net, Tokenizer.from_str(data["tokenizer"]), data["label_names"])

    def save_bundle(self, folder: str | Path, card: dict | None = None) -> Path:
        """`card`: what the model card records (dataset, license, metrics, command; tasks.model_card)."""
        folder = Path(folder)
        self.net.save_pretrained(folder, model_card_kwargs=card)
        self.tokenizer.save(str(folder / "tokenizer.json"))
        (folder / "labels.json").write_text(json.dumps(self.labels))
        return folder

    @torch.no_grad()
    def predict(self, texts: list[str], batch_size: int = 256) -> list[dict]:
        """One {text, label, probability} per text: the most likely label and its softmax probability."""
        results = []
        for start in range(0, len(texts), batch_size):
            chunk = [str(t) for t in texts[start : start + batch_size]]
            ids, mask = pad_sequences(encode_texts(self.tokenizer, chunk), self.pad_id)
            probs = self.net(ids, mask).float().softmax(-1)
            confidence, predicted = probs.max(-1)
            results += [
                {"text": t, "label": self.labels[p], "probability": round(c, 4)}
                for t, p, c in zip(chunk, predicted.tolist(), confidence.tolist(), strict=False)
            ]
        return results
