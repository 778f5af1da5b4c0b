package grpcx

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
)

// Router is a grpc.ClientConnInterface that sends each call to the
// connection of the service owning the method, so one client (such as the
// REST gateway) can front services deployed at different addresses.
type Router struct {
	// Conns maps a service name ("jobs", "vision", ...) to its connection.
	Conns map[string]grpc.ClientConnInterface
	// Fallback serves methods of services not in Conns.
	Fallback grpc.ClientConnInterface
}

// ServiceOf returns the clipmesh service that serves a full method name,
// e.g. "/clipmesh.vision.v1.VisionService/AnalyzeVideo" → "vision". The
// catalog (clipmesh.videos.v1) is served by the jobs service.
func ServiceOf(method string) string {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(method, "/"), "clipmesh.")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, ".")
	if name == "videos" {
		return "jobs"
	}
	return name
}

func (r *Router) pick(method string) (grpc.ClientConnInterface, error) {
	if cc, ok := r.Conns[ServiceOf(method)]; ok {
		return cc, nil
	}
	if r.Fallback != nil {
		return r.Fallback, nil
	}
	return nil, fmt.Errorf("grpcx: no connection for %s", method)
}

// Invoke implements grpc.ClientConnInterface.
func (r *Router) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cc, err := r.pick(method)
	if err != nil {
		return err
	}
	return cc.Invoke(ctx, method, args, reply, opts...)
}

// NewStream implements grpc.ClientConnInterface.
func (r *Router) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cc, err := r.pick(method)
	if err != nil {
		return nil, err
	}
	return cc.NewStream(ctx, desc, method, opts...)
}
