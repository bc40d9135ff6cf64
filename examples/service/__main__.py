"""``python -m examples.service [--host H] [--port P]``: serve on $DATABASE_URL.

``scripts/run service`` runs this after starting a private PostgreSQL when
``DATABASE_URL`` is not set.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn
from examples.service.app import create_app


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ORDERFSM_PORT", "8080")))
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set (scripts/run service starts a PostgreSQL)", file=sys.stderr)
        return 2
    uvicorn.run(create_app(url), host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
