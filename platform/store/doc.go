// Package store is clipmesh's SQL storage: it opens SQLite (the embedded
// default) or PostgreSQL (at scale) behind one [DB] handle that knows its
// [Dialect], applies the versioned migrations embedded from migrations/*.sql
// with goose, and classifies driver errors that callers map to domain errors
// (see [IsUniqueViolation]).
//
// # URLs
//
// [Open] takes a database URL:
//
//	""                               SQLite at <dataDir>/clipmesh.db
//	sqlite:///var/lib/clipmesh/x.db  SQLite at an absolute path
//	sqlite://relative/x.db           SQLite at a path relative to the working directory
//	file:x.db?mode=rwc               SQLite URI, handed to SQLite as is
//	postgres://user:pw@host/db       PostgreSQL through pgx's database/sql driver
//	postgresql://user:pw@host/db     the same
//
// Every SQLite connection runs with journal_mode=WAL, busy_timeout=10000 and
// foreign_keys=ON, and begins read-write transactions with BEGIN IMMEDIATE so
// that concurrent writers wait for each other under busy_timeout instead of
// failing with SQLITE_BUSY halfway through a transaction. Query parameters of
// the URL are passed on to modernc.org/sqlite, and one that sets any of these
// (_pragma=busy_timeout(5000), _journal_mode=DELETE, _txlock=deferred, ...)
// replaces the default.
//
// Error messages never contain a PostgreSQL password: URLs are masked.
//
// # Placeholders
//
// All clipmesh queries use PostgreSQL placeholders, $1, $2, ..., on both
// engines. SQLite reads $N as a parameter named "$N", and modernc.org/sqlite
// binds a parameter named $N to the N-th argument, so the same query text
// works unchanged on both engines, including a placeholder used more than once
// or out of order (store's tests prove it). No rebinding is needed.
//
// # Migrations
//
// Migrations are goose SQL files, migrations/NNNNN_name.sql, written in the
// SQL both engines accept. [DB.Migrate] serialises concurrent migrators
// across processes: on PostgreSQL with goose's session-level advisory lock,
// on SQLite with a write lock held on a sidecar file, <database>.migrate-lock,
// next to the database (the file stays; it is empty and harmless).
package store
