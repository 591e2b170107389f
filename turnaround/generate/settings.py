"""Tunable constants of the demo data generator, as data.

All times are UTC. Shares are probabilities that sum to 1 within their mapping; the order of
every mapping is part of the seeded output, so reordering one changes the data.
"""

from __future__ import annotations

import datetime as dt

from data_contracts.recovery_rules import IN_RECOVERY, NEVER_FAILED, UNRECOVERED

# The export moment: fixed, so the same seed gives the same files on any day.
END_AT = dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=dt.UTC)
HISTORY_DAYS = 730  # the window the tickets and responses cover

# --- customers -----------------------------------------------------------------------------
EXISTING_SHARE = 0.45  # customers already signed up when the window opens
EXISTING_MAX_TENURE_DAYS = 1095  # ... up to three years before it
SIGNUP_GROWTH = 1.0  # new signups per day at the window's end are (1 + this) x at its start

SEGMENTS = {"smb": 0.65, "mid_market": 0.25, "enterprise": 0.10}
PLANS_BY_SEGMENT = {
    "smb": {"basic": 0.70, "pro": 0.30, "enterprise": 0.00},
    "mid_market": {"basic": 0.20, "pro": 0.65, "enterprise": 0.15},
    "enterprise": {"basic": 0.00, "pro": 0.20, "enterprise": 0.80},
}
MRR_BY_PLAN = {"basic": (59.0, 0.35), "pro": (320.0, 0.45), "enterprise": (2400.0, 0.60)}
REGIONS = {"na": 0.45, "emea": 0.30, "apac": 0.15, "latam": 0.10}

# Churn: a constant monthly rate per segment while nothing goes wrong ...
MONTHLY_CHURN_BY_SEGMENT = {"smb": 0.022, "mid_market": 0.014, "enterprise": 0.008}
# ... multiplied by the customer's recovery state at the moment (docs/metrics.md, Customer
# recovery groups).
CHURN_HAZARD_RATIO = {NEVER_FAILED: 1.0, IN_RECOVERY: 1.5, UNRECOVERED: 2.6}
# Recovered customers: hazard ratio RECOVERED_CHURN_HAZARD_RATIO ** retention_effect. The
# default effect 0 churns them as never-failed customers churn (no paradox on retention).
RECOVERED_CHURN_HAZARD_RATIO = 0.95

# --- NPS survey ----------------------------------------------------------------------------
SURVEY_INTERVAL_DAYS = 90  # every active customer is surveyed once a quarter
SURVEY_MIN_TENURE_DAYS = 30  # ... once they have been a customer for a month
RESPONSE_PROPENSITY = (2.0, 4.5)  # beta(a, b) per customer: mean response rate ~0.31
RESPONSE_DELAY_HOURS = 30.0  # mean (exponential) from invitation to answer
NPS_BASELINE = (8.1, 1.0)  # per-customer mean score and its spread across customers
NPS_NOISE = 1.3  # spread of one answer around the customer's mean
# Shift of the mean score by recovery state at the time of the answer.
NPS_SHIFT = {NEVER_FAILED: 0.0, IN_RECOVERY: -1.0, UNRECOVERED: -2.6}
RECOVERED_NPS_SHIFT = 0.6  # multiplied by nps_effect (default 0: no paradox on NPS)
COMMENT_SHARE = 0.35
COMMENTS = {
    "promoter": (
        "Great support, they sorted it out quickly.",
        "Always helpful, thank you!",
        "The team went above and beyond.",
        "Easy to use and reliable.",
        "Support fixed my problem the same day.",
    ),
    "passive": (
        "Good product, support could be faster.",
        "Does the job.",
        "Fine overall, a few rough edges.",
        "Billing is a bit confusing, otherwise ok.",
    ),
    "detractor": (
        "Waited days for an answer.",
        "My issue was never really fixed.",
        "Too many problems with deliveries lately.",
        "Had to explain the same thing to three different agents.",
        "Charged twice and still waiting for the refund.",
    ),
}

