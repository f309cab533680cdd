"""The analyst the concurrency tests run beside dbt, as its own process."""

# A separate analyst process: one read-only connection held open, a count every 50 ms, one JSON
# line per query (its start and end time, and the count or the error), until told to stop.
ANALYST = """
import json, sys, time
from pathlib import Path
from pipelines.warehouse import connect

stop = Path(sys.argv[1])
con = connect()
print(json.dumps({"ready": True}), flush=True)
while not stop.exists():
    started = time.time()
    try:
        line = {"count": con.execute("select count(*) from fct_reading").fetchone()[0]}
    except Exception as exc:
        line = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps({**line, "start": started, "end": time.time()}), flush=True)
    time.sleep(0.05)
con.close()
"""
