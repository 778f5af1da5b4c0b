package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clipmesh/clipmesh/gateway/openapi"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
)

// uploadField is the multipart form field that carries the file.
const uploadField = "file"

// chunkSize is the size of each UploadRequest chunk: well under gRPC's 4 MiB
// default message limit, and big enough that per-message overhead is noise.
const chunkSize = 1 << 20

// upload serves POST /v1/videos: a multipart/form-data body whose "file"
// field is streamed to VideoService.Upload as it arrives.
//
// The body is read with multipart.Reader, part by part, never with
// ParseMultipartForm, which would spool the file to memory or disk first: an
// upload is several GiB and the gateway's memory use must not depend on it.
// Memory per upload is one chunk buffer, reused for every chunk.
//
// The body limit (MaxUploadBytes) is applied by limitBody before this runs;
// handleError turns a read cut off by it into a 400 naming the limit.
func (g *gateway) upload(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	_, outbound := runtime.MarshalerForRequest(g.mux, r)
	// Cancelling ctx aborts the gRPC stream. It is derived from the request,
	// so a client that disconnects aborts the upload too.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// AnnotateContext applies the same header→metadata rules as every
	// generated binding (authorization, idempotency-key, x-request-id).
	ctx, err := runtime.AnnotateContext(ctx, g.mux, r, videosv1.VideoService_Upload_FullMethodName,
		runtime.WithHTTPPathPattern(openapi.UploadPath))
	if err != nil {
		g.handleError(r.Context(), g.mux, outbound, w, r, err)
		return
	}

	mr, err := r.MultipartReader()
	if err != nil {
		g.handleError(ctx, g.mux, outbound, w, r, status.Errorf(codes.InvalidArgument,
			"want a multipart/form-data body with the video in the field %q: %v", uploadField, err))
		return
	}
	// Find the file before calling the server, so a malformed request costs
	// the backend nothing.
	part, err := filePart(mr)
	if err != nil {
		g.handleError(ctx, g.mux, outbound, w, r, g.bodyError(r, err))
		return
	}
	defer part.Close()

	var md runtime.ServerMetadata
	resp, err := g.stream(ctx, cancel, r, part, &md)
	ctx = runtime.NewServerMetadataContext(ctx, md)
	if err != nil {
		g.handleError(ctx, g.mux, outbound, w, r, err)
		return
	}

	body, err := outbound.Marshal(resp)
	if err != nil {
		g.handleError(ctx, g.mux, outbound, w, r, status.Errorf(codes.Internal, "encode response: %v", err))
		return
	}
	code := http.StatusOK // the same content was already stored
	if resp.GetCreated() {
		code = http.StatusCreated
		if id := resp.GetVideo().GetId(); id != "" {
			w.Header().Set("Location", openapi.UploadPath+"/"+url.PathEscape(id))
		}
	}
	w.Header().Set("Content-Type", outbound.ContentType(resp))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// filePart returns the part of the "file" field, skipping any other field
// (multipart.Reader discards the rest of a part on NextPart).
func filePart(mr *multipart.Reader) (*multipart.Part, error) {
	for {
		part, err := mr.NextPart()
		if err == io.EOF { // the closing boundary; a truncated body is another error
			return nil, status.Errorf(codes.InvalidArgument, "multipart body has no %q field", uploadField)
		}
		if err != nil {
			return nil, fmt.Errorf("malformed multipart body: %w", err)
		}
		if part.FormName() == uploadField {
			return part, nil
		}
		_ = part.Close()
	}
}

// stream sends part to VideoService.Upload: the metadata message, then the
// content in chunks. If reading the body fails (client gone, body over the
// limit, truncated multipart), it cancels the stream rather than closing it:
// a closed stream would tell the server the file is complete, and it would
// store a truncated video.
func (g *gateway) stream(ctx context.Context, cancel context.CancelFunc, r *http.Request, part *multipart.Part, md *runtime.ServerMetadata) (*videosv1.UploadResponse, error) {
	st, err := g.videos.Upload(ctx)
	if err != nil {
		return nil, err
	}
	meta := &videosv1.UploadMetadata{
		Filename:    part.FileName(),
		ContentType: part.Header.Get("Content-Type"),
		SizeBytes:   partSize(part),
	}
	if err := st.Send(&videosv1.UploadRequest{Data: &videosv1.UploadRequest_Metadata{Metadata: meta}}); err != nil {
		return nil, sendError(st, md, err)
	}

	// One buffer and one message for the whole upload. grpc-go serializes
	// the message before SendMsg returns, so refilling the buffer afterwards
	// does not change what was sent.
	buf := make([]byte, chunkSize)
	chunk := &videosv1.UploadRequest_Chunk{}
	msg := &videosv1.UploadRequest{Data: chunk}
	var sent int64
	for {
		n, rerr := fill(part, buf)
		// == rather than errors.Is: io.Reader returns io.EOF itself for a
		// clean end, and anything wrapping it is a failure.
		if rerr != nil && rerr != io.EOF {
			cancel()
			g.log.InfoContext(ctx, "gateway: upload aborted", "filename", meta.GetFilename(), "sent_bytes", sent, "error", rerr)
			return nil, g.bodyError(r, rerr)
		}
		if n > 0 {
			chunk.Chunk = buf[:n]
			if err := st.Send(msg); err != nil {
				return nil, sendError(st, md, err)
			}
			sent += int64(n)
		}
		if rerr != nil { // io.EOF: the part ended at its boundary
			break
		}
	}
	resp, err := st.CloseAndRecv()
	md.HeaderMD, _ = st.Header()
	md.TrailerMD = st.Trailer()
	return resp, err
}

// sendError returns the real status of a failed Send: io.EOF means the server
// already ended the stream, and its status is found by receiving.
func sendError(st grpc.ClientStreamingClient[videosv1.UploadRequest, videosv1.UploadResponse], md *runtime.ServerMetadata, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	_, err = st.CloseAndRecv()
	md.HeaderMD, _ = st.Header()
	md.TrailerMD = st.Trailer()
	if err == nil {
		// The server answered before reading the whole file: a server bug,
		// and the client must not believe its file was stored.
		err = status.Error(codes.Internal, "server ended the upload before the end of the file")
	}
	return err
}

// fill reads into buf until it is full or r fails. Unlike io.ReadFull it
// keeps io.EOF (the part's clean end, after its closing boundary) distinct
// from io.ErrUnexpectedEOF, which multipart returns for a body cut short and
// which must abort the upload, not end it.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// partSize is the file's size when the client stated it in the part's own
// Content-Length header (few do), else 0: the request's Content-Length
// includes the other fields and boundaries, so it is not the file's size.
func partSize(part *multipart.Part) int64 {
	n, err := strconv.ParseInt(part.Header.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// bodyError classifies an error reading the request body. A body over the
// limit becomes a 400 in handleError whatever is returned here.
func (g *gateway) bodyError(r *http.Request, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if ctxErr := r.Context().Err(); ctxErr != nil {
		return status.FromContextError(ctxErr).Err()
	}
	return status.Error(codes.InvalidArgument, err.Error())
}
