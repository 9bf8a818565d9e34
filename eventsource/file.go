package eventsource

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/internal/wal"
)

// SyncPolicy says when a FileStore's Append returns relative to fsync. It
// is the policy of the durable log under the store, shared with the other
// file-backed stores of this module.
type SyncPolicy = wal.SyncPolicy

const (
	// SyncAlways, the default, returns from Append only after the events are
	// fsynced: an acknowledged event survives a crash of the process or the
	// machine. Concurrent appends share one write and one fsync.
	SyncAlways = wal.SyncAlways
	// SyncInterval returns after the events are written to the operating
	// system and fsyncs at most every FileConfig.SyncInterval: a process
	// crash loses nothing, a machine crash may lose the last interval.
	SyncInterval = wal.SyncInterval
	// SyncNever fsyncs only when a log segment fills up and on Close. For
	// tests and data that can be rebuilt.
	SyncNever = wal.SyncNever
)

// Defaults of FileConfig.
const (
	// DefaultMaxSnapshotSize bounds a snapshot when FileConfig.MaxSnapshotSize is zero.
	DefaultMaxSnapshotSize = 16 << 20
	// DefaultMaxPending bounds the bytes waiting for the log when
	// FileConfig.MaxPending is zero.
	DefaultMaxPending = 64 << 20
	// minLogRecordSize is the least record size limit the log is opened
	// with; a fixed floor keeps a log readable after the limits change.
	minLogRecordSize = 64 << 20
)

// FileConfig configures a FileStore. Dir is required; zero values of the
// other fields mean the defaults in their comments.
type FileConfig struct {
	// Dir holds the store's log files; it is created if missing. One
	// directory is one store: never open it twice at the same time.
	Dir string
	// Sync is the durability policy; the zero value is SyncAlways.
	Sync SyncPolicy
	// SyncInterval is the fsync period under SyncInterval; 0 = 10ms.
	SyncInterval time.Duration
	// SegmentSize is the size at which the log starts a new file; 0 = 64 MiB.
	SegmentSize int64
	// Limits bound each append; zero fields take the defaults. The log
	// reads back records up to 64 MiB whatever the limits; a store that
	// took larger events must be reopened with limits that still allow them.
	Limits Limits
	// MaxSnapshotSize bounds the data of one snapshot; 0 = DefaultMaxSnapshotSize (16 MiB).
	MaxSnapshotSize int
	// MaxPending bounds the encoded bytes waiting for the log while it
	// writes the previous group; 0 = DefaultMaxPending (64 MiB). Past it,
	// appends wait for the log (or their context), so callers that give up on
	// a stalled disk and try again cannot grow memory without limit.
	MaxPending int64
}

// Validate reports a config that OpenFileStore would reject.
func (c FileConfig) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("eventsource: FileConfig.Dir is required")
	case c.Sync < SyncAlways || c.Sync > SyncNever:
		return fmt.Errorf("eventsource: FileConfig.Sync %d is not a SyncPolicy", int(c.Sync))
	case c.SyncInterval < 0 || c.SegmentSize < 0 || c.MaxSnapshotSize < 0 || c.MaxPending < 0:
		return errors.New("eventsource: FileConfig has a negative interval or size")
	}
	return c.Limits.Validate()
}

// walOptions translates the config for the log.
func (c FileConfig) walOptions(fsys wal.FS) wal.Options {
	limits := c.Limits.withDefaults()
	snapshot := c.MaxSnapshotSize
	if snapshot == 0 {
		snapshot = DefaultMaxSnapshotSize
	}
	record := max(minLogRecordSize, limits.MaxEventSize+MaxNameSize+recordOverhead, snapshot+2*MaxNameSize+recordOverhead)
	return wal.Options{
		Dir:           c.Dir,
		FS:            fsys,
		SegmentSize:   c.SegmentSize,
		Sync:          c.Sync,
		SyncInterval:  c.SyncInterval,
		MaxRecordSize: min(record, wal.MaxRecordSizeLimit),
	}
}

