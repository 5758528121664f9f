"""The embedded SQLite store (stdlib ``sqlite3``, WAL, one file shared by processes)."""
