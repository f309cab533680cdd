"""One package per vendor: client, simulator, transforms, schemas and Dagster assets."""
