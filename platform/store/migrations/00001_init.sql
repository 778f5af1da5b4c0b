-- +goose Up
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are Unix
-- nanoseconds (BIGINT); structured values are protojson (TEXT).

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    role        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE videos (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    filename     TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    size_bytes   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    probe_json   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX videos_tenant_created ON videos (tenant, created_at);

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    video_id        TEXT NOT NULL,
    batch_id        TEXT NOT NULL DEFAULT '',
    state           INTEGER NOT NULL,
    priority        INTEGER NOT NULL,
    idempotency_key TEXT,
    job_json        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE INDEX jobs_tenant_created ON jobs (tenant, created_at);
CREATE UNIQUE INDEX jobs_tenant_idempotency ON jobs (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP TABLE jobs;
DROP TABLE videos;
DROP TABLE api_keys;
