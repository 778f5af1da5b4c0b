package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	collabv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/collab/v1"
)

// Presence travels on core NATS, not in the log: it matters only to whoever
// is online now.
const (
	// PresencePrefix is the NATS subject prefix of presence: each change is
	// a collabv1.PresenceChanged on PresencePrefix + <project id>.
	PresencePrefix = "clipmesh.collab.v1.presence."
	// presenceEvery is how often a replica repeats its sessions' presence;
	// presenceTTL how long one not repeated stays (a replica that died).
	presenceEvery = 5 * time.Second
	presenceTTL   = 3 * presenceEvery
)

// timeFormat is how times are written in payloads.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

var presenceClipRe = regexp.MustCompile(`^[A-Za-z0-9_-]{0,64}$`)

// presenceEntry is one session's presence as this replica last heard it.
type presenceEntry struct {
	p    *collabv1.PresenceChanged
	seen time.Time
}

// presenceJSON is one session in a presence response.
type presenceJSON struct {
	SessionID  string `json:"session_id"`
	User       string `json:"user"`
	Role       string `json:"role"`
	ClipID     string `json:"clip_id,omitempty"`
	TimeMs     int64  `json:"time_ms"`
	UpdateTime string `json:"update_time"`
}

// presencePayload is the payload_json of a presence response: the full
// list right after joined (full), then changes.
type presencePayload struct {
	ProjectID string         `json:"project_id"`
	Full      bool           `json:"full,omitempty"`
	Online    []presenceJSON `json:"online"`
	Left      []string       `json:"left,omitempty"`
}

func toPresenceJSON(p *collabv1.PresenceChanged) presenceJSON {
	return presenceJSON{SessionID: p.GetSessionId(), User: p.GetSubject(), Role: p.GetRole(),
		ClipID: p.GetClipId(), TimeMs: p.GetTimeMs(), UpdateTime: p.GetUpdateTime().AsTime().Format(timeFormat)}
}

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ses_" + hex.EncodeToString(b[:])
}

// listenPresence subscribes to every project's presence and repeats this
// replica's own until stop.
func (s *Server) listenPresence() (stop func(), err error) {
	sub, err := s.NC.Subscribe(PresencePrefix+"*", func(m *nats.Msg) {
		var p collabv1.PresenceChanged
		if err := proto.Unmarshal(m.Data, &p); err != nil {
			s.Logger.Warn("collab: malformed presence on NATS", "subject", m.Subject, "err", err)
			return
		}
		s.onPresence(&p)
	})
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(presenceEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.repeatPresence()
			}
		}
	}()
	return func() {
		_ = sub.Unsubscribe()
		close(done)
		<-finished
	}, nil
}

// repeatPresence republishes this replica's sessions' presence and forgets
// the presence nobody has repeated within presenceTTL.
func (s *Server) repeatPresence() {
	now := time.Now()
	var mine []*collabv1.PresenceChanged
	var expired []*collabv1.PresenceChanged
	s.mu.Lock()
	for _, set := range s.sessions {
		for sess := range set {
			if sess.presence != nil {
				mine = append(mine, sess.presence)
			}
		}
	}
	for _, m := range s.presence {
		for _, e := range m {
			if now.Sub(e.seen) > presenceTTL {
				expired = append(expired, &collabv1.PresenceChanged{ProjectId: e.p.GetProjectId(), SessionId: e.p.GetSessionId(), Left: true})
			}
		}
	}
	s.mu.Unlock()
	for _, p := range mine {
		s.sendPresence(p)
	}
	for _, p := range expired {
		s.onPresence(p)
	}
}

// sendPresence publishes p to every replica, this one included (through
// NATS: presence is not latency-critical).
func (s *Server) sendPresence(p *collabv1.PresenceChanged) {
	data, err := proto.Marshal(p)
	if err == nil {
		err = s.NC.Publish(PresencePrefix+p.GetProjectId(), data)
	}
	if err != nil {
		s.Logger.Warn("collab: publish presence", "project_id", p.GetProjectId(), "err", err)
	}
}

