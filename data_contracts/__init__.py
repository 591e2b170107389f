"""Data contracts: the canonical tables declared once, as data, and the checks built from them."""

from data_contracts.contract import CANONICAL_TABLES, CONTRACTS, Column, Contract
from data_contracts.side_tables import SIDE_TABLES, SideTable

__all__ = ["CANONICAL_TABLES", "CONTRACTS", "SIDE_TABLES", "Column", "Contract", "SideTable"]
