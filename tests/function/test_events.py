"""Event parsing: OCI's alarm messages, manual commands, keepalived notices, and junk."""

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.events import (
    MAX_BODY_BYTES,
    AlarmEvent,
    Command,
    EventError,
    KeepalivedNotice,
    Stream,
    covered_groups,
    parse_event,
    unknown_nodes,
)
from tests.support.function_env import fixture_bytes

ALARM_FIXTURES = [
    "alarm_ok_to_firing_split.json",
    "alarm_repeat_split.json",
    "alarm_firing_to_ok_split.json",
    "alarm_reset_split.json",
    "alarm_ok_to_firing_grouped.json",
    "oci_docs_split_v1.5.json",
    "oci_captured_grouped_v1.5.json",
]


def alarms(event):
    return frozenset(s.alarm_id for s in event.streams)


def firing(event):
    return event.nodes_with("FIRING", alarms(event))


def test_split_firing_message():
    event = parse_event(fixture_bytes("alarm_ok_to_firing_split.json"))
    assert isinstance(event, AlarmEvent)
    assert event.type == "OK_TO_FIRING"
    assert event.key == "4a2c1a4f-7d7e-4f0e-9d7a-1d4c9b3f2e01@1764090000000"
    assert firing(event) == {"node-a"}
    assert dict(event.streams[0].dimensions)["resourceId"] == "ocid1.instance.oc1.iad.aaaaaaaanodea"


@pytest.mark.parametrize(
    "name, dedupe, expected",
    [
        ("oci_docs_split_v1.5.json", "exampleuniqueID", {"wordpress"}),
        ("oci_captured_grouped_v1.5.json", "6b28ce05-7021-4407-b9c0-c5d7896b7361", set()),
    ],
)
def test_published_oci_messages(name, dedupe, expected):
    event = parse_event(fixture_bytes(name))
    assert (event.type, event.dedupe_key, firing(event)) == ("OK_TO_FIRING", dedupe, expected)
    assert all(s.status == "FIRING" for s in event.streams)


def test_grouped_message_keeps_every_stream_and_its_status():
    event = parse_event(fixture_bytes("alarm_ok_to_firing_grouped.json"))
    assert [(s.status, s.node_name()) for s in event.streams] == [
        ("FIRING", "node-a"),
        ("FIRING", "bastion"),
        ("OK", "node-b"),
    ]
    assert firing(event) == {"node-a", "bastion"}
    assert event.nodes_with("OK", alarms(event)) == {"node-b"}


@pytest.mark.parametrize(
    "name, kind",
    [
        ("alarm_repeat_split.json", "REPEAT"),
        ("alarm_firing_to_ok_split.json", "FIRING_TO_OK"),
        ("alarm_reset_split.json", "RESET"),
    ],
)
def test_other_message_types(name, kind):
    event = parse_event(fixture_bytes(name))
    assert event.type == kind
    assert firing(event) == (frozenset({"node-a"}) if kind == "REPEAT" else frozenset())


def test_reset_without_dimensions_is_one_anonymous_stream():
    event = parse_event(fixture_bytes("alarm_reset_split.json"))
    alarm_id = event.streams[0].alarm_id
    assert event.streams == (Stream(status="RESET", dimensions=(), alarm_id=alarm_id, namespace="vip_failover"),)


def test_same_alarm_later_evaluation_has_another_key():
    first = parse_event(fixture_bytes("alarm_ok_to_firing_split.json"))
    repeat = parse_event(fixture_bytes("alarm_repeat_split.json"))
    assert first.dedupe_key == repeat.dedupe_key and first.key != repeat.key


