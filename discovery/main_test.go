package discovery

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: timers'
// callbacks, probes, long polls and HTTP connections must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
