package eventsource

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// engine is the in-memory index shared by MemoryStore and FileStore: the
// global log, the streams, and the wake-up of waiting subscribers.
//
// Writing is two steps. stage validates an append and writes its events
// under mu, invisible to readers; publish then makes every staged position up
// to a bound visible at once. MemoryStore does both under one lock;
// FileStore stages a batch, writes it to its log, and publishes it after the
// write is durable. Positions are published in order and readers never look
// past published, so no reader sees position N+1 before N.
type engine struct {
	limits Limits

	mu      sync.RWMutex
	streams map[string]*stream // guarded by mu
	ids     idIndex            // guarded by mu
	arena   arena              // guarded by mu
	log     recordLog

	waiters waiters // subscriptions waiting for the next publish
	closed  atomic.Bool

	appends, deduplicated, conflicts atomic.Uint64
}

// stream is the index of one stream. positions[v-1] is the global position
// of version v; entries are written once under engine.mu and never changed,
// so a reader may keep a copy of the slice header taken under the read lock.
type stream struct {
	name      string
	hash      uint64   // of name, for the ID index
	positions []uint64 // guarded by engine.mu
}

func newStream(name string) *stream {
	return &stream{name: name, hash: xxhash.Sum64String(name)}
}

func newEngine(limits Limits) *engine {
	return &engine{limits: limits.withDefaults(), streams: make(map[string]*stream)}
}

// stage validates an append against the staged state and, if it passes,
// writes its events at the next positions. The caller holds mu and has
// checked the limits. A deduplicated append writes nothing.
//
// Retries are recognised the way the expectation allows. An exact
// expectation (NoStream, Exact) names the place of the events: if the
// stream has moved past it and holds events with the same IDs there, the
// append is a retry; no index is needed. Any and StreamExists name no
// place, so their events' IDs go into an index, and an append whose first ID
// is found there is a retry if the rest follow in order; any other ID found
// there is a duplicate.
func (e *engine) stage(name string, expected ExpectedVersion, events []EventData, now int64) (AppendResult, error) {
	if err := duplicateInAppend(events); err != nil {
		return AppendResult{}, err
	}
	s := e.streams[name]
	var current uint64
	if s != nil {
		current = uint64(len(s.positions))
	}
	indexed := expected == Any || expected == StreamExists
	if indexed {
		if res, done, err := e.retryByID(s, name, expected, events); done {
			return res, err
		}
	}
	if !expected.allows(current) {
		if !indexed && s != nil {
			at := uint64(0)
			if expected != NoStream {
				at = uint64(expected)
			}
			if at < current && s.holds(&e.log, at+1, events) {
				return e.deduplicate(s, at+1, len(events)), nil
			}
		}
		e.conflicts.Add(1)
		return AppendResult{}, &ConflictError{Stream: name, Expected: expected, Actual: current}
	}
	if s == nil {
		s = newStream(strings.Clone(name))
		e.streams[s.name] = s
	}
	var pos uint64
	for i := range events {
		ev := &events[i]
		pos = e.add(s, ev.ID, ev.Type, current+uint64(i)+1, now, ev.Data, ev.Metadata, indexed)
	}
	return AppendResult{Version: current + uint64(len(events)), Position: pos}, nil
}

// deduplicate answers a retry of the n events of s from version first.
func (e *engine) deduplicate(s *stream, first uint64, n int) AppendResult {
	e.deduplicated.Add(1)
	last := first + uint64(n) - 1
	return AppendResult{Version: last, Position: s.positions[last-1], Deduplicated: true}
}

// add stages one event of s at the next position; indexed puts its ID in
// the retry index. The caller holds mu and has checked that version follows
// the stream's last one.
func (e *engine) add(s *stream, id, typ string, version uint64, unixNano int64, data, meta []byte, indexed bool) uint64 {
	pos := e.log.stage(record{
		stream:   s,
		id:       id,
		typ:      typ,
		version:  version,
		unixNano: unixNano,
		payload:  e.arena.copy(data, meta),
		dataLen:  uint32(len(data)),
		indexed:  indexed,
	})
	s.positions = append(s.positions, pos)
	if indexed && id != "" {
		e.ids.insert(s, id, pos)
	}
	return pos
}

// restore stages an event read back from a FileStore's log. Its version must
// follow the stream's, as Append guaranteed when it was written; anything
// else is corruption. types interns event type names, which repeat.
func (e *engine) restore(d *decodedRecord, types map[string]string) error {
	s := e.streams[string(d.stream)]
	var current uint64
	if s != nil {
		current = uint64(len(s.positions))
	}
	if d.version != current+1 {
		return fmt.Errorf("%w: stream %q continues at version %d after %d", ErrCorrupt, d.stream, d.version, current)
	}
	if s == nil {
		s = newStream(string(d.stream))
		e.streams[s.name] = s
	}
	var id string
	if len(d.id) > 0 {
		id = string(d.id)
	}
	typ, ok := types[string(d.typ)]
	if !ok {
		typ = string(d.typ)
		types[typ] = typ
	}
	e.add(s, id, typ, d.version, d.unixNano, d.data, d.meta, d.indexed)
	return nil
}

