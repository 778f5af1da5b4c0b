package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/health"
	"github.com/clipmesh/clipmesh/platform/natsx"
	platformserver "github.com/clipmesh/clipmesh/platform/server"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/extract"
	"github.com/clipmesh/clipmesh/services/jobs/internal/importer"
	"github.com/clipmesh/clipmesh/services/jobs/internal/jobstore"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
	"github.com/clipmesh/clipmesh/services/jobs/internal/pipeline"
	"github.com/clipmesh/clipmesh/services/jobs/internal/runner"
	"github.com/clipmesh/clipmesh/services/jobs/internal/server"
)

// meshToken is the secret the test mesh's services share; the pipeline's
// outgoing calls carry the job's principal with it.
const meshToken = "test-mesh-token"

// testOptions change what newTestClient builds.
type testOptions struct {
	allowAnonymous bool
	maxBytes       int64
	limits         media.Limits
	noWorkers      bool
	mediaRoot      string
	maxBatchItems  int
	callbacks      *callback.Sender
	importer       *importer.Importer
}

// option is one change to the defaults of newTestClient.
type option func(*testOptions)

// allowAnonymous lets keyless callers in as the local admin, as the
// all-in-one binary on loopback does.
func allowAnonymous() option { return func(o *testOptions) { o.allowAnonymous = true } }

// maxBytes sets the Library's upload size limit.
func maxBytes(n int64) option { return func(o *testOptions) { o.maxBytes = n } }

// limits sets the prober's media limits.
func limits(l media.Limits) option { return func(o *testOptions) { o.limits = l } }

// noWorkers sets the queue up but starts no worker until startWorkers:
// submitted jobs stay queued, so tests that run no job see nothing move.
func noWorkers() option { return func(o *testOptions) { o.noWorkers = true } }

// mediaRoot sets the folder SubmitBatch paths are under.
func mediaRoot(dir string) option { return func(o *testOptions) { o.mediaRoot = dir } }

// maxBatchItems sets the most items of a batch.
func maxBatchItems(n int) option { return func(o *testOptions) { o.maxBatchItems = n } }

// withImporter sets the server's URL importer.
func withImporter(im *importer.Importer) option { return func(o *testOptions) { o.importer = im } }

// callbacks sets the callback sender of the server and the runner.
func callbacks(s *callback.Sender) option { return func(o *testOptions) { o.callbacks = s } }

// testEnv is one jobs service on bufconn with its real infrastructure:
// SQL, a memory bucket, embedded NATS JetStream and queue workers.
type testEnv struct {
	DB      *store.DB
	Bucket  *blob.Bucket
	Library *catalog.Library
	NATS    *natsx.Conn
	Keys    *auth.Keys
	Runner  *runner.Runner

	Videos videosv1.VideoServiceClient
	Jobs   jobsv1.JobServiceClient
	Health healthpb.HealthClient

	startOnce sync.Once
	start     func()
}

// newTestClient builds the jobs service on db the way jobs.New does, serves
// it over bufconn with the production interceptors (auth included), and
// returns clients of it. Only the jobs services and health are registered,
// so every other service of the mesh answers Unimplemented, as today's
// stubs do. Everything is stopped by t.Cleanup.
func newTestClient(t *testing.T, db *store.DB, opts ...option) *testEnv {
	t.Helper()
	var o testOptions
	for _, fn := range opts {
		fn(&o)
	}
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	nc, err := natsx.Connect(ctx, natsx.Options{StoreDir: t.TempDir(), Name: "jobs-test", Logger: logger})
	if err != nil {
		t.Fatalf("natsx.Connect: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = nc.Close(cctx)
	})

	bucket := memblob.OpenBucket(nil)
	t.Cleanup(func() { _ = bucket.Close() })

	lib := &catalog.Library{
		DB: db.DB, Blob: bucket, TempDir: t.TempDir(), MaxBytes: o.maxBytes,
		Prober: media.Prober{Limits: o.limits},
	}
	keys := auth.NewKeys(db.DB)
	authn := auth.NewAuthenticator(keys, o.allowAnonymous, meshToken)

	lis := bufconn.Listen(1 << 20)
	dial := func(opts ...grpc.DialOption) *grpc.ClientConn {
		t.Helper()
		cc, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
		}, opts...)...)
		if err != nil {
			t.Fatalf("grpc.NewClient: %v", err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		return cc
	}

	// The pipeline calls the rest of the mesh on the same server, passing
	// the job's principal along with the mesh token as services do.
	meshConn := dial(auth.ClientInterceptors(meshToken)...)
	pl, err := pipeline.New(lib, func(string) (grpc.ClientConnInterface, error) { return meshConn, nil })
	if err != nil {
		t.Fatalf("pipeline.New: %v", err)
	}
	jobs := &jobstore.Store{DB: db.DB}
	pl.Extractor = &extract.Extractor{Blob: bucket, TempDir: t.TempDir()}
	pl.Stages = jobs
	r := &runner.Runner{Store: jobs, Pipeline: pl, NC: nc.NC, JS: nc.JS, Concurrency: 2, Logger: logger,
		Callbacks: o.callbacks, CallbackBackoff: 20 * time.Millisecond}
	if err := r.Setup(ctx); err != nil {
		t.Fatalf("runner.Setup: %v", err)
	}

	gs := platformserver.NewGRPCServer(platformserver.Options{Auth: authn, Logger: logger})
	srv := &server.Server{Library: lib, Jobs: jobs, Runner: r, NC: nc.NC, Logger: logger,
		MediaRoot: o.mediaRoot, MaxBatchItems: o.maxBatchItems, Callbacks: o.callbacks, Importer: o.importer}
	srv.Register(gs)
	healthpb.RegisterHealthServer(gs, health.New().GRPC())
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	env := &testEnv{DB: db, Bucket: bucket, Library: lib, NATS: nc, Keys: keys, Runner: r}
	workCtx, stopWork := context.WithCancel(context.Background())
	env.start = func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := r.Start(workCtx); err != nil && workCtx.Err() == nil {
				t.Errorf("runner.Start: %v", err)
			}
		}()
		// Registered after the server's cleanup, so it runs before it:
		// the workers stop while the mesh they call is still up.
		t.Cleanup(func() {
			stopWork()
			<-done
		})
	}
	t.Cleanup(stopWork)
	if !o.noWorkers {
		env.startWorkers()
	}

	cc := dial()
	env.Videos = videosv1.NewVideoServiceClient(cc)
	env.Jobs = jobsv1.NewJobServiceClient(cc)
	env.Health = healthpb.NewHealthClient(cc)
	return env
}

