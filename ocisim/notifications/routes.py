"""ONS 20181201 paths as NotificationControlPlaneClient / NotificationDataPlaneClient send them."""

from ocisim.notifications import handlers as h
from ocisim.service import Route

BASE = "/20181201"

ROUTES = [
    Route("GET", f"{BASE}/topics/{{topicId}}", "GetTopic", h.get_topic),
    Route("GET", f"{BASE}/subscriptions", "ListSubscriptions", h.list_subscriptions),
    Route("DELETE", f"{BASE}/subscriptions/{{subscriptionId}}", "DeleteSubscription", h.delete_subscription),
    Route("POST", f"{BASE}/topics/{{topicId}}/messages", "PublishMessage", h.publish_message),
]
