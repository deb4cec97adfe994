"""Tested as a person uses it: every page of app.py in Chromium, and the analyst's upload journey (issue 7).

Each server is a real `streamlit run app.py` on a free loopback port with its own database built from the bundled
mock data. Pages are read from app.py's PAGES list, so a new page is tested as soon as it is added there.
Screenshots go to test-artifacts/screenshots/<stem>.png (top 1400×1000) and <stem>-full.png (1400×2600).

Outside CI (CI=true) the tests skip with a printed reason when Playwright or Chromium is missing; in CI they fail.
"""

from __future__ import annotations

import os
import re
import time

import pytest

import browser_support as bs

PAGES = bs.discover_pages()
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
VIEWPORT = {"width": 1400, "height": 2600}
README_CLIP = {"x": 0, "y": 0, "width": 1400, "height": 1000}
FIRST_CHART_TIMEOUT = 45_000  # ms; the first page of a cold server computes every wave's rank probabilities
# Pages that call st.plotly_chart only after the user has entered something; none so far.
CHARTS_AFTER_INPUT: set[str] = set()
CJK = re.compile(r"[\u3400-\u9fff]")

ANALYST = ("analyst1", "analyst-pass-7")
LEADER = ("leader1", "leader-pass-7")
NEW_WAVE = "2026年第4季度"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chromium():
    """The system Chromium through Playwright (never `playwright install`); module-scoped, so Playwright's event loop
    is gone before the rest of the suite runs."""
    reason = bs.missing_browser_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
        print(f"\nSKIPPED browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = bs.launch_chromium(playwright)
        yield browser
        browser.close()


def _server(tmp_path_factory, name: str, accounts=None) -> bs.StreamlitServer:
    tmp = tmp_path_factory.mktemp(name)
    db = bs.build_database(tmp / "app.db")
    secrets = bs.write_secrets(tmp / "secrets.toml", accounts)
    log = bs.ARTIFACTS / "logs" / f"{name}-server.log"
    log.unlink(missing_ok=True)
    return bs.StreamlitServer(db, secrets, log).start()


@pytest.fixture(scope="module")
def pages_server(tmp_path_factory, chromium):
    """Server for the page tests: mock data, no accounts (the loopback mode of `make run`)."""
    server = _server(tmp_path_factory, "pages")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pages_context(chromium):
    """One browser context for the page tests, so the frontend bundle is fetched once."""
    context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
    yield context
    context.close()


@pytest.fixture(scope="module")
def journey_server(tmp_path_factory, chromium):
    """A separate server with its own database and accounts, so the upload journey does not disturb the page tests."""
    server = _server(tmp_path_factory, "journey", {ANALYST[0]: (ANALYST[1], "analyst"), LEADER[0]: (LEADER[1], "leader")})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def new_wave_csv(tmp_path_factory):
    """The mock data's latest wave relabelled as a new wave, new respondent ids, Chinese headers, GBK-encoded."""
    from analysis.data.contract import responses_kind
    from analysis.data.mock import mock_responses, to_contract_headers
    from analysis.settings import load_settings

    settings = load_settings()
    responses = mock_responses(settings)
    latest = responses[responses["wave"] == responses["wave"].max()].copy()
    latest["wave"] = NEW_WAVE
    latest["respondent_id"] = "Q4-" + latest["respondent_id"].astype(str)
    path = tmp_path_factory.mktemp("upload") / "问卷_2026年第4季度_gbk.csv"
    to_contract_headers(latest, responses_kind(settings.items)).to_csv(path, index=False, encoding="gbk")
    return path


def _screenshots(page, stem: str) -> None:
    """<stem>-full.png (the whole 1400×2600 viewport) and <stem>.png (its top 1400×1000, used by the README)."""
    bs.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(bs.SCREENSHOTS / f"{stem}-full.png"))
        page.screenshot(path=str(bs.SCREENSHOTS / f"{stem}.png"), clip=README_CLIP)
    except Exception as exc:  # a failed screenshot must not hide the failure being reported
        print(f"screenshot of {stem} failed: {exc}")


