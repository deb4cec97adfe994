"""Streamlit glue shared by the pages: session keys, cached data, sidebar, roles, widgets."""
