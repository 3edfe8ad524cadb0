"""The docs say only what exists: every relative link in the README and docs/ resolves, every
`make TARGET` they name is a target, and CI runs the README's commands as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("data/**/*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_MAKE = re.compile(r"(?:^|[\s;&|(])make\s+((?:[A-Z_]+=\S+\s+)*)([a-z][a-z0-9_.-]*)", re.MULTILINE)
_TARGET = re.compile(r"^([a-zA-Z0-9_.-]+(?:\s+[a-zA-Z0-9_.-]+)*)\s*:(?!=)", re.MULTILINE)


def make_targets() -> set[str]:
    out: set[str] = set()
    for path in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]:
        for m in _TARGET.finditer(path.read_text(encoding="utf-8")):
            out.update(m.group(1).split())
    return out


def named_targets(text: str) -> set[str]:
    """`make X` inside code spans and code blocks (prose like "make sure" is not a command)."""
    code = " \n".join(m.group(0).strip("`") for m in _CODE.finditer(text))
    return {m.group(2) for m in _MAKE.finditer(code)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    text = _CODE.sub("", doc.read_text(encoding="utf-8"))
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if not (doc.parent / path).exists() and not (ROOT / path).exists():
            broken.append(target)
    assert not broken, f"{doc.name}: links to missing files: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_make_targets_named_in_docs_exist(doc: Path) -> None:
    targets = make_targets()
    named = named_targets(doc.read_text(encoding="utf-8"))
    missing = sorted(n for n in named if n not in targets)
    assert not missing, f"{doc.name} names make targets that do not exist: {missing}"


def test_the_checker_sees_a_missing_target_and_a_broken_link(tmp_path: Path) -> None:
    named = named_targets("`make no-such-target TIER=1`, `make TIER=2 deploy`; make sure of it")
    assert named == {"no-such-target", "deploy"} and "no-such-target" not in make_targets()
    assert _LINK.findall("see [x](docs/nope.md#a) and [y](https://example.com)") == [
        "docs/nope.md#a",
        "https://example.com",
    ]


def test_ci_runs_the_readme_commands_as_written() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    two, use = blocks[0], blocks[1]
    for line in two.splitlines():
        command = line.split("#", 1)[0].strip()
        assert command and re.search(rf"^{re.escape(command)}$", ci, re.MULTILINE), command
    # the "Use it" request: the key line and the first curl, as written
    key_line = use.splitlines()[0]
    assert key_line in ci
    curl = "\n".join(use.splitlines()[1:3])
    assert curl.replace('-d \'{"prompt": "Say hi in French"}\'', "") in ci.replace("answer=$(", "")
    assert re.search(r"^make destroy$", ci, re.MULTILINE)
