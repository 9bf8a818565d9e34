package discovery

import (
	"container/heap"
	"time"
)

// Expiry runs on one timer armed for the earliest deadline, but never
// sooner than CheckInterval after the previous sweep. A lease therefore
// lapses exactly at its TTL and is handled within TTL + CheckInterval, and
// a burst of lapses costs one sweep and one published revision per service.
// Heartbeats only push deadlines later, so they touch neither the timer nor
// the heap: the heap is ordered by each entry's deadline as it was when
// last scheduled, which is never later than its real deadline. A sweep that
// pops an entry renewed since then schedules it again at its real deadline;
// a timer that fires early finds nothing due and re-arms. Heap work is thus
// about one push per TTL per instance instead of one per heartbeat.

// armLocked makes sure the timer fires by the earliest deadline (or one
// CheckInterval after the last sweep, whichever is later).
func (r *Registry) armLocked(now time.Time) {
	if r.closed || len(r.deadlines) == 0 {
		return
	}
	at := r.deadlines[0].heapAt
	if earliest := r.lastSweep.Add(r.cfg.CheckInterval); at.Before(earliest) {
		at = earliest
	}
	if !r.timerAt.IsZero() && !at.Before(r.timerAt) {
		return
	}
	r.timerAt = at
	if r.timer == nil {
		r.timer = time.AfterFunc(at.Sub(now), r.sweep)
		return
	}
	r.timer.Reset(at.Sub(now))
}

// sweep is the expiry timer's callback.
func (r *Registry) sweep() {
	var hooks hookQueue
	r.mu.Lock()
	if !r.closed {
		now := time.Now()
		r.lastSweep = now
		r.timerAt = time.Time{}
		r.expireLocked(now, &hooks)
		r.armLocked(now)
	}
	r.mu.Unlock()
	hooks.run(r.cfg)
}

// expireLocked handles every deadline that is due: lapsed leases are
// removed, or kept as suspect when the expiry guard holds for their
// service; suspects whose time ran out are removed.
func (r *Registry) expireLocked(now time.Time, hooks *hookQueue) {
	var due []*entry
	for len(r.deadlines) > 0 && !r.deadlines[0].heapAt.After(now) {
		e := heap.Pop(&r.deadlines).(*entry)
		if e.deadline.After(now) {
			r.deadlines.schedule(e) // renewed since it was scheduled
			continue
		}
		due = append(due, e)
	}
	// Decide the guard per service before changing anything, so that the
	// order of lapses within one sweep does not matter.
	guarded := make(map[*service]bool)
	var touched []*service // in order of first lapse, for stable hook order
	for _, e := range due {
		if _, ok := guarded[e.svc]; !ok {
			guarded[e.svc] = r.guardHoldsLocked(e.svc, now)
			touched = append(touched, e.svc)
		}
	}
	for _, e := range due {
		svc := e.svc
		if !e.suspect && guarded[svc] {
			r.setSuspectLocked(e, true, now)
			e.deadline = now.Add(r.cfg.GuardMaxSuspect)
			r.deadlines.schedule(e)
			svc.touch(e.base.ID)
			continue
		}
		hooks.expired = append(hooks.expired, svc.lastListed(e))
		r.counters.expirations++
		r.setSuspectLocked(e, false, now)
		r.stopCheckLocked(e)
		delete(svc.entries, e.base.ID)
		svc.touch(e.base.ID)
	}
	for _, svc := range touched {
		r.publishLocked(svc)
		r.relaxGuardLocked(svc, now)
		r.guardTransitionLocked(svc, hooks)
	}
}

// guardHoldsLocked reports whether most of a service's instances are at
// risk at once: already suspect, or lapsing within half their TTL. A client
// that heartbeats every TTL/3 (Registrar's default) always has more than
// 2/3 of its TTL left, so healthy instances are never at risk; when the
// registry stops hearing from everyone at once (its own network or process
// stalled), every lease lapses within one heartbeat interval, and the guard
// sees them all together.
func (r *Registry) guardHoldsLocked(svc *service, now time.Time) bool {
	listed := len(svc.entries)
	if r.cfg.GuardDisabled || listed < r.cfg.GuardMinInstances {
		return false
	}
	atRisk := 0
	for _, e := range svc.entries {
		if e.suspect || e.deadline.Before(now.Add(e.ttl/2)) {
			atRisk++
		}
	}
	return float64(atRisk) > r.cfg.GuardThreshold*float64(listed)
}

// relaxGuardLocked ends the guard's hold on a service once suspects are no
// longer a majority (heartbeats came back): the remaining suspects then get
// one TTL to heartbeat before they are removed, instead of GuardMaxSuspect.
func (r *Registry) relaxGuardLocked(svc *service, now time.Time) {
	if svc.suspects == 0 || float64(svc.suspects) > r.cfg.GuardThreshold*float64(len(svc.entries)) {
		return
	}
	for _, e := range svc.entries {
		if e.suspect {
			if d := now.Add(e.ttl); d.Before(e.deadline) {
				e.deadline = d
				r.deadlines.schedule(e)
			}
		}
	}
	r.armLocked(now)
}

func (r *Registry) setSuspectLocked(e *entry, suspect bool, now time.Time) {
	if e.suspect == suspect {
		return
	}
	e.suspect = suspect
	if suspect {
		e.svc.suspects++
	} else {
		e.svc.suspects--
	}
}

// guardTransitionLocked queues an OnGuard event when a service gains its
// first suspect or loses its last.
func (r *Registry) guardTransitionLocked(svc *service, hooks *hookQueue) {
	active := svc.suspects > 0
	if active == svc.guardActive {
		return
	}
	svc.guardActive = active
	if active {
		r.counters.guardEngagements++
	}
	hooks.guard = append(hooks.guard, GuardEvent{
		Service: svc.name, Active: active, Suspect: svc.suspects, Listed: len(svc.entries),
	})
}

// deadlineHeap orders entries by heapAt, the deadline they were scheduled
// at (never later than their deadline); entry.heapIdx is the position, -1
// when absent.
type deadlineHeap []*entry

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].heapAt.Before(h[j].heapAt) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *deadlineHeap) Push(x any) {
	e := x.(*entry)
	e.heapIdx = len(*h)
	*h = append(*h, e)
}

func (h *deadlineHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = -1
	return e
}

// schedule (re)inserts e at its current deadline.
func (h *deadlineHeap) schedule(e *entry) {
	e.heapAt = e.deadline
	if e.heapIdx < 0 {
		heap.Push(h, e)
		return
	}
	heap.Fix(h, e.heapIdx)
}

func (h *deadlineHeap) remove(e *entry) {
	if e.heapIdx >= 0 {
		heap.Remove(h, e.heapIdx)
	}
}
