package wal_test

import (
	"context"
	"testing"

	"pgregory.net/rapid"

	"github.com/distkit/distkit/internal/wal"
	"github.com/distkit/distkit/internal/wal/crashfs"
)

// TestLogMatchesModel checks the log against a slice of records through
// random sequences of appends, reads from random indexes, clean reopens and
// crashes in every mode: under SyncAlways the log always holds exactly the
// acknowledged records.
func TestLogMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		opts := wal.Options{Dir: crashDir, FS: crashfs.New(),
			SegmentSize: rapid.Int64Range(64, 1024).Draw(t, "segmentSize")}
		l, err := wal.Open(opts)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer func() { _ = l.Close() }()
		var model [][]byte

		reopen := func(fsys *crashfs.FS) {
			if err := l.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			opts.FS = fsys
			if l, err = wal.Open(opts); err != nil {
				t.Fatalf("reopen: %v", err)
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"append": func(t *rapid.T) {
				batch := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 48), 1, 4).Draw(t, "batch")
				first, err := l.Append(ctx, batch...)
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				if want := uint64(len(model)) + 1; first != want {
					t.Fatalf("append got index %d, want %d", first, want)
				}
				model = append(model, batch...)
			},
			"read": func(t *rapid.T) {
				from := rapid.Uint64Range(0, uint64(len(model))+2).Draw(t, "from")
				i := int(min(max(from, 1), uint64(len(model))+1)) - 1
				for r, err := range l.Records(from) {
					if err != nil {
						t.Fatalf("Records(%d): %v", from, err)
					}
					if i >= len(model) || r.Index != uint64(i+1) || string(r.Data) != string(model[i]) {
						t.Fatalf("Records(%d) yielded record %d %q, want record %d", from, r.Index, r.Data, i+1)
					}
					i++
				}
				if i != len(model) {
					t.Fatalf("Records(%d) stopped at %d of %d", from, i, len(model))
				}
			},
			"reopen": func(t *rapid.T) {
				reopen(opts.FS.(*crashfs.FS))
			},
			"crash": func(t *rapid.T) {
				mode := rapid.SampledFrom(crashfs.Modes).Draw(t, "mode")
				img := opts.FS.(*crashfs.FS).Image(mode, rapid.Uint64().Draw(t, "seed"))
				reopen(img) // the old log's Close has nothing left to make durable
			},
			"": func(t *rapid.T) {
				if got := l.LastIndex(); got != uint64(len(model)) {
					t.Fatalf("LastIndex %d, want %d", got, len(model))
				}
			},
		})
	})
}
