"""Prometheus metrics for `/metrics`.

Intake happens in the HTTP process, deliveries in worker processes. Counters
that workers produce live in one Redis hash (`gateway.queue.STATS_KEY`), so a
scrape of any HTTP process sees the totals of all workers; gauges (queue depth,
meldingen per stage, deliveries per state) are read fresh at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from redis.asyncio import Redis

from gateway import clock
from gateway.melding import DeliveryState
from gateway.queue import DELIVERY_LATENCY_BUCKETS, OUTAGES_FIELD, STATS_KEY, live_workers
from gateway.redis_batch import Command, send
from gateway.store import meldingen

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.store import Store, StoredIntake

DELIVERY_OUTCOMES = ("ok", "failed", "dead")
# Worker counters bumped with `count(redis, "<name without gateway_>_<outcome>")`.
_COUNTED = (
    ("gateway_sms_media", "MMS media fetches by outcome", ("stored", "failed", "retrying")),
    ("gateway_sms_sent", "Outbound SMS messages by outcome", ("sent", "failed", "retrying", "skipped")),
    (
        "gateway_sms_delivery",
        "Outbound SMS delivery receipts and resends (gateway/channels/twilio/sms_status.py)",
        ("delivered", "undelivered", "resent"),
    ),
    ("gateway_status_pushes", "Status pushes to citizen portal feeds by outcome", ("ok", "failed", "dead")),
)


class _SharedCounters:
    """Exposes the last snapshot of the workers' Redis counters."""

    def __init__(self) -> None:
        self.snapshot: dict[str, float] = {}

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        deliveries = CounterMetricFamily(
            "gateway_deliveries", "Delivery attempts to the case system by outcome", labels=["outcome"]
        )
        for outcome in DELIVERY_OUTCOMES:
            deliveries.add_metric([outcome], s.get(f"deliveries_{outcome}", 0.0))
        yield deliveries
        buckets = [(str(b), s.get(f"latency_le_{b}", 0.0)) for b in DELIVERY_LATENCY_BUCKETS]
        buckets.append(("+Inf", s.get("latency_count", 0.0)))
        for name, help_text, outcomes in _COUNTED:
            family = CounterMetricFamily(name, help_text, labels=["outcome"])
            for outcome in outcomes:
                family.add_metric([outcome], s.get(f"{name.removeprefix('gateway_')}_{outcome}", 0.0))
            yield family
        yield CounterMetricFamily(
            "gateway_worker_redis_outages",
            "Redis outages that workers waited out and reconnected after (counted once Redis is back)",
            value=s.get(OUTAGES_FIELD, 0.0),
        )
        yield HistogramMetricFamily(
            "gateway_delivery_latency_seconds",
            "Time from receipt of a melding to its acceptance by the case system",
            buckets=buckets,
            sum_value=s.get("latency_sum", 0.0),
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.intake_total = Counter(
            "gateway_intake",
            "Meldingen offered to intake, by channel and result (created/replayed/conflict)",
            ["channel", "result"],
            registry=self.registry,
        )
        self.intake_rejected = Counter(
            "gateway_intake_rejected",
            "Intake requests refused, by channel and error code",
            ["channel", "code"],
            registry=self.registry,
        )
        self.intake_seconds = Histogram(
            "gateway_intake_duration_seconds",
            "Time to validate, persist and enqueue one melding",
            ["channel"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
        self.inbound_total = Counter(
            "gateway_inbound",
            "Messages received by a channel, by what they became "
            "(melding, followup, duplicate, bounce, auto_reply, mailing_list, own_mail, bulk)",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "gateway_queue_depth", "Jobs waiting in the arq queue", registry=self.registry
        )
        self.workers = Gauge(
            "gateway_workers",
            "Workers connected to Redis and polling (a heartbeat within the last 10 s)",
            registry=self.registry,
        )
        self.meldingen = Gauge(
            "gateway_meldingen", "Meldingen in the store by stage", ["stage"], registry=self.registry
        )
        self.oldest_undelivered = Gauge(
            "gateway_oldest_undelivered_seconds",
            "Age of the oldest melding received or routed but not yet accepted by the case system (0: none)",
            registry=self.registry,
        )
        self.delivery_states = Gauge(
            "gateway_delivery_states", "Deliveries in the store by state", ["state"], registry=self.registry
        )
        self._shared = _SharedCounters()
        self.registry.register(self._shared)  # type: ignore[arg-type]

    def observe_intake(self, channel: str, stored: StoredIntake, seconds: float) -> None:
        result = "created" if stored.created else ("conflict" if stored.conflict else "replayed")
        self.intake_total.labels(channel, result).inc()
        self.intake_seconds.labels(channel).observe(seconds)

    def rejected(self, channel: str, code: str) -> None:
        self.intake_rejected.labels(channel, code).inc()

    async def refresh(self, store: Store, redis: Redis, settings: Settings) -> None:
        self.queue_depth.set(await redis.zcard(settings.queue_name))
        self.workers.set(await live_workers(redis, settings.queue_name, settings.worker_heartbeat_ttl))
        raw = await redis.hgetall(STATS_KEY)
        self._shared.snapshot = {k.decode(): float(v) for k, v in raw.items()}
        counts = await store.read(meldingen.counts)
        for stage, n in counts["stage"].items():
            self.meldingen.labels(stage).set(n)
        for state, n in counts["delivery"].items():
            self.delivery_states.labels(state).set(n)
        for state in DeliveryState:  # dead 0 is a value to alert on, not a missing series
            if state.value not in counts["delivery"]:
                self.delivery_states.labels(state.value).set(0)
        oldest = await store.read(meldingen.oldest_undelivered)
        self.oldest_undelivered.set(0 if oldest is None else max(0.0, (clock.now() - oldest).total_seconds()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def record_delivery(redis: Redis, outcome: str, latency: float | None = None) -> None:
    """Called by workers: bump the shared counters (sent with the other jobs' commands of the
    moment, gateway.redis_batch)."""
    commands = [Command(("HINCRBY", STATS_KEY, f"deliveries_{outcome}", 1))]
    if latency is not None:
        commands.append(Command(("HINCRBYFLOAT", STATS_KEY, "latency_sum", latency)))
        commands.append(Command(("HINCRBY", STATS_KEY, "latency_count", 1)))
        for bound in DELIVERY_LATENCY_BUCKETS:
            if latency <= bound:
                commands.append(Command(("HINCRBY", STATS_KEY, f"latency_le_{bound}", 1)))
    await send(redis, commands)


async def count(redis: Redis, field: str) -> None:
    """Called by workers: bump one shared counter (see `_COUNTED`)."""
    await redis.hincrby(STATS_KEY, field, 1)
