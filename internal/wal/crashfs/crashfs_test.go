package crashfs_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal/crashfs"
)

const dir = "/d"

func create(t *testing.T, fsys *crashfs.FS, name string, data string, sync bool) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err, "create %s", name)
	_, err = f.Write([]byte(data))
	require.NoError(t, err, "write %s", name)
	if sync {
		require.NoError(t, f.Sync(), "sync %s", name)
	}
	require.NoError(t, f.Close(), "close %s", name)
}

func content(t *testing.T, fsys *crashfs.FS, name string) (string, bool) {
	t.Helper()
	b, ok := fsys.ReadFile(name)
	return string(b), ok
}

func TestDirectoryEntriesAreDurableOnlyAfterSyncDir(t *testing.T) {
	fsys := crashfs.New()
	require.NoError(t, fsys.MkdirAll(dir, 0o755), "mkdir")
	create(t, fsys, "/d/a", "aaa", true)
	_, ok := content(t, fsys.Image(crashfs.DropUnsynced, 0), "/d/a")
	require.False(t, ok, "a synced file whose entry was not synced vanishes in a crash")

	require.NoError(t, fsys.SyncDir(dir), "syncdir")
	got, ok := content(t, fsys.Image(crashfs.DropUnsynced, 0), "/d/a")
	require.True(t, ok, "after SyncDir the entry survives")
	require.Equal(t, "aaa", got, "and its synced bytes")

	require.NoError(t, fsys.Remove("/d/a"), "remove")
	_, ok = content(t, fsys.Image(crashfs.DropUnsynced, 0), "/d/a")
	require.True(t, ok, "an unsynced removal is undone by a crash")
	require.NoError(t, fsys.SyncDir(dir), "syncdir")
	_, ok = content(t, fsys.Image(crashfs.DropUnsynced, 0), "/d/a")
	require.False(t, ok, "a synced removal is durable")
}

func TestModesTreatOnlyUnsyncedBytes(t *testing.T) {
	fsys := crashfs.New()
	require.NoError(t, fsys.MkdirAll(dir, 0o755), "mkdir")
	create(t, fsys, "/d/f", "synced|", true)
	require.NoError(t, fsys.SyncDir(dir), "syncdir")
	create(t, fsys, "/d/f", "unsynced-tail-of-some-length", false)
	const synced, all = "synced|", "synced|unsynced-tail-of-some-length"

	for seed := range uint64(20) {
		drop, _ := content(t, fsys.Image(crashfs.DropUnsynced, seed), "/d/f")
		require.Equal(t, synced, drop, "drop keeps exactly the synced bytes")

		torn, _ := content(t, fsys.Image(crashfs.TornPrefix, seed), "/d/f")
		require.Less(t, len(torn), len(all), "a torn file lost some unsynced bytes")
		require.Equal(t, all[:len(torn)], torn, "a torn file is a prefix of what was written")
		require.GreaterOrEqual(t, len(torn), len(synced), "tearing never loses synced bytes")

		for _, mode := range []crashfs.Mode{crashfs.Garbage, crashfs.Zeros} {
			got, _ := content(t, fsys.Image(mode, seed), "/d/f")
			require.Len(t, got, len(all), "%v keeps the file's length", mode)
			require.Equal(t, synced, got[:len(synced)], "%v never touches synced bytes", mode)
		}
	}
	a, _ := content(t, fsys.Image(crashfs.Garbage, 3), "/d/f")
	b, _ := content(t, fsys.Image(crashfs.Garbage, 3), "/d/f")
	require.Equal(t, a, b, "an image is reproducible from its seed")
}

func TestCrashAtStopsEverything(t *testing.T) {
	fsys := crashfs.New()
	require.NoError(t, fsys.MkdirAll(dir, 0o755), "op 1: mkdir")
	f, err := fsys.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644) // op 2
	require.NoError(t, err, "op 2: create")
	fsys.CrashAt(4)
	_, err = f.Write([]byte("x")) // op 3
	require.NoError(t, err, "op 3 happens before the crash point")
	require.ErrorIs(t, f.Sync(), crashfs.ErrCrashed, "op 4 is the crash")
	require.True(t, fsys.Crashed(), "the FS has crashed")
	_, err = f.ReadAt(make([]byte, 1), 0)
	require.ErrorIs(t, err, crashfs.ErrCrashed, "reads fail after a crash too")
	_, err = fsys.ReadDir(dir)
	require.ErrorIs(t, err, crashfs.ErrCrashed, "listing fails after a crash")
	require.Equal(t, 4, fsys.Ops(), "operations are numbered up to the crash")
	require.NoError(t, f.Close(), "closing a handle still works")
	require.Zero(t, fsys.OpenFiles(), "no handle is left open")
}

