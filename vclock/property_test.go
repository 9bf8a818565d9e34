package vclock

import (
	"testing"

	"pgregory.net/rapid"
)

// Small actor and counter ranges make collisions, equal clocks and ordered
// pairs common, which is where the interesting cases are. Explicit zero
// counters are drawn on purpose: they must behave exactly like missing
// entries.
func clockMapGen() *rapid.Generator[map[Actor]uint64] {
	return rapid.MapOfN(
		rapid.Custom(func(t *rapid.T) Actor { return Actor(rapid.Uint64Range(0, 5).Draw(t, "actor")) }),
		rapid.Uint64Range(0, 3),
		0, 6)
}

// modelCompare orders two clocks given as maps where a missing key is zero:
// the definition Compare must agree with.
func modelCompare(a, b map[Actor]uint64) Order {
	less, more := false, false
	for k, x := range a {
		less = less || x < b[k]
		more = more || x > b[k]
	}
	for k, y := range b {
		less = less || a[k] < y
		more = more || a[k] > y
	}
	// Indexed by [less][more].
	table := [2][2]Order{{Equal, After}, {Before, Concurrent}}
	return table[boolIndex(less)][boolIndex(more)]
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func modelMerge(a, b map[Actor]uint64) map[Actor]uint64 {
	out := map[Actor]uint64{}
	for k, v := range a {
		out[k] = max(out[k], v)
	}
	for k, v := range b {
		out[k] = max(out[k], v)
	}
	return out
}

func checkCanonical(t *rapid.T, c Clock) {
	for i, e := range c.entries {
		if e.Counter == 0 {
			t.Fatalf("%v holds a zero entry", c.entries)
		}
		if i > 0 && e.Actor <= c.entries[i-1].Actor {
			t.Fatalf("%v is not strictly sorted", c.entries)
		}
	}
}

// TestLatticeLaws checks that Merge is a join-semilattice, that Compare,
// Descends and Equal agree with Merge and with the reference definition on
// maps, and that an explicit zero entry is the same clock as a missing one.
func TestLatticeLaws(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ma := clockMapGen().Draw(t, "a")
		mb := clockMapGen().Draw(t, "b")
		mc := clockMapGen().Draw(t, "c")
		a, b, c := FromMap(ma), FromMap(mb), FromMap(mc)

		ab, ba := a.Merge(b), b.Merge(a)
		checkCanonical(t, ab)
		if !ab.Equal(ba) {
			t.Fatalf("merge not commutative: %v ⊔ %v = %v but reversed = %v", a, b, ab, ba)
		}
		if l, r := ab.Merge(c), a.Merge(b.Merge(c)); !l.Equal(r) {
			t.Fatalf("merge not associative: (a⊔b)⊔c = %v, a⊔(b⊔c) = %v", l, r)
		}
		if aa := a.Merge(a); !aa.Equal(a) {
			t.Fatalf("merge not idempotent: %v ⊔ itself = %v", a, aa)
		}
		if want := FromMap(modelMerge(ma, mb)); !ab.Equal(want) {
			t.Fatalf("merge %v ⊔ %v = %v, want pointwise max %v", a, b, ab, want)
		}
		into := a.MergeInto(make([]Entry, 0, rapid.IntRange(0, 12).Draw(t, "cap")), b)
		if !into.Equal(ab) {
			t.Fatalf("MergeInto = %v, Merge = %v", into, ab)
		}

		order := a.Compare(b)
		if want := modelCompare(ma, mb); order != want {
			t.Fatalf("Compare(%v, %v) = %v, reference model (with explicit zeros %v %v) says %v", a, b, order, ma, mb, want)
		}
		// Compare agrees with Merge.
		var fromMerge Order
		switch {
		case ab.Equal(a) && ab.Equal(b):
			fromMerge = Equal
		case ab.Equal(b):
			fromMerge = Before
		case ab.Equal(a):
			fromMerge = After
		default:
			fromMerge = Concurrent
		}
		if order != fromMerge {
			t.Fatalf("Compare(%v, %v) = %v but the merge %v says %v", a, b, order, ab, fromMerge)
		}
		if a.Descends(b) != (order == After || order == Equal) {
			t.Fatalf("Descends(%v, %v) = %v disagrees with Compare = %v", a, b, a.Descends(b), order)
		}
		if a.Equal(b) != (order == Equal) {
			t.Fatalf("Equal(%v, %v) disagrees with Compare = %v", a, b, order)
		}
		if !ab.Descends(a) || !ab.Descends(b) {
			t.Fatalf("the merge %v must descend both %v and %v", ab, a, b)
		}

		// Explicit zeros: dropping them gives the same clock, bytes included.
		stripped := map[Actor]uint64{}
		for k, v := range ma {
			if v != 0 {
				stripped[k] = v
			}
		}
		if s := FromMap(stripped); !s.Equal(a) || s.Compare(b) != order {
			t.Fatalf("explicit zeros changed the clock: %v vs %v", ma, stripped)
		}
		entries := make([]Entry, 0, len(ma))
		for k, v := range ma {
			entries = append(entries, Entry{Actor: k, Counter: v})
		}
		if fe, err := FromEntries(entries); err != nil || !fe.Equal(a) {
			t.Fatalf("FromEntries(%v) = %v, %v; want %v", entries, fe, err, a)
		}
	})
}

