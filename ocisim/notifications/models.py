"""Notifications state: topics, subscriptions (OCI's JSON), and the log of delivery attempts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DELIVERY_LOG = 500
MAX_MESSAGE_LOG = 500
PROTOCOLS = ("ORACLE_FUNCTIONS",)
DEFAULT_CREATED = "2026-01-01T00:00:00.000Z"
# OCI's retry policy for deliveries: two hours, exponential (ocisim.notifications.delivery).
DELIVERY_POLICY = {"backoffRetryPolicy": {"maxRetryDuration": 7_200_000, "policyType": "EXPONENTIAL"}}


def _etag(resource: Mapping[str, Any]) -> str:
    """An etag that changes whenever the stored resource does."""
    return hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:32]


def topic_resource(topic: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """GetTopic's NotificationTopic. `apiEndpoint` is the emulator's own: a client that
    publishes to the topic's endpoint stays on this machine."""
    return {
        "shortTopicId": topic["topicId"].rsplit(".", 1)[-1][:10],
        "description": None,
        "timeCreated": DEFAULT_CREATED,
        "freeformTags": {},
        "definedTags": {},
        **topic,
        "apiEndpoint": endpoint,
        "etag": _etag(topic),
    }


def subscription_summary(subscription: Mapping[str, Any]) -> dict[str, Any]:
    """ListSubscriptions' SubscriptionSummary."""
    return {
        "createdTime": 1767225600000,
        "deliveryPolicy": DELIVERY_POLICY,
        "freeformTags": {},
        "definedTags": {},
        **subscription,
        "etag": _etag(subscription),
    }


@dataclass
class NotificationsState:
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    # Every PublishMessage as it was accepted (whatever the topic's subscriptions), so a test
    # reads what an email subscriber of the topic would receive.
    messages: list[dict[str, Any]] = field(default_factory=list)

    def active_subscriptions(self, topic_id: str) -> list[dict[str, Any]]:
        return [
            s
            for s in self.subscriptions.values()
            if s["topicId"] == topic_id and s.get("lifecycleState", "ACTIVE") == "ACTIVE"
        ]

    def log_delivery(self, entry: dict[str, Any]) -> None:
        self.deliveries.append(entry)
        del self.deliveries[:-MAX_DELIVERY_LOG]

    def log_message(self, entry: dict[str, Any]) -> None:
        self.messages.append(entry)
        del self.messages[:-MAX_MESSAGE_LOG]

    def delete_subscription(self, subscription_id: str) -> bool:
        """DeleteSubscription: the subscription stays listed as DELETED and receives nothing."""
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None or subscription.get("lifecycleState") == "DELETED":
            return False
        subscription["lifecycleState"] = "DELETED"
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "topics": list(self.topics.values()),
            "subscriptions": list(self.subscriptions.values()),
            "deliveries": self.deliveries,
            "messages": self.messages,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> NotificationsState:
        return cls(
            {t["topicId"]: t for t in raw.get("topics", [])},
            {s["id"]: s for s in raw.get("subscriptions", [])},
            list(raw.get("deliveries", [])),
            list(raw.get("messages", [])),
        )


def seed(topology: Mapping[str, Any], backend: Any) -> NotificationsState:
    """Topics and subscriptions from the topology; a subscription must name a known topic and,
    for ORACLE_FUNCTIONS, a function of the topology (its endpoint is the function OCID)."""
    state = NotificationsState.from_json(
        {"topics": topology.get("topics", []), "subscriptions": topology.get("subscriptions", [])}
    )
    functions = {f["id"] for f in topology.get("functions", [])}
    for sub in state.subscriptions.values():
        if sub["topicId"] not in state.topics:
            raise ValueError(f"subscription {sub['id']}: unknown topic {sub['topicId']}")
        if sub["protocol"] not in PROTOCOLS:
            raise ValueError(f"subscription {sub['id']}: protocol {sub['protocol']} is not emulated")
        if sub["endpoint"] not in functions:
            raise ValueError(f"subscription {sub['id']}: endpoint {sub['endpoint']} is not a topology function")
        sub.setdefault("lifecycleState", "ACTIVE")
    for topic in state.topics.values():
        topic.setdefault("lifecycleState", "ACTIVE")
    return state
