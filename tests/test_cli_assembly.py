"""``productkit explain``, ``graph`` and ``impact`` through the command line, on a tmp catalogue.

The catalogue is the ``deposit_line`` valid case (a line and a 1-year product using ui.applicant,
kyc.verify, core.open-deposit and dict.deposit) plus a second product that uses only
ui.applicant and a component whose parameter refs ``dict.risk`` under another name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casekit import VALID, Case
from productkit.cli import app
from productkit.sources import display_name
from productkit.validate import validate

OTHER_PRODUCT = """apiVersion: productkit/v1
kind: Product
id: demo.other
version: 1.0.0
name: {zh-CN: 另一产品, en: Other product}
channels: [web]
steps:
  - id: applicant
    use: ui.applicant@^1
  - id: age-check
    use: risk.age-check@^1
"""
AGE_CHECK = """apiVersion: productkit/v1
kind: ProcessComponent
id: risk.age-check
version: 1.0.0
title: {zh-CN: 年龄检查, en: Age check}
handler: risk.age-check
parameters:
  min_age: {ref: eligible_min_age}
inputs:
  applicant.name: {type: string}
"""
RISK_DICTIONARY = """apiVersion: productkit/v1
kind: ParameterDictionary
id: dict.risk
version: 1.0.0
title: {zh-CN: 风险参数, en: Risk parameters}
parameters:
  eligible_min_age: {type: integer, min: 16, max: 99, default: 18, title: {zh-CN: 最低年龄, en: Minimum age}}
