package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/grpcx"
	"github.com/clipmesh/clipmesh/platform/langid"
	"github.com/clipmesh/clipmesh/platform/mediasrc"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/align"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/captions"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/media"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/store"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/vad"
)

// Stage is the Progress.stage of every progress message.
const Stage = "transcribe"

// progressEvery is the least time between two progress messages.
const progressEvery = 250 * time.Millisecond

// MaxUploadBytes bounds UploadTranscriptRequest.content: hours of
// subtitles are a few hundred kilobytes.
const MaxUploadBytes = 2 << 20

// DefaultMaxSeconds is the longest audio transcribed when MaxSeconds is 0:
// three hours (about 700 MB of working memory at 16 kHz).
const DefaultMaxSeconds = 3 * 3600

// Errors mapped by toStatus.
var (
	errRequest    = errors.New("invalid request")
	errPermission = errors.New("permission denied")
	errNoEngine   = errors.New("speech recognition engine unavailable")
)

// Server implements TranscribeService.
type Server struct {
	transcribev1.UnimplementedTranscribeServiceServer

	// Media resolves video ids and audio tracks to local files.
	Media *mediasrc.Resolver
	// Store keeps transcripts.
	Store *store.Store
	// Engine is the recognizer; nil when it could not start, EngineErr
	// then says why (Transcribe answers FailedPrecondition with it).
	Engine    engine.Engine
	EngineErr error
	// Forced aligns the words of uploaded English subtitles (nil: words
	// are spread proportionally).
	Forced align.Forced
	// ForcedProducer names Forced.
	ForcedProducer engine.Producer
	// VAD finds speech for chunking and alignment; nil or unavailable
	// falls back to the engine's energy pauses (flagged in the result).
	VAD *vad.Detector
	// LangID identifies the language of text ("auto" with a one-language
	// engine, uploads without a language).
	LangID langid.Identifier
	// MaxSeconds refuses longer audio (0: DefaultMaxSeconds).
	MaxSeconds float64
	// Decode configures ffmpeg and ffprobe.
	Decode media.Options
	Logger *slog.Logger
}

// Register adds TranscribeService to g.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	transcribev1.RegisterTranscribeServiceServer(g, s)
}

// Ready fails while no recognizer can run.
func (s *Server) Ready(context.Context) error {
	if s.Engine == nil {
		return fmt.Errorf("%w: %v", errNoEngine, s.EngineErr)
	}
	return nil
}

// reporter sends throttled progress messages; safe for concurrent use.
type reporter struct {
	mu   sync.Mutex
	last time.Time
	send func(*commonv1.Progress) error
	err  error
}

// report sends progress at most every progressEvery unless force; a send
// error is kept and returned by every later call.
func (r *reporter) report(fraction float64, msg string, force bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	if now := time.Now(); force || now.Sub(r.last) >= progressEvery {
		r.last = now
		r.err = r.send(&commonv1.Progress{Stage: Stage, Fraction: min(1, max(0, fraction)), Message: msg, UpdateTime: timestamppb.New(now)})
	}
	return r.err
}

// principal returns the caller; every clipmesh call has one (the auth
// interceptor puts it there).
func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return auth.Principal{}, status.Error(codes.Unauthenticated, "no caller identity")
	}
	return p, nil
}

// Transcribe implements TranscribeService.Transcribe.
func (s *Server) Transcribe(req *transcribev1.TranscribeRequest, stream grpc.ServerStreamingServer[transcribev1.TranscribeResponse]) error {
	ctx := stream.Context()
	rep := &reporter{send: func(p *commonv1.Progress) error {
		return stream.Send(&transcribev1.TranscribeResponse{Event: &transcribev1.TranscribeResponse_Progress{Progress: p}})
	}}
	t, err := s.transcribe(ctx, req, rep)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	return s.toStatus(ctx, stream.Send(&transcribev1.TranscribeResponse{Event: &transcribev1.TranscribeResponse_Transcript{Transcript: t}}))
}

