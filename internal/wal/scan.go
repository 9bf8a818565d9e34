package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// readChunk is how much a scanner reads from a segment at a time.
const readChunk = 64 << 10

// frame is one decoded, verified frame. data aliases the scanner's buffer
// and is valid until the next call to scanner.next.
type frame struct {
	offset int64 // of the frame header in the segment
	index  uint64
	follow uint32
	data   []byte
}

// end returns the offset just past the frame.
func (f frame) end() int64 { return f.offset + frameHeaderSize + int64(len(f.data)) }

// errEnd means the segment holds no more bytes: a clean end.
var errEnd = errors.New("wal: end of segment")

// badFrame is a frame that failed a check. oversized marks a frame whose
// length exceeds the record limit but whose checksum holds: a real record
// written under a larger limit, not damage.
type badFrame struct {
	reason    string
	oversized bool
}

func (e *badFrame) Error() string { return e.reason }

// scanner reads and verifies frames from one segment. Its buffer grows to at
// most one frame of maxRecord bytes, whatever the stored lengths claim.
type scanner struct {
	r         io.ReaderAt
	size      int64 // bytes of the segment that may be read
	maxRecord int
	off       int64 // offset of the next frame

	buf    []byte // holds segment bytes [bufOff, bufOff+len(buf))
	bufOff int64
}

func newScanner(r io.ReaderAt, size int64, maxRecord int, buf []byte) *scanner {
	return &scanner{r: r, size: size, maxRecord: maxRecord, buf: buf[:0]}
}

// checkHeader verifies the segment header and positions the scanner after
// it. A segment shorter than its header holds no records (errEnd).
func (s *scanner) checkHeader() error {
	if s.size < segmentHeaderSize {
		return errEnd
	}
	b, err := s.bytes(0, segmentHeaderSize)
	if err != nil {
		return err
	}
	if [segmentHeaderSize]byte(b) != segmentMagic {
		return &badFrame{reason: "bad segment header"}
	}
	s.off = segmentHeaderSize
	return nil
}

// next decodes and verifies the frame at s.off, which must carry index want,
// and advances past it. It returns errEnd at the clean end of the segment,
// a *badFrame for a torn or corrupt frame, and other errors from reading.
func (s *scanner) next(want uint64) (frame, error) {
	left := s.size - s.off
	if left == 0 {
		return frame{}, errEnd
	}
	if left < frameHeaderSize {
		return frame{}, &badFrame{reason: "torn frame header"}
	}
	hb, err := s.bytes(s.off, frameHeaderSize)
	if err != nil {
		return frame{}, err
	}
	h := decodeFrameHeader(hb)
	if int64(h.length) > left-frameHeaderSize {
		return frame{}, &badFrame{reason: fmt.Sprintf("length %d runs past the end of the segment", h.length)}
	}
	if int(h.length) > s.maxRecord {
		return frame{}, s.oversized(h)
	}
	b, err := s.bytes(s.off, frameHeaderSize+int(h.length))
	if err != nil {
		return frame{}, err
	}
	data := b[frameHeaderSize:]
	if frameChecksum(dataChecksum(data), b) != h.checksum {
		return frame{}, &badFrame{reason: "checksum mismatch"}
	}
	if h.index != want {
		return frame{}, &badFrame{reason: fmt.Sprintf("index %d, want %d", h.index, want)}
	}
	f := frame{offset: s.off, index: h.index, follow: h.follow, data: data}
	s.off = f.end()
	return f, nil
}

// oversized checks, in chunks of bounded size, whether a frame longer than
// the record limit has a valid checksum, to tell damage from a record written
// under a larger limit.
func (s *scanner) oversized(h frameHeader) error {
	reason := fmt.Sprintf("length %d exceeds the record limit %d", h.length, s.maxRecord)
	var sum uint32
	for pos, end := s.off+frameHeaderSize, s.off+frameHeaderSize+int64(h.length); pos < end; {
		n := min(int64(readChunk), end-pos)
		b, err := s.bytes(pos, int(n))
		if err != nil {
			return err
		}
		sum = crc32.Update(sum, castagnoli, b)
		pos += n
	}
	hb, err := s.bytes(s.off, frameHeaderSize)
	if err != nil {
		return err
	}
	return &badFrame{reason: reason, oversized: frameChecksum(sum, hb) == h.checksum}
}

// bytes returns n bytes of the segment at off, reading them into the buffer
// if they are not there yet. The caller has checked off+n <= s.size.
func (s *scanner) bytes(off int64, n int) ([]byte, error) {
	if off >= s.bufOff && off+int64(n) <= s.bufOff+int64(len(s.buf)) {
		start := off - s.bufOff
		return s.buf[start : start+int64(n)], nil
	}
	want := int(min(int64(max(n, readChunk)), s.size-off))
	if cap(s.buf) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	s.bufOff = off
	// io.ReaderAt may report io.EOF along with a full read at the end of a file.
	if got, err := s.r.ReadAt(s.buf, off); got < want {
		s.buf = s.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("wal: read segment at offset %d: %w", off, err)
	}
	return s.buf[:n], nil
}
