-- +goose Up
-- The jobs service's durable stage results, result cache and batch
-- callbacks. Portable SQL: runs unchanged on SQLite and PostgreSQL. Times
-- are Unix nanoseconds (BIGINT); results are protojson (TEXT).

-- One row per finished stage of a job, so a redelivered or retried job
-- resumes from its first unfinished stage.
CREATE TABLE job_stages (
    tenant         TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    stage          TEXT NOT NULL,
    state          INTEGER NOT NULL,
    modality_state INTEGER NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    result_json    TEXT NOT NULL DEFAULT '',
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant, job_id, stage)
);

-- Finished analyses keyed by (content hash, options, model versions); the
-- SQL backend of the result cache (Redis is the other).
CREATE TABLE analysis_cache (
    cache_key   TEXT PRIMARY KEY,
    result_json TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX analysis_cache_expires ON analysis_cache (expires_at);

-- Who submitted a batch (its callbacks are signed with that API key's
-- secret) and how its callback went (a CallbackDelivery, protojson).
ALTER TABLE batches ADD COLUMN submitter TEXT NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN callback_json TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE batches DROP COLUMN callback_json;
ALTER TABLE batches DROP COLUMN submitter;
DROP INDEX analysis_cache_expires;
DROP TABLE analysis_cache;
DROP TABLE job_stages;
