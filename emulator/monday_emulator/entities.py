"""Account-level entities of the emulated account: workspaces, users, teams, tags.

Small and fully materialized (tens of objects), generated from the store's seeded RNG. Kept apart from
the item machinery in data.py, which must stay O(changes) in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from monday_emulator.columns import WORDS, iso

FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Gil",
    "Hana",
    "Ivan",
    "Jo",
    "Kofi",
    "Lena",
    "Maya",
)
LAST_NAMES = ("Levi", "Smith", "Garcia", "Kim", "Cohen", "Okafor", "Novak", "Sato", "Rossi", "Dubois")
COLORS = ("#037f4c", "#00c875", "#fdab3d", "#e2445c", "#579bfc", "#a25ddc", "#784bd1", "#ff642e")
ACCOUNT_EPOCH = 1_672_531_200  # 2023-01-01T00:00:00Z: users and workspaces exist before any board


@dataclass(slots=True)
class Account:
    """Workspaces, users, teams and tags as the GraphQL objects return them."""

    account_id: str
    workspaces: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    _active: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _by_id: dict[str, dict[str, Any]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def user_ids(self) -> list[str]:
        """Ids of active (not deleted) users: who can own, create and be assigned."""
        return [u["id"] for u in self.users if not u["is_deleted"]]

    @property
    def active_user_ids(self) -> tuple[str, ...]:
        """:attr:`user_ids`, computed once: item files and updates pick from it for every asset and update
        they render. The users never change once :func:`generate_account` made them (the change API touches
        items only), so the first answer stays right."""
        if self._active is None:
            self._active = tuple(self.user_ids)
        return self._active

    @property
    def users_by_id(self) -> dict[str, dict[str, Any]]:
        """User id -> the user's dict, built once for the same reason as :attr:`active_user_ids` (every
        asset names its uploader). Read it, never change it."""
        if self._by_id is None:
            self._by_id = {u["id"]: u for u in self.users}
        return self._by_id

    @property
    def user_names(self) -> dict[str, str]:
        """Id -> display name, used when rendering people columns."""
        return {u["id"]: u["name"] for u in self.users}

    @property
    def tag_names(self) -> dict[int, str]:
        """Int id -> tag name (``TagsValue.tag_ids`` are Ints)."""
        return {int(t["id"]): t["name"] for t in self.tags}


def generate_account(rng: random.Random, *, users: int = 25, teams: int = 4, tags: int = 12) -> Account:
    """Build the account-level entities. Ids are realistic numeric strings."""
    account = Account(account_id=str(rng.randrange(10**7, 10**8)))
    account.workspaces.append(_workspace(0, "Main workspace", "open", default=True))
    for n in range(1, 3):
        account.workspaces.append(
            _workspace(n, f"{rng.choice(WORDS).title()} team", rng.choice(("open", "closed")))
        )
    for n in range(users):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        deleted = n == users - 1 and users > 2  # one former colleague: non_active listings must show them
        created = ACCOUNT_EPOCH + n * 86_400
        account.users.append(
            {
                "id": str(40_000_000 + n * 7 + rng.randrange(7)),
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{n}@example.com",
                "title": rng.choice(("Engineer", "Designer", "PM", "Analyst", "")),
                "kind": "guest" if n % 11 == 10 else "member",
                "status": "INACTIVE" if deleted else "ACTIVE",
                "is_deleted": deleted,
                "created_at": iso(created),
                "last_activity": iso(created + rng.randrange(86_400, 300 * 86_400)),
                "time_zone_identifier": rng.choice(("Europe/London", "America/New_York", "Asia/Jerusalem")),
                "_team_ids": [],
            }
        )
    active = [u for u in account.users if not u["is_deleted"]]
    for n in range(teams):
        members = rng.sample(active, k=min(len(active), rng.randrange(2, 6)))
        team = {
            "id": str(600_000 + n * 13),
            "name": f"{rng.choice(WORDS).title()} squad",
            "picture_url": None,
            "is_guest": False,
            "created_at": iso(ACCOUNT_EPOCH + n * 3_600),
            "_users": members,
            "_owners": members[:1],
        }
        account.teams.append(team)
        for member in members:
            member["_team_ids"].append(team["id"])
    for n in range(tags):
        account.tags.append(
            {"id": str(21_000_000 + n * 17), "name": f"{WORDS[n % len(WORDS)]}", "color": COLORS[n % 8]}
        )
    return account


def _workspace(n: int, name: str, kind: str, *, default: bool = False) -> dict[str, Any]:
    return {
        "id": str(5_000_000 + n * 101),
        "name": name,
        "kind": kind,
        "description": None if default else f"{name} boards",
        "state": "active",
        "created_at": iso(ACCOUNT_EPOCH + n * 86_400),
        "is_default_workspace": default,
    }
