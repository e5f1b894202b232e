"""Typed keys for what the app factory puts on the application."""

from __future__ import annotations

from aiohttp import web
from arq.connections import ArqRedis

from gateway.config import Settings
from gateway.intake import Intake
from gateway.metrics import Metrics
from gateway.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REDIS = web.AppKey("redis", ArqRedis)
INTAKE = web.AppKey("intake", Intake)
METRICS = web.AppKey("metrics", Metrics)