func TestFaultFailsOneOperationWithoutEffect(t *testing.T) {
	fsys := crashfs.New()
	require.NoError(t, fsys.MkdirAll(dir, 0o755), "mkdir")
	eio := errors.New("EIO")
	var seen []crashfs.Op
	fsys.SetFault(func(op crashfs.Op) error {
		seen = append(seen, op)
		if op.Kind == crashfs.OpSync {
			return eio
		}
		return nil
	})
	f, err := fsys.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err, "create")
	_, err = f.Write([]byte("data"))
	require.NoError(t, err, "write")
	require.ErrorIs(t, f.Sync(), eio, "the fault fails the sync")
	require.NoError(t, fsys.SyncDir(dir), "syncdir")
	got, _ := content(t, fsys.Image(crashfs.DropUnsynced, 0), "/d/f")
	require.Empty(t, got, "a failed sync makes nothing durable")
	require.Equal(t, []crashfs.OpKind{crashfs.OpCreate, crashfs.OpWrite, crashfs.OpSync, crashfs.OpSyncDir},
		[]crashfs.OpKind{seen[0].Kind, seen[1].Kind, seen[2].Kind, seen[3].Kind}, "every mutating op reaches the fault hook")
	require.Equal(t, "#4 sync /d/f", seen[2].String(), "ops describe themselves")
	require.NoError(t, f.Close(), "close")
}

func TestFileSemantics(t *testing.T) {
	fsys := crashfs.New()
	_, err := fsys.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644)
	require.ErrorIs(t, err, os.ErrNotExist, "creating in a missing directory fails")
	require.NoError(t, fsys.MkdirAll(dir, 0o755), "mkdir")
	_, err = fsys.OpenFile("/d/f", os.O_RDONLY, 0)
	require.ErrorIs(t, err, os.ErrNotExist, "opening a missing file fails")
	create(t, fsys, "/d/f", "hello world", true)
	require.NoError(t, fsys.SyncDir(dir), "syncdir")
	_, err = fsys.OpenFile("/d/f", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	require.ErrorIs(t, err, os.ErrExist, "O_EXCL refuses an existing file")

	f, err := fsys.OpenFile("/d/f", os.O_RDWR, 0)
	require.NoError(t, err, "open")
	_, err = f.Write([]byte("J"))
	require.NoError(t, err, "write at offset 0")
	require.NoError(t, f.Truncate(5), "truncate")
	buf := make([]byte, 10)
	n, err := f.ReadAt(buf, 0)
	require.ErrorIs(t, err, io.EOF, "a read past the end reports EOF")
	require.Equal(t, "Jello", string(buf[:n]), "writes without O_APPEND go to the offset")
	info, err := f.Stat()
	require.NoError(t, err, "stat")
	require.Equal(t, int64(5), info.Size(), "Stat reports the size")
	require.Equal(t, "f", info.Name(), "Stat reports the base name")
	got, _ := content(t, fsys.Image(crashfs.TornPrefix, 1), "/d/f")
	require.Equal(t, "hello world", got, "an unsynced truncation is undone by a crash")
	require.NoError(t, f.Sync(), "sync")
	got, _ = content(t, fsys.Image(crashfs.TornPrefix, 1), "/d/f")
	require.Equal(t, "Jello", got, "a synced truncation is durable")
	require.NoError(t, f.Close(), "close")
	require.ErrorIs(t, f.Close(), os.ErrClosed, "double close fails")
	_, err = f.Write([]byte("x"))
	require.ErrorIs(t, err, os.ErrClosed, "writing a closed file fails")

	r, err := fsys.OpenFile("/d/f", os.O_RDONLY, 0)
	require.NoError(t, err, "open read-only")
	_, err = r.Write([]byte("x"))
	require.ErrorIs(t, err, os.ErrPermission, "a read-only handle refuses writes")
	require.NoError(t, r.Close(), "close")
	names, err := fsys.ReadDir(dir)
	require.NoError(t, err, "readdir")
	require.Equal(t, []string{"f"}, names, "ReadDir lists the file")
	require.Equal(t, []string{"/d/f"}, fsys.Files(), "Files lists paths")
	require.True(t, fsys.Damage("/d/f", func(b []byte) { b[0] = 'M' }), "damage an existing file")
	got, _ = content(t, fsys.Image(crashfs.DropUnsynced, 0), "/d/f")
	require.Equal(t, "Mello", got, "damage is durable")
}
