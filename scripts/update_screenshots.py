"""Copy the browser tests' screenshots of 总览 and 排名 into docs/screenshots/ for the README.

The browser tests (tests/test_browser.py, part of `make test`) save every page to test-artifacts/screenshots/;
`<stem>.png` is the top 1400×1000 of the page. Run the tests first, then:

    .venv/bin/python scripts/update_screenshots.py

The copies are reduced to a 256-colour palette (about a third of the size, no visible change for a dashboard).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "test-artifacts" / "screenshots"
TARGET = ROOT / "docs" / "screenshots"
PAGES = ("overview", "ranking")


def main() -> int:
    missing = [SOURCE / f"{stem}.png" for stem in PAGES if not (SOURCE / f"{stem}.png").is_file()]
    if missing:
        print("缺少截图：" + "、".join(str(p.relative_to(ROOT)) for p in missing)
              + "\n请先运行浏览器测试：.venv/bin/python -m pytest tests/test_browser.py -k 'overview or ranking'", file=sys.stderr)
        return 1
    from PIL import Image

    TARGET.mkdir(parents=True, exist_ok=True)
    for stem in PAGES:
        source, target = SOURCE / f"{stem}.png", TARGET / f"{stem}.png"
        with Image.open(source) as image:
            image.convert("RGB").quantize(colors=256).save(target, optimize=True)
        print(f"{target.relative_to(ROOT)}：{target.stat().st_size / 1024:.0f} KB（原 {source.stat().st_size / 1024:.0f} KB）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
