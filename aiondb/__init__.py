"""AionDB: a multi-model database server that speaks the PostgreSQL wire protocol."""

__version__ = "0.1.0"