# ---------------------------------------------------------------- every page


def test_pages_are_discovered():
    """app.py's PAGES list is read; a default page is served at /."""
    assert [p for p in PAGES if p.url_path == "/"], f"no default page among {PAGES}"
    for spec in PAGES:
        assert (bs.ROOT / spec.file).is_file(), f"app.py lists {spec.file}, which does not exist"


@pytest.mark.parametrize("spec", PAGES, ids=[p.stem for p in PAGES])
def test_page_renders(spec: bs.PageSpec, pages_server, pages_context):
    """No exception box or error alert, the Chinese title is drawn in a CJK font, the charts are drawn."""
    page = pages_context.new_page()
    crashes: list[str] = []
    page.on("pageerror", lambda error: crashes.append(str(error)))
    expect_charts = spec.draws_charts and spec.stem not in CHARTS_AFTER_INPUT
    try:
        try:
            bs.open_page(page, pages_server.url(spec.url_path), expect_charts=expect_charts, timeout=FIRST_CHART_TIMEOUT)
        finally:
            _screenshots(page, spec.stem)

        found = bs.problems(page)
        assert not found, f"{spec.file} shows errors:\n" + "\n".join(found) + "\n" + pages_server.log_tail(25)
        assert not crashes, f"{spec.file}: JavaScript errors in the browser: {crashes}"

        # The page is the one the navigation shows as current, under its Chinese title.
        current = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
        assert current.count() == 1 and spec.title in current.inner_text(), (
            f"{spec.url_path}: the sidebar does not mark “{spec.title}” as the current page")
        heading = page.locator('[data-testid="stMain"] h1').first
        assert heading.count(), f"{spec.file}: no st.title on the page"
        title = heading.inner_text().strip()
        cjk_chars = CJK.findall(title)
        assert cjk_chars, f"{spec.file}: page title {title!r} has no Chinese characters"

        # Chromium's own record of the fonts that drew the title: CJK glyphs must come from a CJK font.
        fonts = bs.platform_fonts(page, '[data-testid="stMain"] h1')
        cjk_glyphs = sum(f["glyphCount"] for f in fonts if "CJK" in f["familyName"] or f["familyName"] in bs.CJK_FAMILIES)
        assert cjk_glyphs >= len(cjk_chars), (
            f"{spec.file}: title {title!r} drawn with {fonts}; expected its {len(cjk_chars)} Chinese characters in one of "
            f"{bs.CJK_FAMILIES} — is fonts-noto-cjk installed?")

        charts = bs.chart_stats(page)
        if expect_charts:
            visible = [c for c in charts if c["visible"]]
            assert visible, (f"{spec.file} calls st.plotly_chart but no chart appeared with the mock data; if it draws "
                             "charts only after input, add its stem to CHARTS_AFTER_INPUT in tests/test_browser.py")
            empty = [c for c in visible if not c["marks"] or not c["svg_width"]]
            assert not empty, f"{spec.file}: charts without drawn marks: {empty}"
    finally:
        page.close()


def test_deep_link_is_the_first_request(tmp_path_factory, chromium):
    """A bookmarked /ranking opened first on a freshly started server still runs inside app.py's frame.

    A folder named pages/ next to app.py makes Streamlit run such a first request in its legacy multipage mode: the
    page script alone, without the shared sidebar (本县, 测评批次, sign-in) and with English file names as titles.
    """
    spec = next(p for p in PAGES if not p.default and p.draws_charts)
    server = _server(tmp_path_factory, "deeplink")
    try:
        with bs.browser_page(chromium, {"width": 1400, "height": 1000}) as page:
            bs.open_page(page, server.url(spec.url_path), expect_charts=True, timeout=FIRST_CHART_TIMEOUT)
            links = [t.strip().splitlines()[-1] for t in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]  # after the icon
            assert links == [p.title for p in PAGES], f"first request to {spec.url_path}: navigation shows {links}"
            current = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]').inner_text()
            assert spec.title in current
            assert bs.choice_menu(page).count() == 1, f"first request to {spec.url_path}: no shared sidebar"
            assert not bs.problems(page), bs.problems(page)
    finally:
        server.stop()


