"""Background services shared by workers and servers: each is a ``run_once()`` that does
the work and returns what it did, driven by ``PeriodicService``'s loop."""
