package eventsource

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeFactory opens an empty store for one test; the test closes it.
type storeFactory func(t *testing.T, limits Limits) Store

func ed(id, typ, data string) EventData {
	return EventData{ID: id, Type: typ, Data: []byte(data)}
}

func collect(t *testing.T, seq iter.Seq2[Event, error]) []Event {
	t.Helper()
	var out []Event
	for ev, err := range seq {
		require.NoError(t, err, "reading should not fail")
		out = append(out, ev)
	}
	return out
}

func ids(events []Event) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev.ID
	}
	return out
}

// runStoreTests is the contract every Store implementation must meet.
func runStoreTests(t *testing.T, open storeFactory) {
	t.Run("ExpectedVersion", func(t *testing.T) { testExpectedVersion(t, open) })
	t.Run("ConflictError", func(t *testing.T) { testConflictError(t, open) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, open) })
	t.Run("ReadStream", func(t *testing.T) { testReadStream(t, open) })
	t.Run("ReadAll", func(t *testing.T) { testReadAll(t, open) })
	t.Run("EventFields", func(t *testing.T) { testEventFields(t, open) })
	t.Run("CopiesInput", func(t *testing.T) { testCopiesInput(t, open) })
	t.Run("Subscribe", func(t *testing.T) { testSubscribe(t, open) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, open) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrentAppends(t, open) })
}

func testExpectedVersion(t *testing.T, open storeFactory) {
	ctx := context.Background()
	tests := []struct {
		name     string
		existing int // events already in the stream
		expected ExpectedVersion
		ok       bool
	}{
		{"any on missing stream", 0, Any, true},
		{"any on existing stream", 2, Any, true},
		{"no stream on missing stream", 0, NoStream, true},
		{"no stream on existing stream", 1, NoStream, false},
		{"stream exists on missing stream", 0, StreamExists, false},
		{"stream exists on existing stream", 1, StreamExists, true},
		{"exact 0 on missing stream", 0, Exact(0), true},
		{"exact 0 on existing stream", 1, Exact(0), false},
		{"exact matching", 3, Exact(3), true},
		{"exact behind", 3, Exact(2), false},
		{"exact ahead", 3, Exact(4), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Limits{})
			defer s.Close()
			for i := range tt.existing {
				_, err := s.Append(ctx, "s", Any, ed(fmt.Sprint("pre", i), "T", ""))
				require.NoError(t, err, "seeding the stream should succeed")
			}
			res, err := s.Append(ctx, "s", tt.expected, ed("new", "T", "x"))
			if tt.ok {
				require.NoError(t, err, "append with %v on a stream of %d events should succeed", tt.expected, tt.existing)
				assert.Equal(t, uint64(tt.existing+1), res.Version, "version after the append")
				assert.Equal(t, uint64(tt.existing+1), res.Position, "position of the appended event")
				assert.False(t, res.Deduplicated, "a fresh append is not deduplicated")
			} else {
				require.ErrorIs(t, err, ErrVersionConflict, "append with %v on a stream of %d events should conflict", tt.expected, tt.existing)
				got := collect(t, s.ReadStream(ctx, "s", 0, Forward))
				assert.Len(t, got, tt.existing, "a rejected append writes nothing")
			}
		})
	}
}

func testConflictError(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	defer s.Close()
	_, err := s.Append(ctx, "orders-1", NoStream, ed("a", "T", ""), ed("b", "T", ""))
	require.NoError(t, err, "first append should succeed")
	_, err = s.Append(ctx, "orders-1", Exact(1), ed("c", "T", ""))
	var ce *ConflictError
	require.ErrorAs(t, err, &ce, "a stale expected version should give a *ConflictError")
	assert.Equal(t, "orders-1", ce.Stream, "conflict names the stream")
	assert.Equal(t, Exact(1), ce.Expected, "conflict reports the expected version")
	assert.Equal(t, uint64(2), ce.Actual, "conflict reports the actual version")
	assert.Contains(t, err.Error(), "expected version 1, stream is at version 2", "message says both versions")
}

