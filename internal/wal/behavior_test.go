package wal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

// openMem opens a log on a fresh in-memory file system.
func openMem(t *testing.T, opts wal.Options) (*wal.Log, *crashfs.FS) {
	t.Helper()
	fsys := crashfs.New()
	opts.Dir, opts.FS = crashDir, fsys
	l, err := wal.Open(opts)
	require.NoError(t, err, "Open on an empty file system must succeed")
	return l, fsys
}

// readAll copies every record from index from.
func readAll(t *testing.T, l *wal.Log, from uint64) [][]byte {
	t.Helper()
	var out [][]byte
	for r, err := range l.Records(from) {
		require.NoError(t, err, "Records(%d) must not fail", from)
		out = append(out, bytes.Clone(r.Data))
	}
	return out
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts wal.Options
		bad  bool
	}{
		{"defaults", wal.Options{Dir: "d"}, false},
		{"all set", wal.Options{Dir: "d", SegmentSize: 1 << 20, Sync: wal.SyncInterval, SyncInterval: time.Second, MaxRecordSize: 1 << 10}, false},
		{"no dir", wal.Options{}, true},
		{"negative segment", wal.Options{Dir: "d", SegmentSize: -1}, true},
		{"tiny segment", wal.Options{Dir: "d", SegmentSize: 10}, true},
		{"unknown policy", wal.Options{Dir: "d", Sync: wal.SyncPolicy(7)}, true},
		{"negative interval", wal.Options{Dir: "d", SyncInterval: -time.Second}, true},
		{"negative record size", wal.Options{Dir: "d", MaxRecordSize: -1}, true},
		{"negative pending bound", wal.Options{Dir: "d", MaxPending: -1}, true},
		{"record size above limit", wal.Options{Dir: "d", MaxRecordSize: wal.MaxRecordSizeLimit + 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.bad {
				require.Error(t, err, "Validate must reject %+v", tt.opts)
				require.Contains(t, err.Error(), "wal: ", "errors carry the package prefix")
				_, openErr := wal.Open(tt.opts)
				require.Error(t, openErr, "Open must reject what Validate rejects")
			} else {
				require.NoError(t, err, "Validate must accept %+v", tt.opts)
			}
		})
	}
}

func TestSyncPolicyString(t *testing.T) {
	for p, want := range map[wal.SyncPolicy]string{wal.SyncAlways: "always", wal.SyncInterval: "interval",
		wal.SyncNever: "never", wal.SyncPolicy(9): "SyncPolicy(9)"} {
		assert.Equal(t, want, p.String(), "policy name")
	}
}

func TestAppendErrors(t *testing.T) {
	ctx := context.Background()
	l, _ := openMem(t, wal.Options{MaxRecordSize: 16})

	_, err := l.Append(ctx, []byte("ok"), make([]byte, 17))
	require.ErrorIs(t, err, wal.ErrRecordTooLarge, "a record above MaxRecordSize is refused")
	require.Zero(t, l.LastIndex(), "nothing of a refused batch is written")

	next, err := l.Append(ctx)
	require.NoError(t, err, "an empty batch is fine")
	require.Equal(t, uint64(1), next, "an empty batch returns the next index")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	first, err := l.Append(canceled, []byte("x"))
	require.ErrorIs(t, err, context.Canceled, "a canceled context fails Append")
	require.Zero(t, first, "and nothing is enqueued")

	first, err = l.Append(ctx, make([]byte, 16))
	require.NoError(t, err, "a record of exactly MaxRecordSize is fine")
	require.Equal(t, uint64(1), first, "refused appends consume no index")

	require.NoError(t, l.Close(), "Close")
	_, err = l.Append(ctx, []byte("late"))
	require.ErrorIs(t, err, wal.ErrClosed, "Append after Close fails")
	require.ErrorIs(t, l.Close(), wal.ErrClosed, "a second Close fails")
	for _, err := range l.Records(1) {
		require.ErrorIs(t, err, wal.ErrClosed, "Records after Close yields ErrClosed")
	}
}

