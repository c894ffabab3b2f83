"""Search for an output token by token: greedy and beam search for the translator, beam search for the
language models too."""
