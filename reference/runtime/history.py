"""Each conversation's history, in SQLite under the data directory (the swarm's PVC): it survives a restart."""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

__all__ = ["History"]


class History:
    """Append and read messages per conversation."""

    def __init__(self, data_dir: str) -> None:
        os.makedirs(data_dir, exist_ok=True)
        self._path = os.path.join(data_dir, "history.db")
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,"
                " text TEXT NOT NULL, reply TEXT NOT NULL, signature TEXT NOT NULL, ts REAL NOT NULL,"
                " PRIMARY KEY (conversation_id, seq))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    def next_seq(self, db: sqlite3.Connection, conversation_id: str) -> int:
        row = db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
        return int(row[0]) + 1

    def append(self, conversation_id: str, text: str, make_reply: Any) -> dict[str, Any]:
        """Allocate the next sequence number, build the reply with ``make_reply(seq)`` and store it atomically."""
        db = self._connect()
        try:
            with db:
                db.execute("BEGIN IMMEDIATE")
                seq = self.next_seq(db, conversation_id)
                reply: dict[str, Any] = make_reply(seq)
                db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                    (conversation_id, seq, text, reply["reply"], reply.get("signature", ""), time.time()),
                )
        finally:
            db.close()
        return reply

    def read(self, conversation_id: str) -> list[dict[str, Any]]:
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT seq, text, reply, signature, ts FROM messages WHERE conversation_id = ? ORDER BY seq",
                (conversation_id,),
            ).fetchall()
        finally:
            db.close()
        # an unsigned reply (signatures off) is stored with "" and read back without the field
        return [
            {"seq": s, "text": t, "reply": r, "ts": ts, **({"signature": sig} if sig else {})}
            for s, t, r, sig, ts in rows
        ]