// FileStore is a Store whose events live in a durable append-only log in a
// directory, and which also stores snapshots (it is a SnapshotStore).
//
// Opening the store reads the whole log back and rebuilds its indexes; all
// events are then kept in memory as well, so reads never touch the disk and
// run as fast as a MemoryStore's. The trade-off: memory and the time to open
// grow with the log, which suits stores up to a few gigabytes.
//
// Appends are staged in memory, invisible to readers, and written by one
// goroutine in groups: every append that arrives while a group is being
// written and fsynced goes into the next group, so concurrent appenders
// share one write and one fsync. A group becomes visible, in position order,
// only once the log has acknowledged it under the sync policy; Append
// returns after that. If a write or fsync fails the store refuses further
// appends (ErrFailed): reopen it to find what reached the disk. Opening
// recovers every acknowledged event and drops a torn or corrupt tail; an
// append is atomic across crashes.
//
// Snapshots are records in the same log, so they cost disk like events;
// only the newest of each stream is kept in memory.
//
// The store runs one goroutine, stopped by Close.
type FileStore struct {
	e   *engine
	log *wal.Log

	maxSnapshot int
	maxPending  int64

	// Guarded by e.mu: appends stage and encode under the engine's lock, so
	// the order of records in the log is the order of positions.
	pending batch
	spare   batch
	drained chan struct{} // closed when the writer takes a full pending group
	closed  bool
	failed  error

	kick    chan struct{} // wakes the writer; capacity 1
	done    chan struct{} // closed when the writer exits
	waiters sync.Pool     // of waiter

	snapMu    sync.RWMutex
	snapshots map[string]Snapshot // guarded by snapMu

	syncs atomic.Uint64
}

var (
	_ Store         = (*FileStore)(nil)
	_ SnapshotStore = (*FileStore)(nil)
)

// batch is a group of encoded records waiting to be written, and the
// callers waiting for it.
type batch struct {
	buf     []byte
	ends    []int    // end offset in buf of each record
	upto    uint64   // last position staged in this group; 0 = none
	waiters []waiter // appenders to answer once the group is written
	records [][]byte // scratch for the log's Append
}

// waiter is an appender waiting for a group; ch has room for the answer.
type waiter struct{ ch chan error }

// getWaiter returns a waiter from the store's pool. The pool belongs to the
// store, not the process, so a channel never outlives the store that made
// it (a testing/synctest bubble forbids sharing channels across bubbles).
func (f *FileStore) getWaiter() waiter {
	if w, ok := f.waiters.Get().(waiter); ok {
		return w
	}
	return waiter{ch: make(chan error, 1)}
}

// OpenFileStore opens (or creates) the store in cfg.Dir, reading back every
// event and snapshot in its log. It returns an error for an invalid config,
// a file-system error, or an error wrapping ErrCorrupt when a record that
// passed the log's checksum does not decode, which the store never writes.
func OpenFileStore(cfg FileConfig) (*FileStore, error) {
	return openFileStore(cfg, nil)
}

// openFileStore opens the store on fsys (nil = the real file system).
func openFileStore(cfg FileConfig, fsys wal.FS) (*FileStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log, err := wal.Open(cfg.walOptions(fsys))
	if err != nil {
		return nil, fmt.Errorf("eventsource: opening the log: %w", err)
	}
	f := &FileStore{
		e:           newEngine(cfg.Limits),
		log:         log,
		maxSnapshot: cfg.MaxSnapshotSize,
		maxPending:  cfg.MaxPending,
		kick:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		snapshots:   make(map[string]Snapshot),
	}
	if f.maxSnapshot == 0 {
		f.maxSnapshot = DefaultMaxSnapshotSize
	}
	if f.maxPending == 0 {
		f.maxPending = DefaultMaxPending
	}
	if err := f.recover(); err != nil {
		return nil, errors.Join(err, log.Close())
	}
	go f.writeLoop()
	return f, nil
}

// recover rebuilds the indexes from the log.
func (f *FileStore) recover() error {
	types := make(map[string]string)
	for rec, err := range f.log.Records(1) {
		if err != nil {
			return fmt.Errorf("eventsource: reading the log: %w", err)
		}
		d, err := decodeRecord(rec.Data)
		if err != nil {
			return fmt.Errorf("log record %d: %w", rec.Index, err)
		}
		if d.kind == kindSnapshot {
			f.keepSnapshot(Snapshot{Stream: string(d.stream), Version: d.version, Schema: string(d.typ), Data: append([]byte(nil), d.data...)})
			continue
		}
		if err := f.e.restore(&d, types); err != nil {
			return fmt.Errorf("log record %d: %w", rec.Index, err)
		}
	}
	f.e.publish(f.e.log.staged)
	return nil
}

