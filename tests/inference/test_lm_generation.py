"""Decoding with GPT-2 (transformers' generate) and the recurrent model (seqlab's loop over transformers' logits
processors): saving and reloading, determinism, lengths, n-gram bans, top-k, beams, and each bad input."""

from __future__ import annotations

import logging

import pytest
import torch
from omegaconf import OmegaConf

from seqlab.errors import SeqlabError
from seqlab.inference.generation_options import GenerationOptions
from seqlab.inference.text_generator import TextGenerator

from lm_corpus import char_tokenizer, tiny_gpt2, tiny_rnn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return char_tokenizer()


@pytest.fixture(params=["gpt2", "rnn"])
def generator(request, tokenizer):
    if request.param == "gpt2":
        return TextGenerator(tiny_gpt2(len(tokenizer)), tokenizer)
    net = tiny_rnn(len(tokenizer))
    return TextGenerator(net, tokenizer)


def ngrams(ids: list[int], n: int) -> list[tuple[int, ...]]:
    return [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]


def test_saved_gpt2_reloads_through_from_pretrained_and_samples_the_same_tokens(tokenizer, tmp_path):
    from transformers import AutoTokenizer, GPT2LMHeadModel

    original = TextGenerator(tiny_gpt2(len(tokenizer)), tokenizer)
    original.save_pretrained(tmp_path / "model")
    model = GPT2LMHeadModel.from_pretrained(tmp_path / "model")
    loaded_tokenizer = AutoTokenizer.from_pretrained(tmp_path / "model")
    assert model.config.eos_token_id == loaded_tokenizer.eos_token_id == tokenizer.eos_token_id
    assert loaded_tokenizer.decode(loaded_tokenizer.encode("ROMEO:\nSweet night!")) == "ROMEO:\nSweet night!"
    options = GenerationOptions(max_new_tokens=40, min_new_tokens=40, do_sample=True, temperature=1.5, seed=7)
    reloaded = TextGenerator(model, loaded_tokenizer)
    first = original.generate_ids("ROMEO:", options)
    assert reloaded.generate_ids("ROMEO:", options) == first
    assert TextGenerator.from_directory(tmp_path / "model").generate_ids("ROMEO:", options) == first
    assert original.generate_ids("ROMEO:", GenerationOptions(**{**options.as_dict(), "seed": 8})) != first


def test_saved_rnn_reloads_and_samples_the_same_tokens(tokenizer, tmp_path):
    net = tiny_rnn(len(tokenizer))
    original = TextGenerator(net, tokenizer)
    original.save_pretrained(tmp_path / "rnn")
    options = GenerationOptions(max_new_tokens=40, min_new_tokens=40, temperature=1.5, seed=3)
    assert TextGenerator.from_directory(tmp_path / "rnn").generate_ids("JULIET:", options) == original.generate_ids(
        "JULIET:", options
    )


def test_greedy_decoding_is_deterministic(generator):
    options = GenerationOptions(max_new_tokens=30, do_sample=False)
    first = generator.generate_ids("ROMEO:", options)
    torch.manual_seed(123)  # greedy takes nothing from the random state
    assert generator.generate_ids("ROMEO:", options) == first


@pytest.mark.parametrize("n", [1, 17])
def test_max_new_tokens_is_honoured(generator, n):
    prompt_ids, [exact] = generator.generate_ids("NURSE:", GenerationOptions(max_new_tokens=n, min_new_tokens=n,
                                                                             seed=0, temperature=2.0))
    assert len(exact) == n and prompt_ids == generator.tokenizer.encode("NURSE:")
    _, sequences = generator.generate_ids("NURSE:", GenerationOptions(max_new_tokens=n, num_return_sequences=3,
                                                                      seed=0, temperature=2.0))
    assert len(sequences) == 3 and all(1 <= len(s) <= n for s in sequences)
    assert all(len(s) == n or s[-1] == generator.tokenizer.eos_token_id for s in sequences)


@pytest.mark.parametrize("n", [2, 3])
def test_no_repeat_ngram_size_bans_every_repeat(generator, n):
    """No n-gram occurs twice in prompt and continuation together (what transformers' processor guarantees), the
    prompt's own n-grams included; the prompt has no repeat of its own, and the model repeats without the ban."""
    prompt = "ROMEO:"
    assert len(set(ngrams(generator.tokenizer.encode(prompt), n))) == len(ngrams(generator.tokenizer.encode(prompt), n))
    greedy = GenerationOptions(max_new_tokens=60, min_new_tokens=60, do_sample=False)
    prompt_ids, [free] = generator.generate_ids(prompt, greedy)
    assert len(set(ngrams(prompt_ids + free, n))) < len(ngrams(prompt_ids + free, n))  # repeats without the ban
    for options in (GenerationOptions(**{**greedy.as_dict(), "no_repeat_ngram_size": n}),
                    GenerationOptions(max_new_tokens=60, min_new_tokens=60, no_repeat_ngram_size=n, seed=1),
                    GenerationOptions(max_new_tokens=40, no_repeat_ngram_size=n, num_beams=3)):
        prompt_ids, [banned] = generator.generate_ids(prompt, options)
        grams = ngrams(prompt_ids + banned, n)
        assert len(banned) > n and len(set(grams)) == len(grams), options


