package retry

import (
	"errors"
	"strconv"
)

// Reasons a call stopped retrying, found in Error.Reason and through
// errors.Is on the error Do, Hedge and a Transport return.
var (
	// ErrAttempts means MaxAttempts attempts were made.
	ErrAttempts = errors.New("retry: attempts exhausted")
	// ErrMaxElapsed means the call had been failing for MaxElapsed.
	ErrMaxElapsed = errors.New("retry: max elapsed time reached")
	// ErrBudget means the shared retry Budget refused another attempt.
	ErrBudget = errors.New("retry: retry budget exhausted")
	// ErrPermanent means the last error was marked Permanent or rejected
	// by Config.Retryable.
	ErrPermanent = errors.New("retry: error is not retryable")
)

// Error is the error a call returns when it gives up. It wraps both the
// last error of fn and the reason, so errors.Is(err, ErrAttempts) and
// errors.Is(err, io.EOF) can both hold.
type Error struct {
	// Attempts is how many times fn ran. It is 0 when the context was
	// done before the first attempt.
	Attempts int
	// Last is fn's last error, without a Permanent marker; nil if fn
	// never ran.
	Last error
	// Reason is why the call stopped: ErrAttempts, ErrMaxElapsed,
	// ErrBudget, ErrPermanent, context.Canceled or
	// context.DeadlineExceeded.
	Reason error
}

// Error says how many attempts were made, why the call stopped and what
// the last error was.
func (e *Error) Error() string {
	s := "retry: gave up after " + strconv.Itoa(e.Attempts) + " attempt"
	if e.Attempts != 1 {
		s += "s"
	}
	if e.Reason != nil {
		s += " (" + e.Reason.Error() + ")"
	}
	if e.Last != nil {
		s += ": " + e.Last.Error()
	}
	return s
}

// Unwrap returns Last and Reason, leaving out nil ones.
func (e *Error) Unwrap() []error {
	switch {
	case e.Last == nil && e.Reason == nil:
		return nil
	case e.Last == nil:
		return []error{e.Reason}
	case e.Reason == nil:
		return []error{e.Last}
	}
	return []error{e.Last, e.Reason}
}

// Permanent marks err as not worth retrying: the call stops at once and
// reports err (unmarked) as Error.Last. It returns nil if err is nil.
//
// The marker is seen through wrapping (fmt.Errorf("...: %w", Permanent(e)))
// but not through an *Error: a nested retry loop's verdict stays with that
// loop, so an outer loop still retries what an inner one gave up on.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanentCause reports whether err carries a Permanent marker outside any
// *Error, and returns the error to report: the marked error itself when the
// marker is outermost, err unchanged otherwise.
func permanentCause(err error) (error, bool) {
	if pe, ok := err.(*permanentError); ok {
		return pe.err, true
	}
	if hasPermanent(err) {
		return err, true
	}
	return err, false
}

func hasPermanent(err error) bool {
	for err != nil {
		switch e := err.(type) {
		case *permanentError:
			return true
		case *Error:
			return false
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if hasPermanent(inner) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return false
		}
	}
	return false
}
