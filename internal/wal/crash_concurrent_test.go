package wal_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

// TestCrashWithConcurrentAppenders crashes a log that several goroutines
// append to at once, at a random operation, and checks recovery: gap-free
// indexes, whole batches, every acknowledged batch, and for each appender a
// gap-free run of its batches (a batch is appended only after the previous
// one was acknowledged, so it cannot survive without it).
func TestCrashWithConcurrentAppenders(t *testing.T) {
	const seeds, appenders, perAppender = 48, 6, 30
	crashed := 0
	for seed := range uint64(seeds) {
		mode := crashfs.Modes[seed%uint64(len(crashfs.Modes))]
		what := fmt.Sprintf("seed %d, mode %v", seed, mode)
		fsys := crashfs.New()
		fsys.CrashAt(5 + int(seed*7%200))
		opts := wal.Options{Dir: crashDir, FS: fsys, SegmentSize: 512}

		acked := map[string]bool{}
		var mu sync.Mutex
		if l, err := wal.Open(opts); err == nil {
			var wg sync.WaitGroup
			for g := range appenders {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(seed, uint64(g)))
					for s := range perAppender {
						n := 1 + rng.IntN(3)
						batch := make([][]byte, n)
						for k := range batch {
							batch[k] = fmt.Appendf(nil, "%d/%d/%d/%d", g, s, k, n)
						}
						if _, err := l.Append(context.Background(), batch...); err != nil {
							return
						}
						mu.Lock()
						acked[fmt.Sprintf("%d/%d", g, s)] = true
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			_ = l.Close() // fails if the crash came first
		}

		if fsys.Crashed() {
			crashed++
		}
		opts.FS = fsys.Image(mode, seed)
		l, err := wal.Open(opts)
		require.NoError(t, err, "%s: recovery", what)
		found := map[string]bool{}
		nextBatch := make([]int, appenders)
		index := uint64(0)
		var g, s, k, n int
		wantK, wantN := 0, 0
		for r, err := range l.Records(1) {
			require.NoError(t, err, "%s: read", what)
			index++
			require.Equal(t, index, r.Index, "%s: gap-free indexes", what)
			_, err = fmt.Sscanf(string(r.Data), "%d/%d/%d/%d", &g, &s, &k, &n)
			require.NoError(t, err, "%s: record %d holds an appended record", what, r.Index)
			if wantK == 0 {
				require.Zero(t, k, "%s: record %d starts a batch", what, r.Index)
				require.Equal(t, nextBatch[g], s, "%s: appender %d's batches are recovered in order, without gaps", what, g)
				nextBatch[g]++
				wantN = n
				found[fmt.Sprintf("%d/%d", g, s)] = true
			}
			require.Equal(t, wantK, k, "%s: record %d continues its batch", what, r.Index)
			require.Equal(t, wantN, n, "%s: record %d belongs to the open batch", what, r.Index)
			wantK = (wantK + 1) % wantN
		}
		require.Zero(t, wantK, "%s: the last batch is whole", what)
		for id := range acked {
			require.True(t, found[id], "%s: acknowledged batch %s must be recovered", what, id)
		}
		require.NoError(t, l.Close(), "%s: close", what)
	}
	require.Greater(t, crashed, seeds*3/4, "most runs must crash mid-workload to test anything")
	t.Logf("concurrent crash cases: %d, crashed mid-workload: %d", seeds, crashed)
}
