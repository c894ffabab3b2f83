"""Decoding with GPT-2 (transformers' generate) and the recurrent model (seqlab's loop over transformers' logits
processors): saving and reloading, determinism, lengths, n-gram bans, top-k, beams, and each bad input."""

from __future__ import annotations

import pytest
import torch
from lm_corpus import char_tokenizer, tiny_gpt2, tiny_rnn

from seqlab.errors import SeqlabError
from seqlab.inference.generation_options import GenerationOptions
from seqlab.inference.text_generator import TextGenerator


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and lose much to them on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer():
    return char_tokenizer()


@pytest.fixture(params=["gpt2", "rnn"])
def generator(request, tokenizer):
    if request.param == "gpt2":
        return TextGenerator(tiny_gpt2(len(tokenizer)), tokenizer)
    net, config = tiny_rnn(len(tokenizer))
    return TextGenerator(net, tokenizer, config)


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
    net, config = tiny_rnn(len(tokenizer))
    original = TextGenerator(net, tokenizer, config)
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
    greedy = GenerationOptions(max_new_tokens=60, min_new_tokens=60, do_sample=False)
    prompt_ids, [free] = generator.generate_ids("the the the", greedy)
    assert len(set(ngrams(prompt_ids + free, n))) < len(ngrams(prompt_ids + free, n))  # repeats without the ban
    for options in (GenerationOptions(**{**greedy.as_dict(), "no_repeat_ngram_size": n}),
                    GenerationOptions(max_new_tokens=60, min_new_tokens=60, no_repeat_ngram_size=n, seed=1),
                    GenerationOptions(max_new_tokens=40, no_repeat_ngram_size=n, do_sample=False, num_beams=3)):
        prompt_ids, [banned] = generator.generate_ids("the the", options)
        grams = ngrams(prompt_ids + banned, n)
        assert len(set(grams[len(prompt_ids) - n + 1 :])) == len(grams[len(prompt_ids) - n + 1 :])


def test_rnn_sampling_never_leaves_the_top_k(tokenizer):
    net, config = tiny_rnn(len(tokenizer), seed=1)
    generator = TextGenerator(net, tokenizer, config)
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
    net, config = tiny_rnn(len(tokenizer), seed=2)
    generator = TextGenerator(net, tokenizer, config)
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


def test_transformers_generate_prints_no_warning(tokenizer, caplog, recwarn):
    generator = TextGenerator(tiny_gpt2(len(tokenizer)), tokenizer)
    for options in (GenerationOptions(max_new_tokens=5, do_sample=False), GenerationOptions(max_new_tokens=5, top_k=5),
                    GenerationOptions(max_new_tokens=5, do_sample=False, num_beams=2, num_return_sequences=2)):
        generator.generate("ROMEO:", options)
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert not [w for w in recwarn if "transformers" in str(w.filename)]


def test_streaming_prints_the_text_as_it_comes(generator, capsys):
    [text] = generator.generate("ROMEO:", GenerationOptions(max_new_tokens=25, min_new_tokens=25, seed=4),
                                stream=True)
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


def test_empty_prompt_is_refused(generator):
    with pytest.raises(SeqlabError, match="the prompt is empty"):
        generator.generate_ids("", GenerationOptions())


def test_prompt_longer_than_the_context_is_refused(tokenizer):
    generator = TextGenerator(tiny_gpt2(len(tokenizer), n_positions=32), tokenizer)
    with pytest.raises(SeqlabError, match=r"the prompt is 40 tokens long, longer than the model's context of 32"):
        generator.generate_ids("x" * 40, GenerationOptions(max_new_tokens=1))
    with pytest.raises(SeqlabError, match=r"exceed the model's context of 32 tokens; set max_new_tokens to at most 12"):
        generator.generate_ids("x" * 20, GenerationOptions(max_new_tokens=13))
    _, [clipped] = generator.generate_ids("x" * 20, GenerationOptions(max_new_tokens=50, min_new_tokens=50), clip=True)
    assert len(clipped) == 12


def test_pretrained_name_without_internet_says_how_to_pass_a_folder(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SeqlabError, match=r"cannot load pretrained 'seqlab-tests/never-cached-gpt2': it is not in "
                                          r"the local Hugging Face cache and the hub cannot be reached.*"
                                          r"pretrained=/path/to/folder"):
        TextGenerator.load("seqlab-tests/never-cached-gpt2")


def test_hub_probe_fails_fast_when_the_hub_is_unreachable(monkeypatch):
    import time

    import huggingface_hub.constants

    from seqlab.pretrained import hub_reachable

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    start = time.perf_counter()
    assert hub_reachable() is False
    assert time.perf_counter() - start < 5
