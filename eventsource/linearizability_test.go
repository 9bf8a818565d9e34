package eventsource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/internal/wal/crashfs"
)

// The linearizability check runs concurrent clients against a store, records
// every call with its invocation and response times, and asks porcupine
// whether some order of the calls, consistent with real time, explains every
// result under a sequential model of one stream. Streams are independent, so
// the history is partitioned by stream.

// linInput is a call: a read of the whole stream, a read of its last event,
// or an append.
type linInput struct {
	stream   string
	read     bool
	readLast bool
	expected ExpectedVersion
	ids      []string // appended ids
	retry    bool     // an append repeated after an unknown outcome
}

// linOutput is a result. unknown marks an append whose context was canceled:
// it may or may not have happened. Reads report the stream's length and a
// hash of its ids (full reads) or its last id (last reads).
type linOutput struct {
	unknown  bool
	ok       bool
	version  uint64 // after a successful append
	conflict bool
	actual   uint64 // reported by a conflict
	dup      bool   // ErrDuplicateEventID
	n        uint64
	hash     uint64
	last     string
}

// linState is the model of one stream: its length, a hash chained over its
// ids, and its ids as an immutable list shared between states.
type linState struct {
	n    uint64
	hash uint64
	tail *linNode
}

type linNode struct {
	id      string
	indexed bool // appended under Any or StreamExists
	prev    *linNode
}

// chainHash extends the hash of a sequence of ids with one more id (FNV-1a).
func chainHash(h uint64, id string) uint64 {
	if h == 0 {
		h = 14695981039346656037
	}
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return (h ^ ',') * 1099511628211
}

// linFrom returns the ids of the stream from version from on.
func linFrom(s linState, from uint64) []string {
	if from > s.n {
		return nil
	}
	out := make([]string, s.n-from+1)
	node := s.tail
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = node.id
		node = node.prev
	}
	return out
}

// linFindIndexed returns the version of the event with id among those
// appended under Any or StreamExists, or 0.
func linFindIndexed(s linState, id string) uint64 {
	v := s.n
	for node := s.tail; node != nil; node = node.prev {
		if node.indexed && node.id == id {
			return v
		}
		v--
	}
	return 0
}

// linHolds reports whether the stream holds ids from version from on.
func linHolds(s linState, from uint64, ids []string) bool {
	following := linFrom(s, from)
	return len(following) >= len(ids) && equalStrings(following[:len(ids)], ids)
}

// linStep is the sequential specification of Append and ReadStream.
func linStep(state, input, output any) (bool, any) {
	s, in, out := state.(linState), input.(linInput), output.(linOutput)
	switch {
	case in.read:
		return out.n == s.n && out.hash == s.hash, s
	case in.readLast:
		last := ""
		if s.tail != nil {
			last = s.tail.id
		}
		return out.n == s.n && out.last == last, s
	}
	// What a correct store must answer to this append in state s. Only a
	// retried or possibly-applied append can find its ids already there.
	mayExist := in.retry || out.unknown
	indexed := in.expected == Any || in.expected == StreamExists
	var want linOutput
	next := s
	var found uint64
	if indexed && mayExist {
		for i, id := range in.ids {
			if v := linFindIndexed(s, id); v > 0 {
				if i > 0 || !linHolds(s, v, in.ids) {
					found = math.MaxUint64 // a duplicate, not a retry
				} else {
					found = v
				}
				break
			}
		}
	}
	at := uint64(0) // where an exact expectation puts the events
	if in.expected >= 0 {
		at = uint64(in.expected)
	}
	switch {
	case found == math.MaxUint64:
		want = linOutput{dup: true}
	case found > 0 && in.expected.allows(found-1):
		want = linOutput{ok: true, version: found - 1 + uint64(len(in.ids))}
	case found > 0:
		want = linOutput{conflict: true, actual: s.n}
	case in.expected.allows(s.n):
		want = linOutput{ok: true, version: s.n + uint64(len(in.ids))}
		for _, id := range in.ids {
			next = linState{n: next.n + 1, hash: chainHash(next.hash, id), tail: &linNode{id: id, indexed: indexed, prev: next.tail}}
		}
	case !indexed && mayExist && at < s.n && linHolds(s, at+1, in.ids):
		want = linOutput{ok: true, version: at + uint64(len(in.ids))}
	default:
		want = linOutput{conflict: true, actual: s.n}
	}
	if out.unknown {
		// Either it happened here, or it is ordered after everything it
		// could affect (its response time is infinite).
		return true, next
	}
	return out == want, next
}

var linModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byStream := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			st := op.Input.(linInput).stream
			if _, ok := byStream[st]; !ok {
				order = append(order, st)
			}
			byStream[st] = append(byStream[st], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, st := range order {
			out = append(out, byStream[st])
		}
		return out
	},
	Init: func() any { return linState{} },
	Step: linStep,
	Equal: func(a, b any) bool {
		x, y := a.(linState), b.(linState)
		return x.n == y.n && x.hash == y.hash
	},
	Hash: func(a any) uint64 { return a.(linState).hash },
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%+v -> %+v", input, output)
	},
}

// linRead is a read as the history check needs it.
type linRead struct {
	stream string
	out    linOutput
	last   bool
}

// linRun is the recorded history of one run.
type linRun struct {
	ops    []porcupine.Operation
	acked  map[string]Event // acknowledged events by id, with version and position
	reads  []linRead
	counts struct{ appends, reads, canceled, unknown, retries, conflicts int }
}

// runLinearizabilityClients drives clients x perClient operations at store.
func runLinearizabilityClients(t *testing.T, store Store, clients, perClient, streams int) *linRun {
	t.Helper()
	var clock atomic.Int64
	var mu sync.Mutex
	run := &linRun{acked: map[string]Event{}}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 99))
			seen := map[string]uint64{} // last version this client saw per stream
			var unknown []linInput      // appends to retry
			var ops []porcupine.Operation
			var reads []linRead
			record := func(in linInput, out linOutput, call int64) {
				ret := clock.Add(1)
				if out.unknown {
					ret = math.MaxInt64
				}
				ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
			}
			for i := range perClient {
				stream := fmt.Sprint("s", rng.IntN(streams))
				if r := rng.IntN(4); r < 2 {
					in := linInput{stream: stream, read: r == 0, readLast: r == 1}
					var out linOutput
					call := clock.Add(1)
					if in.read {
						for ev, err := range store.ReadStream(context.Background(), stream, 0, Forward) {
							if err != nil {
								t.Errorf("read: %v", err)
								return
							}
							out.n, out.hash = ev.Version, chainHash(out.hash, ev.ID)
						}
					} else {
						for ev, err := range store.ReadStream(context.Background(), stream, End, Backward) {
							if err != nil {
								t.Errorf("read: %v", err)
								return
							}
							out.n, out.last = ev.Version, ev.ID
							break
						}
					}
					record(in, out, call)
					seen[stream] = out.n
					reads = append(reads, linRead{stream: stream, out: out, last: in.readLast})
					continue
				}
				var in linInput
				if len(unknown) > 0 && rng.IntN(4) == 0 {
					in, unknown = unknown[0], unknown[1:]
					in.retry = true
				} else {
					in = linInput{stream: stream}
					switch r := rng.IntN(10); {
					case r < 6:
						in.expected = Exact(seen[stream])
					case r == 6:
						in.expected = Any
					case r == 7:
						in.expected = NoStream
					case r == 8:
						in.expected = StreamExists
					default:
						in.expected = Exact(uint64(rng.IntN(8)))
					}
					for k := range 1 + rng.IntN(2) {
						in.ids = append(in.ids, fmt.Sprintf("c%d-%d-%d", c, i, k))
					}
				}
				events := make([]EventData, len(in.ids))
				for k, id := range in.ids {
					events[k] = EventData{ID: id, Type: "T", Data: []byte(id)}
				}
				ctx, cancel := context.WithCancel(context.Background())
				canceled := rng.IntN(40) == 0
				if canceled {
					go cancel()
				}
				call := clock.Add(1)
				res, err := store.Append(ctx, in.stream, in.expected, events...)
				cancel()
				var out linOutput
				var ce *ConflictError
				switch {
				case err == nil:
					out = linOutput{ok: true, version: res.Version}
					seen[in.stream] = res.Version
					mu.Lock()
					for k, ev := range events {
						back := uint64(len(events) - 1 - k)
						run.acked[ev.ID] = Event{ID: ev.ID, Stream: in.stream, Version: res.Version - back, Position: res.Position - back}
					}
					mu.Unlock()
				case errors.As(err, &ce):
					out = linOutput{conflict: true, actual: ce.Actual}
					seen[in.stream] = ce.Actual
				case errors.Is(err, ErrDuplicateEventID):
					out = linOutput{dup: true}
				case errors.Is(err, context.Canceled):
					out = linOutput{unknown: true}
					unknown = append(unknown, in)
				default:
					t.Errorf("append: %v", err)
					return
				}
				record(in, out, call)
				mu.Lock()
				run.counts.appends++
				if canceled {
					run.counts.canceled++
				}
				if out.unknown {
					run.counts.unknown++
				}
				if in.retry {
					run.counts.retries++
				}
				if out.conflict {
					run.counts.conflicts++
				}
				mu.Unlock()
			}
			mu.Lock()
			run.ops = append(run.ops, ops...)
			run.reads = append(run.reads, reads...)
			run.counts.reads += len(reads)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return run
}

