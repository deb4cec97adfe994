"""Who may change data: analyst accounts from .streamlit/secrets.toml, or loopback-only when none are configured."""

from __future__ import annotations

import streamlit as st

from analysis.accounts import LOOPBACK_ADDRESSES, ROLES, verify_password
from ui import state


class SecretsBroken(Exception):
    """secrets.toml exists but cannot be read: accounts may be meant, so nobody may change data."""


def _accounts_or_raise() -> dict:
    """Accounts from secrets.toml; {} when there is no secrets file; SecretsBroken when it cannot be used."""
    try:
        raw = st.secrets.get("accounts", {})
    except FileNotFoundError as exc:  # Streamlit's "secret not found" covers both a missing and an unreadable file
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}
        raise SecretsBroken(str(exc)) from exc
    except Exception as exc:
        raise SecretsBroken(str(exc)) from exc
    if not hasattr(raw, "items"):
        raise SecretsBroken("[accounts] 不是表")
    return {str(name): dict(entry) if hasattr(entry, "items") else {} for name, entry in raw.items()}


def secrets_broken() -> bool:
    """True when a secrets file exists but cannot be parsed (then nobody may change data)."""
    try:
        _accounts_or_raise()
    except SecretsBroken:
        return True
    return False


def configured_accounts() -> dict:
    """Accounts from secrets.toml ([accounts.NAME] password_hash, role); empty when none are set or the file is broken."""
    try:
        return _accounts_or_raise()
    except SecretsBroken:
        return {}


def bound_to_loopback() -> bool:
    """True when the server listens only on this machine."""
    return str(st.get_option("server.address") or "") in LOOPBACK_ADDRESSES


def current_role() -> str | None:
    """The signed-in role, or None."""
    return st.session_state.get(state.ROLE)


def current_user() -> str:
    """Name for the audit log."""
    if st.session_state.get(state.USER):
        return st.session_state[state.USER]
    return "本机用户" if not configured_accounts() and bound_to_loopback() else "匿名"


def can_change_data() -> bool:
    """Analysts may change data; with no accounts configured, only a loopback-bound app allows changes."""
    if secrets_broken():
        return False  # a broken secrets file must not open the door
    if configured_accounts():
        return current_role() == state.ROLE_ANALYST and current_user() in configured_accounts()
    return bound_to_loopback()


def access_notice() -> str:
    """One sentence on the page that says why changes are or are not allowed."""
    if secrets_broken():
        return "账号配置文件 .streamlit/secrets.toml 无法读取（格式错误），为安全起见禁止修改数据。请修正该文件后重启应用。"
    if configured_accounts():
        if current_role() and current_user() not in configured_accounts():
            return f"账号“{current_user()}”已不在账号配置中，请退出后重新登录。"
        if current_role() == state.ROLE_ANALYST:
            return f"已以分析员“{current_user()}”登录，可以上传、替换和删除数据。"
        if current_role() == state.ROLE_LEADER:
            return "局领导账号只能查看，上传和修改数据需要分析员账号。"
        return "请在左侧边栏以分析员账号登录后再上传或修改数据。"
    if bound_to_loopback():
        return "本机模式：未配置账号，应用只在本机（127.0.0.1）访问，因此允许修改数据。部署到网络前请在 .streamlit/secrets.toml 中配置账号。"
    return "未配置账号且应用对网络开放，为安全起见禁止修改数据。请在 .streamlit/secrets.toml 中配置分析员账号。"


def login_box() -> None:
    """Sign-in form in the sidebar when accounts are configured."""
    accounts = configured_accounts()
    if not accounts:
        return
    if current_role():
        st.caption(f"当前用户：{current_user()}（{state.ROLE_LABELS.get(current_role(), current_role())}）")
        if st.button("退出登录", key="logout_button"):
            st.session_state.pop(state.ROLE, None)
            st.session_state.pop(state.USER, None)
            st.rerun()
        return
    with st.form("login_form", border=True):
        st.markdown("**登录**")
        name = st.text_input("用户名", key="login_name")
        password = st.text_input("密码", type="password", key="login_password")
        if st.form_submit_button("登录"):
            entry = accounts.get(name)
            if entry and verify_password(password, str(entry.get("password_hash", ""))):
                st.session_state[state.USER] = name
                # An unknown role (a typo such as "analysts") gets the read-only role, never write access.
                role = entry.get("role")
                st.session_state[state.ROLE] = role if role in ROLES else state.ROLE_LEADER
                st.rerun()
            else:
                st.error("用户名或密码不正确。")
