"""Every output format is safe to print: values from a catalogue cannot start a line, run a
GitHub workflow command, drive the terminal or break a SARIF URI."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from productkit.diagnostics import Diagnostic, Location, Related
from productkit.report import render, sarif_uri
from sarif import validate_sarif

HOSTILE = [
    "x\n::error file=evil.yaml::pwned",  # a second GitHub workflow command
    "x\r\n::set-output name=a::b",
    "x\x1b]0;title\x07\x1b[2J",  # terminal title and clear screen
    "x\x9b31m",  # C1 CSI
    "x\u2028y\u2029z\x85w",  # Unicode line breaks
    "x\u202eevil\u202c",  # bidi override
    "100%0A::warning::x",  # a percent-encoded newline in the text itself
]


def _diag(text: str) -> Diagnostic:
    where = Location(f"products/{text}.yaml", 3, 5, ("steps", 0, text))
    return Diagnostic("PK111", f"'{text}' is wrong", where, related=(Related(where, text),), hint=text)


def _assert_no_raw_controls(out: str) -> None:
    for ch in out:
        if ch == "\n":
            continue
        assert not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029\u202e\u202c"), repr(ch)


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_no_hostile_character_reaches_the_output(text: str, fmt: str) -> None:
    out = render([_diag(text)], fmt)
    _assert_no_raw_controls(out)
    if fmt == "text":
        assert len(out.splitlines()) == 3  # header, related, hint; no source (no such file)
        assert not any(line.startswith("::") for line in out.splitlines())


@pytest.mark.parametrize("text", HOSTILE)
def test_github_commands_are_one_line_each_with_escaped_properties(text: str) -> None:
    out = render([_diag(text), _diag("plain")], "github").splitlines()
    assert len(out) == 2 and all(line.startswith("::error file=") for line in out)
    head, _, _ = out[0][2:].partition("::")
    props = head.split(" ", 1)[1].split(",")
    assert [p.split("=", 1)[0] for p in props] == ["file", "line", "col", "title"], props
    assert "%25" in out[0] or "%" not in text


@pytest.mark.parametrize("text", HOSTILE)
def test_json_and_sarif_keep_the_values(text: str) -> None:
    loaded = json.loads(render([_diag(text)], "json"))
    assert loaded["diagnostics"][0]["hint"] == text
    sarif = json.loads(render([_diag(text)], "sarif"))
    validate_sarif(sarif)
    assert sarif["runs"][0]["results"][0]["message"]["text"].endswith(f"(hint: {text})")


@pytest.mark.parametrize("name", ["products/a b.yaml", "products/100%.yaml", "products/a,b.yaml",
                                  "products/定期.yaml", "/abs/dir/x y.yaml", "products/#x?.yaml"])
def test_sarif_uris_are_percent_encoded(name: str) -> None:
    uri = sarif_uri(name)
    assert all(c.isascii() and c not in " ,#?" for c in uri)
    assert unquote(uri.removeprefix("file://")) == name
    assert uri.startswith("file:///") == name.startswith("/")


def test_sarif_carries_version_and_rule_help() -> None:
    sarif = json.loads(render([_diag("x")], "sarif"))
    driver = sarif["runs"][0]["tool"]["driver"]
    assert driver["version"]
    assert driver["rules"][0]["help"]["text"].startswith("PK111")


def test_a_yaml_value_with_a_newline_stays_on_one_line(tmp_path: Path) -> None:
    """End to end: a designer's message with a line break, through validate and every format."""
    from productkit.options import Options
    from productkit.validate import validate

    root = tmp_path / "cat"
    (root / "products").mkdir(parents=True)
    (root / "products" / "p.yaml").write_text(
        'apiVersion: productkit/v1\nkind: Product\nid: "x\\n::error file=a::pwned"\nversion: 1.0.0\n',
        encoding="utf-8")
    found = validate([root], Options(cache=None)).diagnostics
    assert found
    for fmt in ("text", "github"):
        out = render(found, fmt)
        assert not any(line.lstrip().startswith("::error file=a") for line in out.splitlines()), out
        _assert_no_raw_controls(out)
