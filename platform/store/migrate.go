package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migrationLockWait bounds how long Migrate waits for another migrator.
const migrationLockWait = 5 * time.Minute

// Migrate applies the embedded versioned migrations (migrations/*.sql) that
// the database does not have yet. It is safe to call concurrently from
// several processes on the same database: the migrators serialise on a lock
// held for the whole run, on PostgreSQL a session-level advisory lock
// (goose's session locker, which needs a second connection: do not limit the
// pool to one), on SQLite a write lock on the sidecar file
// <database>.migrate-lock; each waits up to five minutes, or until ctx is
// done, for the others. Calling it on an up-to-date database changes nothing.
func (db *DB) Migrate(ctx context.Context) (err error) {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", db.Dialect, err)
	}
	// The lock is taken here rather than handed to goose (WithSessionLocker)
	// because goose's Up checks for pending migrations, creating its version
	// table, before it locks; concurrent first runs then collide on that
	// table and rely on a retry.
	unlock, err := db.lockMigrations(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate %s: lock: %w", db.Dialect, err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("store: migrate %s: unlock: %w", db.Dialect, uerr))
		}
	}()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", db.Dialect, err)
	}
	return nil
}

// Version returns the current migration version: the highest version applied
// to the database, 0 for a database never migrated.
func (db *DB) Version(ctx context.Context) (int64, error) {
	// No lock: reading the version does not race with a migrator, and
	// goose retries creating its version table if another process does too.
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("store: migration version %s: %w", db.Dialect, err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migration version %s: %w", db.Dialect, err)
	}
	return v, nil
}

// provider returns a goose provider of the embedded migrations for db.
func (db *DB) provider() (*goose.Provider, error) {
	var dialect goose.Dialect
	switch db.Dialect {
	case SQLite:
		dialect = goose.DialectSQLite3
	case Postgres:
		dialect = goose.DialectPostgres
	default:
		return nil, fmt.Errorf("unknown dialect %q", db.Dialect)
	}
	fsys, err := fs.Sub(embedded, "migrations")
	if err != nil {
		return nil, err
	}
	// Out of order: services add migrations independently, so a database
	// already at a higher number still gets a lower one that landed later.
	return goose.NewProvider(dialect, db.DB, fsys, goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true))
}

// lockMigrations takes the lock that serialises Migrate across processes
// and returns its release.
func (db *DB) lockMigrations(ctx context.Context) (unlock func() error, err error) {
	switch db.Dialect {
	case Postgres:
		return db.lockPostgres(ctx)
	case SQLite:
		var file string
		err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file)
		if err != nil {
			return nil, fmt.Errorf("database file: %w", err)
		}
		if file == "" {
			// In memory or temporary: private to this process's handle.
			return func() error { return nil }, nil
		}
		return lockSQLiteFile(ctx, file+".migrate-lock")
	default:
		return nil, fmt.Errorf("unknown dialect %q", db.Dialect)
	}
}

// lockPostgres takes goose's session-level advisory lock
// (pg_try_advisory_lock, polled every second for up to five minutes) on a
// connection it holds until unlock. PostgreSQL releases the lock if the
// process dies.
func (db *DB) lockPostgres(ctx context.Context) (unlock func() error, err error) {
	if db.Stats().MaxOpenConnections == 1 {
		return nil, errors.New("the migration lock holds a connection of its own " +
			"and the pool is limited to one: migrate before SetMaxOpenConns(1)")
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockTimeout(1, uint64(migrationLockWait/time.Second)),
		lock.WithUnlockTimeout(1, 10),
	)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if err := locker.SessionLock(ctx, conn); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return func() error {
		err := locker.SessionUnlock(context.WithoutCancel(ctx), conn)
		if err != nil {
			// Drop the session rather than pool it still holding the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return errors.Join(err, conn.Close())
	}, nil
}

// lockSQLiteFile takes the migration lock of a SQLite database. SQLite has
// no advisory locks, and the lock cannot be one on the database itself,
// which the migrations must write, so it holds a RESERVED lock
// (BEGIN IMMEDIATE) on the SQLite database at path, a sidecar file next to
// the database. SQLite serialises such locks between processes and between
// connections of one process, and the operating system drops them when a
// process dies, so a crashed migrator never leaves a stale lock.
func lockSQLiteFile(ctx context.Context, path string) (unlock func() error, err error) {
	ctx, cancel := context.WithTimeout(ctx, migrationLockWait)
	defer cancel()
	lockDB, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(1000)")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lockDB.SetMaxOpenConns(1)
	conn, err := lockDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Join(err, lockDB.Close()))
	}
	for {
		// Waits up to busy_timeout, or until ctx is done, each time.
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			break
		}
		if !isBusy(err) || ctx.Err() != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				err = ctxErr
			}
			return nil, fmt.Errorf("%s: %w", path, errors.Join(err, conn.Close(), lockDB.Close()))
		}
	}
	return func() error {
		_, rollbackErr := conn.ExecContext(context.Background(), "ROLLBACK")
		// Closing the connection releases the lock even if ROLLBACK failed.
		if err := errors.Join(rollbackErr, conn.Close(), lockDB.Close()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}, nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
