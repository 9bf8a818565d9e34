package breaker

import (
	"math"
	"sync/atomic"
)

// totals are the counts a window holds.
type totals struct {
	calls, failures, slow int
}

// window is what the closed state records outcomes in. Its methods run
// under Breaker.mu.
type window interface {
	// add records one outcome at time now (nanoseconds since Breaker.base).
	add(now int64, failed, slow bool)
	// totals returns the counts of the window as of time now.
	totals(now int64) totals
	// reset empties the window.
	reset()
	// clean reports whether a success recorded now would not change
	// anything a trip rule looks at, so that the lock-free path may skip it
	// (count window) or count it with one atomic operation (time window,
	// timeWindow.tryAddSuccess).
	clean(now int64) bool
}

// countWindow holds the outcomes of the last len(ring) calls.
type countWindow struct {
	ring     []uint8 // outcomeFailed|outcomeSlow bits per call, oldest at next once full
	next     int
	filled   int
	failures int
	slow     int
}

const (
	outcomeFailed uint8 = 1 << iota
	outcomeSlow
)

func newCountWindow(size int) *countWindow {
	return &countWindow{ring: make([]uint8, size)}
}

func (w *countWindow) add(_ int64, failed, slow bool) {
	var v uint8
	if failed {
		v |= outcomeFailed
		w.failures++
	}
	if slow {
		v |= outcomeSlow
		w.slow++
	}
	if w.filled == len(w.ring) {
		old := w.ring[w.next]
		if old&outcomeFailed != 0 {
			w.failures--
		}
		if old&outcomeSlow != 0 {
			w.slow--
		}
	} else {
		w.filled++
	}
	w.ring[w.next] = v
	w.next++
	if w.next == len(w.ring) {
		w.next = 0
	}
}

func (w *countWindow) totals(int64) totals {
	return totals{calls: w.filled, failures: w.failures, slow: w.slow}
}

func (w *countWindow) reset() {
	clear(w.ring)
	w.next, w.filled, w.failures, w.slow = 0, 0, 0, 0
}

// clean: a full window of successes stays the same window of successes when
// one more success pushes the oldest out, so such a success is a no-op.
func (w *countWindow) clean(int64) bool {
	return w.filled == len(w.ring) && w.failures == 0 && w.slow == 0
}

// timeWindow holds the calls of the last len(buckets)*width nanoseconds in
// buckets that expire whole. Successes land in a bucket lock-free through
// bucket.head; failures and slow calls are counted under the lock.
type timeWindow struct {
	width   int64 // nanoseconds per bucket
	buckets []timeBucket
	latest  int64 // newest bucket index written under the lock
}

type timeBucket struct {
	// head packs the low 32 bits of the bucket's index (which period of
	// width it covers) above a 32-bit call count, so that a lock-free
	// increment can check it lands in the right period with one CAS. The
	// count saturates at math.MaxUint32. Indexes alias after 2^32 periods
	// (at least 49 days); a bucket untouched for exactly that long could take
	// a success meant for a fresh one, a harmless error we accept.
	head     atomic.Uint64
	index    int64 // full index, under the lock
	failures int   // under the lock
	slow     int   // under the lock
}

func newTimeWindow(width int64, buckets int) *timeWindow {
	w := &timeWindow{width: width, buckets: make([]timeBucket, buckets)}
	w.reset()
	return w
}

func packHead(index int64, calls uint32) uint64 { return uint64(uint32(index))<<32 | uint64(calls) }

// bucketFor returns the bucket of period index, recycling it if it still
// holds an older period. Under the lock.
func (w *timeWindow) bucketFor(index int64) *timeBucket {
	b := &w.buckets[index%int64(len(w.buckets))]
	if b.index != index {
		b.index, b.failures, b.slow = index, 0, 0
		b.head.Store(packHead(index, 0))
	}
	return b
}

func (w *timeWindow) add(now int64, failed, slow bool) {
	// A call that read the clock before another call took the lock first
	// is recorded in the newest period, so periods only move forward.
	index := max(now/w.width, w.latest)
	w.latest = index
	b := w.bucketFor(index)
	for {
		h := b.head.Load()
		if uint32(h) == math.MaxUint32 || b.head.CompareAndSwap(h, h+1) {
			break
		}
	}
	if failed {
		b.failures++
	}
	if slow {
		b.slow++
	}
}

func (w *timeWindow) totals(now int64) totals {
	current := max(now/w.width, w.latest)
	oldest := current - int64(len(w.buckets)) + 1
	var t totals
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.index >= oldest && b.index <= current {
			t.calls += int(uint32(b.head.Load()))
			t.failures += b.failures
			t.slow += b.slow
		}
	}
	return t
}

func (w *timeWindow) reset() {
	for i := range w.buckets {
		b := &w.buckets[i]
		b.index, b.failures, b.slow = -1, 0, 0
		b.head.Store(packHead(-1, 0))
	}
	w.latest = 0
}

func (w *timeWindow) clean(now int64) bool {
	t := w.totals(now)
	return t.failures == 0 && t.slow == 0
}

// tryAddSuccess records a success without the lock, or reports false if
// that needs the lock. Callers try it only while the breaker's word says
// the window is clean.
func (w *timeWindow) tryAddSuccess(now int64) bool {
	index := now / w.width
	b := &w.buckets[index%int64(len(w.buckets))]
	for {
		h := b.head.Load()
		if uint32(h>>32) != uint32(index) || uint32(h) == math.MaxUint32 {
			return false // first call of a new period, or saturated: take the lock
		}
		if b.head.CompareAndSwap(h, h+1) {
			return true
		}
	}
}
