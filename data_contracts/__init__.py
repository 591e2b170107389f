"""Data contracts: the canonical tables declared once, as data, and the checks built from them."""

from data_contracts.contract import CONTRACTS, Column, Contract

__all__ = ["CONTRACTS", "Column", "Contract"]
