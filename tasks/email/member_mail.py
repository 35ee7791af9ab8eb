"""Members' emails: the action links they carry, and which ones a member may stop.

Sponsors' emails are not here: they carry no action link of any kind.
"""

from __future__ import annotations

from models.db.tables import Community, Membership
from tasks.web_links import ActionLink, action_url

# Every email written to a member (or the convenor) about their own CoP.
MEMBER_TEMPLATES = frozenset({"member-invitation", "continuing-notice", "no-one-eligible",
                              "close-proposal", "closing-notice", "handover-pack"})
# Not sent to a member who stopped emails. Always sent: the notice that the CoP is closing
# (everyone is owed notice) and the handover pack (it gives or takes away their planning tasks).
NON_ESSENTIAL = frozenset({"member-invitation", "continuing-notice", "no-one-eligible", "close-proposal"})


def membership_for(community: Community, email: str) -> Membership | None:
    """The current membership with this address (the CoP's members are read once per CoP)."""
    return next((m for m in community.memberships
                 if m.left_on is None and m.person.email == email), None)


def links(membership: Membership) -> dict[str, str]:
    """The actions this member could take now, each a signed link for them and this CoP."""
    actions = []
    if not membership.is_convenor:
        if not membership.volunteered:
            actions.append("volunteer")
        if not membership.opted_out:
            actions.append("opt-out")
    actions.append("stop-emails")
    if not membership.is_convenor:
        actions.append("leave")
    return {a: action_url(ActionLink(membership.person_id, membership.community_id, a)) for a in actions}