func TestCanceledWhileWaitingForFsync(t *testing.T) {
	release, syncing := make(chan struct{}), make(chan struct{})
	l, fsys := openMem(t, wal.Options{})
	fsys.SetFault(func(op crashfs.Op) error {
		if op.Kind == crashfs.OpSync {
			close(syncing)
			<-release // a slow disk
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	var first uint64
	go func() {
		var err error
		first, err = l.Append(ctx, []byte("slow"))
		done <- err
	}()
	<-syncing
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled, "Append returns once its context is done")
	require.Equal(t, uint64(1), first, "the batch already had its index")
	close(release)
	require.NoError(t, l.Close(), "Close waits for the pending batch")
	l, err = wal.Open(wal.Options{Dir: crashDir, FS: fsys.Image(crashfs.DropUnsynced, 0)})
	require.NoError(t, err, "reopen")
	require.Equal(t, [][]byte{[]byte("slow")}, readAll(t, l, 1), "the batch of a canceled Append is still written whole")
	require.NoError(t, l.Close(), "Close")
}

func TestFailedSyncRefusesWrites(t *testing.T) {
	ctx := context.Background()
	eio := errors.New("EIO")
	l, fsys := openMem(t, wal.Options{})
	_, err := l.Append(ctx, []byte("kept"))
	require.NoError(t, err, "first append")
	fsys.SetFault(func(op crashfs.Op) error {
		if op.Kind == crashfs.OpSync {
			return eio
		}
		return nil
	})
	_, err = l.Append(ctx, []byte("lost"))
	require.ErrorIs(t, err, wal.ErrFailed, "a failed fsync fails the Append")
	require.ErrorIs(t, err, eio, "and carries its cause")
	fsys.SetFault(nil)
	_, err = l.Append(ctx, []byte("refused"))
	require.ErrorIs(t, err, wal.ErrFailed, "the log never retries: later appends fail even if the disk recovered")
	require.True(t, l.Stats().Failed, "Stats reports the failure")
	require.Equal(t, uint64(1), l.LastIndex(), "only the first record is acknowledged")
	require.Equal(t, [][]byte{[]byte("kept")}, readAll(t, l, 1), "acknowledged records stay readable")
	require.ErrorIs(t, l.Close(), wal.ErrFailed, "Close reports the failure")
}

func TestRecordsFromAnyIndex(t *testing.T) {
	ctx := context.Background()
	// Segments of ~100 records, so sparse points (every 64) and segment
	// boundaries fall at many different places.
	l, fsys := openMem(t, wal.Options{SegmentSize: 3 << 10})
	var want [][]byte
	for i := 0; len(want) < 400; i++ {
		batch := make([][]byte, 1+i%5)
		for k := range batch {
			batch[k] = fmt.Appendf(nil, "r%d", len(want)+k+1)
		}
		_, err := l.Append(ctx, batch...)
		require.NoError(t, err, "append")
		want = append(want, batch...)
	}
	require.Greater(t, l.Stats().Segments, 2, "the log spans several segments")
	n := uint64(len(want))
	for from := uint64(0); from <= n+2; from++ {
		got := readAll(t, l, from)
		start := min(max(from, 1), n+1) - 1
		require.Len(t, got, len(want[start:]), "Records(%d) yields every record from there on", from)
		if len(got) > 0 {
			require.Equal(t, want[start:], got, "Records(%d) yields exactly the records from there on", from)
		}
	}
	// Breaking out of the loop releases the iterator's files.
	for from := uint64(1); from <= n; from += 37 {
		for r, err := range l.Records(from) {
			require.NoError(t, err, "Records")
			require.Equal(t, from, r.Index, "the first record is the one asked for")
			break
		}
	}
	require.Equal(t, 1, fsys.OpenFiles(), "only the segment being written stays open")
	require.NoError(t, l.Close(), "Close")
	require.Zero(t, fsys.OpenFiles(), "Close releases every file")
}

func TestRecordsStopsAtLastIndexAtCallTime(t *testing.T) {
	ctx := context.Background()
	l, _ := openMem(t, wal.Options{})
	_, err := l.Append(ctx, []byte("a"), []byte("b"))
	require.NoError(t, err, "append")
	var got []uint64
	for r, err := range l.Records(1) {
		require.NoError(t, err, "Records")
		got = append(got, r.Index)
		_, err := l.Append(ctx, []byte("more"))
		require.NoError(t, err, "append while iterating")
	}
	require.Equal(t, []uint64{1, 2}, got, "records appended during iteration are not yielded")
	require.NoError(t, l.Close(), "Close")
}

func TestSegmentRollover(t *testing.T) {
	ctx := context.Background()
	l, fsys := openMem(t, wal.Options{SegmentSize: 100})
	batches := [][][]byte{
		{[]byte("0123456789")},
		{[]byte("0123456789"), []byte("0123456789")},
		{bytes.Repeat([]byte("big"), 100)}, // larger than a segment: one of its own
		{[]byte("after")},
	}
	var firsts []uint64
	for _, b := range batches {
		first, err := l.Append(ctx, b...)
		require.NoError(t, err, "append")
		firsts = append(firsts, first)
	}
	var names []string
	for _, p := range fsys.Files() {
		names = append(names, filepath.Base(p))
	}
	require.Equal(t, []string{
		"00000000000000000001.wal", // records 1-3
		"00000000000000000004.wal", // the big record alone
		"00000000000000000005.wal",
	}, names, "segments are named by their first index and roll at batch boundaries")
	require.Equal(t, []uint64{1, 2, 4, 5}, firsts, "indexes continue across segments")
	require.NoError(t, l.Close(), "Close")

	l, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys, SegmentSize: 100})
	require.NoError(t, err, "reopen")
	got := readAll(t, l, 1)
	require.Len(t, got, 5, "reopen finds every record")
	require.Equal(t, batches[2][0], got[3], "the oversized batch is intact")
	first, err := l.Append(ctx, []byte("x"))
	require.NoError(t, err, "append after reopen")
	require.Equal(t, uint64(6), first, "append after reopen continues")
	require.NoError(t, l.Close(), "Close")
}

