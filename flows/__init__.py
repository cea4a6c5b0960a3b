"""Prefect flows: each task calls one public fontpipe function; the flow body lists the steps."""
