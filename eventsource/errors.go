package eventsource

import (
	"errors"
	"fmt"
)

var (
	// ErrVersionConflict is matched (errors.Is) by the *ConflictError that
	// Append returns when the stream does not satisfy the expected version.
	ErrVersionConflict = errors.New("eventsource: version conflict")
	// ErrDuplicateEventID is returned by Append when an event ID is already
	// in the stream (or twice in the append) and the append is not an exact
	// retry of the earlier one, so writing it would duplicate the event.
	ErrDuplicateEventID = errors.New("eventsource: duplicate event id")
	// ErrInvalidEvent is returned, wrapped with the reason, by Append for an
	// empty stream name or event type, no events, a name longer than
	// MaxNameSize, or an unknown ExpectedVersion.
	ErrInvalidEvent = errors.New("eventsource: invalid event")
	// ErrEventTooLarge is returned, wrapped with the sizes, by Append for an
	// event larger than Limits.MaxEventSize. Nothing is written.
	ErrEventTooLarge = errors.New("eventsource: event too large")
	// ErrAppendTooLarge is returned, wrapped with the sizes, by Append for an
	// append with more than Limits.MaxAppendEvents events or more than
	// Limits.MaxAppendSize bytes. Nothing is written.
	ErrAppendTooLarge = errors.New("eventsource: append too large")
	// ErrClosed is returned by every operation on a closed store, and ends
	// the subscriptions that were open when it closed.
	ErrClosed = errors.New("eventsource: store closed")
	// ErrFailed is returned, joined with the cause, by every append to a
	// FileStore after a write or fsync of its log failed. Appends that got
	// this error may or may not be on disk; reopen the store to find out.
	ErrFailed = errors.New("eventsource: store failed")
	// ErrCorrupt is returned, wrapped with the details, when stored bytes do
	// not decode: a FileStore record or a snapshot.
	ErrCorrupt = errors.New("eventsource: corrupt data")
)

// ConflictError reports an append whose expected version the stream did not
// satisfy. It matches ErrVersionConflict with errors.Is.
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion // what the append asked for
	// Actual is the stream's version when the append was checked (0: no events).
	Actual uint64
}

// Error describes the conflict.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventsource: version conflict on stream %q: expected %v, stream is at version %d",
		e.Stream, e.Expected, e.Actual)
}

// Unwrap returns ErrVersionConflict.
func (e *ConflictError) Unwrap() error { return ErrVersionConflict }
