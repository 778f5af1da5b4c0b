// Package nlp is the nlp service: sentiment, emotions, topics, keywords,
// hooks and chapters of what is said. It runs alone (cmd/nlp) or inside the
// all-in-one clipmesh binary.
package nlp

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"google.golang.org/grpc"

	"github.com/clipmesh/clipmesh/platform/app"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/nlp/internal/analyze"
	"github.com/clipmesh/clipmesh/services/nlp/internal/server"
	"github.com/clipmesh/clipmesh/services/nlp/internal/topics"
	"github.com/clipmesh/clipmesh/services/nlp/internal/transformer"
)

// Service is the nlp service.
type Service struct {
	srv *server.Server
}

// New builds the service: sentiment lexicons from the models cache
// (CLIPMESH_MODELS_DIR or the default cache), WordNet from
// CLIPMESH_NLP_WORDNET_DIR (default /usr/share/wordnet, opened on the first
// request with labels; missing, caller labels are matched by their own
// words, flagged in the result), limits from
// CLIPMESH_NLP_MAX_* (LimitsFromEnv), and an optional transformer
// embedding model for caller labels (CLIPMESH_NLP_EMBEDDING_*).
func New(ctx context.Context, env *app.Env) (*Service, error) {
	dir, err := models.Dir("")
	if err != nil {
		return nil, fmt.Errorf("nlp: %w", err)
	}
	limits, err := LimitsFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("nlp: %w", err)
	}
	// WordNet is opened on the first request with labels.
	an, err := analyze.New(dir, topics.LazyExpander(os.Getenv("CLIPMESH_NLP_WORDNET_DIR")))
	if err != nil {
		return nil, fmt.Errorf("nlp: %w", err)
	}
	if an.SentimentErr != nil {
		env.Logger.WarnContext(ctx, "nlp: sentiment lexicons missing, their languages are unsupported", "err", an.SentimentErr)
	}
	an.Limits = limits
	if an.Embedder, err = embedderFromEnv(dir, os.Getenv, ort.Options{Logger: env.Logger}); err != nil {
		return nil, fmt.Errorf("nlp: %w", err)
	}
	return &Service{srv: &server.Server{Analyzer: an, Version: app.Version, Logger: env.Logger}}, nil
}

// embedderFromEnv opens the transformer embedding model named by
// CLIPMESH_NLP_EMBEDDING_MODEL and CLIPMESH_NLP_EMBEDDING_VOCAB (with
// CLIPMESH_NLP_EMBEDDING_OUTPUT, default last_hidden_state, and
// CLIPMESH_NLP_EMBEDDING_TOKEN_TYPES, the token type input if the model has
// one), on the ONNX Runtime of the models cache; nil when no model is set.
func embedderFromEnv(dir string, getenv func(string) string, opts ort.Options) (analyze.Embedder, error) {
	model := getenv("CLIPMESH_NLP_EMBEDDING_MODEL")
	if model == "" {
		return nil, nil
	}
	if err := ort.InitFromModels(dir); err != nil {
		return nil, err
	}
	out := getenv("CLIPMESH_NLP_EMBEDDING_OUTPUT")
	if out == "" {
		out = "last_hidden_state"
	}
	return transformer.NewEmbedder(transformer.Config{Model: model, Vocab: getenv("CLIPMESH_NLP_EMBEDDING_VOCAB"),
		Output: out, TokenTypeIDs: getenv("CLIPMESH_NLP_EMBEDDING_TOKEN_TYPES"), Options: opts})
}

// LimitsFromEnv reads CLIPMESH_NLP_MAX_TEXT_BYTES, CLIPMESH_NLP_MAX_SEGMENTS,
// CLIPMESH_NLP_MAX_LABELS and CLIPMESH_NLP_MAX_LABEL_CHARS through getenv
// over analyze.DefaultLimits (0 disables one).
func LimitsFromEnv(getenv func(string) string) (analyze.Limits, error) {
	l := analyze.DefaultLimits
	for _, v := range []struct {
		name string
		dst  *int
	}{
		{"CLIPMESH_NLP_MAX_TEXT_BYTES", &l.MaxTextBytes},
		{"CLIPMESH_NLP_MAX_SEGMENTS", &l.MaxSegments},
		{"CLIPMESH_NLP_MAX_LABELS", &l.MaxLabels},
		{"CLIPMESH_NLP_MAX_LABEL_CHARS", &l.MaxLabelRunes},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return l, fmt.Errorf("%s=%q is not a non-negative integer", v.name, s)
		}
		*v.dst = n
	}
	return l, nil
}

// Name implements server.Service.
func (s *Service) Name() string { return "nlp" }

// Register implements server.Service.
func (s *Service) Register(g *grpc.Server) { s.srv.Register(g) }

// Ready implements server.Readier: it fails, naming `clipmesh models
// fetch`, while a sentiment lexicon is missing.
func (s *Service) Ready(ctx context.Context) error { return s.srv.Ready(ctx) }
