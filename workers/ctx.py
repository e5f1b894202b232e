"""Typed access to what the worker keeps in arq's `ctx` dict."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class WorkerState:
    settings: Settings
    store: Store
    router: Router  # RuleRouter, or rules + model (gateway.classify.router)
    duplicates: DuplicateFinder
    case_system: CaseSystem
    session: aiohttp.ClientSession
    templates: Path


def state(ctx: dict[str, Any]) -> WorkerState:
    return ctx["gateway"]


def redis(ctx: dict[str, Any]) -> ArqRedis:
    return ctx["redis"]


def retry_delay(ctx: dict[str, Any]) -> float:
    """Seconds before this job's next try, on the delivery backoff settings."""
    settings = state(ctx).settings
    return backoff(ctx.get("job_try", 1), settings.delivery_backoff_base, settings.delivery_backoff_max)