func TestSyncNeverSyncsOnlyOnClose(t *testing.T) {
	ctx := context.Background()
	l, fsys := openMem(t, wal.Options{Sync: wal.SyncNever})
	for range 10 {
		_, err := l.Append(ctx, []byte("x"))
		require.NoError(t, err, "append")
	}
	require.Zero(t, l.Stats().Syncs, "SyncNever does not fsync on append")
	require.Equal(t, uint64(10), l.LastIndex(), "records are acknowledged after the write")
	lost, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys.Image(crashfs.DropUnsynced, 0)})
	require.NoError(t, err, "open a crash image")
	require.Zero(t, lost.LastIndex(), "unsynced records are lost in a machine crash")
	require.NoError(t, lost.Close(), "close")
	require.NoError(t, l.Close(), "Close")
	require.Equal(t, uint64(1), l.Stats().Syncs, "Close fsyncs once")
}

func TestSyncIntervalSyncsPeriodically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l, fsys := openMem(t, wal.Options{Sync: wal.SyncInterval, SyncInterval: 50 * time.Millisecond})
		// The first write syncs at once: no fsync has happened for a whole interval.
		time.Sleep(time.Second)
		_, err := l.Append(ctx, []byte("a"))
		require.NoError(t, err, "append")
		synctest.Wait()
		require.Equal(t, uint64(1), l.Stats().Syncs, "the first write after a quiet interval syncs at once")

		_, err = l.Append(ctx, []byte("b"))
		require.NoError(t, err, "append")
		_, err = l.Append(ctx, []byte("c"))
		require.NoError(t, err, "append")
		synctest.Wait()
		require.Equal(t, uint64(1), l.Stats().Syncs, "writes within the interval wait for it")
		img, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys.Image(crashfs.DropUnsynced, 0)})
		require.NoError(t, err, "open a crash image")
		require.Equal(t, uint64(1), img.LastIndex(), "a crash within the interval loses its records")
		require.NoError(t, img.Close(), "close")

		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		require.Equal(t, uint64(2), l.Stats().Syncs, "the interval's end syncs")
		img, err = wal.Open(wal.Options{Dir: crashDir, FS: fsys.Image(crashfs.DropUnsynced, 0)})
		require.NoError(t, err, "open a crash image")
		require.Equal(t, uint64(3), img.LastIndex(), "after the interval the records are durable")
		require.NoError(t, img.Close(), "close")

		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, uint64(2), l.Stats().Syncs, "an idle log does not fsync")
		require.NoError(t, l.Close(), "Close")
	})
}

