"""The shipped Prometheus alert rules, checked and tested with promtool."""

from pathlib import Path

from tests.metrics.promtool import RULES, promtool

HERE = RULES.parent


def test_the_rules_are_valid():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_every_rule_fires_when_it_should_and_not_before():
    result = promtool("test", "rules", "hotline-rules.test.yml", cwd=HERE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_has_a_test_case():
    import re
    names = set(re.findall(r"^\s*- alert: (\w+)", RULES.read_text(), flags=re.M))
    tested = set(re.findall(r"alertname: (\w+)", (HERE / "hotline-rules.test.yml").read_text()))
    assert names == tested and len(names) == 8


def test_the_grafana_dashboard_uses_only_metrics_the_unit_exports():
    import json
    import re

    from terminal.daemon import metrics
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "hw" / "grafana" / "hotline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {n for e in exprs for n in re.findall(r"\bhotline_[a-z_]+", e)}
    source = Path(metrics.__file__).read_text()
    exported = set(re.findall(r'"(hotline_[a-z_]+)"', source))
    suffixes = ("_total", "_bucket", "_sum", "_count")
    assert used and all(n in exported or any(n.endswith(s) and n[: -len(s)] in exported for s in suffixes)
                        for n in used), used
