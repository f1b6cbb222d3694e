package routing_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stockflow/stockflow/pipelines/routing"
)

func TestRoutingBatcher(t *testing.T) {
	cfg := routing.DefaultConfig(testWarehouses())
	cfg.Batch.WindowMs, cfg.Batch.MaxOrders = 2000, 3
	r := newRouter(t, cfg)
	type arrival struct {
		ms int
		to point
	}
	tests := []struct {
		name     string
		arrivals []arrival
		flushMs  int
		// want lists the closed batches in closing order: region, close
		// time in ms, order ids.
		want []string
	}{
		{"full batch closes at once",
			[]arrival{{0, nyc}, {10, nyc}, {20, nyc}, {30, nyc}}, 5000,
			[]string{"US-East@20:[0 1 2]", "US-East@2030:[3]"}},
		{"window closes a batch",
			[]arrival{{0, nyc}, {1999, nyc}, {2000, nyc}}, 5000,
			[]string{"US-East@2000:[0 1]", "US-East@4000:[2]"}},
		{"regions batch apart",
			[]arrival{{0, nyc}, {5, la}, {10, chicago}, {15, la}, {20, nyc}, {25, paris}}, 1000,
			[]string{"US-East@1000:[0 4]", "US-West@1000:[1 3]", "US-Central@1000:[2]", "EU-West@1000:[5]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := r.NewBatcher()
			var got []string
			emit := func(bt *routing.Batch) {
				var ids []string
				for _, o := range bt.Orders {
					ids = append(ids, o.OrderID)
				}
				got = append(got, fmt.Sprintf("%s@%d:%v", bt.Region, bt.Closed.Sub(t0).Milliseconds(), ids))
			}
			for i, a := range tt.arrivals {
				at := t0.Add(time.Duration(a.ms) * time.Millisecond)
				for _, bt := range b.Due(at) {
					emit(bt)
				}
				country := "US"
				if a.to == paris {
					country = "FR"
				}
				o := order(fmt.Sprint(i), a.to, country, 5, line("A", 1))
				if bt := b.Add(o, at); bt != nil {
					emit(bt)
				}
			}
			end := t0.Add(time.Duration(tt.flushMs) * time.Millisecond)
			for {
				next, ok := b.Next()
				if !ok || next.After(end) {
					break
				}
				for _, bt := range b.Due(next) {
					emit(bt)
				}
			}
			for _, bt := range b.Flush(end) {
				emit(bt)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("batches\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}
