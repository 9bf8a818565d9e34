package eventsource

import (
	"errors"
	"fmt"
)

// Default limits; see Limits.
const (
	// DefaultMaxEventSize bounds one event when Limits.MaxEventSize is zero.
	DefaultMaxEventSize = 1 << 20
	// DefaultMaxAppendSize bounds one append when Limits.MaxAppendSize is zero.
	DefaultMaxAppendSize = 8 << 20
	// DefaultMaxAppendEvents bounds one append when Limits.MaxAppendEvents is zero.
	DefaultMaxAppendEvents = 4096
	// MaxNameSize is the longest stream name, event type or event ID in bytes.
	MaxNameSize = 1024
	// MaxEventSizeLimit is the largest value Limits.MaxEventSize may take.
	MaxEventSizeLimit = 1 << 30
)

// Limits bound what one Append may carry. They are checked before the store
// copies or encodes anything, so a bad caller cannot make it allocate more
// than the limits. Zero fields take the defaults.
type Limits struct {
	// MaxEventSize bounds len(ID)+len(Type)+len(Data)+len(Metadata) of one
	// event; 0 = DefaultMaxEventSize (1 MiB), at most MaxEventSizeLimit (1 GiB).
	MaxEventSize int
	// MaxAppendSize bounds the sum of the event sizes of one append;
	// 0 = DefaultMaxAppendSize (8 MiB).
	MaxAppendSize int
	// MaxAppendEvents bounds the number of events of one append;
	// 0 = DefaultMaxAppendEvents (4096).
	MaxAppendEvents int
}

// Validate reports negative limits and a MaxEventSize above MaxEventSizeLimit.
func (l Limits) Validate() error {
	if l.MaxEventSize < 0 || l.MaxAppendSize < 0 || l.MaxAppendEvents < 0 {
		return errors.New("eventsource: negative limit")
	}
	if l.MaxEventSize > MaxEventSizeLimit {
		return fmt.Errorf("eventsource: Limits.MaxEventSize %d is above MaxEventSizeLimit", l.MaxEventSize)
	}
	return nil
}

// withDefaults returns l with zero fields replaced by the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxEventSize == 0 {
		l.MaxEventSize = DefaultMaxEventSize
	}
	if l.MaxAppendSize == 0 {
		l.MaxAppendSize = DefaultMaxAppendSize
	}
	if l.MaxAppendEvents == 0 {
		l.MaxAppendEvents = DefaultMaxAppendEvents
	}
	return l
}

// check validates one append against the limits and the naming rules. It
// only reads lengths, so it runs before anything is allocated.
func (l *Limits) check(stream string, expected ExpectedVersion, events []EventData) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", ErrInvalidEvent)
	}
	if len(stream) > MaxNameSize {
		return fmt.Errorf("%w: stream name of %d bytes exceeds %d", ErrInvalidEvent, len(stream), MaxNameSize)
	}
	if !expected.valid() {
		return fmt.Errorf("%w: unknown expected version %d", ErrInvalidEvent, int64(expected))
	}
	if len(events) == 0 {
		return fmt.Errorf("%w: no events", ErrInvalidEvent)
	}
	if len(events) > l.MaxAppendEvents {
		return fmt.Errorf("%w: %d events exceed %d", ErrAppendTooLarge, len(events), l.MaxAppendEvents)
	}
	total := 0
	for i := range events {
		ev := &events[i]
		if ev.Type == "" {
			return fmt.Errorf("%w: event %d has no type", ErrInvalidEvent, i)
		}
		if len(ev.Type) > MaxNameSize || len(ev.ID) > MaxNameSize {
			return fmt.Errorf("%w: event %d has a type or id longer than %d bytes", ErrInvalidEvent, i, MaxNameSize)
		}
		size := ev.size()
		if size > l.MaxEventSize {
			return fmt.Errorf("%w: event %d is %d bytes, limit %d", ErrEventTooLarge, i, size, l.MaxEventSize)
		}
		total += size
		if total > l.MaxAppendSize {
			return fmt.Errorf("%w: more than %d bytes", ErrAppendTooLarge, l.MaxAppendSize)
		}
	}
	return nil
}
