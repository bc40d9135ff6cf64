"""Checks of the tables and of real histories: claims transcribed from the documents, the
facts they expand into, conformance, structural lint, model-based paths and history audit."""
