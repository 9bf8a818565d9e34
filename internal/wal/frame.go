package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// On-disk format.
//
// A segment file is an 8-byte header (segmentMagic, which carries the format
// version) followed by frames. A frame is one record:
//
//	offset size field
//	0      4    checksum: CRC32C (Castagnoli) of data, continued over bytes 4..20
//	4      4    length of data
//	8      8    index of the record
//	16     4    records that follow in the same batch (0 = the batch ends here)
//	20     n    data
//
// All integers are little-endian. The checksum covers the data first and the
// header fields after it, so appenders checksum their data before they take
// the log's lock and only the 16 header bytes are checksummed under it.
//
// A batch (one Append) is a run of frames whose "follow" fields count down to
// 0. Recovery keeps only complete batches, which makes a batch atomic across
// crashes, and a batch never spans two segments. The index stored in every
// frame must be the next expected one, so stale bytes from an older life of
// the file can never pass for records.
const (
	segmentHeaderSize = 8
	frameHeaderSize   = 20
	segmentExt        = ".wal"
)

// segmentMagic starts every segment file; its last byte is the format version.
var segmentMagic = [segmentHeaderSize]byte{'d', 'k', 'w', 'a', 'l', 0, 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameHeader is the decoded fixed part of a frame.
type frameHeader struct {
	checksum uint32
	length   uint32
	index    uint64
	follow   uint32
}

func decodeFrameHeader(b []byte) frameHeader {
	_ = b[frameHeaderSize-1]
	return frameHeader{
		checksum: binary.LittleEndian.Uint32(b[0:]),
		length:   binary.LittleEndian.Uint32(b[4:]),
		index:    binary.LittleEndian.Uint64(b[8:]),
		follow:   binary.LittleEndian.Uint32(b[16:]),
	}
}

// dataChecksum is the part of a frame checksum that depends only on the data.
func dataChecksum(data []byte) uint32 { return crc32.Update(0, castagnoli, data) }

// frameChecksum finishes a frame checksum over the header fields after it.
func frameChecksum(dataSum uint32, header []byte) uint32 {
	return crc32.Update(dataSum, castagnoli, header[4:frameHeaderSize])
}

// appendFrame appends one frame to dst. dataSum must be dataChecksum(data).
func appendFrame(dst []byte, index uint64, follow uint32, data []byte, dataSum uint32) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	h := dst[start:]
	binary.LittleEndian.PutUint32(h[4:], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:], index)
	binary.LittleEndian.PutUint32(h[16:], follow)
	binary.LittleEndian.PutUint32(h[0:], frameChecksum(dataSum, h))
	return append(dst, data...)
}
