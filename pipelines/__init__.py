"""Field-device telemetry pipelines: vendor extraction to Parquet, dbt marts in DuckDB."""
