"""A question the use cases and the read views both ask is answered by one query: they agree."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tasks.storage.db import read_scope, session_scope
from tasks.storage.queries import get_community, rota_candidates
from tasks.storage.selects import missing_for_launch
from tasks.storage.views import show_community
from tests.support.lifecycle import create, in_db

THIN = """
name: Thin CoP
slug: thin
domain: Something
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
members:
  - {name: Sam Okafor, email: sam@example.nhs.uk}
  - {name: Lee Hart, email: lee@example.org}
  - {name: Ana Pereira, email: ana@example.ac.uk}
"""


def test_launch_and_show_name_the_same_gaps_and_only_current_members_count(home: Path) -> None:
    from tasks.usecases.membership import leave

    slug = create(THIN)
    in_db(leave, slug, "lee@example.org", actor="lee@example.org", today=date(2027, 1, 5))
    want = ["practice", "at least one sponsor", "at least 3 members", "cadence"]
    with session_scope() as db:
        assert missing_for_launch(db, get_community(db, slug).id) == want
    with read_scope() as db:
        assert show_community(db, slug)["missing_for_launch"] == want


def test_rota_candidates_are_read_for_a_whole_page_of_cops(home: Path) -> None:
    slug = create()
    with session_scope() as db:
        cop = get_community(db, slug)
        page = rota_candidates(db, [cop.id, -1])
    assert page[-1] == []  # a CoP with nobody: an empty list, not a missing key
    assert [c.name for c in page[cop.id]] == ["Dana Whitlow", "Sam Okafor", "Lee Hart", "Ana Costa"]
    assert [c.is_convenor for c in page[cop.id]] == [True, False, False, False]
