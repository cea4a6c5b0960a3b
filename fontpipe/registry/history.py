"""The registry's history: every retrain decision (`decisions.jsonl`) and the promotions and
rollbacks no retrain round wrote (`promotions.jsonl`: by hand, or before decisions were
recorded), read as one list, each retrain round once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from fontpipe.records import Headline
from fontpipe.registry.promotion_log import (
    DECISIONS_FILE,
    PromotionLog,
    _read_lines,
    _warn,
    is_rollback,
    parse_decision,
)

logger = logging.getLogger(__name__)


HistoryKind = Literal["retrain", "promotion", "rollback"]


@dataclass(frozen=True)
class HistoryEntry:
    """One decision of the registry's history: a retrain round (promoted or not), or a
    promotion or rollback that no round wrote (by hand, or before decisions were recorded)."""

    at: str | None  # ISO 8601, UTC; None for a champion migrated from before the log
    rule: str
    kind: HistoryKind
    # The challenger a round trained (the id its command printed, stored or not), or the
    # version a promotion or rollback made champion.
    version: str
    promoted: bool
    reason: str
    previous_champion: str | None
    champion: str | None  # after the decision
    stored: bool  # False: identical to its champion, so never kept as a version of its own
    version_metrics: Headline | None  # held-out figures, as promotion compared them
    champion_metrics: Headline | None  # the champion before, on the challenger's terms
    dataset: str | None
    seed: int | None  # the seed the round's dataset was drawn from
    report: str | None  # the challenger's report

    def as_json(self) -> dict[str, Any]:
        return {
            **{key: getattr(self, key) for key in self.__dataclass_fields__},
            "version_metrics": _dumped(self.version_metrics),
            "champion_metrics": _dumped(self.champion_metrics),
        }


def _dumped(headline: Headline | None) -> dict[str, Any] | None:
    return None if headline is None else headline.model_dump()


def read_decisions(models_dir: Path) -> list[dict[str, Any]]:
    """`decisions.jsonl`'s valid entries, oldest first; damaged lines are warned about and
    skipped (they decide nothing)."""
    path = models_dir / DECISIONS_FILE
    numbered, damaged = _read_lines(path, parse_decision)
    _warn(PromotionLog(path, [], damaged), "the history leaves it out")
    return [entry for _, entry in numbered]


def decision_history(
    promotions: list[dict[str, Any]], decisions: list[dict[str, Any]], rule: str | None = None
) -> list[HistoryEntry]:
    """Both logs as one history, oldest first (by time; a migrated champion first): each
    retrain round once, with the promotions and rollbacks that no round wrote."""
    written = [_from_decision(d) for d in decisions]
    # The promotion a round made carries the round's reason; it is told once, by the round.
    unclaimed = [(e.rule, e.version, e.reason) for e in written if e.promoted]
    found = list(written)
    for entry in promotions:
        key = (entry["rule"], entry["to"], entry.get("reason"))
        if not is_rollback(entry) and key in unclaimed:
            unclaimed.remove(key)
            continue
        found.append(_from_promotion(entry))
    found.sort(key=lambda e: e.at or "")  # stable: each log's own order within a second
    return [e for e in found if rule is None or e.rule == rule]


def _from_decision(d: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        at=_text(d.get("at")),
        rule=d["rule"],
        kind="retrain",
        version=d["challenger"],
        promoted=d["promoted"],
        reason=d["reason"],
        previous_champion=_text(d.get("previous_champion")),
        champion=_text(d.get("champion")),
        stored=bool(d.get("stored", True)),
        version_metrics=_headline(d.get("challenger_metrics")),
        champion_metrics=_headline(d.get("champion_metrics")),
        dataset=_text(d.get("dataset")),
        seed=d.get("seed") if isinstance(d.get("seed"), int) else None,
        report=_text(d.get("report")),
    )


def _from_promotion(e: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        at=_text(e.get("at")),
        rule=e["rule"],
        kind="rollback" if is_rollback(e) else "promotion",
        version=e["to"],
        promoted=True,
        reason=str(e.get("reason") or ""),
        previous_champion=_text(e.get("from")),
        champion=e["to"],
        stored=True,
        version_metrics=_headline(e.get("metrics")),
        champion_metrics=None,
        dataset=None,
        seed=None,
        report=None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _headline(raw: Any) -> Headline | None:
    """Recorded figures as a `Headline`; fields of another release are left out, and figures
    that no longer make one are told as unknown rather than refusing the history."""
    if not isinstance(raw, dict):
        return None
    try:
        return Headline.model_validate({k: v for k, v in raw.items() if k in Headline.model_fields})
    except ValidationError:
        return None
