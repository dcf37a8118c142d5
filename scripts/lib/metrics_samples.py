#!/usr/bin/env python3
"""Parse Prometheus text exposition on stdin with Prometheus's own Python parser.

Prints one JSON object: {"families": {name: type}, "samples": [{"name", "labels", "value"}]}.
Exits 1 with the parser's message when the text is not valid exposition format.
Used by the metrics tests: `curl -s http://127.0.0.1:9100/metrics | python3 scripts/lib/metrics_samples.py`.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    families = {}
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    except Exception as error:  # the parser raises ValueError and others on bad input
        print(f"not valid Prometheus text format: {error}", file=sys.stderr)
        sys.exit(1)
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