def test_rnn_sampling_never_leaves_the_top_k(tokenizer):
    net = tiny_rnn(len(tokenizer), seed=1)
    generator = TextGenerator(net, tokenizer)
    k = 3
    prompt_ids, [new] = generator.generate_ids(
        "ROMEO:", GenerationOptions(max_new_tokens=120, min_new_tokens=120, top_k=k, temperature=50.0, seed=0)
    )
    logits = net(torch.tensor([prompt_ids + new]))[0]
    top = logits.topk(k, dim=-1).indices
    positions = range(len(prompt_ids) - 1, len(prompt_ids) + len(new) - 1)
    assert all(token in top[p].tolist() for p, token in zip(positions, new, strict=True))
    # the same flat distribution without top-k leaves the k most likely tokens most of the time
    _, [free] = generator.generate_ids("ROMEO:", GenerationOptions(max_new_tokens=120, min_new_tokens=120,
                                                                   temperature=50.0, seed=0))
    logits = net(torch.tensor([prompt_ids + free]))[0]
    top = logits.topk(k, dim=-1).indices
    assert sum(t not in top[p].tolist() for p, t in zip(positions, free, strict=True)) > 60


def test_rnn_beam_search_returns_ranked_distinct_sequences(tokenizer):
    net = tiny_rnn(len(tokenizer), seed=2)
    generator = TextGenerator(net, tokenizer)
    options = GenerationOptions(max_new_tokens=20, min_new_tokens=20, do_sample=False, num_beams=4,
                                num_return_sequences=3)
    prompt_ids, sequences = generator.generate_ids("ROMEO:", options)
    assert len(sequences) == 3 and len({tuple(s) for s in sequences}) == 3
    assert generator.generate_ids("ROMEO:", options) == (prompt_ids, sequences)

    @torch.no_grad()
    def logprob(new: list[int]) -> float:
        logits = net(torch.tensor([prompt_ids + new]))[0].log_softmax(-1)
        return sum(float(logits[len(prompt_ids) - 1 + i, t]) for i, t in enumerate(new))

    scores = [logprob(s) for s in sequences]
    assert scores == sorted(scores, reverse=True)
    _, [greedy] = generator.generate_ids("ROMEO:", GenerationOptions(max_new_tokens=20, min_new_tokens=20,
                                                                     do_sample=False))
    assert scores[0] >= logprob(greedy) - 1e-4


@pytest.fixture
def transformers_records(caplog):
    """transformers' log records, which its logger keeps to its own stderr handler unless told to propagate."""
    from transformers.utils import logging as transformers_logging

    logging.Logger.warning_once.cache_clear()  # transformers warns once per process: forget earlier tests' warnings
    transformers_logging.enable_propagation()
    caplog.set_level(logging.WARNING, logger="transformers")
    yield caplog
    transformers_logging.disable_propagation()


def test_transformers_generate_prints_no_warning(tokenizer, transformers_records, recwarn):
    generator = TextGenerator(tiny_gpt2(len(tokenizer)), tokenizer)
    for options in (GenerationOptions(max_new_tokens=5, do_sample=False), GenerationOptions(max_new_tokens=5, top_k=5),
                    GenerationOptions(max_new_tokens=5, num_beams=2, num_return_sequences=2),
                    GenerationOptions(max_new_tokens=200, top_k=5)):  # beyond the context of 128
        generator.generate("ROMEO:", options)
    assert not [r.getMessage() for r in transformers_records.records if r.levelno >= logging.WARNING]
    assert not [w for w in recwarn if "transformers" in str(w.filename)]


class CountingStreamer:
    """A transformers streamer that records what arrives with each put() and when generation ends."""

    def __init__(self):
        self.pieces: list[list[int]] = []
        self.ended = False

    def put(self, value: torch.Tensor) -> None:
        assert not self.ended
        self.pieces.append(value.flatten().tolist())

    def end(self) -> None:
        self.ended = True


