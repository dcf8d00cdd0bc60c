"""``POST /admin/<action>``: data changes through the store's change API, visible to the next query."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from monday_emulator.clock import FakeClock
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tests.conftest import HttpAnswer

Gql = Callable[..., HttpAnswer]
Factory = Callable[..., RunningEmulator]


def admin(running: RunningEmulator, action: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    async def go() -> tuple[int, Any]:
        headers = {"Authorization": token if token is not None else running.token}
        async with (
            aiohttp.ClientSession() as session,
            session.post(running.admin_url(action), json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    return asyncio.run(go())


def fetch(running: RunningEmulator, gql: Gql, item_id: str) -> dict[str, Any]:
    answer = gql(running, queries.ITEMS_BY_IDS_QUERY, variables={"ids": [item_id], "limit": 1})
    assert answer.status == 200
    (item,) = answer.json["data"]["items"]
    return item


def test_admin_changes_are_served(emulator_factory: Factory, gql: Gql) -> None:
    clock = FakeClock()
    running = emulator_factory(admin=True, clock=clock)
    store = running.emulator.store
    board = store.board_ids()[0]
    groups = [g["id"] for g in store.board(board)["groups"]]
    clock.advance(3_600)

    status, created = admin(running, "create_item", {"board_id": board, "name": "Made over HTTP"})
    assert status == 200
    new_id = created["result"]
    assert fetch(running, gql, new_id)["name"] == "Made over HTTP"
    assert new_id in store.item_ids(board)

    target = store.item_ids(board)[0]
    before = fetch(running, gql, target)
    assert admin(running, "rename_item", {"item_id": target, "name": "Renamed"})[0] == 200
    other_group = next(g for g in groups if g != before["group"]["id"])
    assert admin(running, "move_item", {"item_id": target, "group_id": other_group})[0] == 200
    after = fetch(running, gql, target)
    assert after["name"] == "Renamed"
    assert after["group"]["id"] == other_group
    assert after["updated_at"] > before["updated_at"]

    column = next(c for c in before["column_values"] if c["type"] == "numbers")
    assert (
        admin(running, "update_column_value", {"item_id": target, "column_id": column["id"], "raw": 42})[0]
        == 200
    )
    changed = next(c for c in fetch(running, gql, target)["column_values"] if c["id"] == column["id"])
    assert changed["text"] == "42"

    archived, deleted = store.item_ids(board)[1:3]
    assert admin(running, "archive_item", {"item_id": archived})[0] == 200
    assert admin(running, "delete_item", {"item_id": deleted})[0] == 200
    assert fetch(running, gql, archived)["state"] == "archived"
    assert fetch(running, gql, deleted)["state"] == "deleted"
    assert archived not in store.item_ids(board)


def test_admin_errors(emulator_factory: Factory) -> None:
    running = emulator_factory(admin=True)
    assert admin(running, "rename_item", {"item_id": "1", "name": "x"}, token="wrong")[0] == 401
    status, body = admin(running, "drop_database", {})
    assert status == 404
    assert "unknown action" in body["error"]
    status, body = admin(running, "rename_item", {"item_id": "999999999999", "name": "x"})
    assert status == 400
    assert "KeyError" in body["error"]
    assert admin(running, "rename_item", ["not", "kwargs"])[0] == 400


def test_admin_off_by_default(emulator_factory: Factory) -> None:
    running = emulator_factory()

    async def go() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                running.admin_url("delete_item"),
                json={"item_id": "1"},
                headers={"Authorization": running.token},
            ) as response,
        ):
            return response.status

    assert asyncio.run(go()) == 404