def test_make_run_entry_warms_then_serves_the_app(tmp_path_factory, chromium):
    """serve.py (what `make run` starts) logs its warm start and serves the same app as `streamlit run app.py`."""
    tmp = tmp_path_factory.mktemp("serve")
    log = bs.ARTIFACTS / "logs" / "serve-server.log"
    log.unlink(missing_ok=True)
    server = bs.StreamlitServer(bs.build_database(tmp / "app.db"), bs.write_secrets(tmp / "secrets.toml"), log,
                                script=bs.SERVE).start()
    try:
        with bs.browser_page(chromium, {"width": 1400, "height": 1000}) as page:
            warmed = re.compile(r"预热完成：导入页面模块并计算 6 个批次的名次")
            deadline = time.monotonic() + 60
            while not warmed.search(log.read_text(encoding="utf-8", errors="replace")) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert warmed.search(log.read_text(encoding="utf-8", errors="replace")), server.log_tail()
            bs.open_page(page, server.url("/"), expect_charts=True, timeout=FIRST_CHART_TIMEOUT)
            links = [t.strip().splitlines()[-1] for t in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]
            assert links == [p.title for p in PAGES]
            assert _home_rank(page) == "第6名"
            assert not bs.problems(page), bs.problems(page)
            assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace"), server.log_tail()
    finally:
        server.stop()


