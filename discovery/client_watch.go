package discovery

import (
	"context"
	"iter"
)

// Watch streams a service's state from the server with long polls, with
// the contract of Registry.Watch, plus these rules:
//
//   - The stream starts with a Reset event unless fromRevision is current
//     in the epoch this Client last saw; a resumed stream then starts with
//     the next change, delivered as a Reset because the server keeps no
//     history to diff against.
//   - When the server's registry restarts (new epoch) the next event is a
//     Reset with the new state: a watch never gets stuck on a revision the
//     server no longer knows.
//   - A failed poll yields (Event{}, err) and the watch goes on after a
//     jittered exponential backoff (BackoffMin to BackoffMax); break out of
//     the loop to stop. Events also refresh Lookup's last-good cache.
//
// The stream runs in the caller's goroutine and ends when ctx is done,
// yielding the context's error.
func (c *Client) Watch(ctx context.Context, service string, fromRevision uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		var last *view // the state this stream delivered last; nil before the first event
		lastEpoch := c.epoch.Load()
		index := fromRevision
		if lastEpoch == 0 {
			index = 0 // a revision from an unknown epoch cannot be trusted
		}
		failures := 0
		for {
			snap, epoch, err := c.blockingQuery(ctx, service, index, lastEpoch, c.cfg.WatchWait)
			if ctx.Err() != nil {
				yield(Event{}, ctx.Err())
				return
			}
			if err != nil {
				failures++
				if !yield(Event{}, err) {
					return
				}
				if !sleep(ctx, backoff(failures, c.cfg.BackoffMin, c.cfg.BackoffMax)) {
					yield(Event{}, ctx.Err())
					return
				}
				continue
			}
			failures = 0
			restarted := epoch != lastEpoch
			lastEpoch = epoch
			if !restarted && snap.Revision == index {
				continue // the wait ran out without a change
			}
			index = snap.Revision
			cur := &view{rev: snap.Revision, all: snap.Instances, routable: snap.Routable}
			ev := Event{Service: service, Revision: cur.rev, Instances: cur.all, Routable: cur.routable}
			if last == nil || restarted || cur.rev <= last.rev {
				ev.Reset = true
			} else if ev.Changes = diffViews(last, cur); len(ev.Changes) == 0 {
				last = cur
				continue
			}
			if !yield(ev, nil) {
				return
			}
			last = cur
		}
	}
}
