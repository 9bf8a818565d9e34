package vclock

import (
	"maps"
	"testing"

	"pgregory.net/rapid"
)

// historyModel is the reference semantics of a multi-value register as
// causal histories: the set of every dot a replica has seen, and the
// current (dot, value) pairs. It is deliberately naive (sets, not vectors)
// so that it checks the compact DVVSet rather than repeating it.
type historyModel struct {
	seen     map[Dot]bool
	siblings map[Dot]int
}

func newHistoryModel() historyModel {
	return historyModel{seen: map[Dot]bool{}, siblings: map[Dot]int{}}
}

// put: the new dot follows every dot of the replica seen here or in the
// client's context; the siblings in the context are replaced.
func (m historyModel) put(replica Actor, ctx map[Dot]bool, v int) historyModel {
	out := newHistoryModel()
	var last uint64
	for d := range m.seen {
		out.seen[d] = true
		if d.Actor == replica {
			last = max(last, d.Counter)
		}
	}
	for d := range ctx {
		out.seen[d] = true
		if d.Actor == replica {
			last = max(last, d.Counter)
		}
	}
	for d, val := range m.siblings {
		if !ctx[d] {
			out.siblings[d] = val
		}
	}
	dot := Dot{Actor: replica, Counter: last + 1}
	out.seen[dot] = true
	out.siblings[dot] = v
	return out
}

func (m historyModel) delete(ctx map[Dot]bool) historyModel {
	out := newHistoryModel()
	maps.Copy(out.seen, m.seen)
	maps.Copy(out.seen, ctx)
	for d, val := range m.siblings {
		if !ctx[d] {
			out.siblings[d] = val
		}
	}
	return out
}

// sync: a sibling survives if the other side holds it too or has never
// seen its dot.
func (m historyModel) sync(o historyModel) historyModel {
	out := newHistoryModel()
	maps.Copy(out.seen, m.seen)
	maps.Copy(out.seen, o.seen)
	for d, v := range m.siblings {
		if _, ok := o.siblings[d]; ok || !o.seen[d] {
			out.siblings[d] = v
		}
	}
	for d, v := range o.siblings {
		if _, ok := m.siblings[d]; ok || !m.seen[d] {
			out.siblings[d] = v
		}
	}
	return out
}

// read is what a client gets: the values and the exact set of dots seen.
func (m historyModel) read() map[Dot]bool { return maps.Clone(m.seen) }

// checkAgainstModel compares a DVVSet with the model: same (dot, value)
// pairs, and a context that is exactly the seen set (which must therefore
// be a contiguous prefix 1..n for every actor).
func checkAgainstModel(t *rapid.T, s DVVSet[int], m historyModel, step string) {
	got := maps.Collect(s.All())
	if !maps.Equal(got, m.siblings) {
		t.Fatalf("%s: siblings %v, causal-history model says %v", step, got, m.siblings)
	}
	ctx := s.Context()
	count := 0
	for a, n := range ctx.All() {
		for k := uint64(1); k <= n; k++ {
			if !m.seen[Dot{Actor: a, Counter: k}] {
				t.Fatalf("%s: context %v claims dot (%d,%d) the model never saw", step, ctx, a, k)
			}
		}
		count += int(n)
	}
	if count != len(m.seen) {
		t.Fatalf("%s: context %v covers %d dots, the model saw %d", step, ctx, count, len(m.seen))
	}
	checkDVVInvariants(t, s)
}

type clientRead struct {
	ctx   Clock
	model map[Dot]bool
}

// TestDVVSetMatchesCausalHistoryModel runs random histories of writes,
// deletes, reads (possibly stale) and replica syncs on three replicas and
// checks every state against the causal-history model.
func TestDVVSetMatchesCausalHistoryModel(t *testing.T) {
	const replicas = 3
	rapid.Check(t, func(t *rapid.T) {
		sets := make([]DVVSet[int], replicas)
		models := make([]historyModel, replicas)
		for i := range models {
			models[i] = newHistoryModel()
		}
		reads := []clientRead{{ctx: Clock{}, model: map[Dot]bool{}}}
		steps := rapid.IntRange(1, 12).Draw(t, "steps")
		for value := range steps {
			r := rapid.IntRange(0, replicas-1).Draw(t, "replica")
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0: // a client reads from replica r
				reads = append(reads, clientRead{ctx: sets[r].Context(), model: models[r].read()})
			case 1: // a client writes through r with some earlier read
				read := reads[rapid.IntRange(0, len(reads)-1).Draw(t, "read")]
				next, dot, err := sets[r].Put(Actor(r), read.ctx, value)
				if err != nil {
					t.Fatal(err)
				}
				models[r] = models[r].put(Actor(r), read.model, value)
				if models[r].siblings[dot] != value {
					t.Fatalf("Put returned dot %v, the model placed the value elsewhere", dot)
				}
				sets[r] = next
			case 2: // a client deletes through r
				read := reads[rapid.IntRange(0, len(reads)-1).Draw(t, "read")]
				sets[r] = sets[r].Delete(read.ctx)
				models[r] = models[r].delete(read.model)
			case 3: // anti-entropy from replica o into r
				o := rapid.IntRange(0, replicas-1).Draw(t, "other")
				sets[r] = sets[r].Sync(sets[o])
				models[r] = models[r].sync(models[o])
			}
			checkAgainstModel(t, sets[r], models[r], "after step")
		}
		// Sync is a join: commutative, idempotent, and everything converges.
		ab, ba := sets[0].Sync(sets[1]), sets[1].Sync(sets[0])
		if !maps.Equal(maps.Collect(ab.All()), maps.Collect(ba.All())) || !ab.Context().Equal(ba.Context()) {
			t.Fatalf("Sync is not commutative")
		}
		if aa := sets[0].Sync(sets[0]); !maps.Equal(maps.Collect(aa.All()), maps.Collect(sets[0].All())) {
			t.Fatalf("Sync is not idempotent")
		}
		all, model := DVVSet[int]{}, newHistoryModel()
		for i := range sets {
			all, model = all.Sync(sets[i]), model.sync(models[i])
		}
		checkAgainstModel(t, all, model, "after full sync")
		left := sets[0].Sync(sets[1]).Sync(sets[2])
		right := sets[0].Sync(sets[1].Sync(sets[2]))
		if !maps.Equal(maps.Collect(left.All()), maps.Collect(right.All())) {
			t.Fatalf("Sync is not associative")
		}
		// And the binary form carries all of it.
		data, _ := all.AppendBinary(nil, appendIntValue)
		decoded, _, err := DecodeDVVSet(data, decodeIntValue)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstModel(t, decoded, model, "after a binary round trip")
	})
}

func appendIntValue(b []byte, v int) ([]byte, error) {
	return append(b, byte(v), byte(v>>8)), nil
}

func decodeIntValue(b []byte) (int, error) {
	if len(b) != 2 {
		return 0, ErrMalformed
	}
	return int(b[0]) | int(b[1])<<8, nil
}