def test_make_serve_sends_the_browser_files_gzipped_from_nginx(tmp_path_factory, chromium):
    """Through `make serve` a first visit draws the same first screen, while every Streamlit script and style comes
    gzipped from nginx's copy (scripts/static_assets.py), not from a Python worker: under half the bytes."""
    import shutil

    from bench.bench_load import MakeServe

    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        if IN_CI:
            pytest.fail("CI must have nginx (apt-get install -y nginx)", pytrace=False)
        print("\nSKIPPED: nginx is not installed")
        pytest.skip("nginx is not installed")
    tmp = tmp_path_factory.mktemp("make-serve")
    log = bs.ARTIFACTS / "logs" / "make-serve-browser.log"
    log.unlink(missing_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    server = MakeServe(bs.build_database(tmp / "app.db"), bs.write_secrets(tmp / "secrets.toml"), log, 2).start()
    try:
        with bs.browser_page(chromium, {"width": 1400, "height": 1000}) as page:
            files = []
            page.on("response", lambda r: files.append(r) if "/static/" in r.url else None)
            bs.open_page(page, server.base_url + "/", expect_charts=True, timeout=FIRST_CHART_TIMEOUT)
            assert _home_rank(page) == "第6名"
            assert not bs.problems(page), bs.problems(page)
            texts = [f for f in files if f.url.endswith((".js", ".css"))]
            assert len(texts) > 20, [f.url for f in files]
            headers = [f.all_headers() for f in texts]
            # A file of a few bytes is sent as it is: its gzip would be larger.
            odd = [(f.url, h.get("x-satisfaction-static"), h.get("content-encoding")) for f, h in zip(texts, headers)
                   if h.get("x-satisfaction-static") != "copy"
                   or (h.get("content-encoding") != "gzip" and len(f.body()) > 1000)]
            assert not odd, odd[:5]
            sent = page.evaluate("() => performance.getEntriesByType('resource')"
                                 ".filter(e => e.name.includes('/static/')).map(e => [e.transferSize, e.decodedBodySize])")
            assert sum(t for t, _ in sent) < sum(d for _, d in sent) / 2, sent[:5]
    finally:
        left = server.stop()
    assert not left, f"processes left after make serve stopped: {left}"


# ---------------------------------------------------------------- the analyst's journey


def _log_in(page, user: tuple[str, str], role_label: str) -> None:
    from playwright.sync_api import expect

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("用户名").fill(user[0])
    sidebar.get_by_label("密码", exact=True).fill(user[1])
    sidebar.get_by_role("button", name="登录").click()
    expect(sidebar.get_by_text(f"当前用户：{user[0]}（{role_label}）")).to_be_visible(timeout=30_000)
    bs.wait_idle(page)


def _home_rank(page) -> str:
    card = page.get_by_test_id("stMetric").filter(has_text="推算名次")
    value = card.get_by_test_id("stMetricValue").inner_text().strip()
    assert re.fullmatch(r"第\d+名", value), f"overview shows the home county's rank as {value!r}"
    return value


def test_analyst_uploads_a_new_wave(journey_server, chromium, new_wave_csv):
    """Sign in as analyst, upload a GBK CSV of a new wave on 数据管理, confirm, and see it ranked on 总览."""
    from playwright.sync_api import expect

    with bs.browser_page(chromium, {"width": 1400, "height": 1400}) as page:
        try:
            # With accounts configured nothing but the sign-in form shows until sign-in.
            bs.open_page(page, journey_server.url("/"), timeout=FIRST_CHART_TIMEOUT)
            expect(page.get_by_test_id("stMain").get_by_text("请在左侧边栏登录后查看")).to_be_visible()
            _log_in(page, ANALYST, "分析员")
            bs.wait_first_chart(page, FIRST_CHART_TIMEOUT)
            latest_rank = _home_rank(page)

            bs.go_to(page, "数据管理")
            main = page.get_by_test_id("stMain")
            expect(main.get_by_text(f"已以分析员“{ANALYST[0]}”登录", exact=False)).to_be_visible()
            kind = main.get_by_role("radio", name="调查问卷")
            if not kind.is_checked():
                bs.rerun(page, lambda: main.get_by_text("调查问卷", exact=True).click())
            expect(kind).to_be_checked()

            bs.rerun(page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(new_wave_csv)))
            expect(main.get_by_text(new_wave_csv.name)).to_be_visible()
            expect(main.get_by_text(re.compile(r"文件编码：(GBK|GB18030)"))).to_be_visible(timeout=60_000)
            expect(main.get_by_text("预览（前 10 行）")).to_be_visible()
            assert not bs.problems(page), bs.problems(page)
            _screenshots(page, "journey-preview")

            bs.rerun(page, lambda: main.get_by_role("button", name="确认导入").click())
            found = bs.problems(page)
            assert not found, "确认导入 ends in an error:\n" + "\n".join(found)
            # The import's summary line (a toast or a message on the page) and the new wave chosen in the sidebar.
            expect(page.get_by_text(re.compile(rf"已导入调查问卷 [\d,]+ 行：{NEW_WAVE}")).first).to_be_visible(timeout=30_000)
            expect(bs.choice_menu(page)).to_contain_text(f"{NEW_WAVE} · ", timeout=30_000)
            assert not bs.problems(page), bs.problems(page)

            bs.go_to(page, "总览")
            bs.wait_first_chart(page)
            expect(bs.choice_menu(page)).to_contain_text(f"{NEW_WAVE} · ")
            bs.open_choices(page)
            expect(bs.selectbox(page, "测评批次").get_by_role("combobox")).to_have_value(NEW_WAVE)
            expect(page.get_by_test_id("stMain").get_by_text(re.compile(f"^{NEW_WAVE} · "))).to_be_visible()
            # The new wave repeats the latest wave's answers, so the home county's rank is the same.
            assert _home_rank(page) == latest_rank
            assert not bs.problems(page), bs.problems(page)
            _screenshots(page, "journey-overview")
        except Exception:
            _screenshots(page, "journey-failure")
            raise


