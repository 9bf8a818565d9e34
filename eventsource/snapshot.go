package eventsource

import (
	"context"
	"sync"
)

// Snapshot is an aggregate's state saved at a stream version, so that
// loading it replays only the events after that version.
type Snapshot struct {
	// Stream is the aggregate's stream.
	Stream string
	// Version is the stream version whose events the state includes.
	Version uint64
	// Schema names the encoding of Data; a Repository ignores snapshots
	// whose schema is not its RepositoryConfig.SnapshotSchema.
	Schema string
	// Data is the encoded state.
	Data []byte
}

// SnapshotStore keeps the latest snapshot of each stream. A snapshot is an
// optimisation: losing one only makes the next load replay more events.
// MemorySnapshots and FileStore implement it.
type SnapshotStore interface {
	// LoadSnapshot returns the newest snapshot of stream, or false if it
	// has none.
	LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error)
	// SaveSnapshot stores snap unless the store already holds one of the
	// same stream at a higher version, so concurrent savers never move a
	// snapshot back.
	SaveSnapshot(ctx context.Context, snap Snapshot) error
}

// MemorySnapshots is a SnapshotStore in memory. The zero value is empty and
// ready for use; it is safe for concurrent use. It keeps one snapshot per
// stream; Len reports how many.
type MemorySnapshots struct {
	mu    sync.RWMutex
	byKey map[string]Snapshot
}

var _ SnapshotStore = (*MemorySnapshots)(nil)

// LoadSnapshot implements SnapshotStore. The returned Data is shared: do
// not modify it. It returns only the context's error.
func (m *MemorySnapshots) LoadSnapshot(ctx context.Context, stream string) (Snapshot, bool, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, false, err
	}
	m.mu.RLock()
	snap, ok := m.byKey[stream]
	m.mu.RUnlock()
	return snap, ok, nil
}

// SaveSnapshot implements SnapshotStore; it copies snap.Data. It returns
// only the context's error.
func (m *MemorySnapshots) SaveSnapshot(ctx context.Context, snap Snapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	snap.Data = append([]byte(nil), snap.Data...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.byKey[snap.Stream]; ok && old.Version > snap.Version {
		return nil
	}
	if m.byKey == nil {
		m.byKey = make(map[string]Snapshot)
	}
	m.byKey[snap.Stream] = snap
	return nil
}

// Len returns the number of streams with a snapshot.
func (m *MemorySnapshots) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byKey)
}
