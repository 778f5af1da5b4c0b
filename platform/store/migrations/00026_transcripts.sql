-- +goose Up
-- Transcripts of videos (TranscribeService). Portable SQL: runs unchanged on
-- SQLite and PostgreSQL. Times are Unix nanoseconds (BIGINT). A video has at
-- most one transcript per source: 'recognized' (speech recognition, replaced
-- by each new run) and 'uploaded' (subtitles the user sent, aligned to the
-- audio). transcript_json is the clipmesh.transcribe.v1.Transcript message
-- as protojson.

CREATE TABLE transcripts (
    tenant          TEXT NOT NULL,
    video_id        TEXT NOT NULL,
    source          TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT '',
    engine          TEXT NOT NULL DEFAULT '',
    transcript_json TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant, video_id, source)
);

-- +goose Down
DROP TABLE transcripts;
