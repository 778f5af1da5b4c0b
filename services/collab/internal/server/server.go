// Package server maps the CollabService RPCs onto the collab domain: the
// unary project RPCs onto the projects store, and the Session stream onto
// the operation log, with every accepted operation fanned out over NATS to
// the sessions of every replica.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/services/collab/internal/doc"
	"github.com/clipmesh/clipmesh/services/collab/internal/projects"
)

// SubjectPrefix is the NATS subject prefix of accepted operations: each is
// published as a collabv1.Operation on SubjectPrefix + <project id>.
const SubjectPrefix = "clipmesh.collab.v1.ops."

// Server implements CollabService.
type Server struct {
	collabv1.UnimplementedCollabServiceServer

	Projects *projects.Store
	NC       *nats.Conn
	Logger   *slog.Logger

	mu       sync.Mutex
	sessions map[string]map[*session]struct{}     // by project id
	presence map[string]map[string]*presenceEntry // by project id, session id
}

// Register adds the service to g.
func (s *Server) Register(g grpc.ServiceRegistrar) { collabv1.RegisterCollabServiceServer(g, s) }

// Listen subscribes to every project's operations on NATS and delivers them
// to this replica's sessions until stop is called.
func (s *Server) Listen() (stop func(), err error) {
	sub, err := s.NC.Subscribe(SubjectPrefix+"*", func(m *nats.Msg) {
		var op collabv1.Operation
		if err := proto.Unmarshal(m.Data, &op); err != nil {
			s.Logger.Warn("collab: malformed operation on NATS", "subject", m.Subject, "err", err)
			return
		}
		s.deliver(&op)
	})
	if err != nil {
		return nil, err
	}
	stopPresence, err := s.listenPresence()
	if err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	// The subscriptions are live on the server before Listen returns.
	if err := s.NC.Flush(); err != nil {
		_ = sub.Unsubscribe()
		stopPresence()
		return nil, err
	}
	return func() { _ = sub.Unsubscribe(); stopPresence() }, nil
}

// publish sends op to every replica, this one included. The log in SQL is
// the truth: a lost message only delays delivery until the next operation
// of the project, whose sequence number reveals the gap.
func (s *Server) publish(ctx context.Context, op *collabv1.Operation) {
	s.deliver(op) // at once to this replica's sessions; the NATS copy is then a duplicate they drop
	data, err := proto.Marshal(op)
	if err == nil {
		err = s.NC.Publish(SubjectPrefix+op.GetProjectId(), data)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "collab: publish operation", "project_id", op.GetProjectId(), "sequence", op.GetSequence(), "err", err)
	}
}

// deliver hands op to this replica's sessions of its project.
func (s *Server) deliver(op *collabv1.Operation) {
	resp := opResponse(op) // once, shared by every session
	shared, sharing := sharingOf(op)
	var moved []*collabv1.PresenceChanged
	s.mu.Lock()
	for sess := range s.sessions[op.GetProjectId()] {
		sess.pushOp(op, resp)
		if sharing && sess.caller.Subject == shared.Subject && sess.presence != nil {
			member := projects.Role(shared.Role) // "" after remove_member
			role := string(projects.EffectiveRole(sess.caller, member))
			if role != sess.presence.GetRole() {
				p := proto.Clone(sess.presence).(*collabv1.PresenceChanged)
				p.Role = role
				sess.presence = p
				moved = append(moved, p)
			}
		}
	}
	s.mu.Unlock()
	for _, p := range moved { // a role change shows in presence at once
		s.sendPresence(p)
	}
}

// sharingOf returns the set_role or remove_member op in op, if it is one.
func sharingOf(op *collabv1.Operation) (doc.Op, bool) {
	pj := op.GetPayloadJson()
	if !strings.Contains(pj, `"type":"`+doc.TypeSetRole+`"`) && !strings.Contains(pj, `"type":"`+doc.TypeRemoveMember+`"`) {
		return doc.Op{}, false
	}
	o, err := doc.ParseOp([]byte(pj))
	if err != nil || !o.IsSharing() {
		return doc.Op{}, false
	}
	return o, true
}

