"""``python -m benchmark``."""

from .cli import main

raise SystemExit(main())
