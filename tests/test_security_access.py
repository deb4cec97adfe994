"""Issue 12, who may read and write: loopback writes judged by the request (item 1), the sign-in gate (5), accounts
re-checked on every run (7), sign-in throttling, logging, timing and hash strength (8), audited scenarios (11), no
tracebacks for users (6)."""

from __future__ import annotations

import statistics
import time
import tomllib

import pytest
import sqlalchemy as sa
from streamlit import config
from streamlit.testing.v1 import AppTest

from analysis.accounts import (ITERATIONS, LoginThrottle, check_sign_in, hash_password, local_request,
                               may_change_without_accounts, verify_password)
from analysis.data import store
from analysis.data.importing import commit_import, prepare_import
from analysis.survey.planner import Move
from analysis.survey.scenarios import delete_scenario, load_scenarios, save_scenario
from tests.conftest import ROOT, page_text, run_script, text_values
from tests.upload_support import NEW_WAVE, survey_csv

BROWSER = {"host": "127.0.0.1:8501", "user-agent": "Mozilla/5.0", "origin": "http://127.0.0.1:8501"}


# ---------------------------------------------------------------- item 1: the decision, as a pure function

@pytest.mark.parametrize("configured, peer, headers, allowed", [
    ("127.0.0.1", "127.0.0.1", BROWSER, True),
    ("localhost", "::1", {"host": "localhost:8501"}, True),
    ("127.0.0.1", "::ffff:127.0.0.1", {"host": "[::1]:8501"}, True),
    ("127.0.0.1", "127.0.0.2", {"host": "127.0.0.1"}, True),
    # The attack: uvicorn serve:app --host 0.0.0.0 while config.toml still says 127.0.0.1.
    ("127.0.0.1", "192.168.1.50", {"host": "192.168.1.10:8501"}, False),
    ("127.0.0.1", "10.0.0.7", BROWSER, False),                                    # a forged Host changes nothing
    ("0.0.0.0", "127.0.0.1", BROWSER, False),                                     # configured for the network
    ("", "127.0.0.1", BROWSER, False),                                            # "" listens everywhere
    ("192.168.1.10", "127.0.0.1", BROWSER, False),
    ("127.0.0.1", None, {}, False),                                               # no browser behind the run
    ("127.0.0.1", "127.0.0.1", {}, False),                                        # no Host header at all
    ("127.0.0.1", "127.0.0.1", BROWSER | {"x-forwarded-for": "203.0.113.9"}, False),  # a proxy on this machine
    ("127.0.0.1", "127.0.0.1", BROWSER | {"X-Real-IP": "203.0.113.9"}, False),
    ("127.0.0.1", "127.0.0.1", BROWSER | {"forwarded": "for=203.0.113.9"}, False),
    ("127.0.0.1", "127.0.0.1", {"host": "evil.example:8501"}, False),             # DNS rebinding
    ("127.0.0.1", "not-an-ip", BROWSER, False),
])
def test_writes_without_accounts_need_a_loopback_app_and_a_local_request(configured, peer, headers, allowed):
    assert may_change_without_accounts(configured, peer, headers) is allowed


def test_local_request_alone_ignores_the_setting():
    assert local_request("127.0.0.1", BROWSER) and not local_request("192.168.1.50", BROWSER)


# ---------------------------------------------------------------- item 1: the glue in the app

SCRIPT = """
import streamlit as st
from ui import auth
auth.login_box()
st.text(f"can_change={auth.can_change_data()}")
st.text(auth.access_notice())
st.text(f"user={auth.current_user()}")
"""


@pytest.fixture
def loopback_config():
    saved = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", saved)


def run(script: str = SCRIPT, accounts: dict | None = None, session: dict | None = None) -> AppTest:
    return run_script(script, accounts, session)


@pytest.mark.parametrize("peer, headers, can, user", [
    ("127.0.0.1", BROWSER, True, "本机用户"),
    ("192.168.1.50", {"host": "192.168.1.10:8501"}, False, "匿名"),
    ("127.0.0.1", BROWSER | {"x-forwarded-for": "203.0.113.9"}, False, "匿名"),
])
def test_the_app_asks_where_the_request_comes_from(monkeypatch, loopback_config, peer, headers, can, user):
    from ui import auth
    monkeypatch.setattr(auth, "request_peer", lambda: (peer, headers))
    at = run()
    assert text_values(at)[0] == f"can_change={can}" and text_values(at)[2] == f"user={user}"
    if not can:
        assert text_values(at)[1].startswith("未配置账号，且本次访问不是来自本机（或经过了代理）")


def test_without_a_browser_connection_nobody_writes(loopback_config):
    """AppTest has no browser connection: st.context has no headers, so the request cannot be shown to be local."""
    assert text_values(run())[0] == "can_change=False"


