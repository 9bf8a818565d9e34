package vclock

import (
	"errors"
	"strconv"
)

var (
	// ErrCounterOverflow is returned when an event would push a counter past
	// MaxCounter. Counters never wrap: a wrapped counter would make a new
	// event look older than every event it follows.
	ErrCounterOverflow = errors.New("vclock: counter at its maximum")

	// ErrDuplicateActor is returned by FromEntries when an actor appears
	// twice, because it is ambiguous which counter was meant.
	ErrDuplicateActor = errors.New("vclock: duplicate actor")

	// ErrMalformed is wrapped by every [*DecodeError] for input that is not
	// the canonical encoding of a value.
	ErrMalformed = errors.New("vclock: malformed encoding")

	// ErrTooManyEntries is wrapped by a [*DecodeError] when the input
	// declares more entries than the decoder's limit ([MaxEntries] or
	// [MaxSiblings]).
	ErrTooManyEntries = errors.New("vclock: too many entries")

	// ErrClockOffset is wrapped by the [*OffsetError] that [HLC.Update]
	// returns for a remote timestamp too far ahead of the local wall clock.
	ErrClockOffset = errors.New("vclock: remote clock beyond maximum offset")

	// ErrInvalidTimestamp is returned for a timestamp whose wall time lies
	// outside what a [Timestamp] can hold.
	ErrInvalidTimestamp = errors.New("vclock: invalid timestamp")
)

// ActorError reports which actor an operation failed for. Err is
// [ErrCounterOverflow] or [ErrDuplicateActor].
type ActorError struct {
	Actor Actor
	Err   error
}

// Error names the failure and the actor.
func (e *ActorError) Error() string {
	return e.Err.Error() + " (actor " + strconv.FormatUint(uint64(e.Actor), 10) + ")"
}

// Unwrap returns Err, so errors.Is(err, ErrCounterOverflow) works.
func (e *ActorError) Unwrap() error { return e.Err }

// DecodeError reports where and why input failed to decode. Err is
// [ErrMalformed], [ErrTooManyEntries], or for [DecodeDVVSet] the error the
// value decoder returned.
type DecodeError struct {
	What   string // what was being decoded: "clock", "timestamp", "dvvset"
	Offset int    // byte offset in the input where the problem was found
	Reason string // what is wrong, e.g. "overlong varint"
	Err    error
}

// Error says what failed to decode, where, and why.
func (e *DecodeError) Error() string {
	return e.Err.Error() + ": " + e.What + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

func malformed(what string, offset int, reason string) error {
	return &DecodeError{What: what, Offset: offset, Reason: reason, Err: ErrMalformed}
}

func tooMany(what string, offset int, reason string) error {
	return &DecodeError{What: what, Offset: offset, Reason: reason, Err: ErrTooManyEntries}
}
