package lb

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// ring is the ConsistentHash ring: every endpoint owns points on a 64-bit
// circle and a key belongs to the first point at or after its hash whose
// owner is available. It is built over the whole endpoint set on Update and
// shared by snapshots, which mark availability separately; ejecting an
// endpoint therefore moves only its own keys, to the next owners clockwise,
// and they come back when it returns.
//
// The package keeps this small ring instead of depending on shard's: pattern
// packages never import each other, internal/ is for code that two packages
// share, and a balancer needs only lookups that skip unavailable owners, not
// shard's replicas, bounded loads or movement plans.
type ring struct {
	hashes  []uint64 // sorted
	owners  []uint16 // index into members, parallel to hashes
	members []*member
}

// buildRing places round(budget * weight / total weight) points, at least
// one, for every member, with budget = vnodes per member capped at
// MaxRingPoints overall.
func buildRing(members []*member, vnodes int) *ring {
	r := &ring{members: members}
	if len(members) == 0 {
		return r
	}
	var total uint64
	for _, m := range members {
		total += m.weight
	}
	budget := min(uint64(vnodes)*uint64(len(members)), MaxRingPoints)
	type point struct {
		hash  uint64
		owner uint16
	}
	points := make([]point, 0, budget+uint64(len(members)))
	var buf [4]byte
	d := xxhash.New()
	for i, m := range members {
		count := max(1, (budget*m.weight+total/2)/total)
		for v := range count {
			d.Reset()
			_, _ = d.WriteString(m.addr)
			binary.LittleEndian.PutUint32(buf[:], uint32(v))
			_, _ = d.Write(buf[:])
			points = append(points, point{hash: d.Sum64(), owner: uint16(i)})
		}
	}
	// Equal hashes are ordered by address, so the ring is the same whatever
	// order Update listed the endpoints in and removing one owner of a
	// colliding point leaves the other in place.
	slices.SortFunc(points, func(a, b point) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(members[a.owner].addr, members[b.owner].addr)
	})
	r.hashes = make([]uint64, len(points))
	r.owners = make([]uint16, len(points))
	for i, p := range points {
		r.hashes[i], r.owners[i] = p.hash, p.owner
	}
	return r
}

// lookup returns the owner of hash h among the available members. At least
// one member must be available.
func (r *ring) lookup(h uint64, avail []bool) *member {
	i, _ := slices.BinarySearch(r.hashes, h)
	for range r.hashes {
		if i == len(r.hashes) {
			i = 0
		}
		if o := r.owners[i]; avail[o] {
			return r.members[o]
		}
		i++
	}
	return nil
}
