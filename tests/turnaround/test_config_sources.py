"""The config's [sources.NAME] tables: any source may have a time zone and a date order;
only what a source's reader reads is accepted beside them."""

from __future__ import annotations

import pytest

from data_contracts.settings import ConfigError
from metrics.settings import load_config
from turnaround.config import source_settings


def _config(tmp_path, text: str):
    path = tmp_path / "turnaround.toml"
    path.write_text(text)
    return load_config(path)


def test_each_source_gets_its_own_settings(tmp_path):
    config = _config(
        tmp_path,
        '[sources.helpdesk]\ntimezone = "Europe/Berlin"\ndate_order = "day-first"\n\n'
        '[sources.freshdesk.statuses]\n"Waiting on Engineering" = "hold"\n\n'
        '[sources.qualtrics]\nnps_question = "Q5"\n',
    )
    settings = source_settings(config)
    assert (settings["helpdesk"].timezone, settings["helpdesk"].date_order) == (
        "Europe/Berlin",
        "day-first",
    )
    assert settings["freshdesk"].values == {"statuses": {"Waiting on Engineering": "hold"}}
    assert settings["qualtrics"].options == {"nps_question": "Q5"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[sources.zendesk_explore.statuses]\n"On hold" = "hold"\n', "'statuses' is not one of"),
        ('[sources.helpdesk]\nnps_question = "Q1"\n', "'nps_question' is not one of"),
        ('[sources.freshdesk.statuses]\n"Parked" = "parked"\n', "'parked' is not one"),
        ('[sources.freshdesk]\ntimezone = "Mars/Base"\n', "timezone is an IANA time zone name"),
        ('[sources.Helpdesk]\ntimezone = "UTC"\n', "[sources.Helpdesk]: a source is named"),
    ],
)
def test_a_setting_a_source_does_not_read_is_an_error_naming_it(tmp_path, text, message):
    with pytest.raises(ConfigError) as refused:
        _config(tmp_path, text)
    assert message in str(refused.value)
