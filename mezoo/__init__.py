"""mezoo: a plugin-based model zoo for facial micro-expression recognition."""

from importlib.metadata import PackageNotFoundError, version

from mezoo.hookspecs import hookimpl

try:
    __version__ = version("mezoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "hookimpl", "load_model"]


def __getattr__(name: str):  # imported on first use: `import mezoo` (and the CLI's start) stays light
    if name == "load_model":
        from mezoo.inference.predictor import load_model

        return load_model
    raise AttributeError(f"module 'mezoo' has no attribute {name!r}")
