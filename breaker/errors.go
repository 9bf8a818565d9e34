package breaker

import (
	"errors"
	"strconv"
	"time"
)

// ErrOpen is matched (with errors.Is) by every rejection: open, forced open,
// and half-open with all probe slots taken. The concrete error is an
// *OpenError that says which and how long to wait.
var ErrOpen = errors.New("breaker: circuit open")

// ErrGroupFull is returned by Group.Get when the group already holds its
// maximum number of breakers and the name is not one of them.
var ErrGroupFull = errors.New("breaker: group is full")

// OpenError is the rejection returned while a breaker does not admit calls.
// It unwraps to ErrOpen.
//
// Rejections are on the hot path, so a breaker returns one shared *OpenError
// per open period instead of allocating one per call: treat it as read-only.
type OpenError struct {
	// Name is the breaker's Config.Name.
	Name string
	// State is StateOpen, StateForcedOpen or StateHalfOpen (all probe
	// slots in use).
	State State
	// Until is when the open period ends and probes are admitted. It is
	// the zero Time when no estimate exists (forced open, half-open).
	Until time.Time
}

// RetryAfter returns how long until the breaker admits a probe, or 0 if
// that time has passed or no estimate exists (forced open, half-open with
// all probe slots in use). Retry policies can honour it as a server hint.
func (e *OpenError) RetryAfter() time.Duration {
	if e.Until.IsZero() {
		return 0
	}
	return max(time.Until(e.Until), 0)
}

// Error describes the rejection, e.g. `breaker "db": open, retry in 1.5s`.
func (e *OpenError) Error() string {
	s := "breaker " + strconv.Quote(e.Name) + ": "
	switch e.State {
	case StateHalfOpen:
		return s + "half-open, all probe slots in use"
	case StateForcedOpen:
		return s + "forced open"
	}
	return s + "open, retry in " + e.RetryAfter().Round(time.Millisecond).String()
}

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// Is reports whether target is ErrOpen. It gives errors.Is(err, ErrOpen)
// its answer without unwrapping, since callers ask it on every rejection.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }
