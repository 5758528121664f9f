#!/usr/bin/env python
"""The crawl example's manage.py: ``python manage.py corral jobs list --status running``."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crawlsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
