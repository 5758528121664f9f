"""Example apps shipped with corral (used by ``corral demo`` and the README)."""
