package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protowire"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/services/nlp/internal/analyze"
	"github.com/clipmesh/clipmesh/services/nlp/internal/topics"
	"github.com/clipmesh/clipmesh/services/nlp/internal/wordnet"
)

var (
	anOnce sync.Once
	an     *analyze.Analyzer
	anErr  error
)

// testAnalyzer loads the real lexicons once for every test of the package.
func testAnalyzer(t *testing.T) *analyze.Analyzer {
	t.Helper()
	anOnce.Do(func() {
		dir, err := models.Dir("")
		if err != nil {
			anErr = err
			return
		}
		db, err := wordnet.Open("")
		if err != nil {
			anErr = err
			return
		}
		an, anErr = analyze.New(dir, &topics.Expander{DB: db})
		if anErr == nil && an.SentimentErr != nil {
			anErr = an.SentimentErr
		}
	})
	if anErr != nil {
		t.Fatalf("%v\nThe tests run the real lexicons: `make deps` installs them (clipmesh models fetch, wordnet-base).", anErr)
	}
	return an
}

func newTestClient(t *testing.T, limits analyze.Limits) nlpv1.NlpServiceClient {
	t.Helper()
	return nlpv1.NewNlpServiceClient(newTestConn(t, limits))
}

func newTestConn(t *testing.T, limits analyze.Limits) *grpc.ClientConn {
	t.Helper()
	a := *testAnalyzer(t) // a copy with its own limits; lexicons and caches are shared
	a.Limits = limits
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	(&Server{Analyzer: &a, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// rawCodec sends a request's wire bytes as they are: the Go protobuf
// library refuses to marshal invalid UTF-8, other clients do not.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = b
	return nil
}
func (rawCodec) Name() string { return "proto" }

func TestAnalyzeTextInvalidUTF8(t *testing.T) {
	t.Parallel()
	cc := newTestConn(t, analyze.DefaultLimits)
	for name, wire := range map[string][]byte{
		"text":    protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("bad \xff byte")),
		"segment": protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte("\xc3"))),
		"label":   protowire.AppendBytes(protowire.AppendTag(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("ok")), 4, protowire.BytesType), []byte("\xfe")),
	} {
		var out []byte
		err := cc.Invoke(t.Context(), nlpv1.NlpService_AnalyzeText_FullMethodName, &wire, &out, grpc.ForceCodec(rawCodec{}))
		// grpc-go decodes the request, and answers its failure itself,
		// before the handler runs: the code is grpc-go's (Internal), the
		// message names UTF-8. REST callers get InvalidArgument (TestREST).
		if st := status.Convert(err); st.Code() == codes.OK || !strings.Contains(st.Message(), "invalid UTF-8") {
			t.Errorf("%s: %v, want a refusal naming invalid UTF-8", name, err)
		}
	}
	// The domain check holds for callers that skip protobuf (the all-in-one's
	// in-process calls go through it too).
	_, err := testAnalyzer(t).Analyze(t.Context(), analyze.Request{Segments: []analyze.Segment{{Text: "ok"}, {Text: "\xc3"}}})
	var ie *analyze.InvalidError
	if !errors.As(err, &ie) || ie.Field != "segments[1].text" {
		t.Errorf("Analyze with invalid UTF-8: %v", err)
	}
}

