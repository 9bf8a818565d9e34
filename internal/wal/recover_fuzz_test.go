package wal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

// writeFile plants a durable file in fsys.
func writeFile(t testing.TB, fsys *crashfs.FS, name string, data []byte) {
	require.NoError(t, fsys.MkdirAll(filepath.Dir(name), 0o755), "mkdir")
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	require.NoError(t, err, "create %s", name)
	_, err = f.Write(data)
	require.NoError(t, err, "write %s", name)
	require.NoError(t, f.Sync(), "sync %s", name)
	require.NoError(t, f.Close(), "close %s", name)
	require.NoError(t, fsys.SyncDir(filepath.Dir(name)), "syncdir")
}

// validSegment builds a segment file the way the log writes one, by running
// the log on a scratch file system.
func validSegment(t testing.TB, batches ...[][]byte) []byte {
	fsys := crashfs.New()
	l, err := wal.Open(wal.Options{Dir: crashDir, FS: fsys})
	require.NoError(t, err, "open scratch log")
	for _, b := range batches {
		_, err := l.Append(context.Background(), b...)
		require.NoError(t, err, "append to scratch log")
	}
	require.NoError(t, l.Close(), "close scratch log")
	data, ok := fsys.ReadFile(filepath.Join(crashDir, firstSegment))
	require.True(t, ok, "the scratch log has its first segment")
	return data
}

const firstSegment = "00000000000000000001.wal"

// FuzzRecover opens a log whose only segment holds arbitrary bytes. Open
// must either refuse with ErrCorrupt or cut the file to a prefix of itself
// holding gap-free records, and the log must then take appends that survive
// a reopen.
func FuzzRecover(f *testing.F) {
	valid := validSegment(f, [][]byte{[]byte("one")}, [][]byte{[]byte("two"), []byte("three")}, [][]byte{{}})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(append(bytes.Clone(valid), 0, 0, 0, 0, 0))
	f.Add(valid[:8])
	f.Add([]byte{})
	f.Add([]byte("not a segment at all"))
	// A frame longer than the limit with a valid checksum: Open must refuse.
	big := bytes.Clone(valid[:8])
	data := bytes.Repeat([]byte("z"), 100)
	hdr := make([]byte, 20)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(data)))
	binary.LittleEndian.PutUint64(hdr[8:], 1)
	table := crc32.MakeTable(crc32.Castagnoli)
	binary.LittleEndian.PutUint32(hdr, crc32.Update(crc32.Update(0, table, data), table, hdr[4:]))
	f.Add(append(append(big, hdr...), data...))

	f.Fuzz(func(t *testing.T, segment []byte) {
		fsys := crashfs.New()
		path := filepath.Join(crashDir, firstSegment)
		writeFile(t, fsys, path, segment)
		opts := wal.Options{Dir: crashDir, FS: fsys, MaxRecordSize: 64}
		l, err := wal.Open(opts)
		if err != nil {
			require.ErrorIs(t, err, wal.ErrCorrupt, "Open may only refuse a log as corrupt")
			return
		}
		n := uint64(0)
		for r, err := range l.Records(1) {
			require.NoError(t, err, "a recovered log reads without error")
			n++
			require.Equal(t, n, r.Index, "recovered indexes are gap-free")
		}
		after, ok := fsys.ReadFile(path)
		require.True(t, ok, "the segment stays")
		require.True(t, bytes.HasPrefix(segment, after), "recovery only cuts the file")
		first, err := l.Append(context.Background(), []byte("appended"))
		require.NoError(t, err, "a recovered log takes appends")
		require.Equal(t, n+1, first, "appends continue after the recovered records")
		require.NoError(t, l.Close(), "close")
		l, err = wal.Open(opts)
		require.NoError(t, err, "reopen after the append")
		require.Equal(t, n+1, l.LastIndex(), "the append survives a reopen")
		require.NoError(t, l.Close(), "close")
	})
}
