-- +goose Up
-- The analytics service's fusions and tenant aggregates. Portable SQL: runs
-- unchanged on SQLite and PostgreSQL. Times are Unix nanoseconds (BIGINT);
-- results are protojson (TEXT).

-- The latest fusion of each video, with what produced it: the fusion
-- version and a hash of its weights, and the producers (engine, model,
-- version) of every modality fused. The summary columns feed the tenant
-- aggregates.
CREATE TABLE analytics_results (
    tenant           TEXT NOT NULL,
    video_id         TEXT NOT NULL,
    job_id           TEXT NOT NULL DEFAULT '',
    fusion_version   TEXT NOT NULL,
    weights_hash     TEXT NOT NULL,
    producers_json   TEXT NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL,
    avg_engagement   DOUBLE PRECISION NOT NULL,
    dominant_emotion TEXT NOT NULL DEFAULT '',
    fused_json       TEXT NOT NULL,
    detailed_json    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant, video_id)
);

-- Topic mentions and the dominant emotion of each stored fusion, summed
-- per tenant for the top topics and emotions.
CREATE TABLE analytics_labels (
    tenant   TEXT NOT NULL,
    video_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    label    TEXT NOT NULL,
    mentions BIGINT NOT NULL,
    PRIMARY KEY (tenant, video_id, kind, label)
);

CREATE INDEX analytics_labels_tenant_kind ON analytics_labels (tenant, kind);

-- Fusions run per tenant (a video fused twice counts twice).
CREATE TABLE analytics_tenants (
    tenant     TEXT PRIMARY KEY,
    fusions    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE analytics_tenants;
DROP INDEX analytics_labels_tenant_kind;
DROP TABLE analytics_labels;
DROP TABLE analytics_results;
