package vclock

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func appendStringValue(b []byte, v string) ([]byte, error) { return append(b, v...), nil }
func decodeStringValue(b []byte) (string, error)           { return string(b), nil }

// fatalfer is what checkDVVInvariants needs of *testing.T and *rapid.T.
type fatalfer interface {
	Helper()
	Fatalf(format string, args ...any)
}

func checkDVVInvariants[V any](t fatalfer, s DVVSet[V]) {
	t.Helper()
	for i, e := range s.entries {
		if e.counter == 0 || uint64(len(e.values)) > e.counter || i > 0 && e.actor <= s.entries[i-1].actor {
			t.Fatalf("broken DVVSet invariant at entry %d: actor %d counter %d values %d", i, e.actor, e.counter, len(e.values))
		}
	}
}

func dvvSeeds() [][]byte {
	var s DVVSet[string]
	s, _, _ = s.Put(1, Clock{}, "a")
	s, _, _ = s.Put(1, Clock{}, "b")
	t, _, _ := DVVSet[string]{}.Put(2, Clock{}, "c")
	s = s.Sync(t)
	seeds := [][]byte{nil, {0}, {1, 0, 0, 0}, {1, 0, 0, 1, 0}, {1, 0, 0, 2, 1, 'x', 0}}
	for _, set := range []DVVSet[string]{s, t, s.Delete(s.Context())} {
		seeds = append(seeds, must(set.AppendBinary(nil, appendStringValue)))
	}
	return seeds
}

func put[V any](t *testing.T, s DVVSet[V], r Actor, ctx Clock, v V) DVVSet[V] {
	t.Helper()
	out, _, err := s.Put(r, ctx, v)
	require.NoError(t, err, "Put by replica %d", r)
	checkDVVInvariants(t, out)
	return out
}

func sortedValues(s DVVSet[string]) []string {
	v := s.Values()
	slices.Sort(v)
	return v
}

func TestDVVSetBlindWritesAreSiblings(t *testing.T) {
	var s DVVSet[string]
	s = put(t, s, 1, Clock{}, "v1")
	s = put(t, s, 1, Clock{}, "v2")
	assert.Equal(t, []string{"v1", "v2"}, s.Values(), "two writes without context through one replica are concurrent")
	assert.Equal(t, "{1:2}", s.Context().String(), "the context covers both writes")
	dots := maps.Collect(s.All())
	assert.Equal(t, map[Dot]string{{1, 1}: "v1", {1, 2}: "v2"}, dots, "each sibling has its own dot")
}

func TestDVVSetWriteWithContextReplacesWhatItSaw(t *testing.T) {
	var s DVVSet[string]
	s = put(t, s, 1, Clock{}, "v1")
	s = put(t, s, 1, Clock{}, "v2")
	next, dot, err := s.Put(1, s.Context(), "v3")
	require.NoError(t, err, "Put")
	assert.Equal(t, Dot{Actor: 1, Counter: 3}, dot, "the new write's dot")
	assert.Equal(t, []string{"v3"}, next.Values(), "a write that read both siblings replaces both")
	assert.Equal(t, []string{"v1", "v2"}, s.Values(), "Put must not change the receiver")
}

func TestDVVSetStaleContextKeepsUnseenWrite(t *testing.T) {
	var s DVVSet[string]
	s = put(t, s, 1, Clock{}, "v1")
	stale := s.Context() // a client reads v1
	s = put(t, s, 1, s.Context(), "v2")
	s = put(t, s, 1, stale, "v3") // the client writes without having seen v2
	assert.Equal(t, []string{"v2", "v3"}, s.Values(), "v1 is replaced, the unseen v2 survives beside v3")
}

func TestDVVSetSyncOfReplicas(t *testing.T) {
	var a, b DVVSet[string]
	a = put(t, a, 1, Clock{}, "base")
	b = b.Sync(a)
	ctx := b.Context()
	a = put(t, a, 1, ctx, "from-a")
	b = put(t, b, 2, ctx, "from-b")
	merged := a.Sync(b)
	assert.Equal(t, []string{"from-a", "from-b"}, sortedValues(merged), "concurrent writes on two replicas both survive")
	assert.Equal(t, sortedValues(merged), sortedValues(b.Sync(a)), "Sync is commutative")

	resolved := put(t, merged, 2, merged.Context(), "resolved")
	assert.Equal(t, []string{"resolved"}, resolved.Sync(a).Values(), "an old replica state cannot bring overwritten siblings back")
	assert.Equal(t, []string{"resolved"}, a.Sync(resolved).Values(), "in either direction")
	assert.Equal(t, "{1:2,2:2}", resolved.Context().String(), "context after resolution")
}

func TestDVVSetDelete(t *testing.T) {
	var a DVVSet[string]
	a = put(t, a, 1, Clock{}, "x")
	read := a.Context()
	b := DVVSet[string]{}.Sync(a)
	a = put(t, a, 1, Clock{}, "concurrent") // a blind write the deleter never saw
	b = b.Delete(read)
	assert.Zero(t, b.Len(), "the deleted value is gone on the deleting replica")
	assert.False(t, b.IsZero(), "the tombstone keeps its context")
	merged := a.Sync(b)
	assert.Equal(t, []string{"concurrent"}, merged.Values(), "delete removes what it saw, keeps what it did not")
	assert.Equal(t, []string{"concurrent"}, b.Sync(a).Values(), "in either direction")
}

