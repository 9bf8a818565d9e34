package eventsource

import (
	"context"
	"iter"
	"time"
)

// MemoryConfig configures a MemoryStore. The zero value is ready to use.
type MemoryConfig struct {
	// Limits bound each append; zero fields take the defaults.
	Limits Limits
}

// Validate reports a config that NewMemoryStore would reject.
func (c MemoryConfig) Validate() error { return c.Limits.Validate() }

// MemoryStore is a Store that keeps everything in memory: for tests, caches,
// and services that rebuild their events from elsewhere at start. It starts
// no goroutines.
//
// An append takes one mutex for validation and copying; reads and
// subscriptions take no lock on the global log and only a shared lock to
// find a stream.
type MemoryStore struct {
	e *engine
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store. It panics if cfg is invalid.
func NewMemoryStore(cfg MemoryConfig) *MemoryStore {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	return &MemoryStore{e: newEngine(cfg.Limits)}
}

// Append implements Store.Append.
func (m *MemoryStore) Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}
	if err := m.e.limits.check(stream, expected, events); err != nil {
		return AppendResult{}, err
	}
	now := time.Now().UnixNano()
	m.e.mu.Lock()
	if m.e.closed.Load() {
		m.e.mu.Unlock()
		return AppendResult{}, ErrClosed
	}
	res, err := m.e.stage(stream, expected, events, now)
	if err == nil && !res.Deduplicated {
		m.e.publish(res.Position)
		m.e.appends.Add(1)
	}
	m.e.mu.Unlock()
	return res, err
}

// ReadStream implements Store.ReadStream.
func (m *MemoryStore) ReadStream(ctx context.Context, stream string, from uint64, dir Direction) iter.Seq2[Event, error] {
	return m.e.readStream(ctx, stream, from, dir)
}

// ReadAll implements Store.ReadAll.
func (m *MemoryStore) ReadAll(ctx context.Context, from uint64) iter.Seq2[Event, error] {
	return m.e.readAll(ctx, from)
}

// Subscribe implements Store.Subscribe.
func (m *MemoryStore) Subscribe(ctx context.Context, from uint64) iter.Seq2[Event, error] {
	return m.e.subscribe(ctx, from)
}

// Version returns the version of stream: the version of its last event, or
// 0 if it has none.
func (m *MemoryStore) Version(stream string) uint64 { return m.e.version(stream) }

// Stats returns a snapshot of the store's counters.
func (m *MemoryStore) Stats() Stats { return m.e.stats() }

// Close implements Store.Close. It never fails.
func (m *MemoryStore) Close() error {
	m.e.mu.Lock()
	m.e.close()
	m.e.mu.Unlock()
	return nil
}
