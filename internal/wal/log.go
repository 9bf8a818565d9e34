package wal

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Record is one entry of the log. Index starts at 1 and is gap-free. The
// Data of a Record yielded by Records is only valid until the iteration
// moves on.
type Record struct {
	Index uint64
	Data  []byte
}

// Log is a durable append-only log of records in segment files. It is safe
// for concurrent use. Open starts one goroutine, the flusher, that performs
// every write and fsync; Close stops it, so every opened Log must be closed.
type Log struct {
	opts Options
	kick chan struct{} // wakes the flusher; capacity 1
	done chan struct{} // closed when the flusher has exited

	mu        sync.Mutex
	closed    bool
	failed    error         // set once; every later write returns it
	next      uint64        // index of the next record to append
	committed uint64        // last acknowledged index: what readers may see
	segs      []*segment    // in index order; the last is being written
	tailSize  int64         // size of the last segment including pending bytes
	pending   []byte        // encoded frames the flusher has not taken yet
	cuts      []cut         // points in pending where a new segment starts
	waiters   []*waiter     // appenders whose records are in pending
	taken     chan struct{} // closed when the flusher takes pending; nil if nobody waits
	stats     Stats

	waiterPool sync.Pool

	// Owned by the flusher goroutine.
	tail     File   // write handle of the last segment
	spare    []byte // the buffer pending is swapped with
	closeErr error
}

// cut marks where, in the pending bytes, a new segment begins.
type cut struct {
	at  int
	seg *segment
}

// waiter is an appender waiting for its records to be acknowledged; ch has
// room for the one result the flusher sends. Each Log pools its own waiters:
// a channel made inside a testing/synctest bubble must not leak out of it
// through a global pool.
type waiter struct{ ch chan error }

func newWaiter() any { return &waiter{ch: make(chan error, 1)} }

// Stats is a snapshot of a Log's counters.
type Stats struct {
	Appends      uint64        // Append calls that enqueued records
	Records      uint64        // records enqueued by those calls
	Writes       uint64        // write calls to segment files (one per group)
	Syncs        uint64        // fsyncs of segment files
	SyncTime     time.Duration // total time spent in those fsyncs
	BytesWritten uint64        // bytes written to segment files
	Segments     int           // segment files in the log
	LastIndex    uint64        // last acknowledged index
	Failed       bool          // a write or fsync failed; the log refuses writes

	RecoveryTruncated uint64 // bytes Open cut off the damaged segment
	RecoveryRemoved   int    // later segment files Open removed after damage
}

// maxSpareBuffer bounds the write buffer kept between groups, so one huge
// batch does not pin its memory forever.
const maxSpareBuffer = 4 << 20

