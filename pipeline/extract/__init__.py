"""Pure extraction: no IO here. One module per kind of row; each declares its table next to the function that
makes the rows (see pipeline/registry.py). Doc-level extractors take a `Part` (one spaCy Doc of a document)."""
