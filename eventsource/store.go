package eventsource

import (
	"context"
	"iter"
)

// Store is an event store: named streams of events with optimistic
// concurrency, and one global log of every event in commit order.
// MemoryStore and FileStore implement it; all methods are safe for
// concurrent use.
type Store interface {
	// Append atomically appends events to the end of stream if the stream
	// satisfies expected, and returns the stream's new version and the
	// global position of the last event. Either all events are appended, at
	// consecutive versions and positions, or none is.
	//
	// Retrying an append with the same event IDs and the same expected
	// version is safe: if the first attempt was written, the retry
	// succeeds with its result and Deduplicated set, writing nothing.
	// Under NoStream or Exact(v) the retry is recognised by place: the
	// stream has moved past v and its events from v+1 on have the IDs of
	// the append, in order (otherwise it is a conflict). Under Any or
	// StreamExists, which name no place, the IDs of the events are indexed,
	// and an append whose first ID is found there is a retry if the rest
	// follow in order; any other indexed ID found again fails with
	// ErrDuplicateEventID. Events without an ID are never deduplicated, and
	// an ID twice in one append is ErrDuplicateEventID. IDs only identify
	// retries: an exact expectation that holds appends even if an ID
	// occurred earlier in the stream.
	//
	// Errors: a *ConflictError (errors.Is ErrVersionConflict) when expected
	// does not hold; ErrDuplicateEventID; ErrInvalidEvent,
	// ErrEventTooLarge or ErrAppendTooLarge (wrapped) for bad input, found
	// before anything is copied; ErrClosed; ErrFailed (FileStore); or the
	// context's error. An append that returns the context's error after it
	// started may or may not have happened; retry it with the same IDs and
	// expected version to find out safely.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error)

	// ReadStream yields the events of one stream: with Forward, those with
	// version >= from (0 reads from the start); with Backward, those with
	// version <= from, newest first (End reads from the last). A stream
	// without events reads as empty. The read sees the stream as it was
	// when the iteration started. It yields ErrClosed or the context's
	// error, then stops.
	ReadStream(ctx context.Context, stream string, from uint64, dir Direction) iter.Seq2[Event, error]

	// ReadAll yields every event of the global log with position >= from
	// (0 reads from the start), in order, up to the last position committed
	// when the iteration started. It yields ErrClosed or the context's
	// error, then stops.
	ReadAll(ctx context.Context, from uint64) iter.Seq2[Event, error]

	// Subscribe yields every event with position >= from (0 from the start)
	// in order, without gaps or duplicates, and then each new event as it
	// commits, until the context ends (it yields the context's error) or the
	// store closes (it yields ErrClosed). To resume after an event, subscribe
	// from its Position+1. A subscription holds no buffer: one that falls
	// behind reads the log when it gets to it, and writers never wait for it.
	Subscribe(ctx context.Context, from uint64) iter.Seq2[Event, error]

	// Close releases the store. Later calls return ErrClosed and open
	// subscriptions end with ErrClosed.
	Close() error
}

// Stats is a snapshot of a store's counters.
type Stats struct {
	// Streams is the number of streams with at least one event.
	Streams int
	// Events is the number of committed events: the last global position.
	Events uint64
	// Appends counts appends that wrote events.
	Appends uint64
	// Deduplicated counts appends recognised as retries, which wrote nothing.
	Deduplicated uint64
	// Conflicts counts appends rejected because the expected version did not hold.
	Conflicts uint64
	// Syncs counts the log writes of a FileStore, each carrying one or more
	// appends and, under SyncAlways, one fsync (zero for a MemoryStore).
	Syncs uint64
}
