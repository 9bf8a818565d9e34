package wal

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzMaxRecord is the record limit of the fuzz targets: small, so that
// fuzzed lengths often exceed it.
const fuzzMaxRecord = 64

// segmentBytes encodes batches as one segment starting at index 1.
func segmentBytes(batches ...[][]byte) []byte {
	out := append([]byte(nil), segmentMagic[:]...)
	index := uint64(1)
	for _, b := range batches {
		for i, d := range b {
			out = appendFrame(out, index, uint32(len(b)-1-i), d, dataChecksum(d))
			index++
		}
	}
	return out
}

// fuzzSeeds are valid segments and damaged variants of them.
func fuzzSeeds() [][]byte {
	valid := segmentBytes(
		[][]byte{[]byte("alpha")},
		[][]byte{[]byte("b1"), {}, []byte("b3")},
		[][]byte{bytes.Repeat([]byte("x"), fuzzMaxRecord)},
	)
	oversized := segmentBytes([][]byte{bytes.Repeat([]byte("y"), fuzzMaxRecord+1)})
	flipped := bytes.Clone(valid)
	flipped[len(flipped)/2] ^= 0x40
	hugeLength := bytes.Clone(valid)
	copy(hugeLength[segmentHeaderSize+4:], []byte{0xff, 0xff, 0xff, 0x7f})
	return [][]byte{
		nil,
		segmentMagic[:],
		segmentMagic[:5],
		valid,
		valid[:len(valid)-3],
		valid[:segmentHeaderSize+frameHeaderSize-1],
		flipped,
		hugeLength,
		oversized,
		append(bytes.Clone(valid), make([]byte, 64)...),
		append(bytes.Clone(valid), []byte("garbage after the end")...),
		make([]byte, 100),
	}
}

// FuzzScanner feeds arbitrary bytes to the frame decoder as a segment. It
// must never panic nor buffer more than one chunk or one bounded frame, and
// every frame it accepts must be exactly what the encoder writes for it.
func FuzzScanner(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, segment []byte) {
		sc := newScanner(bytes.NewReader(segment), int64(len(segment)), fuzzMaxRecord, nil)
		err := sc.checkHeader()
		want := uint64(1)
		for err == nil {
			var fr frame
			fr, err = sc.next(want)
			if err != nil {
				break
			}
			reencoded := appendFrame(nil, fr.index, fr.follow, fr.data, dataChecksum(fr.data))
			if !bytes.Equal(reencoded, segment[fr.offset:fr.end()]) {
				t.Fatalf("frame at %d decodes to something that encodes differently", fr.offset)
			}
			if len(fr.data) > fuzzMaxRecord {
				t.Fatalf("frame of %d bytes accepted above the limit %d", len(fr.data), fuzzMaxRecord)
			}
			want++
		}
		var bad *badFrame
		if !errors.Is(err, errEnd) && !errors.As(err, &bad) {
			t.Fatalf("decoder returned %v, want a clean end or a bad frame", err)
		}
		if limit := max(readChunk, frameHeaderSize+fuzzMaxRecord); cap(sc.buf) > limit {
			t.Fatalf("decoder buffered %d bytes, bound %d", cap(sc.buf), limit)
		}
	})
}
