"""NER by fine-tuning a Transformer (experiment=ner_finetune) on a tiny BERT saved with save_pretrained: tags on
first sub-word pieces, entities with character offsets, the spaCy scorer's figures, `make ner` on such a run,
fine-tuning a run's model again, and the errors a user can cause."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from ner_commands import make_ner, marks, page_of, parse
from seqlab.commands.train import train
from seqlab.errors import SeqlabError

from conftest import compose_train, run_under
from logged_models import check_logged_model
from ner_data import conll_text, tagged_sentences, write_wnut17_layout
from tiny_bert import save_tiny_bert, words_and_letters

# whole words of the tiny vocabulary; names are not in it and fall into letter pieces
VOCAB = ["i", "met", "in", "yesterday", "works", "for", "now", "lol", "just", "moved", "to", "opened", "a", "shop",
         "today", "paris", "new", "york", "tokyo", "google", "and"]
TAGS = ["O", "B-corporation", "I-corporation", "B-location", "I-location", "B-person", "I-person"]
SMOKE = ["experiment=ner_finetune", "debug=smoke", "model.optimizer.lr=0.003", "model.scheduler.num_warmup_steps=2",
         "trainer.max_epochs=3", "dataset.batch_size=8"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("bert") / "tiny-bert", words_and_letters(VOCAB))


@pytest.fixture(scope="module")
def tokenizer(bert):
    from seqlab.pretrained.transformers_models import load_tokenizer

    return load_tokenizer(str(bert))


def compose_run(compose_cfg, tmp_path, *overrides):
    return compose_cfg([*SMOKE, f"paths.data_dir={tmp_path / 'data'}", *overrides])


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tracking_uri, bert):
    """One smoke run of ner_finetune from the tiny BERT's folder: (MLflow run, its folder, the data folder)."""
    root = tmp_path_factory.mktemp("finetune")
    write_wnut17_layout(root / "data" / "wnut17")
    train(compose_train(root, [*SMOKE, f"model.net.pretrained={bert}"], tracking_uri, root / "run"))
    return run_under(tracking_uri, root), root / "run", root / "data"


def test_only_the_first_piece_of_a_word_carries_its_tag(tokenizer):
    from seqlab.data.word_pieces import IGNORE, encode_words

    words = ["Alice", "met", "Bob", "in", "Paris"]
    assert tokenizer.tokenize(" ".join(words)) == ["a", "##l", "##i", "##c", "##e", "met", "b", "##o", "##b", "in",
                                                   "paris"]
    [encoded] = encode_words(tokenizer, [words], 64, [[5, 0, 5, 0, 3]])
    assert encoded.labels == [IGNORE, 5, IGNORE, IGNORE, IGNORE, IGNORE, 0, 5, IGNORE, IGNORE, 0, 3, IGNORE]
    assert encoded.positions == [1, 6, 7, 10, 11] and encoded.first_pieces == [0, 1, 2, 3, 4]
    assert not encoded.cut


def test_a_sentence_longer_than_the_positions_is_cut_and_its_remaining_words_are_o(tokenizer):
    from seqlab.data.word_pieces import encode_words, word_tags

    [encoded] = encode_words(tokenizer, [["Alice", "met", "Paris", "today"]], 8, [[5, 0, 3, 0]])
    assert encoded.cut and encoded.first_pieces == [0, 1] and len(encoded.input_ids) == 8
    tags = word_tags(encoded.first_pieces, [5, 0], 4, dict(enumerate(TAGS)))
    assert tags == ["B-person", "O", "O", "O"]


def test_entities_of_repeated_words_keep_their_own_offsets():
    import spacy

    from seqlab.ner.display import entity_rows
    from seqlab.ner.word_tags import iob_tags, tagged_doc

    doc = spacy.blank("en")("Paris, not Paris: New York beats Paris")
    tags = ["B-location", "O", "O", "B-location", "O", "B-location", "I-location", "O", "I-location"]
    tagged = tagged_doc(doc, tags)
    assert entity_rows(tagged) == [("Paris", "location", 0, 5), ("Paris", "location", 11, 16),
                                   ("New York", "location", 18, 26), ("Paris", "location", 33, 38)]
    assert iob_tags(tagged) == [*tags[:-1], "B-location"]  # a stray I- opens an entity


