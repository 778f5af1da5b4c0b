// Package grpcx dials other services of the mesh: OpenTelemetry client stats
// handler, the caller's identity passed along, generous message limits.
package grpcx

import (
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/clipmesh/clipmesh/platform/auth"
)

// Dial returns a lazy client connection to target ("host:port").
func Dial(target, meshToken string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}
	opts = append(opts, auth.ClientInterceptors(meshToken)...)
	opts = append(opts, extra...)
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("grpcx: dial %s: %w", target, err)
	}
	return cc, nil
}
