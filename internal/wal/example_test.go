package wal_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

// Open a log, append records durably, read them back after a reopen.
func Example() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	l, err := wal.Open(wal.Options{Dir: dir}) // SyncAlways: Append returns after fsync
	if err != nil {
		panic(err)
	}
	if _, err := l.Append(ctx, []byte("order placed")); err != nil {
		panic(err)
	}
	// One Append is one atomic batch: after a crash both records or neither.
	first, err := l.Append(ctx, []byte("payment taken"), []byte("order shipped"))
	if err != nil {
		panic(err)
	}
	fmt.Println("batch starts at", first)
	if err := l.Close(); err != nil {
		panic(err)
	}

	l, err = wal.Open(wal.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer l.Close()
	for r, err := range l.Records(2) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%d %s\n", r.Index, r.Data) // r.Data is valid until the next iteration
	}
	// Output:
	// batch starts at 2
	// 2 payment taken
	// 3 order shipped
}

// Crash a log on the in-memory file system and recover what was durable.
func Example_crash() {
	fsys := crashfs.New()
	opts := wal.Options{Dir: "/log", FS: fsys, Sync: wal.SyncNever}
	l, err := wal.Open(opts)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	l.Append(ctx, []byte("a"))
	l.Close() // Close fsyncs even under SyncNever
	l, _ = wal.Open(opts)
	l.Append(ctx, []byte("b")) // written, not fsynced

	// The machine dies: a restarted process sees only durable bytes; the
	// unsynced tail is torn.
	opts.FS = fsys.Image(crashfs.TornPrefix, 1)
	l.Close()
	recovered, err := wal.Open(opts)
	if err != nil {
		panic(err)
	}
	defer recovered.Close()
	fmt.Println("records after the crash:", recovered.LastIndex())
	// Output:
	// records after the crash: 1
}

// A failed fsync stops the log for good: the data may be gone, and only a
// reopen can tell what is durable.
func Example_failedSync() {
	fsys := crashfs.New()
	l, err := wal.Open(wal.Options{Dir: "/log", FS: fsys})
	if err != nil {
		panic(err)
	}
	fsys.SetFault(func(op crashfs.Op) error {
		if op.Kind == crashfs.OpSync {
			return errors.New("input/output error")
		}
		return nil
	})
	_, err = l.Append(context.Background(), []byte("x"))
	fmt.Println(errors.Is(err, wal.ErrFailed), err)
	fsys.SetFault(nil)
	_, err = l.Append(context.Background(), []byte("y"))
	fmt.Println(errors.Is(err, wal.ErrFailed))
	l.Close()
	// Output:
	// true wal: log failed: sync /log/00000000000000000001.wal: input/output error
	// true
}

// Stats tells how well group commit works: fsyncs per append, time in fsync.
func ExampleLog_Stats() {
	l, err := wal.Open(wal.Options{Dir: "/log", FS: crashfs.New()})
	if err != nil {
		panic(err)
	}
	defer l.Close()
	ctx := context.Background()
	for range 3 {
		l.Append(ctx, []byte("one at a time: one fsync each"))
	}
	l.Append(ctx, []byte("a batch"), []byte("shares"), []byte("one fsync"))
	s := l.Stats()
	fmt.Printf("appends %d, records %d, fsyncs %d, last index %d\n", s.Appends, s.Records, s.Syncs, s.LastIndex)
	// Output:
	// appends 4, records 6, fsyncs 4, last index 6
}
