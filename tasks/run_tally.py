"""What a run over every CoP keeps: counts, and a capped list of the CoPs worth naming.

A line per CoP (flows.requests.CommunityResult, about 0.9 KB) kept to the end of a run over
100,000 CoPs is about 90 MB; these counts are the same size at any N. No Prefect, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tasks.email.delivery import DeliveryReport
from tasks.usecases.common import Outcome

LISTED = 50  # CoPs named in a run over every CoP: all of them up to this many, then only those needing attention


def needs_attention(outcome: Outcome) -> bool:
    """A CoP a person should look at: a signal raised, a close proposed, no one to lead planning."""
    return bool(outcome.attention or outcome.natural_end or outcome.close_proposed or outcome.no_one_eligible)


class RunTally(BaseModel):
    """Counts over every CoP a run went through; the CoPs themselves are in the stored records."""

    seen: int = 0  # CoPs the run went through
    queued: int = 0  # emails newly queued
    stage_changed: int = 0
    reports: int = 0  # CoPs a sponsor report was built for
    close_proposed: int = 0
    needing_attention: int = 0  # CoPs with a signal raised, a close proposed or no one to lead
    signals: dict[str, int] = {}  # each health signal (attention or natural end): how many CoPs raised it
    not_listed: int = 0  # CoPs needing attention past the LISTED named in the result

    def count(self, o: Outcome) -> None:
        self.seen += 1
        self.queued += len(o.queued)
        self.stage_changed += o.stage_changed
        self.reports += bool(o.periods)
        self.close_proposed += o.close_proposed
        self.needing_attention += needs_attention(o)
        for signal in (*o.attention, *o.natural_end):
            self.signals[signal] = self.signals.get(signal, 0) + 1


@dataclass
class DeliveryCounts:
    """How a run's emails went, counted: a DeliveryReport names each email's key, which at 300,000
    emails is tens of MB, so a run over every CoP folds each delivery into counts as it ends."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    held: int = 0
    for_worker: int = 0
    stopped: str | None = None

    @classmethod
    def of(cls, report: DeliveryReport) -> DeliveryCounts:
        return cls(sent=len(report.sent), failed=len(report.failed), deferred=len(report.deferred),
                   held=len(report.held), for_worker=report.for_worker, stopped=report.stopped)

    def add(self, report: DeliveryReport) -> None:
        self.merge(DeliveryCounts.of(report))

    def merge(self, other: DeliveryCounts) -> None:
        """Another delivery's counts (a page a task worker delivered) into these."""
        self.sent += other.sent
        self.failed += other.failed
        self.deferred += other.deferred
        self.held += other.held
        self.for_worker += other.for_worker
        self.stopped = self.stopped or other.stopped
