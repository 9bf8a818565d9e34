package discovery

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatic(t *testing.T) {
	s := NewStatic(
		Instance{Service: "db", ID: "b", Address: "old:1"},
		Instance{Service: "db", ID: "a", Address: "a:1", Weight: 4},
		Instance{Service: "db", ID: "b", Address: "new:1"},
		Instance{Service: "db", ID: "c", Address: "c:1", Status: StatusCritical},
		Instance{Service: "cache", ID: "x", Address: "x:1"},
	)
	snap := s.Lookup("db")
	assert.Equal(t, uint64(1), snap.Revision)
	assert.Equal(t, []string{"a", "b", "c"}, ids(snap.Instances), "grouped by service and sorted by ID")
	assert.Equal(t, "new:1", snap.Instances[1].Address, "a later duplicate replaces an earlier one")
	assert.Equal(t, 1, snap.Instances[1].Weight, "weight 0 becomes 1")
	assert.Equal(t, 4, snap.Instances[0].Weight)
	got, err := s.Resolve(context.Background(), "db")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, ids(got), "critical instances are not resolved")
	got, err = s.Resolve(context.Background(), "nothing")
	assert.NoError(t, err)
	assert.Empty(t, got)

	var zero Static
	got, err = zero.Resolve(context.Background(), "db")
	assert.NoError(t, err, "the zero Static resolves nothing")
	assert.Empty(t, got)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Resolve(canceled, "db")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestStaticWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStatic(Instance{Service: "db", ID: "a", Address: "a:1"})
		for _, tc := range []struct {
			from   uint64
			events int
		}{{0, 1}, {1, 0}, {7, 1}} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			var events int
			var last error
			for ev, err := range s.Watch(ctx, "db", tc.from) {
				if err != nil {
					last = err
					continue
				}
				events++
				assert.True(t, ev.Reset)
				assert.Equal(t, []string{"a"}, ids(ev.Instances))
			}
			cancel()
			assert.Equal(t, tc.events, events, "from revision %d", tc.from)
			assert.ErrorIs(t, last, context.DeadlineExceeded, "the watch waits for its context")
		}
	})
}
