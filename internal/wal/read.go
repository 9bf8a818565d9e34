package wal

import (
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Records returns the records from index from (values below 1 mean 1) up to
// the last index acknowledged when iteration starts, in order. Each record's
// Data aliases the iterator's read buffer and is valid only until the loop
// body returns: copy it to keep it. Every record is verified again as it is
// read; damage that appeared since Open ends the iteration with an error
// wrapping ErrCorrupt, and a corrupt record is never yielded. Iterating a
// closed log yields ErrClosed. Records may run concurrently with Append.
func (l *Log) Records(from uint64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		from := max(from, 1)
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			yield(Record{}, ErrClosed)
			return
		}
		last := l.committed
		if from > last {
			l.mu.Unlock()
			return
		}
		// The segment holding from, and every later one up to last.
		i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > from }) - 1
		offset, index := l.segs[i].seek(from)
		var segs []segmentRef
		for _, s := range l.segs[i:] {
			if s.first > last {
				break
			}
			segs = append(segs, segmentRef{first: s.first, path: s.path})
		}
		maxRecord := l.opts.MaxRecordSize
		fsys := l.opts.FS
		l.mu.Unlock()

		buf := readBuffers.Get().(*[]byte)
		defer putReadBuffer(buf)
		for k, s := range segs {
			if k > 0 {
				if s.first != index {
					yield(Record{}, &CorruptError{Segment: filepath.Base(s.path), Index: index,
						Reason: fmt.Sprintf("segment starts at index %d", s.first)})
					return
				}
				offset = segmentHeaderSize
			}
			next, err := readSegment(fsys, s, offset, index, from, last, maxRecord, buf, yield)
			if err != nil {
				if !errors.Is(err, errStop) {
					yield(Record{}, err)
				}
				return
			}
			index = next
		}
		if index <= last {
			yield(Record{}, &CorruptError{Segment: filepath.Base(segs[len(segs)-1].path), Index: index,
				Reason: "the log ends before its last acknowledged record"})
		}
	}
}

// errStop ends an iteration that is complete or that the caller broke off.
var errStop = errors.New("wal: stop iteration")

// readBuffers recycles the read buffers of iterations, so a short read does
// not allocate a chunk each time.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, readChunk); return &b }}

// maxPooledBuffer keeps the buffers grown by huge records out of the pool.
const maxPooledBuffer = 1 << 20

func putReadBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		readBuffers.Put(b)
	}
}

// segmentRef names a segment outside the lock.
type segmentRef struct {
	first uint64
	path  string
}

// readSegment yields the records from..last that segment s holds, scanning
// from offset, where record index starts. It returns the index after the
// segment's last record, or errStop when iteration is over.
func readSegment(fsys FS, s segmentRef, offset int64, index, from, last uint64, maxRecord int,
	buf *[]byte, yield func(Record, error) bool) (uint64, error) {
	f, err := fsys.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("wal: open %s: %w", s.path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("wal: stat %s: %w", s.path, err)
	}
	sc := newScanner(f, info.Size(), maxRecord, *buf)
	defer func() { *buf = sc.buf }()
	if offset == segmentHeaderSize {
		if err := sc.checkHeader(); err != nil {
			return 0, corruptAt(s, 0, index, err)
		}
	}
	sc.off = offset
	for ; index <= last; index++ {
		fr, err := sc.next(index)
		if errors.Is(err, errEnd) {
			return index, nil // the next segment goes on
		}
		if err != nil {
			return 0, corruptAt(s, sc.off, index, err)
		}
		if index >= from && !yield(Record{Index: index, Data: fr.data}, nil) {
			return 0, errStop
		}
	}
	return 0, errStop
}

// corruptAt turns a scanner failure into the error Records reports.
func corruptAt(s segmentRef, offset int64, index uint64, err error) error {
	var bad *badFrame
	if errors.As(err, &bad) || errors.Is(err, errEnd) {
		return &CorruptError{Segment: filepath.Base(s.path), Offset: offset, Index: index, Reason: err.Error()}
	}
	return err
}
