"""The built catalogue as channel services see it: verified product versions, what is on sale
where and for whom, parameters as exact values, journeys and forms.

A Catalog is immutable once loaded and safe to share between threads. It reads only what
``productkit build`` wrote (``manifest.json``, ``definitions/``, ``forms/``), never the YAML.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

import semantic_version
from jsonschema import Draft7Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from ..ir import (
    APPLICATION_DATE_VARIABLE,
    BUSINESS_UTC_OFFSETS,
    CHANNEL_VARIABLE,
    FieldDef,
    Rule,
    Step,
    WorkflowDefinition,
    business_date,
)
from ._build import Build, read_build
from ._expr import holds
from ._quick import QuickCheck, quick_check
from ._values import Problem, coerce, param_value
from .errors import ConditionError, NotFound, NotOffered
from .views import Deferred, Form, ProductVersion, Screen, build_screen

__all__ = ["Catalog", "flatten", "form_of", "screen_of"]


def flatten(data: Mapping[str, object], keep: Collection[str] = (), prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted paths (``{"applicant": {"age": 30}}`` -> ``applicant.age``).

    Paths in ``keep`` are values themselves (a money ``{amount, currency}``) and stay whole."""
    out: dict[str, object] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        kind = type(value)  # the exact types first: asking the Mapping ABC costs a call of its own
        if (kind is dict or (kind not in _LEAVES and isinstance(value, Mapping))) and path not in keep:
            out.update(flatten(value, keep, path + "."))  # type: ignore[arg-type]  # a Mapping: no cast() call
        else:
            out[path] = value
    return out


_LEAVES = frozenset({str, int, bool, float, type(None)})  # values no Mapping can be


