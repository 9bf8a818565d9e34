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
// # Guarantees
//
// Store is the interface; MemoryStore and FileStore implement it with the
// same guarantees, which a linearizability checker verifies on both:
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
//     Position (1, 2, 3, ...) without gaps, and positions become visible in
//     order: no reader ever sees position N+1 before N. Projections that
//     follow the global log therefore never skip an event, the failure of
//     event stores on SQL databases whose sequence numbers commit out of
//     order.
//   - Reads are iterators (iter.Seq2[Event, error]) over one stream,
//     forward or backward, or over the global log from a position. A read
//     takes no lock while it yields, so the loop body may call the store.
//   - Subscribe reads the global log from any position and then follows
//     it live, in order, without gaps or duplicates. A subscription holds
//     no buffer: a slow subscriber reads the log when it gets there, so it
//     never blocks writers and never grows memory.
//   - Limits bound every append (by default 1 MiB per event, 8 MiB and
//     4096 events per append, MaxNameSize for names) and are checked before
//     anything is copied.
//
// # Stores
//
// MemoryStore keeps events in memory and starts no goroutine; use it in
// tests and for data rebuilt from elsewhere. FileStore adds a durable
// append-only log in a directory: by default (SyncAlways) Append returns
// only once the events are fsynced, and concurrent appends share one write
// and one fsync, so throughput grows with the number of appenders while a
// single appender waits one fsync per append. Opening a FileStore recovers
// every acknowledged event, drops a torn or corrupt tail (an append is
// atomic across crashes), and rebuilds the indexes. A FileStore also keeps
// every event in memory so that reads run at memory speed; its memory and
// opening time grow with the log.
//
// # Aggregates
//
// Repository loads an aggregate's state by replaying its stream through an
// apply function, starting from a snapshot when there is one, and saves the
// events an operation recorded with the version it loaded as the expected
// version, so concurrent writers cannot both succeed; Update retries on
// conflict. A Codec maps event type names to Go types per codec, with no
// global registry, and runs upcasters that turn events written under old
// schemas into current ones as they are read. Snapshots live in a
// SnapshotStore: MemorySnapshots, or the FileStore itself.
package eventsource
