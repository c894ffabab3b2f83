"""The peer of seqlab's generation speed: transformers' own generate(), with and without its key-value cache.

    python -m seqlab.benchmarks.peers.hf_generate --json out.json --model DIR --new-tokens N [--repeats R]
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from seqlab.benchmarks.generation_speed import PROMPT, run_side, speed_record


def hf_generation(model_dir: str, new_tokens: int, repeats: int, prompt: str = PROMPT) -> dict:
    """On the same saved model, prompt and lengths as seqlab's side: the model and tokenizer load with
    from_pretrained from the folder seqlab saved; the prompt is encoded without special tokens, as seqlab
    encodes it; generate() makes exactly `new_tokens` new tokens (min_new_tokens = max_new_tokens), greedily,
    use_cache on and off, timed as seqlab's side times its own."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    input_ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])

    @torch.no_grad()
    def generate(use_cache: bool) -> list[int]:
        output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                use_cache=use_cache)
        return output[0, input_ids.size(1):].tolist()

    return {"tool": "transformers generate()", "prompt": prompt, "new_tokens": new_tokens,
            **speed_record(generate, repeats)}


def main(argv: list[str] | None = None) -> None:
    run_side(hf_generation, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