def test_leader_cannot_upload(journey_server, chromium):
    """Without a sign-in and with a leadership account, 数据管理 shows no upload controls."""
    from playwright.sync_api import expect

    with bs.browser_page(chromium, {"width": 1400, "height": 1400}) as page:
        try:
            bs.open_page(page, journey_server.url("/data_admin"))
            main = page.get_by_test_id("stMain")
            expect(main.get_by_text("请在左侧边栏登录后查看")).to_be_visible()
            assert page.get_by_test_id("stFileUploaderDropzoneInput").count() == 0
            assert main.get_by_role("heading", name="已存数据").count() == 0  # anonymous visitors read nothing

            _log_in(page, LEADER, "局领导")
            expect(main.get_by_text("局领导账号只能查看")).to_be_visible()
            expect(main.get_by_role("heading", name="已存数据")).to_be_visible()
            assert page.get_by_test_id("stFileUploaderDropzoneInput").count() == 0
            assert main.get_by_role("button", name="确认导入").count() == 0
            assert main.get_by_role("button", name="删除该批次").count() == 0
            assert not bs.problems(page), bs.problems(page)
        except Exception:
            _screenshots(page, "leader-failure")
            raise


# ---------------------------------------------------------------- the county scenario (own survey + published table)


@pytest.fixture(scope="module")
def county_server(tmp_path_factory, chromium):
    """A server on what a county bureau really holds: its own respondents and the city's published table."""
    tmp = tmp_path_factory.mktemp("county")
    db = bs.build_database(tmp / "app.db", mock_dir=bs.ROOT / "data" / "mock-county")
    log = bs.ARTIFACTS / "logs" / "county-server.log"
    log.unlink(missing_ok=True)
    server = bs.StreamlitServer(db, bs.write_secrets(tmp / "secrets.toml"), log).start()
    yield server
    server.stop()


@pytest.mark.parametrize("path, stem", [("/", "county-overview"), ("/ranking", "county-ranking")])
def test_county_scenario_pages_name_their_basis(path, stem, county_server, pages_context):
    """总览 and 排名 on the county scenario: no error, and the sentence saying the rank is a forecast against 2026年第2季度."""
    page = pages_context.new_page()
    try:
        try:
            bs.open_page(page, county_server.url(path), expect_charts=True, timeout=FIRST_CHART_TIMEOUT)
        finally:
            _screenshots(page, stem)
        found = bs.problems(page)
        assert not found, "\n".join(found) + "\n" + county_server.log_tail(25)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "对照 2026年第2季度 市级公布结果" in text and "这是预测，不是正式名次" in text
    finally:
        page.close()


# ---------------------------------------------------------------- 目标推演's plan editor


def _plan_words(page) -> str:
    return next(t for t in page.get_by_test_id("stCaptionContainer").all_inner_texts() if t.startswith("当前方案"))


def _type_into_cell(page, x: float, y: float, value: str) -> None:
    """Select a grid cell, type over it and commit (typing on a selected cell opens its editor), then click away."""
    page.mouse.click(x, y)
    time.sleep(0.3)
    for key in value:
        page.keyboard.type(key, delay=80)
    time.sleep(0.3)
    page.keyboard.press("Enter")
    time.sleep(0.3)
    page.get_by_role("heading", name="目标推演").click()  # outside the grid: the edit reaches the server
    time.sleep(0.5)
    bs.wait_idle(page)


