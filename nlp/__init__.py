"""NLP: sentiment scoring, embeddings and vector search, sentiment indices."""
