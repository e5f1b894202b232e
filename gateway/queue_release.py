"""Deliver jobs made due now, wherever they are: waiting deferred in the queue, absent, or (left
alone, and reported) running. Apart from gateway.queue for its size; it works on arq's own keys
as that module does."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms, in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from gateway.queue import JOB_DELIVER

if TYPE_CHECKING:
    from gateway.store import DeliveryRecord

# Make deliver jobs due now. Per job: one still in a worker's hands is left alone and reported
# (it may be about to defer itself); one waiting in the queue is brought forward; one absent
# (finished, dropped, lost) is enqueued as enqueue_many would.
_RELEASE = """
local busy = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('EXISTS', KEYS[3] .. id) == 1 then
    table.insert(busy, id)
  elseif redis.call('SET', KEYS[2] .. id, ARGV[i + 1], 'PX', ARGV[1], 'NX') then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[2], id)
  else
    local score = redis.call('ZSCORE', KEYS[1], id)
    if score and tonumber(score) > tonumber(ARGV[2]) then
      redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
    end
  end
end
return busy
"""


async def release_deliveries(
    redis: ArqRedis, queue: str, deliveries: Sequence[DeliveryRecord], *, patience: float = 5.0
) -> list[int]:
    """Make the deliver jobs of these deliveries due now, whether they wait deferred in the queue
    (arq's `enqueue_job` refuses a job id that exists, so enqueueing again would not hurry them)
    or are not queued at all. A job a worker is running just then (it may be deferring itself
    this instant) is tried again for up to `patience` seconds. Returns the ids of deliveries
    still running after that (they are delivering, or their own backoff brings them)."""
    pending = {d.job_id: d for d in deliveries}
    script = redis.register_script(_RELEASE)
    waited = 0.0
    while pending:
        now = timestamp_ms()
        args: list[object] = [expires_extra_ms, now]
        for job_id, d in pending.items():
            args += [job_id, serialize_job(JOB_DELIVER, (d.id,), {}, None, now)]
        busy = await script(keys=[queue, job_key_prefix, in_progress_key_prefix], args=args)
        pending = {k.decode(): pending[k.decode()] for k in busy}
        if not pending or waited >= patience:
            break
        await asyncio.sleep(0.05)
        waited += 0.05
    return [d.id for d in pending.values()]
