package vclock

import (
	"cmp"
	"iter"
	"slices"
)

// Dot names one event: the Counter-th event issued by Actor.
type Dot struct {
	Actor   Actor
	Counter uint64
}

// DVVSet is a dotted version vector set (Almeida, Baquero, Gonçalves,
// Preguiça and Fonte, "Scalable and Accurate Causality Tracking for
// Eventually Consistent Stores", 2014; Riak's dvvset): the state of a
// multi-value register kept by a replica. It holds the values written
// concurrently (siblings), each tagged with the dot of its write, and one
// version vector summarising every write the replica has seen.
//
// A client reads the values and their [DVVSet.Context], and passes that
// context back with its next write. [DVVSet.Put] then discards exactly the
// siblings the context covers (the ones the client saw) and keeps every
// sibling it did not see, so a concurrent write is never lost and an
// overwritten one never comes back. [DVVSet.Sync] merges two replicas'
// states the same way.
//
// Each replica uses one [Actor] for all its writes, however many clients
// write through it: the vector stays as long as the number of replicas, so
// it never needs pruning, and unlike per-client vector clocks a replica
// does not have to trust clients to tick honestly. Dots make this exact:
// two clients writing through the same replica concurrently get two dots
// and two siblings, not one silently overwritten value.
//
// The zero value is an empty set. A DVVSet is an immutable value like
// [Clock]: Put, Delete and Sync return a new set and share no storage that
// either set ever writes, so sets may be copied and read concurrently.
type DVVSet[V any] struct {
	// entries is sorted by actor, with counter >= 1 and
	// len(values) <= counter. Never written after the set is built.
	entries []dvvEntry[V]
}

// dvvEntry is one actor's part of a DVVSet: the actor's writes 1..counter
// have all been seen, and values holds the ones still current, which are
// the dots counter-len(values)+1 .. counter, oldest first.
type dvvEntry[V any] struct {
	actor   Actor
	counter uint64
	values  []V
}

func (e dvvEntry[V]) actorOf() Actor { return e.actor }

// firstDot returns the counter of the oldest dot e holds a value for.
func (e dvvEntry[V]) firstDot() uint64 { return e.counter - uint64(len(e.values)) + 1 }

// Len returns the number of siblings (current values).
func (s DVVSet[V]) Len() int {
	n := 0
	for _, e := range s.entries {
		n += len(e.values)
	}
	return n
}

// IsZero reports whether s has neither values nor history.
func (s DVVSet[V]) IsZero() bool { return len(s.entries) == 0 }

// Values returns the siblings in a new slice, ordered by actor and, for
// one actor, oldest first.
func (s DVVSet[V]) Values() []V {
	out := make([]V, 0, s.Len())
	for _, e := range s.entries {
		out = append(out, e.values...)
	}
	return out
}

// All yields each sibling with the dot of the write that produced it, in
// the order of Values.
func (s DVVSet[V]) All() iter.Seq2[Dot, V] {
	return func(yield func(Dot, V) bool) {
		for _, e := range s.entries {
			first := e.firstDot()
			for k, v := range e.values {
				if !yield(Dot{Actor: e.actor, Counter: first + uint64(k)}, v) {
					return
				}
			}
		}
	}
}

// Context returns the version vector of every write s has seen, current or
// overwritten. A client that read s passes it to Put or Delete to say what
// its write replaces.
func (s DVVSet[V]) Context() Clock {
	if len(s.entries) == 0 {
		return Clock{}
	}
	entries := make([]Entry, len(s.entries))
	for i, e := range s.entries {
		entries[i] = Entry{Actor: e.actor, Counter: e.counter}
	}
	return Clock{entries: entries}
}

