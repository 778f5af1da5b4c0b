-- +goose Up
-- Batches of jobs (JobService.SubmitBatch). Portable SQL: runs unchanged on
-- SQLite and PostgreSQL. Times are Unix nanoseconds (BIGINT). A batch's jobs
-- are the jobs rows with its id in jobs.batch_id; job_ids keeps them in item
-- order (a JSON array of strings, TEXT).

CREATE TABLE batches (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    job_ids         TEXT NOT NULL,
    callback_url    TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE UNIQUE INDEX batches_tenant_idempotency ON batches (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_tenant_batch ON jobs (tenant, batch_id);

-- +goose Down
DROP INDEX jobs_tenant_batch;
DROP TABLE batches;
