"""Serve fontpipe's deployments from one long-running process (no work pool or worker needed).

    export PREFECT_API_URL=http://127.0.0.1:4200/api   # a running `prefect server start`
    python deploy/serve.py [--cron "CRON"] [--parameters '{"baseline": false}']

Same as `fontpipe serve`. Cron schedules only fire against a real Prefect server.
"""

from __future__ import annotations

import argparse
import json
import sys

from flows.deployments import DEFAULT_RETRAIN_CRON, serve_deployments
from fontpipe.errors import FontpipeError


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cron",
        help=f"retrain schedule (default: FONTPIPE_RETRAIN_CRON or {DEFAULT_RETRAIN_CRON!r}, Mondays 06:00 UTC)",
    )
    parser.add_argument(
        "--parameters", help="JSON parameters for the retrain deployment", default="{}"
    )
    args = parser.parse_args()
    try:
        serve_deployments(args.cron, json.loads(args.parameters))
    except FontpipeError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