def test_request_peer_reads_st_context(monkeypatch):
    """st.context reports a loopback peer as ip_address None; with headers present that is this machine."""
    import streamlit as st
    from ui import auth

    class Headers(dict):
        def to_dict(self):
            return dict(self)

    class Context:
        def __init__(self, ip, headers):
            self.ip_address, self.headers = ip, Headers(headers)

    for ip, headers, expected in [(None, {"Host": "127.0.0.1:8501"}, ("127.0.0.1", {"host": "127.0.0.1:8501"})),
                                  ("192.168.1.50", {"Host": "x"}, ("192.168.1.50", {"host": "x"})),
                                  (None, {}, (None, {}))]:
        monkeypatch.setattr(st, "context", Context(ip, headers))
        assert auth.request_peer() == expected


# ---------------------------------------------------------------- item 5: nothing but the sign-in form

ACCOUNTS = {"小李": ("analyst-pass-1", "analyst"), "王局长": ("leader-pass-1", "leader")}
HASHES = {name: {"password_hash": hash_password(pw, iterations=1_000), "role": role} for name, (pw, role) in ACCOUNTS.items()}


def open_app(accounts: dict | None, session: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if accounts:
        at.secrets["accounts"] = accounts
    for key, value in (session or {}).items():
        at.session_state[key] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", [None, "app_pages/ranking.py", "app_pages/data_admin.py", "app_pages/items.py"])
def test_with_accounts_an_anonymous_visitor_sees_only_the_sign_in_form(base_db, page):
    at = open_app(HASHES, page=page)
    assert [i.value for i in at.info] == ["请在左侧边栏登录后查看。"]
    assert not at.dataframe and not at.metric and not at.get("plotly_chart") and not at.get("download_button")
    assert [t.label for t in at.sidebar.text_input] == ["用户名", "密码"]
    assert "云溪县" not in page_text(at) and NEW_WAVE not in page_text(at)


def test_after_sign_in_the_pages_render(base_db):
    at = open_app(HASHES)
    at.sidebar.text_input(key="login_name").input("王局长")
    at.sidebar.text_input(key="login_password").input("leader-pass-1")
    at.sidebar.button[0].click()
    at.run()
    assert not at.exception and at.session_state["user_role"] == "leader"
    assert "请在左侧边栏登录后查看。" not in [i.value for i in at.info]


def test_anonymous_read_is_a_setting(base_db, tmp_path, monkeypatch):
    from analysis.settings import SETTINGS_ENV
    from ui import data
    text = (ROOT / "settings.toml").read_text(encoding="utf-8").replace("anonymous_read = false", "anonymous_read = true")
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "settings.toml"))
    data.settings.clear()
    try:
        at = open_app(HASHES)
        assert "请在左侧边栏登录后查看。" not in [i.value for i in at.info]
    finally:
        data.settings.clear()
    assert tomllib.loads((ROOT / "settings.toml").read_text(encoding="utf-8"))["security"]["anonymous_read"] is False


def test_broken_secrets_show_nothing(base_db, monkeypatch):
    from ui import auth
    monkeypatch.setattr(auth, "secrets_broken", lambda: True)
    at = open_app(None)
    assert [e.value for e in at.error][0].startswith("账号配置文件 .streamlit/secrets.toml 无法读取")
    assert not at.dataframe and not at.metric


# ---------------------------------------------------------------- item 7: accounts re-checked on every run

def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def fresh_throttle(base_db):
    from ui import auth
    auth._throttle.clear()
    yield
    auth._throttle.clear()


@pytest.mark.parametrize("change, notice", [
    (lambda a: a["小李"].update(role="leader"), "账号“小李”的密码或角色已更改，请重新登录。"),
    (lambda a: a["小李"].update(password_hash=hash_password("new-pass-2", iterations=1_000)), "账号“小李”的密码或角色已更改，请重新登录。"),
    (lambda a: a.pop("小李"), "账号“小李”已不在账号配置中，已退出登录。"),
])
def test_a_demoted_or_changed_account_loses_its_rights_at_once(fresh_throttle, loopback_config, change, notice):
    accounts = {k: dict(v) for k, v in HASHES.items()}
    at = sign_in(run(accounts=accounts), "小李", "analyst-pass-1")
    assert text_values(at)[0] == "can_change=True"
    change(accounts)
    at.secrets["accounts"] = accounts
    at.run()
    assert text_values(at)[:2] == ["can_change=False", notice]


# ---------------------------------------------------------------- item 8: throttling, logging, timing, strength

def test_throttle_locks_a_name_after_too_many_failures():
    guard = LoginThrottle(max_failures=5, window_s=900)
    for k in range(5):
        assert guard.locked_for("小李", now=1000 + k) == 0
        guard.failed("小李", now=1000 + k)
    assert guard.locked_for("小李", now=1005) == pytest.approx(895)
    assert guard.locked_for("王局长", now=1005) == 0  # per user name
    assert guard.locked_for("小李", now=1000 + 900) == 0  # the window passed
    for _ in range(4):
        guard.failed("甲", now=0)
    guard.succeeded("甲")  # a right password clears the count
    guard.failed("甲", now=1)
    assert guard.locked_for("甲", now=1) == 0 and len(guard._failures["甲"]) == 1