# --- tickets -------------------------------------------------------------------------------
TICKETS_PER_ACTIVE_YEAR = 4.6  # mean over customers; calibrated to ~5 per customer overall
TICKET_RATE_SHAPE = 1.5  # gamma shape of a customer's rate: a few customers write a lot
# Ticket creation by hour of day (UTC, Mon-Fri); weekends are WEEKEND_FACTOR of that.
HOURLY_WEIGHT = (0.12, 0.10, 0.08, 0.08, 0.10, 0.15, 0.30, 0.55, 0.85, 1.00, 1.00, 0.95) + (
    0.90,
    0.95,
    1.00,
    0.95,
    0.85,
    0.70,
    0.55,
    0.45,
    0.40,
    0.32,
    0.25,
    0.18,
)
WEEKEND_FACTOR = 0.35

CHANNELS = {"email": 0.34, "web": 0.24, "chat": 0.18, "voice": 0.10, "social": 0.06, "api": 0.08}
CHANNEL_FAILURE_FACTOR = {
    "email": 1.0,
    "web": 0.9,
    "chat": 0.75,
    "voice": 1.3,
    "social": 1.7,
    "api": 0.6,
}
# First reply: (median, log-normal sigma) in business minutes after the ticket arrives.
CHANNEL_REPLY_BUSINESS_MINUTES = {
    "email": (150.0, 0.9),
    "web": (120.0, 0.9),
    "chat": (2.0, 0.8),
    "voice": (1.0, 0.6),
    "social": (60.0, 1.0),
    "api": (240.0, 0.9),
}
FRONTLINE_CHANNELS = ("chat", "voice", "social")  # routed to Tier 1 first
# Zendesk's via.channel for each canonical channel: Zendesk has no "social" channel, it names
# the network; Turnaround's Zendesk reader maps these back to the canonical words.
ZENDESK_VIA_CHANNEL = {
    "email": "email",
    "web": "web",
    "chat": "chat",
    "voice": "voice",
    "social": "twitter",
    "api": "api",
}

# Groups: Zendesk group ids; tickets carry the id, the name is for people reading this file.
GROUPS = {
    "Tier 1": 360001000011,
    "Tier 2": 360001000012,
    "Billing": 360001000013,
    "Logistics": 360001000014,
    "Technical": 360001000015,
}
AGENTS_PER_GROUP = 8
AGENT_ID_BASE = 361000000100

AREAS = {
    "billing": {
        "share": 0.24,
        "failure_rate": 0.26,
        "group": "Billing",
        "failure_tags": ("billing_error", "complaint"),
        "other_tags": ("invoice_copy", "refund_request", "plan_change"),
        "compensation_median": 40.0,
    },
    "shipping": {
        "share": 0.26,
        "failure_rate": 0.36,
        "group": "Logistics",
        "failure_tags": ("late_delivery", "wrong_item", "defect", "complaint"),
        "other_tags": ("tracking", "address_change", "returns"),
        "compensation_median": 25.0,
    },
    "app": {
        "share": 0.30,
        "failure_rate": 0.28,
        "group": "Technical",
        "failure_tags": ("bug", "outage", "defect"),
        "other_tags": ("how_to", "feature_request", "integration"),
        "compensation_median": 60.0,
    },
    "account": {
        "share": 0.20,
        "failure_rate": 0.12,
        "group": "Tier 1",
        "failure_tags": ("complaint",),
        "other_tags": ("password_reset", "user_access", "gdpr_request"),
        "compensation_median": 20.0,
    },
}
# How a failure shows: its type, and whether it also carries a failure tag.
FAILURE_TYPES = {"incident": 0.45, "problem": 0.15, "question": 0.25, "task": 0.05, "": 0.10}
FAILURE_TAGGED_WHEN_TYPED = 0.5  # incidents/problems that also carry a failure tag
OTHER_TYPES = {"question": 0.60, "task": 0.15, "": 0.25}  # "" = no type set
OTHER_TAG_SHARE = 0.6
PRIORITIES_FAILURE = {"low": 0.05, "normal": 0.42, "high": 0.33, "urgent": 0.15, "": 0.05}
PRIORITIES_OTHER = {"low": 0.25, "normal": 0.53, "high": 0.10, "urgent": 0.02, "": 0.10}