class Catalog:
    """A verified build. Load with :meth:`Catalog.load`."""

    def __init__(self, build: Build) -> None:
        self._build = build
        self._versions: dict[str, list[ProductVersion]] = {}
        for pv in build.products:
            self._versions.setdefault(pv.id, []).append(pv)
        for versions in self._versions.values():
            versions.sort(key=lambda pv: semantic_version.Version(pv.version))
        self._param_values: dict[str, dict[str, object]] = {}
        self._validators: dict[tuple[str, str], Validator] = {}
        self._quick: dict[tuple[str, str], QuickCheck | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, build_dir: str | os.PathLike[str],
             trusted_keys: Sequence[bytes | str] | None = None, *, verify: str = "lazy") -> Catalog:
        """Read and verify a build folder; CatalogError (listing every problem) when it is
        missing, half-written, tampered with or inconsistent.

        ``trusted_keys`` (Ed25519 public keys: PEM, raw bytes or base64) require the build to be
        signed by one of them (``productkit build --sign``): an unsigned build, another key, or a
        manifest changed after signing is refused.

        ``verify="lazy"`` (the default) checks the manifest, the signature and the folder now, and
        each product version's definition and forms when the version is first used: a CatalogError
        then names that version's problems, and the other versions keep working. ``verify="all"``
        reads and checks every file now (a deployment check, ``productkit serve --verify all``)."""
        if verify not in ("lazy", "all"):
            raise ValueError(f"verify is 'lazy' or 'all', not {verify!r}")
        return cls(read_build(Path(build_dir), trusted_keys, lazy=verify == "lazy"))

    def with_definition(self, defn: WorkflowDefinition, digest: str) -> Catalog:
        """A copy in which the version ``defn`` names runs ``defn`` (its forms kept), under
        ``digest``: what mutation testing runs a product's scenarios against."""
        clone = copy.copy(self)
        key = f"{defn.id}@{defn.version}"
        clone._versions = {pid: [dataclasses.replace(pv, content=Deferred(content=(defn, pv.forms)), digest=digest)
                                 if pv.key == key else pv for pv in versions]
                           for pid, versions in self._versions.items()}
        clone._param_values = {k: v for k, v in self._param_values.items() if k != key}
        clone._lock = threading.Lock()
        return clone

    def business_date(self, at: dt.datetime) -> dt.date:
        """The date of ``at`` on the clock of the build's business calendar (what decides what is
        on sale, and an application's date), wherever this service runs."""
        return business_date(at, BUSINESS_UTC_OFFSETS.get(self._build.calendar, "+00:00"))

    def close(self) -> None:
        """Let ``productkit build`` sweep this build once it is retired (see :class:`Lease`);
        product versions not read yet can then no longer be read."""
        if self._build.lease is not None:
            self._build.lease.release()

    def _params_of(self, pv: ProductVersion, on: dt.date | None = None) -> dict[str, object]:
        found = self._param_values.get(pv.key)
        if found is None:
            found = {n: param_value(p) for n, p in pv.definition.parameters.items()}
            with self._lock:
                self._param_values[pv.key] = found
        if on is None:
            return found
        dated = {n: param_value(p, on) for n, p in pv.definition.parameters.items() if p.schedule}
        return {**found, **dated} if dated else found

    @property
    def root(self) -> Path:
        return self._build.root

    @property
    def digest(self) -> str:
        return self._build.digest

    @property
    def release_date(self) -> dt.date | None:
        return self._build.release_date

    def sealed_file(self, rel: str) -> bytes:
        """A build-wide file the manifest seals (``openapi.json``), verified against its seal
        when read; CatalogError when it is missing or was edited after the build."""
        return self._build.sealed(rel)

    def __iter__(self) -> Iterator[ProductVersion]:
        return iter(self._build.products)

    def versions(self, product_id: str) -> list[ProductVersion]:
        """Every version of a product in the build, oldest first."""
        if product_id not in self._versions:
            raise NotFound(f"no product {product_id!r} in the catalogue")
        return list(self._versions[product_id])

    def entry(self, product_id: str, version: str | None = None) -> ProductVersion:
        """One product version; the newest in the build when ``version`` is None."""
        versions = self.versions(product_id)
        if version is None:
            return versions[-1]
        for pv in versions:
            if pv.version == version:
                return pv
        raise NotFound(f"no version {version} of {product_id!r}; the build has "
                       + ", ".join(pv.version for pv in versions))

    def current(self, product_id: str, channel: str, on: dt.date) -> ProductVersion:
        """The newest version on sale on ``channel`` on ``on``."""
        for pv in reversed(self.versions(product_id)):
            if channel in pv.channels and pv.on_sale(on):
                return pv
        raise NotOffered(f"{product_id} is not on sale on {channel} on {on.isoformat()}")

    def products(self, channel: str, on: dt.date | None = None,
                 customer: Mapping[str, object] | None = None) -> list[ProductVersion]:
        """What ``channel`` offers on ``on`` (default today) to ``customer``.

        One version per product (the newest on sale). Eligibility rules are evaluated against
        the customer's data; a rule that needs data the customer context lacks does not exclude
        the product (it is checked again when the application collects the data)."""
        day = on or self.business_date(dt.datetime.now(dt.UTC))
        out = []
        for product_id in sorted(self._versions):
            try:
                pv = self.current(product_id, channel, day)
            except NotOffered:
                continue
            if customer is None or not self.failing_rules(pv, channel, customer, day):
                out.append(pv)
        return out

    def failing_rules(self, pv: ProductVersion, channel: str, customer: Mapping[str, object],
                      on: dt.date | None = None) -> list[Rule]:
        """The eligibility rules ``customer`` (nested or dotted data) fails on day ``on`` (the
        application date, default today). A rule needing data the customer context lacks is not
        failed: it is checked when the data is submitted."""
        defn, day = pv.definition, on or business_date(dt.datetime.now(dt.UTC), pv.definition.utc_offset)
        env = {**self._params_of(pv, day), **flatten(customer, defn.context), CHANNEL_VARIABLE: channel,
               APPLICATION_DATE_VARIABLE: day}
        failed = []
        for rule in defn.rules:
            if rule.kind != "eligibility":
                continue
            try:
                if not holds(rule.condition, env, defn.derived):
                    failed.append(rule)
            except ConditionError:
                continue
        return failed

    def definition(self, product_id: str, version: str | None = None) -> WorkflowDefinition:
        """The workflow definition; the newest version in the build when ``version`` is None."""
        return self.entry(product_id, version).definition

    def parameters(self, product_id: str, version: str | None = None,
                   on: dt.date | None = None) -> Mapping[str, object]:
        """Parameter values: Decimal for decimal, percent and money amounts, int, bool, date;
        ``on`` an application date, the dated values (campaigns) in effect for it."""
        return dict(self._params_of(self.entry(product_id, version), on))

    def journey(self, product_id: str, channel: str, version: str | None = None) -> list[Screen]:
        """The screens ``channel`` shows, in order, with default values."""
        pv = self.entry(product_id, version)
        steps = pv.definition.journeys.get(channel)
        if steps is None:
            raise NotFound(f"{pv.key} has no journey on {channel}")
        params = self._params_of(pv, self.business_date(dt.datetime.now(dt.UTC)))  # today's dated values
        return [self.screen(pv, pv.definition.steps[sid], channel, {}, params) for sid in steps]

    def form(self, product_id: str, step_id: str, channel: str,
             version: str | None = None) -> Form:
        pv = self.entry(product_id, version)
        step = pv.definition.steps.get(step_id)
        form = form_of(pv, step, channel) if step is not None else None
        if form is None:
            raise NotFound(f"{pv.key} has no form for step {step_id!r} on {channel}")
        return form

    def validator(self, pv: ProductVersion, form: Form) -> Validator:
        """The (cached) draft-07 validator (the forms target's dialect) of a form, with format checks on."""
        key = (pv.key, form.path)
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                # The dialect the form declares; draft-07, the forms target's, by default.
                kind = validator_for(form.schema, default=Draft7Validator)
                found = kind(form.schema, format_checker=kind.FORMAT_CHECKER)
                self._validators[key] = found
        return found

    def quick_check(self, pv: ProductVersion, form: Form) -> QuickCheck | None:
        """The (cached) compiled yes/no check of a form's schema, where it agrees with
        :meth:`validator` (see :mod:`productkit.runtime._quick`); None elsewhere."""
        key = (pv.key, form.path)
        try:
            return self._quick[key]
        except KeyError:
            found = self._quick[key] = quick_check(form.schema)  # the same answer on a race
            return found

    def screen(self, pv: ProductVersion, step: Step, channel: str,
               data: Mapping[str, object], params: Mapping[str, object] | None = None) -> Screen:
        """A user step as ``channel`` shows it, prefilled from ``data`` and field defaults."""
        params = self._params_of(pv, self.business_date(dt.datetime.now(dt.UTC))) if params is None else params
        fields = {p: f for p, f in step.fields.items() if f.channels is None or channel in f.channels}
        return screen_of(step, form_of(pv, step, channel), fields, data, params)


def screen_of(step: Step, form: Form | None, fields: Mapping[str, FieldDef], data: Mapping[str, object],
              params: Mapping[str, object]) -> Screen:
    """:meth:`Catalog.screen` of a step whose form and fields on the channel are known (the
    engine keeps them per definition, step and channel)."""
    values: dict[str, object] = {}
    for path, fd in fields.items():
        if path in data:
            values[path] = data[path]
        elif fd.default is not None:
            try:
                values[path] = coerce(fd, fd.default)
            except Problem:
                values[path] = fd.default
    wanted = step.shows
    shows = {n: data[n] if n in data else params[n] for n in wanted if n in data or n in params} if wanted else {}
    return build_screen(step.id, step.component, step.title, step.actor, tuple(step.candidate_groups),
                        form, dict(fields), values, shows, step.due)  # the screen's own fields


def form_of(pv: ProductVersion, step: Step, channel: str) -> Form | None:
    """The form of a user step: the channel's, or the staff form of a staff step."""
    if step.actor == "staff":
        return pv.forms.get((step.id, "staff")) or pv.forms.get((step.id, channel))
    return pv.forms.get((step.id, channel))
