"""promtool (Debian's prometheus package, installed by scripts/setup.sh) on the shipped rules."""

import json
import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

RULES = Path(__file__).resolve().parents[2] / "hw" / "prometheus" / "hotline-rules.yml"


def promtool(*args, cwd=None) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: scripts/setup.sh installs Debian's prometheus package"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def rule_metric_names() -> set[str]:
    exprs = re.findall(r"^\s*expr:\s*(.+)$", RULES.read_text(), flags=re.M)
    return {name for expr in exprs for name in re.findall(r"\bhotline_[a-z_]+", expr)}


def series(scrape: str) -> list[tuple[str, str, float]]:
    """(series selector, metric type, value) for every sample of a real scrape."""
    out = []
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out.append((f"{sample.name}{{{labels}}}", family.type, sample.value))
    return out


def test_file_from_scrapes(scrapes: list[str], expect: dict[str, list[dict]], directory: Path) -> Path:
    """A promtool test whose input is the scraped series: gauges held for 10 minutes, counters
    rising from 0 to the scraped value after 2 minutes (as they rose during the run), and
    `expect` (alert name -> expected alerts at 10 m). JSON is YAML, so promtool reads it."""
    inputs = []
    for scrape in scrapes:
        for selector, kind, value in series(scrape):
            values = f"{value:g}x40" if kind != "counter" else f"0x8 {value:g}x32"
            inputs.append({"series": selector, "values": values})
    test = {"rule_files": [str(RULES)], "evaluation_interval": "15s",
            "tests": [{"interval": "15s", "input_series": inputs,
                       "alert_rule_test": [{"eval_time": "10m", "alertname": name, "exp_alerts": alerts}
                                           for name, alerts in expect.items()]}]}
    path = directory / "from-the-sim.test.yml"
    path.write_text(json.dumps(test, indent=1))
    return path
