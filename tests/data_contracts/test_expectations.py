"""data_contracts.expectations: the GX suite is generated from the contract, nothing more."""

from __future__ import annotations

import pytest

from data_contracts import CONTRACTS
from data_contracts.expectations import checks, expectation_suite


def _expected_statements(table: str) -> int:
    contract = CONTRACTS[table]
    scalar = [c for c in contract.columns if c.type != "text_list"]
    return (
        sum(c.required for c in scalar)
        + sum(c.allowed is not None for c in scalar)
        + sum(c.min is not None or c.max is not None for c in scalar)
        + len(contract.quality)
    )


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_one_expectation_per_contract_statement(table: str):
    suite = expectation_suite(table)
    assert suite.name == f"{table}_contract"
    assert len(suite.expectations) == _expected_statements(table)


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_check_names_are_unique(table: str):
    names = [c.name for c in checks(table)]
    assert len(names) == len(set(names))


def test_nps_suite_lists_required_and_range_checks():
    suite = expectation_suite("nps_responses")
    assert [(e.expectation_type, e.description) for e in suite.expectations] == [
        ("expect_column_values_to_not_be_null", "response_id is required"),
        ("expect_column_values_to_not_be_null", "customer_id is required"),
        ("expect_column_values_to_not_be_null", "responded_at is required"),
        ("expect_column_values_to_not_be_null", "score is required"),
        ("expect_column_values_to_be_between", "score is at least 0 and at most 10"),
    ]
    score = suite.expectations[-1]
    assert (score.min_value, score.max_value) == (0, 10)


def test_allowed_values_become_a_set_check():
    status = next(c for c in checks("tickets") if c.name == "status_in_set")
    assert status.expectation.value_set == [
        *("new", "open", "pending", "hold", "solved", "closed", "deleted", "other")
    ]


def test_not_before_allows_equal_and_ignores_missing_values():
    rule = next(c for c in checks("tickets") if c.name == "solved_at_not_before_created_at")
    pair = rule.expectation
    assert pair.expectation_type == "expect_column_pair_values_a_to_be_greater_than_b"
    assert (pair.column_A, pair.column_B) == ("solved_at", "created_at")
    assert pair.or_equal is True
    assert pair.ignore_row_if == "either_value_is_missing"


def test_text_list_columns_are_not_checked():
    assert all(c.column != "tags" for c in checks("tickets"))


def test_each_call_builds_fresh_expectations():
    first, second = expectation_suite("customers"), expectation_suite("customers")
    assert first.expectations[0] is not second.expectations[0]
