-- +goose Up
-- Collab projects, their members and their operation logs. Portable SQL:
-- runs unchanged on SQLite and PostgreSQL. Times are Unix nanoseconds
-- (BIGINT); operations are JSON (TEXT).

CREATE TABLE collab_projects (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- last_seq is the sequence of the project's newest operation; appending
    -- an operation increments it first, which serialises appenders.
    last_seq    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX collab_projects_tenant_created ON collab_projects (tenant, created_at);

CREATE TABLE collab_members (
    project_id  TEXT NOT NULL REFERENCES collab_projects (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (project_id, subject)
);

CREATE TABLE collab_ops (
    project_id   TEXT NOT NULL REFERENCES collab_projects (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    author       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (project_id, seq)
);

-- +goose Down
DROP TABLE collab_ops;
DROP TABLE collab_members;
DROP TABLE collab_projects;
