"""Streamlit's browser files (scripts, styles, fonts) as nginx serves them: a copy with every compressible file gzipped
once beside it, for `gzip_static` (deploy/nginx/satisfaction.conf, location /static/).

Served by the Python workers, a first visit fetches ~100 files, 7.6 MB uncompressed, for ~0.2 s of a worker's CPU:
fifty principals opening the link at once is 380 MB over the bureau's network and 10 s of CPU taken from the pages
(Streamlit leaves its bundles uncompressed on purpose, to spare the interpreter). nginx sends the same files
gzipped (about a third of the bytes) without touching the workers. File names carry a content hash, so the copy
belongs to one Streamlit version; a file missing from it (Streamlit upgraded since) is still fetched from the workers.

    .venv/bin/python scripts/static_assets.py /var/cache/satisfaction-static   # a bureau server, as root, after each install

Built by root into a folder the workers' account cannot write: the files run in every visitor's browser, so whoever
could change them could change the page for everyone (nginx also refuses symlinks there).

`make serve` builds its own copy into its temporary directory at every start (~1 s, beside the workers' warm-up).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Text formats; woff2, png and gif are compressed already.
COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".json", ".svg", ".html", ".map", ".txt", ".ttf", ".otf", ".wasm"})
URL_DIR = "static"   # the URL prefix the files are served under (/static/js/…), also the folder inside the copy
STAMP = "BUNDLE_FINGERPRINT"  # the Streamlit version and a hash of the file list the copy was made from


def source_dir() -> Path:
    """The hashed bundle folder of the installed Streamlit (what its server sends for /static/…)."""
    import streamlit

    return Path(streamlit.__file__).resolve().parent / "static" / URL_DIR


def streamlit_version() -> str:
    import streamlit

    return streamlit.__version__


def gzipped(data: bytes) -> bytes:
    """gzip at the highest level, with no timestamp, so the same file always gives the same bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def bundle_files(source: Path) -> list[Path]:
    """The bundle's own regular files, in a fixed order (links are never followed into the copy)."""
    return [p for p in sorted(source.rglob("*")) if p.is_file() and not p.is_symlink()]


def copy_tree(source: Path, target: Path) -> None:
    """Copy every file under source to target (readable by nginx's unprivileged worker), each compressible one with a
    `.gz` beside it when that is smaller."""
    for path in bundle_files(source):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        out.write_bytes(data)
        out.chmod(0o644)
        if path.suffix.lower() in COMPRESSIBLE:
            packed = gzipped(data)
            if len(packed) < len(data):
                gz = out.with_name(out.name + ".gz")
                gz.write_bytes(packed)
                gz.chmod(0o644)
    for folder in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)  # mkdir's mode is cut by the umask


def fingerprint(source: Path, version: str) -> str:
    """The Streamlit version and a hash of the bundle's file names and sizes: a reinstall with other files counts."""
    listing = hashlib.sha256()
    for path in bundle_files(source):
        listing.update(f"{path.relative_to(source)}\0{path.stat().st_size}\n".encode())
    return f"{version} {listing.hexdigest()[:16]}"


def build(root: Path, source: Path | None = None, version: str | None = None) -> Path:
    """Make `root/static/` the served copy of `source` (the installed Streamlit's bundle by default) and return root.

    Rebuilt only when the bundle differs from the one recorded in root (fingerprint); built in a temporary folder
    beside it and swapped in, so nginx never serves a half-written copy; one build at a time (a lock file)."""
    source = source_dir() if source is None else Path(source)
    version = streamlit_version() if version is None else version
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in root.glob(".static-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        wanted, stamp = fingerprint(source, version), root / STAMP
        if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == wanted and (root / URL_DIR).is_dir():
            return root
        swap(root, source, wanted)
    return root


def swap(root: Path, source: Path, wanted: str) -> None:
    """Copy the bundle beside the served copy, then put it in its place and record its fingerprint."""
    stamp = root / STAMP
    fresh = Path(tempfile.mkdtemp(prefix=".static-", dir=root))
    try:
        fresh.chmod(0o755)
        copy_tree(source, fresh / URL_DIR)
        old = root / ".static-old"
        shutil.rmtree(old, ignore_errors=True)
        if (root / URL_DIR).exists():
            os.replace(root / URL_DIR, old)
        os.replace(fresh / URL_DIR, root / URL_DIR)
        shutil.rmtree(old, ignore_errors=True)
        stamp.write_text(wanted + "\n", encoding="utf-8")
        stamp.chmod(0o644)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("用法：python scripts/static_assets.py 目录（nginx 配置中 location /static/ 的 root）", file=sys.stderr)
        return 2
    root = build(Path(argv[0]))
    files = sum(1 for p in (root / URL_DIR).rglob("*") if p.is_file() and p.suffix != ".gz")
    print(f"已生成 Streamlit {streamlit_version()} 的浏览器文件副本：{root / URL_DIR}（{files} 个文件，附 gzip 版本）")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