def test_node_dimension_precedence():
    assert Stream("FIRING", (("node", "node-b"), ("resourceDisplayName", "vm-7"))).node_name() == "node-b"
    assert Stream("FIRING", (("resourceDisplayName", "node-a"),)).node_name() == "node-a"
    assert Stream("FIRING", (("resourceId", "ocid1.instance..."),)).node_name() is None


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"action": "status"}, Command("status")),
        ({"action": "failover"}, Command("failover")),
        ({"action": "failover", "to": "node-b", "dry_run": True}, Command("failover", "node-b", dry_run=True)),
        ({"action": "failback", "force": True}, Command("failback", force=True)),
        ({"source": "keepalived", "node": "node-b", "state": "MASTER"}, KeepalivedNotice("node-b", "MASTER")),
        ({"source": "keepalived", "node": "node-a", "state": "BACKUP"}, KeepalivedNotice("node-a", "BACKUP")),
    ],
)
def test_commands_and_notices(body, expected):
    assert parse_event(json.dumps(body).encode()) == expected


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"", "empty body"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{nope", "not JSON"),
        (b"[1, 2]", "JSON object, not list"),
        (b'{"hello": 1}', "unrecognised body"),
        (b'{"action": "reboot"}', "action must be one of"),
        (b'{"action": "failover", "dryrun": true}', "unknown key(s) ['dryrun']"),
        (b'{"action": "failover", "to": 7}', '"to" must be a node name'),
        (b'{"action": "failback", "to": "node-a"}', '"to" only goes with action "failover"'),
        (b'{"action": "status", "dry_run": "yes"}', '"dry_run" must be true or false'),
        (b'{"source": "vrrpd", "node": "a", "state": "MASTER"}', 'source must be "keepalived"'),
        (b'{"source": "keepalived", "state": "MASTER"}', '"node" must be a node name'),
        (b'{"source": "keepalived", "node": "a", "state": "master"}', "state must be one of"),
        (b'{"dedupeKey": "", "type": "REPEAT", "alarmMetaData": [{"status": "FIRING"}]}', "dedupeKey must be"),
        (b'{"dedupeKey": "k", "type": "REPEAT", "alarmMetaData": "x"}', "alarmMetaData must be a list"),
        (b'{"dedupeKey": "k", "type": 7, "alarmMetaData": []}', "type must be a non-empty string"),
        (
            b'{"dedupeKey": "k", "type": "REPEAT", "alarmMetaData": [{"status": "OK", "dimensions": {"a": "b"}}]}',
            "dimensions must be a list",
        ),
        (
            b'{"dedupeKey": "k", "type": "REPEAT", "alarmMetaData": [{"status": "OK", "dimensions": [{"a": 1}]}]}',
            "dimensions[0]",
        ),
        (
            b'{"dedupeKey": "k", "type": "REPEAT", "timestampEpochMillis": "now", "alarmMetaData": [{"status": "OK"}]}',
            "timestampEpochMillis",
        ),
    ],
)
def test_bad_bodies_say_what_is_wrong(body, fragment):
    with pytest.raises(EventError) as err:
        parse_event(body)
    assert fragment in str(err.value)


def test_oversized_body_refused():
    with pytest.raises(EventError, match="too large"):
        parse_event(b" " * (MAX_BODY_BYTES + 1))


def test_deeply_nested_json_is_an_error_not_a_crash():
    with pytest.raises(EventError):
        parse_event(b"[" * 100_000 + b"]" * 100_000)


def test_unknown_nodes():
    names = ["node-a", "node-b"]
    assert unknown_nodes(Command("failover", "node-c"), names) == ["node-c"]
    assert unknown_nodes(Command("failover", "node-b"), names) == []
    assert unknown_nodes(KeepalivedNotice("node-x", "MASTER"), names) == ["node-x"]
    assert unknown_nodes(parse_event(fixture_bytes("alarm_ok_to_firing_grouped.json")), names) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_event_error(body):
    with contextlib.suppress(EventError):
        parse_event(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_parse_or_raise_event_error(value):
    with contextlib.suppress(EventError):
        parse_event(json.dumps(value).encode())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALARM_FIXTURES), st.data())
