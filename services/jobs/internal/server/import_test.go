package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/auth"
	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/importer"
)

// TestSubmitBatchURLImport imports batch items from a local HTTP server
// under the allowed prefix, and refuses every bad URL naming its item,
// with nothing stored or queued.
func TestSubmitBatchURLImport(t *testing.T) {
	t.Parallel()
	still := fixture(t, fixtures.Still)
	mux := http.NewServeMux()
	mux.HandleFunc("/media/still.mp4", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(still) })
	mux.HandleFunc("/media/moved.mp4", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/media/still.mp4", http.StatusFound)
	})
	mux.HandleFunc("/private/still.mp4", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(still) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	newEnv := func(allow string, limit int64) (*testEnv, *importer.Importer) {
		prefixes, err := importer.ParsePrefixes(srv.URL + "/media")
		if err != nil {
			t.Fatal(err)
		}
		a, err := callback.ParseAllow(allow)
		if err != nil {
			t.Fatal(err)
		}
		im := &importer.Importer{Prefixes: prefixes, Guard: &callback.Sender{Allow: a}, MaxBytes: limit, Timeout: 30 * time.Second}
		opts := []option{withImporter(im)}
		if limit > 0 {
			opts = append(opts, maxBytes(limit))
		}
		return newTestClient(t, storetest.SQLite(t), opts...), im
	}
	env, _ := newEnv("127.0.0.1", 0)
	acme := env.key(t, "acme", auth.RoleEditor)
	res, err := env.Jobs.SubmitBatch(acme, &jobsv1.SubmitBatchRequest{Items: []*jobsv1.BatchItem{
		{Source: &jobsv1.BatchItem_Url{Url: srv.URL + "/media/still.mp4"}},
		{Source: &jobsv1.BatchItem_Url{Url: srv.URL + "/media/sub/../still.mp4"}},
	}})
	if err != nil {
		t.Fatalf("SubmitBatch by url: %v", err)
	}
	job, err := env.Jobs.GetJob(acme, &jobsv1.GetJobRequest{JobId: res.GetBatch().GetJobIds()[0]})
	if err != nil {
		t.Fatal(err)
	}
	video, err := env.Library.Get(t.Context(), "acme", job.GetJob().GetVideoId())
	if err != nil || video.SizeBytes != int64(len(still)) || video.Filename != "still.mp4" {
		t.Fatalf("imported video = %+v, %v; want the served file (%d bytes)", video, err, len(still))
	}

	for _, tc := range []struct {
		name, url, want string
		code            codes.Code
	}{
		{"malformed", "http://[::1", "items[1].url: invalid import url", codes.InvalidArgument},
		{"not http", "ftp://example.com/media/a.mp4", "scheme must be http or https", codes.InvalidArgument},
		{"outside the prefix", srv.URL + "/private/still.mp4", "not under an allowed import prefix", codes.InvalidArgument},
		{"climbing out", srv.URL + "/media/../private/still.mp4", "not under an allowed import prefix", codes.InvalidArgument},
		{"prefix look-alike", srv.URL + "/mediaevil/still.mp4", "not under an allowed import prefix", codes.InvalidArgument},
		{"credentials", strings.Replace(srv.URL, "http://", "http://u:p@", 1) + "/media/still.mp4", "credentials", codes.InvalidArgument},
		{"missing", srv.URL + "/media/none.mp4", "404", codes.InvalidArgument},
		{"redirect", srv.URL + "/media/moved.mp4", "redirects are not followed", codes.InvalidArgument},
	} {
		_, err := env.Jobs.SubmitBatch(acme, &jobsv1.SubmitBatchRequest{Items: []*jobsv1.BatchItem{
			{Source: &jobsv1.BatchItem_Url{Url: srv.URL + "/media/still.mp4"}}, {Source: &jobsv1.BatchItem_Url{Url: tc.url}}}})
		if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), "items[1].url") ||
			!strings.Contains(status.Convert(err).Message(), tc.want) {
			t.Errorf("%s: SubmitBatch(%s) = %v, want %s naming items[1].url and %q", tc.name, tc.url, err, tc.code, tc.want)
		}
	}
	if jobs, err := env.Jobs.ListJobs(acme, &jobsv1.ListJobsRequest{}); err != nil || len(jobs.GetJobs()) != 2 {
		t.Errorf("jobs after the refusals: %d (%v), want the first batch's 2", len(jobs.GetJobs()), err)
	}

	// Loopback is refused unless allowed, as for callbacks.
	strict, _ := newEnv("", 0)
	sctx := strict.key(t, "acme", auth.RoleEditor)
	_, err = strict.Jobs.SubmitBatch(sctx, &jobsv1.SubmitBatchRequest{Items: []*jobsv1.BatchItem{{Source: &jobsv1.BatchItem_Url{Url: srv.URL + "/media/still.mp4"}}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "loopback") {
		t.Errorf("import from loopback, not allowed = %v, want InvalidArgument naming loopback", err)
	}

	// Over the size limit.
	small, _ := newEnv("127.0.0.1", int64(len(still)-1))
	mctx := small.key(t, "acme", auth.RoleEditor)
	_, err = small.Jobs.SubmitBatch(mctx, &jobsv1.SubmitBatchRequest{Items: []*jobsv1.BatchItem{{Source: &jobsv1.BatchItem_Url{Url: srv.URL + "/media/still.mp4"}}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "items[0].url") ||
		!strings.Contains(status.Convert(err).Message(), "over the limit") {
		t.Errorf("import over the size limit = %v, want InvalidArgument", err)
	}
}
