// Package server maps clipmesh.nlp.v1.NlpService onto package analyze:
// proto ↔ domain conversion and one error-mapping function.
package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	"github.com/clipmesh/clipmesh/services/nlp/internal/analyze"
	"github.com/clipmesh/clipmesh/services/nlp/internal/emotion"
	"github.com/clipmesh/clipmesh/services/nlp/internal/keywords"
	"github.com/clipmesh/clipmesh/services/nlp/internal/sentiment"
)

// Engine is the Producer.engine of every response.
const Engine = "clipmesh-nlp"

// Server implements NlpService.
type Server struct {
	nlpv1.UnimplementedNlpServiceServer

	Analyzer *analyze.Analyzer
	// Version is the service's build version, reported in producers.
	Version string
	Logger  *slog.Logger
}

// Register adds NlpService to g.
func (s *Server) Register(g grpc.ServiceRegistrar) { nlpv1.RegisterNlpServiceServer(g, s) }

// Ready fails while a sentiment lexicon is missing from the models cache
// (its message names `clipmesh models fetch`); the service still answers
// then, marking that language unsupported.
func (s *Server) Ready(context.Context) error { return s.Analyzer.SentimentErr }

// AnalyzeText implements NlpService.AnalyzeText.
func (s *Server) AnalyzeText(ctx context.Context, req *nlpv1.AnalyzeTextRequest) (*nlpv1.AnalyzeTextResponse, error) {
	dr := analyze.Request{Text: req.GetText(), Language: req.GetLanguage(), Labels: req.GetLabels(), MaxKeywords: int(req.GetMaxKeywords())}
	for _, sg := range req.GetSegments() {
		dr.Segments = append(dr.Segments, analyze.Segment{Text: sg.GetText(), Start: sg.GetRange().GetStartSeconds(),
			End: sg.GetRange().GetEndSeconds(), Timed: sg.GetRange() != nil})
	}
	res, err := s.Analyzer.Analyze(ctx, dr)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return s.response(res), nil
}

func (s *Server) response(r *analyze.Result) *nlpv1.AnalyzeTextResponse {
	out := &nlpv1.AnalyzeTextResponse{
		Producer:  &commonv1.Producer{Engine: Engine, Version: s.Version, Model: "lexicons: VADER, AFINN-165, clipmesh emotion and topic lexicons"},
		Language:  r.Language,
		Sentiment: toSentiment(r.Sentiment),
		Topics:    toScores(r.Topics),
		Keywords:  toKeywords(r.Keywords),
		Names:     r.Names,
		Numbers:   r.Numbers,
		Questions: r.Questions,
		Supported: r.Supported,
	}
	if r.Supported {
		out.Emotions = toEmotions(r.Emotions)
		out.LabelScores = toScores(r.Labels)
	}
	for _, p := range r.Producers {
		out.Producers = append(out.Producers, &commonv1.Producer{Engine: p.Engine, Model: p.Model, Version: p.Version, Note: p.Note, Fallback: p.Fallback})
		if p.Engine == "languages" {
			out.Producer.Note = p.Note
		}
	}
	for _, l := range r.Languages {
		out.Languages = append(out.Languages, &nlpv1.LanguageShare{Language: l.Language, Segments: int32(l.Segments), Supported: l.Supported})
	}
	for _, sg := range r.Segments {
		sa := &nlpv1.SegmentAnalysis{
			Sentiment:          toSentiment(sg.Sentiment),
			Language:           sg.Language,
			LanguageConfidence: sg.Confidence,
			Supported:          sg.Supported,
			Topics:             toScores(sg.Topics),
			LabelScores:        toScores(sg.Labels),
			Keywords:           toKeywords(sg.Keywords),
			Hook:               toHook(sg.Hook),
		}
		if sg.Timed {
			sa.Range = &commonv1.TimeRange{StartSeconds: sg.Start, EndSeconds: sg.End}
		}
		if sg.Supported {
			sa.Emotions = toEmotions(sg.Emotions)
		}
		out.Segments = append(out.Segments, sa)
	}
	for _, c := range r.Chapters {
		ch := &nlpv1.Chapter{Title: c.Title, FirstSegment: int32(c.First), SegmentCount: int32(c.Count), Topic: c.Topic}
		if c.Timed {
			ch.Range = &commonv1.TimeRange{StartSeconds: c.Start, EndSeconds: c.End}
		}
		out.Chapters = append(out.Chapters, ch)
	}
	return out
}

func toSentiment(r *sentiment.Result) *nlpv1.Sentiment {
	if r == nil {
		return nil
	}
	l := nlpv1.SentimentLabel_SENTIMENT_LABEL_NEUTRAL
	switch r.Label {
	case sentiment.Positive:
		l = nlpv1.SentimentLabel_SENTIMENT_LABEL_POSITIVE
	case sentiment.Negative:
		l = nlpv1.SentimentLabel_SENTIMENT_LABEL_NEGATIVE
	}
	return &nlpv1.Sentiment{Label: l, Compound: r.Compound}
}

// toEmotion maps a domain emotion to the enum (declared in the same order,
// from 1).
func toEmotion(e emotion.Emotion) nlpv1.Emotion {
	if e < 0 || e >= emotion.NumEmotions {
		return nlpv1.Emotion_EMOTION_UNSPECIFIED
	}
	return nlpv1.Emotion(int32(e) + 1)
}

func toEmotions(r emotion.Result) *nlpv1.Emotions {
	out := &nlpv1.Emotions{Dominant: toEmotion(r.Dominant), Intensity: r.Intensity}
	for e := range emotion.NumEmotions {
		out.Scores = append(out.Scores, &nlpv1.EmotionScore{Emotion: toEmotion(e), Score: r.Dist[e]})
	}
	return out
}

func toScores(ss []analyze.Score) []*nlpv1.TopicScore {
	var out []*nlpv1.TopicScore
	for _, s := range ss {
		out = append(out, &nlpv1.TopicScore{Label: s.Label, Score: s.Score})
	}
	return out
}

func toKeywords(ps []keywords.Phrase) []*nlpv1.Keyword {
	var out []*nlpv1.Keyword
	for _, p := range ps {
		out = append(out, &nlpv1.Keyword{Text: p.Text, Score: p.Score})
	}
	return out
}

func toHook(h keywords.Hook) *nlpv1.Hook {
	return &nlpv1.Hook{Score: h.Score, Cues: h.Cues}
}

// toStatus maps domain errors to gRPC codes; unknown errors are logged and
// returned as a bare "internal error".
func (s *Server) toStatus(ctx context.Context, err error) error {
	var ie *analyze.InvalidError
	switch {
	case errors.As(err, &ie):
		st := status.New(codes.InvalidArgument, ie.Error())
		if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: ie.Field, Description: ie.Reason}}}); derr == nil {
			st = d
		}
		return st.Err()
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
