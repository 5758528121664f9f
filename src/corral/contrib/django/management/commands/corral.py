"""``python manage.py corral <command>``: the ``corral`` CLI (DESIGN §9) on the store of
the project's settings, with Django set up before any task is imported.

Every argument after ``corral`` goes to the CLI untouched (its own ``--help``, exit codes
and ``--json``); ``worker``, ``serve`` and ``enqueue`` run on the project's app
(``corral.contrib.django:app``, whose tasks Django has imported) unless ``--app`` is given.
"""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand

from corral.contrib.django.conf import django_app

APP_COMMANDS = ("worker", "serve", "enqueue")
APP = "corral.contrib.django:app"


class Command(BaseCommand):
    help = "corral's command line on this project's job store: manage.py corral --help"

    def run_from_argv(self, argv: list[str]) -> None:
        """Django's own option parsing is skipped: the CLI parses its arguments."""
        from corral.cli.main import main

        arguments = argv[2:]
        os.environ["CORRAL_DATABASE_URL"] = django_app().settings.database_url
        if arguments and arguments[0] in APP_COMMANDS and not any(
                one == "--app" or one.startswith("--app=") for one in arguments):
            arguments = [arguments[0], "--app", APP, *arguments[1:]]
        sys.argv = [f"{os.path.basename(argv[0])} corral", *arguments]
        main()
