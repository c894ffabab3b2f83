"""The outputs of a finished translation run: reports (test translations, a sample, attention heatmaps,
what reading the data left out) and the model bundle."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from seqlab.inference.translator import Translation, Translator
from seqlab.reports.plots import attention_heatmap_png
from seqlab.tasks.model_card import model_card
from seqlab.tasks.outputs import ModelKind, RunOutputs


def write_translation_outputs(task, datamodule, run_dir: Path) -> RunOutputs:
    """Reports into <run_dir>/reports: the test translations, a readable sample of them, attention heatmaps of
    a few fixed val sentences (attention models), what reading the data left out or cut; the model bundle
    (the net saved the Hugging Face way with its model card, tokenizers, decoding) into <run_dir>/model."""
    folder, bundle = run_dir / "reports", run_dir / "model"
    folder.mkdir(parents=True, exist_ok=True)
    translator = Translator(task.net.cpu(), datamodule.src_tokenizer, datamodule.tgt_tokenizer,
                            {**task.decoding_options(), "max_length": datamodule.max_length})
    hypotheses = task.hypotheses["test"]
    if hypotheses:
        rows = sorted(hypotheses)
        texts = datamodule.detokenize([hypotheses[i] for i in rows])
        sources, references = datamodule.sources("test"), datamodule.references("test")
        triples = [(sources[i], references[i], text) for i, text in zip(rows, texts, strict=True)]
        write_translations(triples, folder / "test_translations.csv", folder / "samples.txt",
                           task.sample_size)
    if translator.has_attention and task.heatmap_sentences > 0:
        sources = datamodule.sources("val")[: task.heatmap_sentences]
        write_heatmaps(translator.translate(sources), folder / "attention")
    (folder / "data.json").write_text(json.dumps(datamodule.report, indent=2))
    translator.save_bundle(bundle, model_card(task, datamodule))
    return RunOutputs(reports=folder, model_dir=bundle, model_kind=ModelKind.TRANSLATOR,
                      examples=datamodule.sources("test"))


def write_translations(triples: list[tuple[str, str, str]], table: Path, sample: Path,
                       sample_size: int) -> None:
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "reference", "hypothesis"])
        writer.writerows(triples)
    blocks = [f"source:     {s}\nreference:  {r}\nhypothesis: {h}\n" for s, r, h in triples[:sample_size]]
    sample.write_text("\n".join(blocks), encoding="utf-8")


def write_heatmaps(translations: list[Translation], folder: Path) -> list[Path]:
    """One PNG per translation with attention (01.png for the first text, 02.png for the second, ...; none for
    a blank one): its attention over the source tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, translation in enumerate(translations, start=1):
        if translation.attention is None:
            continue
        path = folder / f"{number:02d}.png"
        attention_heatmap_png(translation.attention, translation.source_tokens, translation.target_tokens,
                              path, f"{translation.source}  ->  {translation.text}")
        paths.append(path)
    return paths
