package eventsource

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

type account struct {
	Owner   string
	Balance int
	Events  int
}

type opened struct{ Owner string }
type deposited struct{ Amount int }
type withdrawn struct{ Amount int }

var errOverdrawn = errors.New("overdrawn")

func applyAccount(a *account, ev any) error {
	switch e := ev.(type) {
	case opened:
		a.Owner = e.Owner
	case deposited:
		a.Balance += e.Amount
	case withdrawn:
		if e.Amount > a.Balance {
			return errOverdrawn
		}
		a.Balance -= e.Amount
	default:
		return fmt.Errorf("unexpected event %T", ev)
	}
	a.Events++
	return nil
}

func accountCodec() *Codec {
	c := &Codec{}
	RegisterJSON[opened](c, "Opened")
	RegisterJSON[deposited](c, "Deposited")
	RegisterJSON[withdrawn](c, "Withdrawn")
	return c
}

func accountRepo(store Store, snaps SnapshotStore, every uint64) *Repository[account] {
	return NewRepository(RepositoryConfig[account]{
		Store:         store,
		Codec:         accountCodec(),
		Apply:         applyAccount,
		Snapshots:     snaps,
		SnapshotEvery: every,
	})
}

func TestRepositoryLoadSave(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore(MemoryConfig{})
	repo := accountRepo(store, nil, 0)

	a, err := repo.Load(ctx, "acc-1")
	require.NoError(t, err, "loading a new aggregate")
	assert.Equal(t, uint64(0), a.Version, "new aggregate is at version 0")
	assert.Equal(t, account{}, a.State, "new aggregate has the zero state")

	require.NoError(t, a.Record(opened{Owner: "ann"}, deposited{Amount: 10}), "record")
	assert.Equal(t, 10, a.State.Balance, "Record applies at once")
	assert.Equal(t, 2, a.Pending(), "two pending events")
	res, err := repo.Save(ctx, a)
	require.NoError(t, err, "save")
	assert.Equal(t, uint64(2), res.Version, "stream version after save")
	assert.Equal(t, uint64(2), a.Version, "aggregate version advanced")
	assert.Equal(t, 0, a.Pending(), "nothing pending after save")

	res, err = repo.Save(ctx, a)
	require.NoError(t, err, "saving with nothing recorded")
	assert.Equal(t, uint64(2), res.Version, "empty save reports the version")

	b, err := repo.Load(ctx, "acc-1")
	require.NoError(t, err, "reload")
	assert.Equal(t, account{Owner: "ann", Balance: 10, Events: 2}, b.State, "reloaded state")
	assert.Equal(t, uint64(2), b.Version, "reloaded version")
	for ev, err := range store.ReadStream(ctx, "acc-1", 0, Forward) {
		require.NoError(t, err, "read")
		assert.NotEmpty(t, ev.ID, "saved events carry ids")
	}
}

func TestRepositoryConflictAndUpdate(t *testing.T) {
	ctx := context.Background()
	repo := accountRepo(NewMemoryStore(MemoryConfig{}), nil, 0)
	_, err := repo.Update(ctx, "acc", func(a *Aggregate[account]) error {
		return a.Record(opened{Owner: "bo"}, deposited{Amount: 100})
	})
	require.NoError(t, err, "open the account")

	a, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load a")
	b, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load b")
	require.NoError(t, a.Record(withdrawn{Amount: 60}), "a withdraws")
	require.NoError(t, b.Record(withdrawn{Amount: 60}), "b withdraws")
	_, err = repo.Save(ctx, a)
	require.NoError(t, err, "first writer wins")
	_, err = repo.Save(ctx, b)
	require.ErrorIs(t, err, ErrVersionConflict, "second writer conflicts")

	_, err = repo.Update(ctx, "acc", func(a *Aggregate[account]) error {
		return a.Record(withdrawn{Amount: 60})
	})
	require.ErrorIs(t, err, errOverdrawn, "Update returns fn's error unchanged")

	calls := 0
	interfere := true
	got, err := repo.Update(ctx, "acc", func(a *Aggregate[account]) error {
		calls++
		if interfere {
			interfere = false
			// Another writer sneaks in between this load and the save.
			_, err := repo.Update(ctx, "acc", func(o *Aggregate[account]) error { return o.Record(deposited{Amount: 5}) })
			require.NoError(t, err, "interfering update")
		}
		return a.Record(withdrawn{Amount: 30})
	})
	require.NoError(t, err, "Update retries after a conflict")
	assert.Equal(t, 2, calls, "fn ran again on the fresh state")
	assert.Equal(t, uint64(1), repo.Stats().Retries, "one conflict retried")
	assert.Equal(t, 15, got.State.Balance, "100 - 60 + 5 - 30")
}

