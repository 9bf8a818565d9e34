package wal

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// sparseEvery is the distance, in records, between the offsets a segment
// remembers, so that Records can start anywhere after skipping at most
// sparseEvery-1 frames while the index costs 8 bytes per sparseEvery records.
const sparseEvery = 64

// segment is one file of the log. Its fields are guarded by Log.mu.
type segment struct {
	first  uint64  // index of the segment's first record (its name)
	path   string  // full path of the file
	sparse []int64 // sparse[k] is the offset of record first+k*sparseEvery
}

// segmentName is the file name of the segment whose first record is first:
// 20 zero-padded digits, so names sort in index order.
func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segmentExt) }

// parseSegmentName returns the first index encoded in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	return first, err == nil && first > 0
}

func newSegment(dir string, first uint64) *segment {
	return &segment{first: first, path: filepath.Join(dir, segmentName(first))}
}

// noteRecord remembers the offset of record index if it is a sparse point.
func (s *segment) noteRecord(index uint64, offset int64) {
	if (index-s.first)%sparseEvery == 0 {
		s.sparse = append(s.sparse, offset)
	}
}

// seek returns the offset and index of the closest remembered record at or
// before index. The segment must hold index.
func (s *segment) seek(index uint64) (int64, uint64) {
	k := (index - s.first) / sparseEvery
	return s.sparse[k], s.first + k*sparseEvery
}