// Append implements Store.Append. Under SyncAlways it returns once the
// events are fsynced. Besides the errors of Store.Append it returns an error
// wrapping ErrFailed once a write or fsync has failed.
func (f *FileStore) Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}
	if err := f.e.limits.check(stream, expected, events); err != nil {
		return AppendResult{}, err
	}
	now := time.Now().UnixNano()
	e := f.e
	e.mu.Lock()
	if err := f.admit(ctx); err != nil {
		e.mu.Unlock()
		return AppendResult{}, err
	}
	res, err := e.stage(stream, expected, events, now)
	if err == nil && !res.Deduplicated {
		f.encode(stream, events, res.Version, now, expected == Any || expected == StreamExists)
		f.pending.upto = res.Position
	}
	// A rejected or deduplicated append was decided against staged events
	// too; it answers only once they are visible, or it could report a
	// state that no reader can see yet.
	if e.log.staged == e.log.published.Load() {
		e.mu.Unlock()
		return res, err
	}
	w := f.getWaiter()
	f.pending.waiters = append(f.pending.waiters, w)
	e.mu.Unlock()
	f.wakeWriter()
	select {
	case werr := <-w.ch:
		f.waiters.Put(w)
		if werr != nil {
			return AppendResult{}, werr
		}
		if err == nil && !res.Deduplicated {
			e.appends.Add(1)
		}
		return res, err
	case <-ctx.Done():
		// The writer still answers on w.ch; w is left to the collector.
		return AppendResult{}, fmt.Errorf("eventsource: append to %q: outcome unknown: %w", stream, ctx.Err())
	}
}

// admit returns nil when a write may be staged: the store is open, has not
// failed, and the pending group is under FileConfig.MaxPending. While the
// group is full it waits for the writer to take it, or for ctx; nothing has
// been staged then, so the caller may simply retry. e.mu is held on entry
// and on return.
func (f *FileStore) admit(ctx context.Context) error {
	for {
		if f.closed {
			return ErrClosed
		}
		if f.failed != nil {
			return f.failed
		}
		if int64(len(f.pending.buf)) < f.maxPending {
			return nil
		}
		if f.drained == nil {
			f.drained = make(chan struct{})
		}
		drained := f.drained
		f.e.mu.Unlock()
		f.wakeWriter()
		select {
		case <-drained:
			f.e.mu.Lock()
		case <-ctx.Done():
			f.e.mu.Lock()
			return fmt.Errorf("eventsource: waiting for the log to take pending writes: %w", ctx.Err())
		}
	}
}

// wakeWriter makes the writer run another round. A full kick channel means
// it already has one to run.
func (f *FileStore) wakeWriter() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// encode adds the records of a staged append to the pending group. e.mu is held.
func (f *FileStore) encode(stream string, events []EventData, last uint64, now int64, indexed bool) {
	first := last - uint64(len(events)) + 1
	for i := range events {
		f.pending.buf = appendEventRecord(f.pending.buf, stream, &events[i], first+uint64(i), now, indexed)
		f.pending.ends = append(f.pending.ends, len(f.pending.buf))
	}
}

// writeLoop is the writer goroutine: it takes the pending group, writes it
// to the log as one atomic batch, publishes its positions, and answers its
// appenders, until the store closes.
func (f *FileStore) writeLoop() {
	defer close(f.done)
	for range f.kick {
		e := f.e
		e.mu.Lock()
		b := f.pending
		f.pending, f.spare = f.spare, batch{}
		closing, failed := f.closed, f.failed
		if f.drained != nil {
			close(f.drained)
			f.drained = nil
		}
		e.mu.Unlock()

		err := failed
		if err == nil && len(b.ends) > 0 {
			err = f.write(&b)
		}
		if err == nil && b.upto > 0 {
			e.publish(b.upto)
		}
		for i, w := range b.waiters {
			w.ch <- err
			b.waiters[i] = waiter{}
		}
		if len(b.waiters) > 1 {
			wal.Gather(f.queued, len(b.waiters))
		}

		e.mu.Lock()
		f.spare = batch{buf: b.buf[:0], ends: b.ends[:0], waiters: b.waiters[:0], records: b.records[:0]}
		if cap(b.buf) > maxSpareBuffer {
			f.spare.buf = nil
		}
		e.mu.Unlock()
		if closing {
			return
		}
	}
}

// queued is the number of appenders waiting for the next group.
func (f *FileStore) queued() int {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return len(f.pending.waiters)
}

// maxSpareBuffer bounds the group buffer kept for reuse.
const maxSpareBuffer = 4 << 20

