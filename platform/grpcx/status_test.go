package grpcx

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestKnownStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		ok      bool
		code    codes.Code
		message string
	}{
		{"nil", nil, false, codes.OK, ""},
		{"domain error", errors.New("boom"), false, codes.OK, ""},
		{"wrapped status", fmt.Errorf("resolve: %w", status.Error(codes.NotFound, "video not found")), true, codes.NotFound, "video not found"},
		{"cancelled", fmt.Errorf("decode: %w", context.Canceled), true, codes.Canceled, "cancelled"},
		{"deadline", fmt.Errorf("decode: %w", context.DeadlineExceeded), true, codes.DeadlineExceeded, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := KnownStatus(tc.err)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			st := status.Convert(got)
			if st.Code() != tc.code || st.Message() != tc.message {
				t.Fatalf("status = %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.message)
			}
		})
	}
}
