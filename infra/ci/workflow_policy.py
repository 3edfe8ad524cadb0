"""The kit's rules for GitHub workflows, beyond what the workflow schema checks.

- every `uses:` of another repository is pinned to a full 40-hex commit SHA;
- the workflow sets `permissions:` at the top, read-only, and never `write-all`;
- a job that needs more (id-token, pull-requests...) says so itself;
- every job belongs to a concurrency group (or the workflow does);
- checkout does not leave the token in .git/config (`persist-credentials: false`).

`python infra/ci/workflow_policy.py .github/workflows/*.yml` exits 1 listing each breach.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
READ_ONLY = {"read", "none"}


def _uses(job: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    steps = job.get("steps") or []
    out = [(s["uses"], s) for s in steps if isinstance(s, dict) and "uses" in s]
    if "uses" in job:  # a reusable workflow call
        out.append((job["uses"], {}))
    return out


def check(doc: dict[str, Any], name: str) -> list[str]:
    problems: list[str] = []
    perms = doc.get("permissions")
    if perms is None:
        problems.append(f"{name}: set top-level `permissions:` (e.g. contents: read)")
    elif perms == "write-all" or (isinstance(perms, dict) and set(perms.values()) - READ_ONLY):
        problems.append(f"{name}: top-level permissions must be read-only, got {perms!r}")
    top_concurrency = "concurrency" in doc
    for job_name, job in (doc.get("jobs") or {}).items():
        where = f"{name}: job {job_name}"
        if job.get("permissions") == "write-all":
            problems.append(f"{where}: never `permissions: write-all`; name the scopes it needs")
        if not top_concurrency and "concurrency" not in job:
            problems.append(f"{where}: give it a concurrency group")
        for ref, step in _uses(job):
            if ref.startswith(("./", "docker://")):
                continue
            if not PINNED.match(ref):
                problems.append(f"{where}: {ref} must be pinned to a full commit SHA (owner/repo@<40 hex> # vX)")
            if ref.startswith("actions/checkout@"):
                with_ = step.get("with") or {}
                if with_.get("persist-credentials") is not False:
                    problems.append(f"{where}: checkout needs `persist-credentials: false`")
    return problems


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: workflow_policy.py WORKFLOW.yml...", file=sys.stderr)
        return 2
    problems: list[str] = []
    for path in paths:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            problems.append(f"{path}: not a workflow mapping")
            continue
        problems.extend(check(doc, str(path)))
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not problems:
        print(f"ok -- {len(paths)} workflow(s) follow the pinning, permissions and concurrency rules")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
