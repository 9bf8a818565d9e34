package vclock

import (
	"cmp"
	"iter"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Actor identifies a replica (a node, a process, a shard owner) that
// advances its own entry of a clock. Actors are integers so that a clock
// encodes compactly: small dense ids (a replica's index in the membership
// list) cost one byte each in the binary form. Give each replica one actor
// for its whole life, never one per client or per request: the size of every
// clock grows with the number of actors that ever ticked it. A replica that
// restarts must resume from its last counter (keep its clock durably) or
// take a new actor id; ticking from zero again would reissue old events.
type Actor uint64

// MaxActor is the largest actor id.
const MaxActor = Actor(math.MaxUint64)

// Entry is one (actor, counter) pair of a [Clock].
type Entry struct {
	Actor   Actor
	Counter uint64
}

// MaxCounter is the largest counter a clock entry can hold. Ticking an
// entry at MaxCounter returns [ErrCounterOverflow]; counters never wrap.
const MaxCounter uint64 = math.MaxUint64

// Order is the causal relation between two clocks, as returned by
// [Clock.Compare].
type Order int8

// The four possible results of [Clock.Compare]. The zero Order is Equal.
const (
	// Equal: both clocks record exactly the same events.
	Equal Order = iota
	// Before: the receiver happened before the argument (the argument
	// records every event of the receiver and at least one more).
	Before
	// After: the argument happened before the receiver.
	After
	// Concurrent: each clock records an event the other does not.
	Concurrent
)

// String returns "equal", "before", "after" or "concurrent".
func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
	case Before:
		return "before"
	case After:
		return "after"
	case Concurrent:
		return "concurrent"
	}
	return "Order(" + strconv.Itoa(int(o)) + ")"
}

// Clock is a vector clock: a counter per actor, where an actor that is not
// present has counter zero. The zero value is a valid empty clock.
//
// A Clock is an immutable value. Tick and Merge return a new Clock and never
// change the receiver, so copies can be stored, shared between goroutines
// and sent on channels without locks or defensive copying. The entries are
// kept sorted by actor with zero counters left out, so an explicit zero
// entry given to [FromMap] or [FromEntries] is exactly the same clock as one
// without it.
//
// Methods that build a new clock allocate; their Into forms ([Clock.MergeInto],
// [Clock.TickInto], [DecodeClockInto]) write into a caller-owned buffer
// instead for hot paths. Compare, Descends, Get and the Append encoders never
// allocate.
type Clock struct {
	// entries is sorted by Actor, has no duplicate actors and no zero
	// counters. It is never written after the Clock is built.
	entries []Entry
}

// FromMap returns the clock holding the counters of m. Zero counters are
// the same as missing actors and are left out.
func FromMap(m map[Actor]uint64) Clock {
	entries := make([]Entry, 0, len(m))
	for a, n := range m {
		if n != 0 {
			entries = append(entries, Entry{Actor: a, Counter: n})
		}
	}
	if len(entries) == 0 {
		return Clock{}
	}
	slices.SortFunc(entries, compareActors)
	return Clock{entries: entries}
}

// FromEntries returns the clock holding the given entries, in any order.
// Zero counters are left out. It returns [ErrDuplicateActor] if an actor
// appears twice. The clock does not keep a reference to entries.
func FromEntries(entries []Entry) (Clock, error) {
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if e.Counter != 0 {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareActors)
	for i := 1; i < len(out); i++ {
		if out[i].Actor == out[i-1].Actor {
			return Clock{}, &ActorError{Actor: out[i].Actor, Err: ErrDuplicateActor}
		}
	}
	if len(out) == 0 {
		return Clock{}, nil
	}
	return Clock{entries: out}, nil
}

func compareActors(a, b Entry) int { return cmp.Compare(a.Actor, b.Actor) }

// Len returns the number of actors with a non-zero counter.
func (c Clock) Len() int { return len(c.entries) }

// IsZero reports whether c records no event at all.
func (c Clock) IsZero() bool { return len(c.entries) == 0 }

// Get returns the counter of actor a, zero if c has no entry for it.
func (c Clock) Get(a Actor) uint64 {
	if i, ok := c.find(a); ok {
		return c.entries[i].Counter
	}
	return 0
}