func TestOversizedRecordAtRecoveryIsRefusedNotDestroyed(t *testing.T) {
	ctx := context.Background()
	l, fsys := openMem(t, wal.Options{MaxRecordSize: 1000})
	_, err := l.Append(ctx, make([]byte, 900))
	require.NoError(t, err, "append under the larger limit")
	require.NoError(t, l.Close(), "Close")
	_, err = wal.Open(wal.Options{Dir: crashDir, FS: fsys, MaxRecordSize: 100})
	var ce *wal.CorruptError
	require.ErrorAs(t, err, &ce, "a valid record above the limit makes Open fail")
	require.ErrorIs(t, err, wal.ErrCorrupt, "the error is a corruption error")
	require.Contains(t, ce.Error(), "MaxRecordSize", "the error says how to fix it")
	l, err = wal.Open(wal.Options{Dir: crashDir, FS: fsys, MaxRecordSize: 1000})
	require.NoError(t, err, "the record is still there for the right limit")
	require.Equal(t, uint64(1), l.LastIndex(), "nothing was truncated")
	require.NoError(t, l.Close(), "Close")
}

func TestHugeLengthHeaderIsNotAllocated(t *testing.T) {
	fsys := crashfs.New()
	seg := validSegment(t, [][]byte{[]byte("kept")})
	// A second frame whose length field claims almost 2 GiB.
	frame := make([]byte, 20)
	copy(frame[4:], []byte{0xff, 0xff, 0xff, 0x7f})
	writeFile(t, fsys, filepath.Join(crashDir, firstSegment), append(seg, frame...))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys})
	runtime.ReadMemStats(&after)
	require.NoError(t, err, "a torn length is repaired, not an error")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "recovery must not allocate the claimed length")
	require.Equal(t, uint64(1), l.LastIndex(), "the record before the damage is kept")
	require.Equal(t, uint64(20), l.Stats().RecoveryTruncated, "the bad frame is cut off")
	require.NoError(t, l.Close(), "Close")
}

func TestLogMustStartAtIndexOne(t *testing.T) {
	fsys := crashfs.New()
	writeFile(t, fsys, filepath.Join(crashDir, "00000000000000000005.wal"), nil)
	_, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys})
	require.ErrorIs(t, err, wal.ErrCorrupt, "a log whose first segment is missing is refused")
}

func TestConcurrentAppendersAndReaders(t *testing.T) {
	ctx := context.Background()
	l, _ := openMem(t, wal.Options{SegmentSize: 2 << 10})
	const appenders, each = 8, 100
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for i := range each {
				batch := [][]byte{fmt.Appendf(nil, "%d/%d/a", g, i), fmt.Appendf(nil, "%d/%d/b", g, i)}
				_, err := l.Append(ctx, batch...)
				assert.NoError(t, err, "concurrent Append")
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				last := l.LastIndex()
				next := uint64(1)
				for r, err := range l.Records(1) {
					if !assert.NoError(t, err, "Records during appends") {
						return
					}
					assert.Equal(t, next, r.Index, "readers see gap-free indexes")
					// A batch is visible whole: an "a" record is followed by its "b".
					if r.Index%2 == 0 {
						assert.True(t, bytes.HasSuffix(r.Data, []byte("/b")), "record %d ends a batch", r.Index)
					}
					next++
				}
				assert.GreaterOrEqual(t, next-1, last, "a reader sees at least what was acknowledged before it began")
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	got := readAll(t, l, 1)
	require.Len(t, got, appenders*each*2, "every record is there")
	seen := map[string]bool{}
	for i := 0; i < len(got); i += 2 {
		a, b := string(got[i]), string(got[i+1])
		require.Equal(t, a[:len(a)-1]+"b", b, "batches stay contiguous")
		require.False(t, seen[a], "no duplicates")
		seen[a] = true
	}
	require.Equal(t, uint64(appenders*each), l.Stats().Appends, "Stats counts appends")
	require.NoError(t, l.Close(), "Close")
}

// TestGroupCommitSharesOneFsync holds the first fsync until every other
// appender has queued: all of them must then go out in one write and one
// fsync.
func TestGroupCommitSharesOneFsync(t *testing.T) {
	ctx := context.Background()
	release, syncing := make(chan struct{}), make(chan struct{}, 1)
	l, fsys := openMem(t, wal.Options{})
	fsys.SetFault(func(op crashfs.Op) error {
		if op.Kind == crashfs.OpSync {
			select {
			case syncing <- struct{}{}:
				<-release
			default:
			}
		}
		return nil
	})
	const appenders = 32
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := l.Append(ctx, []byte("first"))
		assert.NoError(t, err, "first append")
	})
	<-syncing // the first group is in its fsync
	for range appenders - 1 {
		wg.Go(func() {
			_, err := l.Append(ctx, []byte("queued"))
			assert.NoError(t, err, "queued append")
		})
	}
	for l.Stats().Appends < appenders {
		runtime.Gosched() // wait until every appender has queued behind the fsync
	}
	before := l.Stats()
	close(release)
	wg.Wait()
	after := l.Stats()
	require.Equal(t, uint64(appenders), after.LastIndex, "every append is acknowledged")
	// The held fsync is counted when it returns, so two: it and the group's.
	require.Equal(t, uint64(2), after.Syncs-before.Syncs, "the %d queued appends share one fsync", appenders-1)
	require.Equal(t, uint64(1), after.Writes-before.Writes, "and one write")
	require.NoError(t, l.Close(), "Close")
}

