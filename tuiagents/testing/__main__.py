"""``python -m tuiagents.testing`` is ``python -m tuiagents.testing.server``."""

from tuiagents.testing.server import main

raise SystemExit(main())
