package wal_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

const crashDir = "/data/log"

// crashBatches is the deterministic workload of the crash harness: batches
// of 1-3 records of 0-60 bytes, so that frames straddle segment limits.
func crashBatches(n int, seed uint64) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	batches := make([][][]byte, n)
	for i := range batches {
		for k := range 1 + rng.IntN(3) {
			data := fmt.Appendf(nil, "b%d.%d:", i, k)
			for range rng.IntN(50) {
				data = append(data, byte('a'+rng.IntN(26)))
			}
			batches[i] = append(batches[i], data)
		}
	}
	return batches
}

// phase is one life of the process: open the log, append batches, close.
type phase struct{ batches [][][]byte }

// history is what a run of the workload did: every batch it attempted, in
// index order, and how many of them were acknowledged.
type history struct {
	attempted [][][]byte // the batches whose Append was called, in order
	acked     int        // attempted[:acked] were acknowledged
	durable   int        // attempted[:durable] must survive any crash
	stopped   bool       // the workload hit an error and stopped
}

// recovered returns the history trimmed to the batches a recovery found,
// all of them now durable, ready to be extended by a later run.
func (h *history) recovered(batches int) *history {
	return &history{attempted: h.attempted[:batches:batches], acked: batches, durable: batches}
}

// runPhases runs the phases on fsys until the first error. Under SyncAlways
// an acknowledged batch must survive; under the other policies only the
// batches acknowledged before a clean Close must.
func runPhases(t *testing.T, fsys wal.FS, opts wal.Options, h *history, phases ...phase) *history {
	t.Helper()
	ctx := context.Background()
	opts.Dir, opts.FS = crashDir, fsys
	for _, p := range phases {
		l, err := wal.Open(opts)
		if err != nil {
			h.stopped = true
			return h
		}
		for _, b := range p.batches {
			h.attempted = append(h.attempted, b)
			first, err := l.Append(ctx, b...)
			if err != nil {
				require.ErrorIs(t, err, wal.ErrFailed, "a failed write or sync must fail Append with ErrFailed")
				_, again := l.Append(ctx, []byte("after failure"))
				require.ErrorIs(t, again, wal.ErrFailed, "a failed log must refuse every later Append")
				require.ErrorIs(t, l.Close(), wal.ErrFailed, "Close of a failed log must report the failure")
				h.stopped = true
				return h
			}
			require.Equal(t, recordsBefore(h.attempted[:len(h.attempted)-1])+1, first,
				"indexes of a serial workload are consecutive")
			h.acked = len(h.attempted)
			if opts.Sync == wal.SyncAlways {
				h.durable = h.acked
			}
		}
		if err := l.Close(); err != nil {
			require.ErrorIs(t, err, wal.ErrFailed, "Close fails only with ErrFailed")
			h.stopped = true
			return h
		}
		h.durable = h.acked
	}
	return h
}

func recordsBefore(batches [][][]byte) uint64 {
	n := uint64(0)
	for _, b := range batches {
		n += uint64(len(b))
	}
	return n
}

// verifyRecovery opens the log on a crashed image and checks the harness's
// claims: every durable batch is there, the records are a gap-free prefix of
// what was attempted, made of whole batches, with the exact bytes. It returns
// how many batches were recovered.
func verifyRecovery(t *testing.T, fsys wal.FS, opts wal.Options, h *history, what string) int {
	t.Helper()
	opts.Dir, opts.FS = crashDir, fsys
	l, err := wal.Open(opts)
	require.NoError(t, err, "%s: Open after a crash must recover", what)
	defer func() { require.NoError(t, l.Close(), "%s: Close after recovery", what) }()

	var want [][]byte
	var boundaries = map[int]int{0: 0} // records -> batches
	for i, b := range h.attempted {
		want = append(want, b...)
		boundaries[len(want)] = i + 1
	}
	got := 0
	for r, err := range l.Records(1) {
		require.NoError(t, err, "%s: reading a recovered log must not fail", what)
		require.Equal(t, uint64(got+1), r.Index, "%s: recovered indexes must be gap-free", what)
		require.Less(t, got, len(want), "%s: recovery must not invent records", what)
		require.Equal(t, want[got], r.Data, "%s: record %d must hold exactly what was appended", what, r.Index)
		got++
	}
	require.Equal(t, uint64(got), l.LastIndex(), "%s: LastIndex must match the records read", what)
	batches, whole := boundaries[got]
	require.True(t, whole, "%s: %d records recovered is not a batch boundary: a batch was torn", what, got)
	require.GreaterOrEqual(t, batches, h.durable, "%s: every acknowledged batch must be recovered", what)
	return batches
}

// countOps runs the workload without crashing and returns how many mutating
// operations it makes.
func countOps(t *testing.T, opts wal.Options, phases []phase) int {
	fsys := crashfs.New()
	h := runPhases(t, fsys, opts, &history{}, phases...)
	require.False(t, h.stopped, "the workload must succeed without crashes")
	return fsys.Ops()
}

