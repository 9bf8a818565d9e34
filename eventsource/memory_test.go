package eventsource

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openMemory(t *testing.T, limits Limits) Store {
	return NewMemoryStore(MemoryConfig{Limits: limits})
}

func TestMemoryStore(t *testing.T) {
	runStoreTests(t, openMemory)
}

func TestMemoryConfigValidate(t *testing.T) {
	require.NoError(t, MemoryConfig{}.Validate(), "the zero config is valid")
	bad := MemoryConfig{Limits: Limits{MaxAppendEvents: -1}}
	require.Error(t, bad.Validate(), "a negative limit is invalid")
	require.Panics(t, func() { NewMemoryStore(bad) }, "NewMemoryStore panics on an invalid config")
	huge := MemoryConfig{Limits: Limits{MaxEventSize: MaxEventSizeLimit + 1}}
	require.Error(t, huge.Validate(), "an event size limit above MaxEventSizeLimit is invalid")
}

func TestStatsAndVersion(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]storeFactory{"memory": openMemory, "file": openFileOn(SyncAlways)} {
		t.Run(name, func(t *testing.T) {
			s := open(t, Limits{})
			defer s.Close()
			version := s.(interface{ Version(string) uint64 }).Version
			stats := s.(interface{ Stats() Stats }).Stats
			assert.Equal(t, uint64(0), version("a"), "a missing stream is at version 0")
			_, err := s.Append(ctx, "a", NoStream, ed("1", "T", ""), ed("2", "T", ""))
			require.NoError(t, err, "append")
			_, err = s.Append(ctx, "b", Any, ed("3", "T", ""))
			require.NoError(t, err, "append")
			_, err = s.Append(ctx, "a", NoStream, ed("1", "T", ""), ed("2", "T", ""))
			require.NoError(t, err, "retry")
			_, err = s.Append(ctx, "a", Exact(1), ed("4", "T", ""))
			require.ErrorIs(t, err, ErrVersionConflict, "conflict")
			assert.Equal(t, uint64(2), version("a"), "version of a")
			st := stats()
			assert.Equal(t, 2, st.Streams, "streams")
			assert.Equal(t, uint64(3), st.Events, "events")
			assert.Equal(t, uint64(2), st.Appends, "appends that wrote")
			assert.Equal(t, uint64(1), st.Deduplicated, "retries")
			assert.Equal(t, uint64(1), st.Conflicts, "conflicts")
			if name == "file" {
				assert.Equal(t, uint64(2), st.Syncs, "one log write per append here")
			}
		})
	}
}

func TestExpectedVersion(t *testing.T) {
	tests := []struct {
		e    ExpectedVersion
		text string
	}{
		{Any, "any"},
		{NoStream, "no stream"},
		{StreamExists, "stream exists"},
		{Exact(0), "version 0"},
		{Exact(42), "version 42"},
		{ExpectedVersion(-7), "ExpectedVersion(-7)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.text, tt.e.String(), "String of %d", int64(tt.e))
	}
	assert.Panics(t, func() { Exact(math.MaxUint64) }, "a version beyond int64 cannot be expected")
	assert.True(t, Exact(0).allows(0) && NoStream.allows(0), "Exact(0) and NoStream accept an empty stream")
	assert.False(t, Exact(0).allows(1) || NoStream.allows(1), "and nothing else")
}