def test_an_edited_plan_is_kept_when_its_editor_closes(pages_server, chromium):
    """The plan editor is drawn only while 修改方案 is open; two edits both count, and the plan, its words and its
    outcome stay after the editor closes and after a visit to another page."""
    with bs.browser_page(chromium, {"width": 1400, "height": 1400}) as page:
        bs.open_page(page, pages_server.url("/planner"))
        assert _plan_words(page).endswith("一般→满意 20%；学生家长 的 课后服务 比较满意→满意 10%")
        before = page.get_by_test_id("stMetricValue").all_inner_texts()
        page.get_by_text("修改方案（展开编辑）").click()
        time.sleep(0.5)
        bs.wait_idle(page)
        grid = page.get_by_test_id("stExpander").filter(has_text="修改方案").get_by_test_id("stDataFrame")
        for row, value in ((1, "50"), (2, "30")):
            box = grid.bounding_box()
            # The 比例% column; rows are 35 px under a 35-px header.
            _type_into_cell(page, box["x"] + box["width"] - 40, box["y"] + 35 * row + 17, value)
        words = _plan_words(page)
        assert "一般→满意 50%" in words and "比较满意→满意 30%" in words, words
        after = page.get_by_test_id("stMetricValue").all_inner_texts()
        assert after != before, (before, after)
        page.get_by_text("修改方案（展开编辑）").click()
        time.sleep(0.5)
        bs.wait_idle(page)
        assert grid.count() == 0 and _plan_words(page) == words
        page.get_by_test_id("stSidebarNavLink").filter(has_text="排名").click()
        bs.wait_idle(page)
        page.get_by_test_id("stSidebarNavLink").filter(has_text="目标推演").click()
        time.sleep(0.5)
        bs.wait_idle(page)
        assert _plan_words(page) == words and page.get_by_test_id("stMetricValue").all_inner_texts() == after
        assert not bs.problems(page), bs.problems(page)


# ---------------------------------------------------------------- the director's first screen, desktop and phone


@pytest.mark.parametrize("width, height", [(1400, 900), (390, 844)])
def test_first_screen_leads_with_the_official_rank_and_one_conclusion(width, height, pages_server, chromium):
    """Without scrolling: the city's published rank, the one-sentence conclusion with the fix-first item."""
    with bs.browser_page(chromium, {"width": width, "height": height}) as page:
        bs.open_page(page, pages_server.url("/"), expect_charts=True, timeout=FIRST_CHART_TIMEOUT)
        page.screenshot(path=str(bs.SCREENSHOTS / f"overview-first-screen-{width}.png"))
        main = page.get_by_test_id("stMain")
        for text in ("市级通报：第5名", "保6把握约", "首先要抓的是"):
            box = main.get_by_text(text, exact=False).first.bounding_box()
            assert box is not None and box["y"] + box["height"] <= height, f"“{text}” is not on the first screen at {width}px: {box}"
        if width < 500:
            # Cards two by two: the 冲5 card sits beside 保6, not below the fold on its own row.
            cards = page.get_by_test_id("stMetric")
            hold, strive = cards.filter(has_text="保6把握").bounding_box(), cards.filter(has_text="冲5把握").bounding_box()
            assert abs(hold["y"] - strive["y"]) < 5, (hold, strive)
        assert not bs.problems(page), bs.problems(page)


@pytest.mark.parametrize("spec", PAGES, ids=[p.stem for p in PAGES])
def test_page_on_a_phone(spec: bs.PageSpec, pages_server, chromium):
    """Every page at 390×844: no error, and a screenshot in test-artifacts/screenshots/<stem>-phone.png."""
    with bs.browser_page(chromium, {"width": 390, "height": 844}) as page:
        bs.open_page(page, pages_server.url(spec.url_path), expect_charts=spec.draws_charts and spec.stem not in CHARTS_AFTER_INPUT,
                     timeout=FIRST_CHART_TIMEOUT)
        bs.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(bs.SCREENSHOTS / f"{spec.stem}-phone.png"), full_page=False)
        assert not bs.problems(page), bs.problems(page)
        title = page.locator('[data-testid="stMain"] h1').first.bounding_box()
        assert title and title["height"] < 115, f"{spec.file}: the title wraps onto several lines on a phone ({title})"


