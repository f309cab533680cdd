"""Primayer client, decoding and simulator over real HTTP: histograms, audio, leak lists, secrets."""

from __future__ import annotations

import logging
import wave
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.http import RetryPolicy, VendorConfigError, VendorRequestError
from pipelines.simulation.answers import EMPTY_FORMS
from pipelines.simulation.faults import FaultConfig
from pipelines.vendors.primayer import transform
from pipelines.vendors.primayer.assets import (
    FleetSettings,
    PrimayerResource,
    land_groups,
    land_logger_info,
    land_loggers,
    land_reports,
    land_signals,
    request_dates,
)
from pipelines.vendors.primayer.client import PrimayerClient
from pipelines.vendors.primayer.simulator import TOKEN, PrimayerSimulatorConfig, histogram_counts

DAY = "2026-11-20"
ZONE = "Europe/London"
QUIET, LEAKING = "300101", "300102"  # group 1001: loggers 300102 and 300103 hear a leak


def client_for(server, token: str = TOKEN, **kwargs) -> PrimayerClient:
    retry = kwargs.pop("retry", RetryPolicy(max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05))
    return PrimayerClient(server.url, token, retry=retry, **kwargs)


def landed(data_dir: Path, zone: str, dataset: str, day: str = DAY) -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "primayer" / dataset / f"date={day}" / "*.parquet")


def stats_of(bins: list[list[int]]) -> pl.DataFrame:
    t = datetime(2026, 11, 20, tzinfo=UTC)
    hist = pl.DataFrame(
        {"serial": ["1"] * len(bins), "epoch_at": [t] * len(bins), "histogram_at": [t] * len(bins), "bins": bins}
    ).with_columns(pl.int_range(pl.len()).cast(pl.String).alias("serial"))
    return transform.histogram_stats(transform.histogram_bins(hist))


def test_exact_statistics_of_the_doc_example_histogram() -> None:
    stats = stats_of([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 0, 1, 30, 40, 2, 0]])
    columns = ["bin_count", "total_samples", "modal_bin", "p10_bin", "p50_bin", "p90_bin", "spread_bins", "leak_likely"]
    # Cumulative counts of the doc's example: 0 1 3 6 10 15 21 28 36 45 -> 4.5 at bin 3, 22.5 at 7, 40.5 at 9.
    assert stats.select(columns).rows() == [
        (10, 45, 9, 3, 7, 9, 6, False),
        (10, 73, 7, 6, 7, 7, 1, True),
    ]


def test_statistics_of_a_served_histogram_match_the_simulator(start_simulator) -> None:
    server = start_simulator("primayer")
    with client_for(server) as client:
        raw = client.logger(LEAKING, date(2026, 11, 20), date(2026, 11, 21))
    epochs = transform.epochs_frame(raw, ZONE)
    hist = transform.histograms_frame(epochs, ZONE).sort("histogram_at")
    assert hist.height == 12 * 4  # 12 epochs (every 2 h) of 4 histograms (every 5 min)
    first = hist.row(0, named=True)
    assert first["histogram_at"] == datetime(2026, 11, 20, tzinfo=UTC)  # London is on UTC in November
    sim = server.app.state.simulator
    logger = sim.logger(LEAKING)
    expected = histogram_counts(sim.config, logger, np.array([int(first["histogram_at"].timestamp())]))[0]
    assert first["bins"] == expected.tolist()
    stats = transform.histogram_stats(transform.histogram_bins(hist.head(1))).row(0, named=True)
    cumulative = np.cumsum(expected)
    assert stats["total_samples"] == expected.sum()
    assert stats["modal_bin"] == int(np.argmax(expected))
    assert stats["p50_bin"] == int(np.argmax(cumulative >= 0.5 * expected.sum()))
    assert stats["bin_count"] == 23


def test_a_leaking_logger_is_flagged_and_a_quiet_one_is_not(start_simulator, data_dir: Path) -> None:
    server = start_simulator("primayer")
    results = land_loggers(client_for(server), FleetSettings((QUIET, LEAKING), ZONE), DAY)
    assert [r.quarantined_rows for r in results] == [0, 0, 0]
    stats = landed(data_dir, "landing", "histogram_stats")
    flags = dict(stats.group_by("serial").agg(pl.col("leak_likely").mean()).rows())
    # 300103 and the group 1003 pair come from the day's leak results, beside the configured two.
    assert set(flags) == {QUIET, LEAKING, "300103", "300301", "300302"}
    assert flags[LEAKING] == 1.0 and flags["300103"] == 1.0
    assert flags[QUIET] == 0.0
    epochs = landed(data_dir, "landing", "logger_epochs")
    assert epochs.filter(pl.col("serial") == QUIET).height == 12
    assert landed(data_dir, "landing", "histogram_bins").height == stats["bin_count"].sum()


