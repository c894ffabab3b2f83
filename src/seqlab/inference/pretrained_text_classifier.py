"""A fine-tuned transformers classifier that labels raw texts."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from seqlab.errors import SeqlabError
from seqlab.inference.checkpoint_reader import net_state_dict
from seqlab.inference.net_builder import build_net
from seqlab.pretrained.transformers_models import load_tokenizer


class PretrainedTextClassifier:
    """Saved the Hugging Face way: save_pretrained of the model (config.json with its labels,
    model.safetensors) and of its tokenizer in one folder, which from_pretrained, seqlab's `mlflow:<run_id>`
    and this class load back."""

    def __init__(self, model, tokenizer):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = [model.config.id2label[i] for i in sorted(model.config.id2label)]

    @classmethod
    def from_folder(cls, folder: str | Path) -> PretrainedTextClassifier:
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise SeqlabError(f"{folder} holds no config.json: not a fine-tuned transformers classifier")
        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
        return cls(model, AutoTokenizer.from_pretrained(str(folder)))

    @classmethod
    def from_checkpoint(cls, checkpoint: dict, data: dict) -> PretrainedTextClassifier:
        """From a Lightning checkpoint of model=pretrained_classifier (`data`: its datamodule's state): the
        net rebuilt from model.net.pretrained with the checkpoint's weights, and that model's own
        tokenizer."""
        config = checkpoint["net_config"]
        net = build_net(config)
        net.load_state_dict(net_state_dict(checkpoint))
        tokenizer = load_tokenizer(config["pretrained"], "model.net.pretrained", config.get("tracking_uri"))
        tokenizer.model_max_length = data.get("max_length") or tokenizer.model_max_length
        return cls(net.model, tokenizer)

    def save_pretrained(self, folder: str | Path) -> Path:
        folder = Path(folder)
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        return folder

    @torch.no_grad()
    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict]:
        """One {text, label, probability} per text: the most likely label and its softmax probability; texts
        longer than the tokenizer's model_max_length (the length the model was fine-tuned on) are cut."""
        results = []
        for start in range(0, len(texts), batch_size):
            chunk = [str(t) for t in texts[start : start + batch_size]]
            batch = self.tokenizer(chunk, padding=True, truncation=True, return_tensors="pt")
            batch = {k: v.to(self.model.device) for k, v in batch.items()}
            probs = self.model(**batch).logits.float().softmax(-1)
            confidence, predicted = probs.max(-1)
            results += [
                {"text": t, "label": self.labels[p], "probability": round(c, 4)}
                for t, p, c in zip(chunk, predicted.tolist(), confidence.tolist(), strict=True)
            ]
        return results

    def attention_maps(self, texts: list[str], folder: str | Path) -> list[Path]:
        """Per-layer PNGs of every head's attention over each text, in `folder`."""
        from seqlab.reports.attention_maps import write_attention_maps  # matplotlib: only these plots need it

        return write_attention_maps(self.model, self.tokenizer, list(texts), Path(folder))
