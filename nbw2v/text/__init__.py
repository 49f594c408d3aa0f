"""Text: reading and encoding corpora, the vocabulary, and the on-disk corpus cache."""