@pytest.mark.parametrize("as_base64", [False, True])
def test_audio_lands_as_wav_files_that_read_back(start_simulator, data_dir: Path, as_base64: bool) -> None:
    server = start_simulator("primayer", PrimayerSimulatorConfig(audio_as_base64=as_base64))
    land_groups(client_for(server), FleetSettings((), ZONE), DAY)
    clips = landed(data_dir, "landing", "group_audio").sort("serial")
    assert clips.height == 12
    sim = server.app.state.simulator
    for serial, frequency in ((QUIET, 180.0), (LEAKING, 520.0)):
        clip = clips.filter(pl.col("serial") == serial).row(0, named=True)
        assert clip["sample_count"] == 8000 and clip["duration_s"] == 2.0
        assert clip["dominant_frequency_hz"] == frequency
        with wave.open(str(data_dir / clip["wav_path"]), "rb") as wav:
            assert (wav.getnframes(), wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 4000, 1, 1)
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.uint8)
        start = int(datetime(2026, 11, 20, 2, tzinfo=UTC).timestamp())
        assert samples.tolist() == sim.audio_samples(sim.logger(serial), start).tolist()
        centred = (samples.astype(float) - 128) / 128
        assert clip["rms"] == pytest.approx(np.sqrt(np.mean(centred**2)))
        assert clip["peak"] == pytest.approx(np.abs(centred).max())
    assert clips.filter(pl.col("serial") == LEAKING)["rms"][0] > 3 * clips.filter(pl.col("serial") == QUIET)["rms"][0]


@pytest.mark.parametrize("date_field", ["date", "timestamp"])
@pytest.mark.parametrize("ids_as_numbers", [True, False])
def test_both_spellings_of_the_leak_list_parse(start_simulator, date_field: str, ids_as_numbers: bool) -> None:
    config = PrimayerSimulatorConfig(leak_date_field=date_field, leak_ids_as_numbers=ids_as_numbers)
    with client_for(start_simulator("primayer", config)) as client:
        raw = client.group(1001, date(2026, 11, 20))
    assert date_field in raw[0] and isinstance(raw[0]["left"], int) == ids_as_numbers
    leaks = transform.leaks_frame(raw, 1001)
    assert leaks.drop("confidence").rows() == [(1001, "300102", "300103", 103.5, "2026-11-20", date(2026, 11, 20))]


def test_malformed_input_is_quarantined_with_reasons(start_simulator, data_dir: Path) -> None:
    server = start_simulator("primayer", PrimayerSimulatorConfig(malformed=True))
    fleet = FleetSettings((QUIET,), ZONE)
    land_loggers(client_for(server), fleet, DAY)
    land_groups(client_for(server), fleet, DAY)
    held = {
        dataset: sorted(set(landed(data_dir, "quarantine", dataset)["reason"]))
        for dataset in ("logger_epochs", "histogram_bins", "group_audio")
    }
    assert held == {
        "logger_epochs": ["unparsable timestamp"],
        "histogram_bins": ["empty bins", "negative bin count", "unparsable timestamp"],
        "group_audio": ["audio out of byte range 0..255"],
    }
    bad = landed(data_dir, "quarantine", "histogram_bins").filter(pl.col("reason") == "negative bin count")
    assert '"bins":[3,-2,5,7]' in bad["record"][0]
    assert (landed(data_dir, "landing", "histogram_bins")["count"] >= 0).all()


def test_csv_reports_are_read_by_header_keeping_unknown_columns(start_simulator, data_dir: Path) -> None:
    server = start_simulator("primayer")
    land_reports(client_for(server), FleetSettings((), ZONE), DAY)
    loggers = landed(data_dir, "landing", "logger_report")
    assert loggers.height == 12 and loggers["firmware"].unique().to_list() == ["4.2.1"]  # not in the schema
    assert loggers.schema["battery_pct"] == pl.Float64 and loggers.schema["group_id"] == pl.Int64
    dmas = landed(data_dir, "landing", "dma_report").sort("dma")
    assert dmas.select("dma", "leak_loggers", "period_start", "period_end", "region").row(0) == (
        "DMA Enigma Harbour",
        2,
        "2026-11-20 00:00",
        "2026-11-21 00:00",
        "South West",
    )


def test_local_times_become_utc_across_a_dst_change() -> None:
    frame = pl.DataFrame({"serial": ["1"] * 4, "t": ["2026-10-25 00:30", "2026-10-25 01:30", "2026-10-25 01:30", "x"]})
    utc = frame.select(transform.local_to_utc(transform.parse_local("t"), ZONE, ["serial"]))["t"].to_list()
    assert utc == [
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT, the hour repeated
        None,
    ]
    # A UTC day is asked as the local dates that cover it, both inclusive of the service's reading.
    assert request_dates("2026-07-01", ZONE) == (date(2026, 7, 1), date(2026, 7, 3))
    assert request_dates("2026-11-20", ZONE) == (date(2026, 11, 20), date(2026, 11, 21))


