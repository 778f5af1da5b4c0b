package grpcx

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// KnownStatus maps the errors every service answers alike: a gRPC status
// from a call made on the way (VideoService: not found, unauthenticated) is
// passed on as it is, without the wrapping that would leak into its message,
// and a cancelled or expired context becomes Canceled or DeadlineExceeded.
// ok is false for anything else, which the service's own toStatus maps.
func KnownStatus(err error) (st error, ok bool) {
	var se interface{ GRPCStatus() *status.Status }
	switch {
	case err == nil:
		return nil, false
	case errors.As(err, &se) && se.GRPCStatus().Code() != codes.OK:
		return se.GRPCStatus().Err(), true
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "cancelled"), true
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded"), true
	}
	return nil, false
}