func (s *Server) transcribe(ctx context.Context, req *transcribev1.TranscribeRequest, rep *reporter) (*transcribev1.Transcript, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if s.Engine == nil {
		return nil, fmt.Errorf("%w: %v", errNoEngine, s.EngineErr)
	}
	if p.Role == auth.RoleViewer && req.GetVideoId() != "" {
		return nil, fmt.Errorf("%w: a viewer cannot store a video's transcript", errPermission)
	}
	prod := s.Engine.Producer()
	// An impossible language fails before any media is read.
	if _, err := engine.CheckLanguage(prod.Engine, req.GetLanguage(), s.Engine.Languages()); err != nil {
		return nil, err
	}
	vid := req.GetVideoId()
	if vid == "" {
		return nil, fmt.Errorf("%w: video_id is required", errRequest)
	}
	if err := rep.report(0, "fetching media", true); err != nil {
		return nil, err
	}
	if !req.GetIgnoreUploaded() {
		if _, _, err := s.Media.Video(ctx, vid); err != nil {
			return nil, err
		}
		up, err := s.Store.Get(ctx, p.Tenant, vid, transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED)
		switch {
		case err == nil && languageMatches(req.GetLanguage(), up.GetLanguage()):
			return up, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	m, err := s.Media.Resolve(ctx, vid, req.GetAudioTrack())
	if err != nil {
		return nil, err
	}
	defer m.Close()

	// Shares of the progress bar: decoding 15%, voice activity 5%,
	// recognition the rest.
	dec := s.Decode
	dec.MaxSeconds = s.maxSeconds()
	dec.Progress = func(done, total float64) {
		if total > 0 {
			_ = rep.report(0.15*done/total, fmt.Sprintf("decoded %.0f of %.0f s", done, total), false)
		}
	}
	a, err := media.Decode(ctx, m.Path, dec)
	var t *engine.Transcript
	switch {
	case errors.Is(err, media.ErrNoAudio):
		t = &engine.Transcript{Segments: []engine.Segment{}, Producer: prod, Reason: "no audio stream"}
	case err != nil:
		return nil, err
	default:
		t, err = s.recognize(ctx, req.GetLanguage(), req.GetTranslate(), a, rep)
		if err != nil {
			return nil, err
		}
	}
	out := toProto(t, vid, transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED)
	if err := s.Store.Put(ctx, p.Tenant, out); err != nil {
		// The job still gets its transcript; only GetTranscript misses it.
		s.Logger.ErrorContext(ctx, "storing transcript", "video_id", vid, "err", err)
	}
	return out, nil
}

// recognize runs voice activity, the recognizer and language
// identification on decoded audio.
func (s *Server) recognize(ctx context.Context, lang string, translate bool, a media.Audio, rep *reporter) (*engine.Transcript, error) {
	x := media.Floats(a.Samples)
	speech, vp := s.speech(ctx, x, func(f float64) { _ = rep.report(0.15+0.05*f, "finding speech", false) })
	opts := engine.Options{
		Language:  lang,
		Translate: translate,
		Speech:    speech,
		Progress:  func(f float64) { _ = rep.report(0.2+0.79*f, "recognizing speech", false) },
	}
	t, err := s.Engine.Transcribe(ctx, engine.Float32Audio(x), opts)
	if err != nil {
		return nil, err
	}
	t.Producers = append(t.Producers, vp)
	if vp.Fallback {
		t.Producer.Note = strings.TrimPrefix(t.Producer.Note+"; chunked at energy pauses ("+vp.Note+")", "; ")
	}
	s.identify(t, lang)
	return t, nil
}

// speech returns the speech regions of x and the producer that found them:
// Silero, or nil regions and a flagged energy-pauses producer when Silero
// is unavailable or fails.
func (s *Server) speech(ctx context.Context, x []float32, progress func(float64)) ([][2]float64, engine.Producer) {
	fallback := func(why string) ([][2]float64, engine.Producer) {
		return nil, engine.Producer{Engine: "energy-pauses", Version: "1", Fallback: true, Note: why}
	}
	if s.VAD == nil {
		return fallback("no voice-activity detector configured")
	}
	if why := s.VAD.Unavailable(); why != "" {
		return fallback(why)
	}
	speech, err := s.VAD.Speech(ctx, x, progress)
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "silero vad failed; using energy pauses", "err", err)
		}
		return fallback(fmt.Sprintf("%s failed: %v", vad.ModelName, err))
	}
	return speech, engine.Producer{Engine: vad.Engine, Model: vad.ModelName, Version: s.VAD.Version()}
}

// identify sets the language from the text when the request said "auto"
// and the engine cannot tell languages apart (one language only).
func (s *Server) identify(t *engine.Transcript, requested string) {
	r := strings.ToLower(strings.TrimSpace(requested))
	if (r != "" && r != engine.LanguageAuto) || s.LangID == nil || len(s.Engine.Languages()) != 1 {
		return
	}
	if len(t.Segments) == 0 {
		t.Language, t.LanguageProbability = langid.Und, 0
		return
	}
	code, prob := s.LangID.Identify(t.Text())
	t.Language, t.LanguageProbability = code, prob
	t.Producers = append(t.Producers, engine.Producer{
		Engine: "langid", Model: s.LangID.Engine(),
		Note: "language identified from the recognized text; the recognizer itself only knows " + strings.Join(s.Engine.Languages(), ", "),
	})
}

