"""The orchestrator's state in SQLite (on its own PVC): workspaces, conversations, tombstones, audit.

A deleted workspace's row is removed and a tombstone records when and how (``api`` or ``admin-forget``). Each
call opens its own connection, so the store is safe to use from worker threads and from the admin CLI in
another process at the same time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["Conversation", "Store", "Tombstone", "Workspace"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, swarm_name TEXT NOT NULL,
    runtime_mode TEXT NOT NULL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS workspaces_user ON workspaces (user_id, created_at);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, title TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, swarm_name TEXT NOT NULL, deleted_at REAL NOT NULL,
    how TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, user_id TEXT, method TEXT NOT NULL,
    path TEXT NOT NULL, workspace_id TEXT, conversation_id TEXT, target TEXT, status INTEGER NOT NULL,
    forwarded INTEGER NOT NULL, detail TEXT);
"""


@dataclass(frozen=True)
class Workspace:
    """A workspace row."""

    id: str
    user_id: str
    name: str
    swarm_name: str
    runtime_mode: str
    created_at: float


@dataclass(frozen=True)
class Conversation:
    """A conversation row."""

    id: str
    workspace_id: str
    title: str
    created_at: float


@dataclass(frozen=True)
class Tombstone:
    """What is left of a deleted workspace: who owned it, its swarm, when and how it went."""

    id: str
    user_id: str
    swarm_name: str
    deleted_at: float
    how: str


class Store:
    """Typed access to the SQLite database at ``path``."""

    def __init__(self, path: str) -> None:
        self._path = path
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            yield db
        finally:
            db.close()

    def create_workspace(self, ws: Workspace) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO workspaces VALUES (?, ?, ?, ?, ?, ?)",
                (ws.id, ws.user_id, ws.name, ws.swarm_name, ws.runtime_mode, ws.created_at),
            )

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
        return Workspace(*row) if row else None

    def list_workspaces(self, user_id: str) -> list[Workspace]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM workspaces WHERE user_id = ? ORDER BY created_at, id", (user_id,)
            ).fetchall()
        return [Workspace(*row) for row in rows]

    def all_workspaces(self) -> list[Workspace]:
        """Every user's workspaces (for the defect ``msg5-one-gate-for-all`` only)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM workspaces ORDER BY created_at, id").fetchall()
        return [Workspace(*row) for row in rows]

    def first_workspace(self, user_id: str) -> Workspace | None:
        workspaces = self.list_workspaces(user_id)
        return workspaces[0] if workspaces else None

    def delete_workspace(self, workspace_id: str, *, how: str, tombstone: bool = True) -> Workspace | None:
        """Remove the row (and its conversations) and record a tombstone; return what was removed."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return None
            ws = Workspace(*row)
            db.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))
            db.execute("DELETE FROM conversations WHERE workspace_id = ?", (workspace_id,))
            if tombstone:
                db.execute(
                    "INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?, ?, ?)",
                    (ws.id, ws.user_id, ws.swarm_name, time.time(), how),
                )
            db.execute("COMMIT")
        return ws

    def tombstone(self, workspace_id: str) -> Tombstone | None:
        """The tombstone of a deleted workspace, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM tombstones WHERE id = ?", (workspace_id,)).fetchone()
        return Tombstone(*row) if row else None

    def is_tombstoned(self, workspace_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM tombstones WHERE id = ?", (workspace_id,)).fetchone() is not None

    def create_conversation(self, conversation: Conversation) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?)",
                (conversation.id, conversation.workspace_id, conversation.title, conversation.created_at),
            )

    def first_conversation(self, workspace_id: str) -> Conversation | None:
        """The workspace's oldest conversation (only the defect ``msg4-first-conversation`` asks)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM conversations WHERE workspace_id = ? ORDER BY created_at, rowid LIMIT 1", (workspace_id,)
            ).fetchone()
        return Conversation(*row) if row else None

    def get_conversation(self, workspace_id: str, conversation_id: str) -> Conversation | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM conversations WHERE id = ? AND workspace_id = ?", (conversation_id, workspace_id)
            ).fetchone()
        return Conversation(*row) if row else None

    def add_audit(self, **record: Any) -> None:
        columns = (
            "ts",
            "user_id",
            "method",
            "path",
            "workspace_id",
            "conversation_id",
            "target",
            "status",
            "forwarded",
            "detail",
        )
        with self._connect() as db:
            db.execute(
                f"INSERT INTO audit ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                tuple(record.get(column) for column in columns),
            )

    def audit_since(self, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return [{**dict(row), "forwarded": bool(row["forwarded"])} for row in rows]
