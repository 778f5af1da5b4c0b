-- +goose Up
-- Rendered clips (ClipsService). Portable SQL: runs unchanged on SQLite and
-- PostgreSQL. Times are Unix nanoseconds (BIGINT). clip_json is the
-- clipmesh.clips.v1.Clip as protojson; spec_json is what the renderer
-- needs to render it again after a crash (source, range, reframing plan,
-- caption words), as JSON.

CREATE TABLE clips (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    video_id    TEXT NOT NULL,
    state       INTEGER NOT NULL,
    clip_json   TEXT NOT NULL,
    spec_json   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX clips_tenant_video ON clips (tenant, video_id, created_at);

-- +goose Down
DROP INDEX clips_tenant_video;
DROP TABLE clips;