// find returns the index of a's entry, or where it would be inserted.
func (c Clock) find(a Actor) (int, bool) {
	return slices.BinarySearchFunc(c.entries, a, func(e Entry, a Actor) int {
		return cmp.Compare(e.Actor, a)
	})
}

// All yields the non-zero entries in ascending actor order.
func (c Clock) All() iter.Seq2[Actor, uint64] {
	return func(yield func(Actor, uint64) bool) {
		for _, e := range c.entries {
			if !yield(e.Actor, e.Counter) {
				return
			}
		}
	}
}

// AppendEntries appends the non-zero entries of c, in ascending actor order,
// to dst and returns the extended slice.
func (c Clock) AppendEntries(dst []Entry) []Entry {
	return append(dst, c.entries...)
}

// Compare returns the causal order of c relative to o in one pass: Equal,
// Before (c happened before o), After (o happened before c) or Concurrent.
// It never allocates.
func (c Clock) Compare(o Clock) Order {
	order, _ := compareEntries(c.entries, o.entries)
	return order
}

// compareEntries orders a relative to b and reports whether both list
// exactly the same actors, which lets Merge skip a pass.
func compareEntries(a, b []Entry) (order Order, sameActors bool) {
	if len(a) == len(b) {
		// Clocks over the same actors are the common case: compare them in
		// lockstep without branches, and fall back to the general walk only
		// if some actor differs.
		b = b[:len(a)]
		var actorDiff, less, more uint64
		for k := range a {
			x, y := a[k], b[k]
			actorDiff |= uint64(x.Actor ^ y.Actor)
			_, lt := bits.Sub64(x.Counter, y.Counter, 0) // borrow: x < y
			_, gt := bits.Sub64(y.Counter, x.Counter, 0) // borrow: x > y
			less |= lt
			more |= gt
		}
		if actorDiff == 0 {
			return orderOf(less != 0, more != 0), true
		}
	}
	return compareWalk(a, b), false
}

// orderOf turns "some counter is lower" and "some counter is higher" into
// an Order.
func orderOf(less, more bool) Order {
	switch {
	case less && more:
		return Concurrent
	case less:
		return Before
	case more:
		return After
	}
	return Equal
}

// compareWalk is Compare for clocks over different actors: a merge walk
// over both sorted entry lists that stops as soon as the answer is
// Concurrent.
func compareWalk(a, b []Entry) Order {
	less, more := false, false
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case x.Actor == y.Actor:
			less = less || x.Counter < y.Counter
			more = more || x.Counter > y.Counter
			i++
			j++
		case x.Actor < y.Actor: // b's counter for x.Actor is zero
			more = true
			i++
		default: // a's counter for y.Actor is zero
			less = true
			j++
		}
		if less && more {
			return Concurrent
		}
	}
	return orderOf(less || j < len(b), more || i < len(a))
}

// Descends reports whether c records every event of o (c is After or Equal
// to o). It never allocates.
func (c Clock) Descends(o Clock) bool {
	a, b := c.entries, o.entries
	if len(a) < len(b) {
		return false // o has an actor c lacks
	}
	i := 0
	for _, y := range b {
		for i < len(a) && a[i].Actor < y.Actor {
			i++
		}
		if i == len(a) || a[i].Actor != y.Actor || a[i].Counter < y.Counter {
			return false
		}
		i++
	}
	return true
}

// Equal reports whether c and o record exactly the same events.
func (c Clock) Equal(o Clock) bool {
	return slices.Equal(c.entries, o.entries)
}

// Merge returns the least upper bound of c and o: for every actor, the
// larger of the two counters. When one clock descends the other, Merge
// returns that clock without allocating; otherwise it allocates the result
// once.
func (c Clock) Merge(o Clock) Clock {
	a, b := c.entries, o.entries
	order, same := compareEntries(a, b)
	switch {
	case order == Equal || order == After:
		return c
	case order == Before:
		return o
	case same:
		return Clock{entries: maxSameActors(make([]Entry, len(a)), a, b)}
	}
	return Clock{entries: mergeWalk(make([]Entry, unionLen(a, b)), a, b)}
}

