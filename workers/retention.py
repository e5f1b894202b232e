"""The daily retention job (gateway/retention.py): closed meldingen past `retention_days` lose
their personal data."""

from __future__ import annotations

import logging
from typing import Any

from gateway.retention import run_retention
from workers.ctx import state

log = logging.getLogger(__name__)

# arq's default job timeout (the worker's, a minute) is for one melding's job; the first run on a
# store with years of closed meldingen takes longer. Cut off, it goes on where it stopped next day.
TIMEOUT = 3600
RUN_AT = {"hour": {3}, "minute": {30}, "second": {0}}  # a quiet hour, the worker's local time


async def retention(ctx: dict[str, Any]) -> dict[str, int]:
    s = state(ctx)
    if s.settings.retention_days == 0:
        return {}
    done = await run_retention(s.store, s.settings)
    if done.total():
        log.info("retention: personal data removed", extra=done.as_dict())
    return done.as_dict()