func TestRepositoryUpdateGivesUp(t *testing.T) {
	ctx := context.Background()
	repo := NewRepository(RepositoryConfig[account]{
		Store:       NewMemoryStore(MemoryConfig{}),
		Codec:       accountCodec(),
		Apply:       applyAccount,
		MaxAttempts: 2,
	})
	calls := 0
	_, err := repo.Update(ctx, "acc", func(a *Aggregate[account]) error {
		calls++
		_, err := repo.Update(ctx, "acc", func(o *Aggregate[account]) error { return o.Record(deposited{Amount: 1}) })
		require.NoError(t, err, "interfering update")
		return a.Record(deposited{Amount: 2})
	})
	require.ErrorIs(t, err, ErrVersionConflict, "every attempt conflicted")
	assert.Equal(t, 2, calls, "MaxAttempts bounds the tries")
}

// flakyStore appends and then reports a timeout, like a network store whose
// reply was lost.
type flakyStore struct {
	Store
	failNext bool
}

func (f *flakyStore) Append(ctx context.Context, stream string, exp ExpectedVersion, events ...EventData) (AppendResult, error) {
	res, err := f.Store.Append(ctx, stream, exp, events...)
	if err == nil && f.failNext {
		f.failNext = false
		return AppendResult{}, context.DeadlineExceeded
	}
	return res, err
}

func TestRepositorySaveRetryIsIdempotent(t *testing.T) {
	ctx := context.Background()
	mem := NewMemoryStore(MemoryConfig{})
	store := &flakyStore{Store: mem, failNext: true}
	repo := accountRepo(store, nil, 0)
	a, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load")
	require.NoError(t, a.Record(opened{Owner: "cy"}, deposited{Amount: 3}), "record")
	_, err = repo.Save(ctx, a)
	require.ErrorIs(t, err, context.DeadlineExceeded, "first save loses its reply")
	assert.Equal(t, 2, a.Pending(), "events stay pending after a failed save")
	res, err := repo.Save(ctx, a)
	require.NoError(t, err, "retrying the save")
	assert.True(t, res.Deduplicated, "the store recognised the retry")
	assert.Equal(t, uint64(2), a.Version, "version after the retry")
	assert.Equal(t, uint64(2), mem.Version("acc"), "events written once")
}

func TestRepositoryApplyErrors(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore(MemoryConfig{})
	repo := accountRepo(store, nil, 0)
	a, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load")
	require.ErrorIs(t, a.Record(withdrawn{Amount: 1}), errOverdrawn, "Record returns Apply's error")
	require.ErrorIs(t, a.Record(deposited{Amount: 1}), errOverdrawn, "a spoiled aggregate refuses more events")
	_, err = repo.Save(ctx, a)
	require.ErrorIs(t, err, errOverdrawn, "a spoiled aggregate cannot be saved")
	assert.Equal(t, uint64(0), store.Version("acc"), "nothing written")

	require.ErrorIs(t, a.Record(struct{}{}), errOverdrawn, "still spoiled")
	b, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load again")
	require.ErrorIs(t, b.Record(struct{ X int }{}), ErrUnknownEventType, "unregistered event type")
	assert.Equal(t, 0, b.Pending(), "a failed encode records nothing")

	// A stored event that Apply rejects stops Load.
	data, err := accountCodec().Encode(withdrawn{Amount: 5})
	require.NoError(t, err, "encode")
	_, err = store.Append(ctx, "bad", Any, data)
	require.NoError(t, err, "append")
	_, err = repo.Load(ctx, "bad")
	require.ErrorIs(t, err, errOverdrawn, "Load returns Apply's error")

	_, err = store.Append(ctx, "unknown", Any, EventData{Type: "Closed"})
	require.NoError(t, err, "append")
	_, err = repo.Load(ctx, "unknown")
	require.ErrorIs(t, err, ErrUnknownEventType, "Load reports an unknown event type")
}

