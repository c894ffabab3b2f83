"""Named-entity recognition with spaCy: readers (CoNLL/IOB2, spaCy-style JSONL), DocBin conversion, spaCy configs
generated from Hydra values, training through spaCy's own loop, scoring with spaCy's scorer, displacy pages."""