def test_a_table_download_arrives_without_redrawing_the_page(pages_server, chromium):
    """排名's 下载 → 下载 CSV: the file is generated when clicked (a UTF-8-with-BOM CSV of the ranking table) and the page
    does not rerun for it (on_click="ignore"), so fifty downloads at a meeting cost the server no page runs."""
    with bs.browser_page(chromium, {"width": 1400, "height": 1600}, accept_downloads=True) as page:
        bs.open_page(page, pages_server.url("/ranking"), expect_charts=True, timeout=FIRST_CHART_TIMEOUT)
        # The table's 下载 menu (a lazy popover): its buttons are drawn by the run that opening it starts.
        page.get_by_test_id("stMain").get_by_test_id("stPopover").first.get_by_role("button").click()
        csv_button = page.get_by_role("button", name="下载 CSV").first
        csv_button.wait_for(state="visible", timeout=30_000)
        bs.wait_idle(page)
        bs.watch_reruns(page)
        with page.expect_download(timeout=30_000) as caught:
            csv_button.click()
        body = open(caught.value.path(), "rb").read()
        assert caught.value.suggested_filename.endswith(".csv"), caught.value.suggested_filename
        assert body.startswith(b"\xef\xbb\xbf") and "县区" in body.decode("utf-8-sig").splitlines()[0], body[:200]
        page.wait_for_timeout(1500)  # a rerun would have started well within this
        states = page.evaluate("() => window.__stWatch.states")
        assert set(states) == {"notRunning"}, f"the download reran the page: {states}"


# ---------------------------------------------------------------- 整改跟踪: the analyst closes a ledger problem, the leader cannot


def _ledger_tab(page) -> None:
    """Open 整改跟踪 and its 问题台账 tab as a signed-in user, clicking again where a click made during a run was lost."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    main = page.get_by_test_id("stMain")
    # The page title is what tells that 整改跟踪 is open; the tab's section runs only once the tab is open (lazy
    # tabs), so what it draws tells that the tab is.
    title = main.get_by_role("heading", name="整改跟踪")
    drawn = main.get_by_text("销号率").first

    def navigate(wait: float) -> None:
        try:
            bs.go_to(page, "整改跟踪", timeout=wait)
        except PlaywrightTimeout:
            bs.wait_idle(page)  # the click may have taken with its rerun unseen: the title decides
        title.wait_for(state="visible", timeout=wait)

    def open_tab(wait: float) -> None:
        page.get_by_role("tab", name="问题台账").click(timeout=wait)
        drawn.wait_for(state="visible", timeout=wait)

    bs.retried(page, navigate, title.is_visible, "go to 整改跟踪", first=20_000)
    bs.retried(page, open_tab, drawn.is_visible, "open 问题台账", first=20_000)
    bs.wait_idle(page)


def test_leader_reads_the_ledger_but_cannot_change_it(journey_server, chromium):
    with bs.browser_page(chromium, {"width": 1400, "height": 1400}) as page:
        bs.open_page(page, journey_server.url("/"))
        _log_in(page, LEADER, "局领导")
        _ledger_tab(page)
        main = page.get_by_test_id("stMain")
        assert main.get_by_text("销号率").count() >= 1
        assert main.get_by_role("button", name="保存修改").count() == 0
        assert main.get_by_text("修改或销号").count() == 0
        assert not bs.problems(page), bs.problems(page)


def test_analyst_closes_a_ledger_problem(journey_server, chromium):
    from playwright.sync_api import expect

    with bs.browser_page(chromium, {"width": 1400, "height": 1600}) as page:
        try:
            bs.open_page(page, journey_server.url("/"))
            _log_in(page, ANALYST, "分析员")
            _ledger_tab(page)
            main = page.get_by_test_id("stMain")
            picked = "TZ2026-001"  # 整改中 in the bundled ledger
            bs.choose(page, "台账编号", picked, sidebar=False)
            # Inside a form nothing reruns until it is submitted: choose 已销号, then save.
            bs.selectbox(page, "整改状态", sidebar=False).click()
            page.get_by_role("option", name="已销号", exact=True).click()
            bs.rerun(page, lambda: main.get_by_role("button", name="保存修改").click())
            assert not bs.problems(page), bs.problems(page)
            main.get_by_text("修改记录（每次新增、修改、销号）").click()
            history = main.get_by_test_id("stDataFrame").last
            expect(history).to_contain_text(ANALYST[0], timeout=30_000)
            expect(history).to_contain_text("销号")
            _screenshots(page, "ledger-closed")
        except Exception:
            _screenshots(page, "ledger-failure")
            raise
