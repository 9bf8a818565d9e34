package eventsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

func openFile(sync SyncPolicy) storeFactory {
	return func(t *testing.T, limits Limits) Store {
		s, err := OpenFileStore(FileConfig{Dir: t.TempDir(), Sync: sync, Limits: limits})
		require.NoError(t, err, "opening a file store in an empty directory")
		return s
	}
}

// openFileOn opens a store on the in-memory crash file system, which runs
// the same code as the real one without waiting for a disk.
func openFileOn(sync SyncPolicy) storeFactory {
	return func(t *testing.T, limits Limits) Store {
		s, err := openFileStore(FileConfig{Dir: "/db", Sync: sync, SyncInterval: time.Millisecond, Limits: limits}, crashfs.New())
		require.NoError(t, err, "opening a file store on an empty file system")
		return s
	}
}

func TestFileStore(t *testing.T) {
	t.Parallel()
	t.Run("disk", func(t *testing.T) { runStoreTests(t, openFile(SyncNever)) })
	for _, sync := range []SyncPolicy{SyncAlways, SyncInterval, SyncNever} {
		t.Run(sync.String(), func(t *testing.T) { runStoreTests(t, openFileOn(sync)) })
	}
}

func TestFileConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  FileConfig
		ok   bool
	}{
		{"minimal", FileConfig{Dir: "d"}, true},
		{"no dir", FileConfig{}, false},
		{"bad sync", FileConfig{Dir: "d", Sync: SyncPolicy(7)}, false},
		{"negative interval", FileConfig{Dir: "d", SyncInterval: -1}, false},
		{"negative segment", FileConfig{Dir: "d", SegmentSize: -1}, false},
		{"negative snapshot size", FileConfig{Dir: "d", MaxSnapshotSize: -1}, false},
		{"negative limit", FileConfig{Dir: "d", Limits: Limits{MaxEventSize: -1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok {
				require.NoError(t, err, "config should be valid")
				return
			}
			require.Error(t, err, "config should be invalid")
			_, err = OpenFileStore(tt.cfg)
			require.Error(t, err, "OpenFileStore rejects an invalid config")
		})
	}
	assert.Equal(t, "always", SyncAlways.String(), "policy name")
	assert.Equal(t, "interval", SyncInterval.String(), "policy name")
	assert.Equal(t, "never", SyncNever.String(), "policy name")
	assert.Equal(t, "SyncPolicy(9)", SyncPolicy(9).String(), "unknown policy")
}

func TestFileStoreReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := FileConfig{Dir: dir, SegmentSize: 4 << 10}
	s, err := OpenFileStore(cfg)
	require.NoError(t, err, "open")
	big := bytes.Repeat([]byte("b"), 9000)
	for i := range 50 {
		events := []EventData{{ID: fmt.Sprint("e", i), Type: "T", Data: []byte(fmt.Sprint(i)), Metadata: []byte("m")}}
		if i%10 == 0 {
			events = append(events, EventData{ID: fmt.Sprint("big", i), Type: "Big", Data: big})
		}
		_, err := s.Append(ctx, fmt.Sprint("s", i%3), Any, events...)
		require.NoError(t, err, "append %d", i)
	}
	require.NoError(t, s.SaveSnapshot(ctx, Snapshot{Stream: "s0", Version: 5, Schema: "v1", Data: []byte("state5")}), "snapshot")
	require.NoError(t, s.SaveSnapshot(ctx, Snapshot{Stream: "s0", Version: 9, Schema: "v1", Data: []byte("state9")}), "newer snapshot")
	before := collect(t, s.ReadAll(ctx, 0))
	beforeStats := s.Stats()
	require.NoError(t, s.Close(), "close")
	_, err = s.Append(ctx, "s0", Any, ed("late", "T", ""))
	require.ErrorIs(t, err, ErrClosed, "append after close")
	require.ErrorIs(t, s.SaveSnapshot(ctx, Snapshot{Stream: "s0"}), ErrClosed, "snapshot after close")
	_, _, err = s.LoadSnapshot(ctx, "s0")
	require.ErrorIs(t, err, ErrClosed, "snapshot load after close")

	segments, err := os.ReadDir(dir)
	require.NoError(t, err, "list the log")
	assert.Greater(t, len(segments), 3, "small segments roll over")

	s, err = OpenFileStore(cfg)
	require.NoError(t, err, "reopen")
	defer s.Close()
	after := collect(t, s.ReadAll(ctx, 0))
	require.Equal(t, len(before), len(after), "every event recovered")
	for i := range before {
		assert.True(t, before[i].Time.Equal(after[i].Time), "time of event %d", i)
		before[i].Time, after[i].Time = time.Time{}, time.Time{}
	}
	assert.Equal(t, before, after, "events recovered exactly")
	assert.Equal(t, beforeStats.Streams, s.Stats().Streams, "streams rebuilt")
	assert.Equal(t, beforeStats.Events, s.Stats().Events, "positions rebuilt")

	snap, ok, err := s.LoadSnapshot(ctx, "s0")
	require.NoError(t, err, "load snapshot")
	require.True(t, ok, "snapshot recovered")
	assert.Equal(t, Snapshot{Stream: "s0", Version: 9, Schema: "v1", Data: []byte("state9")}, snap, "newest snapshot recovered")

	res, err := s.Append(ctx, "s1", Any, EventData{ID: "e1", Type: "T", Data: []byte("1"), Metadata: []byte("m")})
	require.NoError(t, err, "retry of an old append after reopen")
	assert.True(t, res.Deduplicated, "ids are rebuilt, so the retry is recognised")
	res, err = s.Append(ctx, "s1", Exact(s.Version("s1")), ed("new", "T", ""))
	require.NoError(t, err, "append after reopen")
	assert.Equal(t, uint64(len(before)+1), res.Position, "positions continue without a gap")
}

