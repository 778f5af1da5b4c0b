package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
)

// ClipFilePath is the route of a clip's files: kind is "clip" (the MP4),
// "thumbnail", "srt", "vtt", "edl" or "fcpxml".
const ClipFilePath = "/v1/clips/{clip_id}/files/{kind}"

// clipFileExt is the download file name's extension per kind.
var clipFileExt = map[string]string{
	"clip": ".mp4", "thumbnail": ".jpg", "srt": ".srt", "vtt": ".vtt", "edl": ".edl", "fcpxml": ".fcpxml",
}

// registerClipDownloads serves GET and HEAD ClipFilePath through
// ClipsService.ReadClipFile.
func (g *gateway) registerClipDownloads(cc grpc.ClientConnInterface) error {
	h := g.clipFile(clipsv1.NewClipsServiceClient(cc))
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if err := g.mux.HandlePath(m, ClipFilePath, h); err != nil {
			return fmt.Errorf("gateway: register %s %s: %w", m, ClipFilePath, err)
		}
	}
	return nil
}

// clipFile serves one file of a clip with HTTP range requests (so a browser
// can seek in the MP4), conditional requests (ETag is the file's SHA-256)
// and HEAD, by http.ServeContent over a seeker that opens a ReadClipFile
// stream at the offset it is read from. The caller's API key travels with
// every stream, so the clips service checks the tenant: another tenant's
// clip is 404 like a missing one.
func (g *gateway) clipFile(client clipsv1.ClipsServiceClient) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, outbound := runtime.MarshalerForRequest(g.mux, r)
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		ctx, err := runtime.AnnotateContext(ctx, g.mux, r, clipsv1.ClipsService_ReadClipFile_FullMethodName,
			runtime.WithHTTPPathPattern(ClipFilePath))
		if err != nil {
			g.handleError(r.Context(), g.mux, outbound, w, r, err)
			return
		}
		f := &clipFileReader{ctx: ctx, client: client, id: params["clip_id"], kind: params["kind"]}
		defer f.Close()
		// The first message describes the file; an error (not found,
		// unknown kind, not rendered) is answered as JSON before any byte.
		if err := f.open(0); err != nil {
			g.handleError(ctx, g.mux, outbound, w, r, err)
			return
		}
		art := f.file
		w.Header().Set("Content-Type", art.GetContentType())
		if art.GetSha256() != "" {
			w.Header().Set("ETag", `"`+art.GetSha256()+`"`)
		}
		disp := "attachment"
		if f.kind == "clip" || f.kind == "thumbnail" || f.kind == "vtt" {
			disp = "inline" // played or shown by the browser
		}
		w.Header().Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s%s"`, disp, safeName(f.id), clipFileExt[f.kind]))
		http.ServeContent(w, r, "", f.modTime, f)
	}
}

// safeName keeps [A-Za-z0-9_-] of s, for a Content-Disposition file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return -1
	}, s)
}

// clipFileReader is an io.ReadSeeker over ReadClipFile: Seek only moves the
// position; a Read at a position the open stream is not at opens a new
// stream there (http.ServeContent seeks to the end for the size, then to
// each range's start).
type clipFileReader struct {
	ctx      context.Context
	client   clipsv1.ClipsServiceClient
	id, kind string

	file    *commonv1.Artifact
	modTime time.Time
	pos     int64 // where the next Read reads
	at      int64 // where the open stream is
	stream  grpc.ServerStreamingClient[clipsv1.ReadClipFileResponse]
	stop    context.CancelFunc
	pending []byte // received and not yet read
}

// open starts a stream at off and reads its first message.
func (f *clipFileReader) open(off int64) error {
	f.Close()
	ctx, stop := context.WithCancel(f.ctx)
	st, err := f.client.ReadClipFile(ctx, &clipsv1.ReadClipFileRequest{ClipId: f.id, Kind: f.kind, Offset: off})
	if err != nil {
		stop()
		return err
	}
	m, err := st.Recv()
	if err != nil {
		stop()
		if errors.Is(err, io.EOF) {
			return status.Error(codes.Internal, "clip file stream ended before its description")
		}
		return err
	}
	if m.GetFile() != nil && f.file == nil {
		f.file = m.GetFile()
		f.modTime = m.GetModTime().AsTime()
	}
	f.stream, f.stop, f.at, f.pending = st, stop, off, m.GetData()
	return nil
}

// Read implements io.Reader.
func (f *clipFileReader) Read(p []byte) (int, error) {
	if f.pos >= f.file.GetSizeBytes() {
		return 0, io.EOF
	}
	if f.stream == nil || f.at != f.pos {
		if err := f.open(f.pos); err != nil {
			return 0, err
		}
	}
	for len(f.pending) == 0 {
		m, err := f.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF // short of the stored size
			}
			return 0, err
		}
		f.pending = m.GetData()
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	f.pos += int64(n)
	f.at += int64(n)
	return n, nil
}

// Seek implements io.Seeker.
func (f *clipFileReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.file.GetSizeBytes()
	default:
		return 0, errors.New("clip file: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("clip file: negative position")
	}
	f.pos = offset
	return offset, nil
}

// Close ends the open stream, if any.
func (f *clipFileReader) Close() {
	if f.stop != nil {
		f.stop()
		f.stream, f.stop, f.pending = nil, nil, nil
	}
}
