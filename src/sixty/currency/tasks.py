"""The currency module's background job: fetch the ECB's rates every `currency_refresh_every`."""

from __future__ import annotations

from sixty.core.config import Settings
from sixty.core.http import HttpClient, UpstreamError
from sixty.core.jobs import JobContext, PermanentJobError, registry
from sixty.currency import service

REFRESH_JOB = "currency.refresh"


async def refresh_rates(ctx: JobContext) -> None:
    """A failed fetch is retried by the worker; a file of the wrong shape is not (the next period
    tries again), and stores nothing: the rates already known keep serving."""
    async with HttpClient.from_settings(ctx.settings) as http:
        try:
            await service.refresh(ctx.db, http, service.CurrencyConfig.from_settings(ctx.settings))
        except UpstreamError as error:
            if error.reason == "bad_response":
                raise PermanentJobError(str(error)) from error
            raise


def register(settings: Settings) -> None:
    registry.task(REFRESH_JOB, every=settings.currency_refresh_every)(refresh_rates)