// startWorkers starts the queue workers (once).
func (e *testEnv) startWorkers() {
	e.startOnce.Do(e.start)
}

// key creates an API key of tenant with role and returns a context that
// sends it.
func (e *testEnv) key(t *testing.T, tenant string, role auth.Role) context.Context {
	t.Helper()
	_, k, err := e.Keys.Create(t.Context(), tenant, role, t.Name())
	if err != nil {
		t.Fatalf("Keys.Create(%s, %s): %v", tenant, role, err)
	}
	return withAuthorization(t.Context(), "Bearer "+k)
}

// withAuthorization returns ctx sending an authorization header.
func withAuthorization(ctx context.Context, value string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", value)
}

// blobKeys lists every object in the bucket.
func (e *testEnv) blobKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	it := e.Bucket.List(nil)
	for {
		obj, err := it.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return keys
		}
		if err != nil {
			t.Fatalf("list bucket: %v", err)
		}
		keys = append(keys, obj.Key)
	}
}

// tempFiles lists what is left in the Library's spool directory.
func (e *testEnv) tempFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(e.Library.TempDir)
	if err != nil {
		t.Fatalf("read temp dir: %v", err)
	}
	var names []string
	for _, ent := range ents {
		names = append(names, ent.Name())
	}
	return names
}

// fixture returns the bytes of a generated fixture.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures.MustPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// videoID is the id the catalog gives content b.
func videoID(b []byte) string {
	sum := sha256.Sum256(b)
	return catalog.IDFromHash(hex.EncodeToString(sum[:]))
}

// chunkSize is the size of each upload chunk: small enough that every
// fixture takes several messages.
const chunkSize = 32 << 10

// uploadMsgs returns the messages of a well-formed upload: metadata, then
// the bytes in chunks.
func uploadMsgs(filename string, b []byte) []*videosv1.UploadRequest {
	msgs := []*videosv1.UploadRequest{{Data: &videosv1.UploadRequest_Metadata{
		Metadata: &videosv1.UploadMetadata{Filename: filename, SizeBytes: int64(len(b))},
	}}}
	for off := 0; off < len(b); off += chunkSize {
		msgs = append(msgs, &videosv1.UploadRequest{Data: &videosv1.UploadRequest_Chunk{Chunk: b[off:min(off+chunkSize, len(b))]}})
	}
	return msgs
}

// send streams msgs to Upload and returns its answer. A server that
// answers early (an error) ends the sending: the status comes from
// CloseAndRecv.
func send(ctx context.Context, c videosv1.VideoServiceClient, msgs []*videosv1.UploadRequest) (*videosv1.UploadResponse, error) {
	st, err := c.Upload(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			break // io.EOF: the server has answered
		}
	}
	return st.CloseAndRecv()
}

// upload uploads b as filename.
func upload(ctx context.Context, c videosv1.VideoServiceClient, filename string, b []byte) (*videosv1.UploadResponse, error) {
	return send(ctx, c, uploadMsgs(filename, b))
}

// mustUpload uploads a fixture and fails the test on error.
func mustUpload(t *testing.T, ctx context.Context, c videosv1.VideoServiceClient, name string) *videosv1.Video {
	t.Helper()
	res, err := upload(ctx, c, name, fixture(t, name))
	if err != nil {
		t.Fatalf("Upload(%s): %v", name, err)
	}
	return res.GetVideo()
}

// watch follows a job with WatchJob until the stream ends and returns every
// job it was sent.
func watch(t *testing.T, ctx context.Context, c jobsv1.JobServiceClient, id string) []*jobsv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := c.WatchJob(ctx, &jobsv1.WatchJobRequest{JobId: id})
	if err != nil {
		t.Fatalf("WatchJob(%s): %v", id, err)
	}
	var seen []*jobsv1.Job
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return seen
		}
		if err != nil {
			t.Fatalf("WatchJob(%s) after %d messages: %v", id, len(seen), err)
		}
		seen = append(seen, m.GetJob())
	}
}
