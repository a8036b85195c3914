"""`python -m studio.connectors.openai.fake_server`: serve the fake API (see `server.main`)."""

import sys

from studio.connectors.openai.fake_server.cli import main

if __name__ == "__main__":
    sys.exit(main())