func TestFileStoreSnapshots(t *testing.T) {
	ctx := context.Background()
	s, err := OpenFileStore(FileConfig{Dir: t.TempDir(), MaxSnapshotSize: 10})
	require.NoError(t, err, "open")
	defer s.Close()
	_, ok, err := s.LoadSnapshot(ctx, "x")
	require.NoError(t, err, "load missing snapshot")
	assert.False(t, ok, "no snapshot yet")
	require.ErrorIs(t, s.SaveSnapshot(ctx, Snapshot{Stream: "x", Data: make([]byte, 11)}), ErrEventTooLarge, "snapshot over the limit")
	require.ErrorIs(t, s.SaveSnapshot(ctx, Snapshot{Data: []byte("a")}), ErrInvalidEvent, "snapshot without a stream")
	require.NoError(t, s.SaveSnapshot(ctx, Snapshot{Stream: "x", Version: 3, Data: []byte("3")}), "save")
	require.NoError(t, s.SaveSnapshot(ctx, Snapshot{Stream: "x", Version: 2, Data: []byte("2")}), "save older")
	snap, _, err := s.LoadSnapshot(ctx, "x")
	require.NoError(t, err, "load")
	assert.Equal(t, uint64(3), snap.Version, "an older snapshot never replaces a newer one")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.SaveSnapshot(canceled, Snapshot{Stream: "x"}), context.Canceled, "canceled save")
	_, _, err = s.LoadSnapshot(canceled, "x")
	require.ErrorIs(t, err, context.Canceled, "canceled load")

	// A repository can keep its snapshots in the same file store.
	s2, err := OpenFileStore(FileConfig{Dir: t.TempDir()})
	require.NoError(t, err, "open")
	defer s2.Close()
	counter := &countingApply{}
	repo := NewRepository(RepositoryConfig[account]{Store: s2, Codec: accountCodec(), Apply: counter.apply, Snapshots: s2, SnapshotEvery: 2,
		OnSnapshotError: func(_ string, err error) { t.Errorf("snapshot error: %v", err) }})
	for i := range 5 {
		_, err := repo.Update(ctx, "acc", func(a *Aggregate[account]) error { return a.Record(deposited{Amount: i}) })
		require.NoError(t, err, "update")
	}
	counter.n = 0
	a, err := repo.Load(ctx, "acc")
	require.NoError(t, err, "load")
	assert.Equal(t, 1, counter.n, "one event after the snapshot at version 4")
	assert.Equal(t, 10, a.State.Balance, "state")
}

// writeRawRecord appends one record straight to the store's log.
func writeRawRecord(t *testing.T, dir string, records ...[]byte) {
	t.Helper()
	log, err := wal.Open(wal.Options{Dir: dir})
	require.NoError(t, err, "open the log")
	_, err = log.Append(context.Background(), records...)
	require.NoError(t, err, "append raw records")
	require.NoError(t, log.Close(), "close the log")
}