func crashPhases() []phase {
	b := crashBatches(20, 7)
	return []phase{{batches: b[:13]}, {batches: b[13:]}}
}

var crashPolicies = []wal.SyncPolicy{wal.SyncAlways, wal.SyncNever}

// TestCrashAtEveryOperation crashes the workload at every mutating file
// system operation, under each crash mode, and checks recovery; then it
// appends on the recovered log and checks that the repair itself survives
// a second crash.
func TestCrashAtEveryOperation(t *testing.T) {
	cases := 0
	for _, policy := range crashPolicies {
		opts := wal.Options{SegmentSize: 160, Sync: policy}
		phases := crashPhases()
		total := countOps(t, opts, phases)
		require.Greater(t, total, 50, "the workload must make enough operations to be a real sweep")
		for n := 1; n <= total; n++ {
			for _, mode := range crashfs.Modes {
				what := fmt.Sprintf("policy %v, crash at op %d of %d, mode %v", policy, n, total, mode)
				fsys := crashfs.New()
				fsys.CrashAt(n)
				h := runPhases(t, fsys, opts, &history{}, phases...)
				require.True(t, h.stopped, "%s: the crash must stop the workload", what)
				img := fsys.Image(mode, uint64(n))
				recovered := verifyRecovery(t, img, opts, h, what)
				// Append after the repair, then crash again without losing it.
				h = runPhases(t, img, opts, h.recovered(recovered), afterRecovery)
				require.False(t, h.stopped, "%s: appending after recovery must succeed", what)
				verifyRecovery(t, img.Image(mode, uint64(n)), opts, h, what+", then crash after repair")
				cases++
			}
		}
	}
	t.Logf("crash cases run: %d", cases)
}

var afterRecovery = phase{batches: [][][]byte{{[]byte("after-recovery-1"), []byte("after-recovery-2")}}}

// TestCrashDuringRecovery crashes a first time at every operation, then
// crashes the recovery of that image (and one append after it) at every one
// of its operations.
func TestCrashDuringRecovery(t *testing.T) {
	opts := wal.Options{SegmentSize: 160}
	phases := crashPhases()
	total := countOps(t, opts, phases)
	cases := 0
	for n := 1; n <= total; n++ {
		for _, mode := range []crashfs.Mode{crashfs.TornPrefix, crashfs.Garbage} {
			fsys := crashfs.New()
			fsys.CrashAt(n)
			h := runPhases(t, fsys, opts, &history{}, phases...)
			img := fsys.Image(mode, uint64(n))
			// A crash-free recovery of a copy tells how much the image holds
			// and how many operations recovery plus one append make.
			probe := img.Image(crashfs.DropUnsynced, 0)
			base := h.recovered(verifyRecovery(t, probe, opts, h, "probe"))
			probe = img.Image(crashfs.DropUnsynced, 0)
			runPhases(t, probe, opts, base.recovered(len(base.attempted)), afterRecovery)
			for m := 1; m <= probe.Ops(); m++ {
				what := fmt.Sprintf("crash at op %d (%v), then at recovery op %d", n, mode, m)
				second := img.Image(crashfs.DropUnsynced, 0)
				second.CrashAt(m)
				h2 := runPhases(t, second, opts, base.recovered(len(base.attempted)), afterRecovery)
				verifyRecovery(t, second.Image(mode, uint64(m)), opts, h2, what)
				cases++
			}
		}
	}
	t.Logf("double-crash cases run: %d", cases)
}

// TestSyncFailureThenCrash fails each mutating operation in turn (an fsync
// returning EIO, a full disk on write, ...), checks that the log refuses
// every later write and issues no more I/O, then crashes and recovers.
func TestSyncFailureThenCrash(t *testing.T) {
	injected := errors.New("injected EIO")
	opts := wal.Options{SegmentSize: 160}
	phases := crashPhases()
	total := countOps(t, opts, phases)
	cases := 0
	for n := 1; n <= total; n++ {
		for _, mode := range crashfs.Modes {
			what := fmt.Sprintf("op %d of %d fails, then crash (%v)", n, total, mode)
			fsys := crashfs.New()
			var failed *crashfs.Op
			var after []crashfs.Op
			fsys.SetFault(func(op crashfs.Op) error {
				switch {
				case op.N == n:
					failed = &op
					return injected
				case failed != nil:
					after = append(after, op)
				}
				return nil
			})
			h := runPhases(t, fsys, opts, &history{}, phases...)
			require.NotNil(t, failed, "%s: the fault must fire", what)
			require.True(t, h.stopped, "%s: the failure must surface as an error", what)
			require.Empty(t, after, "%s: no file system writes after %v failed", what, failed)
			verifyRecovery(t, fsys.Image(mode, uint64(n)), opts, h, what)
			cases++
		}
	}
	t.Logf("fault cases run: %d", cases)
}
