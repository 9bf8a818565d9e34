package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// recover rebuilds the log's state from its directory, repairing the tail as
// Open documents, and opens the last segment for appending.
func (l *Log) recover() error {
	fsys, dir := l.opts.FS, l.opts.Dir
	names, err := fsys.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// A new log: its directory's own entry must be durable too.
		if err := fsys.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("wal: create %s: %w", dir, err)
		}
		if err := fsys.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return fmt.Errorf("wal: sync parent of %s: %w", dir, err)
		}
	} else if err != nil {
		return fmt.Errorf("wal: list %s: %w", dir, err)
	}
	var segs []*segment
	for _, name := range names {
		if first, ok := parseSegmentName(name); ok {
			segs = append(segs, newSegment(dir, first))
		}
	}
	if len(segs) == 0 {
		return l.create()
	}
	if segs[0].first != 1 {
		return &CorruptError{Segment: segmentName(segs[0].first), Index: 1,
			Reason: "the log does not start at index 1 (a segment file is missing)"}
	}

	next, keep, tailEnd, damaged := uint64(1), len(segs), int64(0), false
	var buf []byte
	for i, seg := range segs {
		if seg.first != next {
			// A segment that does not continue the log follows damage that
			// an earlier crash left; it cannot hold acknowledged records.
			keep = i
			break
		}
		res, err := l.scanSegment(seg, &buf)
		if err != nil {
			return err
		}
		next, tailEnd, keep = res.next, res.end, i+1
		if res.end < res.size {
			damaged = true
			l.stats.RecoveryTruncated += uint64(res.size - res.end)
			break
		}
	}
	removed := segs[keep:]
	segs = segs[:keep]
	tail := segs[len(segs)-1]
	if tailEnd < segmentHeaderSize {
		tailEnd = 0 // rewrite the header with the first record
	}

	f, err := fsys.OpenFile(tail.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("wal: open %s: %w", tail.path, err)
	}
	if damaged {
		// Make the cut durable before removing later segments and before
		// any new record could land after it.
		if err := f.Truncate(tailEnd); err != nil {
			_ = f.Close()
			return fmt.Errorf("wal: truncate %s: %w", tail.path, err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return fmt.Errorf("wal: sync %s: %w", tail.path, err)
		}
	}
	if len(removed) > 0 {
		// Stale later segments must be gone for good before new records
		// take their indexes, or a crash could bring them back.
		for _, seg := range removed {
			if err := fsys.Remove(seg.path); err != nil {
				_ = f.Close()
				return fmt.Errorf("wal: remove %s: %w", seg.path, err)
			}
		}
		if err := fsys.SyncDir(dir); err != nil {
			_ = f.Close()
			return fmt.Errorf("wal: sync %s: %w", dir, err)
		}
		l.stats.RecoveryRemoved = len(removed)
	}
	l.segs, l.tail, l.tailSize = segs, f, tailEnd
	l.next, l.committed = next, next-1
	return nil
}

// create starts an empty log with its first segment.
func (l *Log) create() error {
	seg := newSegment(l.opts.Dir, 1)
	f, err := l.opts.FS.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("wal: create %s: %w", seg.path, err)
	}
	if err := l.opts.FS.SyncDir(l.opts.Dir); err != nil {
		_ = f.Close()
		return fmt.Errorf("wal: sync %s: %w", l.opts.Dir, err)
	}
	l.segs, l.tail, l.next = []*segment{seg}, f, 1
	return nil
}

// scanResult is what scanning one segment found.
type scanResult struct {
	size int64  // bytes in the file
	end  int64  // end of the last complete batch; bytes after it are damage
	next uint64 // index after the last record of a complete batch
}

// scanSegment verifies seg frame by frame, records its sparse offsets, and
// reports where its complete batches end. buf is the read buffer reused
// across segments.
func (l *Log) scanSegment(seg *segment, buf *[]byte) (scanResult, error) {
	f, err := l.opts.FS.OpenFile(seg.path, os.O_RDONLY, 0)
	if err != nil {
		return scanResult{}, fmt.Errorf("wal: open %s: %w", seg.path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return scanResult{}, fmt.Errorf("wal: stat %s: %w", seg.path, err)
	}
	sc := newScanner(f, info.Size(), l.opts.MaxRecordSize, *buf)
	defer func() { *buf = sc.buf }()

	res := scanResult{size: info.Size(), next: seg.first}
	var bad *badFrame
	switch err := sc.checkHeader(); {
	case errors.Is(err, errEnd) || errors.As(err, &bad):
		return res, nil // no complete header: no records
	case err != nil:
		return scanResult{}, err
	}
	res.end = segmentHeaderSize
	want, inBatch, follow := seg.first, false, uint32(0)
	for {
		fr, err := sc.next(want)
		switch {
		case errors.Is(err, errEnd):
		case errors.As(err, &bad) && bad.oversized:
			return scanResult{}, &CorruptError{Segment: filepath.Base(seg.path), Offset: sc.off, Index: want,
				Reason: bad.reason + " but its checksum holds: open the log with a larger MaxRecordSize"}
		case errors.As(err, &bad):
		case err != nil:
			return scanResult{}, err
		case inBatch && fr.follow != follow-1:
			// A batch's count must go down by one per frame.
		default:
			seg.noteRecord(fr.index, fr.offset)
			want++
			inBatch, follow = fr.follow != 0, fr.follow
			if !inBatch {
				res.end, res.next = fr.end(), want
			}
			continue
		}
		break
	}
	for len(seg.sparse) > 0 && seg.sparse[len(seg.sparse)-1] >= res.end {
		seg.sparse = seg.sparse[:len(seg.sparse)-1]
	}
	return res, nil
}