func TestFileStoreRefusesUndecodableLog(t *testing.T) {
	ev := EventData{ID: "a", Type: "T"}
	tests := []struct {
		name    string
		records [][]byte
	}{
		{"unknown kind", [][]byte{{0x7f, 1, 2}}},
		{"truncated event", [][]byte{appendEventRecord(nil, "s", &ev, 1, 0, false)[:5]}},
		{"version gap", [][]byte{appendEventRecord(nil, "s", &ev, 2, 0, false)}},
		{"version repeated", [][]byte{appendEventRecord(nil, "s", &ev, 1, 0, false), appendEventRecord(nil, "s", &ev, 1, 0, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRawRecord(t, dir, tt.records...)
			_, err := OpenFileStore(FileConfig{Dir: dir})
			require.ErrorIs(t, err, ErrCorrupt, "a record that does not decode stops Open")
		})
	}
}

func TestFileStoreTornTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenFileStore(FileConfig{Dir: dir})
	require.NoError(t, err, "open")
	_, err = s.Append(ctx, "s", Any, ed("a", "T", "1"), ed("b", "T", "2"))
	require.NoError(t, err, "first append")
	_, err = s.Append(ctx, "s", Any, ed("c", "T", "3"), ed("d", "T", "4"))
	require.NoError(t, err, "second append")
	require.NoError(t, s.Close(), "close")

	names, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err, "glob")
	require.Len(t, names, 1, "one segment")
	info, err := os.Stat(names[0])
	require.NoError(t, err, "stat")
	for cut := int64(1); cut < 12; cut++ {
		damaged := t.TempDir()
		content, err := os.ReadFile(names[0])
		require.NoError(t, err, "read segment")
		require.NoError(t, os.WriteFile(filepath.Join(damaged, filepath.Base(names[0])), content[:info.Size()-cut], 0o644), "write torn copy")
		s, err := OpenFileStore(FileConfig{Dir: damaged})
		require.NoError(t, err, "a torn tail is repaired at open (cut %d)", cut)
		assert.Equal(t, []string{"a", "b"}, ids(collect(t, s.ReadAll(ctx, 0))), "the torn append vanishes whole (cut %d)", cut)
		res, err := s.Append(ctx, "s", Exact(2), ed("c", "T", "3"), ed("d", "T", "4"))
		require.NoError(t, err, "the lost append can be redone")
		assert.Equal(t, uint64(4), res.Position, "at the positions it had")
		require.NoError(t, s.Close(), "close")
	}
}

// crashAppend is one step of the crash workload.
type crashAppend struct {
	stream string
	events []EventData
	res    AppendResult
	acked  bool
}

func crashWorkload() []*crashAppend {
	var ops []*crashAppend
	for i := range 14 {
		n := 1 + i%3
		op := &crashAppend{stream: fmt.Sprint("s", i%4)}
		for k := range n {
			data := bytes.Repeat([]byte{byte('a' + i)}, 10+(i*37+k*101)%400)
			op.events = append(op.events, EventData{ID: fmt.Sprintf("%d.%d", i, k), Type: "T", Data: data})
		}
		ops = append(ops, op)
	}
	return ops
}