// Open opens the log in opts.Dir, creating it if needed. It scans every
// segment, verifies every frame, and truncates the first torn or corrupt
// frame together with the rest of its batch, everything after it, and every
// later segment, so the log holds exactly the complete batches before the
// damage. It returns the Options.Validate error for bad options, an error
// wrapping ErrCorrupt for damage it refuses to repair (a record stored with a
// larger MaxRecordSize, a log that does not start at index 1), and file
// system errors.
func Open(opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Log{
		opts: opts.withDefaults(),
		kick: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	l.waiterPool.New = newWaiter
	if err := l.recover(); err != nil {
		return nil, err
	}
	go l.flushLoop()
	return l, nil
}

// Append adds data as one batch of records with consecutive indexes
// first..first+len(data)-1 and returns first. The batch is atomic across
// crashes: recovery finds all of its records or none. Append returns after
// the batch is durable under SyncAlways and after it is written to the
// operating system under the other policies; concurrent appends share one
// write and one fsync. Append keeps no reference to data after it returns.
//
// Errors: ErrRecordTooLarge (nothing written), ErrClosed, an error wrapping
// ErrFailed and its cause once a write or fsync has failed, and an error
// wrapping ctx.Err() if ctx is done first. In the last case, if first is not
// 0, the batch already has its indexes and its outcome is unknown: it is
// written, all or none, unless the log fails. If first is 0 nothing was
// queued: Append may wait for room while more than Options.MaxPending bytes
// are queued. An empty batch writes nothing and returns the index the next
// record will get.
func (l *Log) Append(ctx context.Context, data ...[]byte) (first uint64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("wal: append: %w", err)
	}
	// Checksum the data outside the lock; only the header is summed under it.
	var sumsBuf [8]uint32
	sums := sumsBuf[:0]
	if len(data) > len(sumsBuf) {
		sums = make([]uint32, 0, len(data))
	}
	for _, d := range data {
		if len(d) > l.opts.MaxRecordSize {
			return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrRecordTooLarge, len(d), l.opts.MaxRecordSize)
		}
		sums = append(sums, dataChecksum(d))
	}

	l.mu.Lock()
	for {
		switch {
		case l.closed:
			l.mu.Unlock()
			return 0, ErrClosed
		case l.failed != nil:
			err := l.failed
			l.mu.Unlock()
			return 0, err
		case len(data) == 0:
			next := l.next
			l.mu.Unlock()
			return next, nil
		}
		if int64(len(l.pending)) < l.opts.MaxPending || len(l.pending) == 0 {
			break
		}
		if err := l.awaitTaken(ctx); err != nil {
			return 0, err
		}
	}
	first = l.enqueue(data, sums)
	w := l.waiterPool.Get().(*waiter)
	l.waiters = append(l.waiters, w)
	l.mu.Unlock()

	select {
	case l.kick <- struct{}{}:
	default: // the flusher is already due to look at pending
	}
	if done := ctx.Done(); done != nil {
		select {
		case err = <-w.ch:
		case <-done:
			// The flusher still sends to w.ch; w is left to the garbage collector.
			return first, fmt.Errorf("wal: append of records %d..%d: outcome unknown: %w",
				first, first+uint64(len(data))-1, ctx.Err())
		}
	} else {
		err = <-w.ch
	}
	l.waiterPool.Put(w)
	return first, err
}

// awaitTaken waits, with l.mu held on entry and on a nil return, until the
// flusher takes the pending bytes. On error l.mu is released.
func (l *Log) awaitTaken(ctx context.Context) error {
	if l.taken == nil {
		l.taken = make(chan struct{})
	}
	taken := l.taken
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	select {
	case <-taken:
		l.mu.Lock()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wal: append: waiting for the queue to drain: %w", ctx.Err())
	}
}

// enqueue encodes one batch into l.pending, starting a new segment first if
// the batch would overflow the current one, and returns its first index.
// l.mu is held.
func (l *Log) enqueue(data [][]byte, sums []uint32) uint64 {
	size := int64(0)
	for _, d := range data {
		size += frameHeaderSize + int64(len(d))
	}
	if l.tailSize > segmentHeaderSize && l.tailSize+size > l.opts.SegmentSize {
		seg := newSegment(l.opts.Dir, l.next)
		l.segs = append(l.segs, seg)
		l.cuts = append(l.cuts, cut{at: len(l.pending), seg: seg})
		l.tailSize = 0
	}
	if l.tailSize == 0 {
		l.pending = append(l.pending, segmentMagic[:]...)
		l.tailSize = segmentHeaderSize
	}
	seg := l.segs[len(l.segs)-1]
	first := l.next
	for i, d := range data {
		seg.noteRecord(l.next, l.tailSize)
		l.pending = appendFrame(l.pending, l.next, uint32(len(data)-1-i), d, sums[i])
		l.tailSize += frameHeaderSize + int64(len(d))
		l.next++
	}
	l.stats.Appends++
	l.stats.Records += uint64(len(data))
	return first
}

// LastIndex returns the index of the last acknowledged record, 0 if none.
// Records never yields past it.
func (l *Log) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.committed
}

// Stats returns a snapshot of the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Segments = len(l.segs)
	s.LastIndex = l.committed
	s.Failed = l.failed != nil
	return s
}

// Close writes and acknowledges every batch already appended, fsyncs the
// last segment (under every policy), closes it and stops the flusher. Later
// calls return ErrClosed. It returns an error wrapping ErrFailed if a write
// or fsync failed at any time, since then acknowledged data may be lost.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	<-l.done
	return l.closeErr
}
