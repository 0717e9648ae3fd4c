"""The one frozen options object that travels through every stage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Options"]


@dataclass(frozen=True, slots=True)
class Options:
    """Settings of a run. Stages read it; nothing keeps module-level state."""

    max_file_bytes: int = 1024 * 1024
    max_depth: int = 32
    strict: bool = False
    release_date: dt.date | None = None
    calendar: str = "CN"
    targets: tuple[str, ...] = ("forms", "bpmn", "openapi")  # output targets besides the definitions, by name
    language: str = "zh-CN"  # labels of targets that write one language (BPMN element names)
    version_discipline: Literal["warning", "error"] = "warning"  # content changed under the same version
    # Where unchanged files and products are remembered between runs: "auto" is the user cache
    # folder ($PRODUCTKIT_CACHE_DIR, $XDG_CACHE_HOME/productkit or ~/.cache/productkit), never
    # the catalogue; a path names another folder; None disables it.
    cache: Path | Literal["auto"] | None = "auto"

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r}: expected one of {', '.join(LANGUAGES)}")
        if self.release_date is not None and not RELEASE_DATES[0] <= self.release_date <= RELEASE_DATES[1]:
            raise ValueError(f"release date {self.release_date} is outside {RELEASE_DATES[0]}..{RELEASE_DATES[1]}")


LANGUAGES = ("zh-CN", "en")
RELEASE_DATES = (dt.date(2000, 1, 1), dt.date(2999, 12, 31))  # T+n stays far inside the calendar
