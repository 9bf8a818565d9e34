package wal

import (
	"os"
	"runtime"
	"time"
)

// flushLoop is the flusher goroutine: it takes the pending bytes as one
// group, writes them with one write per segment, fsyncs as the policy says,
// and acknowledges every appender of the group. Appenders keep queueing the
// next group in the other buffer meanwhile: no lock is held during I/O.
func (l *Log) flushLoop() {
	defer close(l.done)
	var (
		timer    *time.Timer
		timerC   <-chan time.Time
		dirty    bool // written but not fsynced
		lastSync = time.Now()
		waiters  []*waiter
		cuts     []cut
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-l.kick:
		case <-timerC:
			timerC = nil
		}

		l.mu.Lock()
		buf := l.pending
		cuts, waiters = append(cuts[:0], l.cuts...), append(waiters[:0], l.waiters...)
		l.pending, l.spare = l.spare[:0], nil
		clear(l.waiters)
		l.waiters, l.cuts = l.waiters[:0], l.cuts[:0]
		if l.taken != nil {
			close(l.taken) // appenders held back by MaxPending may queue again
			l.taken = nil
		}
		last, closing, err := l.next-1, l.closed, l.failed
		l.mu.Unlock()

		if err == nil && len(buf) > 0 {
			err = l.write(buf, cuts)
			dirty = true
		}
		if err == nil && dirty && l.shouldSync(closing, lastSync, &timer, &timerC) {
			err = l.sync()
			dirty, lastSync = false, time.Now()
		}

		l.mu.Lock()
		if err != nil && l.failed == nil {
			l.failed = &failedError{cause: err}
		}
		err = l.failed
		if err == nil {
			l.committed = last
		}
		if cap(buf) <= maxSpareBuffer {
			l.spare = buf[:0]
		}
		l.mu.Unlock()

		for i, w := range waiters {
			w.ch <- err
			waiters[i] = nil
		}
		if len(waiters) > 1 {
			Gather(l.queued, len(waiters))
		}
		if closing {
			l.closeErr = err
			if l.tail != nil {
				if cerr := l.tail.Close(); cerr != nil && l.closeErr == nil {
					l.closeErr = cerr
				}
			}
			return
		}
	}
}

// Gather yields to the appenders a group committer has just acknowledged,
// so that they queue their next records before it takes the next group:
// otherwise groups alternate between the few appenders that were quick and
// the many that were not, and each fsync carries half as many records as
// there are appenders. queued reports how many appenders wait now; Gather
// stops as soon as a yield brings no new one, or once want have arrived
// (the size of the group just acknowledged), and after at most
// maxGatherYields yields. The log's flusher and eventsource's FileStore
// writer both call it.
func Gather(queued func() int, want int) {
	last := -1
	for range maxGatherYields {
		n := queued()
		if n == last || n >= want {
			return
		}
		last = n
		runtime.Gosched()
	}
}

// queued is the number of appenders waiting for the next group.
func (l *Log) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiters)
}

// maxGatherYields bounds the yields of Gather.
const maxGatherYields = 8

// shouldSync reports whether the flusher fsyncs now; under SyncInterval it
// arms the timer for the next due fsync instead.
func (l *Log) shouldSync(closing bool, lastSync time.Time, timer **time.Timer, timerC *<-chan time.Time) bool {
	switch {
	case closing || l.opts.Sync == SyncAlways:
		return true
	case l.opts.Sync == SyncNever:
		return false
	}
	wait := l.opts.SyncInterval - time.Since(lastSync)
	if wait <= 0 {
		return true
	}
	if *timerC == nil {
		if *timer == nil {
			*timer = time.NewTimer(wait)
		} else {
			(*timer).Reset(wait)
		}
		*timerC = (*timer).C
	}
	return false
}

// write writes one group: up to each cut into the current segment, then
// into the new segment the cut starts.
func (l *Log) write(buf []byte, cuts []cut) error {
	from := 0
	for _, c := range cuts {
		if err := l.writeTail(buf[from:c.at]); err != nil {
			return err
		}
		if err := l.roll(c.seg); err != nil {
			return err
		}
		from = c.at
	}
	return l.writeTail(buf[from:])
}

func (l *Log) writeTail(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := l.tail.Write(b)
	l.mu.Lock()
	l.stats.Writes++
	l.stats.BytesWritten += uint64(n)
	l.mu.Unlock()
	return err
}

// roll seals the current segment (fsync, close) and creates seg, making its
// directory entry durable before any record goes into it.
func (l *Log) roll(seg *segment) error {
	if err := l.sync(); err != nil {
		return err
	}
	if err := l.tail.Close(); err != nil {
		return err
	}
	l.tail = nil
	f, err := l.opts.FS.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.tail = f
	return l.opts.FS.SyncDir(l.opts.Dir)
}

// sync fsyncs the segment being written and accounts for it.
func (l *Log) sync() error {
	start := time.Now()
	err := l.tail.Sync()
	took := time.Since(start)
	l.mu.Lock()
	l.stats.Syncs++
	l.stats.SyncTime += took
	l.mu.Unlock()
	return err
}
