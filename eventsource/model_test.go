package eventsource

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/distkit/distkit/internal/wal/crashfs"
)

// TestStoreMatchesModel runs random sequences of appends (with every kind of
// expectation and with IDs that repeat, so retries, duplicates and conflicts
// all occur), reads, and for the file store reopenings, and checks every
// answer against the sequential model the linearizability test uses.
func TestStoreMatchesModel(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			runModel(t, func() Store { return NewMemoryStore(MemoryConfig{}) }, nil)
		})
	})
	t.Run("file", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			fsys := crashfs.New()
			open := func() Store {
				s, err := openFileStore(FileConfig{Dir: "/db", Sync: SyncNever, SegmentSize: 512}, fsys)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				return s
			}
			runModel(t, open, open)
		})
	})
}

func runModel(t *rapid.T, open func() Store, reopen func() Store) {
	ctx := context.Background()
	store := open()
	defer func() { store.Close() }()
	streams := []string{"a", "b", "c"}
	model := map[string]linState{}
	idPool := rapid.SampledFrom([]string{"x0", "x1", "x2", "x3", "x4", "x5"})
	fresh := 0

	actions := map[string]func(*rapid.T){
		"append": func(t *rapid.T) {
			stream := rapid.SampledFrom(streams).Draw(t, "stream")
			state := model[stream]
			var expected ExpectedVersion
			switch rapid.IntRange(0, 3).Draw(t, "expectation") {
			case 0:
				expected = Any
			case 1:
				expected = NoStream
			case 2:
				expected = StreamExists
			default:
				expected = Exact(rapid.Uint64Range(0, state.n+1).Draw(t, "version"))
			}
			n := rapid.IntRange(1, 3).Draw(t, "events")
			var in linInput
			in.stream, in.expected, in.retry = stream, expected, true
			seen := map[string]bool{}
			for range n {
				id := idPool.Draw(t, "id")
				if seen[id] || rapid.Bool().Draw(t, "fresh") {
					fresh++
					id = fmt.Sprint("f", fresh)
				}
				seen[id] = true
				in.ids = append(in.ids, id)
			}
			events := make([]EventData, len(in.ids))
			for i, id := range in.ids {
				events[i] = EventData{ID: id, Type: "T", Data: []byte(id)}
			}
			res, err := store.Append(ctx, stream, expected, events...)
			var out linOutput
			var ce *ConflictError
			switch {
			case err == nil:
				out = linOutput{ok: true, version: res.Version}
			case errors.As(err, &ce):
				out = linOutput{conflict: true, actual: ce.Actual}
			case errors.Is(err, ErrDuplicateEventID):
				out = linOutput{dup: true}
			default:
				t.Fatalf("append: %v", err)
			}
			ok, next := linStep(state, in, out)
			if !ok {
				t.Fatalf("append %v with %v to %s (at %d) answered %+v", in.ids, expected, stream, state.n, out)
			}
			model[stream] = next.(linState)
		},
		"read": func(t *rapid.T) {
			stream := rapid.SampledFrom(streams).Draw(t, "stream")
			var out linOutput
			for ev, err := range store.ReadStream(ctx, stream, 0, Forward) {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				out.n, out.hash = ev.Version, chainHash(out.hash, ev.ID)
			}
			if ok, _ := linStep(model[stream], linInput{stream: stream, read: true}, out); !ok {
				t.Fatalf("read of %s gave %d events, model has %d", stream, out.n, model[stream].n)
			}
		},
		"readAll": func(t *rapid.T) {
			var total uint64
			for _, st := range model {
				total += st.n
			}
			var pos uint64
			for ev, err := range store.ReadAll(ctx, 0) {
				if err != nil {
					t.Fatalf("read all: %v", err)
				}
				if pos++; ev.Position != pos {
					t.Fatalf("position %d after %d", ev.Position, pos-1)
				}
			}
			if pos != total {
				t.Fatalf("global log has %d events, streams %d", pos, total)
			}
		},
	}
	if reopen != nil {
		actions["reopen"] = func(t *rapid.T) {
			if err := store.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			store = reopen()
		}
	}
	t.Repeat(actions)
}
