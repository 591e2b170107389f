"""Row clean-up of Zendesk objects, tested without any file or pipeline."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.identity import email_customer_id, redact_emails
from etl.sources.zendesk.settings import COMPENSATION_FIELD_ID
from etl.sources.zendesk.transforms import (
    FieldError,
    channel_of,
    compensation_of,
    identity_row,
    ticket_metric_row,
    ticket_row,
    to_id,
    to_tags,
    to_utc,
)

KEY = "test-hash-key"


def ticket(**fields) -> dict:
    base = {
        "id": 42,
        "via": {"channel": "email"},
        "created_at": "2024-03-01T09:00:00Z",
        "updated_at": "2024-03-02T10:00:00Z",
        "status": "solved",
        "requester_id": 7,
    }
    return base | fields


@pytest.mark.parametrize(
    ("via_channel", "channel"),
    [
        ("email", "email"),
        ("web", "web"),
        ("web_form", "web"),
        ("web_widget", "web"),
        ("mobile", "web"),
        ("mobile_sdk", "web"),
        ("help_center", "web"),
        ("chat", "chat"),
        ("native_messaging", "chat"),
        ("messaging", "chat"),
        ("chat_transcript", "chat"),
        ("voice", "voice"),
        ("phone_call_inbound", "voice"),
        ("phone_call_outbound", "voice"),
        ("voicemail", "voice"),
        ("twitter", "social"),
        ("facebook", "social"),
        ("instagram_dm", "social"),
        ("whatsapp", "social"),
        ("wechat", "social"),
        ("line", "social"),
        ("any_channel", "social"),
        ("sms", "social"),
        ("api", "api"),
        ("sample_ticket", "other"),
        ("rule", "other"),
        ("closed_ticket", "other"),
        (None, "other"),
    ],
)
def test_channel_of_maps_every_zendesk_channel(via_channel, channel):
    assert channel_of(via_channel) == channel


def test_ticket_row_maps_the_ticket_fields():
    row = ticket_row(
        ticket(
            type="incident",
            priority="high",
            tags=["complaint", "vip"],
            group_id=360003074836,
            assignee_id=360786799676,
            satisfaction_rating={"score": "bad", "comment": "slow"},
        )
    )
    assert row == {
        "ticket_id": "42",
        "requester_id": "7",
        "created_at": dt.datetime(2024, 3, 1, 9, 0),
        "updated_at": dt.datetime(2024, 3, 2, 10, 0),
        "status": "solved",
        "channel": "email",
        "type": "incident",
        "priority": "high",
        "tags": ["complaint", "vip"],
        "group_name": "360003074836",
        "assignee_id": "360786799676",
        "csat": "bad",
        "compensation": None,
        "follow_up_of": None,
    }


def test_a_follow_up_names_the_ticket_it_came_from():
    via = {"channel": "web", "source": {"rel": "follow_up", "from": {"ticket_id": 41}, "to": {}}}
    assert ticket_row(ticket(via=via))["follow_up_of"] == "41"
    other = {"channel": "web", "source": {"rel": None, "from": {"ticket_id": 41}, "to": {}}}
    assert ticket_row(ticket(via=other))["follow_up_of"] is None


def test_ticket_row_keeps_nulls_and_unknown_status_as_given():
    row = ticket_row(ticket(status="deleted", type=None, priority=None, tags=None))
    assert (row["status"], row["type"], row["priority"], row["tags"]) == ("deleted", None, None, [])
    assert row["csat"] is None  # no satisfaction_rating at all


@pytest.mark.parametrize("rating", [None, {}, {"score": None}])
def test_csat_is_null_without_a_rating_score(rating):
    assert ticket_row(ticket(satisfaction_rating=rating))["csat"] is None


@pytest.mark.parametrize(
    ("fields", "amount"),
    [
        ([{"id": COMPENSATION_FIELD_ID, "value": "25.50"}], 25.5),
        ([{"id": 1, "value": "9"}, {"id": COMPENSATION_FIELD_ID, "value": 10}], 10.0),
        ([{"id": str(COMPENSATION_FIELD_ID), "value": 3.25}], 3.25),
        ([{"id": COMPENSATION_FIELD_ID, "value": ""}], None),
        ([{"id": COMPENSATION_FIELD_ID, "value": None}], None),
        ([{"id": 1, "value": "9"}], None),
        ([], None),
        (None, None),
    ],
)
def test_compensation_comes_from_the_configured_custom_field(fields, amount):
    assert compensation_of(fields) == amount


def test_a_compensation_that_is_not_a_number_rejects_the_ticket():
    fields = [{"id": COMPENSATION_FIELD_ID, "value": "a voucher"}]
    with pytest.raises(FieldError, match="custom_fields: 'a voucher' is not an amount"):
        ticket_row(ticket(custom_fields=fields))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T09:00:00Z", dt.datetime(2024, 3, 1, 9, 0)),
        ("2024-03-01T11:00:00+02:00", dt.datetime(2024, 3, 1, 9, 0)),
        ("2024-03-01T09:00:00", dt.datetime(2024, 3, 1, 9, 0)),  # naive is UTC
        ("2024-03-01T09:00:00.250Z", dt.datetime(2024, 3, 1, 9, 0, 0, 250000)),
        (None, None),
    ],
)
def test_to_utc_gives_naive_utc(text, expected):
    assert to_utc(text) == expected


@pytest.mark.parametrize(
    "bad", ["yesterday", "2024-13-01T00:00:00Z", "2024-03-01T09:00:00+02:00Z", 1700000000]
)
def test_an_unparseable_created_at_rejects_the_ticket(bad):
    with pytest.raises(FieldError, match="created_at: .* is not an ISO 8601 timestamp"):
        ticket_row(ticket(created_at=bad))


@pytest.mark.parametrize(("value", "text"), [(145, "145"), ("145", "145"), (145.0, "145")])
def test_to_id_accepts_numbers_and_their_digits(value, text):
    assert to_id(value) == text


@pytest.mark.parametrize("bad", ["abc", "12a", True, 1.5, {"id": 1}])
def test_a_non_numeric_id_rejects_the_ticket(bad):
    with pytest.raises(FieldError, match="id: .* is not a numeric id"):
        ticket_row(ticket(id=bad))


def test_a_ticket_without_id_is_rejected():
    with pytest.raises(FieldError, match="has no id"):
        ticket_row(ticket(id=None))


def test_to_tags_drops_empty_tags_and_control_characters():
    assert to_tags(["a", "", None, "b\x1fc", " d "]) == ["a", "bc", "d"]
    assert to_tags("one two") == ["one", "two"]


def test_ticket_metric_row_maps_the_metric_fields():
    metric = {
        "id": 9515133612047,
        "ticket_id": 160,
        "updated_at": "2024-08-19T16:19:27Z",
        "solved_at": "2024-04-17T15:11:00Z",
        "replies": 2,
        "reopens": 1,
        "assignee_stations": 1,
        "group_stations": 3,
        "reply_time_in_minutes": {"calendar": 97667, "business": 23040},
        "first_resolution_time_in_minutes": {"calendar": 98000, "business": 23100},
    }
    assert ticket_metric_row(metric) == {
        "ticket_id": "160",
        "reply_minutes": 97667,
        "first_reply_business_minutes": 23040,
        "solved_at": dt.datetime(2024, 4, 17, 15, 11),
        "agent_replies": 2,
        "reopens": 1,
        "assignee_stations": 1,
        "group_stations": 3,
        "first_resolution_minutes": 98000,
        "updated_at": dt.datetime(2024, 8, 19, 16, 19, 27),
    }


def test_missing_metric_fields_are_null():
    row = ticket_metric_row({"ticket_id": 5, "reply_time_in_minutes": None})
    assert row["ticket_id"] == "5"
    assert all(value is None for name, value in row.items() if name != "ticket_id")


def test_a_non_numeric_reply_count_rejects_the_metric():
    with pytest.raises(FieldError, match="replies: 'two' is not a whole number"):
        ticket_metric_row({"ticket_id": 5, "replies": "two"})


def test_identity_prefers_the_external_id():
    user = {"id": 7, "external_id": "CRM-001", "email": "Ann@Example.com"}
    assert identity_row(user, KEY) == {
        "user_id": "7",
        "customer_id": "CRM-001",
        "email_hash": email_customer_id("ann@example.com", KEY),  # kept for forget EMAIL
    }


def test_identity_hashes_the_email_when_there_is_no_external_id():
    row = identity_row({"id": 7, "external_id": None, "email": "Ann@Example.com"}, KEY)
    hashed = email_customer_id("ann@example.com", KEY)
    assert row == {"user_id": "7", "customer_id": hashed, "email_hash": hashed}


def test_identity_hashes_an_external_id_that_is_an_email():
    row = identity_row({"id": 7, "external_id": "ann@example.com"}, KEY)
    assert row["customer_id"] == email_customer_id("ann@example.com", KEY)


def test_identity_falls_back_to_the_user_id():
    assert identity_row({"id": 7, "role": "end-user"}, KEY)["customer_id"] == "7"


def test_redact_emails_removes_addresses_from_raw_text():
    raw = '{"email": "integration-test+amber@airbyte.io", "name": "Amber"}'
    assert redact_emails(raw) == '{"email": "<email>", "name": "Amber"}'


def test_redact_emails_removes_an_address_cut_off_by_a_truncated_line():
    assert redact_emails('{"id": 1, "email": "pat.lee@exa') == '{"id": 1, "email": "<email>'
    assert redact_emails("mail pat@") == "mail <email>"
    assert redact_emails("ping @team about it") == "ping @team about it"  # no address there