"""
DEPOSIT = "deposit.time-1y@1.0.0"
OTHER = "demo.other@1.0.0"

runner = CliRunner()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = Case(VALID / "deposit_line").install(tmp_path / "catalogue")
    (root / "products" / "other.yaml").write_text(OTHER_PRODUCT, encoding="utf-8")
    (root / "components" / "age-check.yaml").write_text(AGE_CHECK, encoding="utf-8")
    (root / "components" / "risk.yaml").write_text(RISK_DICTIONARY, encoding="utf-8")
    assert validate([root]).diagnostics == []
    return root


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


# ------------------------------------------------------------------ explain


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = next((k for k in range(start, len(lines)) if not lines[k]), len(lines))
    return lines[start:end]


def test_explain_gives_each_parameter_its_provenance(root: Path) -> None:
    code, out = run("explain", "deposit.time-1y", str(root))
    assert code == 0
    params = _section(out, "parameters:")
    names = [line.split(" = ")[0].strip() for line in params if not line.startswith("    ")]
    assert names == ["annual_rate", "min_amount", "term_months"]
    chain = {name: [line for line in params[k + 1:] if line.startswith("    ")][:1]
             for k, line in enumerate(params) if not line.startswith("    ")
             for name in [line.split(" = ")[0].strip()]}
    assert chain["annual_rate"][0].split()[1:] == ["product:deposit.time-1y", _at(root, "products/one-year.yaml:9:16")]
    assert chain["min_amount"][0].split()[2:] == ["line:deposit.time", _at(root, "products/line.yaml:9:15")]
    assert [line for line in params if "(locked)" in line] == ["  min_amount = 50.00 (locked)",
                                                               "  term_months = 12 (locked)"]


def _at(root: Path, where: str) -> str:
    """A location as explain prints it: the file as the loader names it, then line:col."""
    file, line, col = where.split(":")
    return f"{display_name(root / file)}:{line}:{col}"


def test_explain_lists_steps_in_order_with_needs_and_provides(root: Path) -> None:
    code, out = run("explain", "deposit.time-1y", str(root))
    assert code == 0
    steps = _section(out, "steps:")
    order = [m[1] for line in steps if (m := re.match(r"\s+\d+\. (\S+)", line))]
    assert order == ["applicant", "kyc", "reject", "open"]
    kyc = steps[steps.index("   2. kyc  [kyc.verify@2.1.0]") + 1:steps.index("   3. reject  [end: rejected]")]
    assert [line.split(": ", 1) for line in kyc] == [
        ["        needs", "applicant.name"], ["        provides", "kyc.status"], ["        after", "applicant"]]


def test_explain_of_an_unknown_product_is_a_usage_error(root: Path) -> None:
    code, _ = run("explain", "deposit.time-9y", str(root))
    assert code == 2


def _two_versions(root: Path) -> None:
    """deposit.time-1y 1.0.0 on sale in 2026, and 1.1.0 with another rate from 2027."""
    one = root / "products" / "one-year.yaml"
    text = one.read_text(encoding="utf-8")
    assert "effective: {from: T+1}" in text and "version: 1.0.0" in text
    one.write_text(text.replace("{from: T+1}", "{from: 2026-01-01, until: 2026-12-31}"), encoding="utf-8")
    newer = text.replace("version: 1.0.0", "version: 1.1.0").replace("annual_rate: 1.75", "annual_rate: 1.95")
    assert newer != text.replace("version: 1.0.0", "version: 1.1.0")
    (root / "products" / "one-year-1.1.yaml").write_text(newer.replace("T+1", "2027-01-01"), encoding="utf-8")
    assert validate([root]).diagnostics == []


@pytest.mark.parametrize(("args", "version"), [
    ((), "1.1.0"),                                   # the newest
    (("--date", "2026-06-30"), "1.0.0"),             # the one on sale that day
    (("--date", "2027-06-30"), "1.1.0"),
    (("deposit.time-1y@1.0.0",), "1.0.0"),           # the one named
])
def test_explain_picks_a_version_by_name_or_date(root: Path, args: tuple[str, ...], version: str) -> None:
    _two_versions(root)
    named = [a for a in args if "@" in a]
    rest = [a for a in args if "@" not in a]
    code, out = run("explain", named[0] if named else "deposit.time-1y", str(root), *rest)
    assert code == 0
    assert out.splitlines()[0].startswith(f"Product deposit.time-1y {version}:")


@pytest.mark.parametrize("args", [("deposit.time-1y@1.0.0", "--date", "2027-06-30"),
                                  ("deposit.time-1y@2.0.0",), ("deposit.time-1y@1.x",),
                                  ("deposit.time-1y", "--date", "2026-13-01")])
def test_explain_of_a_version_not_there_or_not_on_sale_is_a_usage_error(root: Path, args: tuple[str, ...]) -> None:
    _two_versions(root)
    code, _ = run("explain", args[0], str(root), *args[1:])
    assert code == 2


# ------------------------------------------------------------------ graph


DEPOSIT_EDGES = {("applicant", "kyc"), ("kyc", "reject"), ("kyc", "open"), ("reject", "open")}
REDUCED_EDGES = DEPOSIT_EDGES - {("kyc", "open")}  # kyc -> reject -> open says it already


def _mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Node id -> step (the label's first word), and the edges as step pairs; every other line
    is an error route to an outcome or step, an outcome, or a compensation."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {m[1]: m[2] for line in lines if (m := re.fullmatch(r'  (\w+)\(?\["([^"<]+)(?:<br/>[^"]*)?"\]\)?', line))}
    edges = {(nodes[m[1]], nodes[m[2]]) for line in lines if (m := re.fullmatch(r"  (\S+) --> (\S+)", line))}
    extra = [line for line in lines if re.fullmatch(r'  \w+ -\.->\|"[^"]+"\| \w+|  o_\w+\(\("[^"]+"\)\)|'
                                                    r'  \w+ -\.- c\w+|  c\w+\[/"undo: [^"]+"/\]', line)]
    assert len(lines) == 1 + len(nodes) + len(edges) + len(extra), "every line is a node, an edge or an extra"
    return nodes, edges


def test_graph_mermaid(root: Path) -> None:
    code, out = run("graph", "deposit.time-1y", str(root), "--format", "mermaid")
    assert code == 0
    nodes, edges = _mermaid(out)
    assert sorted(nodes.values()) == ["applicant", "kyc", "open", "reject"]
    assert edges == REDUCED_EDGES
    assert re.search(r'\(\["reject<br/>when kyc\.status == \'failed\'"\]\)', out), "an end is a stadium"
    assert '  s_kyc -.->|"kyc.service-unavailable"| o_referred\n' in out, "an error route goes to its outcome"
    assert '  o_referred(("referred"))\n' in out


def test_graph_dot(root: Path) -> None:
    code, out = run("graph", "deposit.time-1y", str(root), "--format", "dot")
    assert code == 0
    assert out.startswith('digraph "deposit.time-1y" {') and out.endswith("}\n")
    shapes = dict(re.findall(r'^  "([^"]+)" \[shape=(\w+)\];$', out, re.M))
    assert shapes == {"applicant": "box", "kyc": "box", "reject": "doublecircle", "open": "box"}
    assert set(re.findall(r'^  "([^"]+)" -> "([^"]+)";$', out, re.M)) == REDUCED_EDGES
    assert '  "kyc" -> "outcome:referred" [style=dashed, label="kyc.service-unavailable"];' in out


def test_mermaid_node_ids_are_distinct_and_never_a_keyword(tmp_path: Path) -> None:
    root = Case(VALID / "deposit_line").install(tmp_path)
    (root / "products" / "ids.yaml").write_text("""apiVersion: productkit/v1
