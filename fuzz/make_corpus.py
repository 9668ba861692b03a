#!/usr/bin/env python3
"""Regenerates the seed corpora under fuzz/corpus/ from the repository's own test inputs.

  python3 fuzz/make_corpus.py [BUILD_DIR]

With BUILD_DIR (e.g. build-fuzz, holding the built targets) the candidate seeds are merged
into fuzz/corpus/<target>/ with libFuzzer's -merge=1, which keeps only seeds that add coverage
(a few hundred per target instead of every test input); without it every candidate is copied.

Seeds are data copied from test inputs (never from our code's output):
  fuzz_promql_parser   exporter/promql/testdata/{parse,format}_inputs.txt (JSON string per line),
                       the `eval` expressions of /work/shared/specs/promql-testdata/*.test (if
                       present) and of test/testdata/**/*.test
  fuzz_rule_file       test/testdata/rules/**/*.yml, plus small rule files wrapping a sample of
                       the PromQL seeds and alert templates
  fuzz_series_notation the `load` series lines and expected-result lines of the .test files
  fuzz_textparse       the bodies of test/testdata/textparse/prometheus-2.42-outcomes.tsv, each
                       prefixed with its format letter: 't' (0x74, even) selects text 0.0.4 and
                       'o' (0x6f, odd) OpenMetrics, as fuzz_textparse.cc reads the first byte.
Files are named by the SHA-1 of their content (libFuzzer's convention), so reruns are
idempotent and seeds added by hand (any name) are kept. Seeds larger than 4096 bytes (the
-max_len scripts/fuzz.sh uses) are skipped.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SPEC_TESTS = "/work/shared/specs/promql-testdata"
MAX_LEN = 4096


OUT = CORPUS  # where write() puts seeds; a temporary directory when merging


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > MAX_LEN:
        return False
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if os.path.exists(path):
        return False
    with open(path, "wb") as f:
        f.write(data)
    return True


def test_files():
    files = sorted(glob.glob(os.path.join(SPEC_TESTS, "*.test")))
    files += sorted(glob.glob(os.path.join(ROOT, "test", "testdata", "**", "*.test"), recursive=True))
    return files


EVAL_RE = re.compile(r"^eval(?:_fail|_ordered)?\s+instant\s+at\s+\S+\s+(.*)$")


def promql_seeds():
    exprs = []
    for name in ("parse_inputs.txt", "format_inputs.txt"):
        path = os.path.join(ROOT, "exporter", "promql", "testdata", name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    exprs.append(json.loads(line))
    for path in test_files():
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = EVAL_RE.match(line.strip())
                if m:
                    exprs.append(m.group(1))
    return exprs


def series_seeds():
    lines = []
    for path in test_files():
        in_block = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("load ") or line.startswith("eval"):
                    in_block = True
                    continue
                if not line.strip() or not line[0].isspace():
                    in_block = False
                    continue
                if in_block:
                    lines.append(line.strip())
    return lines


TEMPLATES = [
    "{{ $labels.instance }} is down",
    "{{ $value | humanize }}B free",
    "{{ humanizeDuration $value }}",
    "{{ with query \"up\" }}{{ . | first | value }}{{ end }}",
    "{{ range $i, $x := $labels }}{{ $i }}={{ $x }} {{ end }}",
    "{{ if gt $value 0.5 }}high{{ else }}low{{ end }}",
    "{{ printf \"%.2f\" $value }}",
    "{{- $externalURL -}}/graph",
    "{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}",
    "{{ $labels.job | toUpper }} {{/* comment */}}",
]


def rule_file(i, expr):
    q = json.dumps(expr)  # a valid YAML double-quoted scalar
    t = json.dumps(TEMPLATES[i % len(TEMPLATES)])
    if i % 2 == 0:
        return ("groups:\n  - name: g%d\n    rules:\n      - record: job:x:sum\n"
                "        expr: %s\n" % (i, q))
    return ("groups:\n  - name: g%d\n    interval: 30s\n    rules:\n      - alert: A%d\n"
            "        expr: %s\n        for: 5m\n        labels:\n          severity: %s\n"
            "        annotations:\n          summary: %s\n" % (i, i, q, t, t))


def main():
    global OUT
    build_dir = sys.argv[1] if len(sys.argv) > 1 else None
    if build_dir:
        OUT = tempfile.mkdtemp(prefix="stakewatch-seeds.")
    counts = {}
    exprs = promql_seeds()
    counts["fuzz_promql_parser"] = sum(write("fuzz_promql_parser", e) for e in exprs)

    n = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "testdata", "rules", "**", "*.yml"),
                                 recursive=True)):
        with open(path, "rb") as f:
            n += write("fuzz_rule_file", f.read())
    for i, e in enumerate(exprs[::6]):
        n += write("fuzz_rule_file", rule_file(i, e))
    counts["fuzz_rule_file"] = n

    counts["fuzz_series_notation"] = sum(write("fuzz_series_notation", s)
                                         for s in series_seeds())

    n = 0
    tsv = os.path.join(ROOT, "test", "testdata", "textparse", "prometheus-2.42-outcomes.tsv")
    if os.path.exists(tsv):
        with open(tsv, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                cols = line.rstrip("\n").split("\t")
                n += write("fuzz_textparse", cols[0].encode() + bytes.fromhex(cols[3]))
    counts["fuzz_textparse"] = n
    for k, v in counts.items():
        print("%-22s %4d candidate seeds" % (k, v))
    if build_dir:
        for target in counts:
            dest = os.path.join(CORPUS, target)
            os.makedirs(dest, exist_ok=True)
            before = len(os.listdir(dest))
            subprocess.run([os.path.join(build_dir, target), "-merge=1", "-max_len=%d" % MAX_LEN,
                            dest, os.path.join(OUT, target)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print("%-22s %4d seeds kept after merge" % (target, len(os.listdir(dest)) - before))
        shutil.rmtree(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
