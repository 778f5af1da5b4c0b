package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	// SQLite is the embedded default engine (modernc.org/sqlite, pure Go).
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL, reached through pgx's database/sql driver.
	Postgres Dialect = "postgres"
)

// DB is a database handle that knows its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// defaultFile is the name of the SQLite database Open creates in its data
// directory when the URL is empty.
const defaultFile = "clipmesh.db"

// sqliteDefaults are the modernc.org/sqlite DSN parameters every SQLite
// connection gets, unless the URL sets the same setting itself. (modernc runs
// the _pragma list sorted, busy_timeout first, so a second value for the same
// PRAGMA would not reliably win: the default is left out instead.)
var sqliteDefaults = []struct {
	param string
	// pragma and keys say how a URL sets the same thing: a _pragma value
	// naming pragma, or one of the DSN keys.
	pragma string
	keys   []string
}{
	// busy_timeout first, so that switching to WAL already waits for a
	// concurrent opener instead of failing with SQLITE_BUSY.
	{"_pragma=busy_timeout(10000)", "busy_timeout", []string{"_busy_timeout", "_timeout"}},
	{"_pragma=journal_mode(WAL)", "journal_mode", []string{"_journal_mode", "_journal"}},
	{"_pragma=foreign_keys(1)", "foreign_keys", []string{"_foreign_keys", "_fk"}},
	// Read-write transactions take the write lock at BEGIN, so that they
	// wait under busy_timeout instead of failing to upgrade a read lock.
	{"_txlock=immediate", "", []string{"_txlock"}},
}

// sqliteDSN returns the modernc.org/sqlite DSN for path (a plain path or a
// "file:" URI) and the URL's query: the defaults the query does not
// override, then the query as given.
func sqliteDSN(path, query string) string {
	set := map[string]bool{}
	if q, err := url.ParseQuery(query); err == nil {
		for k := range q {
			set[strings.ToLower(k)] = true
		}
		for _, v := range q["_pragma"] {
			name, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(v)), "(")
			name, _, _ = strings.Cut(name, "=")
			set[strings.TrimSpace(name)] = true
		}
	}
	var params []string
	for _, d := range sqliteDefaults {
		overridden := d.pragma != "" && set[d.pragma]
		for _, k := range d.keys {
			overridden = overridden || set[k]
		}
		if !overridden {
			params = append(params, d.param)
		}
	}
	if query != "" {
		params = append(params, query)
	}
	return path + "?" + strings.Join(params, "&")
}

// Open opens the database named by url: "" means SQLite at
// <dataDir>/clipmesh.db (creating dataDir), "sqlite:///abs/path.db" or
// "sqlite://relative.db" or "file:..." means SQLite at that path,
// "postgres://..." or "postgresql://..." means PostgreSQL through pgx's
// database/sql driver (github.com/jackc/pgx/v5/stdlib).
//
// It pings the database before returning. Every SQLite connection runs with
// journal_mode=WAL, busy_timeout=10000 (10s) and foreign_keys=ON. Errors never
// contain the password of a PostgreSQL URL.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	scheme, rest, ok := splitScheme(url)
	switch {
	case url == "":
		if dataDir == "" {
			return nil, errors.New("store: open: empty database URL and empty data directory")
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("store: open: create data directory: %w", err)
		}
		return openSQLite(ctx, filepath.Join(dataDir, defaultFile))
	case !ok:
		// Not echoed: a string without a scheme may be a key=value DSN
		// carrying a password.
		return nil, errors.New("store: open: database URL has no scheme " +
			"(want sqlite://PATH, file:PATH, postgres://... or postgresql://...)")
	case scheme == "sqlite":
		rest = strings.TrimPrefix(rest, "//")
		if rest == "" || strings.HasPrefix(rest, "?") {
			return nil, fmt.Errorf("store: open %s: no database path", url)
		}
		return openSQLite(ctx, rest)
	case scheme == "file":
		return openSQLite(ctx, url)
	case scheme == "postgres" || scheme == "postgresql":
		return openPostgres(ctx, url)
	default:
		return nil, fmt.Errorf("store: open: unsupported database URL scheme %q "+
			"(want sqlite://PATH, file:PATH, postgres://... or postgresql://...)", scheme)
	}
}

