"""One package per vendor: client, simulator, transforms, schemas and Dagster assets.

Adding a vendor: its folder with `assets.py` (`<vendor>_assets`, `resource_from_env()`) and
`simulator.py` (see `pipelines.simulation.registry`), its name here, and its dbt models.
"""

VENDORS = ("baxo", "bagtower", "dsmr", "encloud", "primayer")
