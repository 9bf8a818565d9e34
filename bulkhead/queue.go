package bulkhead

// waiter is a caller queued for a permit. A releaser grants it under the
// bulkhead's mutex by setting granted and sending on ready, whose buffer
// of one means the send never blocks.
type waiter struct {
	ready      chan struct{}
	granted    bool
	inflight   int // calls in flight once this one was granted
	prev, next *waiter
}

// newWaiter allocates a waiter. Waiters are not pooled: a channel belongs
// to the synctest bubble that made it, and a pool shared across bubbles
// would hand one bubble's channel to another.
func newWaiter() *waiter { return &waiter{ready: make(chan struct{}, 1)} }

// waitQueue is an intrusive doubly linked FIFO list: push, pop and
// removing a canceled waiter from the middle are all O(1).
type waitQueue struct {
	head, tail *waiter
}

func (q *waitQueue) push(w *waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}