@pytest.mark.parametrize("max_new_tokens", [25, 150])  # 150: past the GPT-2's context, through the sliding window
def test_streaming_hands_over_each_token_as_it_comes(generator, capsys, max_new_tokens):
    options = GenerationOptions(max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, seed=4)
    streamer = CountingStreamer()
    prompt_ids, [new] = generator.generate_ids("ROMEO:", options, streamer)
    assert streamer.pieces == [prompt_ids] + [[token] for token in new] and streamer.ended
    [text] = generator.generate("ROMEO:", options, stream=True)
    assert capsys.readouterr().out == text + "\n"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": 0.0}, r"temperature=0.0 must be above 0"),
        ({"temperature": -1.0}, r"temperature=-1.0 must be above 0"),
        ({"top_p": 0.0}, r"top_p=0.0 must lie in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p=1.5 must lie in \(0, 1\]"),
        ({"max_new_tokens": 0}, r"max_new_tokens=0 must be at least 1"),
        ({"do_sample": False, "num_return_sequences": 2}, r"greedy decoding gives a single continuation"),
        ({"num_beams": 2, "num_return_sequences": 3}, r"cannot exceed num_beams=2"),
        ({"top_k": "many"}, r"top_k"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(SeqlabError, match=message):
        GenerationOptions.from_mapping(options)


def test_beams_alone_mean_beam_search_and_sampling_is_the_default_otherwise(generator, compose_cfg):
    cfg = compose_cfg(["pretrained=gpt2", "prompt=ROMEO:", "num_beams=4"], config_name="generate")
    beams = GenerationOptions.from_mapping(OmegaConf.to_container(cfg, resolve=True))
    assert cfg.do_sample is None and not beams.sampling and not beams.generation_config(0, 0).do_sample
    first = generator.generate_ids("ROMEO:", GenerationOptions(**{**beams.as_dict(), "max_new_tokens": 20, "seed": 1}))
    assert generator.generate_ids("ROMEO:", GenerationOptions(**{**beams.as_dict(), "max_new_tokens": 20,
                                                                "seed": 2})) == first  # nothing drawn
    assert GenerationOptions().sampling and GenerationOptions(num_beams=4, do_sample=True).sampling
    assert not GenerationOptions(do_sample=False).sampling


def test_empty_prompt_is_refused(generator):
    with pytest.raises(SeqlabError, match="the prompt is empty"):
        generator.generate_ids("", GenerationOptions())


def test_prompt_longer_than_the_context_is_refused(tokenizer):
    generator = TextGenerator(tiny_gpt2(len(tokenizer), n_positions=32), tokenizer)
    with pytest.raises(SeqlabError, match=r"the prompt is 40 tokens long, longer than the model's context of 32 "
                                          r"tokens; shorten the prompt to at most 32 tokens"):
        generator.generate_ids("x" * 40, GenerationOptions(max_new_tokens=1))
    _, [new] = generator.generate_ids("x" * 32, GenerationOptions(max_new_tokens=5, min_new_tokens=5))
    assert len(new) == 5


@pytest.mark.parametrize("use_cache", [True, False])
def test_gpt2_continues_past_its_context_with_a_sliding_window(tokenizer, use_cache):
    """Each token past the context is the one the model predicts from the last context-size tokens; within the
    context the window path and generate() agree."""
    net = tiny_gpt2(len(tokenizer), n_positions=16)
    generator = TextGenerator(net, tokenizer)
    prompt_ids, [new] = generator.generate_ids(
        "ROMEO:", GenerationOptions(max_new_tokens=40, min_new_tokens=40, do_sample=False, use_cache=use_cache))
    ids = list(prompt_ids)
    with torch.no_grad():
        for _ in range(40):
            ids.append(int(net(torch.tensor([ids[-16:]]))[0, -1].argmax()))
    assert new == ids[len(prompt_ids):]
    _, [within] = generator.generate_ids("ROMEO:", GenerationOptions(max_new_tokens=10, min_new_tokens=10,
                                                                     do_sample=False))
    assert within == new[:10]
    _, beams = generator.generate_ids("ROMEO:", GenerationOptions(max_new_tokens=30, min_new_tokens=30, num_beams=3,
                                                                  num_return_sequences=2, use_cache=use_cache))
    assert [len(b) for b in beams] == [30, 30] and beams[0] != beams[1]


def test_rnn_carries_its_state_over_any_length(tokenizer):
    """The recurrent model has no context: a long prompt and a long continuation read the whole text, as one
    pass over it does."""
    net = tiny_rnn(len(tokenizer))
    generator = TextGenerator(net, tokenizer)
    prompt = "ROMEO:\nGood night, sweet love.\n" * 10
    prompt_ids, [new] = generator.generate_ids(prompt, GenerationOptions(max_new_tokens=200, min_new_tokens=200,
                                                                         do_sample=False))
    assert len(prompt_ids) > 300 and len(new) == 200
    with torch.no_grad():
        predicted = net(torch.tensor([prompt_ids + new]))[0].argmax(-1)
    assert predicted[len(prompt_ids) - 1 : -1].tolist() == new


def test_pretrained_name_without_internet_says_how_to_pass_a_folder(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SeqlabError, match=r"cannot load pretrained 'seqlab-tests/never-cached-gpt2': it is not in "
                                          r"the local Hugging Face cache and the hub cannot be reached.*"
                                          r"pretrained=/path/to/folder"):
        TextGenerator.load("seqlab-tests/never-cached-gpt2")


def test_hub_probe_waits_seconds_not_minutes_for_an_unreachable_hub(monkeypatch):
    import huggingface_hub.constants

    import seqlab.pretrained.transformers_models as pretrained

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://hub.invalid:8080")
    probed = []

    def refused(address, timeout=None):
        probed.append((address, timeout))
        raise OSError("unreachable")

    monkeypatch.setattr(pretrained.socket, "create_connection", refused)
    assert pretrained.hub_reachable() is False
    assert probed == [(("hub.invalid", 8080), pretrained.PROBE_TIMEOUT)] and pretrained.PROBE_TIMEOUT <= 3


def test_options_of_0_are_not_overridden_by_a_saved_generation_config(tokenizer):
    """A model's own generation_config (as from_pretrained reads it) must not turn back on what the user set to 0."""
    options = GenerationOptions(max_new_tokens=60, do_sample=False, no_repeat_ngram_size=0, min_new_tokens=0)
    _, [plain] = TextGenerator(tiny_gpt2(len(tokenizer), seed=5), tokenizer).generate_ids("ROMEO:", options)
    net = tiny_gpt2(len(tokenizer), seed=5)
    net.model.generation_config.no_repeat_ngram_size = 2
    net.model.generation_config.min_new_tokens = 50
    assert TextGenerator(net, tokenizer).generate_ids("ROMEO:", options)[1] == [plain]
    assert len(set(ngrams(plain, 2))) < len(ngrams(plain, 2))  # greedy repeats itself: a ban would have shown


@pytest.mark.parametrize("target", ["seqlab.models.rnn_lm.nn.Linear", "seqlab.models.rnn_lm.torch.jit.CompilationUnit",
                                    "torch.nn.Linear", "seqlab.models.no_such_module.Net"])
def test_only_nets_defined_in_seqlab_models_are_rebuilt_from_a_checkpoint_config(target):
    from seqlab.inference.net_builder import build_net

    with pytest.raises(SeqlabError, match=rf"refusing to build '{target}': only seqlab.models classes"):
        build_net({"_target_": target, "in_features": 2, "out_features": 2})


@pytest.mark.parametrize("damage", ["no weights", "bad json", "no class", "other sizes", "missing argument"])
def test_a_damaged_saved_folder_is_named_not_a_traceback(tokenizer, tmp_path, damage):
    import json

    folder = TextGenerator(tiny_rnn(len(tokenizer)), tokenizer).save_pretrained(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    message = rf"{folder} is not a saved seqlab net: "
    if damage == "no weights":
        (folder / "model.safetensors").unlink()
    elif damage == "bad json":
        (folder / "config.json").write_text("{bad")
        message = rf"{folder} is not a saved model: its config.json cannot be read"
    elif damage == "no class":  # then it is taken for a transformers model, which it is not either
        del config["architecture"]
        (folder / "config.json").write_text(json.dumps(config))
        message = rf"{folder}"
    elif damage == "other sizes":
        (folder / "config.json").write_text(json.dumps({**config, "hidden_size": 64}))
    else:
        del config["vocab_size"]
        (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(SeqlabError, match=message):
        TextGenerator.from_directory(folder)


def test_a_path_that_does_not_exist_is_not_taken_for_a_hub_name(tmp_path, monkeypatch):
    from seqlab.pretrained.transformers_models import is_local

    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    assert is_local("outputs/runs/2099-01-01/00-00-00/model")  # under a folder that is here
    assert is_local("runs/2099-01-01/model")  # more slashes than org/name
    assert not is_local("gpt2") and not is_local("openai-community/gpt2")


def test_a_streamed_prompt_that_is_too_long_prints_nothing(tokenizer, capsys):
    generator = TextGenerator(tiny_gpt2(len(tokenizer), n_positions=8), tokenizer)
    with pytest.raises(SeqlabError, match=r"longer than the model's context of 8 tokens"):
        generator.generate("ROMEO: a prompt far too long", GenerationOptions(max_new_tokens=4), stream=True)
    assert capsys.readouterr().out == ""
