// Package mediasrctest is the test harness of services that read media
// through mediasrc: an in-memory VideoService holding files uploaded into a
// test bucket, served on bufconn beside the service under test.
package mediasrctest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"testing"

	"gocloud.dev/blob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
)

// Videos is a VideoService holding a fixed set of videos; GetVideo of any
// other id is NotFound, as for another tenant's video.
type Videos struct {
	videosv1.UnimplementedVideoServiceServer

	// Bucket receives the files Add uploads.
	Bucket *blob.Bucket

	mu     sync.Mutex
	videos map[string]*videosv1.Video
}

// NewVideos returns an empty VideoService storing into bucket.
func NewVideos(bucket *blob.Bucket) *Videos {
	return &Videos{Bucket: bucket, videos: map[string]*videosv1.Video{}}
}

// Add uploads the file at path under "videos/<sha256>" (the jobs service's
// layout) and registers it as video id; it returns the Video.
func (f *Videos) Add(t testing.TB, id, path string) *videosv1.Video {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	key := "videos/" + sha
	if err := f.Bucket.WriteAll(context.Background(), key, data, nil); err != nil {
		t.Fatal(err)
	}
	v := &videosv1.Video{Id: id, Sha256: sha, SizeBytes: int64(len(data)),
		Original: &commonv1.Artifact{Key: key, Kind: "original", SizeBytes: int64(len(data)), Sha256: sha}}
	f.Put(v)
	return v
}

// Put registers v as it is (no upload).
func (f *Videos) Put(v *videosv1.Video) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.videos[v.GetId()] = v
}

// GetVideo implements VideoService.GetVideo.
func (f *Videos) GetVideo(_ context.Context, req *videosv1.GetVideoRequest) (*videosv1.GetVideoResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.videos[req.GetVideoId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "video not found: %s", req.GetVideoId())
	}
	return &videosv1.GetVideoResponse{Video: v}, nil
}

// Serve starts a gRPC server on bufconn holding videos and whatever
// register adds (the service under test, given the connection so it can
// call VideoService), and returns that client connection (64 MiB receive
// limit). Server and connection are closed by t.Cleanup.
func Serve(t testing.TB, videos *Videos, register func(g grpc.ServiceRegistrar, cc *grpc.ClientConn), opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(opts...)
	videosv1.RegisterVideoServiceServer(g, videos)
	if register != nil {
		register(g, cc)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
