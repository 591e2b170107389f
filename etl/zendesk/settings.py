"""Constants of the Zendesk source."""

# Zendesk has no native compensation field: a numeric ticket custom field carries it.
COMPENSATION_FIELD_ID = 360000000001

SOURCE = "zendesk"
