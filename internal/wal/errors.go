package wal

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by operations on a closed Log.
	ErrClosed = errors.New("wal: log closed")
	// ErrRecordTooLarge is returned by Append for a record larger than
	// Options.MaxRecordSize; nothing of the batch is written.
	ErrRecordTooLarge = errors.New("wal: record too large")
	// ErrFailed is returned, wrapped with the cause, by every write after a
	// write or fsync failed. The unsynced data may be gone and retrying fsync
	// could report success for data that never reached the disk, so the log
	// refuses all further writes; reopen it to recover what is durable.
	ErrFailed = errors.New("wal: log failed")
	// ErrCorrupt is returned, wrapped in a *CorruptError, when a record fails
	// its checks: by Records for damage that appeared after Open, and by Open
	// for a record that passes its checksum but exceeds Options.MaxRecordSize.
	ErrCorrupt = errors.New("wal: corrupt record")
)

// CorruptError locates a record that failed its checks. It unwraps to ErrCorrupt.
type CorruptError struct {
	Segment string // file name of the segment
	Offset  int64  // byte offset of the record's frame in the segment
	Index   uint64 // index the record was expected to have
	Reason  string // what check failed
}

// Error describes the corruption.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt record %d in %s at offset %d: %s", e.Index, e.Segment, e.Offset, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// failedError wraps the cause of a failure so that errors.Is matches both
// ErrFailed and the cause.
type failedError struct{ cause error }

func (e *failedError) Error() string   { return "wal: log failed: " + e.cause.Error() }
func (e *failedError) Unwrap() []error { return []error{ErrFailed, e.cause} }