// languageMatches: an uploaded transcript answers a request for auto or
// for its own language (primary subtags compared).
func languageMatches(requested, have string) bool {
	r := strings.ToLower(strings.TrimSpace(requested))
	if r == "" || r == engine.LanguageAuto {
		return true
	}
	primary := func(s string) string {
		s = strings.ToLower(s)
		if i := strings.IndexAny(s, "-_"); i >= 0 {
			return s[:i]
		}
		return s
	}
	return primary(r) == primary(have)
}

func (s *Server) maxSeconds() float64 {
	if s.MaxSeconds > 0 {
		return s.MaxSeconds
	}
	return DefaultMaxSeconds
}

// GetTranscript implements TranscribeService.GetTranscript.
func (s *Server) GetTranscript(ctx context.Context, req *transcribev1.GetTranscriptRequest) (*transcribev1.GetTranscriptResponse, error) {
	resp, err := s.getTranscript(ctx, req)
	return resp, s.toStatus(ctx, err)
}

func (s *Server) getTranscript(ctx context.Context, req *transcribev1.GetTranscriptRequest) (*transcribev1.GetTranscriptResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetVideoId() == "" {
		return nil, fmt.Errorf("%w: video_id is required", errRequest)
	}
	// The video must still be the caller's: a deleted video's transcript
	// is not served.
	if _, _, err := s.Media.Video(ctx, req.GetVideoId()); err != nil {
		return nil, err
	}
	t, err := s.Store.Get(ctx, p.Tenant, req.GetVideoId(), req.GetSource())
	if err != nil {
		return nil, err
	}
	content, ctype, ext, err := Render(t, req.GetFormat())
	if err != nil {
		return nil, err
	}
	return &transcribev1.GetTranscriptResponse{Transcript: t, Content: content, ContentType: ctype, Filename: req.GetVideoId() + "." + ext}, nil
}

// Render writes t in format f and returns the content, its MIME type and
// file extension.
func Render(t *transcribev1.Transcript, f transcribev1.TranscriptFormat) (content, contentType, ext string, err error) {
	switch f {
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_UNSPECIFIED, transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_JSON:
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(t)
		if err != nil {
			return "", "", "", fmt.Errorf("render: %w", err)
		}
		return string(b) + "\n", "application/json", "json", nil
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT:
		return captions.WriteSRT(fromProto(t)), "application/x-subrip; charset=utf-8", "srt", nil
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_VTT:
		return captions.WriteVTT(fromProto(t)), "text/vtt; charset=utf-8", "vtt", nil
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT:
		return captions.WriteText(fromProto(t)), "text/plain; charset=utf-8", "txt", nil
	}
	return "", "", "", fmt.Errorf("%w: unknown format %v", errRequest, f)
}

// UploadTranscript implements TranscribeService.UploadTranscript.
func (s *Server) UploadTranscript(req *transcribev1.UploadTranscriptRequest, stream grpc.ServerStreamingServer[transcribev1.UploadTranscriptResponse]) error {
	ctx := stream.Context()
	rep := &reporter{send: func(p *commonv1.Progress) error {
		return stream.Send(&transcribev1.UploadTranscriptResponse{Event: &transcribev1.UploadTranscriptResponse_Progress{Progress: p}})
	}}
	t, err := s.upload(ctx, req, rep)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	return s.toStatus(ctx, stream.Send(&transcribev1.UploadTranscriptResponse{Event: &transcribev1.UploadTranscriptResponse_Transcript{Transcript: t}}))
}