func TestRecordsReportsDamageAfterOpen(t *testing.T) {
	ctx := context.Background()
	l, fsys := openMem(t, wal.Options{})
	for _, d := range []string{"first", "second", "third"} {
		_, err := l.Append(ctx, []byte(d))
		require.NoError(t, err, "append")
	}
	path := filepath.Join(crashDir, firstSegment)
	require.True(t, fsys.Damage(path, func(b []byte) {
		i := bytes.Index(b, []byte("second"))
		b[i] ^= 1 // bit rot in the second record's data
	}), "damage the segment")
	var got []string
	var failure error
	for r, err := range l.Records(1) {
		if err != nil {
			failure = err
			break
		}
		got = append(got, string(r.Data))
	}
	require.Equal(t, []string{"first"}, got, "records before the damage are yielded, the damaged one never")
	var ce *wal.CorruptError
	require.ErrorAs(t, failure, &ce, "the damage is reported")
	require.ErrorIs(t, failure, wal.ErrCorrupt, "as ErrCorrupt")
	require.Equal(t, uint64(2), ce.Index, "at the damaged record")
	require.Contains(t, ce.Error(), "checksum", "saying which check failed")
	require.NoError(t, l.Close(), "Close")
}

// TestMaxPendingHoldsBackAppenders stalls the disk and checks that an
// appender finding the queue over MaxPending waits without queueing, so
// callers that give up and retry cannot grow memory without limit.
func TestMaxPendingHoldsBackAppenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		release := make(chan struct{})
		l, fsys := openMem(t, wal.Options{MaxPending: 100})
		fsys.SetFault(func(op crashfs.Op) error {
			if op.Kind == crashfs.OpSync {
				<-release
			}
			return nil
		})
		big := bytes.Repeat([]byte("z"), 100)
		go func() {
			_, err := l.Append(ctx, []byte("a"))
			assert.NoError(t, err, "the stalled append succeeds once the disk answers")
		}()
		synctest.Wait() // the flusher is stuck in fsync

		type result struct {
			first uint64
			err   error
		}
		appendAsync := func(ctx context.Context) chan result {
			ch := make(chan result, 1)
			go func() {
				first, err := l.Append(ctx, big)
				ch <- result{first, err}
			}()
			return ch
		}
		ctxB, cancelB := context.WithCancel(ctx)
		b := appendAsync(ctxB)
		synctest.Wait()
		require.Equal(t, uint64(2), l.Stats().Appends, "an append into an empty queue is queued")
		cancelB()
		rb := <-b
		require.ErrorIs(t, rb.err, context.Canceled, "a canceled append returns")
		require.Equal(t, uint64(2), rb.first, "with its index: its outcome is unknown")

		ctxC, cancelC := context.WithCancel(ctx)
		c := appendAsync(ctxC)
		synctest.Wait()
		require.Equal(t, uint64(2), l.Stats().Appends, "an append into a full queue waits without queueing")
		cancelC()
		rc := <-c
		require.ErrorIs(t, rc.err, context.Canceled, "a held-back append returns when canceled")
		require.Zero(t, rc.first, "and nothing of it was queued")

		d := appendAsync(ctx)
		synctest.Wait()
		require.Equal(t, uint64(2), l.Stats().Appends, "still held back")
		close(release)
		rd := <-d
		require.NoError(t, rd.err, "a held-back append proceeds once the flusher takes the queue")
		require.Equal(t, uint64(3), rd.first, "after the canceled but queued one")
		require.NoError(t, l.Close(), "Close")
		require.Equal(t, uint64(3), l.Stats().LastIndex, "all queued records are written")
	})
}

