package vclock

import (
	"errors"
	"math"
	"sync/atomic"
	"time"
)

// DefaultMaxOffset is the HLC's maximum accepted clock offset when
// HLCConfig.MaxOffset is zero. It matches CockroachDB's default: well
// above what NTP keeps healthy machines within, small enough that a clock
// that is badly wrong is noticed instead of dragging every node's time
// forward.
const DefaultMaxOffset = 500 * time.Millisecond

// NoOffsetLimit as HLCConfig.MaxOffset turns the offset check off, for
// example to replay timestamps from an archive. A single remote clock that
// is wrong then moves this clock, and all it talks to, as far ahead as it
// likes.
const NoOffsetLimit time.Duration = math.MaxInt64

// HLCConfig configures an [HLC]. The zero value means every default.
type HLCConfig struct {
	// MaxOffset is how far a remote timestamp's wall time may be ahead of
	// the local wall clock for Update to accept it. Zero means
	// DefaultMaxOffset; NoOffsetLimit accepts any remote time. It must not
	// be negative.
	MaxOffset time.Duration
}

// Validate reports whether cfg is usable: MaxOffset must not be negative.
func (cfg HLCConfig) Validate() error {
	if cfg.MaxOffset < 0 {
		return errors.New("vclock: HLCConfig.MaxOffset is negative")
	}
	return nil
}

// HLC is a hybrid logical clock (Kulkarni et al., 2014): timestamps that
// follow the wall clock when it moves forward, never go backwards when it
// does not, and order every event after the events it has heard of.
//
// The zero value is a ready clock with DefaultMaxOffset. An HLC is safe for
// concurrent use; Now and Update are lock-free. It must not be copied after
// first use.
//
// Timestamps increase within one HLC. A process that restarts and must
// stay above what it issued before should persist its latest timestamp and
// pass it to Update on start.
type HLC struct {
	maxOffset time.Duration
	last      atomic.Uint64
	// wallMillis reads the wall clock; nil means time.Now. Only this
	// package's tests set it, to step wall time backwards, which the
	// synctest fake clock cannot do.
	wallMillis func() int64

	updates    atomic.Uint64
	rejected   atomic.Uint64
	wallBehind atomic.Uint64
}

// NewHLC returns a clock configured by cfg. It panics if cfg.Validate
// fails: a negative offset can only be a programming error.
func NewHLC(cfg HLCConfig) *HLC {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	return &HLC{maxOffset: cfg.MaxOffset}
}

// HLCStats is a snapshot of an HLC's counters.
type HLCStats struct {
	Last       Timestamp // the latest timestamp issued by Now or Update
	Updates    uint64    // remote timestamps accepted by Update
	Rejected   uint64    // remote timestamps rejected by Update
	WallBehind uint64    // readings where the wall clock was behind the last timestamp's wall time
}

// Stats returns a snapshot of h's counters.
func (h *HLC) Stats() HLCStats {
	return HLCStats{
		Last:       Timestamp(h.last.Load()),
		Updates:    h.updates.Load(),
		Rejected:   h.rejected.Load(),
		WallBehind: h.wallBehind.Load(),
	}
}

// physical returns the wall clock as a timestamp with logical part zero.
func (h *HLC) physical() Timestamp {
	var ms int64
	if h.wallMillis != nil {
		ms = h.wallMillis()
	} else {
		ms = time.Now().UnixMilli()
	}
	ms = min(max(ms, 0), maxWallMillis)
	return Timestamp(uint64(ms) << logicalBits)
}

// Now returns a timestamp for a local or send event. Each call returns a
// timestamp greater than every one h issued before, even if the wall clock
// stepped backwards; while the wall clock is behind, the wall part stays
// put and the logical part counts up. It never allocates.
func (h *HLC) Now() Timestamp {
	return h.advance(h.physical(), 0)
}

// Update records a receive event: it returns a timestamp greater than
// remote and than every timestamp h issued before, so whatever happens
// next is ordered after the sender's event.
//
// If remote's wall time is more than the maximum offset ahead of the local
// wall clock, Update returns an [*OffsetError] wrapping [ErrClockOffset]
// and leaves h unchanged: accepting it would drag this clock, and every
// clock it talks to, into the future of the misbehaving sender. A remote
// timestamp equal to the largest Timestamp returns ErrInvalidTimestamp.
func (h *HLC) Update(remote Timestamp) (Timestamp, error) {
	phys := h.physical()
	maxOffset := h.maxOffset
	if maxOffset == 0 {
		maxOffset = DefaultMaxOffset
	}
	ahead := remote.WallMillis() - phys.WallMillis()
	if ahead > 0 && maxOffset != NoOffsetLimit && (ahead > maxOffset.Milliseconds() || maxOffset < time.Millisecond) {
		h.rejected.Add(1)
		return 0, &OffsetError{
			Remote:    remote,
			Local:     phys,
			Offset:    millisToDuration(ahead),
			MaxOffset: maxOffset,
		}
	}
	if remote == math.MaxUint64 {
		h.rejected.Add(1)
		return 0, ErrInvalidTimestamp
	}
	h.updates.Add(1)
	return h.advance(phys, remote+1), nil
}

// millisToDuration converts, saturating where a Duration ends (292 years).
func millisToDuration(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// advance moves the clock to the largest of phys, floor and its last value
// plus one, and returns the new value.
func (h *HLC) advance(phys, floor Timestamp) Timestamp {
	for {
		old := Timestamp(h.last.Load())
		next := old + 1
		if next == 0 {
			next = old // the year 10889: saturate rather than wrap
		}
		behind := phys>>logicalBits < old>>logicalBits
		next = max(next, phys, floor)
		if h.last.CompareAndSwap(uint64(old), uint64(next)) {
			if behind {
				h.wallBehind.Add(1)
			}
			return next
		}
	}
}

// OffsetError is returned by [HLC.Update] for a remote timestamp whose wall
// time is more than MaxOffset ahead of the local wall clock.
type OffsetError struct {
	Remote    Timestamp     // the rejected timestamp
	Local     Timestamp     // the local wall clock when it was rejected
	Offset    time.Duration // how far Remote's wall time was ahead
	MaxOffset time.Duration // the configured limit
}

// Error gives the remote and local times and the offset between them.
func (e *OffsetError) Error() string {
	return ErrClockOffset.Error() + ": remote " + e.Remote.String() + " is " + e.Offset.String() +
		" ahead of local " + e.Local.String() + ", limit " + e.MaxOffset.String()
}

// Unwrap returns ErrClockOffset.
func (e *OffsetError) Unwrap() error { return ErrClockOffset }