// retryByID decides the fate of an Any or StreamExists append whose IDs are
// in the retry index. done is false when none is and the append proceeds.
func (e *engine) retryByID(s *stream, name string, expected ExpectedVersion, events []EventData) (res AppendResult, done bool, err error) {
	if s == nil {
		return AppendResult{}, false, nil
	}
	for i := range events {
		id := events[i].ID
		if id == "" {
			continue
		}
		pos, ok := e.ids.lookup(&e.log, s, id)
		if !ok {
			continue
		}
		first := e.log.at(pos).version
		if i != 0 || !s.holds(&e.log, first, events) {
			return AppendResult{}, true, fmt.Errorf("%w: event %d (%q) is already in stream %q at version %d",
				ErrDuplicateEventID, i, id, name, first)
		}
		if !expected.allows(first - 1) {
			e.conflicts.Add(1)
			return AppendResult{}, true, &ConflictError{Stream: name, Expected: expected, Actual: uint64(len(s.positions))}
		}
		return e.deduplicate(s, first, len(events)), true, nil
	}
	return AppendResult{}, false, nil
}

// holds reports whether the stream has, from version first on, events with
// the IDs of events in the same order.
func (s *stream) holds(log *recordLog, first uint64, events []EventData) bool {
	if first-1+uint64(len(events)) > uint64(len(s.positions)) {
		return false
	}
	for i := range events {
		if log.at(s.positions[first-1+uint64(i)]).id != events[i].ID || events[i].ID == "" {
			return false
		}
	}
	return true
}

// duplicateInAppend reports an ID that appears twice in one append.
func duplicateInAppend(events []EventData) error {
	if len(events) < 2 {
		return nil
	}
	if len(events) <= 16 {
		for i := range events {
			for j := i + 1; j < len(events); j++ {
				if events[i].ID != "" && events[i].ID == events[j].ID {
					return fmt.Errorf("%w: events %d and %d share id %q", ErrDuplicateEventID, i, j, events[i].ID)
				}
			}
		}
		return nil
	}
	seen := make(map[string]int, len(events))
	for i := range events {
		id := events[i].ID
		if id == "" {
			continue
		}
		if j, ok := seen[id]; ok {
			return fmt.Errorf("%w: events %d and %d share id %q", ErrDuplicateEventID, j, i, id)
		}
		seen[id] = i
	}
	return nil
}

// publish makes every position up to upto visible and wakes waiting
// subscribers. Calls are serialised by the single writer and upto never
// decreases.
func (e *engine) publish(upto uint64) {
	e.log.publish(upto)
	e.wakeAll()
}

// close makes every later read fail with ErrClosed and ends subscriptions.
func (e *engine) close() {
	e.closed.Store(true)
	e.wakeAll()
}

// ctxCheckEvery is how many events a read yields between context checks.
const ctxCheckEvery = 256

// readAll yields published events from position from (0 = 1) up to the last
// position published when the read starts.
func (e *engine) readAll(ctx context.Context, from uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if e.closed.Load() {
			yield(Event{}, ErrClosed)
			return
		}
		end := e.log.published.Load()
		for pos := max(from, 1); pos <= end; pos++ {
			if pos%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					yield(Event{}, err)
					return
				}
			}
			if !yield(e.log.event(pos), nil) {
				return
			}
		}
	}
}

// streamPositions returns the published part of a stream's index.
func (e *engine) streamPositions(name string) []uint64 {
	e.mu.RLock()
	var positions []uint64
	if s := e.streams[name]; s != nil {
		positions = s.positions
	}
	e.mu.RUnlock()
	end := e.log.published.Load()
	n := len(positions)
	for n > 0 && positions[n-1] > end {
		n--
	}
	return positions[:n]
}

// readStream yields the published events of one stream: forward from
// version from (0 = 1), or backward from version from (End = the last).
func (e *engine) readStream(ctx context.Context, name string, from uint64, dir Direction) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if e.closed.Load() {
			yield(Event{}, ErrClosed)
			return
		}
		positions := e.streamPositions(name)
		n := uint64(len(positions))
		step := func(i uint64, v uint64) bool {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					yield(Event{}, err)
					return false
				}
			}
			return yield(e.log.event(positions[v-1]), nil)
		}
		if dir == Backward {
			var i uint64
			for v := min(from, n); v >= 1; v-- {
				if !step(i, v) {
					return
				}
				i++
			}
			return
		}
		var i uint64
		for v := max(from, 1); v <= n; v++ {
			if !step(i, v) {
				return
			}
			i++
		}
	}
}

// subscribe yields every event from position from (0 = 1) on, in order, and
// then waits for new ones, until the context ends, the engine closes or the
// caller stops. It keeps no buffer: a slow subscriber simply reads the log
// later, and writers never wait for it.
func (e *engine) subscribe(ctx context.Context, from uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		next := max(from, 1)
		notify := make(chan struct{}, 1)
		for {
			if err := ctx.Err(); err != nil {
				yield(Event{}, err)
				return
			}
			if e.closed.Load() {
				yield(Event{}, ErrClosed)
				return
			}
			end := e.log.published.Load()
			for ; next <= end; next++ {
				if next%ctxCheckEvery == 0 {
					if err := ctx.Err(); err != nil {
						yield(Event{}, err)
						return
					}
				}
				if !yield(e.log.event(next), nil) {
					return
				}
			}
			if err := e.waitBeyond(ctx, next, notify); err != nil {
				yield(Event{}, err)
				return
			}
		}
	}
}

// version returns the published version of a stream (0: no events).
func (e *engine) version(name string) uint64 {
	return uint64(len(e.streamPositions(name)))
}

// stats fills the fields of Stats the engine knows.
func (e *engine) stats() Stats {
	e.mu.RLock()
	streams := len(e.streams)
	e.mu.RUnlock()
	return Stats{
		Streams:      streams,
		Events:       e.log.published.Load(),
		Appends:      e.appends.Load(),
		Deduplicated: e.deduplicated.Load(),
		Conflicts:    e.conflicts.Load(),
	}
}