func testIdempotency(t *testing.T, open storeFactory) {
	ctx := context.Background()
	t.Run("retry with same expectation is deduplicated", func(t *testing.T) {
		for _, exp := range []ExpectedVersion{Any, NoStream, Exact(0)} {
			s := open(t, Limits{})
			first, err := s.Append(ctx, "s", exp, ed("a", "T", "1"), ed("b", "T", "2"))
			require.NoError(t, err, "first append with %v", exp)
			_, err = s.Append(ctx, "s", Any, ed("c", "T", "3"))
			require.NoError(t, err, "a later append")
			again, err := s.Append(ctx, "s", exp, ed("a", "T", "1"), ed("b", "T", "2"))
			require.NoError(t, err, "retrying the append with %v should succeed", exp)
			assert.True(t, again.Deduplicated, "retry is reported as deduplicated")
			assert.Equal(t, first.Version, again.Version, "retry reports the original version")
			assert.Equal(t, first.Position, again.Position, "retry reports the original position")
			assert.Equal(t, []string{"a", "b", "c"}, ids(collect(t, s.ReadStream(ctx, "s", 0, Forward))), "no duplicates")
			s.Close()
		}
	})
	t.Run("retry of a prefix is deduplicated", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "s", Exact(0), ed("a", "T", ""), ed("b", "T", ""))
		require.NoError(t, err, "first append")
		res, err := s.Append(ctx, "s", Exact(0), ed("a", "T", ""))
		require.NoError(t, err, "retrying a prefix of the append should succeed")
		assert.Equal(t, AppendResult{Version: 1, Position: 1, Deduplicated: true}, res, "prefix retry result")
	})
	t.Run("retry with stream exists", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "s", Any, ed("a", "T", ""))
		require.NoError(t, err, "seed")
		_, err = s.Append(ctx, "s", StreamExists, ed("b", "T", ""))
		require.NoError(t, err, "append to existing stream")
		res, err := s.Append(ctx, "s", StreamExists, ed("b", "T", ""))
		require.NoError(t, err, "retry should succeed")
		assert.True(t, res.Deduplicated, "retry deduplicated")
	})
	t.Run("retry with a different expectation conflicts", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "s", Any, ed("x", "T", ""), ed("a", "T", ""))
		require.NoError(t, err, "seed")
		_, err = s.Append(ctx, "s", Exact(0), ed("a", "T", ""))
		var ce *ConflictError
		require.ErrorAs(t, err, &ce, "event a was not appended at version 1, so Exact(0) is a conflict")
		assert.Equal(t, uint64(2), ce.Actual, "actual version reported")
	})
	t.Run("partial overlap is a duplicate", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "s", Any, ed("a", "T", ""))
		require.NoError(t, err, "seed")
		_, err = s.Append(ctx, "s", Any, ed("a", "T", ""), ed("b", "T", ""))
		require.ErrorIs(t, err, ErrDuplicateEventID, "a and then a new event is not a retry")
		_, err = s.Append(ctx, "s", Any, ed("c", "T", ""), ed("a", "T", ""))
		require.ErrorIs(t, err, ErrDuplicateEventID, "an old id after a new one is a duplicate")
		assert.Equal(t, []string{"a"}, ids(collect(t, s.ReadStream(ctx, "s", 0, Forward))), "nothing written")
	})
	t.Run("exact retry that does not match conflicts", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "s", Exact(0), ed("a", "T", ""), ed("b", "T", ""))
		require.NoError(t, err, "seed")
		_, err = s.Append(ctx, "s", Exact(0), ed("a", "T", ""), ed("c", "T", ""))
		require.ErrorIs(t, err, ErrVersionConflict, "same first id but different events is a conflict, not a retry")
		_, err = s.Append(ctx, "s", Exact(0), ed("a", "T", ""), ed("b", "T", ""), ed("c", "T", ""))
		require.ErrorIs(t, err, ErrVersionConflict, "more events than the original is not a retry")
	})
	t.Run("exact append may reuse an old id", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "s", Exact(0), ed("a", "T", ""))
		require.NoError(t, err, "seed")
		res, err := s.Append(ctx, "s", Exact(1), ed("a", "T", ""))
		require.NoError(t, err, "an exact expectation that holds appends: ids identify retries, not events")
		assert.Equal(t, uint64(2), res.Version, "written as a new event")
	})
	t.Run("duplicate ids within one append", func(t *testing.T) {
		for _, n := range []int{2, 40} {
			s := open(t, Limits{})
			events := make([]EventData, n)
			for i := range events {
				events[i] = ed(fmt.Sprint("e", i), "T", "")
			}
			events[n-1].ID = "e0"
			_, err := s.Append(ctx, "s", Any, events...)
			require.ErrorIs(t, err, ErrDuplicateEventID, "id twice in one append of %d", n)
			s.Close()
		}
	})
	t.Run("empty ids are never deduplicated", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		for range 3 {
			_, err := s.Append(ctx, "s", Any, ed("", "T", ""), ed("", "T", ""))
			require.NoError(t, err, "events without ids append every time")
		}
		assert.Len(t, collect(t, s.ReadStream(ctx, "s", 0, Forward)), 6, "six events")
	})
	t.Run("same id in another stream is independent", func(t *testing.T) {
		s := open(t, Limits{})
		defer s.Close()
		_, err := s.Append(ctx, "a", Any, ed("x", "T", ""))
		require.NoError(t, err, "append to a")
		res, err := s.Append(ctx, "b", Any, ed("x", "T", ""))
		require.NoError(t, err, "same id in stream b")
		assert.False(t, res.Deduplicated, "ids are scoped to their stream")
	})
}

