"""Partner platforms of the open API: who may call, which products each may sell, how often.

A partners file (YAML or JSON) lists each partner with the sha256 of its API key, never the key::

    partners:
      - id: P100231
        name: Example e-commerce platform
        key_sha256: "sha256:5d41402abc4b2a76b9719d911017c592..."
        products: ["wallet.*", deposit.partner-time-deposit]   # ids or globs
        rate_limit: 120                                          # requests per minute

``productkit partner-key`` prints a new key and the line to put in the file. A key is looked up by
its hash, so the file never holds a secret and a key cannot be read back from it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._build import read_regular
from .errors import InvalidArgument

__all__ = ["Partner", "Partners", "RateLimiter", "hash_key", "new_key"]

_MAX_FILE = 4 * 1024 * 1024


class _PartnerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    name: str | None = Field(None, max_length=200)
    key_sha256: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    products: list[str] = Field(min_length=1)
    rate_limit: int = Field(600, ge=1, le=1_000_000, description="requests per minute")


class _PartnersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    partners: list[_PartnerSpec]


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner platform: its id, the products (ids or globs) it may sell, its rate limit."""

    id: str
    products: tuple[str, ...]
    rate_limit: int = 600
    name: str | None = None

    def sells(self, product_id: str) -> bool:
        return any(fnmatch.fnmatchcase(product_id, pattern) for pattern in self.products)


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A new API key (256 random bits, URL-safe) and its hash for the partners file."""
    key = "pk_" + secrets.token_urlsafe(32)
    return key, hash_key(key)


class Partners:
    """The partners of a file, looked up by the hash of the key a request presents."""

    def __init__(self, partners: Mapping[str, Partner]) -> None:
        self._by_hash = dict(partners)

    @classmethod
    def load(cls, path: str | Path) -> Partners:
        """Read a partners file; InvalidArgument naming the problem when it cannot be used."""
        try:
            raw = yaml.load(read_regular(Path(path), _MAX_FILE), Loader=yaml.CSafeLoader)
            spec = _PartnersFile.model_validate(raw)
        except OSError as exc:
            raise InvalidArgument(f"{path}: cannot read the partners file: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"{path}: not YAML or JSON: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidArgument(f"{path}: {where}: {first['msg']}") from None
        return cls.of(spec.partners)

    @classmethod
    def of(cls, specs: Sequence[_PartnerSpec]) -> Partners:
        by_hash: dict[str, Partner] = {}
        ids: set[str] = set()
        for p in specs:
            if p.id in ids or p.key_sha256 in by_hash:
                raise InvalidArgument(f"partner {p.id}: its id or key is listed twice")
            ids.add(p.id)
            by_hash[p.key_sha256] = Partner(p.id, tuple(p.products), p.rate_limit, p.name)
        return cls(by_hash)

    def authenticate(self, key: str | None) -> Partner | None:
        """The partner whose key this is, or None."""
        if not key:
            return None
        digest = hash_key(key)
        for known, partner in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return partner
        return None

    def __len__(self) -> int:
        return len(self._by_hash)


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """A token bucket per partner: ``rate_limit`` requests per minute, bursts up to that many."""

    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, partner: Partner) -> int:
        """0 when the request may go ahead, else the whole seconds to wait before the next."""
        per_second = partner.rate_limit / 60.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(partner.id, _Bucket(float(partner.rate_limit), now))
            bucket.tokens = min(float(partner.rate_limit), bucket.tokens + (now - bucket.at) * per_second)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / per_second))
