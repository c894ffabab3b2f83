"""The transfer report: the families of conf/family/ (each its experiment preset, in the report's MLflow experiment and
budget), `make compare` setting them side by side (mean and spread per family, the pretraining apart, a plot of each
family's spread), and `make transfer-report` end to end on tiny data: pretraining once, every family over two seeds."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

import seqlab.reports.plots as plots
from seqlab.commands.train import train
from seqlab.config.checks import check_required
from seqlab.errors import SeqlabError
from seqlab.reports.compare import compare
from seqlab.reports.group_summary import RUN_SECONDS, TRAIN_SECONDS
from seqlab.reports.transfer_report import (
    FROM_PRETRAINING,
    TransferReportOptions,
    families,
    transfer_report_from_options,
)
from seqlab.tracking.lineage import FINETUNED_BY, PRETRAINED_FROM

from conftest import CONF

PRESETS = {"lstm": "sentiment_lstm", "cnn": "sentiment_cnn", "transformer": "sentiment_transformer",
           "minilm": "sentiment_finetune", "minilm_probe": "sentiment_finetune", "bert_scratch": "sentiment_finetune",
           "bert_pretrained": "sentiment_finetune"}
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
# what each family changes in its preset's model config
CHANGES = {
    "minilm_probe": {"net.freeze": ["encoder"], "optimizer.lr": 0.001},
    "bert_scratch": {"net.pretrained": "mlflow:P", "net.from_scratch": True, "optimizer.lr": 0.0001},
    "bert_pretrained": {"net.pretrained": "mlflow:P", "optimizer.lr": 0.0001},
}
COLUMNS = ("val/acc", "test/acc", TRAIN_SECONDS, RUN_SECONDS)


def composed(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    GlobalHydra.instance().clear()
    return cfg


@pytest.mark.parametrize("family", sorted(PRESETS))
def test_each_family_is_its_preset_in_the_reports_experiment_and_budget(family):
    cfg = composed(["experiment=transfer_report", f"family={family}", "transfer.pretraining_run=P"])
    base = composed([f"experiment={PRESETS[family]}"])
    model = OmegaConf.to_container(cfg.model)
    if "pretrained" in model["net"]:  # resolved: transfer.encoder, or the pretraining run
        model["net"]["pretrained"] = cfg.model.net.pretrained
    expected = base.model.copy()
    for key, value in CHANGES.get(family, {}).items():
        OmegaConf.update(expected, key, value)
    assert model == OmegaConf.to_container(expected)
    trainer, base_trainer = OmegaConf.to_container(cfg.trainer), OmegaConf.to_container(base.trainer)
    assert trainer.pop("max_time") == "00:00:04:00" and base_trainer.pop("max_time") is None  # the report's budget
    assert trainer == base_trainer  # on the preset's epochs and settings
    assert OmegaConf.to_container(cfg.dataset) == OmegaConf.to_container(base.dataset)
    assert cfg.logger.experiment_name == "sst2-transfer"
    if family.startswith("minilm"):
        assert cfg.model.net.pretrained == MINILM
    # the families that read the pretraining run are those the report pretrains for
    assert (cfg.model.net.get("pretrained") == "mlflow:P") == (family in FROM_PRETRAINING)


def test_the_families_and_the_pretraining_preset():
    assert families() == sorted(PRESETS)
    pretrain = composed(["experiment=transfer_pretrain"])
    base = composed(["experiment=bert_pretrain", "dataset=sst2_text"])
    assert pretrain.trainer.max_time == "00:00:15:00" and base.trainer.max_time is None
    pretrain.trainer.max_time = None
    assert OmegaConf.to_container(pretrain) == OmegaConf.to_container(base)


def test_a_family_that_needs_the_pretraining_run_names_it_before_any_run(compose_cfg, sst2_dir, tracking_uri,
                                                                          tmp_path):
    cfg = compose_cfg(["experiment=transfer_report", "family=bert_pretrained", "debug=smoke"])
    with pytest.raises(SeqlabError, match=r"\.pretrained needs transfer\.pretraining_run, which is not set"):
        train(cfg)
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not client.search_runs(experiments, f"tags.run_dir LIKE '{tmp_path}/%'")  # nothing recorded
    check_required(compose_cfg(["experiment=transfer_report", "family=lstm", "debug=smoke"]))  # never reads it


@pytest.mark.parametrize(("options", "message"), [
    ({"families": ["lstm", "gru"]}, r"no family gru; the families \(conf/family/\): bert_pretrained, bert_"),
    ({"families": []}, r"families=\[\] trains nothing"),
    ({"seeds": []}, r"seeds=\[\] trains nothing"),
])
def test_a_report_that_would_train_nothing_known_stops_before_any_run(options, message, monkeypatch):
    monkeypatch.setattr("seqlab.reports.transfer_report.run_train", lambda *args: pytest.fail("a run started"))
    with pytest.raises(SeqlabError, match=message):
        transfer_report_from_options(TransferReportOptions(**options))


# -- make compare on family-tagged runs written straight into a store --------------------------------------------
# (family, seed, status, val/acc history, test/acc, train/epoch_sec history, wall seconds)
RUNS = [
    ("lstm", 1, "FINISHED", [0.70, 0.74], 0.72, [10.0, 11.0], 30.0),
    ("lstm", 2, "FINISHED", [0.78, 0.76], 0.75, [12.0, 12.5], 33.0),
    ("lstm", 3, "FINISHED", [0.71, 0.76], 0.70, [9.0, 10.0], 28.0),
    ("lstm", 4, "FAILED", [0.99, 0.99], 0.99, [1.0], 5.0),  # better than any, and left out
    ("bert_pretrained", 1, "FINISHED", [0.80, 0.83], 0.81, [40.0], 61.0),
    ("bert_pretrained", 2, "FINISHED", [0.82, 0.81], 0.84, [41.0], 64.0),
    ("bert_scratch", 1, "FINISHED", [0.60, 0.66], 0.64, [39.0], 58.0),
]
PRETRAINING = {"wall": 700.0, "epoch_sec": [300.0, 320.0]}


@pytest.fixture
def transfer_store(tracking_uri, tmp_path) -> tuple[str, dict, str]:
    """RUNS in an experiment of their own, bert_pretrained's tagged with a pretraining run in another one:
    (experiment, {(family, seed): run_id}, the pretraining run's id)."""
    client = MlflowClient(tracking_uri)
    start = 1_800_000_000_000
    experiment = f"{tmp_path.name}-transfer"
    source = client.create_run(client.create_experiment(f"{tmp_path.name}-masked_language_model"), start_time=start,
                               run_name="bert_mlm experiment=transfer_pretrain").info.run_id
    for step, seconds in enumerate(PRETRAINING["epoch_sec"]):
        client.log_metric(source, "train/epoch_sec", seconds, step=step)
    client.set_terminated(source, "FINISHED", end_time=start + int(PRETRAINING["wall"] * 1000))
    experiment_id = client.create_experiment(experiment)
    ids = {}
    for family, seed, status, val, test, epochs, wall in RUNS:
        model = "lstm" if family == "lstm" else "pretrained_classifier"
        tags = {"family": family, "model": model, "overrides": f"family={family} seed={seed}"}
        if family == "bert_pretrained":
            tags[PRETRAINED_FROM] = source
        run_id = client.create_run(experiment_id, start_time=start, tags=tags, run_name=family).info.run_id
        client.log_param(run_id, "optimized_metric", "val/acc")
        for step, acc in enumerate(val):
            client.log_metric(run_id, "val/acc", acc, step=step)
        for step, seconds in enumerate(epochs):
            client.log_metric(run_id, "train/epoch_sec", seconds, step=step)
        client.log_metric(run_id, "objective", max(val))
        client.log_metric(run_id, "test/acc", test)
        client.set_terminated(run_id, status, end_time=start + int(wall * 1000))
        ids[(family, seed)] = run_id
    return experiment, ids, source


def spy_spread(monkeypatch) -> dict:
    seen = {}
    real = plots.spread_png

    def record(panels, path, group):
        seen.update(panels=panels, group=group)
        return real(panels, path, group)

    monkeypatch.setattr(plots, "spread_png", record)
    return seen


def expected_groups(rows) -> dict:
    """{family: {column: (mean, sd)}} of the FINISHED rows, sd NaN for one run."""
    columns = {}
    for family, _, status, val, test, epochs, wall in rows:
        if status == "FINISHED":
            for column, value in zip(COLUMNS, (max(val), test, sum(epochs), wall), strict=True):
                columns.setdefault(family, {}).setdefault(column, []).append(value)
    return {family: {c: (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else math.nan)
                     for c, v in values.items()} for family, values in columns.items()}


def cell(mean: float, sd: float, digits: int) -> str:
    return f"{mean:.{digits}f}" + ("" if math.isnan(sd) else f" ± {sd:.{digits}f}")


def assert_groups_match(result: dict, expected: dict) -> None:
    """The compare result's and report's per-family figures are `expected`'s: {family: {column: (mean, sd)}}."""
    assert result["group_by"] == "family" and list(result["groups"]) == sorted(expected)
    report = result["report"].read_text()
    for family, columns in expected.items():
        group = result["groups"][family]
        for column, (mean, sd) in columns.items():
            assert group[column]["mean"] == pytest.approx(mean, abs=1e-9), (family, column)
            assert group[column]["sd"] == pytest.approx(sd, abs=1e-9, nan_ok=True), (family, column)
        cells = [cell(*columns[c], 0 if "seconds" in c else 4) for c in COLUMNS]
        assert f"| {family} | {group['runs']} | {' | '.join(cells)} |" in report


def test_compare_sets_families_side_by_side_and_shows_their_pretraining_apart(transfer_store, tracking_uri, tmp_path,
                                                                            monkeypatch):
    experiment, ids, source = transfer_store
    seen = spy_spread(monkeypatch)
    result = compare(tracking_uri, experiment, tmp_path / "reports")
    expected = expected_groups(RUNS)
    assert expected["lstm"]["val/acc"] == pytest.approx((0.76, 0.02))  # the runs' best, the FAILED one left out
    assert_groups_match(result, expected)
    assert result["groups"]["lstm"]["runs"] == 3 and math.isnan(result["groups"]["bert_scratch"]["val/acc"]["sd"])
    assert "| bert_scratch | 1 | 0.6600 | 0.6400 | 39 | 58 |" in result["report"].read_text()

    # the pretraining: not a row of the table, its time apart, named with what started from it
    assert source not in result["ranked"]
    [pretraining] = result["pretraining"]
    assert pretraining["run_id"] == source and pretraining["experiment"] == f"{tmp_path.name}-masked_language_model"
    assert pretraining["seconds"] == PRETRAINING["wall"] and pretraining["train_seconds"] == 620.0
    assert pretraining["used_by"] == {"bert_pretrained": 2}  # bert_scratch took no weights from it
    report = result["report"].read_text()
    assert (f"- run `{source}` (bert_mlm experiment=transfer_pretrain, experiment {pretraining['experiment']}, "
            "FINISHED): 700 s (620 s training), the start of bert_pretrained (2 runs)") in report
    assert report.index("## Per family") < report.index("Pretraining, apart") < report.index("## Runs")

    # the plot: the seeds of each family, dev and test, one group per family
    path = tmp_path / "reports" / f"compare-{experiment}-families.png"
    assert path in result["plots"] and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen["group"] == "family" and set(seen["panels"]) == {"val/acc", "test/acc"}
    finished = [r for r in RUNS if r[2] == "FINISHED"]
    for metric, pick in (("val/acc", lambda r: max(r[3])), ("test/acc", lambda r: r[4])):
        drawn = {family: sorted(values) for family, values in seen["panels"][metric].items()}
        assert drawn == {f: sorted(pick(r) for r in finished if r[0] == f) for f in expected}


def test_runs_without_families_are_set_side_by_side_per_model(transfer_store, tracking_uri, tmp_path):
    experiment, ids, _ = transfer_store
    client = MlflowClient(tracking_uri)
    for run_id in ids.values():
        client.delete_tag(run_id, "family")
    result = compare(tracking_uri, experiment, tmp_path / "reports")
    assert result["group_by"] == "model" and set(result["groups"]) == {"lstm", "pretrained_classifier"}
    assert result["groups"]["pretrained_classifier"]["runs"] == 3
    assert result["pretraining"][0]["used_by"] == {"pretrained_classifier": 2}
    assert (tmp_path / "reports" / f"compare-{experiment}-models.png").is_file()


# -- make transfer-report, end to end ----------------------------------------------------------------------------
TINY_PRETRAINING = ["debug=smoke", "dataset.batch_size=8", "dataset.max_train_samples=64",
                    "dataset.max_eval_samples=32", "model.net.hidden_size=32", "model.net.num_hidden_layers=2",
                    "model.net.num_attention_heads=2", "model.net.intermediate_size=64",
                    "dataset.tokenizer.vocab_size=100", "dataset.block_size=32", "model.scheduler.num_warmup_steps=2"]


def test_transfer_report_pretrains_once_trains_every_family_per_seed_and_compares_them(
        sst2_dir, tiny_bert, tracking_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny models: threads only cost
    seen = spy_spread(monkeypatch)
    root = f"paths.root_dir={tmp_path}"
    options = TransferReportOptions(
        seeds=[1, 2], pretrain_overrides=[root, *TINY_PRETRAINING], tracking_uri=tracking_uri,
        overrides=[root, "debug=smoke", f"transfer.encoder={tiny_bert}", "++model.attention_sentences=0"],
        output_dir=str(tmp_path / "reports"))
    result = transfer_report_from_options(options)

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("sst2-transfer")
    assert result["experiment"] == "sst2-transfer"
    runs = client.search_runs([experiment.experiment_id], f"tags.sweep_id = '{result['sweep']}'")
    trials = [r for r in runs if r.data.tags.get("sweep") != "parent"]
    assert all(r.info.status == "FINISHED" for r in trials)
    assert sorted((r.data.tags["family"], r.data.params["seed"]) for r in trials) == sorted(
        (family, seed) for family in PRESETS for seed in ("1", "2"))
    assert sorted(result["ranked"]) == sorted(r.info.run_id for r in trials)

    # the pretraining: one run of its own experiment, the weights of bert_pretrained, the sizes and tokenizer of both
    source = client.get_run(result["pretraining_run"])
    assert source.info.status == "FINISHED" and source.info.experiment_id != experiment.experiment_id
    assert client.get_experiment(source.info.experiment_id).name == "sst2_text-masked_language_model"
    by_family = {f: [r for r in trials if r.data.tags["family"] == f] for f in PRESETS}
    pretrained_ids = sorted(r.info.run_id for r in by_family["bert_pretrained"])
    assert all(r.data.tags[PRETRAINED_FROM] == source.info.run_id for r in by_family["bert_pretrained"])
    assert sorted(client.get_run(source.info.run_id).data.tags[FINETUNED_BY].split(",")) == pretrained_ids
    assert not any(PRETRAINED_FROM in r.data.tags for f in PRESETS if f != "bert_pretrained" for r in by_family[f])
    saved = Path(source.data.tags["run_dir"]) / "model"
    for run in by_family["bert_scratch"] + by_family["bert_pretrained"]:
        assert run.data.params["model.net.pretrained"] == f"mlflow:{source.info.run_id}"
        model = Path(run.data.tags["run_dir"]) / "model"
        theirs, ours = (json.loads((f / "config.json").read_text()) for f in (saved, model))
        sizes = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
        assert all(theirs[k] == ours[k] for k in sizes)
        assert json.loads((model / "tokenizer.json").read_text())["model"]["vocab"] == \
            json.loads((saved / "tokenizer.json").read_text())["model"]["vocab"]
    assert {r.data.params["model.net.from_scratch"] for r in by_family["bert_scratch"]} == {"True"}

    # compare's table is what the runs logged; the pretraining's time is shown apart
    expected = {}
    for family, family_runs in by_family.items():
        values = {c: [] for c in COLUMNS}
        for run in family_runs:
            history = client.get_metric_history(run.info.run_id, "val/acc")
            epochs = client.get_metric_history(run.info.run_id, "train/epoch_sec")
            values["val/acc"].append(max(m.value for m in history))
            values["test/acc"].append(run.data.metrics["test/acc"])
            values[TRAIN_SECONDS].append(sum(m.value for m in epochs))
            values[RUN_SECONDS].append((run.info.end_time - run.info.start_time) / 1000)
        expected[family] = {c: (statistics.mean(v), statistics.stdev(v)) for c, v in values.items()}
    assert_groups_match(result, expected)
    [pretraining] = result["pretraining"]
    assert pretraining["run_id"] == source.info.run_id and pretraining["used_by"] == {"bert_pretrained": 2}
    assert pretraining["seconds"] == (source.info.end_time - source.info.start_time) / 1000
    assert f"- run `{source.info.run_id}` (" in result["report"].read_text()
    plot = tmp_path / "reports" / f"compare-sst2-transfer-{result['sweep']}-families.png"
    assert plot in result["plots"] and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {f: len(v) for f, v in seen["panels"]["val/acc"].items()} == dict.fromkeys(sorted(PRESETS), 2)