def test_a_finetuning_run_logs_the_spacy_scores_of_its_test_predictions(finished, tracking_uri):
    run, run_dir, _ = finished
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert {"val/ents_f", "test/ents_p", "test/ents_r", "test/ents_f", "test/ents_per_type/person/f"} <= set(metrics)
    rows = [json.loads(line) for line in (run_dir / "reports" / "test_predictions.jsonl").read_text().splitlines()]
    gold = {(i, *map(tuple, [e])) for i, r in enumerate(rows) for e in map(tuple, r["gold"])}
    predicted = {(i, *map(tuple, [e])) for i, r in enumerate(rows) for e in map(tuple, r["predicted"])}
    hits = len(gold & predicted)
    precision, recall = hits / max(1, len(predicted)), hits / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    assert metrics["test/ents_f"] == pytest.approx(f1, abs=1e-6)
    assert metrics["test/ents_p"] == pytest.approx(precision, abs=1e-6)
    config = json.loads((run_dir / "model" / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(TAGS))] == TAGS


def own_predictions(folder, text: str) -> list[tuple[str, str, int, int]]:
    """Entities from the logged model's own logits, read without seqlab: each word's first piece, IOB2 by hand."""
    import spacy
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model, tokenizer = AutoModelForTokenClassification.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    words = list(spacy.blank("en")(text))
    batch = tokenizer([w.text for w in words], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**batch).logits[0].argmax(-1).tolist()
    ids, tags = batch.word_ids(0), []
    for position, word in enumerate(ids):
        if word is not None and (position == 0 or ids[position - 1] != word):
            tags.append(model.config.id2label[predicted[position]])
    entities = []
    for word, tag in zip(words, tags, strict=True):
        if tag.startswith("I-") and entities and entities[-1][1] == tag[2:] and entities[-1][4] == word.i - 1:
            entities[-1][3], entities[-1][4] = word.idx + len(word.text), word.i
        elif tag != "O":
            entities.append([word.text, tag[2:], word.idx, word.idx + len(word.text), word.i])
    return [(text[start:end], label, start, end) for _, label, start, end, _ in entities]


def test_make_ner_on_a_finetuning_run_prints_the_models_own_entities(finished, tracking_uri, tmp_path):
    run, run_dir, _ = finished
    text = "lol Alice met Alice in Paris and Paris . Google opened a shop in New York today"
    result = make_ner(f'run_id={run.info.run_id} text="{text}"', tracking_uri, tmp_path)
    assert result.returncode == 0, result.stderr
    entities = parse(result.stdout)
    assert entities == own_predictions(run_dir / "model", text)
    assert entities and all(text[start:end] == words for words, _, start, end in entities)
    assert marks(page_of(result.stdout)) == [(words, label) for words, label, _, _ in entities]


def test_the_logged_model_answers_one_row_per_entity_as_the_model_tags(finished, tracking_uri):
    run, run_dir, _ = finished
    texts = ["lol Alice met Alice in Paris and Paris .", "Google opened a shop in New York today"]
    answer = check_logged_model(tracking_uri, run.info.run_id, texts,
                                {"torch", "tokenizers", "safetensors", "transformers", "spacy"})
    expected = [[index, *entity] for index, text in enumerate(texts) for entity in own_predictions(run_dir / "model",
                                                                                                   text)]
    assert answer.values.tolist() == expected


def test_a_text_longer_than_the_positions_is_cut_and_reported_once(finished, capsys):
    from seqlab.inference.entity_tagger import EntityTagger

    _, run_dir, _ = finished
    tagger = EntityTagger.from_folder(run_dir / "model")
    docs = tagger.pipe(["Alice met Bob in Paris " * 20, "Bob in Paris"])
    err = capsys.readouterr().err
    assert err.count("warning: 1 of 2 texts are longer than the model's 64 positions") == 1, err
    assert not [e for e in docs[0].ents if e.start >= 62]  # cut: no entity past the pieces that fit


def test_a_finetuning_run_fine_tunes_again_from_its_run_id(finished, compose_cfg, tracking_uri, tmp_path,
                                                            monkeypatch):
    run, _, _ = finished
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # where mlflow:<run_id> is looked up
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=40, n_eval=8)
    train(compose_run(compose_cfg, tmp_path, f"model.net.pretrained=mlflow:{run.info.run_id}"))
    again = run_under(tracking_uri, tmp_path)
    assert again.info.status == "FINISHED" and "test/ents_f" in again.data.metrics