// TestRealFileSystemRecovery runs recovery on the operating system's file
// system: a new nested directory, foreign files left alone, a damaged middle
// segment cut and the later segments removed.
func TestRealFileSystemRecovery(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "log")
	opts := wal.Options{Dir: dir, SegmentSize: 100}
	l, err := wal.Open(opts)
	require.NoError(t, err, "Open creates missing directories")
	for i := range 9 {
		_, err := l.Append(ctx, fmt.Appendf(nil, "record-%02d-padding-padding", i+1))
		require.NoError(t, err, "append")
	}
	require.NoError(t, l.Close(), "Close")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "NOTES"), []byte("not a segment"), 0o644), "foreign file")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "00000000000000000099.wal"), 0o755), "foreign directory")

	segs, err := filepath.Glob(filepath.Join(dir, "0*.wal"))
	require.NoError(t, err, "glob")
	require.Len(t, segs, 6, "nine 45-byte frames, two per 100-byte segment, make 5 files, plus the foreign directory")
	middle := segs[1] // holds records 3 and 4
	f, err := os.OpenFile(middle, os.O_RDWR, 0)
	require.NoError(t, err, "open middle segment")
	info, err := f.Stat()
	require.NoError(t, err, "stat")
	_, err = f.WriteAt([]byte{0xff}, info.Size()-1) // damage record 4
	require.NoError(t, err, "damage")
	require.NoError(t, f.Close(), "close")

	l, err = wal.Open(opts)
	require.NoError(t, err, "recovery")
	require.Equal(t, uint64(3), l.LastIndex(), "records before the damage are kept")
	st := l.Stats()
	require.Equal(t, 3, st.RecoveryRemoved, "the three later segments are removed")
	require.Equal(t, uint64(45), st.RecoveryTruncated, "the damaged frame is cut")
	for _, p := range segs[2:5] {
		_, err := os.Stat(p)
		require.ErrorIs(t, err, os.ErrNotExist, "%s is removed", filepath.Base(p))
	}
	_, err = os.Stat(filepath.Join(dir, "NOTES"))
	require.NoError(t, err, "foreign files are left alone")
	first, err := l.Append(ctx, []byte("after repair"))
	require.NoError(t, err, "append after repair")
	require.Equal(t, uint64(4), first, "indexes continue after the kept records")
	require.NoError(t, l.Close(), "Close")
}

// TestCloseDuringAppends closes the log while appenders run: each Append
// either is acknowledged, and then found after a reopen, or fails with
// ErrClosed and leaves nothing.
func TestCloseDuringAppends(t *testing.T) {
	ctx := context.Background()
	l, fsys := openMem(t, wal.Options{})
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d/%d", g, i)
				if _, err := l.Append(ctx, []byte(id)); err != nil {
					assert.ErrorIs(t, err, wal.ErrClosed, "appends racing Close fail only with ErrClosed")
					return
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		})
	}
	for l.Stats().Appends < 200 {
		runtime.Gosched()
	}
	require.NoError(t, l.Close(), "Close while appending")
	wg.Wait()

	l, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys.Image(crashfs.DropUnsynced, 0)})
	require.NoError(t, err, "reopen")
	found := map[string]bool{}
	for _, d := range readAll(t, l, 1) {
		found[string(d)] = true
	}
	require.Equal(t, acked, found, "exactly the acknowledged appends are in the log")
	require.NoError(t, l.Close(), "Close")
}