func (s *Server) addSession(project string, sess *session, wantsPresence bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.wantsPresence = wantsPresence
	if s.sessions == nil {
		s.sessions = map[string]map[*session]struct{}{}
	}
	if s.sessions[project] == nil {
		s.sessions[project] = map[*session]struct{}{}
	}
	s.sessions[project][sess] = struct{}{}
}

func (s *Server) removeSession(project string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions[project], sess)
	if len(s.sessions[project]) == 0 {
		delete(s.sessions, project)
	}
}

// toStatus maps domain errors to gRPC codes; unknown errors are logged and
// returned as a bare "internal error".
func (s *Server) toStatus(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, projects.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, projects.ErrInvalidArgument):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, projects.ErrPermission):
		return status.Error(codes.PermissionDenied, err.Error())
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

// caller is the authenticated principal of ctx.
func caller(ctx context.Context) (projects.Caller, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return projects.Caller{}, status.Error(codes.Unauthenticated, "no caller identity")
	}
	return projects.Caller{
		Tenant: p.Tenant, Subject: p.Subject,
		Admin: p.Role == auth.RoleAdmin, ReadOnly: p.Role == auth.RoleViewer,
	}, nil
}

func toProto(p projects.Project) *collabv1.Project {
	return &collabv1.Project{Id: p.ID, Name: p.Name, CreateTime: timestamppb.New(p.CreatedAt)}
}

func validProjectID(id string) error {
	if !strings.HasPrefix(id, "prj_") || len(id) > 64 {
		return status.Error(codes.InvalidArgument, "project_id must be a project id (prj_…)")
	}
	return nil
}

// CreateProject creates a project owned by the caller.
func (s *Server) CreateProject(ctx context.Context, req *collabv1.CreateProjectRequest) (*collabv1.CreateProjectResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.Projects.Create(ctx, c, req.GetName())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &collabv1.CreateProjectResponse{Project: toProto(p)}, nil
}

// GetProject returns a project of the caller's tenant.
func (s *Server) GetProject(ctx context.Context, req *collabv1.GetProjectRequest) (*collabv1.GetProjectResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validProjectID(req.GetProjectId()); err != nil {
		return nil, err
	}
	p, _, err := s.Projects.Get(ctx, c, req.GetProjectId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &collabv1.GetProjectResponse{Project: toProto(p)}, nil
}

// ListProjects lists the projects of the caller's tenant.
func (s *Server) ListProjects(ctx context.Context, _ *collabv1.ListProjectsRequest) (*collabv1.ListProjectsResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.Projects.List(ctx, c)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out := &collabv1.ListProjectsResponse{}
	for _, p := range ps {
		out.Projects = append(out.Projects, toProto(p))
	}
	return out, nil
}

// ListOperations lists a project's history, newest first.
func (s *Server) ListOperations(ctx context.Context, req *collabv1.ListOperationsRequest) (*collabv1.ListOperationsResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validProjectID(req.GetProjectId()); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultHistory
	}
	if size < 0 || size > maxHistory || req.GetBeforeSequence() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "page_size must be 1-%d and before_sequence >= 0", maxHistory)
	}
	if _, _, err := s.Projects.Get(ctx, c, req.GetProjectId()); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	ops, err := s.Projects.History(ctx, req.GetProjectId(), req.GetBeforeSequence(), size, req.GetAuthor(), req.GetClipId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out := &collabv1.ListOperationsResponse{}
	for _, o := range ops {
		out.Operations = append(out.Operations, operationProto(o))
	}
	if len(ops) == size {
		out.NextBeforeSequence = ops[len(ops)-1].Seq
	}
	return out, nil
}

// GetDocument returns a project's document at a version.
func (s *Server) GetDocument(ctx context.Context, req *collabv1.GetDocumentRequest) (*collabv1.GetDocumentResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validProjectID(req.GetProjectId()); err != nil {
		return nil, err
	}
	p, _, err := s.Projects.Get(ctx, c, req.GetProjectId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	at := req.GetSequence()
	if at == 0 {
		at = p.LastSeq
	}
	if at < 0 || at > p.LastSeq {
		return nil, status.Errorf(codes.InvalidArgument, "sequence %d is not one of the project's (it is at %d)", at, p.LastSeq)
	}
	d, err := s.Projects.Document(ctx, p.ID, at)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &collabv1.GetDocumentResponse{Sequence: at, DocumentJson: string(b)}, nil
}
