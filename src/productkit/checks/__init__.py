"""Every check, in one registry. Adding a check is adding a function and a line."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..diagnostics import Diagnostic
from .base import CheckContext
from .data import check_data_dictionary
from .dates import check_line_windows, check_version_overlaps
from .documents import (
    check_declarations,
    check_dictionary_names,
    check_duplicates,
    check_effective,
    check_step_ids,
)
from .limits import check_case_collisions, check_name_lengths
from .products import check_line_cycles, check_products
from .references import check_references

__all__ = ["CHECKS", "Check", "CheckContext", "run_checks"]

Check = Callable[[CheckContext], Iterator[Diagnostic]]

CHECKS: tuple[Check, ...] = (
    check_duplicates,
    check_dictionary_names,
    check_declarations,
    check_effective,
    check_step_ids,
    check_name_lengths,
    check_case_collisions,
    check_references,
    check_line_cycles,
    check_products,
    check_data_dictionary,
    check_line_windows,
    check_version_overlaps,
)


def run_checks(ctx: CheckContext, checks: tuple[Check, ...] = CHECKS) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for check in checks:
        out.extend(check(ctx))
    return out
