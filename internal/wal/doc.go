// Package wal is a durable append-only log of opaque records, the storage
// under distkit's file-backed stores (eventsource's FileStore, and the saga
// and twopc logs).
//
// # When to use it
//
// Use it when a component must never lose a write it acknowledged, even if
// the process or the machine dies right after: append the change, and treat
// it as done once Append returns. On restart, Open gives back exactly the
// acknowledged records, in order, with gap-free indexes starting at 1.
//
// # Guarantees
//
//   - Framing: every record is framed with its length, its index and a CRC32C
//     (Castagnoli) checksum over both and the data.
//   - Atomic batches: the records of one Append are recovered all or none.
//   - Durability: under SyncAlways (the default) Append returns only after its
//     records are fsynced. Concurrent appends share one write and one fsync
//     (group commit), so throughput grows with concurrency while latency stays
//     one fsync.
//   - Recovery: Open verifies every frame and truncates the first torn or
//     corrupt one, the rest of its batch and everything after it, including
//     later segment files. A corrupt record is never returned.
//   - Fail-stop: after a failed write or fsync the log refuses every further
//     write with ErrFailed. Linux may drop the dirty pages of a failed fsync,
//     so retrying it could report success for data that is gone.
//   - Bounded memory on bad input: a stored length above MaxRecordSize or past
//     the end of the file is never allocated.
//
// # Trade-offs
//
// One goroutine (the flusher) does every write and fsync; it runs from Open to
// Close. Under SyncAlways a lone appender waits one fsync per append, so
// serial throughput is bounded by fsync latency; batch records in one Append
// or append concurrently to go faster. SyncInterval and SyncNever return after
// the write to the operating system: a process crash loses nothing, a machine
// crash may lose recent records (but never leaves a partial batch or a gap).
// Records are read back from the files, not cached, so the log's memory does
// not grow with its size (8 bytes per 64 records for the read index), and a
// Record's Data is only valid until the iteration moves on. There is no
// compaction yet: segments are kept forever.
//
// # Limits
//
// MaxRecordSize (default 16 MiB, at most 1 GiB) bounds one record; a batch
// may hold any number of records. SegmentSize (default 64 MiB) is where a new
// segment file starts; a batch never spans two segments. MaxPending (default
// 64 MiB) bounds the bytes queued for the flusher: past it, Append waits. The
// log keeps one spare write buffer of up to 4 MiB and pools its read buffers.
//
// # On-disk format
//
// A directory of segment files named after the index of their first record
// (00000000000000000001.wal, ...). Each starts with an 8-byte header carrying
// the format version, followed by one frame per record: CRC32C, length,
// index, and the number of records that follow in the same batch. See
// frame.go for the exact layout.
//
// # Testing with crashes
//
// All file access goes through the FS interface. Package crashfs provides an
// in-memory FS that models which bytes and directory entries are durable, can
// crash at any write or sync, and can make fsync fail.
package wal