// checkHistory checks the run against porcupine and against the final log:
// no acknowledged event lost, no duplicate, every read a prefix of its
// stream's final content.
func checkHistory(t *testing.T, store Store, run *linRun) {
	t.Helper()
	start := time.Now()
	res := porcupine.CheckOperations(linModel, run.ops)
	elapsed := time.Since(start)
	require.True(t, res, "the history must be linearizable")

	final := map[string][]string{}
	prefixHash := map[string][]uint64{} // hash of the first k ids, per stream
	seen := map[string]bool{}
	duplicates, lost := 0, 0
	for i, ev := range collect(t, store.ReadAll(context.Background(), 0)) {
		require.Equal(t, uint64(i+1), ev.Position, "gap-free global log")
		if seen[ev.ID] {
			duplicates++
		}
		seen[ev.ID] = true
		hashes := prefixHash[ev.Stream]
		if hashes == nil {
			hashes = []uint64{0}
		}
		prefixHash[ev.Stream] = append(hashes, chainHash(hashes[len(hashes)-1], ev.ID))
		final[ev.Stream] = append(final[ev.Stream], ev.ID)
		if want, ok := run.acked[ev.ID]; ok {
			require.Equal(t, want.Position, ev.Position, "acknowledged position of %s", ev.ID)
			require.Equal(t, want.Version, ev.Version, "acknowledged version of %s", ev.ID)
		}
	}
	for id := range run.acked {
		if !seen[id] {
			lost++
		}
	}
	notPrefix := 0
	for _, r := range run.reads {
		ids, n := final[r.stream], r.out.n
		switch {
		case n > uint64(len(ids)):
			notPrefix++
		case r.last && n > 0 && ids[n-1] != r.out.last:
			notPrefix++
		case !r.last && prefixHash[r.stream][n] != r.out.hash && n > 0:
			notPrefix++
		}
	}
	assert.Zero(t, lost, "acknowledged events lost")
	assert.Zero(t, duplicates, "duplicate events")
	assert.Zero(t, notPrefix, "reads that are not a prefix of the final stream")
	c := run.counts
	t.Logf("%d operations: %d appends (%d conflicts, %d canceled, %d with unknown outcome, %d retries), %d reads; linearizable (porcupine, %v); %d acknowledged events, %d lost, %d duplicates, %d of %d reads not a prefix",
		len(run.ops), c.appends, c.conflicts, c.canceled, c.unknown, c.retries, c.reads, elapsed.Round(time.Millisecond), len(run.acked), lost, duplicates, notPrefix, len(run.reads))
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const (
	linClients   = 16
	linPerClient = 1000
	linStreams   = 16
)

func TestLinearizabilityMemoryStore(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore(MemoryConfig{})
	defer store.Close()
	run := runLinearizabilityClients(t, store, linClients, linPerClient, linStreams)
	checkHistory(t, store, run)
}

func TestLinearizabilityFileStore(t *testing.T) {
	t.Parallel()
	store, err := openFileStore(FileConfig{Dir: "/db", SegmentSize: 256 << 10}, crashfs.New())
	require.NoError(t, err, "open")
	defer store.Close()
	run := runLinearizabilityClients(t, store, linClients, linPerClient, linStreams)
	checkHistory(t, store, run)
	assert.Less(t, store.Stats().Syncs, uint64(run.counts.appends), "concurrent appends share log writes")
}

// TestLinearizabilityCheckerCatchesBugs makes sure the model rejects the
// histories a broken store would produce.
func TestLinearizabilityCheckerCatchesBugs(t *testing.T) {
	op := func(client int, in linInput, out linOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
	}
	a := linInput{stream: "s", expected: NoStream, ids: []string{"a"}}
	retryA := linInput{stream: "s", expected: NoStream, ids: []string{"a"}, retry: true}
	b := linInput{stream: "s", expected: NoStream, ids: []string{"b"}}
	read := linInput{stream: "s", read: true}
	last := linInput{stream: "s", readLast: true}
	readOf := func(ids ...string) linOutput {
		out := linOutput{n: uint64(len(ids))}
		for _, id := range ids {
			out.hash = chainHash(out.hash, id)
		}
		return out
	}
	tests := []struct {
		name string
		ops  []porcupine.Operation
		ok   bool
	}{
		{"sequential appends", []porcupine.Operation{
			op(0, a, linOutput{ok: true, version: 1}, 1, 2),
			op(1, b, linOutput{conflict: true, actual: 1}, 3, 4),
			op(1, read, readOf("a"), 5, 6),
			op(1, last, linOutput{n: 1, last: "a"}, 7, 8)}, true},
		{"both no-stream appends succeed", []porcupine.Operation{
			op(0, a, linOutput{ok: true, version: 1}, 1, 3),
			op(1, b, linOutput{ok: true, version: 1}, 2, 4)}, false},
		{"read misses an acknowledged append", []porcupine.Operation{
			op(0, a, linOutput{ok: true, version: 1}, 1, 2),
			op(1, read, readOf(), 3, 4)}, false},
		{"conflict reports a wrong version", []porcupine.Operation{
			op(0, a, linOutput{ok: true, version: 1}, 1, 2),
			op(1, b, linOutput{conflict: true, actual: 2}, 3, 4)}, false},
		{"retry duplicated", []porcupine.Operation{
			op(0, a, linOutput{unknown: true}, 1, math.MaxInt64),
			op(0, retryA, linOutput{ok: true, version: 1}, 2, 3),
			op(1, read, readOf("a", "a"), 4, 5)}, false},
		{"retry deduplicated", []porcupine.Operation{
			op(0, a, linOutput{unknown: true}, 1, math.MaxInt64),
			op(0, retryA, linOutput{ok: true, version: 1}, 2, 3),
			op(1, read, readOf("a"), 4, 5)}, true},
		{"last read sees an old event", []porcupine.Operation{
			op(0, a, linOutput{ok: true, version: 1}, 1, 2),
			op(0, linInput{stream: "s", expected: Exact(1), ids: []string{"b"}}, linOutput{ok: true, version: 2}, 3, 4),
			op(1, last, linOutput{n: 1, last: "a"}, 5, 6)}, false},
		{"exact retry after the stream moved on", []porcupine.Operation{
			op(0, a, linOutput{unknown: true}, 1, math.MaxInt64),
			op(1, linInput{stream: "s", expected: Any, ids: []string{"b"}}, linOutput{ok: true, version: 2}, 2, 3),
			op(0, retryA, linOutput{ok: true, version: 1}, 4, 5),
			op(1, read, readOf("a", "b"), 6, 7)}, true},
		{"any retry appended twice", []porcupine.Operation{
			op(0, linInput{stream: "s", expected: Any, ids: []string{"x"}}, linOutput{unknown: true}, 1, math.MaxInt64),
			op(0, linInput{stream: "s", expected: Any, ids: []string{"x"}, retry: true}, linOutput{ok: true, version: 2}, 2, 3),
			op(1, read, readOf("x", "x"), 4, 5)}, false},
		{"unknown append seen later", []porcupine.Operation{
			op(0, a, linOutput{unknown: true}, 1, math.MaxInt64),
			op(1, read, readOf("a"), 4, 5)}, true},
		{"unknown append never seen", []porcupine.Operation{
			op(0, a, linOutput{unknown: true}, 1, math.MaxInt64),
			op(1, read, readOf(), 4, 5)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.ok, porcupine.CheckOperations(linModel, tt.ops), "checker verdict")
		})
	}
}
