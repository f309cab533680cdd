"""One package per vendor: client, simulator, transforms, schemas, Dagster assets and a README.

Adding a vendor: its folder with `definitions.py` (`defs()`: its assets, resource, jobs and
schedules, merged into `pipelines/definitions.py`) and `simulator.py` (see
`pipelines.simulation.registry`), its name here and in dbt's `vendors` var, and its dbt models.
"""

VENDORS = ("baxo", "bagtower", "dsmr", "encloud", "primayer")
