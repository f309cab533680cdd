"""`make bench`: throughput, memory and incremental cost of the pipelines, beside dlt and orjson."""
