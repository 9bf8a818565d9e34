package eventsource

import (
	"sync/atomic"
	"time"
)

// The global log lives in fixed-size chunks that are never moved once
// allocated, so readers index it without a lock while the single writer
// appends. A reader first loads published (an atomic), then the chunk
// directory: every record at or below published was written before published
// was stored, and its chunk was in the directory before that.
const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

// record is one stored event; its position is its index in the log plus one.
// Data and metadata share one copy, split at dataLen, which keeps the record
// small and with few pointers for the garbage collector to follow.
type record struct {
	stream   *stream
	id, typ  string
	version  uint64
	unixNano int64
	payload  []byte // data followed by metadata
	dataLen  uint32
	indexed  bool // appended under Any or StreamExists: its ID is in the retry index
}

// data returns the event's data, capped so that appending to it cannot
// overwrite the metadata.
func (r *record) data() []byte {
	if r.dataLen == 0 {
		return nil
	}
	return r.payload[:r.dataLen:r.dataLen]
}

// meta returns the event's metadata.
func (r *record) meta() []byte {
	if int(r.dataLen) == len(r.payload) {
		return nil
	}
	return r.payload[r.dataLen:]
}

type chunk [chunkSize]record

// recordLog is the gap-free global log. Writes (stage) are serialised by the
// engine's mutex; reads are lock-free up to published.
type recordLog struct {
	dir       atomic.Pointer[[]*chunk]
	published atomic.Uint64 // positions 1..published are visible to readers
	staged    uint64        // positions 1..staged are written; writer only
}

// stage writes r at the next position and returns that position. It is not
// visible to readers until publish covers it.
func (l *recordLog) stage(r record) uint64 {
	i := l.staged
	var dir []*chunk
	if p := l.dir.Load(); p != nil {
		dir = *p
	}
	if int(i>>chunkBits) == len(dir) {
		// Copy the directory so that readers holding the old one keep a
		// consistent view; it holds one pointer per 1024 events.
		grown := make([]*chunk, len(dir)+1, len(dir)+1+len(dir)/4)
		copy(grown, dir)
		grown[len(dir)] = new(chunk)
		dir = grown
		l.dir.Store(&grown)
	}
	dir[i>>chunkBits][i&chunkMask] = r
	l.staged = i + 1
	return i + 1
}

// publish makes positions up to and including upto visible.
func (l *recordLog) publish(upto uint64) { l.published.Store(upto) }

// at returns the record at position pos, which must be published (or staged,
// for the writer).
func (l *recordLog) at(pos uint64) *record {
	dir := *l.dir.Load()
	i := pos - 1
	return &dir[i>>chunkBits][i&chunkMask]
}

// event returns the record at pos as an Event.
func (l *recordLog) event(pos uint64) Event {
	r := l.at(pos)
	return Event{
		ID:       r.id,
		Stream:   r.stream.name,
		Type:     r.typ,
		Version:  r.version,
		Position: pos,
		Time:     time.Unix(0, r.unixNano),
		Data:     r.data(),
		Metadata: r.meta(),
	}
}

// arena packs small event payloads into shared blocks so that storing an
// event costs no allocation of its own. Writer only.
type arena struct{ block []byte }

const (
	arenaBlock = 64 << 10 // bytes per shared block
	arenaLarge = 4 << 10  // payloads above this get their own allocation
)

// copy returns a copy of b followed by c whose capacity ends at its length,
// so appending to it never overwrites a neighbour.
func (a *arena) copy(b, c []byte) []byte {
	n := len(b) + len(c)
	if n == 0 {
		return nil
	}
	if n > arenaLarge {
		out := make([]byte, 0, n)
		return append(append(out, b...), c...)
	}
	if cap(a.block)-len(a.block) < n {
		a.block = make([]byte, 0, arenaBlock)
	}
	start := len(a.block)
	a.block = append(append(a.block, b...), c...)
	return a.block[start:len(a.block):len(a.block)]
}
