"""Example host apps that use corral (importable as ``examples.*`` from the repository)."""
