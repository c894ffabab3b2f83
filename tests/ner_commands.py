"""`make ner` as a user runs it, and what its output and displacy page show."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

from conftest import ROOT

MARK = re.compile(r'<mark class="entity"[^>]*>\s*(.*?)\s*<span[^>]*>(.*?)</span>\s*</mark>', re.S)


def marks(page: str) -> list[tuple[str, str]]:
    return [(html.unescape(text), html.unescape(label)) for text, label in MARK.findall(page)]


def make_ner(args: str, tracking_uri: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run(
        ["make", "-s", "ner", f"PY={sys.executable}", f"ARGS={args} report_dir={tmp_path}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def parse(stdout: str) -> list[tuple[str, str, int, int]]:
    rows = [line.split("\t") for line in stdout.splitlines() if line.count("\t") == 3]
    return [(text, label, int(start), int(end)) for text, label, start, end in rows]


def page_of(stdout: str) -> str:
    [path] = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("displacy page: ")]
    return open(path, encoding="utf-8").read()
