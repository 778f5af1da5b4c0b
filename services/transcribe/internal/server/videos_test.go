package server

import (
	"google.golang.org/grpc"

	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
)

func videosClient(cc *grpc.ClientConn) videosv1.VideoServiceClient {
	return videosv1.NewVideoServiceClient(cc)
}
