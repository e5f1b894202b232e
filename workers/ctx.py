"""Typed access to what the worker keeps in arq's `ctx` dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from arq.connections import ArqRedis

from gateway.classify.router import Router
from gateway.config import Settings
from gateway.dedupe import DuplicateFinder
from gateway.queue import backoff
from gateway.store import Store
from workers.casesystem import CaseSystem
from workers.cohort import RoutingBatch


@dataclass
class WorkerState:
    settings: Settings
    store: Store
    router: Router  # RuleRouter, or rules + model (gateway.classify.router)
    duplicates: DuplicateFinder
    case_system: CaseSystem
    session: aiohttp.ClientSession
    templates: Path
    routing: RoutingBatch = field(init=False)  # the router, for the jobs that run side by side

    def __post_init__(self) -> None:
        self.routing = RoutingBatch(self.router)


def state(ctx: dict[str, Any]) -> WorkerState:
    return ctx["gateway"]


def redis(ctx: dict[str, Any]) -> ArqRedis:
    return ctx["redis"]


def retry_delay(ctx: dict[str, Any]) -> float:
    """Seconds before this job's next try, on the delivery backoff settings."""
    settings = state(ctx).settings
    return backoff(ctx.get("job_try", 1), settings.delivery_backoff_base, settings.delivery_backoff_max)
