"""``python -m lingofeed``: the same command line as the ``lingofeed`` script.

This file is the root of the installed ``lingofeed`` package (pyproject maps ``lingofeed`` to the
repo root, whose folders ``feeds/``, ``translations/`` and ``scheduler/`` are its sub-packages).
"""

from lingofeed.scheduler.cli import main

raise SystemExit(main())
