// Package vclock tracks causality between events on different machines:
// vector clocks ([Clock]), dotted version vector sets for multi-value
// registers ([DVVSet]) and hybrid logical clocks ([HLC]).
//
// # Which one to use
//
// Use a [Clock] when you must know whether one event could have influenced
// another: replicated state that must detect conflicting updates, message
// ordering, debugging traces. [Clock.Compare] answers Before, After, Equal
// or Concurrent in one pass without allocating.
//
// Use a [DVVSet] to store a value that several replicas accept writes for
// (a shopping cart, a session, a profile in a leaderless store). Writes say
// which version they replace by passing the context they read; concurrent
// writes are kept as siblings for the application to reconcile, and nothing
// a client saw comes back after it was overwritten.
//
// Use an [HLC] when you need one totally ordered timestamp per event that
// stays close to wall time and never runs backwards, for example MVCC
// versions, log ordering or change-data-capture cursors. It orders every
// event after the events it has heard of, but unlike a Clock it cannot tell
// concurrent events apart from ordered ones.
//
// # Guarantees
//
//   - A missing actor and an actor with counter zero are the same thing
//     everywhere: in constructors, comparison, merging and encodings.
//   - Clocks, DVVSets and Timestamps are immutable values; operations return
//     new values. Copies never change behind your back. The Into forms
//     ([Clock.MergeInto], [Clock.TickInto], [DecodeClockInto]) write into a
//     buffer you pass and say so.
//   - Counters never wrap: a tick at [MaxCounter] returns
//     [ErrCounterOverflow].
//   - Merge is a join-semilattice (commutative, associative, idempotent),
//     Compare agrees with it, and happens-before is a strict partial order;
//     property tests check this on random clocks including explicit zeros.
//   - Every binary and text form is canonical: one value, one encoding.
//     Decoders reject anything else (unsorted or duplicate actors, zero
//     counters, overlong varints, trailing bytes) with a [*DecodeError],
//     never panic, and allocate only in proportion to the bytes present and
//     at most [MaxEntries] entries ([MaxSiblings] values for a DVVSet).
//   - [HLC.Now] is strictly increasing even if the wall clock steps back;
//     [HLC.Update] refuses remote timestamps more than a maximum offset
//     ahead ([ErrClockOffset]) instead of adopting them.
//
// # Actors and size
//
// An [Actor] is a uint64. Assign small dense ids (a replica's index) and a
// clock of 16 actors with counters below 129 encodes in 33 bytes; random
// 64-bit ids cost up to 10 bytes each. Services that name nodes by string
// keep a table from name to actor id alongside their membership list; the
// table changes rarely and is not repeated in every clock.
//
// A clock grows with the number of actors that ever ticked it. Use one
// actor per replica (a DVVSet does this for you), not per client.
//
// # No pruning
//
// This package does not prune clocks. Dropping old entries to bound size
// makes a clock forget events, so a later version can compare as concurrent
// with (or, worse, before) one it descends: Riak's timestamp-based pruning
// produced false siblings and lost updates this way for years. With one
// actor per replica a clock is bounded by the replica count and pruning
// is not needed. If actors do churn, retire them deliberately: agree (for
// example in the membership protocol) that every replica has seen a retired
// actor's last event before removing its entry everywhere.
//
// # Trade-offs
//
// Immutability costs an allocation per Tick and per Merge of concurrent
// clocks; Merge of ordered clocks returns an operand without allocating, and
// the Into forms remove the rest when a buffer can be reused. Actor ids are
// integers rather than strings so comparison is a tight loop and encodings
// stay small. Timestamps have millisecond wall time so that one uint64 holds
// wall and logical parts and sorts as a plain integer.
package vclock
