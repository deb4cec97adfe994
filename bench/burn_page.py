"""The send-rhythm benchmark's page: two lines of text around a chosen amount of CPU time (?ms=N, at most 50)."""

import time

import streamlit as st

budget = min(max(float(st.query_params.get("ms", "0") or 0), 0.0), 50.0) / 1000
st.write("开始")
end = time.thread_time() + budget
while time.thread_time() < end:  # CPU, not sleep: a sleeping script would let the server send meanwhile
    pass
st.write("结束")
