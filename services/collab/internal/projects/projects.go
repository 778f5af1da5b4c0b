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
	"math"
	"sync"
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

	cacheMu sync.Mutex
	cache   map[string]*cached // by project id
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
	return p, EffectiveRole(c, Role(member)), nil
}

// EffectiveRole is the caller's role in a project of its tenant: its member
// role (empty: none); else owner for the tenant's admins and viewer for
// everyone else of the tenant (the tenant owns the project); capped at
// viewer for a read-only key.
func EffectiveRole(c Caller, member Role) Role {
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
// the project's owners may. It is a set_role operation in the log, like
// sharing from a session.
func (s *Store) SetMember(ctx context.Context, c Caller, id, subject string, role Role) error {
	_, err := s.Append(ctx, c, id, 0, doc.Op{Type: doc.TypeSetRole, Subject: subject, Role: string(role)})
	return err
}

// maxCached is how many projects' logs a replica keeps in memory.
const maxCached = 256

// cached is a project's log in memory, up to some sequence. mu is held by
// the one append (or read) using it.
type cached struct {
	mu  sync.Mutex
	log *doc.Log
}

// cacheFor returns the cache entry of project id, creating it.
func (s *Store) cacheFor(id string) *cached {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*cached{}
	}
	c, ok := s.cache[id]
	if !ok {
		if len(s.cache) >= maxCached {
			for k := range s.cache { // evict one at random
				delete(s.cache, k)
				break
			}
		}
		c = &cached{}
		s.cache[id] = c
	}
	return c
}

