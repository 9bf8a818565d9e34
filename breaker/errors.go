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

	breaker *Breaker // the breaker that rejected, so RetryAfter can end the period
}

// NoEstimate is what OpenError.RetryAfter returns when nobody can tell how
// long the breaker will reject: forced open, or half-open with every probe
// slot in use. It is negative, which retry policies read as "no hint" and
// answer with their own backoff.
const NoEstimate time.Duration = -1

// RetryAfter returns how long until the breaker admits a probe, or
// NoEstimate. Retry policies can honour it as a server hint.
//
// Once the open period is over it returns 0 and moves the breaker to
// half-open on the spot. The rejection path reads no clock (a timer ends
// the period), so without this a caller who waited exactly the hint could
// be rejected again in the moment before the timer runs.
func (e *OpenError) RetryAfter() time.Duration {
	if e.Until.IsZero() {
		return NoEstimate
	}
	if d := time.Until(e.Until); d > 0 {
		return d
	}
	if e.breaker != nil {
		e.breaker.State() // ends this open period if it is still current
	}
	return 0
}

// Error describes the rejection, e.g. `breaker "db": open until
// 15:04:05.250 UTC`. The text is fixed for the open period, so an error
// logged later says what it said when it was returned.
func (e *OpenError) Error() string {
	s := "breaker " + strconv.Quote(e.Name) + ": "
	switch e.State {
	case StateHalfOpen:
		return s + "half-open, all probe slots in use"
	case StateForcedOpen:
		return s + "forced open"
	}
	return s + "open until " + e.Until.Format(untilLayout)
}

// untilLayout is how Error writes OpenError.Until: open periods last
// seconds to minutes, so the time of day to the millisecond is enough.
const untilLayout = "15:04:05.000 MST"

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// Is reports whether target is ErrOpen. It gives errors.Is(err, ErrOpen)
// its answer without unwrapping, since callers ask it on every rejection.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }
