"""``python -m dagspec.provider.emulator``: run the emulators until SIGTERM/SIGINT (same as ``dagspec emulator``)."""

import sys

from .cli import main

sys.exit(main())
