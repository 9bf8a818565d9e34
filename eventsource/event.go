package eventsource

import (
	"fmt"
	"math"
	"time"
)

// Event is an event as recorded by a store.
//
// Data and Metadata returned by a store share the store's memory: read them,
// copy them if they must outlive the store, never modify them.
type Event struct {
	// ID is the ID the writer gave the event; empty if none.
	ID string
	// Stream is the name of the stream the event belongs to.
	Stream string
	// Type names the event's schema, for example "OrderPlaced".
	Type string
	// Version is the event's number within its stream: 1, 2, 3, ... without gaps.
	Version uint64
	// Position is the event's number in the store's global log: 1, 2, 3, ...
	// without gaps, in commit order.
	Position uint64
	// Time is when the store recorded the event.
	Time time.Time
	// Data is the event's payload, opaque to the store.
	Data []byte
	// Metadata is optional opaque data about the event (causation,
	// correlation, user), opaque to the store.
	Metadata []byte
}

// EventData is an event proposed to Store.Append. The store gives it its
// stream, version, position and time.
type EventData struct {
	// ID identifies the event for retries: appending events whose IDs are
	// already in the stream from an earlier attempt of the same append
	// succeeds without writing them again (see Store.Append). Empty means
	// the event is never deduplicated; NewID makes a random ID.
	ID string
	// Type names the event's schema; it must not be empty.
	Type string
	// Data is the payload; the store copies it.
	Data []byte
	// Metadata is optional; the store copies it.
	Metadata []byte
}

// size is what the event counts against Limits.MaxEventSize.
func (d *EventData) size() int {
	return len(d.ID) + len(d.Type) + len(d.Data) + len(d.Metadata)
}

// ExpectedVersion is the optimistic-concurrency condition of an append: Any,
// NoStream, StreamExists, or Exact(v). The zero value is Exact(0), which is
// the same condition as NoStream.
type ExpectedVersion int64

const (
	// Any appends whatever the stream's version, creating the stream if needed.
	Any ExpectedVersion = -1
	// NoStream appends only if the stream has no events yet.
	NoStream ExpectedVersion = -2
	// StreamExists appends only if the stream has at least one event.
	StreamExists ExpectedVersion = -3
)

// Exact appends only if the stream's last event has version v (0: the stream
// has no events). Exact panics if v does not fit in an int64, which no
// stream can reach.
func Exact(v uint64) ExpectedVersion {
	if v > math.MaxInt64 {
		panic("eventsource: Exact version out of range")
	}
	return ExpectedVersion(v)
}

// String returns "any", "no stream", "stream exists", or the exact version.
func (e ExpectedVersion) String() string {
	switch e {
	case Any:
		return "any"
	case NoStream:
		return "no stream"
	case StreamExists:
		return "stream exists"
	}
	if e < 0 {
		return fmt.Sprintf("ExpectedVersion(%d)", int64(e))
	}
	return fmt.Sprintf("version %d", int64(e))
}

// valid reports whether e is one of the three conditions or an exact version.
func (e ExpectedVersion) valid() bool {
	return e >= 0 || e == Any || e == NoStream || e == StreamExists
}

// allows reports whether a stream whose last version is current satisfies e.
func (e ExpectedVersion) allows(current uint64) bool {
	switch e {
	case Any:
		return true
	case NoStream:
		return current == 0
	case StreamExists:
		return current > 0
	}
	return uint64(e) == current
}

// AppendResult describes a successful append. The events of one append get
// consecutive versions and consecutive global positions.
type AppendResult struct {
	// Version is the stream's version after the append: the version of its
	// last event. Pass Exact(Version) to append after it.
	Version uint64
	// Position is the global position of the append's last event.
	Position uint64
	// Deduplicated is true when the events were already in the stream from
	// an earlier append with the same IDs, so nothing was written; Version
	// and Position then describe that earlier append.
	Deduplicated bool
}

// Direction is the order of a stream read.
type Direction uint8

const (
	// Forward reads from older to newer events.
	Forward Direction = iota
	// Backward reads from newer to older events.
	Backward
)

// End, passed as the start of a backward read, starts at the stream's last event.
const End uint64 = math.MaxUint64
