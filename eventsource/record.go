package eventsource

import (
	"encoding/binary"
	"fmt"
)

// A FileStore's log holds two kinds of records. The log frames and checksums
// each record; the record itself is:
//
//	event:    0x01 | flags | stream | id | type | uvarint version | varint unix-nanos | data | metadata
//	snapshot: 0x02 | stream | uvarint version | schema | data
//
// where stream, id, type, schema, data and metadata are each a uvarint
// length followed by that many bytes. flags is one byte: 1 if the event was
// appended under Any or StreamExists, so its ID is in the retry index, else
// 0. An event's global position is not
// stored: it is the count of event records up to and including it, which
// the log's gap-free order makes exact.
const (
	kindEvent    byte = 0x01
	kindSnapshot byte = 0x02
)

// recordOverhead bounds the bytes a record adds to its variable fields: the
// kind, the flags, six length prefixes, a version and a time.
const recordOverhead = 2 + 6*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64

// flagIndexed marks an event whose ID is in the retry index.
const flagIndexed byte = 1

func appendBytes(buf []byte, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// appendEventRecord encodes one event.
func appendEventRecord(buf []byte, stream string, ev *EventData, version uint64, unixNano int64, indexed bool) []byte {
	flags := byte(0)
	if indexed {
		flags = flagIndexed
	}
	buf = append(buf, kindEvent, flags)
	buf = appendString(buf, stream)
	buf = appendString(buf, ev.ID)
	buf = appendString(buf, ev.Type)
	buf = binary.AppendUvarint(buf, version)
	buf = binary.AppendVarint(buf, unixNano)
	buf = appendBytes(buf, ev.Data)
	return appendBytes(buf, ev.Metadata)
}

// appendSnapshotRecord encodes one snapshot.
func appendSnapshotRecord(buf []byte, s *Snapshot) []byte {
	buf = append(buf, kindSnapshot)
	buf = appendString(buf, s.Stream)
	buf = binary.AppendUvarint(buf, s.Version)
	buf = appendString(buf, s.Schema)
	return appendBytes(buf, s.Data)
}

// decodedRecord is a decoded record. Its byte slices alias the input.
type decodedRecord struct {
	kind     byte
	indexed  bool
	stream   []byte
	id       []byte
	typ      []byte
	version  uint64
	unixNano int64
	data     []byte
	meta     []byte
}

// recordReader walks the fields of one record, remembering the first error.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: record %s", ErrCorrupt, what)
	}
}

func (r *recordReader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("lacks its " + what)
		return 0
	}
	b := r.b[0]
	r.b = r.b[1:]
	return b
}

func (r *recordReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("has a bad " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("has a bad " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes reads a length-prefixed field of at most limit bytes. The length is
// checked against what is left before slicing, so a corrupt length never
// allocates or reads out of bounds.
func (r *recordReader) bytes(what string, limit int) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) || n > uint64(limit) {
		r.fail("has a " + what + " longer than allowed or than the record")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// decodeRecord decodes one record; every error wraps ErrCorrupt.
func decodeRecord(b []byte) (decodedRecord, error) {
	if len(b) == 0 {
		return decodedRecord{}, fmt.Errorf("%w: empty record", ErrCorrupt)
	}
	d := decodedRecord{kind: b[0]}
	r := recordReader{b: b[1:]}
	switch d.kind {
	case kindEvent:
		switch flags := r.byte("flags"); flags {
		case 0, flagIndexed:
			d.indexed = flags == flagIndexed
		default:
			r.fail("has unknown flags")
		}
		d.stream = r.bytes("stream", MaxNameSize)
		d.id = r.bytes("id", MaxNameSize)
		d.typ = r.bytes("type", MaxNameSize)
		d.version = r.uvarint("version")
		d.unixNano = r.varint("time")
		d.data = r.bytes("data", len(b))
		d.meta = r.bytes("metadata", len(b))
		if r.err == nil && (len(d.stream) == 0 || len(d.typ) == 0 || d.version == 0) {
			r.fail("has an empty stream or type, or version 0")
		}
	case kindSnapshot:
		d.stream = r.bytes("stream", MaxNameSize)
		d.version = r.uvarint("version")
		d.typ = r.bytes("schema", MaxNameSize)
		d.data = r.bytes("data", len(b))
		if r.err == nil && len(d.stream) == 0 {
			r.fail("has an empty stream")
		}
	default:
		return decodedRecord{}, fmt.Errorf("%w: unknown record kind %#x", ErrCorrupt, d.kind)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("has trailing bytes")
	}
	if r.err != nil {
		return decodedRecord{}, r.err
	}
	return d, nil
}
