package wal

import (
	"errors"
	"fmt"
	"time"
)

// SyncPolicy says when Append returns relative to fsync.
type SyncPolicy int

const (
	// SyncAlways, the default, returns from Append only after the records
	// are fsynced. Concurrent appenders share one write and one fsync
	// (group commit), so throughput grows with the number of appenders.
	SyncAlways SyncPolicy = iota
	// SyncInterval returns from Append after the records are written to the
	// operating system and fsyncs at most every Options.SyncInterval. A
	// process crash loses nothing; a machine crash may lose the records of
	// the last interval.
	SyncInterval
	// SyncNever returns from Append after the write and fsyncs only when a
	// segment is full and on Close. For tests and caches.
	SyncNever
)

// String returns the policy's name.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Defaults and limits of Options.
const (
	// DefaultSegmentSize is the size at which a segment rolls over when
	// Options.SegmentSize is zero.
	DefaultSegmentSize = 64 << 20
	// DefaultSyncInterval is the fsync period of SyncInterval when
	// Options.SyncInterval is zero.
	DefaultSyncInterval = 10 * time.Millisecond
	// DefaultMaxRecordSize is the largest record accepted when
	// Options.MaxRecordSize is zero.
	DefaultMaxRecordSize = 16 << 20
	// DefaultMaxPending is the bound on bytes waiting for the flusher when
	// Options.MaxPending is zero.
	DefaultMaxPending = 64 << 20
	// MaxRecordSizeLimit is the largest value Options.MaxRecordSize may take.
	MaxRecordSizeLimit = 1 << 30
	// minSegmentSize keeps a segment able to hold its header and one frame header.
	minSegmentSize = segmentHeaderSize + frameHeaderSize
)

// Options configures a Log. The zero value of every field but Dir means the
// default written in its comment.
type Options struct {
	// Dir is the directory holding the segment files; required, created if missing.
	// One directory holds one log: never open it twice at the same time.
	Dir string
	// FS is the file system; nil means OSFS. Tests inject a crashing one.
	FS FS
	// SegmentSize is the size at which the log starts a new segment file;
	// 0 means DefaultSegmentSize (64 MiB). A batch is never split across
	// segments, so a batch larger than this gets a segment of its own.
	SegmentSize int64
	// Sync is the sync policy; the zero value is SyncAlways.
	Sync SyncPolicy
	// SyncInterval is the fsync period under SyncInterval; 0 means
	// DefaultSyncInterval (10ms).
	SyncInterval time.Duration
	// MaxRecordSize bounds one record's data; 0 means DefaultMaxRecordSize
	// (16 MiB), at most MaxRecordSizeLimit. Append rejects larger records with
	// ErrRecordTooLarge. Recovery never allocates more than this for a record:
	// a stored length above it whose bytes fail the checksum is corruption;
	// one whose checksum holds makes Open fail instead of destroying it (it was
	// written with a larger limit), so never lower the limit of an existing log.
	MaxRecordSize int
	// MaxPending bounds the encoded bytes queued for the flusher; 0 means
	// DefaultMaxPending (64 MiB). An Append that finds the queue over the
	// bound waits (or returns when its context is done) until the flusher
	// takes it, so appenders that give up on a stalled disk and retry cannot
	// grow memory without limit. A batch larger than the bound is accepted
	// when the queue is empty.
	MaxPending int64
}

// Validate reports the first invalid field, or nil.
func (o Options) Validate() error {
	switch {
	case o.Dir == "":
		return errors.New("wal: Options.Dir is empty")
	case o.SegmentSize < 0:
		return fmt.Errorf("wal: Options.SegmentSize %d is negative", o.SegmentSize)
	case o.SegmentSize > 0 && o.SegmentSize < minSegmentSize:
		return fmt.Errorf("wal: Options.SegmentSize %d is below the minimum %d", o.SegmentSize, minSegmentSize)
	case o.Sync < SyncAlways || o.Sync > SyncNever:
		return fmt.Errorf("wal: Options.Sync %d is not a SyncPolicy", int(o.Sync))
	case o.SyncInterval < 0:
		return fmt.Errorf("wal: Options.SyncInterval %v is negative", o.SyncInterval)
	case o.MaxRecordSize < 0:
		return fmt.Errorf("wal: Options.MaxRecordSize %d is negative", o.MaxRecordSize)
	case o.MaxPending < 0:
		return fmt.Errorf("wal: Options.MaxPending %d is negative", o.MaxPending)
	case o.MaxRecordSize > MaxRecordSizeLimit:
		return fmt.Errorf("wal: Options.MaxRecordSize %d is above the limit %d", o.MaxRecordSize, MaxRecordSizeLimit)
	}
	return nil
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	return o
}
