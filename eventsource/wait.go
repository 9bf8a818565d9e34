package eventsource

import (
	"context"
	"sync"
	"sync/atomic"
)

// waiters are the caught-up subscriptions waiting for the next publish.
// Each subscription brings its own notification channel (capacity 1) and
// registers it before it sleeps, so waking costs no allocation; a publish
// with nobody waiting costs one atomic load.
type waiters struct {
	n  atomic.Int32 // len(list), readable without mu
	mu sync.Mutex
	// list is guarded by mu.
	list []chan struct{}
}

// wakeAll notifies every registered subscription and clears the list.
func (e *engine) wakeAll() {
	w := &e.waiters
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	for i, ch := range w.list {
		select {
		case ch <- struct{}{}:
		default: // a notification is already pending
		}
		w.list[i] = nil
	}
	w.list = w.list[:0]
	w.n.Store(0)
	w.mu.Unlock()
}

func (w *waiters) add(ch chan struct{}) {
	w.mu.Lock()
	w.list = append(w.list, ch)
	w.n.Store(int32(len(w.list)))
	w.mu.Unlock()
}

// remove unregisters ch, for a subscription that stops waiting on its own.
func (w *waiters) remove(ch chan struct{}) {
	w.mu.Lock()
	for i, c := range w.list {
		if c == ch {
			last := len(w.list) - 1
			w.list[i], w.list[last] = w.list[last], nil
			w.list = w.list[:last]
			break
		}
	}
	w.n.Store(int32(len(w.list)))
	w.mu.Unlock()
}

// waitBeyond blocks until position pos is published, the context ends or
// the engine closes. notify is the subscription's channel.
func (e *engine) waitBeyond(ctx context.Context, pos uint64, notify chan struct{}) error {
	for {
		if e.closed.Load() {
			return ErrClosed
		}
		if e.log.published.Load() >= pos {
			return nil
		}
		e.waiters.add(notify)
		// Check again now that notify is registered: a publish that came
		// before the registration did not see it. (The publisher stores
		// published before it reads the count of waiters; this reads
		// published after raising the count.)
		if e.closed.Load() || e.log.published.Load() >= pos {
			e.waiters.remove(notify)
			continue
		}
		select {
		case <-notify:
		case <-ctx.Done():
			e.waiters.remove(notify)
			return ctx.Err()
		}
	}
}