func TestAnalyzeTextSegments(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, analyze.DefaultLimits)
	req := &nlpv1.AnalyzeTextRequest{Language: "auto", Labels: []string{"cooking", "pets: dogs, cats"}}
	texts := []struct {
		text       string
		start, end float64
	}{
		{"Welcome back to the channel! Today I am cooking a wonderful pasta with fresh tomatoes and basil.", 0, 6},
		{"Boil the water, add salt, and cook the spaghetti for ten minutes.", 6, 12},
		{"Meanwhile my dog is sleeping in the kitchen, so calm and peaceful.", 12, 18},
		{"Hoy la receta es muy fácil y el resultado está riquísimo, de verdad me encanta.", 18, 24},
		{"Dit is een zin in het Nederlands over het weer van vandaag en morgen.", 24, 30},
		{"", 30, 31},
	}
	for _, tt := range texts {
		req.Segments = append(req.Segments, &nlpv1.TextSegment{Text: tt.text, Range: &commonv1.TimeRange{StartSeconds: tt.start, EndSeconds: tt.end}})
	}
	res, err := c.AnalyzeText(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetSegments()) != len(texts) {
		t.Fatalf("%d segments, want %d", len(res.GetSegments()), len(texts))
	}
	wantLang := []string{"en", "en", "en", "es", "nl", "und"}
	// "Boil the water, …" alone is guessed Norwegian (0.29): short lines
	// keep the whole text's language unless the detector is sure.
	for i, s := range res.GetSegments() {
		if s.GetLanguage() != wantLang[i] {
			t.Errorf("segment %d: language %q, want %q", i, s.GetLanguage(), wantLang[i])
		}
		if s.GetRange().GetStartSeconds() != texts[i].start || s.GetRange().GetEndSeconds() != texts[i].end {
			t.Errorf("segment %d: range %v", i, s.GetRange())
		}
		supported := i < 4
		if s.GetSupported() != supported || (s.GetSentiment() != nil) != supported || (s.GetEmotions() != nil) != supported {
			t.Errorf("segment %d (%s): supported %v, sentiment %v, emotions %v", i, s.GetLanguage(), s.GetSupported(), s.GetSentiment(), s.GetEmotions())
		}
	}
	seg := res.GetSegments()
	if seg[0].GetSentiment().GetLabel() != nlpv1.SentimentLabel_SENTIMENT_LABEL_POSITIVE || seg[3].GetSentiment().GetLabel() != nlpv1.SentimentLabel_SENTIMENT_LABEL_POSITIVE {
		t.Errorf("sentiments: %v, %v", seg[0].GetSentiment(), seg[3].GetSentiment())
	}
	if d := seg[2].GetEmotions().GetDominant(); d != nlpv1.Emotion_EMOTION_CALM {
		t.Errorf("segment 2 dominant emotion %v, want calm", d)
	}
	if top := seg[0].GetTopics(); len(top) == 0 || top[0].GetLabel() != "food" {
		t.Errorf("segment 0 topics %v, want food first", top)
	}
	if ls := seg[2].GetLabelScores(); len(ls) == 0 || ls[0].GetLabel() != "pets" {
		t.Errorf("segment 2 labels %v, want pets first", ls)
	}
	if res.GetLanguage() != "en" || !res.GetSupported() {
		t.Errorf("language %q supported %v", res.GetLanguage(), res.GetSupported())
	}
	if top := res.GetTopics(); len(top) == 0 || top[0].GetLabel() != "food" {
		t.Errorf("video topics %v, want food first", top)
	}
	if ls := res.GetLabelScores(); len(ls) != 2 {
		t.Errorf("video labels %v, want both", ls)
	}
	if res.GetEmotions().GetDominant() == nlpv1.Emotion_EMOTION_UNSPECIFIED || len(res.GetEmotions().GetScores()) != 7 {
		t.Errorf("video emotions %v", res.GetEmotions())
	}
	sum := 0.0
	for _, e := range res.GetEmotions().GetScores() {
		sum += e.GetScore()
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("emotion distribution sums to %v", sum)
	}
	if len(res.GetKeywords()) == 0 || len(res.GetChapters()) == 0 {
		t.Errorf("keywords %v chapters %v", res.GetKeywords(), res.GetChapters())
	}
	if ch := res.GetChapters()[0]; ch.GetRange().GetStartSeconds() != 0 || ch.GetTitle() == "" {
		t.Errorf("chapter %v", ch)
	}
	var note string
	engines := map[string]bool{}
	for _, p := range res.GetProducers() {
		engines[p.GetEngine()] = true
		if p.GetEngine() == "languages" {
			note = p.GetNote()
		}
	}
	for _, e := range []string{"langid", "sentiment/en", "sentiment/es", "emotion", "topics", "labels", "chapters"} {
		if !engines[e] {
			t.Errorf("producer %s missing: %v", e, res.GetProducers())
		}
	}
	if !strings.Contains(note, "nl (1 segments)") || !strings.Contains(note, "und (1 segments)") || res.GetProducer().GetNote() != note {
		t.Errorf("unsupported language not named: %q / %q", note, res.GetProducer().GetNote())
	}
}

