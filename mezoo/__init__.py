"""mezoo: a plugin-based model zoo for facial micro-expression recognition."""

from importlib.metadata import PackageNotFoundError, version

from mezoo.hookspecs import hookimpl

try:
    __version__ = version("mezoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "hookimpl"]
