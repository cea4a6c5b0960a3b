"""Prefect flows: each task calls one public fontpipe function; the flow body lists the steps."""

# Importing any flow module must already see the environment defaults (ephemeral-server timeout,
# no telemetry), because `python -m flows.retrain` and Prefect workers import Prefect right after
# this package. setdefault only: a value the user exported always wins.
from flows.environment import apply_environment_defaults

apply_environment_defaults()
