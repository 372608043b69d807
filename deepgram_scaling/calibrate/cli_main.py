"""``python -m deepgram_scaling.calibrate.cli_main``: the command without the top-level
dispatcher (the tests run it in a subprocess)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
