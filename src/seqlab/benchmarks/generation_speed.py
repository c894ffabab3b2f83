"""Greedy generation speed of a saved language model with and without its key-value cache: seqlab's side.

    python -m seqlab.benchmarks.generation_speed --json out.json --model DIR --new-tokens N [--repeats R]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seqlab.benchmarks.runner import THREADS, torch_threads
from seqlab.benchmarks.side_by_side import write_record
from seqlab.errors import SeqlabError

PROMPT = "ROMEO:"
REPEATS = 3  # timed calls of each way after one warm-up call; the fastest is kept
WAYS = {"kv_cache": True, "no_cache": False}


def cache_speedup(results: dict[str, dict], same_tokens: bool) -> float | None:
    """Tokens per second with the key-value cache over without; none where the two gave different tokens (a
    cache that changes the output is not faster at the same work)."""
    if not same_tokens:
        return None
    return round(results["kv_cache"]["tokens_per_sec"] / results["no_cache"]["tokens_per_sec"], 2)


def speed_record(generate: Callable[[bool], list[int]], repeats: int) -> dict:
    """Times generate(use_cache) -> new token ids both ways (one warm-up call each, then the fastest of
    `repeats`). The tokens' sha1 tells whether two tools generated the same continuation."""
    results, tokens = {}, {}
    for way, use_cache in WAYS.items():
        generate(use_cache)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            tokens[way] = generate(use_cache)
            best = min(best, time.perf_counter() - start)
        results[way] = {"seconds": round(best, 4), "tokens_per_sec": round(len(tokens[way]) / best, 1)}
    same = tokens["kv_cache"] == tokens["no_cache"]
    return {
        **results,
        "tokens": tokens["kv_cache"],
        "figures": {"kv_cache_tokens_per_sec": results["kv_cache"]["tokens_per_sec"],
                    "no_cache_tokens_per_sec": results["no_cache"]["tokens_per_sec"],
                    "kv_cache_speedup": cache_speedup(results, same), "same_tokens_both_ways": same,
                    "tokens_sha1": hashlib.sha1(json.dumps(tokens["kv_cache"]).encode()).hexdigest()},
    }


def seqlab_generation(model_dir: Path, new_tokens: int, repeats: int, prompt: str = PROMPT) -> dict:
    """seqlab's TextGenerator, as `make generate` runs it, timed beside transformers' own generate()
    (peers/hf_generate.py) on the same folder, prompt and lengths."""
    # imported here: the transformers peer imports this module, and its process loads no seqlab generator
    from seqlab.inference.generation_options import GenerationOptions
    from seqlab.inference.text_generator import TextGenerator

    generator = TextGenerator.from_directory(model_dir)

    def generate(use_cache: bool) -> list[int]:
        options = GenerationOptions(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                    use_cache=use_cache)
        return generator.generate_ids(prompt, options)[1][0]

    return {"tool": "seqlab TextGenerator", "prompt": prompt, "new_tokens": new_tokens,
            "context": generator.context_size, **speed_record(generate, repeats)}


def run_side(generation: Callable[[str, int, int], dict], description: str, argv: list[str] | None) -> None:
    """A generation side's command: parses --json, --model, --new-tokens, --repeats and --threads, runs
    generation(model, new_tokens, repeats) on that many torch threads and writes its record."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", required=True, help="where the figures are written")
    parser.add_argument("--model", required=True, help="a saved language model (a run's model/ folder)")
    parser.add_argument("--new-tokens", type=int, required=True, help="tokens generated after the prompt")
    parser.add_argument("--repeats", type=int, default=REPEATS,
                        help="timed calls of each way; the fastest kept")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch intra-op threads")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with torch_threads(args.threads):
            record = generation(args.model, args.new_tokens, args.repeats)
    except SeqlabError as err:
        sys.exit(f"error: {err}")
    write_record(args.json, record)


def main(argv: list[str] | None = None) -> None:
    run_side(lambda model, new, repeats: seqlab_generation(Path(model), new, repeats),
             __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
