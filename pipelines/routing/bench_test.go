package routing_test

import (
	"fmt"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/pipelines/routing"
)

// benchNetwork is ten warehouses at the simulator's first ten sites.
func benchNetwork() []routing.Warehouse {
	sites := []struct {
		id, region, country string
		lat, lon            float64
	}{
		{"WH01", "US-West", "US", 39.5296, -119.8138}, {"WH02", "US-West", "US", 34.0633, -117.6509},
		{"WH03", "US-Central", "US", 32.7767, -96.7970}, {"WH04", "US-Central", "US", 41.5250, -88.0817},
		{"WH05", "US-East", "US", 33.7490, -84.3880}, {"WH06", "US-East", "US", 40.6023, -75.4714},
		{"WH07", "EU-West", "NL", 51.3704, 6.1724}, {"WH08", "EU-Central", "DE", 51.3397, 12.3731},
		{"WH09", "EU-South", "ES", 40.4168, -3.7038}, {"WH10", "EU-West", "FR", 45.7640, 4.8357},
	}
	out := make([]routing.Warehouse, len(sites))
	for i, s := range sites {
		out[i] = routing.Warehouse{ID: event.WarehouseID(s.id), Region: s.region, Country: s.country, Lat: s.lat, Lon: s.lon,
			OrderCapacity: 100000, UnitCapacity: 300000}
	}
	return out
}

// BenchmarkRoute decides one order of `lines` lines (one or two units
// each) on the ten-warehouse network, every SKU stocked everywhere with a
// forecast.
func BenchmarkRoute(b *testing.B) {
	for _, lines := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			whs := benchNetwork()
			r := newRouter(b, routing.DefaultConfig(whs))
			st := r.NewState()
			for i := range 100 {
				sku := event.SKU(fmt.Sprintf("SKU-%03d", i))
				for j, w := range whs {
					err := st.SetStock(sku, w.ID, routing.Stock{Available: int64(2 + (i*7+j*3)%15),
						NextReceiptDays: float64(1 + (i+j)%20), Demand: routing.Demand{Rate: 0.3 + float64((i+j)%5), RateSD: 1}})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			orders := make([]event.Order, 64)
			for k := range orders {
				var ls []event.OrderLine
				for l := range lines {
					ls = append(ls, line(fmt.Sprintf("SKU-%03d", (k*13+l*29)%100), int64(1+(k+l)%2)))
				}
				orders[k] = order(fmt.Sprint(k), []point{nyc, chicago, la}[k%3], "US", []int{5, 2}[k%2], ls...)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d := r.Route(&orders[i%len(orders)], st)
				if d.Status != routing.StatusRouted && d.Status != routing.StatusSplit {
					b.Fatalf("%+v", d)
				}
			}
		})
	}
}
