"""Entry script of the bundled app: the same CLI as `studio` (GUI when given no subcommand)."""

import multiprocessing
import sys

from studio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
