#!/usr/bin/env python3
"""Scale harness: `promtool test rules` against `stakewatch test rules` on one large unit test.

Generates (in a temporary directory) a rule file in the style of the shipped validator rules and
a promtool unit-test file with SERIES input series sampled every minute for a day, then runs both
tools on it in the same run, checks that they print the same thing, and reports their wall and
CPU times.

  bench/rules_unittest_scale.py --stakewatch build/release/exporter/stakewatch [--series 3000]

Exit status 0 when both tools agree (the timing is reported, not asserted).
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

RULES = """groups:
  - name: validator.rules
    interval: 1m
    rules:
      - record: group:attestations_missed:increase5m
        expr: sum by (group) (increase(validator_attestations_missed_total[5m]))
      - record: group:attestations_total:increase5m
        expr: sum by (group) (increase(validator_attestations_total[5m]))
      - record: group:attestation_miss_ratio:5m
        expr: group:attestations_missed:increase5m / group:attestations_total:increase5m
      - record: group:balance_gwei:sum
        expr: sum by (group) (validator_balance_gwei)
      - record: group:balance_gwei:delta1h
        expr: sum by (group) (delta(validator_balance_gwei[1h]))
      - record: instance:validators_up:count
        expr: count by (instance) (up{job="validators"} == 1)
      - alert: ValidatorMissingAttestations
        expr: increase(validator_attestations_missed_total[15m]) > 2
        for: 10m
        labels: {severity: warning}
        annotations:
          summary: "Validator {{ $labels.index }} of {{ $labels.group }} missed {{ $value | humanize }} attestations"
      - alert: GroupMissRatioHigh
        expr: group:attestation_miss_ratio:5m > 0.05
        for: 5m
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.group }} misses {{ $value | humanizePercentage }} of attestations"
      - alert: BalanceFalling
        expr: group:balance_gwei:delta1h < 0
        for: 30m
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.group }} lost {{ $value }} gwei in an hour"
      - alert: ValidatorDown
        expr: up{job="validators"} == 0
        for: 5m
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.instance }} is down"
"""


def series_block(n):
    lines = []
    groups = 8
    per_kind = n // 4
    for i in range(per_kind):
        g = f"g{i % groups}"
        inst = f"node-{i % 16}:8080"
        # Attestations: one per 6.4 minutes is roughly 0.16 per minute; use 1 per minute.
        lines.append(f"      - series: 'validator_attestations_total{{group=\"{g}\",index=\"{i}\",instance=\"{inst}\"}}'")
        lines.append("        values: '0+1x1440'")
        # Misses: most validators never miss; every 50th misses 1 per 5 minutes after noon.
        if i % 50 == 0:
            lines.append(f"      - series: 'validator_attestations_missed_total{{group=\"{g}\",index=\"{i}\",instance=\"{inst}\"}}'")
            lines.append("        values: '0x720 0+0.2x720'")
        else:
            lines.append(f"      - series: 'validator_attestations_missed_total{{group=\"{g}\",index=\"{i}\",instance=\"{inst}\"}}'")
            lines.append("        values: '0x1440'")
        lines.append(f"      - series: 'validator_balance_gwei{{group=\"{g}\",index=\"{i}\",instance=\"{inst}\"}}'")
        step = (i % 7) - 3
        sign = "+" if step >= 0 else "-"
        lines.append(f"        values: '{32000000000 + i}{sign}{abs(step)}x1440'")
        lines.append(f"      - series: 'up{{job=\"validators\",instance=\"{inst}\",index=\"{i}\"}}'")
        lines.append("        values: '1x1000 0x440'" if i % 97 == 0 else "        values: '1x1440'")
    return "\n".join(lines)


def test_file(n):
    per_kind = n // 4
    return f"""rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
{series_block(n)}
    promql_expr_test:
      - expr: count(validator_balance_gwei)
        eval_time: 1d
        exp_samples:
          - value: {per_kind}
    alert_rule_test:
      - eval_time: 6h
        alertname: ValidatorDown
        exp_alerts: []
"""


def run(cmd, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p, wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stakewatch", required=True)
    ap.add_argument("--promtool", default=shutil.which("promtool") or "/usr/bin/promtool")
    ap.add_argument("--series", type=int, default=3000)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="sw-scale-")
    try:
        with open(os.path.join(d, "rules.yml"), "w") as f:
            f.write(RULES)
        with open(os.path.join(d, "test.yml"), "w") as f:
            f.write(test_file(args.series))
        samples = (args.series // 4) * 4 * 1441
        print(f"input: {args.series // 4 * 4} series x 1441 samples = {samples} samples, "
              f"10 rules, evaluated every minute for a day")
        results = {}
        for name, cmd in (("promtool", [args.promtool, "test", "rules", "test.yml"]),
                          ("stakewatch", [os.path.abspath(args.stakewatch), "test", "rules",
                                          "test.yml"])):
            p, wall, cpu = run(cmd, d)
            results[name] = p
            print(f"{name:10s} exit {p.returncode}  wall {wall:7.2f} s  cpu {cpu:7.2f} s")
        a, b = results["promtool"], results["stakewatch"]
        if (a.returncode, a.stdout, a.stderr) != (b.returncode, b.stdout, b.stderr):
            print("outputs differ:\n--- promtool\n" + a.stdout + a.stderr +
                  "\n--- stakewatch\n" + b.stdout + b.stderr)
            return 1
        print("outputs identical:", a.stdout.strip().replace("\n", " | "))
        return 0
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    sys.exit(main())
