"""longhaul's version, in a module of its own so that the engine can record it without importing
the package's public namespace (which sits above the engine)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("longhaul")
except PackageNotFoundError:  # a checkout that is not installed
    __version__ = "0.0.0+checkout"
