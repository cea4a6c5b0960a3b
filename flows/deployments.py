"""The deployments of fontpipe's flows, for `prefect.serve` (one long-running process)."""

from __future__ import annotations

import os
from typing import Any

from flows.evaluate import evaluate_model
from flows.retrain import retrain
from flows.score import score_palettes_flow
from fontpipe.errors import FontpipeError

# The one definition of the weekly schedule: Mondays at 06:00 UTC. deploy/prefect.yaml repeats it
# (YAML cannot import it) and a test holds the two equal; FONTPIPE_RETRAIN_CRON overrides it.
DEFAULT_RETRAIN_CRON = "0 6 * * 1"


def build_deployments(
    retrain_cron: str | None = None, retrain_parameters: dict[str, Any] | None = None
) -> list[Any]:
    cron = retrain_cron or os.environ.get("FONTPIPE_RETRAIN_CRON", DEFAULT_RETRAIN_CRON)
    return [
        # enforce_parameter_schema: the server refuses a run whose parameter values have the wrong
        # type when it is created. An unknown parameter name is refused when the run starts
        # (Prefect's SignatureMismatchError names it), before any step runs.
        retrain.to_deployment(
            name="retrain",
            cron=cron,
            parameters=retrain_parameters or {},
            tags=["fontpipe"],
            enforce_parameter_schema=True,
            concurrency_limit=1,  # one retrain at a time, as in deploy/prefect.yaml
            description="Weekly: generate, train a challenger, evaluate, promote if better.",
        ),
        score_palettes_flow.to_deployment(
            name="score-palettes",
            tags=["fontpipe"],
            enforce_parameter_schema=True,
            description="On demand: score palette files (inputs, out, model).",
        ),
        evaluate_model.to_deployment(
            name="evaluate",
            tags=["fontpipe"],
            enforce_parameter_schema=True,
            description="On demand: evaluate a model and write its report.",
        ),
    ]


def serve_deployments(
    retrain_cron: str | None = None, retrain_parameters: dict[str, Any] | None = None
) -> None:
    from prefect import serve
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        # Without a server Prefect serves against a temporary in-process API that no scheduler
        # or client ever reaches: it would say "being served" and never run anything.
        raise FontpipeError(
            "serve needs a running Prefect server: start one with "
            "`.venv/bin/prefect server start --host 127.0.0.1 --port 4200`, then "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api` and serve again"
        )
    serve(*build_deployments(retrain_cron, retrain_parameters))
