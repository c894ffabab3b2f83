"""Decoding a trained encoder-decoder: greedy search and beam search with a length penalty."""
