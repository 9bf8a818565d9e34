package wal

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// collect reads every record from index from, copying the data.
func collect(t *testing.T, l *Log, from uint64) []Record {
	t.Helper()
	var out []Record
	for r, err := range l.Records(from) {
		require.NoError(t, err, "Records(%d) must not fail", from)
		out = append(out, Record{Index: r.Index, Data: append([]byte(nil), r.Data...)})
	}
	return out
}

func payload(i uint64) []byte { return fmt.Appendf(nil, "record-%d", i) }

func TestAppendRecordsReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir})
	require.NoError(t, err, "Open of an empty directory must succeed")
	for i := uint64(1); i <= 10; i++ {
		first, err := l.Append(ctx, payload(i))
		require.NoError(t, err, "Append must succeed")
		require.Equal(t, i, first, "indexes must start at 1 and be gap-free")
	}
	first, err := l.Append(ctx, payload(11), payload(12), payload(13))
	require.NoError(t, err, "batch Append must succeed")
	require.Equal(t, uint64(11), first, "a batch gets consecutive indexes")
	require.Equal(t, uint64(13), l.LastIndex(), "LastIndex counts acknowledged records")
	require.NoError(t, l.Close(), "Close must succeed")

	l, err = Open(Options{Dir: dir})
	require.NoError(t, err, "reopen must succeed")
	defer l.Close()
	require.Equal(t, uint64(13), l.LastIndex(), "reopen must find every record")
	recs := collect(t, l, 1)
	require.Len(t, recs, 13, "every record is read back")
	for i, r := range recs {
		require.Equal(t, uint64(i+1), r.Index, "indexes are in order")
		require.Equal(t, payload(r.Index), r.Data, "data round-trips")
	}
	first, err = l.Append(ctx, payload(14))
	require.NoError(t, err, "append after reopen must succeed")
	require.Equal(t, uint64(14), first, "append after reopen continues the indexes")
}

func TestConcurrentAppenders(t *testing.T) {
	ctx := context.Background()
	l, err := Open(Options{Dir: t.TempDir(), SegmentSize: 4 << 10})
	require.NoError(t, err, "Open must succeed")
	const appenders, each = 16, 50
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for i := range each {
				_, err := l.Append(ctx, fmt.Appendf(nil, "g%d-%d", g, i))
				require.NoError(t, err, "concurrent Append must succeed")
			}
		})
	}
	wg.Wait()
	recs := collect(t, l, 1)
	require.Len(t, recs, appenders*each, "every acknowledged record is readable")
	require.Greater(t, l.Stats().Segments, 1, "small segments must roll over")
	require.NoError(t, l.Close(), "Close must succeed")
}