func (s *Server) upload(ctx context.Context, req *transcribev1.UploadTranscriptRequest, rep *reporter) (*transcribev1.Transcript, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if p.Role == auth.RoleViewer {
		return nil, fmt.Errorf("%w: a viewer cannot upload a transcript", errPermission)
	}
	if req.GetVideoId() == "" {
		return nil, fmt.Errorf("%w: video_id is required", errRequest)
	}
	if n := len(req.GetContent()); n > MaxUploadBytes {
		return nil, fmt.Errorf("%w: content is %d bytes, the limit is %d", errRequest, n, MaxUploadBytes)
	}
	var format captions.Format
	switch req.GetFormat() {
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_UNSPECIFIED:
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT:
		format = captions.SRT
	case transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_VTT:
		format = captions.VTT
	default:
		return nil, fmt.Errorf("%w: format must be SRT or VTT (or unspecified to detect it)", errRequest)
	}
	cues, format, err := captions.Parse(req.GetContent(), format)
	if err != nil {
		return nil, err
	}
	t := &engine.Transcript{Producer: engine.Producer{Engine: "upload", Model: string(format), Note: "subtitles uploaded by the user"}}
	var text strings.Builder
	for _, c := range cues {
		text.WriteString(c.Text)
		text.WriteByte(' ')
	}
	switch l := strings.TrimSpace(req.GetLanguage()); {
	case l != "" && !strings.EqualFold(l, engine.LanguageAuto):
		t.Language, t.LanguageProbability = l, 1
	case s.LangID != nil:
		t.Language, t.LanguageProbability = s.LangID.Identify(text.String())
		t.Producers = append(t.Producers, engine.Producer{Engine: "langid", Model: s.LangID.Engine(), Note: "language identified from the uploaded text"})
	default:
		t.Language = langid.Und
	}
	if err := rep.report(0, "fetching media", true); err != nil {
		return nil, err
	}
	m, err := s.Media.Resolve(ctx, req.GetVideoId(), nil)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	dec := s.Decode
	dec.MaxSeconds = s.maxSeconds()
	dec.Progress = func(done, total float64) {
		if total > 0 {
			_ = rep.report(0.3*done/total, fmt.Sprintf("decoded %.0f of %.0f s", done, total), false)
		}
	}
	a, err := media.Decode(ctx, m.Path, dec)
	var x []float32
	opts := align.Options{Progress: func(f float64) { _ = rep.report(0.4+0.59*f, "aligning cues", false) }}
	switch {
	case errors.Is(err, media.ErrNoAudio):
		t.Producers = append(t.Producers, engine.Producer{Engine: "align", Fallback: true, Note: "no audio stream: cue times as uploaded, word times proportional"})
	case err != nil:
		return nil, err
	default:
		x = media.Floats(a.Samples)
		t.Duration = float64(len(a.Samples)) / media.SampleRate
		speech, vp := s.speech(ctx, x, func(f float64) { _ = rep.report(0.3+0.1*f, "finding speech", false) })
		t.Producers = append(t.Producers, vp)
		opts.Speech = speech
		if s.Forced != nil && strings.HasPrefix(strings.ToLower(t.Language), "en") {
			opts.Forced = s.Forced
		}
	}
	segs, st, err := align.Cues(ctx, cues, x, opts)
	if err != nil {
		return nil, err
	}
	t.Segments = segs
	if x != nil {
		ap := engine.Producer{Engine: "align", Version: "1", Note: fmt.Sprintf("%d cues: %d trimmed to speech, %d force-aligned, %d with proportional (approximate) word times", st.Cues, st.Trimmed, st.Forced, st.Proportional)}
		if opts.Forced != nil {
			ap.Engine, ap.Model, ap.Version = s.ForcedProducer.Engine+"-align", s.ForcedProducer.Model, s.ForcedProducer.Version
		}
		ap.Fallback = st.Proportional > 0
		t.Producers = append(t.Producers, ap)
	}
	out := toProto(t, req.GetVideoId(), transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED)
	if err := s.Store.Put(ctx, p.Tenant, out); err != nil {
		return nil, err
	}
	return out, nil
}

// toStatus maps domain errors to gRPC codes; unknown errors are logged and
// returned as a bare "internal error".
func (s *Server) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := grpcx.KnownStatus(err); ok {
		return st
	}
	var ule *engine.UnsupportedLanguageError
	switch {
	case errors.As(err, &ule):
		return status.Error(codes.FailedPrecondition, ule.Error())
	case errors.Is(err, errNoEngine):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, errPermission):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, errRequest), errors.Is(err, mediasrc.ErrInvalidRequest), errors.Is(err, media.ErrInvalid),
		errors.Is(err, media.ErrTooLong), errors.Is(err, captions.ErrInvalid):
		return status.Error(codes.InvalidArgument, validUTF8(err.Error()))
	case errors.Is(err, mediasrc.ErrNotFound):
		return status.Error(codes.NotFound, "media not found")
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, "this video has no transcript yet: run Transcribe or UploadTranscript")
	}
	s.Logger.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

// validUTF8 keeps a status message valid UTF-8 (gRPC refuses to send one
// that is not).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
