"""The package's version (``pyproject.toml`` says the same; tests/test_cli.py keeps them equal)."""

__version__ = "0.1.0"
