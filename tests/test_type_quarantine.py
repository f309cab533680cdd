"""A wrongly typed value holds back its own row, for every vendor: real HTTP to the simulators.

Each vendor's daily extraction runs once against a clean simulator and once against one whose
`wrong_type` fault puts text where a number or an instant belongs (or an object where a value
belongs) in some records. The faulty run must succeed, quarantine each such row with the field
and the value in its reason, and land every other row the clean run landed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from dagster import materialize

from pipelines.extraction import daily_extraction_assets, vendor_resources
from pipelines.simulation.faults import FaultConfig
from pipelines.simulation.registry import simulator_spec
from pipelines.validation import INTEGER, decimal, split_unreadable, text_frame, typed_select

DAY = "2026-11-20"
CLOCK = datetime(2026, 11, 22, 6, tzinfo=UTC)  # every simulator has published the day by then
# Per vendor: the fields the fault may mistype (each one the pipeline types) and the wrong values.
# BAXO, enCloud, Bagtower and Primayer pages are read whole by a typed JSON reader: an object
# inside them makes the page unreadable, so they get text where a number belongs.
WRONG = {
    "dsmr": (("id", "electricity_delivered_1", "hour_start"), ("abc", {"unexpected": "object"})),
    "baxo": (("timestamp",), ("yesterday",)),
    "encloud": (("frequency",), ("abc",)),
    "bagtower": (("x",), ("abc",)),
    "primayer": (("battery",), ("abc",)),
}


def _land_day(vendor: str, start_simulator, faults: FaultConfig | None, monkeypatch) -> tuple[bool, int]:
    """(run succeeded, rows landed) of the vendor's daily assets for DAY against a new simulator."""
    spec = simulator_spec(vendor)
    config = spec.config_at(CLOCK) if spec.config_at else None
    server = start_simulator(vendor, config, faults)
    for name, value in spec.env_for_port(server.port).items():
        monkeypatch.setenv(name, value)
    assets = [a for a in daily_extraction_assets if next(iter(a.keys)).path[0] == vendor]
    result = materialize(assets, resources=vendor_resources(), partition_key=DAY, raise_on_error=False)
    return result.success, sum(pl.read_parquet(f).height for f in _files("landing", vendor))


def _files(zone: str, vendor: str) -> list[Path]:
    return sorted((Path(os.environ["PIPELINES_DATA_DIR"]) / zone / vendor).glob(f"*/date={DAY}/*.parquet"))


@pytest.mark.parametrize("vendor", sorted(WRONG))
def test_a_wrongly_typed_value_quarantines_its_row_and_the_rest_lands(
    vendor: str, start_simulator, data_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    clean_ok, clean_rows = _land_day(vendor, start_simulator, None, monkeypatch)
    assert clean_ok
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path / "faulty"))
    fields, values = WRONG[vendor]
    faults = FaultConfig(rate=0.5, kinds=("wrong_type",), seed=3, wrong_type_fields=fields, wrong_values=values)
    ok, faulty_rows = _land_day(vendor, start_simulator, faults, monkeypatch)

    assert ok, f"{vendor}: a wrongly typed value failed the run"
    assert faults.wrong_typed, f"{vendor}: the fault switch served no wrong value"
    reasons = _quarantine_reasons(vendor)
    for field, value in faults.wrong_typed:
        shown = value if isinstance(value, str) else '{"unexpected":"object"}'
        assert reasons.str.contains(f"{field}: ", literal=True).any(), (vendor, field, reasons.to_list())
        assert reasons.str.contains(shown, literal=True).any(), (vendor, shown, reasons.to_list())
    # Every other row landed: at most one row is missing per wrong value served.
    assert clean_rows - len(faults.wrong_typed) <= faulty_rows <= clean_rows


def _quarantine_reasons(vendor: str) -> pl.Series:
    return pl.concat([pl.read_parquet(f).select("reason") for f in _files("quarantine", vendor)])["reason"]


def test_typed_select_names_field_and_value_and_reads_well_typed_values() -> None:
    records = [
        {"id": 1, "kwh": "1.5"},
        {"id": "abc", "kwh": {"a": 1}},
        {"id": 2.5, "kwh": "0.25"},
        {"id": 3.0, "kwh": 2},
        "not an object",
    ]
    typed = typed_select(text_frame(records, ("id", "kwh")), {"id": INTEGER.of("id"), "kwh": decimal(6, 3).of("kwh")})
    good, held = split_unreadable(typed, "Test")
    assert good["id"].to_list() == [1, 3]
    assert [str(v) for v in good["kwh"].to_list()] == ["1.500", "2.000"]
    assert held["reason"].to_list() == [
        'Test: kwh: {"a":1} is not a single value; id: "abc" is not an integer',
        'Test: id: "2.5" is not an integer',
        'Test: record: "not an object" is not an object',
    ]
