from datetime import date

from models.rota import Candidate, next_lead


def test_volunteer_is_preferred_over_someone_who_never_served() -> None:
    a = Candidate(1, "A", planning_group=True, volunteered=False, opted_out=False)
    b = Candidate(2, "B", planning_group=False, volunteered=True, opted_out=False,
                  terms_served=1, last_served_until=date(2027, 1, 1))
    assert next_lead([a, b], outgoing_id=None) == b
