"""Change governance: every rule of the classification has a golden diff (a planted change on a
copy of a small catalogue, built and compared with the build before it), release notes in both
languages, the release gate, classified manifest changes, kept versions and version discipline."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casekit import GoldenCheck
from productkit import cli
from productkit.build import Release, build
from productkit.changes import side_of_build
from productkit.diff import ChangeClass, diff
from productkit.notes import render_notes
from productkit.options import Options
from productkit.runtime import Catalog

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "cases" / "valid" / "deposit_line"
GOLDEN = HERE / "fixtures" / "changes"
OPTS = Options(release_date=dt.date(2026, 9, 30), cache=None)
RUN = CliRunner()
PRODUCT = "products/one-year.yaml"


def _edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        file = root / path
        text = file.read_text("utf-8")
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, 1), "utf-8")
    return apply


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for edit in edits:
            edit(root)
    return apply


def _new_handler(root: Path) -> None:
    (root / "components" / "notify.yaml").write_text(
        "apiVersion: productkit/v1\nkind: ProcessComponent\nid: notify.sms\nversion: 1.0.0\n"
        "title: {zh-CN: 短信通知, en: SMS notice}\nhandler: notify.sms.send\n", "utf-8")
    _edit("products/line.yaml", "  - id: open\n", "  - id: notify\n    use: notify.sms@^1\n  - id: open\n")(root)


def _major_component(root: Path) -> None:
    _edit("components/open.yaml", "version: 1.0.0", "version: 2.0.0")(root)
    _edit("products/line.yaml", "use: core.open-deposit@^1", "use: core.open-deposit@^2")(root)


BUMP = _edit(PRODUCT, "version: 1.0.0", "version: 1.1.0")

# name -> (planted change, the class of the product change, the change kinds it shows)
RULES: dict[str, tuple[Callable[[Path], None], str, list[str]]] = {
    "rate-within-bounds": (_both(BUMP, _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80")),
                           "configuration", ["parameter", "version-retired"]),
    "label": (_both(BUMP, _edit(PRODUCT, "en: 1-year time deposit", "en: One-year time deposit")),
              "configuration", ["label", "version-retired"]),
    "effective-date": (_both(BUMP, _edit(PRODUCT, "effective: {from: T+1}", "effective: {from: T+3}")),
                       "configuration", ["effective", "version-retired"]),
    "version-not-bumped": (_edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80"), "breaking",
                           ["parameter", "version-not-bumped"]),
    "step-added": (lambda root: _both(BUMP, _with_consent_screen)(root), "assembly",
                   ["step-added", "version-retired"]),
    "rule-added": (_both(BUMP, _edit(PRODUCT, "parameters:\n", "rules:\n  - {id: adult, kind: eligibility, "
                                     "expr: 'true', message: {zh-CN: 成年, en: Adults}}\nparameters:\n")),
                   "assembly", ["rule", "version-retired"]),
    "channel-removed": (_edit("products/line.yaml", "channels: [mobile, web]", "channels: [mobile]"), "breaking",
                        ["channel-removed", "form", "version-not-bumped"]),
    "new-handler": (_both(BUMP, _new_handler), "code", ["handler-needed", "step-added", "version-retired"]),
    "component-major": (_both(BUMP, _major_component), "code", ["component", "version-retired"]),
    "screen-removed-in-a-new-version": (_both(BUMP, _edit("products/line.yaml", "  - id: consent\n    use: "
                                                          "ui.consent@^1\n", "")),
                                        "assembly", ["step-removed", "version-retired"]),
    "screen-removed": (_edit("products/line.yaml", "  - id: consent\n    use: ui.consent@^1\n", ""),
                       "breaking", ["step-removed", "version-not-bumped"]),
    "form-changed-in-place": (_edit("components/form.yaml", "    type: string\n",
                                    "    type: string\n    max_length: 40\n"), "breaking",
                              ["form", "version-not-bumped"]),
    "product-removed": (lambda root: (root / PRODUCT).unlink(), "breaking", ["product-removed"]),
}


def _with_consent_screen(root: Path) -> None:
    """A second screen that nothing else needs, so that removing it leaves a valid product."""
    (root / "components" / "consent.yaml").write_text(
        "apiVersion: productkit/v1\nkind: UIComponent\nid: ui.consent\nversion: 1.0.0\n"
        "title: {zh-CN: 同意条款, en: Terms}\nchannels: [mobile, web]\nfields:\n  consent.terms:\n"
        "    type: boolean\n    label: {zh-CN: 我已阅读, en: I have read the terms}\n", "utf-8")
    _edit("products/line.yaml", "  - id: open\n", "  - id: consent\n    use: ui.consent@^1\n  - id: open\n")(root)


def _built(root: Path, out: Path) -> Path:
    result = build([root], out, OPTS)
    assert not result.failed(), result.diagnostics
    return out


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    root = tmp_path / "cat"
    shutil.copytree(SOURCE, root)
    return root


def _golden_view(result: object) -> dict[str, object]:
    data = result.to_json()  # type: ignore[attr-defined]
    for product in data["products"]:
        for change in product["changes"]:
            change.pop("detail", None)  # digests and provenance: shown, but not pinned here
    return data


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_classifies_its_change(name: str, catalogue: Path, tmp_path: Path, golden: GoldenCheck) -> None:
    if name.startswith("screen-removed"):
        _with_consent_screen(catalogue)
    base = _built(catalogue, tmp_path / "base")
    plant, cls, kinds = RULES[name]
    plant(catalogue)
    head = _built(catalogue, tmp_path / "head")
    result = diff(side_of_build(base), side_of_build(head))
    worst = max(result.products, key=lambda p: ["configuration", "assembly", "code", "breaking"].index(p.cls))
    assert worst.cls == cls
    assert sorted({c.kind for p in result.products for c in p.changes}) == kinds
    golden(GOLDEN / f"{name}.json", json.dumps(_golden_view(result), ensure_ascii=False, indent=2,
                                               sort_keys=True) + "\n")


def test_release_notes_in_both_languages(catalogue: Path, tmp_path: Path, golden: GoldenCheck) -> None:
    base = _built(catalogue, tmp_path / "base")
    _both(BUMP, _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80"), _new_handler,
          _edit("products/line.yaml", "channels: [mobile, web]", "channels: [mobile, web, counter]"))(catalogue)
    _edit("components/form.yaml", "channels: [mobile, web]", "channels: [mobile, web, counter]")(catalogue)
    head = _built(catalogue, tmp_path / "head")
    result = diff(side_of_build(base), side_of_build(head))
    for lang in ("zh-CN", "en"):
        text = render_notes(result, lang)
        golden(GOLDEN / f"release-notes.{lang}.md", text)
        assert "annual_rate" not in text  # business words, not YAML names
    entries = json.loads(render_notes(result, "en", "json"))["entries"]
    assert [(e["id"], e["version"], e["class"], e["effective"]) for e in entries] == [
        ("deposit.time-1y", "1.1.0", "code", "2026-10-08"), ("deposit.time-1y", "1.0.0", "configuration", None)]
    assert len(entries[0]["changes"]) == 5 and len(entries[1]["changes"]) == 1


def test_the_gate_refuses_what_it_does_not_allow(catalogue: Path, tmp_path: Path) -> None:
    out = _built(catalogue, tmp_path / "b")
    before = (out / "manifest.json").read_bytes()
    configuration = Release(allow=frozenset({ChangeClass.CONFIGURATION}), keep_versions=1)
    _both(BUMP, _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80"))(catalogue)
    assert not build([catalogue], out, OPTS, release=configuration).failed()
    _both(_edit(PRODUCT, "version: 1.1.0", "version: 1.2.0"), _new_handler)(catalogue)
    refused = build([catalogue], out, OPTS, release=configuration)
    assert [d.code for d in refused.diagnostics if d.severity.value == "error"] == ["PK509"]
    assert "code change" in refused.diagnostics[-1].message and "notify.sms.send" in refused.diagnostics[-1].message
    assert (out / "manifest.json").read_bytes() != before  # the first (allowed) build landed ...
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert "notify" not in json.dumps(manifest["products"])  # ... the refused one did not


def test_build_allow_on_the_command_line(catalogue: Path, tmp_path: Path) -> None:
    out = _built(catalogue, tmp_path / "b")
    _both(BUMP, _new_handler)(catalogue)
    result = RUN.invoke(cli.app, ["build", str(catalogue), "--out", str(out), "--release-date", "2026-09-30",
                                  "--allow", "configuration,assembly", "--no-cache"])
    assert result.exit_code == 1 and "PK509" in result.output
    assert RUN.invoke(cli.app, ["build", str(catalogue), "--out", str(out), "--allow", "config"]).exit_code == 2


def test_the_manifest_carries_the_classes(catalogue: Path, tmp_path: Path) -> None:
    out = _built(catalogue, tmp_path / "b")
    _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80")(catalogue)
    _built(catalogue, out)
    changes = json.loads((out / "manifest.json").read_text("utf-8"))["changes"]
    assert changes["changed"] == ["deposit.time-1y@1.0.0"]
    assert changes["products"] == [{"id": "deposit.time-1y", "version": "1.0.0", "base_version": "1.0.0",
                                    "class": "breaking", "kinds": ["parameter", "version-not-bumped"]}]


def test_kept_versions_stay_for_applications_in_flight(catalogue: Path, tmp_path: Path) -> None:
    out = _built(catalogue, tmp_path / "b")
    _both(BUMP, _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80"))(catalogue)
    result = build([catalogue], out, OPTS, release=Release(keep_versions=1))
    assert not result.failed(), result.diagnostics
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert [(p["version"], p.get("kept", False)) for p in manifest["products"]] == [("1.0.0", True), ("1.1.0", False)]
    assert [p["class"] for p in manifest["changes"]["products"]] == ["configuration"]  # nothing retired
    catalog = Catalog.load(out)
    assert [pv.version for pv in catalog.versions("deposit.time-1y")] == ["1.0.0", "1.1.0"]
    assert catalog.entry("deposit.time-1y").version == "1.1.0"  # new applications start on the new one


def test_content_changed_without_a_version_bump_is_reported(catalogue: Path, tmp_path: Path) -> None:
    out = _built(catalogue, tmp_path / "b")
    _edit("components/kyc.yaml", "title: {zh-CN:", "description: checks the applicant\ntitle: {zh-CN:")(catalogue)
    warned = build([catalogue], out, OPTS)
    found = [d for d in warned.diagnostics if d.code == "PK508"]
    assert len(found) == 1 and found[0].location.file.endswith("components/kyc.yaml")
    assert found[0].severity.value == "warning" and not warned.failed()
    _edit("components/kyc.yaml", "checks the applicant", "checks who applies")(catalogue)
    strict = build([catalogue], out, Options(release_date=OPTS.release_date, cache=None, version_discipline="error"))
    assert strict.failed() and [d.code for d in strict.diagnostics if d.severity.value == "error"] == ["PK508"]


def test_diff_and_release_notes_on_the_command_line(catalogue: Path, tmp_path: Path) -> None:
    base = _built(catalogue, tmp_path / "base")
    _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80")(catalogue)
    head = _built(catalogue, tmp_path / "head")
    text = RUN.invoke(cli.app, ["diff", str(base), str(head)])
    assert text.exit_code == 0 and "deposit.time-1y@1.0.0: breaking" in text.output
    data = json.loads(RUN.invoke(cli.app, ["diff", str(base), str(head), "--format", "json"]).output)
    assert [(p["id"], p["class"]) for p in data["products"]] == [("deposit.time-1y", "breaking")]
    md = RUN.invoke(cli.app, ["diff", str(base), str(head), "--format", "markdown"]).output
    assert md.startswith("## Product changes")
    notes = RUN.invoke(cli.app, ["release-notes", str(base), str(head), "--lang", "en"]).output
    assert "Annual rate changes from 1.75% to 1.80%" in notes
    bad = RUN.invoke(cli.app, ["diff", "--output=/tmp/x", str(head), "--catalogue", str(catalogue)])
    assert bad.exit_code == 2


def _git(root: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                   capture_output=True)


def test_diff_between_git_refs(catalogue: Path) -> None:
    _git(catalogue, "init", "-q")
    _git(catalogue, "add", "-A")
    _git(catalogue, "commit", "-qm", "base")
    _both(BUMP, _edit(PRODUCT, "annual_rate: 1.75", "annual_rate: 1.80"))(catalogue)
    _git(catalogue, "commit", "-qam", "rate")
    result = RUN.invoke(cli.app, ["diff", "HEAD~1", "HEAD", "--catalogue", str(catalogue), "--format", "json",
                                  "--release-date", "2026-09-30"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(p["version"], p["class"]) for p in data["products"]] == [("1.1.0", "configuration"),
                                                                       ("1.0.0", "configuration")]
    assert not (catalogue / "build").exists()  # refs are built in a temporary folder, never the catalogue
    unknown = RUN.invoke(cli.app, ["diff", "no-such-ref", "HEAD", "--catalogue", str(catalogue)])
    assert unknown.exit_code == 2 and "no-such-ref" in unknown.output


def test_new_products_are_classified_from_their_manifest_entries(repo_catalogue: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that adds products (a cold build adds them all) classifies them from what their
    manifest entries say, without loading their definitions back: the same diff as from the
    definitions themselves, names and dates included."""
    import dataclasses

    import productkit.diff as differ
    import productkit.governance as governance

    out = tmp_path / "build"
    assert not build([repo_catalogue], out, Options(release_date=dt.date(2026, 9, 30))).failed()
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    files = {p.relative_to(out.resolve()).as_posix(): p.read_bytes() for p in out.resolve().rglob("*") if p.is_file()}
    targets = sorted({t for entry in manifest["products"] for t in entry.get("targets", {})})
    loaded: list[bytes] = []
    load = governance.load

    def counting(data: bytes) -> object:
        loaded.append(data)
        return load(data)

    monkeypatch.setattr(governance, "load", counting)
    fast = governance.relevant_diff({}, None, manifest["products"], files, targets)
    assert loaded == [] and fast.products
    plain = differ.diff
    monkeypatch.setattr(governance, "diff", lambda base, head, kept=frozenset(): plain(
        base, dataclasses.replace(head, added=None), kept))
    slow = governance.relevant_diff({}, None, manifest["products"], files, targets)
    assert len(loaded) == len(manifest["products"])
    assert fast == slow and fast.to_json() == slow.to_json()
    assert [(p.name, p.effective, p.effective_as_written) for p in fast.products] == \
        [(p.name, p.effective, p.effective_as_written) for p in slow.products]
