package server

import (
	"errors"
	"io"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// chunkSize is the data per ReadClipFileResponse: well under gRPC's 4 MiB
// message limit.
const chunkSize = 256 << 10

// ReadClipFile implements ClipsService.ReadClipFile: the byte range of one
// of the caller's clip's files, read straight from the blob store.
func (s *Server) ReadClipFile(req *clipsv1.ReadClipFileRequest, stream grpc.ServerStreamingServer[clipsv1.ReadClipFileResponse]) error {
	ctx := stream.Context()
	ten, err := tenant(ctx)
	if err != nil {
		return err
	}
	switch {
	case req.GetClipId() == "":
		return s.toStatus(ctx, badField("clip_id", "required"))
	case req.GetOffset() < 0:
		return s.toStatus(ctx, inputerr.New("offset", "", "must not be negative"))
	case req.GetLength() < 0:
		return s.toStatus(ctx, inputerr.New("length", "", "must not be negative"))
	}
	c, err := s.Store.Get(ctx, ten, req.GetClipId())
	if err != nil {
		return s.toStatus(ctx, err)
	}
	var art *commonv1.Artifact
	var kinds []string
	for _, a := range c.GetFiles() {
		kinds = append(kinds, a.GetKind())
		if a.GetKind() == req.GetKind() {
			art = a
		}
	}
	if art == nil {
		if len(kinds) == 0 {
			return s.toStatus(ctx, errNotRendered)
		}
		return s.toStatus(ctx, inputerr.New("kind", req.GetKind(), "the clip has no such file (it has "+strings.Join(kinds, ", ")+")"))
	}
	off, n := min(req.GetOffset(), art.GetSizeBytes()), req.GetLength()
	if n == 0 || off+n > art.GetSizeBytes() {
		n = art.GetSizeBytes() - off
	}
	first := &clipsv1.ReadClipFileResponse{File: art, ModTime: c.GetUpdateTime()}
	if first.ModTime == nil {
		first.ModTime = timestamppb.Now()
	}
	if n == 0 {
		return stream.Send(first)
	}
	rd, err := s.Blob.NewRangeReader(ctx, art.GetKey(), off, n, nil)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	defer rd.Close()
	buf := make([]byte, chunkSize)
	msg := first
	for {
		k, err := io.ReadFull(rd, buf)
		if k > 0 {
			msg.Data = buf[:k]
			if serr := stream.Send(msg); serr != nil {
				return serr
			}
			msg = &clipsv1.ReadClipFileResponse{}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return s.toStatus(ctx, err)
		}
	}
}
