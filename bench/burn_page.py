"""The calibration page of the load and send-rhythm benchmarks: two lines of text around a chosen amount of CPU time
(?ms=N, at most 50) and, with ?lines=K (at most 100), K more one-line elements, each a message of its own."""

import math
import time

import streamlit as st


def asked(name: str, most: float) -> float:
    """A number from the query string, between 0 and `most`; 0 for anything that is not a finite number."""
    try:
        value = float(st.query_params.get(name, "0") or 0)
    except ValueError:
        return 0.0
    return min(max(value, 0.0), most) if math.isfinite(value) else 0.0


budget = asked("ms", 50) / 1000
st.write("开始")
end = time.thread_time() + budget
while time.thread_time() < end:  # CPU, not sleep: a sleeping script would let the server send meanwhile
    pass
for line in range(int(asked("lines", 100))):  # what an element costs Streamlit to build and send, with nothing behind it
    st.markdown(f"第 {line + 1} 行")
st.write("结束")