func testLimits(t *testing.T, open storeFactory) {
	ctx := context.Background()
	lim := Limits{MaxEventSize: 100, MaxAppendSize: 250, MaxAppendEvents: 5}
	big := strings.Repeat("x", 97) // 97 + len("T") + len("id") = 100
	tests := []struct {
		name   string
		stream string
		exp    ExpectedVersion
		events []EventData
		want   error
	}{
		{"event at the limit", "s", Any, []EventData{ed("id", "T", big)}, nil},
		{"event over the limit", "s", Any, []EventData{ed("id", "T", big+"y")}, ErrEventTooLarge},
		{"metadata counts", "s", Any, []EventData{{ID: "id", Type: "T", Data: []byte(big), Metadata: []byte("m")}}, ErrEventTooLarge},
		{"append over the byte limit", "s", Any, []EventData{ed("a", "T", big[:90]), ed("b", "T", big[:90]), ed("c", "T", big[:90])}, ErrAppendTooLarge},
		{"too many events", "s", Any, []EventData{ed("", "T", ""), ed("", "T", ""), ed("", "T", ""), ed("", "T", ""), ed("", "T", ""), ed("", "T", "")}, ErrAppendTooLarge},
		{"no events", "s", Any, nil, ErrInvalidEvent},
		{"empty stream", "", Any, []EventData{ed("", "T", "")}, ErrInvalidEvent},
		{"long stream name", strings.Repeat("s", MaxNameSize+1), Any, []EventData{ed("", "T", "")}, ErrInvalidEvent},
		{"empty type", "s", Any, []EventData{ed("", "", "")}, ErrInvalidEvent},
		{"long id", "s", Any, []EventData{ed(strings.Repeat("i", MaxNameSize+1), "T", "")}, ErrInvalidEvent},
		{"unknown expected version", "s", ExpectedVersion(-9), []EventData{ed("", "T", "")}, ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, lim)
			defer s.Close()
			_, err := s.Append(ctx, tt.stream, tt.exp, tt.events...)
			if tt.want == nil {
				require.NoError(t, err, "append within the limits should succeed")
				return
			}
			require.ErrorIs(t, err, tt.want, "append should be rejected")
			assert.Empty(t, collect(t, s.ReadAll(ctx, 0)), "a rejected append writes nothing")
		})
	}
}

