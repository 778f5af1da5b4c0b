package inputerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("render: %w", New("preset", "vine", "unknown preset"))
	if !errors.Is(err, ErrInvalid) || Field(err) != "preset" {
		t.Fatalf("err = %v", err)
	}
	if got, want := err.Error(), `render: invalid preset "vine": unknown preset`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if Field(errors.New("other")) != "" || errors.Is(errors.New("other"), ErrInvalid) {
		t.Fatal("a plain error is not invalid input")
	}
}
