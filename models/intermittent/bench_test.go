package intermittent

import "testing"

// BenchmarkFit measures one fit and 28-day forecast with quantiles on two
// years of daily intermittent demand.
func BenchmarkFit(b *testing.B) {
	y := make([]float64, 730)
	for i := range y {
		if i%3 == 0 || i%7 == 0 {
			y[i] = float64(1 + i%5)
		}
	}
	for _, m := range []*Model{Croston(), CrostonOptimized(), SBA(), TSB(0.1, 0.1), ADIDA()} {
		b.Run(m.Name(), func(b *testing.B) {
			for b.Loop() {
				f, err := m.Fit(y, 7)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Forecast(28, []float64{0.1, 0.5, 0.9, 0.95, 0.99}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
