// Package projects stores collab projects, their members and their
// operation logs in SQL (tables collab_projects, collab_members and
// collab_ops), and appends operations in one total order per project.
//
// Append runs in one transaction: it increments the project's last_seq
// (an UPDATE, which takes the project row's write lock on PostgreSQL and
// the database's write lock on SQLite, so appenders to one project take
// turns), checks the author's role, reads the log, lets doc.Sequence
// transform and validate the operation, and inserts it at the new
// sequence. A rolled-back append leaves no gap; the primary key
// (project_id, seq) makes a duplicate sequence impossible.
package projects

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/collab/internal/doc"
)

// Errors of the store.
var (
	// ErrNotFound means no such project in the caller's tenant.
	ErrNotFound = errors.New("project not found")
	// ErrPermission means the caller's role does not allow the action.
	ErrPermission = errors.New("permission denied")
	// ErrInvalidArgument means a request value is malformed.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Role is a principal's role in one project.
type Role string

// Project roles, from most to least powerful.
const (
	RoleOwner     Role = "owner"
	RoleEditor    Role = "editor"
	RoleCommenter Role = "commenter"
	RoleViewer    Role = "viewer"
)

// rank orders roles; 0 is no role.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleEditor:
		return 3
	case RoleCommenter:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// CanEdit reports whether the role may edit the document.
func (r Role) CanEdit() bool { return r.rank() >= RoleEditor.rank() }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.rank() > 0 {
		return r, nil
	}
	return "", fmt.Errorf("%w: unknown role %q (want owner, editor, commenter or viewer)", ErrInvalidArgument, s)
}

// Caller is who acts: a principal of a tenant. Admin is true for the
// tenant's admins; ReadOnly for principals whose key only reads (the viewer
// API key role), which caps their project role at viewer.
type Caller struct {
	Tenant   string
	Subject  string
	Admin    bool
	ReadOnly bool
}

// Project is a stored project.
type Project struct {
	ID        string
	Tenant    string
	Name      string
	CreatedBy string
	CreatedAt time.Time
	LastSeq   int64
}

// Operation is one sequenced operation of a project's log.
type Operation struct {
	ProjectID string
	Seq       int64
	Author    string
	CreatedAt time.Time
	Op        doc.Op
	// PayloadJSON is Op as stored.
	PayloadJSON string
}

// Store is the SQL store.
type Store struct {
	DB *store.DB
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// MaxNameLen is the longest project name, in characters.
const MaxNameLen = 200

// Create creates a project in the caller's tenant with the caller as its
// owner.
func (s *Store) Create(ctx context.Context, c Caller, name string) (Project, error) {
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen || !utf8.ValidString(name) {
		return Project{}, fmt.Errorf("%w: name must be 1-%d characters", ErrInvalidArgument, MaxNameLen)
	}
	if c.ReadOnly {
		return Project{}, fmt.Errorf("%w: a viewer key cannot create projects", ErrPermission)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	p := Project{ID: "prj_" + hex.EncodeToString(b[:]), Tenant: c.Tenant, Name: name, CreatedBy: c.Subject, CreatedAt: s.now()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO collab_projects (id, tenant, name, created_by, created_at, last_seq)
			VALUES ($1, $2, $3, $4, $5, 0)`, p.ID, p.Tenant, p.Name, p.CreatedBy, p.CreatedAt.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO collab_members (project_id, subject, role, added_at)
			VALUES ($1, $2, $3, $4)`, p.ID, c.Subject, string(RoleOwner), p.CreatedAt.UnixNano())
		return err
	})
	if err != nil {
		return Project{}, fmt.Errorf("projects: create: %w", err)
	}
	return p, nil
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

const projectCols = `id, tenant, name, created_by, created_at, last_seq`

func scanProject(row interface{ Scan(...any) error }) (Project, error) {
	var p Project
	var created int64
	if err := row.Scan(&p.ID, &p.Tenant, &p.Name, &p.CreatedBy, &created, &p.LastSeq); err != nil {
		return Project{}, err
	}
	p.CreatedAt = time.Unix(0, created).UTC()
	return p, nil
}

// Get returns a project of the caller's tenant and the caller's role in it.
// Another tenant's project is ErrNotFound.
func (s *Store) Get(ctx context.Context, c Caller, id string) (Project, Role, error) {
	return s.get(ctx, s.DB, c, id)
}

func (s *Store) get(ctx context.Context, q querier, c Caller, id string) (Project, Role, error) {
	p, err := scanProject(q.QueryRowContext(ctx, `SELECT `+projectCols+` FROM collab_projects
		WHERE tenant = $1 AND id = $2`, c.Tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, "", fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return Project{}, "", fmt.Errorf("projects: get %s: %w", id, err)
	}
	var member string
	err = q.QueryRowContext(ctx, `SELECT role FROM collab_members WHERE project_id = $1 AND subject = $2`,
		id, c.Subject).Scan(&member)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Project{}, "", fmt.Errorf("projects: role in %s: %w", id, err)
	}
	return p, effectiveRole(c, Role(member)), nil
}

// effectiveRole is the caller's role in a project of its tenant: its member
// role; else owner for the tenant's admins and viewer for everyone else of
// the tenant (the tenant owns the project); capped at viewer for a
// read-only key.
func effectiveRole(c Caller, member Role) Role {
	r := member
	if c.Admin && r.rank() < RoleOwner.rank() {
		r = RoleOwner
	}
	if r.rank() == 0 {
		r = RoleViewer
	}
	if c.ReadOnly {
		r = RoleViewer
	}
	return r
}

// List returns the projects of the caller's tenant, newest first: the
// tenant owns them all, so every principal of the tenant sees them (as a
// viewer at least).
func (s *Store) List(ctx context.Context, c Caller) ([]Project, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+projectCols+` FROM collab_projects
		WHERE tenant = $1 ORDER BY created_at DESC, id`, c.Tenant)
	if err != nil {
		return nil, fmt.Errorf("projects: list: %w", err)
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("projects: list: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: list: %w", err)
	}
	return out, nil
}

