#!/usr/bin/env python3
"""Gather every artifact a deploy needs that is not on the base Debian mirror into one directory.

Layout of the bundle (default .cache/bundle):
    wheels/         the gateway's runtime dependencies, exactly requirements/runtime.lock (pip --require-hashes)
    gateway-wheel/  <source hash>/hybrid_ai-*.whl, laid out like the gateway role's build cache
    llama-wheels/   the compiled llama-cpp-python wheel and its dependencies (.cache/wheels)
    models/         GGUF model files (.cache/models)
    n8n/            the n8n prebuilt archive and the Node.js/npm tarballs (.cache/n8n), when built
    debs/           .deb files not on the base mirror (e.g. Grafana), when put in .cache/debs
    ollama/         Ollama release archives the ollama role downloaded (.cache/ollama), when any
    manifest.json   name, kind, version, sha256, size and source of every file

Re-running verifies every file already in the bundle against the manifest's sha256 and copies only
what is new or changed at the source; a file in the bundle that no longer matches its manifest entry
is reported and replaced from the source. `--verify` only checks (exit 1 on any mismatch).

Usage: scripts/bundle.py [--out DIR] [--cache DIR] [--no-pip] [--no-app] [--verify]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "manifest.json"
FORMAT = 1
# Where each kind of artifact comes from (relative to the cache) and which files count.
COPIED = [  # (bundle folder, kind, cache folder, patterns)
    ("llama-wheels", "llama-wheel", "wheels", ("*.whl",)),
    ("models", "model", "models", ("*.gguf",)),
    ("n8n", "n8n", "n8n", ("*.tar.gz", "*.tgz", "*.sha256")),
    ("debs", "deb", "debs", ("*.deb",)),
    ("ollama", "ollama", "ollama", ("*.tgz", "*.tar.zst")),
]
# The Python ABI and platforms of the servers (Debian 12: CPython 3.11, glibc 2.36, x86_64).
PIP_TARGET = [
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
    "--only-binary",
    ":all:",
    *[a for minor in range(36, 4, -1) for a in ("--platform", f"manylinux_2_{minor}_x86_64")],
    *["--platform", "manylinux2014_x86_64", "--platform", "manylinux1_x86_64"],
]
# Same source hash as the gateway role's build task, so the role finds the wheel in gateway_build_cache.
SRC_HASH_CMD = (
    "set -o pipefail; find app/hybrid_ai pyproject.toml README.md -type f -not -path '*/__pycache__/*' "
    "-not -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16"
)


class BundleError(Exception):
    pass


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def version_of(name: str) -> str:
    """Version from a file name: wheel (PEP 427), npm/node tarball, n8n archive, .deb; else ''."""
    if name.endswith(".whl"):
        parts = name[:-4].split("-")
        return parts[1] if len(parts) >= 5 else ""
    if name.endswith(".deb"):
        parts = name[:-4].split("_")
        return parts[1] if len(parts) >= 3 else ""
    m = re.search(r"-(\d+\.\d+\.\d+)(?:-node[\d.]+)?(?:-linux-x64)?\.(?:tar\.gz|tgz)(?:\.sha256)?$", name)
    return m.group(1) if m else ""


def load_manifest(out: Path) -> dict:
    p = out / MANIFEST
    if not p.exists():
        return {"format": FORMAT, "artifacts": {}}
    data = json.loads(p.read_text())
    if data.get("format") != FORMAT:
        raise BundleError(f"{p}: unknown manifest format {data.get('format')!r}")
    data["artifacts"] = {a["path"]: a for a in data["artifacts"]}
    return data


def write_manifest(out: Path, data: dict) -> None:
    arts = sorted(data["artifacts"].values(), key=lambda a: a["path"])
    body = {k: v for k, v in data.items() if k != "artifacts"} | {"artifacts": arts}
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    tmp.replace(out / MANIFEST)


def verify(out: Path, data: dict) -> dict[str, str]:
    """Problems found, by path: a manifest entry whose file is missing or whose size or sha256 differs."""
    problems = {}
    for rel, a in sorted(data["artifacts"].items()):
        p = out / rel
        if not p.is_file():
            problems[rel] = "missing"
        elif p.stat().st_size != a["size"] or sha256(p) != a["sha256"]:
            problems[rel] = f"sha256 mismatch (manifest {a['sha256'][:12]}..)"
    return problems


class Bundler:
    def __init__(self, out: Path, cache: Path, log=print) -> None:
        self.out, self.cache, self.log = out, cache, log
        self.copied: list[str] = []
        self.repaired: list[str] = []

    def add(self, src: Path, rel: str, kind: str, source: str, data: dict, bad: set[str]) -> None:
        """Copy src to out/rel unless the bundle already holds the same bytes; record it in the manifest."""
        dest = self.out / rel
        st = src.stat()
        old = data["artifacts"].get(rel)
        same_source = old and old.get("source_size") == st.st_size and old.get("source_mtime_ns") == st.st_mtime_ns
        if same_source and rel not in bad and dest.is_file():
            return
        digest = sha256(src)
        if old and rel not in bad and dest.is_file() and old["sha256"] == digest:
            old["source_mtime_ns"], old["source_size"] = st.st_mtime_ns, st.st_size  # touched, same bytes
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        if sha256(tmp) != digest:
            tmp.unlink()
            raise BundleError(f"{src} changed while being copied")
        tmp.replace(dest)
        (self.repaired if rel in bad else self.copied).append(rel)
        data["artifacts"][rel] = {
            "name": src.name,
            "kind": kind,
            "version": version_of(src.name),
            "sha256": digest,
            "size": st.st_size,
            "source": source,
            "source_size": st.st_size,
            "source_mtime_ns": st.st_mtime_ns,
            "path": rel,
        }

    def add_dir(self, sub: str, kind: str, src_dir: Path, patterns: tuple[str, ...], data: dict, bad: set[str]) -> None:
        if not src_dir.is_dir():
            return
        files = sorted({p for pat in patterns for p in src_dir.glob(pat) if p.is_file()})
        for f in files:
            self.add(f, f"{sub}/{f.name}", kind, str(f), data, bad)

    def pip_wheels(self, lock: Path, data: dict, bad: set[str]) -> None:
        """The runtime lock's wheels via pip download (hash-checked against the lock)."""
        lock_sha = sha256(lock)
        have = [a for a in data["artifacts"].values() if a["kind"] == "runtime-wheel"]
        if data.get("runtime_lock_sha256") == lock_sha and have and not any(a["path"] in bad for a in have):
            return
        with tempfile.TemporaryDirectory(prefix="bundle-pip-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps"]
            cmd += ["--require-hashes", "-r", str(lock), "-d", tmp, *PIP_TARGET]
            self.log(f"==> pip download -r {lock.name} (CPython 3.11, x86_64)")
            r = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if r.returncode != 0:
                raise BundleError(f"pip download failed:\n{r.stderr[-3000:]}")
            wanted = set()
            for whl in sorted(Path(tmp).glob("*.whl")):
                rel = f"wheels/{whl.name}"
                wanted.add(rel)
                self.add(whl, rel, "runtime-wheel", f"pypi (requirements/{lock.name})", data, bad)
                data["artifacts"][rel]["source"] = f"pypi (requirements/{lock.name})"
        for a in have:  # wheels the lock no longer pins
            if a["path"] not in wanted:
                (self.out / a["path"]).unlink(missing_ok=True)
                del data["artifacts"][a["path"]]
        data["runtime_lock_sha256"] = lock_sha

    def app_wheel(self, root: Path, data: dict, bad: set[str]) -> None:
        """The gateway's own wheel, built once per source hash (the gateway role's cache layout)."""
        r = subprocess.run(["bash", "-c", SRC_HASH_CMD], cwd=root, capture_output=True, text=True, check=True)
        src_hash = r.stdout.strip()
        build_cache = self.cache / "gateway-wheel" / src_hash
        if not list(build_cache.glob("*.whl")):
            self.log(f"==> building the app wheel ({src_hash})")
            cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(build_cache), str(root)]
            b = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if b.returncode != 0:
                raise BundleError(f"building the app wheel failed:\n{b.stderr[-3000:]}")
        for old in [a for a in data["artifacts"].values() if a["kind"] == "app-wheel"]:
            if not old["path"].startswith(f"gateway-wheel/{src_hash}/"):
                (self.out / old["path"]).unlink(missing_ok=True)
                del data["artifacts"][old["path"]]
        for whl in sorted(build_cache.glob("*.whl")):
            self.add(whl, f"gateway-wheel/{src_hash}/{whl.name}", "app-wheel", "built from this repository", data, bad)