// runCrashWorkload appends ops against fsys from concurrent writers and
// returns the acknowledged snapshots' versions by stream.
func runCrashWorkload(fsys wal.FS, ops []*crashAppend, writers int) map[string]uint64 {
	cfg := FileConfig{Dir: "/db", SegmentSize: 1 << 10}
	s, err := openFileStore(cfg, fsys)
	if err != nil {
		return nil
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	snaps := map[string]uint64{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ops); i += writers {
				op := ops[i]
				res, err := s.Append(ctx, op.stream, Any, op.events...)
				op.res, op.acked = res, err == nil
				if i%5 == 4 {
					v := uint64(i)
					if s.SaveSnapshot(ctx, Snapshot{Stream: op.stream, Version: v, Data: []byte{byte(i)}}) == nil {
						mu.Lock()
						snaps[op.stream] = max(snaps[op.stream], v)
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	_ = s.Close()
	return snaps
}

// checkRecovered opens the store on a post-crash image and checks that every
// acknowledged append is there, every append is there whole or not at all,
// and that the store works on.
func checkRecovered(t *testing.T, img wal.FS, ops []*crashAppend, snaps map[string]uint64, label string) {
	t.Helper()
	ctx := context.Background()
	s, err := openFileStore(FileConfig{Dir: "/db"}, img)
	require.NoError(t, err, "%s: reopening after the crash", label)
	defer s.Close()
	byID := map[string]Event{}
	for i, ev := range collect(t, s.ReadAll(ctx, 0)) {
		require.Equal(t, uint64(i+1), ev.Position, "%s: positions are gap-free", label)
		byID[ev.ID] = ev
	}
	attempted := 0
	for _, op := range ops {
		present := 0
		for k, want := range op.events {
			got, ok := byID[want.ID]
			if !ok {
				continue
			}
			present++
			require.Equal(t, want.Data, got.Data, "%s: data of %s", label, want.ID)
			if op.acked {
				require.Equal(t, op.res.Position-uint64(len(op.events)-1-k), got.Position, "%s: acknowledged position of %s", label, want.ID)
			}
		}
		attempted += len(op.events)
		if op.acked {
			require.Equal(t, len(op.events), present, "%s: acknowledged append of %s lost", label, op.events[0].ID)
		} else {
			require.Contains(t, []int{0, len(op.events)}, present, "%s: append %s is partly visible", label, op.events[0].ID)
		}
	}
	require.LessOrEqual(t, len(byID), attempted, "%s: nothing that was not written appears", label)
	for stream, v := range snaps {
		snap, ok, err := s.LoadSnapshot(ctx, stream)
		require.NoError(t, err, "%s: load snapshot", label)
		require.True(t, ok && snap.Version >= v, "%s: acknowledged snapshot of %s at %d lost", label, stream, v)
	}
	// Retrying every append settles the unknown ones, without duplicates.
	for _, op := range ops {
		_, err := s.Append(ctx, op.stream, Any, op.events...)
		require.NoError(t, err, "%s: retry of %s after recovery", label, op.events[0].ID)
	}
	all := collect(t, s.ReadAll(ctx, 0))
	require.Len(t, all, attempted, "%s: after the retries every event is there exactly once", label)
}

func TestFileStoreCrashAtEveryOperation(t *testing.T) {
	t.Parallel()
	for _, writers := range []int{1, 4} {
		dry := crashfs.New()
		runCrashWorkload(dry, crashWorkload(), writers)
		total := dry.Ops()
		require.Greater(t, total, 20, "the workload performs many operations")
		points := 0
		for n := 1; n <= total+1; n++ {
			for mi, mode := range crashfs.Modes {
				fsys := crashfs.New()
				fsys.CrashAt(n)
				ops := crashWorkload()
				snaps := runCrashWorkload(fsys, ops, writers)
				label := fmt.Sprintf("writers %d, crash at op %d, %v", writers, n, mode)
				checkRecovered(t, fsys.Image(mode, uint64(n*10+mi)), ops, snaps, label)
				points++
			}
		}
		t.Logf("writers %d: %d operations, %d crash points x modes checked", writers, total, points)
	}
}

func TestFileStoreSyncFailureThenCrash(t *testing.T) {
	syncs := 0
	// Fail the k-th fsync, for every k the workload reaches.
	for k := 1; ; k++ {
		fsys := crashfs.New()
		seen := 0
		boom := errors.New("injected fsync failure")
		fsys.SetFault(func(op crashfs.Op) error {
			if op.Kind == crashfs.OpSync {
				seen++
				if seen == k {
					return boom
				}
			}
			return nil
		})
		ops := crashWorkload()
		snaps := runCrashWorkload(fsys, ops, 2)
		if seen < k {
			syncs = k - 1
			break
		}
		for _, mode := range crashfs.Modes {
			checkRecovered(t, fsys.Image(mode, uint64(k)), ops, snaps, fmt.Sprintf("fsync %d fails, then %v", k, mode))
		}
	}
	require.Greater(t, syncs, 5, "the workload fsyncs many times")
	t.Logf("checked a failure of each of %d fsyncs", syncs)
}

func TestFileStoreFailedRefusesWrites(t *testing.T) {
	ctx := context.Background()
	fsys := crashfs.New()
	s, err := openFileStore(FileConfig{Dir: "/db"}, fsys)
	require.NoError(t, err, "open")
	_, err = s.Append(ctx, "s", Any, ed("a", "T", ""))
	require.NoError(t, err, "append before the failure")
	boom := errors.New("disk on fire")
	fsys.SetFault(func(op crashfs.Op) error {
		if op.Kind == crashfs.OpSync {
			return boom
		}
		return nil
	})
	_, err = s.Append(ctx, "s", Any, ed("b", "T", ""))
	require.ErrorIs(t, err, ErrFailed, "the append whose fsync failed")
	require.ErrorIs(t, err, boom, "the cause is kept")
	fsys.SetFault(nil)
	_, err = s.Append(ctx, "s", Any, ed("c", "T", ""))
	require.ErrorIs(t, err, ErrFailed, "later appends are refused even if the disk recovers")
	require.ErrorIs(t, s.SaveSnapshot(ctx, Snapshot{Stream: "s"}), ErrFailed, "snapshots too")
	assert.Equal(t, []string{"a"}, ids(collect(t, s.ReadAll(ctx, 0))), "readers never see the failed append")
	require.ErrorIs(t, s.Close(), ErrFailed, "Close reports the failure")
}

func TestFileStoreCanceledAppendOutcome(t *testing.T) {
	fsys := crashfs.New()
	s, err := openFileStore(FileConfig{Dir: "/db"}, fsys)
	require.NoError(t, err, "open")
	defer s.Close()
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	fsys.SetFault(func(op crashfs.Op) error {
		if op.Kind == crashfs.OpSync {
			select {
			case blocked <- struct{}{}:
			default:
			}
			<-release // an fsync that takes its time
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "s", NoStream, ed("a", "T", "1"))
		errs <- err
	}()
	<-blocked
	cancel()
	err = <-errs
	require.ErrorIs(t, err, context.Canceled, "a canceled append returns while its fsync is still running")
	assert.Contains(t, err.Error(), "outcome unknown", "the error says the append may still happen")
	assert.Empty(t, collect(t, s.ReadAll(context.Background(), 0)), "nothing is visible before the fsync")
	close(release)
	fsys.SetFault(nil)
	res, err := s.Append(context.Background(), "s", NoStream, ed("a", "T", "1"))
	require.NoError(t, err, "the retry succeeds")
	assert.True(t, res.Deduplicated, "the canceled append did happen, and the retry says so")
	assert.Equal(t, []string{"a"}, ids(collect(t, s.ReadAll(context.Background(), 0))), "written once")
}

// TestFileStoreMaxPending checks that while the disk stalls, appends beyond
// FileConfig.MaxPending wait, and that giving up leaves nothing behind.
func TestFileStoreMaxPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fsys := crashfs.New()
		s, err := openFileStore(FileConfig{Dir: "/db", MaxPending: 1}, fsys)
		require.NoError(t, err, "open")
		defer s.Close()
		release := make(chan struct{})
		fsys.SetFault(func(op crashfs.Op) error {
			if op.Kind == crashfs.OpSync {
				<-release // the disk stalls
			}
			return nil
		})
		ctx := context.Background()
		results := make(chan error, 2)
		appendID := func(id string) { _, err := s.Append(ctx, "s", Any, ed(id, "T", "")); results <- err }
		go appendID("a") // taken by the writer, stuck in fsync
		synctest.Wait()
		go appendID("b") // queued behind it; the queue is now full
		synctest.Wait()

		cctx, cancel := context.WithCancel(ctx)
		cerr := make(chan error, 1)
		go func() { _, err := s.Append(cctx, "s", Any, ed("c", "T", "")); cerr <- err }()
		synctest.Wait()
		select {
		case err := <-cerr:
			t.Fatalf("an append past MaxPending returned while the disk stalls: %v", err)
		default:
		}
		cancel()
		require.ErrorIs(t, <-cerr, context.Canceled, "giving up returns the context's error")

		close(release)
		require.NoError(t, <-results, "first append")
		require.NoError(t, <-results, "second append")
		fsys.SetFault(nil)
		assert.Equal(t, []string{"a", "b"}, ids(collect(t, s.ReadAll(ctx, 0))), "the abandoned append was never staged")
		res, err := s.Append(ctx, "s", Any, ed("c", "T", ""))
		require.NoError(t, err, "trying again")
		assert.False(t, res.Deduplicated, "written now, for the first time")
	})
}
