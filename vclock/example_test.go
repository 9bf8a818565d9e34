package vclock_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/distkit/distkit/vclock"
)

// Two replicas tick their own actors and exchange clocks; Compare tells
// which update saw the other.
func ExampleClock_Compare() {
	var base vclock.Clock // the zero Clock is ready to use
	a, _ := base.Tick(1)  // replica 1 writes
	b, _ := a.Tick(2)     // replica 2 saw that write, then wrote
	c, _ := a.Tick(3)     // replica 3 also saw it, and wrote concurrently

	fmt.Println(a, "vs", b, "->", a.Compare(b))
	fmt.Println(b, "vs", a, "->", b.Compare(a))
	fmt.Println(b, "vs", c, "->", b.Compare(c))
	fmt.Println("b descends a:", b.Descends(a))
	// Output:
	// {1:1} vs {1:1,2:1} -> before
	// {1:1,2:1} vs {1:1} -> after
	// {1:1,2:1} vs {1:1,3:1} -> concurrent
	// b descends a: true
}

// Receiving a message: merge the sender's clock, then tick for the receive
// event.
func ExampleClock_Merge() {
	local := vclock.FromMap(map[vclock.Actor]uint64{1: 4, 2: 1})
	remote := vclock.FromMap(map[vclock.Actor]uint64{2: 3, 3: 1})
	local, err := local.Merge(remote).Tick(1)
	if err != nil {
		panic(err)
	}
	fmt.Println(local)
	// Output: {1:5,2:3,3:1}
}

// An explicit zero entry is the same as no entry.
func ExampleFromMap() {
	withZero := vclock.FromMap(map[vclock.Actor]uint64{1: 2, 7: 0})
	without := vclock.FromMap(map[vclock.Actor]uint64{1: 2})
	fmt.Println(withZero, withZero.Compare(without))
	// Output: {1:2} equal
}

// MergeInto reuses a buffer, for loops that merge many clocks and keep
// only a summary.
func ExampleClock_MergeInto() {
	clocks := []vclock.Clock{
		vclock.FromMap(map[vclock.Actor]uint64{1: 3}),
		vclock.FromMap(map[vclock.Actor]uint64{2: 5}),
		vclock.FromMap(map[vclock.Actor]uint64{1: 1, 3: 2}),
	}
	bufs := [2][]vclock.Entry{make([]vclock.Entry, 0, 8), make([]vclock.Entry, 0, 8)}
	var summary vclock.Clock
	for i, c := range clocks {
		// Alternate buffers: the result must not be written into the
		// buffer that holds the operand.
		summary = summary.MergeInto(bufs[i%2], c)
	}
	fmt.Println(summary)
	// Output: {1:3,2:5,3:2}
}

// A counter never wraps around.
func ExampleClock_Tick() {
	c := vclock.FromMap(map[vclock.Actor]uint64{9: vclock.MaxCounter})
	_, err := c.Tick(9)
	fmt.Println(errors.Is(err, vclock.ErrCounterOverflow))
	// Output: true
}

// Clocks have a compact canonical binary form and a text form, which is
// also their JSON form.
func ExampleClock_MarshalBinary() {
	c := vclock.FromMap(map[vclock.Actor]uint64{1: 3, 2: 1, 5: 200})
	bin, _ := c.MarshalBinary()
	txt, _ := c.MarshalText()
	fmt.Printf("%d bytes: % x\n", len(bin), bin)
	fmt.Println(string(txt))

	var back vclock.Clock
	if err := back.UnmarshalBinary(bin); err != nil {
		panic(err)
	}
	fmt.Println(back.Equal(c))

	err := back.UnmarshalText([]byte("{2:1,1:3}"))
	fmt.Println(errors.Is(err, vclock.ErrMalformed))
	// Output:
	// 8 bytes: 03 01 02 00 00 02 c7 01
	// {1:3,2:1,5:200}
	// true
	// true
}

// A shopping cart kept by two replicas. Concurrent writes become siblings;
// a write that read both resolves them.
func ExampleDVVSet() {
	const replicaA, replicaB vclock.Actor = 1, 2
	var a, b vclock.DVVSet[string]

	a, _, _ = a.Put(replicaA, vclock.Clock{}, "milk")
	b = b.Sync(a)

	// Two clients read the cart, then write through different replicas.
	read := a.Context()
	a, _, _ = a.Put(replicaA, read, "milk, eggs")
	b, _, _ = b.Put(replicaB, read, "milk, bread")

	merged := a.Sync(b)
	fmt.Println("siblings:", merged.Values())

	// A client reads both siblings and writes the reconciled cart.
	merged, _, _ = merged.Put(replicaB, merged.Context(), "milk, eggs, bread")
	fmt.Println("resolved:", merged.Values())

	// Syncing with replica A's stale state brings nothing back.
	fmt.Println("after sync:", merged.Sync(a).Values())
	// Output:
	// siblings: [milk, eggs milk, bread]
	// resolved: [milk, eggs, bread]
	// after sync: [milk, eggs, bread]
}

// A DVVSet crosses the network in its binary form; the caller supplies the
// value codec.
func ExampleDecodeDVVSet() {
	var s vclock.DVVSet[string]
	s, _, _ = s.Put(1, vclock.Clock{}, "x")
	s, _, _ = s.Put(1, vclock.Clock{}, "y")

	data, _ := s.AppendBinary(nil, func(b []byte, v string) ([]byte, error) { return append(b, v...), nil })
	back, _, err := vclock.DecodeDVVSet(data, func(b []byte) (string, error) { return string(b), nil })
	if err != nil {
		panic(err)
	}
	fmt.Println(back.Values(), back.Context())
	// Output: [x y] {1:2}
}

// Timestamps from an HLC are strictly increasing, and a receive event is
// ordered after the remote event.
func ExampleHLC() {
	clock := vclock.NewHLC(vclock.HLCConfig{MaxOffset: 250 * time.Millisecond})
	t1 := clock.Now()
	t2 := clock.Now()
	fmt.Println(t1 < t2)

	remote := t2 + 10 // a timestamp from a peer slightly ahead
	t3, err := clock.Update(remote)
	fmt.Println(err == nil, t3 > remote)

	far, _ := vclock.NewTimestamp(time.Now().Add(time.Hour).UnixMilli(), 0)
	_, err = clock.Update(far)
	fmt.Println(errors.Is(err, vclock.ErrClockOffset))
	// Output:
	// true
	// true true
	// true
}

// Timestamps encode as 8 big-endian bytes or 16 hex digits; both sort like
// the timestamps.
func ExampleTimestamp() {
	ts, _ := vclock.NewTimestamp(1_714_564_800_123, 3)
	txt, _ := ts.MarshalText()
	fmt.Println(ts)
	fmt.Println(string(txt))
	// Output:
	// 2024-05-01T12:00:00.123Z/3
	// 018f34069e7b0003
}