// TestHappensBeforeIsStrictPartialOrder checks irreflexivity, asymmetry and
// transitivity of Before, on random triples and on causal chains built by
// ticking and merging (random triples are rarely chained).
func TestHappensBeforeIsStrictPartialOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := FromMap(clockMapGen().Draw(t, "a"))
		x := FromMap(clockMapGen().Draw(t, "x"))
		y := FromMap(clockMapGen().Draw(t, "y"))
		b, err := a.Merge(x).Tick(Actor(rapid.Uint64Range(0, 5).Draw(t, "tickB")))
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.Merge(y).Tick(Actor(rapid.Uint64Range(0, 5).Draw(t, "tickC")))
		if err != nil {
			t.Fatal(err)
		}
		if a.Compare(b) != Before || b.Compare(c) != Before {
			t.Fatalf("a tick after a merge must be after both: %v %v %v", a, b, c)
		}
		if a.Compare(c) != Before {
			t.Fatalf("transitivity: %v < %v < %v but Compare(a, c) = %v", a, b, c, a.Compare(c))
		}
		for _, p := range [][2]Clock{{a, x}, {x, y}, {a, y}, {b, x}, {c, y}} {
			p, q := p[0], p[1]
			if p.Compare(p) != Equal {
				t.Fatalf("irreflexive: %v compared with itself is %v", p, p.Compare(p))
			}
			if p.Compare(q) == Before && q.Compare(p) != After {
				t.Fatalf("asymmetry: %v before %v but the reverse is %v", p, q, q.Compare(p))
			}
		}
		// Transitivity on unconstrained triples, where it applies.
		if x.Compare(y) == Before && y.Compare(a) == Before && x.Compare(a) != Before {
			t.Fatalf("transitivity: %v < %v < %v but Compare = %v", x, y, a, x.Compare(a))
		}
	})
}

// TestEncodingsRoundTrip checks both encodings on random clocks, including
// ones with large actors and counters.
func TestEncodingsRoundTrip(t *testing.T) {
	wide := rapid.OneOf(rapid.Uint64Range(0, 300), rapid.Uint64())
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.MapOfN(rapid.Custom(func(t *rapid.T) Actor { return Actor(wide.Draw(t, "actor")) }), wide, 0, 20).Draw(t, "m")
		c := FromMap(m)
		bin, _ := c.MarshalBinary()
		if len(bin) != c.BinarySize() {
			t.Fatalf("BinarySize %d, encoding has %d bytes", c.BinarySize(), len(bin))
		}
		var got Clock
		if err := got.UnmarshalBinary(bin); err != nil || !got.Equal(c) {
			t.Fatalf("binary round trip of %v: %v, %v", c, got, err)
		}
		txt, _ := c.MarshalText()
		got = Clock{}
		if err := got.UnmarshalText(txt); err != nil || !got.Equal(c) {
			t.Fatalf("text round trip of %q: %v, %v", txt, got, err)
		}
	})
}
