"""news-etl: raw news article files -> spaCy -> Parquet lake -> DuckDB views."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("news-etl")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
