"""ONS 20181201 handlers: GetTopic, ListSubscriptions, DeleteSubscription, PublishMessage."""

from __future__ import annotations

from ocisim.errors import InvalidParameter, MissingParameter, not_found
from ocisim.notifications.delivery import publish
from ocisim.notifications.models import subscription_summary, topic_resource
from ocisim.service import Call, Reply, paginate


def get_topic(call: Call) -> Reply:
    topic = call.state.topics.get(call.params["topicId"])
    if topic is None:
        raise not_found("Topic", call.params["topicId"])
    body = topic_resource(topic, call.backend.endpoint)
    return Reply.resource(body, body["etag"])


def list_subscriptions(call: Call) -> Reply:
    compartment_id = call.query.get("compartmentId")
    if not compartment_id:
        raise MissingParameter("compartmentId is required")
    topic_id = call.query.get("topicId")
    return paginate(
        [
            subscription_summary(s)
            for s in call.state.subscriptions.values()
            if s.get("compartmentId") == compartment_id and topic_id in (None, s["topicId"])
        ],
        call.query,
    )


async def publish_message(call: Call) -> Reply:
    topic_id = call.params["topicId"]
    with call.backend.lock:
        known = topic_id in call.state.topics
    if not known:
        raise not_found("Topic", topic_id)
    details = call.json()
    if not isinstance(details, dict) or not isinstance(details.get("body"), str):
        raise InvalidParameter("body (a string) is required")
    title = details.get("title")
    if title is not None and not isinstance(title, str):
        raise InvalidParameter("title must be a string")
    message_id = publish(call.backend, topic_id, details["body"])
    now = call.backend.clock.iso_now()
    with call.backend.lock:
        call.state.log_message(
            {"messageId": message_id, "topicId": topic_id, "title": title, "body": details["body"], "time": now}
        )
    return Reply(body={"messageId": message_id, "timeStamp": now}, status=202)


def delete_subscription(call: Call) -> Reply:
    subscription_id = call.params["subscriptionId"]
    with call.backend.lock:
        before = dict(call.state.subscriptions.get(subscription_id) or {})
        deleted = call.state.delete_subscription(subscription_id)
    if not deleted:
        raise not_found("Subscription", subscription_id)
    call.audit(subscription_id, before, call.state.subscriptions[subscription_id])
    return Reply(status=204)