// write appends one group to the log. On failure the store is failed for good.
func (f *FileStore) write(b *batch) error {
	start := 0
	for _, end := range b.ends {
		b.records = append(b.records, b.buf[start:end])
		start = end
	}
	_, err := f.log.Append(context.Background(), b.records...)
	clear(b.records)
	f.syncs.Add(1)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%w: %w", ErrFailed, err)
	f.e.mu.Lock()
	if f.failed == nil {
		f.failed = err
	}
	f.e.mu.Unlock()
	return err
}

// ReadStream implements Store.ReadStream.
func (f *FileStore) ReadStream(ctx context.Context, stream string, from uint64, dir Direction) iter.Seq2[Event, error] {
	return f.e.readStream(ctx, stream, from, dir)
}

// ReadAll implements Store.ReadAll.
func (f *FileStore) ReadAll(ctx context.Context, from uint64) iter.Seq2[Event, error] {
	return f.e.readAll(ctx, from)
}

// Subscribe implements Store.Subscribe.
func (f *FileStore) Subscribe(ctx context.Context, from uint64) iter.Seq2[Event, error] {
	return f.e.subscribe(ctx, from)
}

// Version returns the version of stream: the version of its last event, or
// 0 if it has none.
func (f *FileStore) Version(stream string) uint64 { return f.e.version(stream) }

// Stats returns a snapshot of the store's counters.
func (f *FileStore) Stats() Stats {
	s := f.e.stats()
	s.Syncs = f.syncs.Load()
	return s
}

// LoadSnapshot implements SnapshotStore. The returned Data is shared: do not
// modify it. It returns ErrClosed or the context's error.
func (f *FileStore) LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, false, err
	}
	if f.e.closed.Load() {
		return Snapshot{}, false, ErrClosed
	}
	f.snapMu.RLock()
	snap, ok := f.snapshots[stream]
	f.snapMu.RUnlock()
	return snap, ok, nil
}

// SaveSnapshot implements SnapshotStore: it writes the snapshot to the log
// and returns once the log has acknowledged it. Errors: ErrInvalidEvent or
// ErrEventTooLarge (wrapped) for an empty or long stream name or schema or
// data larger than FileConfig.MaxSnapshotSize, ErrClosed, ErrFailed, or an
// error wrapping the context's error (the snapshot may then be saved or not).
func (f *FileStore) SaveSnapshot(ctx context.Context, snap Snapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case snap.Stream == "" || len(snap.Stream) > MaxNameSize || len(snap.Schema) > MaxNameSize:
		return fmt.Errorf("%w: snapshot needs a stream name and schema of at most %d bytes", ErrInvalidEvent, MaxNameSize)
	case len(snap.Data) > f.maxSnapshot:
		return fmt.Errorf("%w: snapshot of %d bytes, limit %d", ErrEventTooLarge, len(snap.Data), f.maxSnapshot)
	}
	snap.Data = append([]byte(nil), snap.Data...)
	e := f.e
	e.mu.Lock()
	if err := f.admit(ctx); err != nil {
		e.mu.Unlock()
		return err
	}
	f.pending.buf = appendSnapshotRecord(f.pending.buf, &snap)
	f.pending.ends = append(f.pending.ends, len(f.pending.buf))
	w := f.getWaiter()
	f.pending.waiters = append(f.pending.waiters, w)
	e.mu.Unlock()
	f.keepSnapshot(snap)
	f.wakeWriter()
	select {
	case err := <-w.ch:
		f.waiters.Put(w)
		return err
	case <-ctx.Done():
		return fmt.Errorf("eventsource: saving snapshot of %q: outcome unknown: %w", snap.Stream, ctx.Err())
	}
}

// keepSnapshot records snap as the stream's snapshot unless a newer one is kept.
func (f *FileStore) keepSnapshot(snap Snapshot) {
	f.snapMu.Lock()
	defer f.snapMu.Unlock()
	if old, ok := f.snapshots[snap.Stream]; ok && old.Version > snap.Version {
		return
	}
	f.snapshots[snap.Stream] = snap
}

// Close writes the appends already accepted, stops the writer, closes the
// log and ends open subscriptions with ErrClosed. Later calls to the store
// return ErrClosed; closing again returns nil. It returns an error wrapping
// ErrFailed if the log failed at any time, since acknowledged data may then
// be lost.
func (f *FileStore) Close() error {
	e := f.e
	e.mu.Lock()
	if f.closed {
		e.mu.Unlock()
		return nil
	}
	f.closed = true
	e.mu.Unlock()
	f.wakeWriter() // its next round sees closed and is its last
	<-f.done
	err := f.log.Close()
	e.close()
	if err != nil {
		return fmt.Errorf("%w: closing the log: %w", ErrFailed, err)
	}
	return nil
}