kind: Product
id: demo.ids
version: 1.0.0
name: {zh-CN: 标识, en: Ids}
channels: [web]
steps:
  - id: open-account
    use: ui.applicant@^1
  - id: open_account
    use: kyc.verify@^2
  - id: end
    end: completed
""", encoding="utf-8")
    code, out = run("graph", "demo.ids", str(root))
    assert code == 0
    nodes, edges = _mermaid(out)
    assert sorted(nodes.values()) == ["end", "open-account", "open_account"]
    assert not {"end", "graph", "subgraph", "flowchart"} & set(nodes)
    assert ("open-account", "open_account") in edges


# ------------------------------------------------------------------ impact


def impact(root: Path, *targets: str) -> list[str]:
    code, out = run("impact", *targets, "--root", str(root))
    assert code == 0
    return out.splitlines()


def test_a_component_file_affects_exactly_the_products_using_it(root: Path) -> None:
    assert impact(root, str(root / "components" / "kyc.yaml")) == [DEPOSIT]
    assert impact(root, str(root / "components" / "open.yaml")) == [DEPOSIT]
    assert impact(root, str(root / "components" / "age-check.yaml")) == [OTHER]
    assert impact(root, str(root / "components" / "form.yaml")) == [OTHER, DEPOSIT]


def test_ids_of_components_and_lines(root: Path) -> None:
    assert impact(root, "kyc.verify") == [DEPOSIT]
    assert impact(root, "ui.applicant") == [OTHER, DEPOSIT]
    assert impact(root, "deposit.time") == [DEPOSIT]
    assert impact(root, str(root / "products" / "line.yaml")) == [DEPOSIT]
    code, _ = run("impact", "no.such-thing", "--root", str(root))
    assert code == 2  # a typo is a usage error, not "nothing is affected"


def test_a_dictionary_change_affects_products_using_its_parameters(root: Path) -> None:
    assert impact(root, str(root / "components" / "parameters.yaml")) == [DEPOSIT]
    assert impact(root, "dict.deposit") == [DEPOSIT]
    # demo.other uses eligible_min_age only through risk.age-check's `min_age: {ref: ...}`
    assert impact(root, str(root / "components" / "risk.yaml")) == [OTHER]
    assert impact(root, "dict.risk") == [OTHER]


def test_relative_files_are_found_below_the_root(root: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert impact(root, "components/kyc.yaml") == [DEPOSIT]
    monkeypatch.chdir(root)
    assert impact(root, "components/kyc.yaml") == [DEPOSIT]


def test_explain_shows_locked_policies_and_forbidden_channels(root: Path) -> None:
    line = root / "products" / "line.yaml"
    text = line.read_text(encoding="utf-8")
    assert "channel_policy" not in text and "\nsteps:\n" in text
    policy = ("channel_policy:\n  forbid: [open-api]\n"
              "  reason: {zh-CN: 不经开放接口销售, en: Never sold through the open API}\n")
    line.write_text(text.replace("\nsteps:\n", "\n" + policy + "steps:\n"), encoding="utf-8")
    code, out = run("explain", "deposit.time-1y", str(root))
    assert code == 0
    lines = out.splitlines()
    assert lines[3] == f"never on: open-api (channel policy, {display_name(line)})"


def test_impact_of_a_data_dictionary_is_every_product_using_its_paths(root: Path) -> None:
    (root / "components" / "data.yaml").write_text(
        "apiVersion: productkit/v1\nkind: DataDictionary\nid: data.kyc\nversion: 1.0.0\n"
        "title: {zh-CN: 身份核验, en: Identity verification}\ndata:\n"
        "  kyc.status: {type: enum, values: [passed, failed], title: {zh-CN: 核验结论, en: Verification outcome}}\n",
        encoding="utf-8")
    assert impact(root, "data.kyc") == [DEPOSIT]  # demo.other reads no kyc.status
    assert impact(root, str(root / "components" / "data.yaml")) == [DEPOSIT]
