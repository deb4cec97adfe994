"""Who may read and change data: accounts from .streamlit/secrets.toml, or, with none, requests from this machine only."""

from __future__ import annotations

import streamlit as st

from analysis.accounts import (ROLES, LoginThrottle, account_fingerprint, check_sign_in, is_loopback_address,
                               may_change_without_accounts)
from analysis.data import store
from ui import data, state

NAME_IN_LOG = 64  # characters of a typed user name kept in the audit log


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
    """True when the app is configured to listen only on this machine (server.address)."""
    return is_loopback_address(str(st.get_option("server.address") or ""))


def request_peer() -> tuple[str | None, dict[str, str]]:
    """This browser connection's TCP peer address and request headers; (None, {}) when no browser is connected.

    st.context.ip_address reports a loopback peer as None, so headers (always sent by a browser) tell the two apart."""
    headers = {str(k).lower(): str(v) for k, v in st.context.headers.to_dict().items()}
    if not headers:
        return None, {}
    ip = st.context.ip_address
    return ("127.0.0.1" if ip is None else str(ip)), headers


def local_writes_allowed() -> bool:
    """Without accounts: the app is configured for loopback and this request itself comes from this machine."""
    peer, headers = request_peer()
    return may_change_without_accounts(str(st.get_option("server.address") or ""), peer, headers)


def _sign_out(reason: str | None = None) -> None:
    for key in (state.ROLE, state.USER, state.ACCOUNT_FINGERPRINT):
        st.session_state.pop(key, None)
    if reason:
        st.session_state[state.SIGNED_OUT] = reason


def _signed_in_entry() -> dict | None:
    """The signed-in account as configured now; a session whose account was removed, demoted or given a new password
    since it signed in is signed out (checked on every run, not only at sign-in)."""
    name = st.session_state.get(state.USER)
    if not name:
        return None
    entry = configured_accounts().get(name)
    if entry is None:
        _sign_out(f"账号“{name}”已不在账号配置中，已退出登录。")
        return None
    fingerprint = st.session_state.get(state.ACCOUNT_FINGERPRINT)
    if fingerprint is not None and fingerprint != account_fingerprint(entry):
        _sign_out(f"账号“{name}”的密码或角色已更改，请重新登录。")
        return None
    return entry


def current_role() -> str | None:
    """The signed-in role as the account is configured now, or None."""
    if not st.session_state.get(state.ROLE):
        return None
    if not configured_accounts():
        return st.session_state.get(state.ROLE)  # no accounts: nothing to re-check against
    entry = _signed_in_entry()
    if entry is None:
        return None
    role = entry.get("role")
    return role if role in ROLES else state.ROLE_LEADER  # an unknown role (a typo) is read-only, never write access


def current_user() -> str:
    """Name for the audit log."""
    if st.session_state.get(state.USER):
        return st.session_state[state.USER]
    return "本机用户" if not configured_accounts() and local_writes_allowed() else "匿名"


def can_change_data() -> bool:
    """Analysts may change data; with no accounts configured, only a request from this machine to a loopback app."""
    if secrets_broken():
        return False  # a broken secrets file must not open the door
    if configured_accounts():
        return current_role() == state.ROLE_ANALYST
    return local_writes_allowed()


def may_read() -> bool:
    """Pages render for anyone without accounts; with accounts only after sign-in (unless security.anonymous_read)."""
    if secrets_broken():
        return False
    if not configured_accounts():
        return True
    return current_role() is not None or data.settings().security.anonymous_read


def access_notice() -> str:
    """One sentence on the page that says why changes are or are not allowed."""
    if secrets_broken():
        return "账号配置文件 .streamlit/secrets.toml 无法读取（格式错误），为安全起见禁止修改数据。请修正该文件后重启应用。"
    if configured_accounts():
        role = current_role()
        if role == state.ROLE_ANALYST:
            return f"已以分析员“{current_user()}”登录，可以上传、替换和删除数据。"
        if role == state.ROLE_LEADER:
            return "局领导账号只能查看，上传和修改数据需要分析员账号。"
        return st.session_state.get(state.SIGNED_OUT) or "请在左侧边栏以分析员账号登录后再上传或修改数据。"
    if local_writes_allowed():
        return "本机模式：未配置账号，应用只在本机（127.0.0.1）访问，因此允许修改数据。对单位网络开放前，请管理员先配置分析员与局领导账号。"
    if bound_to_loopback():
        return "未配置账号，且本次访问不是来自本机（或经过了代理），为安全起见禁止修改数据。请管理员配置分析员账号。"
    return "未配置账号且应用对网络开放，为安全起见禁止修改数据。请管理员配置分析员账号。"


