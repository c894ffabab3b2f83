"""Small play-like corpora and tiny language models for the text-generation tests."""

from __future__ import annotations

import random
from pathlib import Path

SPEAKERS = ["ROMEO", "JULIET", "NURSE", "First Citizen", "MERCUTIO"]
WORDS = ["love", "night", "sweet", "thee", "thou", "death", "fair", "heaven", "speak", "good", "my", "lord",
         "the", "and", "is", "not", "what", "with", "light", "day", "come", "go", "name", "rose"]


def play_text(n_turns: int = 300, seed: int = 0) -> str:
    """Speaker lines ending in ':' then a speech, blank lines between turns, as in Tiny Shakespeare."""
    rng = random.Random(seed)
    turns = []
    for _ in range(n_turns):
        lines = [" ".join(rng.choices(WORDS, k=rng.randint(3, 9))).capitalize() + rng.choice([".", ",", "!", "?"])
                 for _ in range(rng.randint(1, 3))]
        turns.append(f"{rng.choice(SPEAKERS)}:\n" + "\n".join(lines) + "\n")
    return "\n".join(turns)


def write_tinyshakespeare_layout(folder: Path, n_turns: int = 300) -> Path:
    """data/tinyshakespeare/input.txt, one plain ASCII file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.txt").write_text(play_text(n_turns), encoding="utf-8")
    return folder


def tiny_rnn(vocab_size: int, seed: int = 0, cell: str = "lstm"):
    import torch

    from seqlab.models.rnn_lm import RNNLanguageModel

    torch.manual_seed(seed)
    net = RNNLanguageModel(vocab_size, cell, embed_dim=16, hidden_size=32, num_layers=1, dropout=0.0,
                           tie_weights=False)
    return net.eval()


def tiny_gpt2(vocab_size: int, seed: int = 0, n_positions: int = 128):
    import torch

    from seqlab.models.gpt2_lm import GPT2LanguageModel

    torch.manual_seed(seed)
    return GPT2LanguageModel(vocab_size, n_layer=1, n_head=2, n_embd=32, n_positions=n_positions, dropout=0.0).eval()


def char_tokenizer(text: str | None = None):
    from seqlab.data.text_tokenizer import TextTokenizerOptions, train_text_tokenizer

    return train_text_tokenizer([text or play_text(50)], TextTokenizerOptions(kind="char"))
