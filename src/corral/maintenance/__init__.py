"""Background services shared by workers and servers: each is a ``run_once()`` that does
the work and returns what it did, driven by ``service.PeriodicService``'s loop. Nothing
here imports ``corral.worker`` or ``corral.app``; the worker imports these."""