def test_thirty_guesses_then_the_right_password_is_refused(fresh_throttle, loopback_config):
    at = run(accounts=HASHES)
    for k in range(30):
        sign_in(at, "小李", f"guess-{k}")
    assert at.error[0].value.startswith("该用户名连续输错密码次数过多，已锁定")
    sign_in(at, "小李", "analyst-pass-1")
    assert "user_role" not in at.session_state and text_values(at)[0] == "can_change=False"
    audit = store.audit_entries(store.connect(store.db_url()))
    failed = audit[audit["action"] == "login_failed"]
    assert len(failed) == 5 and set(failed["user"]) == {"小李"}
    assert (audit["action"] == "login_locked").sum() == 26


def test_failed_sign_ins_do_not_change_the_data_version(fresh_throttle, loopback_config):
    engine = store.connect(store.db_url())
    before = store.data_version(engine)
    sign_in(run(accounts=HASHES), "nobody", "x")
    assert store.data_version(engine) == before and store.audit_entries(engine)["action"].iloc[0] == "login_failed"


def test_a_password_typed_as_the_user_name_never_reaches_the_log(fresh_throttle, loopback_config):
    """The 操作日志 is shown to every reader: a failed sign-in under an unknown name is logged without the name."""
    at = run(accounts=HASHES)
    sign_in(at, "analyst-pass-1", "小李")
    sign_in(at, "小李", "wrong")
    audit = store.audit_entries(store.connect(store.db_url()))
    assert audit["user"].tolist()[:2] == ["小李", "（未知用户名，14 个字符）"]
    assert not audit.astype(str).apply(lambda col: col.str.contains("analyst-pass")).any().any()


def test_unknown_names_take_as_long_as_known_ones():
    accounts = {"小李": {"password_hash": hash_password("analyst-pass-1"), "role": "analyst"}}
    check_sign_in(accounts, "nobody", "x")  # builds the dummy hash once

    def timed(name: str) -> float:
        start = time.perf_counter()
        assert not check_sign_in(accounts, name, "wrong-password")
        return time.perf_counter() - start

    known = statistics.median(timed("小李") for _ in range(3))
    unknown = statistics.median(timed("没有这个人") for _ in range(3))
    assert 0.5 < unknown / known < 2, (known, unknown)  # the old code answered unknown names ~14 times faster


def test_new_hashes_use_600000_iterations_and_old_ones_still_verify():
    assert ITERATIONS == 600_000 and hash_password("x").startswith("pbkdf2_sha256$600000$")
    old = hash_password("老密码123", iterations=200_000)
    assert verify_password("老密码123", old) and not verify_password("老密码124", old)


# ---------------------------------------------------------------- item 11: scenarios audited, no silent overwrite

def test_scenarios_are_audited_and_never_overwritten_silently(base_db):
    engine = store.connect(base_db)
    version = store.data_version(engine)
    moves = [Move(item="课后服务", from_answer="一般", to_answer="满意", share=0.1, group_column="urban_rural", group_value="农村")]
    assert save_scenario(engine, "方案一", NEW_WAVE, moves, "小李") == "scenario_save"
    with pytest.raises(store.StoreError, match="已有同名方案“方案一”，未保存"):
        save_scenario(engine, "方案一", NEW_WAVE, [], "王五")
    assert load_scenarios(engine)["方案一"] == moves
    assert save_scenario(engine, "方案一", NEW_WAVE, [], "王五", overwrite=True) == "scenario_overwrite"
    delete_scenario(engine, "方案一", "小李")
    log = store.audit_entries(engine)
    assert log[["action", "user", "file_name"]].head(3).values.tolist() == [
        ["scenario_delete", "小李", "方案一"], ["scenario_overwrite", "王五", "方案一"], ["scenario_save", "小李", "方案一"]]
    assert store.data_version(engine) == version  # pages' caches survive a saved scenario
    with pytest.raises(store.StoreError, match="不能超过 40 个字"):
        save_scenario(engine, "长" * 41, NEW_WAVE, [], "小李")


# ---------------------------------------------------------------- item 6: no traceback, a Chinese sentence

def test_error_details_are_hidden():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["showErrorDetails"] == "none"


def test_a_full_disk_gives_one_chinese_sentence_and_no_rows(base_db, settings, monkeypatch):
    engine = store.connect(base_db)
    plan = prepare_import(survey_csv(3, NEW_WAVE).encode(), "问卷.csv", "responses", settings, engine)

    def full(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT INTO data_responses VALUES (?, ?)", [("R001", "请回电138****5678")],
                                      Exception("database or disk is full"))

    monkeypatch.setattr(store, "store_frame", full)
    with pytest.raises(store.StoreError) as caught:
        commit_import(engine, plan, "测试")
    assert str(caught.value) == "服务器磁盘空间已满，未导入任何数据。请管理员清理磁盘后再试。"
