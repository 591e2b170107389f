"""Constants of the Zendesk source."""

# Zendesk has no native compensation field: a numeric ticket custom field carries it.
COMPENSATION_FIELD_ID = 360000000001

SOURCE = "zendesk"
FORMAT_NAME = "zendesk_json"

# The streams Turnaround reads, and the ReadResult frame each one fills.
STREAM_TABLES: dict[str, str] = {
    "tickets": "tickets",
    "ticket_metrics": "ticket_metrics",
    "users": "identities",
    "groups": "groups",
    "satisfaction_ratings": "ratings",
}

# Keys of a record that name or reach a person (a user's name, alias and phone; the caller
# a ticket came from, under via.source.from): redacted in quarantine, in every stream (a
# group's name goes too: a line cut short cannot say which stream it was).
PERSON_FIELDS = ("name", "alias", "phone", "formatted_phone", "shared_phone_number")

# Keys of an API page (or a single-object response) that carry a stream under another name:
# `include=metric_sets` side-loads ticket metrics; `GET /tickets/{id}` returns {"ticket": {}}.
PAGE_KEYS: dict[str, str] = {
    "tickets": "tickets",
    "ticket_metrics": "ticket_metrics",
    "users": "users",
    "groups": "groups",
    "satisfaction_ratings": "satisfaction_ratings",
    "metric_sets": "ticket_metrics",
}
SINGLE_OBJECT_KEYS: dict[str, str] = {
    "ticket": "tickets",
    "ticket_metric": "ticket_metrics",
    "user": "users",
    "group": "groups",
}

# Stream names of the Zendesk Support connectors (Airbyte source-zendesk-support, Singer
# tap-zendesk). Records of these streams mark a file as Zendesk even when Turnaround skips them.
KNOWN_STREAMS: frozenset[str] = frozenset(
    {
        *STREAM_TABLES,
        "account_attributes",
        "articles",
        "attribute_definitions",
        "audit_logs",
        "brands",
        "custom_roles",
        "group_memberships",
        "macros",
        "organization_fields",
        "organization_memberships",
        "organizations",
        "post_comments",
        "posts",
        "satisfaction_ratings",
        "schedules",
        "sla_policies",
        "tags",
        "ticket_activities",
        "ticket_audits",
        "ticket_comments",
        "ticket_fields",
        "ticket_forms",
        "ticket_metric_events",
        "ticket_skips",
        "topics",
        "user_fields",
        "user_identities",
    }
)

# Bare API objects (JSON Lines without a wrapper) are recognised by the fields they carry:
# the first stream whose fields are all present wins, so the order matters (tickets and
# organizations carry `external_id` too, so users come last).
BARE_OBJECT_FIELDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("ticket_metrics", frozenset({"ticket_id", "reply_time_in_minutes"})),
    ("tickets", frozenset({"via", "requester_id", "status"})),
    ("ticket_metric_events", frozenset({"ticket_id", "metric", "instance_id"})),
    ("satisfaction_ratings", frozenset({"ticket_id", "score"})),
    ("ticket_comments", frozenset({"author_id", "body"})),
    ("organizations", frozenset({"domain_names"})),
    ("brands", frozenset({"brand_url"})),
    ("users", frozenset({"role"})),
    ("users", frozenset({"email"})),
    ("users", frozenset({"external_id"})),
)

# Zendesk `via.channel` -> canonical channel; any other value is "other" (sample_ticket,
# rule, closed_ticket, api-created follow-ups...).
CHANNELS: dict[str, str] = {
    "email": "email",
    **dict.fromkeys(
        ("web", "web_form", "web_widget", "mobile", "mobile_sdk", "help_center"), "web"
    ),
    **dict.fromkeys(("chat", "native_messaging", "messaging", "chat_transcript"), "chat"),
    **dict.fromkeys(("voice", "phone_call_inbound", "phone_call_outbound", "voicemail"), "voice"),
    **dict.fromkeys(
        (
            "twitter",
            "facebook",
            "instagram_dm",
            "whatsapp",
            "wechat",
            "line",
            "any_channel",
            "sms",
        ),
        "social",
    ),
    "api": "api",
}
OTHER_CHANNEL = "other"