def _assert_no_token(caplog: pytest.LogCaptureFixture, error: Exception, token: str) -> None:
    assert caplog.records, "the client should have logged"
    for record in caplog.records:
        assert token not in record.getMessage()
    assert token not in str(error) and token not in repr(error.args)
    assert "***" in str(error)  # the service echoed the path; its token was redacted


def test_a_wrong_token_is_refused_and_never_logged(start_simulator, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "11111111-2222-3333-4444-555555555555"
    caplog.set_level(logging.DEBUG)
    with client_for(start_simulator("primayer"), token=wrong) as client:
        with pytest.raises(VendorRequestError) as raised:
            client.summary(date(2026, 11, 20))
    assert raised.value.status == 401 and "group/summary" in str(raised.value)
    _assert_no_token(caplog, raised.value, wrong)


def test_the_token_survives_no_retry_message_after_500s(start_simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_simulator("primayer", PrimayerSimulatorConfig(force_status=500))
    with client_for(server) as client:
        with pytest.raises(VendorRequestError) as raised:
            client.logger(QUIET, date(2026, 11, 20), date(2026, 11, 21))
    assert raised.value.status == 500
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 3
    _assert_no_token(caplog, raised.value, TOKEN)


def test_injected_faults_leave_no_token_in_logs(start_simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_simulator("primayer", faults=FaultConfig(rate=1.0, kinds=("500", "drop", "slow"), seed=3, slow_s=1))
    with client_for(server, timeout_s=0.5, retry=RetryPolicy(max_attempts=5, backoff_base_s=0.01)) as client:
        with pytest.raises(VendorRequestError) as raised:
            client.summary(date(2026, 11, 20))
    assert TOKEN not in str(raised.value)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 4


def test_an_answer_about_another_logger_is_quarantined_never_landed_as_the_asked_one(
    start_simulator, data_dir: Path
) -> None:
    def rows(dataset: str) -> pl.DataFrame:
        frame = landed(data_dir, "landing", dataset)
        return frame.drop("_extracted_at").sort(frame.drop("_extracted_at").columns)

    honest = start_simulator("primayer")
    asked, named = (lg.serial for lg in honest.app.state.simulator.loggers[:2])
    fleet = FleetSettings((asked,), ZONE)
    land_loggers(client_for(honest), fleet, DAY)
    expected = rows("logger_epochs").filter(pl.col("serial") != asked)
    assert expected.height < rows("logger_epochs").height

    mixed_up = start_simulator("primayer", PrimayerSimulatorConfig(answers_for_other_serial=True))
    epochs, _, _ = land_loggers(client_for(mixed_up), fleet, DAY)
    assert rows("logger_epochs").equals(expected), "nothing landed under the asked serial"
    held = landed(data_dir, "quarantine", "logger_epochs")
    assert (
        held["reason"].to_list()
        == [f"asked serial {asked}, got {named}"]
        == [epochs.quarantined_rows * held["reason"][0]]
    )
    assert held["record"][0].startswith(f'{{"serial":"{named}","epochs":[')
    for land in (land_logger_info, land_signals):
        result = land(client_for(mixed_up), fleet, DAY)
        assert result.quarantined_rows == 1


@pytest.mark.parametrize("form", [f for f in EMPTY_FORMS if f != "list"])
def test_every_form_of_an_empty_leak_list_reads_as_no_leak(start_simulator, data_dir: Path, form: str) -> None:
    land_groups(client_for(start_simulator("primayer")), FleetSettings((), ZONE), DAY)
    expected = landed(data_dir, "landing", "group_leaks").drop("_extracted_at")
    quiet_group = next(g for g in (1001, 1002, 1003) if g not in expected["group_id"].to_list())

    server = start_simulator("primayer", PrimayerSimulatorConfig(empty_form=form))
    with client_for(server) as client:
        assert client.group(quiet_group, date(2026, 11, 20)) == []
    land_groups(client_for(server), FleetSettings((), ZONE), DAY)
    assert landed(data_dir, "landing", "group_leaks").drop("_extracted_at").equals(expected)


def test_an_unknown_time_zone_fails_at_once_naming_the_setting() -> None:
    resource = PrimayerResource(base_url="http://127.0.0.1:1", token=TOKEN, serials="1", timezone="Mars/Olympus")
    with pytest.raises(VendorConfigError, match="primayer: setting PRIMAYER_TIMEZONE is not an IANA time zone"):
        resource.fleet()