def test_a_run_trained_on_other_labels_is_refused(finished, compose_cfg, tracking_uri, tmp_path, monkeypatch):
    run, _, _ = finished
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    folder = tmp_path / "data" / "ner_files"
    folder.mkdir(parents=True)
    sentences = [[(w, t.replace("corporation", "person").replace("location", "person")) for w, t in s]
                 for s in tagged_sentences(30, 0)]
    for name in ("train.conll", "dev.conll"):
        (folder / name).write_text(conll_text(sentences), encoding="utf-8")
    with pytest.raises(SeqlabError, match=r"was trained on the labels \['O', 'B-corporation'.* and the data has "
                                          r"\['O', 'B-person', 'I-person'\]"):
        train(compose_run(compose_cfg, tmp_path, "dataset=ner_files", f"model.net.pretrained=mlflow:{run.info.run_id}"))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_a_run_whose_model_is_no_token_classifier_is_refused(bert, compose_cfg, tracking_uri, tmp_path, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    folder = tmp_path / "classifier"
    AutoModelForSequenceClassification.from_pretrained(str(bert), num_labels=2).save_pretrained(folder)
    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment(f"other-{tmp_path.name}", (tmp_path / "artifacts").as_uri())
    other = client.create_run(experiment).info.run_id
    client.log_artifacts(other, str(folder), "model")
    client.set_terminated(other)
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=20, n_eval=4)
    with pytest.raises(SeqlabError, match=rf"mlflow:{other}: that run's model is a BertForSequenceClassification, "
                                          "not a token classifier"):
        train(compose_run(compose_cfg, tmp_path, f"model.net.pretrained=mlflow:{other}"))
    assert run_under(tracking_uri, tmp_path).info.status == "FAILED"


def test_a_pretrained_name_that_is_nothing_here_is_refused(compose_cfg, tracking_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=20, n_eval=4)
    with pytest.raises(SeqlabError, match="cannot load pretrained 'nobody/no-such-model'.*hub cannot be reached"):
        train(compose_run(compose_cfg, tmp_path, "model.net.pretrained=nobody/no-such-model"))
    with pytest.raises(SeqlabError, match=f"model.net.pretrained={tmp_path}/absent: no such folder"):
        train(compose_run(compose_cfg, tmp_path, f"model.net.pretrained={tmp_path}/absent"))


def test_a_killed_finetuning_run_resumes_into_the_same_run(bert, compose_cfg, tracking_uri, tmp_path, monkeypatch):
    from seqlab.tasks.token_classification import TokenClassificationTask

    write_wnut17_layout(tmp_path / "data" / "wnut17", n_train=40, n_eval=8)  # 5 steps an epoch in batches of 8
    args = [f"model.net.pretrained={bert}", "trainer.max_epochs=2", "callbacks.early_stopping=null",
            "callbacks.periodic_checkpoint.every_n_train_steps=3"]
    step = TokenClassificationTask.training_step

    def killed_at_step_7(self, batch, batch_idx):
        if self.global_step == 7:  # in the second epoch, after the periodic checkpoint of step 6
            raise KeyboardInterrupt
        return step(self, batch, batch_idx)

    monkeypatch.setattr(TokenClassificationTask, "training_step", killed_at_step_7)
    with pytest.raises(SystemExit):
        train(compose_run(compose_cfg, tmp_path, *args))
    monkeypatch.undo()
    run_id = run_under(tracking_uri, tmp_path).info.run_id
    client = MlflowClient(tracking_uri)
    assert client.get_run(run_id).info.status == "KILLED"
    assert [m.step for m in client.get_metric_history(run_id, "val/ents_f")] == [4]
    train(compose_run(compose_cfg, tmp_path, *args, f"resume={run_id}"))
    assert client.get_run(run_id).info.status == "FINISHED"
    assert sorted(m.step for m in client.get_metric_history(run_id, "val/ents_f")) == [4, 9]
    assert sorted(m.step for m in client.get_metric_history(run_id, "train/loss")) == [4, 9]
    assert "test/ents_f" in client.get_run(run_id).data.metrics
