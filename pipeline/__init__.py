"""news-etl: raw news article files -> spaCy -> Parquet lake -> DuckDB views."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("news-etl")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

# Bump when extraction output changes for the same input and model: it is part of every run's
# recorded pipeline_version, so a changed extractor is never mistaken for work already done.
EXTRACTOR_VERSION = "1"

PIPELINE_VERSION = f"{__version__}+x{EXTRACTOR_VERSION}"
