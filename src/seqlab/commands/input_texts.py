"""The texts a prediction command reads: `text=` (one), `texts=` (a list; a plain string counts as one text)
and `file=` (a UTF-8 file, one text per line), in that order."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seqlab.data.readers import read_utf8_lines
from seqlab.errors import SeqlabError


def input_texts(cfg: DictConfig, doing: str, keep_empty_lines: bool = False) -> list[str]:
    """Every text given; keep_empty_lines keeps a file's empty lines (one output line per input line).
    `doing` names the command's work in the message when there is none: 'nothing to <doing>'."""
    texts = [str(cfg.text)] if cfg.text is not None else []
    if cfg.texts is not None:
        texts += [str(t) for t in cfg.texts] if OmegaConf.is_list(cfg.texts) else [str(cfg.texts)]
    if cfg.file:
        lines = read_utf8_lines(Path(str(cfg.file)).expanduser())
        texts += lines if keep_empty_lines else [line for line in lines if line.strip()]
    if not any(text.strip() for text in texts):
        raise SeqlabError(f'nothing to {doing}: pass text="...", texts=\'["...", "..."]\' or file=<path>')
    return texts
