"""The account's plan decides how many requests the tap sends at once and per minute, unless the user says.

Why: monday limits requests per minute and requests in flight per *account*, by plan (rate-limits page,
https://developer.monday.com/api-reference/docs/rate-limits): Enterprise 5,000 per minute and 250 in flight,
Pro 2,500 and 100, every other plan 1,000 and 40. A fixed default must fit the smallest plan, and on a
bigger one it leaves most of the capacity unused exactly where a whole sync needs it (the small streams,
the child lists, the item batches and the asset lists of a sync all go at once). So when the user sets
neither ``max_concurrency`` nor ``requests_per_minute`` (EngineSettings.limits_from_plan names those left
unset), the sync asks for the plan once, beside its first request (``queries.ACCOUNT_PLAN_QUERY``), and takes
the share of that plan's limits in ``settings.TAP_SHARES``; the rest stays free for the account's other
clients, which draw from the same limits. A setting the user gives is used as it is.

Until the answer arrives, and whenever the plan cannot be read (an error, an unknown tier, an account in
its trial, whose limits are the smallest plan's), the smallest plan's share applies: the defaults the tap
always had.
"""

from __future__ import annotations

import dataclasses
import logging

import msgspec

from tap_monday_boards import queries
from tap_monday_boards.engine.runtime import EngineRuntime
from tap_monday_boards.engine.settings import SMALLEST_PLAN, share_for
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import MondayFatalAPIError

logger = logging.getLogger(__name__)


OPERATION = "AccountTier"
PRIORITY = 2
"""The board listing's governor priority (account.LISTING_PRIORITY): the two go first, side by side."""


async def apply_plan_limits(runtime: EngineRuntime, transport: Transport) -> None:
    """Ask for the account's plan and apply its share to the settings left unset (runtime and governor).

    Never raises for a failed or odd answer: the run goes on with the smallest plan's share (a warning says
    why); a wrong token fails the run through the requests that need data."""
    unset = runtime.settings.limits_from_plan
    if not unset:
        return
    request = Request(OPERATION, queries.ACCOUNT_PLAN_QUERY, {}, kind=OPERATION, priority=PRIORITY,
                      context=f"query {OPERATION}")  # fmt: skip
    try:
        data = await transport.send(request)
    except Exception as exc:  # any failure: the smallest plan's numbers, said once
        # a token monday refuses fails the run through the requests that need data: no second warning
        (logger.info if isinstance(exc, MondayFatalAPIError) else logger.warning)(
            "could not read the account's plan (%s); using the smallest plan's limits: %d requests in "
            "flight, %d per minute (set max_concurrency / requests_per_minute to choose)",
            exc,
            SMALLEST_PLAN.max_concurrency,
            SMALLEST_PLAN.requests_per_minute,
        )
        return
    account = data.get("account")
    share = share_for(account)
    learned = {name: getattr(share, name) for name in unset}
    runtime.settings = dataclasses.replace(runtime.settings, **learned)
    runtime.governor.set_limits(**learned)
    logger.info(
        "account plan: %s (monday's answer: %s); %s by the plan (set them to choose): %s requests in flight "
        "(monday allows %s per account), %s per minute (of %s)",
        share.plan,
        msgspec.json.encode(account).decode() if account is not None else "no account",
        " and ".join(unset),
        f"{runtime.settings.max_concurrency:,}",
        f"{share.account_concurrency:,}",
        f"{runtime.settings.requests_per_minute:,}",
        f"{share.account_requests_per_minute:,}",
    )
