package eventsource

import (
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// idIndex finds an event by stream and ID, for idempotent appends. It maps
// a 64-bit hash of (stream, ID) to the event's position and checks the
// stored event on every hit, so a hash collision is never mistaken for a
// match; the rare ID whose hash is taken by another event goes to an exact
// overflow map. Integer keys keep the index at about 16 bytes per event and
// spare every lookup a string comparison in the map.
type idIndex struct {
	byHash   map[uint64]uint64 // hash -> position of the first event with it
	overflow map[idKey]uint64  // events whose hash another event holds
}

type idKey struct {
	stream *stream
	id     string
}

func idHash(s *stream, id string) uint64 {
	return xxhash.Sum64String(id) ^ bits.RotateLeft64(s.hash*0x9e3779b97f4a7c15, 29)
}

// lookup returns the position of the event with id in stream s.
func (x *idIndex) lookup(log *recordLog, s *stream, id string) (uint64, bool) {
	pos, ok := x.byHash[idHash(s, id)]
	if !ok {
		return 0, false
	}
	if r := log.at(pos); r.stream == s && r.id == id {
		return pos, true
	}
	pos, ok = x.overflow[idKey{s, id}]
	return pos, ok
}

// insert indexes an event that lookup did not find.
func (x *idIndex) insert(s *stream, id string, pos uint64) {
	if x.byHash == nil {
		x.byHash = make(map[uint64]uint64)
	}
	h := idHash(s, id)
	if _, taken := x.byHash[h]; !taken {
		x.byHash[h] = pos
		return
	}
	if x.overflow == nil {
		x.overflow = make(map[idKey]uint64)
	}
	x.overflow[idKey{s, id}] = pos
}