def run(out: Path, cache: Path, root: Path, pip: bool = True, app: bool = True, log=print) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    data = load_manifest(out)
    problems = verify(out, data)
    for rel, why in problems.items():
        log(f"!! {rel}: {why}; replacing it from the source")
    bad = set(problems)
    b = Bundler(out, cache, log)
    if pip:
        b.pip_wheels(root / "requirements" / "runtime.lock", data, bad)
    if app:
        b.app_wheel(root, data, bad)
    for sub, kind, src_sub, patterns in COPIED:
        b.add_dir(sub, kind, cache / src_sub, patterns, data, bad)
    still_bad = [rel for rel in bad if rel not in b.repaired and rel in data["artifacts"]]
    write_manifest(out, data)
    if still_bad:
        raise BundleError("no source to repair: " + ", ".join(sorted(still_bad)))
    total = sum(a["size"] for a in data["artifacts"].values())
    log(
        f"==> bundle {out}: {len(data['artifacts'])} files, {total / 1e6:.0f} MB; "
        f"copied {len(b.copied)}, repaired {len(b.repaired)}"
    )
    return {"copied": b.copied, "repaired": b.repaired, "problems": problems, "files": len(data["artifacts"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("BUNDLE_DIR") or ROOT / ".cache" / "bundle"))
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("HYBRID_CACHE") or ROOT / ".cache"))
    ap.add_argument("--root", type=Path, default=ROOT, help="the kit's repository (requirements, app)")
    ap.add_argument("--no-pip", action="store_true", help="skip downloading the runtime lock's wheels")
    ap.add_argument("--no-app", action="store_true", help="skip building/copying the app wheel")
    ap.add_argument("--verify", action="store_true", help="only check the bundle against its manifest")
    args = ap.parse_args(argv)
    try:
        if args.verify:
            if not (args.out / MANIFEST).exists():
                print(f"no bundle at {args.out}", file=sys.stderr)
                return 1
            problems = verify(args.out, load_manifest(args.out))
            for rel, why in problems.items():
                print(f"!! {rel}: {why}", file=sys.stderr)
            print(f"==> {args.out}: {'FAILED' if problems else 'ok'}")
            return 1 if problems else 0
        run(args.out.resolve(), args.cache.resolve(), args.root.resolve(), pip=not args.no_pip, app=not args.no_app)
    except BundleError as e:
        print(f"bundle: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
