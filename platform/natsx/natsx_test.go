package natsx_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/clipmesh/clipmesh/platform/natsx"
)

// testLogger logs to t while the test runs and drops what connection
// callbacks log after it has finished (testing panics on late logs).
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// connect calls natsx.Connect and closes the connection at cleanup.
func connect(t *testing.T, opts natsx.Options) *natsx.Conn {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := natsx.Connect(ctx, opts)
	if err != nil {
		t.Fatalf("Connect(%+v): %v", opts, err)
	}
	t.Cleanup(func() { closeConn(t, c) })
	return c
}

func closeConn(t *testing.T, c *natsx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func newStruct(t *testing.T, fields map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fetch pulls n messages from cons and fails the test if fewer arrive.
func fetch(t *testing.T, cons jetstream.Consumer, n int) []jetstream.Msg {
	t.Helper()
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatalf("Fetch(%d): %v", n, err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil {
		t.Fatalf("Fetch(%d): %v", n, err)
	}
	if len(msgs) != n {
		t.Fatalf("Fetch(%d) got %d messages", n, len(msgs))
	}
	return msgs
}

// checkMsg checks the content type and that data decodes to want.
func checkMsg(t *testing.T, h nats.Header, data []byte, want proto.Message) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "application/protobuf" {
		t.Errorf("Content-Type = %q, want application/protobuf", got)
	}
	got := want.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(data, got); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("message mismatch (-want +got):\n%s", diff)
	}
}

func TestEmbeddedJetStreamSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	opts := natsx.Options{StoreDir: dir, Name: "natsx test"} // a space: the server name must be sanitised

	c := connect(t, opts)
	if !c.Embedded() {
		t.Error("Embedded() = false, want true")
	}
	if got := c.ClientURL(); got != "" {
		t.Errorf("ClientURL() = %q, want empty without ListenAddr", got)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "JOBS",
		Subjects: []string{"jobs.>"},
		Storage:  jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	consCfg := jetstream.ConsumerConfig{
		Durable:   "worker",
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   time.Second, // short, so the un-acked message comes back quickly after restart
	}
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, "JOBS", consCfg)
	if err != nil {
		t.Fatalf("CreateOrUpdateConsumer: %v", err)
	}

	want := []*structpb.Struct{
		newStruct(t, map[string]any{"video": "v1", "priority": 1.0}),
		newStruct(t, map[string]any{"video": "v2", "tags": []any{"a", "b"}}),
	}
	for i, m := range want {
		ack, err := natsx.PublishJS(ctx, c.JS, "jobs.queued", m)
		if err != nil {
			t.Fatalf("PublishJS: %v", err)
		}
		if ack.Stream != "JOBS" || ack.Sequence != uint64(i+1) {
			t.Errorf("ack = %+v, want stream JOBS seq %d", ack, i+1)
		}
	}

	msgs := fetch(t, cons, 2)
	for i, m := range msgs {
		checkMsg(t, m.Headers(), m.Data(), want[i])
	}
	// Ack only the first; the second stays pending across the restart.
	if err := msgs[0].DoubleAck(ctx); err != nil {
		t.Fatalf("DoubleAck: %v", err)
	}

	closeConn(t, c)
	if err := c.Close(ctx); err != nil { // a second Close is harmless
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("store dir after Close: %v", err)
	}

	c2 := connect(t, opts)
	stream, err := c2.JS.Stream(ctx, "JOBS")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	if got := stream.CachedInfo().State.Msgs; got != 2 {
		t.Errorf("stream messages after restart = %d, want 2", got)
	}
	cons2, err := c2.JS.Consumer(ctx, "JOBS", "worker")
	if err != nil {
		t.Fatalf("consumer after restart: %v", err)
	}
	info := cons2.CachedInfo()
	if info.AckFloor.Stream != 1 || info.Delivered.Stream != 2 || info.NumAckPending != 1 {
		t.Errorf("consumer state after restart: ack floor %d, delivered %d, ack pending %d; want 1, 2, 1",
			info.AckFloor.Stream, info.Delivered.Stream, info.NumAckPending)
	}
	redelivered := fetch(t, cons2, 1)[0]
	meta, err := redelivered.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if meta.Sequence.Stream != 2 || meta.NumDelivered < 2 {
		t.Errorf("redelivered seq %d delivered %d times, want seq 2 delivered >= 2 times",
			meta.Sequence.Stream, meta.NumDelivered)
	}
	checkMsg(t, redelivered.Headers(), redelivered.Data(), want[1])
	if err := redelivered.DoubleAck(ctx); err != nil {
		t.Fatalf("DoubleAck after restart: %v", err)
	}
}

func TestEmbeddedListenAddr(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := connect(t, natsx.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:0", Name: "all-in-one"})

	url := c.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("ClientURL() = %q, want nats://127.0.0.1:<port>", url)
	}

	// A separately run service joins over TCP with a plain client.
	other, err := nats.Connect(url, nats.Name("other-service"))
	if err != nil {
		t.Fatalf("nats.Connect(%s): %v", url, err)
	}
	t.Cleanup(other.Close)
	sub, err := other.SubscribeSync("scenes.detected")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Flush(); err != nil { // the subscription is registered before we publish
		t.Fatal(err)
	}

	want := newStruct(t, map[string]any{"video": "v1", "scene": 3.0})
	if err := natsx.Publish(ctx, c.NC, "scenes.detected", want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("NextMsg: %v", err)
	}
	checkMsg(t, got.Header, got.Data, want)
}

func TestConnectOptionErrors(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })

	tests := []struct {
		name    string
		opts    natsx.Options
		wantErr string
	}{
		{"embedded without store dir", natsx.Options{}, "StoreDir is required"},
		{"listen addr without port", natsx.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1"}, "ListenAddr"},
		{"listen addr bad port", natsx.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:http"}, "invalid port"},
		// nats-server reports this only through its logger's Fatalf.
		{"listen addr taken", natsx.Options{StoreDir: t.TempDir(), ListenAddr: taken.Addr().String()}, "listening on port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := natsx.Connect(t.Context(), tt.opts)
			if err == nil {
				closeConn(t, c)
				t.Fatal("Connect succeeded, want error")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}
