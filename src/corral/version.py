"""The package's version, in one place: ``corral.__version__``, and what a worker
registers (the worker cannot import ``corral`` itself: the package exports ``Worker``)."""

__version__ = "0.1.0"