// MergeInto is Merge without allocation: it stores the entries of the
// merged clock in buf and returns a Clock that reads them from buf, even
// when one operand descends the other. It allocates only if cap(buf) is
// below c.Len()+o.Len(), the most the merge can need.
//
// The returned Clock shares buf: the caller must not write to buf, or pass
// it to another Into call, while the result is in use. buf must not share
// storage with c or o; MergeInto panics if it does, because the merge
// would overwrite entries it has yet to read.
func (c Clock) MergeInto(buf []Entry, o Clock) Clock {
	a, b := c.entries, o.entries
	mustNotOverlap(buf, a)
	mustNotOverlap(buf, b)
	need := len(a) + len(b)
	if cap(buf) < need {
		buf = make([]Entry, need)
	}
	if len(a) == len(b) && sameActors(a, b) {
		return Clock{entries: maxSameActors(buf[:len(a)], a, b)}
	}
	return Clock{entries: mergeWalk(buf[:need], a, b)}
}

// unionLen returns the number of distinct actors in a and b.
func unionLen(a, b []Entry) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch x, y := a[i].Actor, b[j].Actor; {
		case x == y:
			i++
			j++
		case x < y:
			i++
		default:
			j++
		}
		n++
	}
	return n + len(a) - i + len(b) - j
}

// sameActors reports whether a and b, of equal length, list the same
// actors.
func sameActors(a, b []Entry) bool {
	b = b[:len(a)]
	var diff uint64
	for k := range a {
		diff |= uint64(a[k].Actor ^ b[k].Actor)
	}
	return diff == 0
}

// maxSameActors writes the pointwise maximum of a and b, which list the
// same actors, into out (of their length) and returns it.
func maxSameActors(out, a, b []Entry) []Entry {
	out, b = out[:len(a):len(a)], b[:len(a)]
	for k := range a {
		out[k] = Entry{Actor: a[k].Actor, Counter: max(a[k].Counter, b[k].Counter)}
	}
	return out
}

// mergeWalk writes the pointwise maximum of a and b into out, whose length
// must be at least the number of distinct actors in a and b, and returns
// the written prefix. Writing by index rather than appending keeps the loop
// free of capacity checks.
func mergeWalk(out, a, b []Entry) []Entry {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case x.Actor == y.Actor:
			out[k] = Entry{Actor: x.Actor, Counter: max(x.Counter, y.Counter)}
			i++
			j++
		case x.Actor < y.Actor:
			out[k] = x
			i++
		default:
			out[k] = y
			j++
		}
		k++
	}
	k += copy(out[k:], a[i:])
	k += copy(out[k:], b[j:])
	return out[:k:k]
}

// Tick returns c with actor a's counter incremented by one: the clock of a
// new event at a. It returns [ErrCounterOverflow] (wrapped in an
// [*ActorError]) and the unchanged c if the counter is already MaxCounter.
// It allocates the new clock once.
func (c Clock) Tick(a Actor) (Clock, error) {
	return c.TickInto(nil, a)
}

// TickInto is Tick storing the result's entries in buf[:0], allocating only
// if cap(buf) is below the result's length. The returned Clock shares buf
// and the sharing rules of [Clock.MergeInto] apply: do not write to buf
// while the result is in use, and buf must not share storage with c.
func (c Clock) TickInto(buf []Entry, a Actor) (Clock, error) {
	mustNotOverlap(buf, c.entries)
	i, found := c.find(a)
	if found && c.entries[i].Counter == MaxCounter {
		return c, &ActorError{Actor: a, Err: ErrCounterOverflow}
	}
	if n := len(c.entries) + 1; cap(buf) < n {
		buf = make([]Entry, 0, n)
	}
	out := append(buf[:0], c.entries[:i]...)
	if found {
		out = append(out, Entry{Actor: a, Counter: c.entries[i].Counter + 1})
		out = append(out, c.entries[i+1:]...)
	} else {
		out = append(out, Entry{Actor: a, Counter: 1})
		out = append(out, c.entries[i:]...)
	}
	return Clock{entries: out[:len(out):len(out)]}, nil
}

// String returns the text form of c, as [Clock.MarshalText] does:
// "{}" or "{1:3,7:1}".
func (c Clock) String() string {
	b, _ := c.AppendText(nil)
	return string(b)
}
