"""Streamlit's browser files as nginx serves them (scripts/static_assets.py): a copy with a gzip beside each text file,
rebuilt when Streamlit's version changes; `make serve` points the site's /static/ root at it."""

from __future__ import annotations

import gzip
import os
import stat

import pytest

from scripts import static_assets
from scripts.serve_workers import site_config

SCRIPT = b"export function f(){return 'x'}\n" * 200   # compresses well
FONT = bytes(range(256)) * 8                       # woff2 is compressed already


@pytest.fixture(autouse=True)
def private_umask():
    """A strict umask, as on a hardened server: the copy must still be readable by nginx's unprivileged worker."""
    old = os.umask(0o077)
    yield
    os.umask(old)


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "src"
    (src / "js").mkdir(parents=True)
    (src / "media").mkdir()
    (src / "js" / "index.AbC123.js").write_bytes(SCRIPT)
    (src / "js" / "tiny.js").write_bytes(b"1")        # gzip would be larger
    (src / "media" / "font.XyZ.woff2").write_bytes(FONT)
    (src / "js" / "link.js").symlink_to("/etc/passwd")  # never followed into the copy
    return src


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("name", "raw", "has_gz"), [
    ("js/index.AbC123.js", SCRIPT, True),
    ("js/tiny.js", b"1", False),
    ("media/font.XyZ.woff2", FONT, False),
])
def test_each_file_is_copied_and_text_gets_a_smaller_gzip(tmp_path, source, name, raw, has_gz):
    root = static_assets.build(tmp_path / "out", source, "1.0")
    copy = root / "static" / name
    assert copy.read_bytes() == raw and mode(copy) == 0o644  # nginx's worker runs as nobody
    gz = copy.with_name(copy.name + ".gz")
    assert gz.exists() == has_gz
    if has_gz:
        assert gzip.decompress(gz.read_bytes()) == raw and len(gz.read_bytes()) < len(raw) / 5
        assert gz.read_bytes() == static_assets.gzipped(raw)  # no timestamp: the same file gives the same bytes


def test_symlinks_are_not_copied_and_folders_are_readable(tmp_path, source):
    root = static_assets.build(tmp_path / "out", source, "1.0")
    assert not (root / "static" / "js" / "link.js").exists()
    assert mode(root) == mode(root / "static") == mode(root / "static" / "js") == 0o755


def test_the_copy_is_rebuilt_only_when_the_bundle_changes(tmp_path, source):
    root = static_assets.build(tmp_path / "out", source, "1.0")
    copied = root / "static" / "js" / "index.AbC123.js"
    before = copied.stat().st_ino
    static_assets.build(root, source, "1.0")
    assert copied.stat().st_ino == before  # the same bundle: left as it was
    static_assets.build(root, source, "1.1")
    assert copied.stat().st_ino != before and (root / static_assets.STAMP).read_text(encoding="utf-8").startswith("1.1 ")
    (source / "js" / "index.AbC123.js").unlink()
    (source / "js" / "index.New456.js").write_bytes(SCRIPT)
    static_assets.build(root, source, "1.2")
    assert not copied.exists() and (root / "static" / "js" / "index.New456.js.gz").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".static")] == []  # no half-built folder left


def test_a_reinstall_with_other_files_is_noticed_and_a_killed_build_cleaned_up(tmp_path, source):
    root = static_assets.build(tmp_path / "out", source, "1.0")
    (root / ".static-killed").mkdir()
    (source / "js" / "index.AbC123.js").write_bytes(SCRIPT + b"//")  # same version, another file
    static_assets.build(root, source, "1.0")
    assert (root / "static" / "js" / "index.AbC123.js").read_bytes() == SCRIPT + b"//"
    assert not (root / ".static-killed").exists()


def test_the_installed_streamlit_bundle_is_found():
    folder = static_assets.source_dir()
    assert folder.is_dir() and any(folder.glob("js/index.*.js"))


def test_make_serve_points_the_static_root_at_its_copy(tmp_path):
    text = site_config("127.0.0.1", 8501, [9001, 9002], static_root=tmp_path / "static-assets")
    copy = tmp_path / "static-assets"
    assert f'root "{copy}";' in text and "/var/cache/satisfaction-static" not in text
    assert "gzip_static on;" in text and "try_files $uri @satisfaction_files;" in text


def test_a_site_without_the_marked_root_line_is_refused():
    site = "upstream satisfaction_workers {\n    hash $x consistent;\n    server 127.0.0.1:1;\n}\nserver {\n    listen 80;\n}\n"
    assert "listen 127.0.0.1:8501;" in site_config("127.0.0.1", 8501, [9001], site=site)
    with pytest.raises(ValueError, match="static copy"):
        site_config("127.0.0.1", 8501, [9001], site=site, static_root="/tmp/x")
