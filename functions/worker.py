"""Queue trigger: run one slice of one sync run per message."""

from __future__ import annotations

import azure.functions as func

from shared.pipeline.worker import Worker
from shared.runtime import get_runtime

bp = func.Blueprint()


@bp.service_bus_queue_trigger(
    arg_name="message", queue_name="%SYNC_QUEUE_NAME%", connection="ServiceBusConnection"
)
def sync_worker(message: func.ServiceBusMessage) -> None:
    # An InvalidMessage propagates: its audit row is written once, and Service Bus
    # dead-letters the message after its max delivery count.
    Worker(get_runtime()).handle(message.get_body())