// SetMember gives subject role in a project of the caller's tenant; only
// the project's owners may.
func (s *Store) SetMember(ctx context.Context, c Caller, id, subject string, role Role) error {
	if subject == "" || len(subject) > 200 {
		return fmt.Errorf("%w: subject must be 1-200 bytes", ErrInvalidArgument)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, mine, err := s.get(ctx, tx, c, id)
		if err != nil {
			return err
		}
		if mine != RoleOwner {
			return fmt.Errorf("%w: only an owner can change members (you are %s)", ErrPermission, mine)
		}
		res, err := tx.ExecContext(ctx, `UPDATE collab_members SET role = $3 WHERE project_id = $1 AND subject = $2`,
			id, subject, string(role))
		if err != nil {
			return fmt.Errorf("projects: set member: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO collab_members (project_id, subject, role, added_at)
			VALUES ($1, $2, $3, $4)`, id, subject, string(role), s.now().UnixNano()); err != nil {
			return fmt.Errorf("projects: set member: %w", err)
		}
		return nil
	})
}

// Append sequences op, made by a caller that had seen the project's log up
// to base, and stores it: it returns the stored operation. The caller must
// be able to edit; the op is transformed and validated by doc.Sequence, and
// its errors are returned as they are (doc.ErrInvalid and others).
func (s *Store) Append(ctx context.Context, c Caller, id string, base int64, op doc.Op) (Operation, error) {
	var out Operation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The write lock first: appenders to this project wait here.
		var seq int64
		err := tx.QueryRowContext(ctx, `UPDATE collab_projects SET last_seq = last_seq + 1
			WHERE tenant = $1 AND id = $2 RETURNING last_seq`, c.Tenant, id).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("projects: append: %w", err)
		}
		_, role, err := s.get(ctx, tx, c, id)
		if err != nil {
			return err
		}
		if !role.CanEdit() {
			return fmt.Errorf("%w: a %s cannot edit the project", ErrPermission, role)
		}
		log, err := readLog(ctx, tx, id, seq-1)
		if err != nil {
			return err
		}
		seqd, _, err := doc.Sequence(log, base, op)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(seqd)
		if err != nil {
			return fmt.Errorf("projects: append: %w", err)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO collab_ops (project_id, seq, author, created_at, payload_json)
			VALUES ($1, $2, $3, $4, $5)`, id, seq, c.Subject, now.UnixNano(), string(payload)); err != nil {
			return fmt.Errorf("projects: append: %w", err)
		}
		out = Operation{ProjectID: id, Seq: seq, Author: c.Subject, CreatedAt: now.UTC(), Op: seqd, PayloadJSON: string(payload)}
		return nil
	})
	return out, err
}

// readLog reads the ops of project id with sequence 1..upTo, in order.
func readLog(ctx context.Context, tx *sql.Tx, id string, upTo int64) ([]doc.Op, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, payload_json FROM collab_ops
		WHERE project_id = $1 AND seq <= $2 ORDER BY seq`, id, upTo)
	if err != nil {
		return nil, fmt.Errorf("projects: read log: %w", err)
	}
	defer rows.Close()
	log := make([]doc.Op, 0, upTo)
	for rows.Next() {
		var seq int64
		var payload string
		if err := rows.Scan(&seq, &payload); err != nil {
			return nil, fmt.Errorf("projects: read log: %w", err)
		}
		if seq != int64(len(log))+1 {
			return nil, fmt.Errorf("projects: read log: op %d missing in project %s", len(log)+1, id)
		}
		op, err := doc.ParseOp([]byte(payload))
		if err != nil {
			return nil, fmt.Errorf("projects: read log: op %d: %w", seq, err)
		}
		log = append(log, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: read log: %w", err)
	}
	if int64(len(log)) != upTo {
		return nil, fmt.Errorf("projects: read log: project %s has %d ops, want %d", id, len(log), upTo)
	}
	return log, nil
}

// Ops returns up to limit operations of project id with sequence after
// `after`, in order. It does not check the caller: callers check access
// with Get first.
func (s *Store) Ops(ctx context.Context, id string, after int64, limit int) ([]Operation, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT seq, author, created_at, payload_json FROM collab_ops
		WHERE project_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("projects: ops: %w", err)
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		o := Operation{ProjectID: id}
		var created int64
		if err := rows.Scan(&o.Seq, &o.Author, &created, &o.PayloadJSON); err != nil {
			return nil, fmt.Errorf("projects: ops: %w", err)
		}
		o.CreatedAt = time.Unix(0, created).UTC()
		if o.Op, err = doc.ParseOp([]byte(o.PayloadJSON)); err != nil {
			return nil, fmt.Errorf("projects: ops: %d: %w", o.Seq, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