func testReadStream(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	defer s.Close()
	for i := 1; i <= 5; i++ {
		_, err := s.Append(ctx, "s", Exact(uint64(i-1)), ed(fmt.Sprint(i), "T", ""))
		require.NoError(t, err, "append %d", i)
		_, err = s.Append(ctx, "other", Any, ed(fmt.Sprint("o", i), "T", ""))
		require.NoError(t, err, "interleaved append %d", i)
	}
	tests := []struct {
		name string
		from uint64
		dir  Direction
		want []string
	}{
		{"forward from start", 0, Forward, []string{"1", "2", "3", "4", "5"}},
		{"forward from 1", 1, Forward, []string{"1", "2", "3", "4", "5"}},
		{"forward from 4", 4, Forward, []string{"4", "5"}},
		{"forward past end", 6, Forward, nil},
		{"backward from end", End, Backward, []string{"5", "4", "3", "2", "1"}},
		{"backward from 2", 2, Backward, []string{"2", "1"}},
		{"backward from 0", 0, Backward, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, nilIfEmpty(ids(collect(t, s.ReadStream(ctx, "s", tt.from, tt.dir)))), "ids read")
		})
	}
	assert.Empty(t, collect(t, s.ReadStream(ctx, "missing", 0, Forward)), "missing stream reads as empty")
	n := 0
	for range s.ReadStream(ctx, "s", 0, Forward) {
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n, "breaking out of a read stops it")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testReadAll(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	defer s.Close()
	for i := 1; i <= 600; i++ {
		_, err := s.Append(ctx, fmt.Sprint("s", i%7), Any, ed(fmt.Sprint(i), "T", ""))
		require.NoError(t, err, "append %d", i)
	}
	all := collect(t, s.ReadAll(ctx, 0))
	require.Len(t, all, 600, "every event in the global log")
	for i, ev := range all {
		assert.Equal(t, uint64(i+1), ev.Position, "positions are gap-free")
		assert.Equal(t, fmt.Sprint(i+1), ev.ID, "global log is in commit order")
	}
	tail := collect(t, s.ReadAll(ctx, 598))
	assert.Equal(t, []string{"598", "599", "600"}, ids(tail), "read from a position")
	assert.Empty(t, collect(t, s.ReadAll(ctx, 601)), "read past the end")
}

func testEventFields(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	defer s.Close()
	_, err := s.Append(ctx, "x", Any, ed("", "T", ""))
	require.NoError(t, err, "seed another stream")
	in := EventData{ID: "id-1", Type: "Placed", Data: []byte(`{"n":1}`), Metadata: []byte(`{"user":"u"}`)}
	_, err = s.Append(ctx, "orders", NoStream, in)
	require.NoError(t, err, "append")
	got := collect(t, s.ReadStream(ctx, "orders", 0, Forward))
	require.Len(t, got, 1, "one event")
	ev := got[0]
	assert.Equal(t, "id-1", ev.ID, "id")
	assert.Equal(t, "orders", ev.Stream, "stream")
	assert.Equal(t, "Placed", ev.Type, "type")
	assert.Equal(t, uint64(1), ev.Version, "version")
	assert.Equal(t, uint64(2), ev.Position, "position")
	assert.False(t, ev.Time.IsZero(), "time is set")
	assert.Equal(t, in.Data, ev.Data, "data")
	assert.Equal(t, in.Metadata, ev.Metadata, "metadata")
}

func testCopiesInput(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	defer s.Close()
	buf := []byte("original")
	_, err := s.Append(ctx, "s", Any, EventData{Type: "T", Data: buf})
	require.NoError(t, err, "append")
	copy(buf, "XXXXXXXX")
	got := collect(t, s.ReadAll(ctx, 0))
	assert.Equal(t, "original", string(got[0].Data), "the store keeps its own copy of the data")
	got[0].Data = append(got[0].Data, "more"...)
	_, err = s.Append(ctx, "s", Any, EventData{Type: "T", Data: []byte("neighbour"), Metadata: []byte("meta")})
	require.NoError(t, err, "append")
	got = collect(t, s.ReadAll(ctx, 0))
	assert.Equal(t, "neighbour", string(got[1].Data), "appending to returned data must not overwrite the next event")
	_ = append(got[1].Data, "XXXX"...)
	got = collect(t, s.ReadAll(ctx, 0))
	assert.Equal(t, "meta", string(got[1].Metadata), "appending to returned data must not overwrite the metadata")
	_, err = s.Append(ctx, "s", Any, EventData{Type: "T", Metadata: []byte("only")})
	require.NoError(t, err, "append metadata only")
	got = collect(t, s.ReadAll(ctx, 3))
	assert.Empty(t, got[0].Data, "no data")
	assert.Equal(t, "only", string(got[0].Metadata), "metadata without data")
}

