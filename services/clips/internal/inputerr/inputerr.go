// Package inputerr holds the typed error every clips domain package returns
// for bad input, so the service's error mapping can turn it into
// InvalidArgument with the offending field named.
package inputerr

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every *Error.
var ErrInvalid = errors.New("invalid argument")

// Error is bad input: Field names the request field (snake_case, as in the
// proto), Value is what was given and Reason says what is wrong with it.
type Error struct {
	Field  string
	Value  string
	Reason string
}

// New returns an *Error for field.
func New(field, value, reason string) *Error {
	return &Error{Field: field, Value: value, Reason: reason}
}

// Error implements error.
func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Field returns the field named by the *Error in err's chain, or "".
func Field(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