@st.cache_resource(show_spinner=False)
def _throttle(max_failures: int, window_s: float) -> LoginThrottle:
    """One throttle per server process, shared by every browser session."""
    return LoginThrottle(max_failures, window_s)


def throttle() -> LoginThrottle:
    """The sign-in throttle under the current settings."""
    sec = data.settings().security
    return _throttle(sec.login_max_failures, sec.login_lockout_minutes * 60.0)


def logged_name(accounts: dict, name: str) -> str:
    """The user name a failed sign-in is logged under: an account's own name, never what else was typed (the log is
    shown to every reader, and a password typed into the name box would be in it)."""
    if name in accounts:
        return name[:NAME_IN_LOG]
    return f"（未知用户名，{len(name)} 个字符）" if name else "（空）"


def _log(action: str, accounts: dict, name: str) -> None:
    try:
        store.log_event(data.engine(), action, logged_name(accounts, name), "登录")
    except Exception:  # an unwritable audit log must not turn a wrong password into a traceback
        pass


def sign_in(accounts: dict, name: str, password: str) -> str | None:
    """Check a sign-in; None on success (the session is signed in), else the Chinese message to show."""
    guard = throttle()
    wait = guard.locked_for(name)
    if wait:
        _log("login_locked", accounts, name)
        return f"该用户名连续输错密码次数过多，已锁定，请 {max(1, round(wait / 60))} 分钟后再试。"
    if not check_sign_in(accounts, name, password):
        failures = guard.failed(name)
        _log("login_failed", accounts, name)
        if failures >= guard.max_failures:
            return f"用户名或密码不正确。该用户名已连续输错 {failures} 次，已锁定 {round(guard.window_s / 60)} 分钟。"
        return "用户名或密码不正确。"
    guard.succeeded(name)
    entry = accounts[name]
    st.session_state[state.USER] = name
    role = entry.get("role")
    st.session_state[state.ROLE] = role if role in ROLES else state.ROLE_LEADER
    st.session_state[state.ACCOUNT_FINGERPRINT] = account_fingerprint(entry)
    st.session_state.pop(state.SIGNED_OUT, None)
    return None


def login_box() -> None:
    """Sign-in form in the sidebar when accounts are configured."""
    accounts = configured_accounts()
    if not accounts:
        return
    if current_role():
        st.caption(f"当前用户：{current_user()}（{state.ROLE_LABELS.get(current_role(), current_role())}）")
        if st.button("退出登录", key="logout_button"):
            _sign_out()
            st.rerun()
        return
    with st.form("login_form", border=True):
        st.markdown("**登录**")
        name = st.text_input("用户名", key="login_name", max_chars=NAME_IN_LOG)
        password = st.text_input("密码", type="password", key="login_password", max_chars=256)
        if st.form_submit_button("登录"):
            problem = sign_in(accounts, name, password)
            if problem is None:
                st.rerun()
            st.error(problem)


def sign_in_gate() -> None:
    """What a visitor who may not read sees: the sign-in form (or why nobody can sign in), nothing else; stops the run."""
    st.title("群众满意度排名看板")
    if secrets_broken():
        st.error("账号配置文件 .streamlit/secrets.toml 无法读取（格式错误），为安全起见不显示任何数据。请管理员修正该文件后重启应用。",
                 icon=":material/lock:")
        st.stop()
    if st.session_state.get(state.SIGNED_OUT):
        st.warning(st.session_state[state.SIGNED_OUT], icon=":material/logout:")
    st.info("请在左侧边栏登录后查看。", icon=":material/lock:")
    with st.sidebar:
        login_box()
    st.stop()
