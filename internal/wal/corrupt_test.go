package wal_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

// TestCorruptionAtEveryByte flips each byte of every segment of a closed
// log in turn. Recovery must keep exactly a prefix of whole batches that
// ends inside the damaged segment, never a damaged record, and its repair
// must be durable: appending up to where the removed later segments began
// and crashing must not bring them back.
func TestCorruptionAtEveryByte(t *testing.T) {
	ctx := context.Background()
	opts := wal.Options{Dir: crashDir, SegmentSize: 160}
	clean := crashfs.New()
	h := runPhases(t, clean, opts, &history{}, phase{batches: crashBatches(12, 3)})
	require.False(t, h.stopped, "the workload succeeds")
	segs := clean.Files()
	require.Greater(t, len(segs), 2, "the log spans several segments")
	total := recordsBefore(h.attempted)
	firstOf := func(i int) uint64 { // index of segment i's first record
		if i == len(segs) {
			return total + 1
		}
		var first uint64
		_, err := fmt.Sscanf(filepath.Base(segs[i]), "%d.wal", &first)
		require.NoError(t, err, "segment name")
		return first
	}
	h.durable = 0 // damage to synced bytes may destroy acknowledged batches
	cases := 0
	for s, path := range segs {
		data, _ := clean.ReadFile(path)
		prev := uint64(0)
		for off := range data {
			what := fmt.Sprintf("byte %d of %s flipped", off, filepath.Base(path))
			img := clean.Image(crashfs.DropUnsynced, 0)
			img.Damage(path, func(b []byte) { b[off] ^= 0x5a })
			batches := verifyRecovery(t, img, opts, h, what)
			got := recordsBefore(h.attempted[:batches])
			require.GreaterOrEqual(t, got, firstOf(s)-1, "%s: earlier segments are untouched", what)
			require.Less(t, got, firstOf(s+1)-1, "%s: the damaged record is dropped", what)
			require.GreaterOrEqual(t, got, prev, "%s: later damage never keeps less", what)
			prev = got

			// Append up to where the next segment used to begin, crash, and
			// check that nothing removed comes back.
			reopened := opts
			reopened.FS = img
			l, err := wal.Open(reopened)
			require.NoError(t, err, "%s: reopen", what)
			for i := got + 1; i < firstOf(s+1); i++ {
				_, err := l.Append(ctx, fmt.Appendf(nil, "new-%d", i))
				require.NoError(t, err, "%s: append after repair", what)
			}
			after := img.Image(crashfs.DropUnsynced, 0)
			reopened.FS = after
			l2, err := wal.Open(reopened)
			require.NoError(t, err, "%s: open after crash", what)
			require.Equal(t, firstOf(s+1)-1, l2.LastIndex(), "%s: removed segments stay removed", what)
			require.NoError(t, l2.Close(), "%s: close", what)
			require.NoError(t, l.Close(), "%s: close", what)
			cases++
		}
	}
	t.Logf("corruption cases run: %d", cases)
}
