-- +goose Up
-- Collab history: listing a project's operations by author (history
-- filtered to one person, and the undo of that person's changes) reads
-- this index instead of the whole log. Portable SQL: SQLite and PostgreSQL.

CREATE INDEX collab_ops_author ON collab_ops (project_id, author, seq);

-- +goose Down
DROP INDEX collab_ops_author;