// forget drops project id's cached log, after a failed append left it
// ahead of the store.
func (s *Store) forget(id string, c *cached) {
	c.log = nil
	s.cacheMu.Lock()
	if s.cache[id] == c {
		delete(s.cache, id)
	}
	s.cacheMu.Unlock()
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// catchUp brings c's log to sequence upTo, reading what it lacks from q.
// The caller holds c.mu.
func (s *Store) catchUp(ctx context.Context, q queryer, c *cached, id string, upTo int64) error {
	if c.log == nil || c.log.Len() > upTo {
		c.log = doc.NewLog()
	}
	for c.log.Len() < upTo {
		n, err := s.readInto(ctx, q, c.log, id, upTo)
		if err != nil {
			c.log = nil
			return err
		}
		if n == 0 {
			c.log = nil
			return fmt.Errorf("projects: read log: project %s ends before %d", id, upTo)
		}
	}
	return nil
}

// readInto pushes the next page of project id's ops, up to upTo, onto l.
func (s *Store) readInto(ctx context.Context, q queryer, l *doc.Log, id string, upTo int64) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, author, payload_json FROM collab_ops
		WHERE project_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT 1000`, id, l.Len(), upTo)
	if err != nil {
		return 0, fmt.Errorf("projects: read log: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq int64
		var author, payload string
		if err := rows.Scan(&seq, &author, &payload); err != nil {
			return n, fmt.Errorf("projects: read log: %w", err)
		}
		if seq != l.Len()+1 {
			return n, fmt.Errorf("projects: read log: op %d missing in project %s", l.Len()+1, id)
		}
		op, err := doc.ParseOp([]byte(payload))
		if err == nil {
			err = l.Push(op, author)
		}
		if err != nil {
			return n, fmt.Errorf("projects: read log: op %d: %w", seq, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("projects: read log: %w", err)
	}
	return n, nil
}

// authorize checks that role may append op, by caller, to the document
// head.
func authorize(role Role, c Caller, head *doc.Document, op doc.Op) error {
	switch {
	case op.IsDocumentEdit():
		if !role.CanEdit() {
			return fmt.Errorf("%w: a %s cannot edit the project", ErrPermission, role)
		}
	case op.IsComment():
		if role.rank() < RoleCommenter.rank() {
			return fmt.Errorf("%w: a %s cannot comment", ErrPermission, role)
		}
		if op.Type == doc.TypeEditComment || op.Type == doc.TypeDeleteComment {
			cm, ok := head.Comment(op.CommentID)
			if !ok {
				return fmt.Errorf("%w: %q", doc.ErrUnknownComment, op.CommentID)
			}
			if cm.Author != c.Subject {
				if op.Type == doc.TypeEditComment {
					return fmt.Errorf("%w: only its author can edit comment %q", ErrPermission, op.CommentID)
				}
				if role != RoleOwner {
					return fmt.Errorf("%w: only its author or an owner can delete comment %q", ErrPermission, op.CommentID)
				}
			}
		}
	case op.IsSharing():
		if role != RoleOwner {
			return fmt.Errorf("%w: only an owner can share the project or change roles (you are %s)", ErrPermission, role)
		}
	default:
		return fmt.Errorf("%w: unknown operation %q", doc.ErrInvalid, op.Type)
	}
	return nil
}

// share applies a set_role or remove_member op to the members table,
// refusing to leave the project without an owner.
func (s *Store) share(ctx context.Context, tx *sql.Tx, id string, op doc.Op) error {
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT role FROM collab_members WHERE project_id = $1 AND subject = $2`, id, op.Subject).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("projects: share: %w", err)
	}
	exists := err == nil
	if cur == string(RoleOwner) && op.Role != string(RoleOwner) {
		var owners int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM collab_members WHERE project_id = $1 AND role = $2`,
			id, string(RoleOwner)).Scan(&owners); err != nil {
			return fmt.Errorf("projects: share: %w", err)
		}
		if owners <= 1 {
			return fmt.Errorf("%w: %s is the project's last owner; make someone else owner first", ErrInvalidArgument, op.Subject)
		}
	}
	switch {
	case op.Type == doc.TypeRemoveMember:
		_, err = tx.ExecContext(ctx, `DELETE FROM collab_members WHERE project_id = $1 AND subject = $2`, id, op.Subject)
	case exists:
		_, err = tx.ExecContext(ctx, `UPDATE collab_members SET role = $3 WHERE project_id = $1 AND subject = $2`, id, op.Subject, op.Role)
	default:
		_, err = tx.ExecContext(ctx, `INSERT INTO collab_members (project_id, subject, role, added_at)
			VALUES ($1, $2, $3, $4)`, id, op.Subject, op.Role, s.now().UnixNano())
	}
	if err != nil {
		return fmt.Errorf("projects: share: %w", err)
	}
	return nil
}

// Append sequences op, made by a caller that had seen the project's log up
// to base, and stores it: it returns the stored operation. The caller's
// role is checked for the kind of op (edits: editor; comments: commenter,
// and only the author edits a comment; sharing: owner); the op is
// transformed and validated by doc.Log.Sequence, and its errors are
// returned as they are (doc.ErrInvalid and others).
//
// The project's log is kept in memory between appends; each append reads
// only the operations other replicas added since.
func (s *Store) Append(ctx context.Context, c Caller, id string, base int64, op doc.Op) (Operation, error) {
	var out Operation
	cache := s.cacheFor(id)
	cache.mu.Lock()
	defer cache.mu.Unlock()
	appended := false
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
		// The project exists in the caller's tenant (the UPDATE found it);
		// only the member role is left to read.
		var member string
		err = tx.QueryRowContext(ctx, `SELECT role FROM collab_members WHERE project_id = $1 AND subject = $2`,
			id, c.Subject).Scan(&member)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("projects: role in %s: %w", id, err)
		}
		role := EffectiveRole(c, Role(member))
		if err := s.catchUp(ctx, tx, cache, id, seq-1); err != nil {
			return err
		}
		if err := authorize(role, c, cache.log.Head(), op); err != nil {
			return err
		}
		seqd, err := cache.log.Sequence(base, c.Subject, op)
		if err != nil {
			return err
		}
		appended = true
		if seqd.IsSharing() {
			if err := s.share(ctx, tx, id, seqd); err != nil {
				return err
			}
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
	if err != nil && appended {
		s.forget(id, cache) // the log holds an op the store does not
	}
	return out, err
}

// Document returns a copy of project id's document at sequence upTo, which
// the caller has seen committed (a joined response's sequence). It does
// not check the caller: callers check access with Get first.
func (s *Store) Document(ctx context.Context, id string, upTo int64) (*doc.Document, error) {
	cache := s.cacheFor(id)
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.log == nil || cache.log.Len() < upTo {
		if cache.log == nil {
			cache.log = doc.NewLog()
		}
		for cache.log.Len() < upTo {
			n, err := s.readInto(ctx, s.DB, cache.log, id, upTo)
			if err != nil || n == 0 {
				cache.log = nil
				if err == nil {
					err = fmt.Errorf("projects: document: project %s ends before %d", id, upTo)
				}
				return nil, err
			}
		}
	}
	return cache.log.At(upTo)
}

// History returns up to limit operations of project id before sequence
// `before` (0: from the newest), newest first: only author's when author is
// set, and only those about clip when clip is set. It does not check the
// caller.
func (s *Store) History(ctx context.Context, id string, before int64, limit int, author, clip string) ([]Operation, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	var out []Operation
	for len(out) < limit {
		var rows *sql.Rows
		var err error
		if author != "" {
			rows, err = s.DB.QueryContext(ctx, `SELECT seq, author, created_at, payload_json FROM collab_ops
				WHERE project_id = $1 AND author = $2 AND seq < $3 ORDER BY seq DESC LIMIT 500`, id, author, before)
		} else {
			rows, err = s.DB.QueryContext(ctx, `SELECT seq, author, created_at, payload_json FROM collab_ops
				WHERE project_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 500`, id, before)
		}
		if err != nil {
			return nil, fmt.Errorf("projects: history: %w", err)
		}
		page, n, last, err := scanOps(rows, id, func(o Operation) bool { return clip == "" || o.Op.Touches(clip) })
		if err != nil {
			return nil, fmt.Errorf("projects: history: %w", err)
		}
		for _, o := range page {
			if len(out) < limit {
				out = append(out, o)
			}
		}
		if n < 500 {
			break
		}
		before = last
	}
	return out, nil
}

// scanOps reads rows of (seq, author, created_at, payload_json) and keeps
// those keep accepts; n counts every row and last is the last row's
// sequence. It closes rows.
func scanOps(rows *sql.Rows, id string, keep func(Operation) bool) (out []Operation, n int, last int64, err error) {
	defer rows.Close()
	for rows.Next() {
		n++
		o := Operation{ProjectID: id}
		var created int64
		if err := rows.Scan(&o.Seq, &o.Author, &created, &o.PayloadJSON); err != nil {
			return nil, n, last, err
		}
		last = o.Seq
		o.CreatedAt = time.Unix(0, created).UTC()
		if o.Op, err = doc.ParseOp([]byte(o.PayloadJSON)); err != nil {
			return nil, n, last, fmt.Errorf("op %d: %w", o.Seq, err)
		}
		if keep(o) {
			out = append(out, o)
		}
	}
	return out, n, last, rows.Err()
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
