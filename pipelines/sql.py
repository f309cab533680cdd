"""`make sql`: the DuckDB shell on the warehouse, read-only, with the marts ready to query.

python -m pipelines.sql                                   interactive shell (`.quit` to leave)
python -m pipelines.sql -c "select count(*) from marts.fct_reading"   one query, its answer, exit

The shell is the DuckDB CLI of the engine's version (PyPI `duckdb-cli`), started with an init
script that loads the lake's extensions from their wheels, attaches the lake READ_ONLY and starts
in its `marts` schema (`staging.` and `intermediate.` reach the views behind them). It reads the
last committed snapshot, so it works while dbt builds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.lake import attach_statement, catalog_path, extension_statements, lake_exists, use_statement

WELCOME = (
    "-- The warehouse (read-only), in its marts: show tables; select * from marts.fct_reading limit 10;"
    " docs/analysts.md has more; .quit to leave"
)


def init_script() -> str:
    """SQL the CLI runs before anything else; quiet, so `-c` prints only the answer."""
    statements = [*extension_statements(), attach_statement(read_only=True), use_statement(read_only=True)]
    return "".join(f"{statement};\n" for statement in statements)


def cli_executable() -> Path:
    """The venv's `duckdb` (PyPI duckdb-cli), never another one on PATH: extensions are per version."""
    return Path(sys.executable).parent / "duckdb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--query", help="run this SQL, print its answer and exit")
    args = parser.parse_args()
    if not lake_exists():
        sys.exit(f"no warehouse yet at {catalog_path()}: build it first (make run)")
    # The init script holds the S3 secret when the lake's data is on S3: it lives in a folder
    # only this user can open, removed when the shell ends.
    with tempfile.TemporaryDirectory(prefix="pipelines-sql-") as scratch:
        init = Path(scratch) / "init.sql"
        init.write_text(init_script())
        command = [str(cli_executable()), "-init", str(init)]
        if args.query:
            command += ["-bail", "-c", args.query]
        else:
            print(WELCOME, file=sys.stderr)
        # Ctrl-C belongs to the shell (it cancels the running query), not to this wrapper. A
        # Python handler, not SIG_IGN: an ignored signal would stay ignored in the shell too.
        previous = signal.signal(signal.SIGINT, lambda *_: None)
        try:
            status = subprocess.call(command, env=os.environ)
        finally:
            signal.signal(signal.SIGINT, previous)
    sys.exit(status)


if __name__ == "__main__":
    main()