NO_REPLY_SHARE = 0.03  # solved without a public reply (duplicates, spam, self-solved)
NO_REPLY_WORK_SHARE = 0.125  # ... in this share of the usual resolution time
STUCK_SHARE = 0.015  # never solved: forgotten on hold or waiting on the customer
UNSOLVED_STATUSES = {"open": 0.5, "pending": 0.35, "hold": 0.15}  # once replied
# Resolution after the first reply: (median, sigma) in business minutes.
RESOLVE_BUSINESS_MINUTES = {"failure": (600.0, 1.1), "other": (240.0, 1.1)}
TRANSFER_SLOWDOWN = 0.8  # each extra group adds this share of the resolution time
CLOSE_AFTER_DAYS = 4  # solved tickets close after four days (Zendesk's default automation)
TRANSFER_TO_AREA_GROUP = {"failure": 0.6, "other": 0.3}  # from Tier 1 to the area's group
ESCALATE_TECHNICAL_FAILURE = 0.35  # Technical failures escalated on to Tier 2
REASSIGN_WITHIN_GROUP = 0.12
REOPEN_RATE = {"failure": 0.12, "other": 0.04}
REOPENED_TWICE = 0.2  # of reopened tickets
EXTRA_REPLY_CONTINUE = {"failure": 0.7, "other": 0.45}  # chance of each further reply
# CSAT: offered on solved tickets (never on API tickets: null there), answered by some.
CSAT_OFFERED = 0.85
CSAT_ANSWERED = 0.45
CSAT_DELAY_HOURS = 6.0  # mean wait (exponential) from solve to the rating
# A rating is bad with these odds: an ordinary ticket of a customer of average satisfaction
# has CSAT_BAD_BASE; each of these multiplies the odds where it applies ...
CSAT_BAD_BASE = 0.05
CSAT_BAD_ODDS = {"failure": 6.0, "reopened": 5.0, "handoff": 1.6, "slow": 2.0}
# ... and so does each point of the customer's mean NPS score (NPS_BASELINE) above the
# average: one latent satisfaction sways both, so a customer who scores NPS low also tends to
# rate tickets bad.
CSAT_MOOD_ODDS = 0.35
# A recovered failure's rating (solved, never reopened): odds RECOVERED_CSAT_ODDS **
# csat_effect. At the default its CSAT is above ordinary solved tickets' (the satisfaction
# paradox the meta-analysis found); other tickets of the customer are unchanged.
RECOVERED_CSAT_ODDS = 0.08
SLOW_RESOLUTION_DAYS = 3
COMPENSATION_SHARE = 0.18  # of solved failures
COMPENSATION_SIGMA = 0.7

SUBJECTS = {
    "billing": ("Question about my invoice", "Charged twice this month", "Update payment card"),
    "shipping": ("Where is my order?", "Wrong item delivered", "Parcel arrived damaged"),
    "app": ("App crashes on login", "Sync not working", "How do I export reports?"),
    "account": ("Cannot log in", "Add a user to our account", "Change account owner"),
}
DESCRIPTION = "{subject}\n\nCould you please help? Thanks."

# --- identifiers ---------------------------------------------------------------------------
FIRST_TICKET_ID = 10001
USER_ID_BASE = 362000000000
DELIGHTED_PERSON_BASE = 500000000
ZENDESK_URL = "https://turnaround-demo.zendesk.com/api/v2"
DELIGHTED_PERMALINK = "https://app.delighted.com/r/{token}"
# Person names, space-separated.
FIRST_NAMES = (
    "Ada Alex Ana Ben Carla Chen Dana Elif Emma Femi Grace Hana Ivan Jon Kai Lena Luis Maya "
    "Mia Noah Nora Omar Pia Priya Raj Rosa Sam Sara Tom Yara Yuki Zoe"
)
LAST_NAMES = (
    "Adams Baker Costa Diaz Evans Fischer Garcia Hansen Ito Jones Kim Lopez Martin Nakamura "
    "Novak Okafor Patel Quinn Rossi Silva Smith Tanaka Usman Virtanen Wang Weber Yilmaz Zhou"
)
