"""Emulated OCI Notifications: topics and ORACLE_FUNCTIONS subscriptions from the topology.

Monitoring's alarms and PublishMessage both go through ``delivery.publish``, which invokes the
subscribed function through the Functions service with OCI's at-least-once retries.
"""

from ocisim.notifications.delivery import cancel_deliveries, start_deliveries
from ocisim.notifications.models import NotificationsState, seed
from ocisim.notifications.routes import ROUTES
from ocisim.service import Service

SERVICE = Service(
    name="notifications",
    routes=ROUTES,
    seed=seed,
    load=NotificationsState.from_json,
    dump=NotificationsState.to_json,
    start=start_deliveries,
    stop=cancel_deliveries,
    depends_on=("functions",),
)
