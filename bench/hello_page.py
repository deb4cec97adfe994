"""The load benchmark's reference: the smallest Streamlit page, served under the same load as the app."""

import streamlit as st

st.write("hello")