// Put records a write of v coordinated by replica, by a client that had
// read context ctx (the zero Clock for a blind write). The siblings ctx
// covers are discarded, v is added with a new dot of replica, and the
// result's context covers ctx and the new dot. It returns the new set and
// the dot of v, or [ErrCounterOverflow] in an [*ActorError] (and s
// unchanged) if replica's counter is at MaxCounter.
func (s DVVSet[V]) Put(replica Actor, ctx Clock, v V) (DVVSet[V], Dot, error) {
	next := s.forget(ctx, 1)
	i, found := slices.BinarySearchFunc(next, replica, func(e dvvEntry[V], a Actor) int {
		return cmp.Compare(e.actor, a)
	})
	if !found {
		next = slices.Insert(next, i, dvvEntry[V]{actor: replica})
	}
	e := next[i]
	if e.counter == MaxCounter {
		return s, Dot{}, &ActorError{Actor: replica, Err: ErrCounterOverflow}
	}
	// A fresh slice: e.values may be shared with s or with other sets.
	values := make([]V, len(e.values)+1)
	copy(values, e.values)
	values[len(e.values)] = v
	next[i] = dvvEntry[V]{actor: replica, counter: e.counter + 1, values: values}
	return DVVSet[V]{entries: next}, Dot{Actor: replica, Counter: e.counter + 1}, nil
}

// Delete records a delete by a client that had read context ctx: the
// siblings ctx covers are discarded and the context is kept, so a replica
// that still holds them discards them too on Sync. Siblings written
// concurrently with the delete survive. A set left with no values but a
// context is the register's tombstone; dropping it early would let an old
// replica bring the deleted values back.
func (s DVVSet[V]) Delete(ctx Clock) DVVSet[V] {
	return DVVSet[V]{entries: s.forget(ctx, 0)}
}

// forget returns a new entry slice: s's entries with the values ctx covers
// removed and counters raised to ctx's, plus empty entries for actors only
// ctx has. spare is extra capacity for the caller.
func (s DVVSet[V]) forget(ctx Clock, spare int) []dvvEntry[V] {
	a, b := s.entries, ctx.entries
	out := make([]dvvEntry[V], 0, len(a)+len(b)+spare)
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].actor < b[j].Actor:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Actor < a[i].actor:
			out = append(out, dvvEntry[V]{actor: b[j].Actor, counter: b[j].Counter})
			j++
		default:
			e, seen := a[i], b[j].Counter
			if seen >= e.counter {
				e = dvvEntry[V]{actor: e.actor, counter: seen}
			} else if seen >= e.firstDot() {
				e.values = keepNewest(e.values, e.counter-seen)
			}
			out = append(out, e)
			i++
			j++
		}
	}
	return out
}

// Sync returns the merge of two replicas' states of the same register: a
// value survives if both sets hold it, or if the set that lacks it has not
// seen its dot. The context of the result covers both contexts. Sync is
// commutative, associative and idempotent.
func (s DVVSet[V]) Sync(o DVVSet[V]) DVVSet[V] {
	a, b := s.entries, o.entries
	out := make([]dvvEntry[V], 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].actor < b[j].actor:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].actor < a[i].actor:
			out = append(out, b[j])
			j++
		default:
			out = append(out, syncEntry(a[i], b[j]))
			i++
			j++
		}
	}
	return DVVSet[V]{entries: out}
}

// syncEntry merges one actor's entries. The dots both hold values for are
// the same writes; a dot only x holds survives unless y has seen it (its
// counter reaches the dot) and dropped its value (the dot is older than
// y's oldest value).
func syncEntry[V any](x, y dvvEntry[V]) dvvEntry[V] {
	if x.counter < y.counter || x.counter == y.counter && len(x.values) < len(y.values) {
		x, y = y, x
	}
	// x has the newer history. Its dots above y.counter are unseen by y and
	// survive; of the rest, only those y still holds survive, which are
	// those at or after y's oldest value.
	if x.firstDot() < y.firstDot() {
		x.values = keepNewest(x.values, x.counter-y.firstDot()+1)
	}
	return x
}

// keepNewest returns the newest n of values in a new slice, so that the
// dropped siblings (possibly large) are not kept alive by a shared array.
func keepNewest[V any](values []V, n uint64) []V {
	if n == 0 {
		return nil
	}
	return slices.Clone(values[uint64(len(values))-n:])
}
