"""Who may change data: password hashes, the loopback rule without accounts, analyst and leader roles, broken secrets."""

from __future__ import annotations

import tomllib

import pytest
import streamlit
from streamlit import config
from streamlit.runtime.secrets import Secrets

from analysis.accounts import hash_password, verify_password
from tests.conftest import ROOT, run_script, text_values

SCRIPT = """
import streamlit as st
from ui import auth
auth.login_box()
st.text(f"can_change={auth.can_change_data()}")
st.text(auth.access_notice())
"""
ACCOUNTS = {"小李": ("analyst-pass-1", "analyst"), "王局长": ("leader-pass-1", "leader"), "老赵": ("typo-role-1", "analysts")}


def secrets_for(accounts: dict[str, tuple[str, str]]) -> dict:
    return {name: {"password_hash": hash_password(password), "role": role} for name, (password, role) in accounts.items()}


@pytest.fixture
def address(local_request):
    """Set server.address for one test and put it back afterwards."""
    saved = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", saved)


def test_password_hash_round_trip():
    stored = hash_password("正确的密码123")
    assert stored.startswith("pbkdf2_sha256$600000$")
    assert verify_password("正确的密码123", stored)
    assert not verify_password("正确的密码124", stored)
    assert hash_password("x", salt=b"0" * 16) == hash_password("x", salt=b"0" * 16)
    assert hash_password("x") != hash_password("x")  # a fresh salt each time


@pytest.mark.parametrize("stored", ["", "abc", "pbkdf2_sha256$x$y$z", "md5$1$YWE=$YmI=", "pbkdf2_sha256$0$YWE=$YmI=",
                                    "pbkdf2_sha256$200000$REPLACE_WITH_SALT$REPLACE_WITH_HASH", "pbkdf2_sha256$1$YWE=$"])
def test_malformed_hashes_never_verify(stored):
    assert verify_password("anything", stored) is False


def test_secrets_example_documents_both_roles_and_cannot_be_used_as_is():
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"))
    roles = {entry["role"] for entry in example["accounts"].values()}
    assert roles == {"analyst", "leader"}
    for entry in example["accounts"].values():
        assert entry["password_hash"].startswith("pbkdf2_sha256$")
        assert not verify_password("", entry["password_hash"])
    assert "python -m analysis hash-password" in (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")


def test_no_accounts_on_loopback_may_change(address):
    address("127.0.0.1")
    assert text_values(run_script(SCRIPT)) == ["can_change=True",
                                   "本机模式：未配置账号，应用只在本机（127.0.0.1）访问，因此允许修改数据。对单位网络开放前，请管理员先配置分析员与局领导账号。"]


@pytest.mark.parametrize("value", ["0.0.0.0", "", "192.168.1.20"])
def test_no_accounts_on_the_network_may_not_change(address, value):
    address(value)
    assert text_values(run_script(SCRIPT)) == ["can_change=False",
                                   "未配置账号且应用对网络开放，为安全起见禁止修改数据。请管理员配置分析员账号。"]


@pytest.mark.parametrize("session, can, notice", [
    ({}, False, "请在左侧边栏以分析员账号登录后再上传或修改数据。"),
    ({"user_name": "王局长", "user_role": "leader"}, False, "局领导账号只能查看，上传和修改数据需要分析员账号。"),
    ({"user_name": "小李", "user_role": "analyst"}, True, "已以分析员“小李”登录，可以上传、替换和删除数据。"),
    ({"user_name": "已删除的人", "user_role": "analyst"}, False, "账号“已删除的人”已不在账号配置中，已退出登录。"),
])
def test_roles_with_accounts(address, session, can, notice):
    address("127.0.0.1")  # loopback does not matter once accounts exist
    at = run_script(SCRIPT, secrets_for(ACCOUNTS), session)
    assert text_values(at) == [f"can_change={can}", notice]


@pytest.mark.parametrize("name, password, role, can", [
    ("小李", "analyst-pass-1", "analyst", True),
    ("王局长", "leader-pass-1", "leader", False),
    ("老赵", "typo-role-1", "leader", False),   # an unknown role ("analysts") gets the read-only role
])
def test_login_form(address, name, password, role, can):
    address("127.0.0.1")
    at = run_script(SCRIPT, secrets_for(ACCOUNTS))
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert at.session_state["user_role"] == role and at.session_state["user_name"] == name
    assert text_values(at)[0] == f"can_change={can}"


def test_wrong_password(address):
    address("127.0.0.1")
    at = run_script(SCRIPT, secrets_for(ACCOUNTS))
    at.text_input(key="login_name").input("小李")
    at.text_input(key="login_password").input("wrong")
    at.button[0].click()
    at.run()
    assert [e.value for e in at.error] == ["用户名或密码不正确。"]
    assert "user_role" not in at.session_state
    assert text_values(at)[0] == "can_change=False"


def use_secrets_file(monkeypatch, path) -> None:
    """Point Streamlit at one secrets file, as `streamlit run` does with .streamlit/secrets.toml."""
    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    return saved


def test_accounts_from_a_secrets_file(address, monkeypatch, tmp_path):
    address("127.0.0.1")
    path = tmp_path / "secrets.toml"
    path.write_text(f'[accounts."小李"]\npassword_hash = "{hash_password("analyst-pass-1")}"\nrole = "analyst"\n', encoding="utf-8")
    saved = use_secrets_file(monkeypatch, path)
    try:
        at = run_script(SCRIPT, session={"user_name": "小李", "user_role": "analyst"})
        assert text_values(at)[0] == "can_change=True"
        at = run_script(SCRIPT)
        assert text_values(at) == ["can_change=False", "请在左侧边栏以分析员账号登录后再上传或修改数据。"]
    finally:
        config.set_option("secrets.files", saved)


def test_a_broken_secrets_file_locks_changes_even_on_loopback(address, monkeypatch, tmp_path):
    address("127.0.0.1")
    path = tmp_path / "secrets.toml"
    path.write_text('[accounts.小李]\npassword_hash = "oops"\n', encoding="utf-8")  # a Chinese name needs quotes in TOML
    saved = use_secrets_file(monkeypatch, path)
    try:
        at = run_script(SCRIPT, session={"user_name": "小李", "user_role": "analyst"})
        assert text_values(at) == ["can_change=False",
                             "账号配置文件 .streamlit/secrets.toml 无法读取（格式错误），为安全起见禁止修改数据。请修正该文件后重启应用。"]
    finally:
        config.set_option("secrets.files", saved)