def test_mutated_alarm_messages_parse_or_raise_event_error(name, data):
    message = json.loads(fixture_bytes(name))
    meta = message["alarmMetaData"][0]
    target = data.draw(st.sampled_from([message, meta]))
    key = data.draw(st.sampled_from(sorted(target)))
    if data.draw(st.booleans()):
        del target[key]
    else:
        target[key] = data.draw(json_values)
    raw = json.dumps(message).encode()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    for body in (raw, raw[:cut]):
        with contextlib.suppress(EventError):
            parse_event(body)


@pytest.mark.parametrize(
    "body, note",
    [
        (b'{"dedupeKey": "k", "type": "FIRING", "alarmMetaData": [{"status": "FIRING"}]}', "alarm type 'FIRING'"),
        (b'{"dedupeKey": "k", "type": "REPEAT", "alarmMetaData": []}', "no alarmMetaData"),
        (b'{"dedupeKey": "k", "type": "REPEAT", "alarmMetaData": [{"status": "ON"}]}', "stream status 'ON'"),
    ],
)
def test_what_is_not_understood_is_recorded_not_refused(body, note):
    assert note in parse_event(body).not_understood


GROUPS = (("ocid1.privateip.oc1.iad.vip", "ocid1.privateip.oc1.iad.vip2"), ("ocid1.ipv6.oc1.iad.vip6",))


def test_a_notice_naming_its_vrrp_instances_vips_covers_only_their_groups():
    notice = parse_event(
        json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER", "vips": list(GROUPS[1])})
    )
    assert notice == KeepalivedNotice("node-b", "MASTER", GROUPS[1])
    assert covered_groups(notice, GROUPS) == (GROUPS[1],)
    both = KeepalivedNotice("node-b", "MASTER", GROUPS[0] + GROUPS[1])
    assert covered_groups(both, GROUPS) == GROUPS
    assert covered_groups(KeepalivedNotice("node-b", "MASTER"), GROUPS) == GROUPS, "no vips: every group"
    assert covered_groups(Command("status"), GROUPS) == GROUPS


def test_a_notice_that_splits_a_group_or_names_a_stranger_is_refused_clearly():
    with pytest.raises(EventError, match=r"only part of the VIP group .*missing ocid1.privateip.oc1.iad.vip2"):
        covered_groups(KeepalivedNotice("node-b", "MASTER", (GROUPS[0][0],)), GROUPS)
    with pytest.raises(EventError, match="'ocid1.privateip.oc1.iad.other' is not a configured VIP"):
        covered_groups(KeepalivedNotice("node-b", "MASTER", ("ocid1.privateip.oc1.iad.other",)), GROUPS)


@pytest.mark.parametrize("vips", [[], "ocid1.ipv6.oc1.iad.vip6", [1], [""], ["a", "a"], [f"v{i}" for i in range(65)]])
def test_malformed_notice_vips_are_refused(vips):
    with pytest.raises(EventError, match='"vips" must'):
        parse_event(json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER", "vips": vips}))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=6),
    st.lists(st.integers(0, 7), min_size=1, max_size=6, unique=True),
)
def test_covered_groups_are_exactly_the_groups_a_notice_names_whole(assignment, named):
    vips = [f"ocid1.privateip.oc1.iad.v{i}" for i in range(len(assignment))]
    groups = tuple(tuple(v for v, g in zip(vips, assignment, strict=True) if g == k) for k in sorted(set(assignment)))
    notice = KeepalivedNotice("node-b", "MASTER", tuple(f"ocid1.privateip.oc1.iad.v{i}" for i in named))
    try:
        chosen = covered_groups(notice, groups)
    except EventError:
        unknown = any(v not in vips for v in notice.vips)
        split = any(set(g) & set(notice.vips) and not set(g) <= set(notice.vips) for g in groups)
        assert unknown or split
        return
    assert {v for g in chosen for v in g} == set(notice.vips), "whole groups, and only those named"
