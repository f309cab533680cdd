"""Dagster assets for enCloud/enSite: per daily partition, every device's state and its
requested sensor keys as of the end of the day, from one paged pull per customer."""

import os
from collections.abc import Iterator
from datetime import timedelta

from dagster import AssetExecutionContext, EnvVar, MaterializeResult

from pipelines.asset_specs import landed_multi_asset, landed_spec
from pipelines.landing import LandingResult, PartitionWriter, register_dataset
from pipelines.metadata import land_days, materialize_results
from pipelines.partitions import day_window
from pipelines.resources import VendorResource
from pipelines.vendors.encloud import transform
from pipelines.vendors.encloud.client import DEVICES, PAGE_LIMIT, VENDOR, EncloudClient
from pipelines.vendors.encloud.schemas import EncloudDevice, EncloudReading

register_dataset(VENDOR, "devices", EncloudDevice)
register_dataset(VENDOR, "device_readings", EncloudReading)


def _split(setting: str) -> list[str]:
    return [item.strip() for item in setting.split(",") if item.strip()]


class EncloudResource(VendorResource):
    """Where and as whom to reach enCloud (`ENCLOUD_BASE_URL`, `ENCLOUD_EMAIL`, `ENCLOUD_PASSWORD`,
    `ENCLOUD_API_KEY`), which sensor keys to pull (`ENCLOUD_KEYS`) and for which customers
    (`ENCLOUD_CUSTOMER_IDS`, comma lists; no customers = every device, without a customer)."""

    base_url: str
    email: str
    password: str
    api_key: str
    sensor_keys: str = "cell.rssi,cell.rsrq,cell.uptime,system.uptime,cell2.status"
    customer_ids: str = ""

    def client(self) -> EncloudClient:
        retry = self.retry_policy()
        return EncloudClient(
            self.base_url, self.email, self.password, self.api_key, timeout_s=self.timeout_s, retry=retry
        )

    def key_list(self) -> list[str]:
        return _split(self.sensor_keys)

    def customer_list(self) -> list[str | None]:
        return list(_split(self.customer_ids)) or [None]


@landed_multi_asset(
    VENDOR,
    [
        landed_spec(VENDOR, "devices", description="Routers at each day's end."),
        landed_spec(
            VENDOR,
            "device_readings",
            description="Requested sensor keys of each router at its last check-in of the day.",
        ),
    ],
    daily=True,
)
def encloud_device_pull(context: AssetExecutionContext, encloud: EncloudResource) -> Iterator[MaterializeResult]:
    """One pull of every device (per customer) as of each partition's last second."""

    def land_day(day: str) -> tuple[LandingResult, LandingResult]:
        return land_device_pull(encloud.client(), day, encloud.key_list(), encloud.customer_list())

    yield from materialize_results(land_days(context, land_day))


def land_device_pull(
    client: EncloudClient,
    partition_key: str,
    keys: list[str],
    customer_ids: list[str | None],
    limit: int = PAGE_LIMIT,
) -> tuple[LandingResult, LandingResult]:
    """Land one day: the devices as of the day's last second, and their readings of that day.

    The doc's `timestamp` answers the state at or before it, so the day's last second
    (`end - 1 s`) gives the last check-in within the day; both partitions appear together.
    """
    start, end = day_window(partition_key)
    as_of = end - timedelta(seconds=1)
    with (
        client,
        PartitionWriter(VENDOR, "devices", partition_key, EncloudDevice, DEVICES) as device_writer,
        # The readings come from the device pages: held back with them on a mismatch.
        PartitionWriter(
            VENDOR, "device_readings", partition_key, EncloudReading, DEVICES, tally=device_writer.tally
        ) as reading_writer,
    ):
        for customer_id in customer_ids:
            as_of_s = int(as_of.timestamp())
            pages = client.device_pages(as_of_s, keys, customer_id=customer_id, limit=limit, tally=device_writer.tally)
            for page in pages:
                page, unreadable = transform.split_unreadable_times(page)
                device_writer.quarantine(unreadable)
                device_writer.write(transform.devices_frame(page, as_of))
                reading_writer.write(transform.readings_frame(page, keys, start, end))
    return device_writer.result, reading_writer.result


encloud_assets = [encloud_device_pull]


def resource_from_env() -> EncloudResource:
    """The vendor's settings, read from the environment when a run starts (secrets stay EnvVars)."""
    return EncloudResource(
        base_url=EnvVar("ENCLOUD_BASE_URL"),
        email=EnvVar("ENCLOUD_EMAIL"),
        password=EnvVar("ENCLOUD_PASSWORD"),
        api_key=EnvVar("ENCLOUD_API_KEY"),
        sensor_keys=os.environ.get("ENCLOUD_KEYS", EncloudResource.model_fields["sensor_keys"].default),
        customer_ids=os.environ.get("ENCLOUD_CUSTOMER_IDS", ""),
    )