// onPresence records p and tells this replica's sessions of its project
// when something changed.
func (s *Server) onPresence(p *collabv1.PresenceChanged) {
	project, id := p.GetProjectId(), p.GetSessionId()
	s.mu.Lock()
	if s.presence == nil {
		s.presence = map[string]map[string]*presenceEntry{}
	}
	m := s.presence[project]
	prev := m[id]
	switch {
	case p.GetLeft():
		if prev == nil {
			s.mu.Unlock()
			return
		}
		delete(m, id)
		if len(m) == 0 {
			delete(s.presence, project)
		}
	default:
		if m == nil {
			m = map[string]*presenceEntry{}
			s.presence[project] = m
		}
		m[id] = &presenceEntry{p: p, seen: time.Now()}
		if prev != nil && prev.p.GetClipId() == p.GetClipId() && prev.p.GetTimeMs() == p.GetTimeMs() && prev.p.GetRole() == p.GetRole() {
			s.mu.Unlock()
			return // a repeat
		}
	}
	var to []*session
	for sess := range s.sessions[project] {
		if sess.wantsPresence { // the others' senders would drop it
			to = append(to, sess)
		}
	}
	s.mu.Unlock()
	pl := presencePayload{ProjectID: project, Online: []presenceJSON{}}
	if p.GetLeft() {
		pl.Left = []string{id}
	} else {
		pl.Online = append(pl.Online, toPresenceJSON(p))
	}
	b, _ := json.Marshal(pl)
	resp := &collabv1.SessionResponse{Kind: KindPresence, PayloadJson: string(b)}
	for _, sess := range to {
		sess.push(item{presResp: resp, presProj: project})
	}
}

// presenceList is the presence response with everyone online in project,
// self included even before its own announcement has come back from NATS.
func (s *Server) presenceList(project string, self *session) *collabv1.SessionResponse {
	pl := presencePayload{ProjectID: project, Full: true, Online: []presenceJSON{}}
	s.mu.Lock()
	if p := self.presence; p != nil && p.GetProjectId() == project && s.presence[project][p.GetSessionId()] == nil {
		pl.Online = append(pl.Online, toPresenceJSON(p))
	}
	for _, e := range s.presence[project] {
		pl.Online = append(pl.Online, toPresenceJSON(e.p))
	}
	s.mu.Unlock()
	b, _ := json.Marshal(pl)
	return &collabv1.SessionResponse{Kind: KindPresence, PayloadJson: string(b)}
}

// joinPresence announces a session that joined its project.
func (s *Server) joinPresence(_ context.Context, ss *session) {
	p := &collabv1.PresenceChanged{ProjectId: ss.project, SessionId: ss.id, Subject: ss.caller.Subject,
		Role: ss.role, UpdateTime: timestamppb.Now()}
	s.mu.Lock()
	ss.presence = p
	s.mu.Unlock()
	s.sendPresence(p)
}

// leavePresence announces that a session left its project.
func (s *Server) leavePresence(_ context.Context, ss *session) {
	s.mu.Lock()
	p := ss.presence
	ss.presence = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	s.sendPresence(&collabv1.PresenceChanged{ProjectId: p.GetProjectId(), SessionId: p.GetSessionId(), Left: true,
		UpdateTime: timestamppb.Now()})
}

// presenceRequest is the payload_json of presence.
type presenceRequest struct {
	ClipID string `json:"clip_id"`
	TimeMs int64  `json:"time_ms"`
}

// setPresence records what the session looks at.
func (ss *session) setPresence(_ context.Context, req *collabv1.SessionRequest) {
	if ss.project == "" {
		ss.fail(ActionPresence, CodeNotJoined, "", "not joined to a project: send join_project first")
		return
	}
	var pr presenceRequest
	if pj := req.GetPayloadJson(); pj != "" {
		if err := strictJSON(pj, &pr); err != nil {
			ss.fail(ActionPresence, CodeInvalid, "", "malformed payload_json: "+err.Error())
			return
		}
	}
	if !presenceClipRe.MatchString(pr.ClipID) || pr.TimeMs < 0 {
		ss.fail(ActionPresence, CodeInvalid, "", fmt.Sprintf("presence needs a clip_id of A-Z, a-z, 0-9, '_', '-' (or none) and time_ms >= 0, not %q and %d", pr.ClipID, pr.TimeMs))
		return
	}
	s := ss.srv
	s.mu.Lock()
	if ss.presence == nil {
		s.mu.Unlock()
		return
	}
	p := proto.Clone(ss.presence).(*collabv1.PresenceChanged)
	p.ClipId, p.TimeMs, p.UpdateTime = pr.ClipID, pr.TimeMs, timestamppb.Now()
	ss.presence = p
	s.mu.Unlock()
	s.sendPresence(p)
}