func TestAnalyzeTextPlainAndForced(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, analyze.DefaultLimits)
	res, err := c.AnalyzeText(t.Context(), &nlpv1.AnalyzeTextRequest{Text: "Das Spiel war unglaublich spannend! Wer hat das Tor geschossen?", Language: "de-DE"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetSegments()) != 2 || res.GetSegments()[0].GetLanguageConfidence() != 1 || res.GetSegments()[0].GetRange() != nil {
		t.Errorf("plain text segments: %v", res.GetSegments())
	}
	if len(res.GetQuestions()) != 1 || res.GetTopics()[0].GetLabel() != "sports" {
		t.Errorf("questions %v topics %v", res.GetQuestions(), res.GetTopics())
	}
	// A language given but unsupported: marked, nothing guessed.
	res, err = c.AnalyzeText(t.Context(), &nlpv1.AnalyzeTextRequest{Text: "Dit is heel goed.", Language: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetSupported() || res.GetSentiment() != nil || res.GetEmotions() != nil || len(res.GetTopics()) != 0 || res.GetLanguage() != "nl" {
		t.Errorf("unsupported language answered %v", res)
	}
	// Empty text: an empty result.
	res, err = c.AnalyzeText(t.Context(), &nlpv1.AnalyzeTextRequest{Text: "  \n", Language: "auto"})
	if err != nil || len(res.GetSegments()) != 0 || res.GetSupported() {
		t.Errorf("empty text: %v, %v", res, err)
	}
}

func TestAnalyzeTextBadInput(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, analyze.Limits{MaxTextBytes: 100, MaxSegments: 3, MaxLabels: 2, MaxLabelRunes: 10})
	seg := func(s string) *nlpv1.TextSegment { return &nlpv1.TextSegment{Text: s} }
	tests := []struct {
		name, field, msg string
		req              *nlpv1.AnalyzeTextRequest
	}{
		{"too long", "text", "limit of 100 bytes", &nlpv1.AnalyzeTextRequest{Text: strings.Repeat("a", 101)}},
		{"too long in segments", "text", "limit of 100 bytes", &nlpv1.AnalyzeTextRequest{Segments: []*nlpv1.TextSegment{seg(strings.Repeat("a", 60)), seg(strings.Repeat("b", 60))}}},
		{"too many segments", "segments", "limit of 3", &nlpv1.AnalyzeTextRequest{Segments: []*nlpv1.TextSegment{seg("a"), seg("b"), seg("c"), seg("d")}}},
		{"too many labels", "labels", "limit of 2", &nlpv1.AnalyzeTextRequest{Text: "x", Labels: []string{"a", "b", "c"}}},
		{"label too long", "labels[0]", "limit of 10", &nlpv1.AnalyzeTextRequest{Text: "x", Labels: []string{"a very long label"}}},
		{"empty label", "labels[1]", "empty", &nlpv1.AnalyzeTextRequest{Text: "x", Labels: []string{"a", " : b"}}},
		{"duplicate label", "labels[1]", "duplicate", &nlpv1.AnalyzeTextRequest{Text: "x", Labels: []string{"Food", "food: b"}}},
		{"bad language", "language", "language code", &nlpv1.AnalyzeTextRequest{Text: "x", Language: "english!"}},
		{"bad range", "segments[0].range", "time range", &nlpv1.AnalyzeTextRequest{Segments: []*nlpv1.TextSegment{{Text: "a", Range: &commonv1.TimeRange{StartSeconds: 5, EndSeconds: 2}}}}},
		{"bad max keywords", "max_keywords", "outside", &nlpv1.AnalyzeTextRequest{Text: "x", MaxKeywords: 51}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.AnalyzeText(t.Context(), tt.req)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.msg) {
				t.Fatalf("error %v, want InvalidArgument containing %q", err, tt.msg)
			}
			var field string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
					field = br.GetFieldViolations()[0].GetField()
				}
			}
			if field != tt.field {
				t.Errorf("field violation %q, want %q", field, tt.field)
			}
		})
	}
}

// TestREST posts through the grpc-gateway handler generated from the
// google.api.http binding, as the gateway serves it.
func TestREST(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, analyze.DefaultLimits)
	mux := runtime.NewServeMux()
	if err := nlpv1.RegisterNlpServiceHandlerClient(t.Context(), mux, c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/v1/text:analyze", "application/json", strings.NewReader(`{"text":"I love this new phone, the battery is amazing!","language":"auto"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Language  string `json:"language"`
		Sentiment struct {
			Label string `json:"label"`
		} `json:"sentiment"`
		Topics []struct {
			Label string `json:"label"`
		} `json:"topics"`
		Emotions struct {
			Dominant string `json:"dominant"`
		} `json:"emotions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if body.Language != "en" || body.Sentiment.Label != "SENTIMENT_LABEL_POSITIVE" || len(body.Topics) == 0 || body.Topics[0].Label != "technology" || body.Emotions.Dominant == "" {
		t.Errorf("REST body %+v", body)
	}
	bad, err := http.Post(srv.URL+"/v1/text:analyze", "application/json", strings.NewReader(`{"text":"x","labels":["a","a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("duplicate labels: HTTP %d, want 400", bad.StatusCode)
	}
	bad, err = http.Post(srv.URL+"/v1/text:analyze", "application/json", strings.NewReader("{\"text\":\"bad \xff byte\"}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid UTF-8: HTTP %d, want 400", bad.StatusCode)
	}
}