func testSubscribe(t *testing.T, open storeFactory) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := open(t, Limits{})
	defer s.Close()
	for i := 1; i <= 3; i++ {
		_, err := s.Append(ctx, "s", Any, ed(fmt.Sprint(i), "T", ""))
		require.NoError(t, err, "append %d", i)
	}
	var got []string
	done := make(chan error, 1)
	live := make(chan struct{})
	all := make(chan struct{})
	go func() {
		for ev, err := range s.Subscribe(ctx, 2) {
			if err != nil {
				done <- err
				return
			}
			got = append(got, ev.ID)
			switch ev.ID {
			case "3":
				close(live)
			case "6":
				close(all)
			}
		}
		done <- nil
	}()
	<-live
	for i := 4; i <= 6; i++ {
		_, err := s.Append(ctx, "s", Any, ed(fmt.Sprint(i), "T", ""))
		require.NoError(t, err, "live append %d", i)
	}
	<-all
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled, "subscription ends with the context's error")
	assert.Equal(t, []string{"2", "3", "4", "5", "6"}, got, "catch-up then live, in order")
}

func testCanceled(t *testing.T, open storeFactory) {
	s := open(t, Limits{})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Append(ctx, "s", Any, ed("a", "T", ""))
	require.ErrorIs(t, err, context.Canceled, "append with a canceled context")
	for i := range 300 {
		_, err := s.Append(context.Background(), "s", Any, ed(fmt.Sprint(i), "T", ""))
		require.NoError(t, err, "seed")
	}
	var last error
	n := 0
	for _, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	require.ErrorIs(t, last, context.Canceled, "a long read notices cancellation")
	assert.Less(t, n, 300, "read stops early")
	last = nil
	for _, err := range s.ReadStream(ctx, "s", 0, Forward) {
		if err != nil {
			last = err
			break
		}
	}
	require.ErrorIs(t, last, context.Canceled, "a long stream read notices cancellation")
	for _, err := range s.Subscribe(ctx, 0) {
		last = err
		break
	}
	require.ErrorIs(t, last, context.Canceled, "subscribe with a canceled context")
}

func testClosed(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	_, err := s.Append(ctx, "s", Any, ed("a", "T", ""))
	require.NoError(t, err, "append")
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		for _, err := range s.Subscribe(ctx, 0) {
			if err != nil {
				done <- err
				return
			}
			close(started)
		}
	}()
	<-started
	require.NoError(t, s.Close(), "close")
	require.ErrorIs(t, <-done, ErrClosed, "open subscription ends with ErrClosed")
	_, err = s.Append(ctx, "s", Any, ed("b", "T", ""))
	require.ErrorIs(t, err, ErrClosed, "append after close")
	for _, err := range s.ReadAll(ctx, 0) {
		require.ErrorIs(t, err, ErrClosed, "read after close")
	}
	for _, err := range s.ReadStream(ctx, "s", 0, Forward) {
		require.ErrorIs(t, err, ErrClosed, "stream read after close")
	}
	require.NoError(t, s.Close(), "closing twice is harmless")
}

func testConcurrentAppends(t *testing.T, open storeFactory) {
	ctx := context.Background()
	s := open(t, Limits{})
	defer s.Close()
	const writers, perWriter = 8, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]uint64{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprint("shared-", w%2)
			for i := range perWriter {
				id := fmt.Sprintf("w%d-%d", w, i)
				for {
					var version uint64
					for ev, err := range s.ReadStream(ctx, stream, End, Backward) {
						if err != nil {
							t.Errorf("read: %v", err)
							return
						}
						version = ev.Version
						break
					}
					res, err := s.Append(ctx, stream, Exact(version), ed(id, "T", ""))
					if errors.Is(err, ErrVersionConflict) {
						continue
					}
					if err != nil {
						t.Errorf("append: %v", err)
						return
					}
					mu.Lock()
					acked[id] = res.Position
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	all := collect(t, s.ReadAll(ctx, 0))
	require.Len(t, all, writers*perWriter, "every acknowledged event once")
	seen := map[string]bool{}
	versions := map[string]uint64{}
	for i, ev := range all {
		assert.Equal(t, uint64(i+1), ev.Position, "gap-free positions")
		assert.False(t, seen[ev.ID], "event %s appears once", ev.ID)
		seen[ev.ID] = true
		assert.Equal(t, acked[ev.ID], ev.Position, "acknowledged position matches the log")
		versions[ev.Stream]++
		assert.Equal(t, versions[ev.Stream], ev.Version, "stream versions are gap-free")
	}
}
