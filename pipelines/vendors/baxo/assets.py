"""Dagster assets for BAXO Connect: snapshots of contracts, devices and real-time values, and
historic tag values per daily partition."""

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta

import polars as pl
from dagster import AssetExecutionContext, EnvVar, MaterializeResult

from pipelines.asset_specs import landed_asset
from pipelines.http import Tally
from pipelines.landing import LandingResult, PartitionWriter, land_frame, register_dataset
from pipelines.metadata import land_days, materialize_result
from pipelines.partitions import day_window, today_utc
from pipelines.prefetch import in_order
from pipelines.resources import VendorResource
from pipelines.validation import split_foreign
from pipelines.vendors.baxo import transform
from pipelines.vendors.baxo.client import VENDOR, BaxoClient
from pipelines.vendors.baxo.schemas import BaxoContract, BaxoDevice, BaxoHistoric, BaxoRealtime

for _dataset, _schema in {
    "contracts": BaxoContract,
    "devices": BaxoDevice,
    "device_realtimes": BaxoRealtime,
    "device_historics": BaxoHistoric,
}.items():
    register_dataset(VENDOR, _dataset, _schema)
DEVICES_PER_REQUEST = 25  # multi-device requests save calls; a bounded list keeps URLs short


class BaxoResource(VendorResource):
    """Where and as whom to reach BAXO Connect (`BAXO_BASE_URL`, `BAXO_USERNAME`, `BAXO_PASSWORD`)."""

    base_url: str
    username: str
    password: str

    def client(self) -> BaxoClient:
        retry = self.retry_policy()
        return BaxoClient(
            self.base_url,
            self.username,
            self.password,
            timeout_s=self.timeout_s,
            retry=retry,
            concurrency=self.concurrency,
        )


def _contract_devices(client: BaxoClient) -> Iterator[tuple[str, list[str]]]:
    for contract in client.contracts():
        device_ids = [d["id"] for d in client.devices(contract["id"])]
        for i in range(0, len(device_ids), DEVICES_PER_REQUEST):
            yield contract["id"], device_ids[i : i + DEVICES_PER_REQUEST]


@landed_asset(VENDOR, "contracts")
def baxo_contracts(baxo: BaxoResource) -> MaterializeResult:
    """Contracts of the account (snapshot, landed under the run's date)."""
    with baxo.client() as client:
        frame = transform.contracts_frame(client.contracts())
    return materialize_result([land_frame(VENDOR, "contracts", today_utc(), frame, BaxoContract, "k1?get=contracts")])


@landed_asset(VENDOR, "devices", deps=["contracts"])
def baxo_devices(baxo: BaxoResource) -> MaterializeResult:
    """Devices of every contract, each with its details from `get=device` (snapshot)."""
    return materialize_result([land_devices(baxo.client())])


@landed_asset(VENDOR, "device_realtimes", deps=["devices"])
def baxo_device_realtimes(baxo: BaxoResource) -> MaterializeResult:
    """Latest value of every tag of every device (snapshot)."""
    with (
        baxo.client() as client,
        PartitionWriter(VENDOR, "device_realtimes", today_utc(), BaxoRealtime, "k1?get=devices-realtimes") as writer,
    ):
        for contract_id, device_ids in _contract_devices(client):
            writer.write(transform.realtimes_frame(client.realtimes(contract_id, device_ids)))
    return materialize_result([writer.result])


@landed_asset(VENDOR, "device_historics", daily=True, deps=["devices"])
def baxo_device_historics(context: AssetExecutionContext, baxo: BaxoResource) -> MaterializeResult:
    """Historic tag values of every device for each UTC day, streamed page by page to Parquet."""
    return materialize_result(land_days(context, lambda day: [land_historics(baxo.client(), day)]))


def land_devices(client: BaxoClient) -> LandingResult:
    """Every device of every contract with its details; an answer about another device is held back."""
    with client, PartitionWriter(VENDOR, "devices", today_utc(), BaxoDevice, "k1?get=device") as writer:
        for contract in client.contracts():
            asked = [d["id"] for d in client.devices(contract["id"])]
            details = transform.devices_frame([client.device(contract["id"], i) for i in asked], contract["id"])
            own, other = split_foreign(details, "device_id", pl.Series(asked, dtype=pl.String))
            writer.quarantine(other)
            writer.write(own)
    return writer.result


def land_historics(client: BaxoClient, partition_key: str) -> LandingResult:
    """Land one day of historics; the partition appears only once every page has landed."""
    start, end = day_window(partition_key)

    def walk(contract_id: str, device_ids: list[str], tally: Tally) -> Callable[[], Iterator[pl.DataFrame]]:
        def typed_pages() -> Iterator[pl.DataFrame]:
            # One second before the day too: a service with an exclusive `startTime` still gives midnight.
            pages = client.historic_pages(contract_id, device_ids, start - timedelta(seconds=1), end, tally=tally)
            return (transform.historics_frame(page, start, end) for page in pages)

        return typed_pages

    with (
        client,
        PartitionWriter(VENDOR, "device_historics", partition_key, BaxoHistoric, "k1?get=devices-historics") as writer,
    ):
        # Device batches are read a few at a time, each typed in its own thread, while the pages
        # already read are validated and written, in the batches' order.
        walks = (walk(contract_id, device_ids, writer.tally) for contract_id, device_ids in _contract_devices(client))
        with closing(in_order(walks, workers=client.http.concurrency)) as pages:
            for page in pages:
                writer.write(page)
    return writer.result


baxo_assets = [baxo_contracts, baxo_devices, baxo_device_realtimes, baxo_device_historics]


def resource_from_env() -> BaxoResource:
    """The vendor's settings, read from the environment when a run starts (secrets stay EnvVars)."""
    return BaxoResource(
        base_url=EnvVar("BAXO_BASE_URL"), username=EnvVar("BAXO_USERNAME"), password=EnvVar("BAXO_PASSWORD")
    )
