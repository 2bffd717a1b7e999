"""Renders the Kubernetes PrometheusRule from the alert rules' one source, deploy/prometheus/rules.yml.

`python deploy/prometheus/render_rules.py` writes deploy/k8s/components/monitoring/prometheusrule.yaml
(`make schemas` runs it); `--check` only says whether that file is fresh (exit 1 if not). The source is
indented under `spec:` as text rather than loaded and dumped, so its comments, which say why each
threshold is what it is, reach the cluster's copy too.
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "rules.yml"
TARGET = HERE.parent / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules.yml by `make schemas`: edit that file, not this one.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: relais
spec:
"""


def prometheus_rule(source: str) -> str:
    """The PrometheusRule whose spec is the rule file `source`, comments kept."""
    if not source.startswith(("groups:", "#")):
        raise ValueError("the rule file must start with `groups:` (or comments before it)")
    # Indenting every line alike keeps block scalars (`expr: |`) intact: their indentation is relative.
    return HEADER + "".join("  " + line if line.strip() else line for line in source.splitlines(True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the PrometheusRule is stale")
    args = parser.parse_args()
    rendered = prometheus_rule(SOURCE.read_text())
    if args.check:
        if TARGET.read_text() != rendered:
            print(f"{TARGET} is stale: run `make schemas`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(rendered)
    print(f"wrote {TARGET.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
