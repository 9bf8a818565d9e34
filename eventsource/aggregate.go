package eventsource

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
)

// NewID returns a random event ID: 26 characters carrying 128 random bits.
func NewID() string { return rand.Text() }

// Repository defaults.
const (
	// DefaultSnapshotEvery is RepositoryConfig.SnapshotEvery when zero.
	DefaultSnapshotEvery = 100
	// DefaultMaxAttempts is RepositoryConfig.MaxAttempts when zero.
	DefaultMaxAttempts = 3
)

// RepositoryConfig configures a Repository of aggregates whose state has
// type S. Store, Codec and Apply are required; zero values of the other
// fields mean the defaults in their comments.
type RepositoryConfig[S any] struct {
	// Store holds the events; required.
	Store Store
	// Codec encodes recorded events and decodes (and upcasts) stored ones;
	// required.
	Codec *Codec
	// Apply folds one decoded event into the state; required. It must be
	// deterministic: loading replays it over stored events. Its error stops
	// a Load or a Record and is returned unchanged.
	Apply func(state *S, event any) error

	// Snapshots stores snapshots; nil disables them.
	Snapshots SnapshotStore
	// SnapshotEvery saves a snapshot when a Save takes the stream at least
	// this many versions past the last snapshot; 0 = DefaultSnapshotEvery (100).
	SnapshotEvery uint64
	// SnapshotSchema tags saved snapshots; Load ignores snapshots with
	// another tag. Change it when S changes incompatibly.
	SnapshotSchema string
	// EncodeState and DecodeState convert the state for snapshots; nil =
	// encoding/json (which sees only exported fields of S).
	EncodeState func(S) ([]byte, error)
	DecodeState func([]byte) (S, error)
	// OnSnapshotError, if set, is told about a snapshot that could not be
	// loaded, decoded or saved; the operation carries on without it. It is
	// called synchronously from Load or Save, outside any lock.
	OnSnapshotError func(stream string, err error)

	// MaxAttempts bounds the tries of Update under version conflicts;
	// 0 = DefaultMaxAttempts (3).
	MaxAttempts int
}

// Validate reports a config that NewRepository would reject.
func (c RepositoryConfig[S]) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("eventsource: RepositoryConfig.Store is required")
	case c.Codec == nil:
		return errors.New("eventsource: RepositoryConfig.Codec is required")
	case c.Apply == nil:
		return errors.New("eventsource: RepositoryConfig.Apply is required")
	case c.MaxAttempts < 0:
		return errors.New("eventsource: RepositoryConfig.MaxAttempts is negative")
	case (c.EncodeState == nil) != (c.DecodeState == nil):
		return errors.New("eventsource: RepositoryConfig needs both EncodeState and DecodeState, or neither")
	}
	return nil
}

// Repository loads and saves aggregates: values of type S rebuilt from the
// events of one stream. It is safe for concurrent use; an Aggregate is not.
type Repository[S any] struct {
	cfg RepositoryConfig[S]

	loads, replayed, saves, retries, snapshots, snapshotErrors atomic.Uint64
}

// RepositoryStats is a snapshot of a Repository's counters.
type RepositoryStats struct {
	Loads          uint64 // successful loads
	Replayed       uint64 // events applied by loads (fewer with snapshots)
	Saves          uint64 // saves that appended events
	Retries        uint64 // Update attempts repeated after a version conflict
	Snapshots      uint64 // snapshots saved
	SnapshotErrors uint64 // snapshots that could not be loaded, decoded or saved
}

// Stats returns a snapshot of the repository's counters.
func (r *Repository[S]) Stats() RepositoryStats {
	return RepositoryStats{
		Loads:          r.loads.Load(),
		Replayed:       r.replayed.Load(),
		Saves:          r.saves.Load(),
		Retries:        r.retries.Load(),
		Snapshots:      r.snapshots.Load(),
		SnapshotErrors: r.snapshotErrors.Load(),
	}
}

// NewRepository returns a repository. It panics if cfg is invalid.
func NewRepository[S any](cfg RepositoryConfig[S]) *Repository[S] {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = DefaultSnapshotEvery
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.EncodeState == nil {
		cfg.EncodeState = func(s S) ([]byte, error) { return json.Marshal(s) }
		cfg.DecodeState = func(data []byte) (S, error) {
			var s S
			err := json.Unmarshal(data, &s)
			return s, err
		}
	}
	return &Repository[S]{cfg: cfg}
}

// Aggregate is the state of one stream at a version, plus the events
// recorded on it since it was loaded. It is not safe for concurrent use.
type Aggregate[S any] struct {
	// Stream is the aggregate's stream.
	Stream string
	// Version is the stream version State includes, without the recorded
	// events; Save expects the stream to still be at it.
	Version uint64
	// State is the folded state, including the recorded events.
	State S

	repo            *Repository[S]
	pending         []EventData
	snapshotVersion uint64
	err             error
}

// Pending returns the number of recorded events not yet saved.
func (a *Aggregate[S]) Pending() int { return len(a.pending) }

// Record encodes each event with the codec, applies it to State, and keeps
// it for the next Save under a fresh ID. If encoding fails nothing is
// recorded. If Apply fails, State may be partly updated, so the aggregate is
// spoiled: Record and Save return that error from then on; load it again.
func (a *Aggregate[S]) Record(events ...any) error {
	if a.err != nil {
		return a.err
	}
	encoded := make([]EventData, 0, len(events))
	for _, ev := range events {
		data, err := a.repo.cfg.Codec.Encode(ev)
		if err != nil {
			return err
		}
		data.ID = NewID()
		encoded = append(encoded, data)
	}
	for i, ev := range events {
		if err := a.repo.cfg.Apply(&a.State, ev); err != nil {
			a.err = fmt.Errorf("eventsource: aggregate %q spoiled by a failed apply of event %d: %w", a.Stream, i, err)
			return err
		}
	}
	a.pending = append(a.pending, encoded...)
	return nil
}

