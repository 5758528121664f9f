"""Imported first in a job's child process (``isolation="process"``): Django set up as in
the worker that spawned it, so a ``tasks.py`` importing models loads there too."""

from __future__ import annotations

import django

django.setup()
