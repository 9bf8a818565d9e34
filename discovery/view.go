package discovery

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// service is one service's registrations and its published view.
type service struct {
	name string
	// view is the current immutable state, read without locks.
	view atomic.Pointer[view]

	// The fields below are guarded by Registry.mu.
	entries     map[string]*entry
	dirty       []string // IDs touched since the last publish
	suspects    int
	guardActive bool
}

// view is an immutable published state of a service. changed is closed
// when a newer view replaces it, which wakes every watcher and blocking
// query of this service, and of this service only.
type view struct {
	rev      uint64
	prevRev  uint64 // revision of the view this one replaced
	all      []Instance
	routable []Instance
	changes  []Change // from prevRev to rev, sorted by ID
	changed  chan struct{}
}

// unknownView stands for a service a Static does not list.
var unknownView = &view{rev: 1}

// newService starts a service at revision rev with no instances.
func newService(name string, rev uint64) *service {
	svc := &service{name: name, entries: make(map[string]*entry)}
	svc.view.Store(&view{rev: rev, changed: make(chan struct{})})
	return svc
}

func (svc *service) touch(id string) {
	svc.dirty = append(svc.dirty, id)
}

// entry is the registry's record of one registered instance.
type entry struct {
	svc         *service
	base        Instance // as registered, plus Draining
	reported    Status   // status from registration and heartbeats
	checkStatus Status   // status from the active check; passing if none
	token       string
	ttl         time.Duration
	// deadline is when the lease lapses, or, while suspect, when the
	// instance is removed anyway. heapAt is the deadline it was last
	// scheduled at in the deadline heap, never later than deadline.
	deadline time.Time
	heapAt   time.Time
	heapIdx  int
	suspect  bool
	probe    *probe
}

// lastListed returns the entry as the current view lists it, ModRevision
// included (the entry's computed form if it was never published).
func (svc *service) lastListed(e *entry) Instance {
	all := svc.view.Load().all
	if i, ok := slices.BinarySearchFunc(all, e.base.ID, func(inst Instance, id string) int {
		return strings.Compare(inst.ID, id)
	}); ok {
		return all[i]
	}
	return e.listed()
}

// listed is the entry as readers see it, without ModRevision.
func (e *entry) listed() Instance {
	inst := e.base
	inst.Status = worse(e.reported, e.checkStatus)
	inst.Suspect = e.suspect
	if e.suspect {
		inst.Status = worse(inst.Status, StatusWarning)
	}
	return inst
}

// publishLocked folds the touched entries into a new view. Nothing is
// published (and nobody is woken) if no instance changed visibly. The cost
// is one pass over the old view plus sorting the touched IDs.
func (r *Registry) publishLocked(svc *service) {
	if len(svc.dirty) == 0 {
		return
	}
	slices.Sort(svc.dirty)
	dirty := slices.Compact(svc.dirty)
	old := svc.view.Load()
	rev := old.rev + 1
	all := make([]Instance, 0, len(svc.entries))
	var changes []Change
	i := 0
	for _, id := range dirty {
		for i < len(old.all) && old.all[i].ID < id {
			all = append(all, old.all[i])
			i++
		}
		var prev *Instance
		if i < len(old.all) && old.all[i].ID == id {
			prev = &old.all[i]
			i++
		}
		e := svc.entries[id]
		switch {
		case e == nil && prev != nil:
			changes = append(changes, Change{Kind: Removed, Instance: *prev})
		case e == nil:
		default:
			cur := e.listed()
			if prev != nil && sameContent(prev, &cur) {
				all = append(all, *prev)
				continue
			}
			cur.ModRevision = rev
			all = append(all, cur)
			kind := Added
			if prev != nil {
				kind = Updated
			}
			changes = append(changes, Change{Kind: kind, Instance: cur})
		}
	}
	all = append(all, old.all[i:]...)
	svc.dirty = svc.dirty[:0]
	if len(changes) == 0 {
		return
	}
	svc.view.Store(&view{
		rev:      rev,
		prevRev:  old.rev,
		all:      all,
		routable: routableOf(all),
		changes:  changes,
		changed:  make(chan struct{}),
	})
	close(old.changed)
}

// routableOf returns the routable subset of all in one allocation, or all
// itself when every instance is routable.
func routableOf(all []Instance) []Instance {
	n := 0
	for i := range all {
		if all[i].Routable() {
			n++
		}
	}
	if n == len(all) {
		return all
	}
	routable := make([]Instance, 0, n)
	for i := range all {
		if all[i].Routable() {
			routable = append(routable, all[i])
		}
	}
	return routable
}

// diffViews lists what changed from a to b, for a watcher that skipped
// revisions. Instances are matched by ID and compared by ModRevision, which
// moves on every visible change.
func diffViews(a, b *view) []Change {
	var changes []Change
	i, j := 0, 0
	for i < len(a.all) || j < len(b.all) {
		switch {
		case j == len(b.all) || (i < len(a.all) && a.all[i].ID < b.all[j].ID):
			changes = append(changes, Change{Kind: Removed, Instance: a.all[i]})
			i++
		case i == len(a.all) || b.all[j].ID < a.all[i].ID:
			changes = append(changes, Change{Kind: Added, Instance: b.all[j]})
			j++
		default:
			if a.all[i].ModRevision != b.all[j].ModRevision {
				changes = append(changes, Change{Kind: Updated, Instance: b.all[j]})
			}
			i++
			j++
		}
	}
	return changes
}

func (v *view) snapshot(service string) Snapshot {
	return Snapshot{Service: service, Revision: v.rev, Instances: v.all, Routable: v.routable}
}