// splitScheme returns the lower-cased scheme of u and what follows its colon.
func splitScheme(u string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(u, ':')
	if i <= 0 {
		return "", "", false
	}
	for j, r := range u[:i] {
		isLetter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		isOther := r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'
		if !isLetter && (j == 0 || !isOther) {
			return "", "", false
		}
	}
	return strings.ToLower(u[:i]), u[i+1:], true
}

// openSQLite opens the SQLite database at name, a plain path or a "file:"
// URI, either with an optional query whose settings replace the defaults.
func openSQLite(ctx context.Context, name string) (*DB, error) {
	path, query, _ := strings.Cut(name, "?")
	sqlDB, err := sql.Open("sqlite", sqliteDSN(path, query))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return &DB{DB: sqlDB, Dialect: SQLite}, nil
}

// openPostgres opens the PostgreSQL database named by the URL u.
func openPostgres(ctx context.Context, u string) (*DB, error) {
	masked := maskURL(u)
	sqlDB, err := sql.Open("pgx", u)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", masked, redact(err, u))
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: open postgres %s: %w", masked, redact(err, u))
	}
	return &DB{DB: sqlDB, Dialect: Postgres}, nil
}

const mask = "xxxxx"

var (
	userinfoPassword = regexp.MustCompile(`(://[^:/@?#]*):([^@/?#]*)@`)
	paramPassword    = regexp.MustCompile(`(?i)((?:ssl)?password=)[^&\s]*`)
)

// maskURL returns the database URL u with every password in it replaced by
// xxxxx: the userinfo password and the password and sslpassword parameters.
func maskURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		// A URL that does not parse is masked textually, and never echoed
		// through url.Parse's error, which quotes the whole URL.
		u = userinfoPassword.ReplaceAllString(u, "${1}:"+mask+"@")
		return paramPassword.ReplaceAllString(u, "${1}"+mask)
	}
	if _, has := parsed.User.Password(); has {
		parsed.User = url.UserPassword(parsed.User.Username(), mask)
	}
	q := parsed.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
			q[k] = []string{mask}
			changed = true
		}
	}
	if changed {
		parsed.RawQuery = q.Encode()
	}
	return parsed.String()
}

// passwords returns the passwords in the database URL u, raw and escaped as
// they may appear in it.
func passwords(u string) []string {
	var raw []string
	if parsed, err := url.Parse(u); err == nil {
		if pw, ok := parsed.User.Password(); ok {
			raw = append(raw, pw)
		}
		for k, vs := range parsed.Query() {
			if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
				raw = append(raw, vs...)
			}
		}
	} else if m := userinfoPassword.FindStringSubmatch(u); m != nil {
		raw = append(raw, m[2])
	}
	var out []string
	for _, pw := range raw {
		if pw == "" {
			continue
		}
		out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	return out
}

// redactedError carries the message of err with every password of the URL
// it was produced from masked; it unwraps to err, so errors.Is and errors.As
// still see the driver's error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with the passwords of the database URL u masked in its
// message, wherever they appear as a URL password (":pw@") or a password
// parameter ("password=pw").
func redact(err error, u string) error {
	msg := err.Error()
	for _, pw := range passwords(u) {
		msg = strings.ReplaceAll(msg, ":"+pw+"@", ":"+mask+"@")
		msg = strings.ReplaceAll(msg, "password="+pw, "password="+mask)
		msg = strings.ReplaceAll(msg, "password='"+pw+"'", "password="+mask)
	}
	msg = paramPassword.ReplaceAllString(msg, "${1}"+mask)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
