// Package eventsource is an embeddable event store: named streams of events
// appended with optimistic concurrency, one global log of every event in
// commit order, catch-up subscriptions, and generic aggregates with
// snapshots and schema upcasting.
//
// Use it when a service keeps its state as the sequence of things that
// happened to it (an order was placed, paid, shipped) rather than as rows
// that are overwritten, and wants the history, audit trail and projections
// that come with that, without running a separate event database.
//
// # Stores
//
// Store is the interface; MemoryStore keeps events in memory and FileStore
// keeps them in a durable append-only log on disk. Both give the same
// guarantees:
//
//   - Append is atomic and checks an ExpectedVersion: Any, NoStream,
//     StreamExists or Exact(v). A failed check returns a *ConflictError
//     that matches ErrVersionConflict and reports the expected and the
//     actual version.
//   - Appends are idempotent by event ID: retrying an append whose events
//     are already in the stream, with the same IDs and expected version,
//     succeeds without writing them twice, so an append that timed out can
//     simply be repeated. Exact expectations find the retry by place and
//     cost nothing; Any and StreamExists keep an index of their IDs.
//   - Every event has a per-stream Version (1, 2, 3, ...) and a global
//     Position (1, 2, 3, ...) without gaps. Positions become visible in
//     order: no reader ever sees position N+1 before N. Projections that
//     follow the global log therefore never skip an event, a failure some
//     database-backed event stores are known for when a later transaction
//     commits before an earlier one.
//   - Reads are iterators (iter.Seq2[Event, error]) over one stream,
//     forward or backward, or over the global log from a position.
//   - Subscribe reads the global log from any position and then follows
//     it live, in order, without gaps or duplicates. A subscription holds
//     no buffer: a slow subscriber reads the log when it gets there, so it
//     never blocks writers and never grows memory.
//   - Limits bound every append before anything is copied.
//
// # Aggregates
//
// Repository loads an aggregate's state by replaying its stream through an
// apply function (starting from a snapshot when there is one), and saves the
// events an operation recorded with the version it loaded as the expected
// version, so concurrent writers cannot both succeed. A Codec maps event
// types to Go types per repository, with no global registry, and runs
// upcasters that turn events written under old schemas into current ones
// as they are read.
package eventsource
