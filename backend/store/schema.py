"""Versioned schema migrations, applied in order on open.

Append a new entry to MIGRATIONS to change the schema; never edit a released one. A database
whose `user_version` is newer than len(MIGRATIONS) was written by a newer Corral and is refused.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: tasks, their history, and full-text search over them.
    """
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        slug TEXT NOT NULL,
        state TEXT NOT NULL,
        repo TEXT NOT NULL,
        base_ref TEXT NOT NULL,
        base_commit TEXT NOT NULL,
        branch TEXT NOT NULL,
        image TEXT NOT NULL,
        spec TEXT NOT NULL,
        container_id TEXT,
        workspace TEXT,
        description TEXT NOT NULL DEFAULT '',
        agent_state TEXT NOT NULL DEFAULT 'none',
        reason TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    -- A live task's name is unique; deleted tasks keep theirs in history.
    CREATE UNIQUE INDEX tasks_live_name ON tasks(name) WHERE state != 'deleted';
    CREATE UNIQUE INDEX tasks_live_branch ON tasks(repo, branch) WHERE state != 'deleted';
    CREATE INDEX tasks_state ON tasks(state, created_at);
    CREATE INDEX tasks_created ON tasks(created_at);

    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX events_task ON events(task_id, id);

    CREATE TABLE executions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        command TEXT NOT NULL,
        exit_code INTEGER,
        duration_ms INTEGER NOT NULL,
        output_tail TEXT NOT NULL DEFAULT '',
        timed_out INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX executions_task ON executions(task_id, id);

    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX decisions_task ON decisions(task_id, id);

    CREATE TABLE samples (
        task_id TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        cpu_percent REAL NOT NULL,
        memory_bytes INTEGER NOT NULL,
        memory_limit INTEGER NOT NULL,
        pids INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX samples_task ON samples(task_id, taken_at);

    CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'manual',
        message TEXT NOT NULL DEFAULT '',
        git_ref TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        image_id TEXT,
        files_changed INTEGER NOT NULL DEFAULT 0,
        layer_size INTEGER NOT NULL DEFAULT 0,
        log_offsets TEXT NOT NULL DEFAULT '{}',
        event_id INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        UNIQUE(task_id, n)
    );

    -- Idempotent creates: a request id seen before returns the task it made.
    CREATE TABLE requests (
        request_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

    CREATE VIRTUAL TABLE task_search USING fts5(
        name, description, branch, decisions, tokenize = 'unicode61'
    );
    CREATE TRIGGER tasks_search_ins AFTER INSERT ON tasks BEGIN
        INSERT INTO task_search(rowid, name, description, branch, decisions)
        VALUES (new.rowid, new.name, new.description, new.branch, '');
    END;
    CREATE TRIGGER tasks_search_upd AFTER UPDATE OF name, description, branch ON tasks BEGIN
        UPDATE task_search SET name = new.name, description = new.description,
            branch = new.branch WHERE rowid = new.rowid;
    END;
    CREATE TRIGGER tasks_search_del AFTER DELETE ON tasks BEGIN
        DELETE FROM task_search WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER decisions_search_ins AFTER INSERT ON decisions BEGIN
        UPDATE task_search SET decisions = decisions || ' ' || new.text
        WHERE rowid = (SELECT rowid FROM tasks WHERE id = new.task_id);
    END;
    """,
    # 2: checkpoints remember the container they saw (to skip unchanged `docker commit`s) and
    # the agent's HEAD; numbers are handed out once per task, never reused after a prune.
    """
    ALTER TABLE checkpoints ADD COLUMN container_id TEXT;
    ALTER TABLE checkpoints ADD COLUMN fs_fingerprint TEXT;
    ALTER TABLE checkpoints ADD COLUMN head_sha TEXT;
    CREATE TABLE checkpoint_numbers (
        task_id TEXT PRIMARY KEY,
        last_n INTEGER NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
