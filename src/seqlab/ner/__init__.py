"""Named-entity recognition with spaCy: data readers, the spaCy NER task and its runs, scoring, reports."""
