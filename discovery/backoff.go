package discovery

import (
	"context"
	"time"
)

// backoff returns the wait before retry number attempt (1-based): an
// exponential step from lo, capped at hi, of which a random half is
// dropped ("equal jitter") so that clients failing together do not retry
// together.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + jitter(d/2+1)
}

// sleep waits for d or until ctx is done, reporting whether it slept fully.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
