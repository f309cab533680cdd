"""What every vendor's Dagster resource shares: how patiently its client talks HTTP."""

from dagster import ConfigurableResource

from pipelines.http import DEFAULT_CONCURRENCY, RetryPolicy


class VendorResource(ConfigurableResource):
    """Base of the vendor resources: request timeout and retry settings, overridable per vendor."""

    timeout_s: float = 30.0
    max_attempts: int = 6
    backoff_base_s: float = 0.5
    # Pages of one walk where the API reports no total to derive a budget from.
    max_pages: int = RetryPolicy.max_pages
    # Walks of pages in flight at once where a landing function has several (DSMR meters, BAXO
    # device batches); 1 still fetches the next page while the current one is written.
    concurrency: int = DEFAULT_CONCURRENCY

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, backoff_base_s=self.backoff_base_s, max_pages=self.max_pages)