// gapStore returns a stream whose versions jump.
type gapStore struct{ Store }

func (gapStore) ReadStream(ctx context.Context, stream string, from uint64, dir Direction) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		data, _ := accountCodec().Encode(deposited{Amount: 1})
		if yield(Event{Stream: stream, Type: data.Type, Data: data.Data, Version: 1}, nil) {
			yield(Event{Stream: stream, Type: data.Type, Data: data.Data, Version: 3}, nil)
		}
	}
}

func TestRepositoryDetectsVersionGap(t *testing.T) {
	repo := accountRepo(gapStore{}, nil, 0)
	_, err := repo.Load(context.Background(), "acc")
	require.ErrorIs(t, err, ErrCorrupt, "a version gap is reported as corruption")
}

// countingApply counts the events applied, to see what a load replays.
type countingApply struct{ n int }

func (c *countingApply) apply(a *account, ev any) error {
	c.n++
	return applyAccount(a, ev)
}

func TestRepositorySnapshots(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore(MemoryConfig{})
	snaps := &MemorySnapshots{}
	counter := &countingApply{}
	var snapErrs []error
	cfg := RepositoryConfig[account]{
		Store:           store,
		Codec:           accountCodec(),
		Apply:           counter.apply,
		Snapshots:       snaps,
		SnapshotEvery:   4,
		SnapshotSchema:  "v1",
		OnSnapshotError: func(stream string, err error) { snapErrs = append(snapErrs, err) },
	}
	repo := NewRepository(cfg)
	for i := range 10 {
		_, err := repo.Update(ctx, "acc", func(a *Aggregate[account]) error {
			return a.Record(deposited{Amount: i})
		})
		require.NoError(t, err, "update %d", i)
	}
	snap, ok, err := snaps.LoadSnapshot(ctx, "acc")
	require.NoError(t, err, "load snapshot")
	require.True(t, ok, "a snapshot was saved")
	assert.Equal(t, uint64(8), snap.Version, "snapshots at 4 and 8 versions")
	assert.Equal(t, 1, snaps.Len(), "one stream has a snapshot")
	st := repo.Stats()
	assert.Equal(t, RepositoryStats{Loads: 10, Replayed: 0 + 1 + 2 + 3 + 0 + 1 + 2 + 3 + 0 + 1, Saves: 10, Snapshots: 2}, st,
		"ten updates, each replaying the events since the last snapshot")
	assert.Equal(t, "v1", snap.Schema, "schema tag")

	counter.n = 0
	a, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load from snapshot")
	assert.Equal(t, 2, counter.n, "only the events after the snapshot are replayed")
	assert.Equal(t, account{Balance: 45, Events: 10}, a.State, "state from snapshot plus events")
	assert.Equal(t, uint64(10), a.Version, "version")

	cfg.SnapshotSchema = "v2"
	counter.n = 0
	a, err = NewRepository(cfg).Load(ctx, "acc")
	require.NoError(t, err, "load with another schema")
	assert.Equal(t, 10, counter.n, "a snapshot of another schema is ignored")
	assert.Equal(t, 45, a.State.Balance, "same state from a full replay")

	require.NoError(t, snaps.SaveSnapshot(ctx, Snapshot{Stream: "acc", Version: 9, Schema: "v1", Data: []byte("{not json")}), "store a broken snapshot")
	counter.n = 0
	a, err = repo.Load(ctx, "acc")
	require.NoError(t, err, "a broken snapshot does not fail the load")
	assert.Equal(t, 10, counter.n, "full replay instead")
	assert.Equal(t, 45, a.State.Balance, "state")
	require.Len(t, snapErrs, 1, "the broken snapshot was reported")
	assert.ErrorIs(t, snapErrs[0], ErrCorrupt, "reported as corrupt")

	require.NoError(t, snaps.SaveSnapshot(ctx, Snapshot{Stream: "acc", Version: 2, Schema: "v1", Data: []byte("{}")}), "an older snapshot")
	snap, _, _ = snaps.LoadSnapshot(ctx, "acc")
	assert.Equal(t, uint64(9), snap.Version, "an older snapshot never replaces a newer one")
}

