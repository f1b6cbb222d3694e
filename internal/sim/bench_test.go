package sim

import "testing"

// BenchmarkHistory simulates 90 days of 1,000 SKUs in 10 warehouses, the
// default size, with a no-op emit: the cost of the simulator itself.
func BenchmarkHistory(b *testing.B) {
	cfg := Config{Seed: 1, SKUs: 1000, Warehouses: 10, Days: 90, Start: testStart}
	b.ReportAllocs()
	var events int
	for b.Loop() {
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		st, err := s.History(b.Context(), func(Record) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		events = st.Events
	}
	b.ReportMetric(float64(events), "events/op")
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
