package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BenchmarkPutResult1000 stores 1000 hosts' realistic six-phase results
// from 1000 goroutines at once, the shape of a fleet-wide dry run landing,
// into a real bbolt file. One op is all 1000 results durable.
func BenchmarkPutResult1000(b *testing.B) {
	s, _ := openTestStore(b)
	results := hostResults("bench", 1000)

	i := 0
	for b.Loop() {
		b.StopTimer()
		runID := fmt.Sprintf("bench-%d", i)
		i++
		mustDo(b, s.CreateRun(b.Context(), newRun(runID, t0)))
		b.StartTimer()

		putConcurrently(b, s, runID, results)
	}

	b.ReportMetric(float64(proto.Size(results[0])), "bytes/result")
}

// BenchmarkAppendEvents256 stores events from 256 goroutines at once, the
// controller's event writers, each with eventsPerWriter events of its own
// host in a row (a 10,000-host run gives each ~350). One op is every event
// durable. "batch=1" appends them one by one, each waiting for its commit;
// larger batches append that many per AppendEvents call.
func BenchmarkAppendEvents256(b *testing.B) {
	const writers, eventsPerWriter = 256, 64
	for _, batch := range []int{1, 8, eventsPerWriter} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, _ := openTestStore(b)
			i := 0
			for b.Loop() {
				b.StopTimer()
				runID := fmt.Sprintf("bench-%d", i)
				i++
				mustDo(b, s.CreateRun(b.Context(), newRun(runID, t0)))
				b.StartTimer()

				appendConcurrently(b, s, runID, writers, eventsPerWriter, batch)
			}
			b.ReportMetric(float64(writers*eventsPerWriter)*float64(b.N)/b.Elapsed().Seconds(),
				"events/s")
		})
	}
}

// appendConcurrently appends perWriter events of its own host from each of
// writers goroutines, batch events per call.
func appendConcurrently(b *testing.B, s *Bolt, runID string, writers, perWriter, batch int) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		events := eventsOf(runID, fmt.Sprintf("host-%04d", w), 0, perWriter)
		for _, e := range events {
			e.At = timestamppb.New(t0)
		}
		wg.Go(func() {
			for len(events) > 0 {
				n := min(batch, len(events))
				if err := s.AppendEvents(context.Background(), events[:n]); err != nil {
					errs <- err
					return
				}
				events = events[n:]
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