// Load returns the aggregate of stream: the newest usable snapshot, if
// any, with the later events applied. A stream without events gives the
// zero state at version 0. Errors: the store's read errors, the codec's
// decoding errors, Apply's error, or ErrCorrupt (wrapped) if the stream's
// versions are not consecutive.
func (r *Repository[S]) Load(ctx context.Context, stream string) (*Aggregate[S], error) {
	a := &Aggregate[S]{Stream: stream, repo: r}
	r.loadSnapshot(ctx, a)
	dec := decoder{table: r.cfg.Codec.load()}
	from := a.Version
	for ev, err := range r.cfg.Store.ReadStream(ctx, stream, a.Version+1, Forward) {
		if err != nil {
			return nil, err
		}
		if ev.Version != a.Version+1 {
			return nil, fmt.Errorf("%w: stream %q jumps from version %d to %d", ErrCorrupt, stream, a.Version, ev.Version)
		}
		data, err := dec.decode(&ev)
		if err != nil {
			return nil, err
		}
		if err := r.cfg.Apply(&a.State, data); err != nil {
			return nil, err
		}
		a.Version = ev.Version
	}
	r.loads.Add(1)
	r.replayed.Add(a.Version - from)
	return a, nil
}

// loadSnapshot starts a from the stream's snapshot when there is a usable
// one. Snapshot trouble is reported and otherwise ignored.
func (r *Repository[S]) loadSnapshot(ctx context.Context, a *Aggregate[S]) {
	if r.cfg.Snapshots == nil {
		return
	}
	snap, ok, err := r.cfg.Snapshots.LoadSnapshot(ctx, a.Stream)
	if err != nil {
		r.snapshotError(a.Stream, err)
		return
	}
	if !ok || snap.Schema != r.cfg.SnapshotSchema || snap.Version == 0 {
		return
	}
	state, err := r.cfg.DecodeState(snap.Data)
	if err != nil {
		r.snapshotError(a.Stream, fmt.Errorf("%w: snapshot at version %d: %w", ErrCorrupt, snap.Version, err))
		return
	}
	a.State, a.Version, a.snapshotVersion = state, snap.Version, snap.Version
}

func (r *Repository[S]) snapshotError(stream string, err error) {
	r.snapshotErrors.Add(1)
	if r.cfg.OnSnapshotError != nil {
		r.cfg.OnSnapshotError(stream, err)
	}
}

// Save appends the recorded events with Exact(a.Version) as the expected
// version, then advances a.Version and, when due, saves a snapshot. With
// nothing recorded it does nothing. On error the events stay recorded with
// their IDs, so calling Save again after a timeout is safe: the store
// recognises a retry. Errors: those of Store.Append (a *ConflictError means
// someone else wrote the stream: load it again), or the aggregate's spoiled
// error.
func (r *Repository[S]) Save(ctx context.Context, a *Aggregate[S]) (AppendResult, error) {
	if a.repo != r {
		panic("eventsource: Save of an aggregate from another repository")
	}
	if a.err != nil {
		return AppendResult{}, a.err
	}
	if len(a.pending) == 0 {
		return AppendResult{Version: a.Version}, nil
	}
	res, err := r.cfg.Store.Append(ctx, a.Stream, Exact(a.Version), a.pending...)
	if err != nil {
		return res, err
	}
	a.Version = res.Version
	a.pending = nil
	r.saves.Add(1)
	if r.cfg.Snapshots != nil && a.Version-a.snapshotVersion >= r.cfg.SnapshotEvery {
		r.saveSnapshot(ctx, a)
	}
	return res, nil
}

func (r *Repository[S]) saveSnapshot(ctx context.Context, a *Aggregate[S]) {
	data, err := r.cfg.EncodeState(a.State)
	if err == nil {
		err = r.cfg.Snapshots.SaveSnapshot(ctx, Snapshot{Stream: a.Stream, Version: a.Version, Schema: r.cfg.SnapshotSchema, Data: data})
	}
	if err != nil {
		r.snapshotError(a.Stream, err)
		return
	}
	r.snapshots.Add(1)
	a.snapshotVersion = a.Version
}

// Update loads the aggregate of stream, runs fn on it, and saves what fn
// recorded. When the save meets a version conflict it starts again with a
// fresh load, up to MaxAttempts tries in all, so fn must have no effects
// beyond the aggregate. It returns the saved aggregate. Errors: fn's error
// unchanged (nothing is saved), Load's and Save's errors, and the last
// *ConflictError when every try conflicted.
func (r *Repository[S]) Update(ctx context.Context, stream string, fn func(a *Aggregate[S]) error) (*Aggregate[S], error) {
	var err error
	for attempt := range r.cfg.MaxAttempts {
		if attempt > 0 {
			r.retries.Add(1)
		}
		var a *Aggregate[S]
		a, err = r.Load(ctx, stream)
		if err != nil {
			return nil, err
		}
		if err = fn(a); err != nil {
			return nil, err
		}
		_, err = r.Save(ctx, a)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, err
		}
	}
	return nil, err
}