func TestDVVSetOneActorPerReplicaManyClients(t *testing.T) {
	// Three clients write through replica 7 from the same read: three
	// siblings, one actor in the vector.
	var s DVVSet[string]
	s = put(t, s, 7, Clock{}, "seed")
	ctx := s.Context()
	for _, v := range []string{"alice", "bob", "carol"} {
		s = put(t, s, 7, ctx, v)
	}
	assert.Equal(t, []string{"alice", "bob", "carol"}, s.Values(), "writes from one read are concurrent, none lost")
	assert.Equal(t, 1, s.Context().Len(), "the vector has one entry per replica, not per client")
}

func TestDVVSetCounterOverflow(t *testing.T) {
	var s DVVSet[string]
	_, _, err := s.Put(1, FromMap(map[Actor]uint64{1: MaxCounter}), "v")
	require.ErrorIs(t, err, ErrCounterOverflow, "a replica counter at its maximum must not wrap")
	var ae *ActorError
	require.ErrorAs(t, err, &ae, "the error names the replica")
	assert.Equal(t, Actor(1), ae.Actor, "replica")
}

func TestDVVSetCopiesShareNothingMutable(t *testing.T) {
	base := put(t, DVVSet[string]{}, 1, Clock{}, "a")
	left := put(t, base, 1, Clock{}, "left")
	right := put(t, base, 1, Clock{}, "right")
	assert.Equal(t, []string{"a", "left"}, left.Values(), "a later Put on a shared ancestor must not change this set")
	assert.Equal(t, []string{"a", "right"}, right.Values(), "and the other branch is independent")
	assert.Equal(t, []string{"a"}, base.Values(), "the ancestor is unchanged")
	values := left.Values()
	values[0] = "changed"
	assert.Equal(t, []string{"a", "left"}, left.Values(), "Values returns a copy")
}

func TestDVVSetAllStops(t *testing.T) {
	s := put(t, put(t, DVVSet[string]{}, 1, Clock{}, "a"), 2, Clock{}, "b")
	n := 0
	for range s.All() {
		n++
		break
	}
	assert.Equal(t, 1, n, "All stops when the loop breaks")
}

func TestDVVSetBinary(t *testing.T) {
	a := put(t, put(t, DVVSet[string]{}, 1, Clock{}, "x"), 1, Clock{}, "")
	b := put(t, DVVSet[string]{}, 300, FromMap(map[Actor]uint64{5: 2}), "y")
	s := a.Sync(b)
	data, err := s.AppendBinary([]byte("hdr"), appendStringValue)
	require.NoError(t, err, "encode")
	got, n, err := DecodeDVVSet(data[3:], decodeStringValue)
	require.NoError(t, err, "decode")
	assert.Equal(t, len(data)-3, n, "all bytes used")
	assert.Equal(t, s.Values(), got.Values(), "values round trip, empty value included")
	assert.True(t, got.Context().Equal(s.Context()), "context round trip")
	assert.Equal(t, maps.Collect(s.All()), maps.Collect(got.All()), "dots round trip")

	boom := errors.New("value codec failed")
	_, err = s.AppendBinary(nil, func([]byte, string) ([]byte, error) { return nil, boom })
	require.ErrorIs(t, err, boom, "encoder errors pass through")
	out, err := s.AppendBinary([]byte("keep"), func([]byte, string) ([]byte, error) { return nil, nil })
	require.ErrorIs(t, err, errShrunk, "an encoder that drops bytes is reported, not a panic")
	assert.Equal(t, "keep", string(out[:4]), "bytes before the set are kept")
	_, _, err = DecodeDVVSet(data[3:], func([]byte) (string, error) { return "", boom })
	require.ErrorIs(t, err, boom, "decoder errors pass through")
	var de *DecodeError
	require.ErrorAs(t, err, &de, "wrapped with the offset")
}

func TestDecodeDVVSetRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		err  error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated actor", []byte{1, 0, 0}, ErrMalformed},
		{"more values than dots", uvarints(1, 4, 0, 2, 1, 'a', 1, 'b'), ErrMalformed},
		{"value longer than input", uvarints(1, 4, 1, 1, 5, 'a'), ErrMalformed},
		{"too many actors", uvarints(MaxEntries + 1), ErrTooManyEntries},
		{"too many values", uvarints(1, 1, MaxSiblings+1, MaxSiblings+1), ErrTooManyEntries},
		{"overlong size", uvarints(1, 4, 0, 1, 0x80, 0), ErrMalformed},
		{"actor wraps", append(append(uvarints(2, 1<<64-1), 0, 0), 0, 0, 0), ErrMalformed},
		{"counter beyond max", append(uvarints(1, 1, 1<<64-1), 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeDVVSet(tt.data, decodeStringValue)
			require.ErrorIs(t, err, tt.err, "decoding % x", tt.data)
		})
	}
}