type failingSnapshots struct{ err error }

func (f failingSnapshots) LoadSnapshot(context.Context, string) (Snapshot, bool, error) {
	return Snapshot{}, false, f.err
}
func (f failingSnapshots) SaveSnapshot(context.Context, Snapshot) error { return f.err }

func TestRepositorySnapshotStoreFailures(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("disk gone")
	var reported []error
	repo := NewRepository(RepositoryConfig[account]{
		Store:           NewMemoryStore(MemoryConfig{}),
		Codec:           accountCodec(),
		Apply:           applyAccount,
		Snapshots:       failingSnapshots{boom},
		SnapshotEvery:   1,
		OnSnapshotError: func(_ string, err error) { reported = append(reported, err) },
	})
	a, err := repo.Update(ctx, "acc", func(a *Aggregate[account]) error { return a.Record(deposited{Amount: 7}) })
	require.NoError(t, err, "snapshot failures do not fail the update")
	assert.Equal(t, 7, a.State.Balance, "state")
	require.Len(t, reported, 2, "the failed load and the failed save were reported")
	assert.Equal(t, uint64(2), repo.Stats().SnapshotErrors, "both counted")
	for _, err := range reported {
		assert.ErrorIs(t, err, boom, "the snapshot store's error is passed on")
	}
}

func TestRepositoryConfigValidate(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{})
	ok := RepositoryConfig[account]{Store: store, Codec: &Codec{}, Apply: applyAccount}
	require.NoError(t, ok.Validate(), "a complete config is valid")
	enc := func(account) ([]byte, error) { return nil, nil }
	tests := []struct {
		name string
		edit func(c *RepositoryConfig[account])
	}{
		{"no store", func(c *RepositoryConfig[account]) { c.Store = nil }},
		{"no codec", func(c *RepositoryConfig[account]) { c.Codec = nil }},
		{"no apply", func(c *RepositoryConfig[account]) { c.Apply = nil }},
		{"negative attempts", func(c *RepositoryConfig[account]) { c.MaxAttempts = -1 }},
		{"encoder without decoder", func(c *RepositoryConfig[account]) { c.EncodeState = enc }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			require.Error(t, cfg.Validate(), "config should be invalid")
			require.Panics(t, func() { NewRepository(cfg) }, "NewRepository panics on an invalid config")
		})
	}
	other := accountRepo(store, nil, 0)
	a, err := other.Load(context.Background(), "x")
	require.NoError(t, err, "load")
	require.Panics(t, func() { _, _ = NewRepository(ok).Save(context.Background(), a) }, "saving through another repository is a programming error")
}

// TestRepositorySnapshotEquivalence checks that loading through snapshots
// always gives the state and version a full replay gives, whatever the
// snapshot interval and however the events were split into saves.
func TestRepositorySnapshotEquivalence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		store := NewMemoryStore(MemoryConfig{})
		every := rapid.Uint64Range(1, 6).Draw(t, "every")
		withSnaps := accountRepo(store, &MemorySnapshots{}, every)
		plain := accountRepo(store, nil, 0)
		saves := rapid.SliceOfN(rapid.SliceOfN(rapid.IntRange(0, 50), 1, 5), 0, 12).Draw(t, "saves")
		for _, amounts := range saves {
			_, err := withSnaps.Update(ctx, "acc", func(a *Aggregate[account]) error {
				for _, n := range amounts {
					if err := a.Record(deposited{Amount: n}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
		}
		viaSnap, err := withSnaps.Load(ctx, "acc")
		if err != nil {
			t.Fatalf("load via snapshots: %v", err)
		}
		full, err := plain.Load(ctx, "acc")
		if err != nil {
			t.Fatalf("full load: %v", err)
		}
		if viaSnap.State != full.State || viaSnap.Version != full.Version {
			t.Fatalf("snapshot load %+v@%d differs from full replay %+v@%d", viaSnap.State, viaSnap.Version, full.State, full.Version)
		}
	})
}
