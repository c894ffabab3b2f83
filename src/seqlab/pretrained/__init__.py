"""Pretrained weights from outside seqlab: transformers models and tokenizers, and spaCy pipelines."""
