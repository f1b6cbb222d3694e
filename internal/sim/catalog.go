package sim

import (
	"math"
	"strconv"

	"github.com/stockflow/stockflow/internal/event"
)

// Warehouse is a stocking location of the simulated network.
type Warehouse struct {
	ID       event.WarehouseID
	Name     string
	Region   string // e.g. "US-West", "EU-Central"; campaigns target these
	Country  string // ISO 3166-1 alpha-2
	Currency string // currency of its store and marketplace sales
	Lat, Lon float64
}

// Item is one SKU of the catalog.
type Item struct {
	SKU      event.SKU
	Category string
	Price    float64 // list price in USD at the start; EUR sites convert at a fixed rate
	CasePack int     // supplier case size; reorders are multiples of it
	Supplier string
	// Intermittent marks the slow movers whose demand has many zero days.
	Intermittent bool
	// MeanDailyDemand is the expected demand in units per day over all
	// warehouses before trend, seasonality, price and promotions: the
	// simulator's ground truth, not something a forecaster could observe.
	MeanDailyDemand float64
}

// site is a candidate warehouse location; the first Config.Warehouses are used.
type site struct {
	name, region, country string
	lat, lon              float64
	tz                    int     // UTC offset in hours (standard time; DST is ignored)
	size                  float64 // relative throughput
}

// sites lists the warehouse locations in the order WH01, WH02, ...
var sites = [...]site{
	{"Reno, NV", "US-West", "US", 39.5296, -119.8138, -8, 1.0},
	{"Ontario, CA", "US-West", "US", 34.0633, -117.6509, -8, 1.3},
	{"Dallas, TX", "US-Central", "US", 32.7767, -96.7970, -6, 1.1},
	{"Joliet, IL", "US-Central", "US", 41.5250, -88.0817, -6, 1.2},
	{"Atlanta, GA", "US-East", "US", 33.7490, -84.3880, -5, 1.0},
	{"Allentown, PA", "US-East", "US", 40.6023, -75.4714, -5, 1.4},
	{"Venlo, NL", "EU-West", "NL", 51.3704, 6.1724, 1, 1.2},
	{"Leipzig, DE", "EU-Central", "DE", 51.3397, 12.3731, 1, 1.0},
	{"Madrid, ES", "EU-South", "ES", 40.4168, -3.7038, 1, 0.8},
	{"Lyon, FR", "EU-West", "FR", 45.7640, 4.8357, 1, 0.8},
	{"Kent, WA", "US-West", "US", 47.3809, -122.2348, -8, 0.7},
	{"Kansas City, MO", "US-Central", "US", 39.0997, -94.5786, -6, 0.7},
	{"Columbus, OH", "US-East", "US", 39.9612, -82.9988, -5, 0.8},
	{"Orlando, FL", "US-East", "US", 28.5384, -81.3789, -5, 0.7},
	{"Milan, IT", "EU-South", "IT", 45.4642, 9.1900, 1, 0.8},
	{"Vienna, AT", "EU-Central", "AT", 48.2082, 16.3738, 1, 0.6},
	{"Vantaa, FI", "EU-North", "FI", 60.2934, 25.0378, 2, 0.4},
	{"Denver, CO", "US-West", "US", 39.7392, -104.9903, -7, 0.6},
	{"Dublin, IE", "EU-West", "IE", 53.3498, -6.2603, 0, 0.5},
	{"Lisbon, PT", "EU-South", "PT", 38.7223, -9.1393, 0, 0.5},
}

// MaxWarehouses is the largest Config.Warehouses the simulator has sites for.
const MaxWarehouses = len(sites)

// eurPerUSD converts list prices for the euro sites.
const eurPerUSD = 0.92

func (st *site) eu() bool { return st.country != "US" }

// center is a population center that web orders ship to.
type center struct {
	country  string
	postal   string // postal code prefix; digits random digits follow
	digits   int
	lat, lon float64
	weight   float64 // metro population, millions
	eu       bool
}

var centers = [...]center{
	{country: "US", postal: "100", digits: 2, lat: 40.7128, lon: -74.0060, weight: 19.5},
	{country: "US", postal: "900", digits: 2, lat: 34.0522, lon: -118.2437, weight: 13.0},
	{country: "US", postal: "606", digits: 2, lat: 41.8781, lon: -87.6298, weight: 9.5},
	{country: "US", postal: "752", digits: 2, lat: 32.7767, lon: -96.7970, weight: 7.6},
	{country: "US", postal: "770", digits: 2, lat: 29.7604, lon: -95.3698, weight: 7.1},
	{country: "US", postal: "200", digits: 2, lat: 38.9072, lon: -77.0369, weight: 6.3},
	{country: "US", postal: "191", digits: 2, lat: 39.9526, lon: -75.1652, weight: 6.2},
	{country: "US", postal: "331", digits: 2, lat: 25.7617, lon: -80.1918, weight: 6.1},
	{country: "US", postal: "303", digits: 2, lat: 33.7490, lon: -84.3880, weight: 6.1},
	{country: "US", postal: "021", digits: 2, lat: 42.3601, lon: -71.0589, weight: 4.9},
	{country: "US", postal: "850", digits: 2, lat: 33.4484, lon: -112.0740, weight: 4.9},
	{country: "US", postal: "941", digits: 2, lat: 37.7749, lon: -122.4194, weight: 4.7},
	{country: "US", postal: "482", digits: 2, lat: 42.3314, lon: -83.0458, weight: 4.3},
	{country: "US", postal: "981", digits: 2, lat: 47.6062, lon: -122.3321, weight: 4.0},
	{country: "US", postal: "554", digits: 2, lat: 44.9778, lon: -93.2650, weight: 3.7},
	{country: "US", postal: "802", digits: 2, lat: 39.7392, lon: -104.9903, weight: 3.0},
	{country: "US", postal: "631", digits: 2, lat: 38.6270, lon: -90.1994, weight: 2.8},
	{country: "US", postal: "972", digits: 2, lat: 45.5152, lon: -122.6784, weight: 2.5},
	{country: "US", postal: "641", digits: 2, lat: 39.0997, lon: -94.5786, weight: 2.2},
	{country: "US", postal: "841", digits: 2, lat: 40.7608, lon: -111.8910, weight: 1.3},
	{country: "FR", postal: "750", digits: 2, lat: 48.8566, lon: 2.3522, weight: 12.0, eu: true},
	{country: "ES", postal: "280", digits: 2, lat: 40.4168, lon: -3.7038, weight: 6.7, eu: true},
	{country: "DE", postal: "101", digits: 2, lat: 52.5200, lon: 13.4050, weight: 6.0, eu: true},
	{country: "ES", postal: "080", digits: 2, lat: 41.3874, lon: 2.1686, weight: 5.6, eu: true},
	{country: "IT", postal: "201", digits: 2, lat: 45.4642, lon: 9.1900, weight: 4.3, eu: true},
	{country: "IT", postal: "001", digits: 2, lat: 41.9028, lon: 12.4964, weight: 4.3, eu: true},
	{country: "DE", postal: "200", digits: 2, lat: 53.5511, lon: 9.9937, weight: 3.3, eu: true},
	{country: "PL", postal: "00-", digits: 3, lat: 52.2297, lon: 21.0122, weight: 3.1, eu: true},
	{country: "PT", postal: "1100-", digits: 3, lat: 38.7223, lon: -9.1393, weight: 2.9, eu: true},
	{country: "DE", postal: "803", digits: 2, lat: 48.1351, lon: 11.5820, weight: 2.9, eu: true},
	{country: "NL", postal: "10", digits: 2, lat: 52.3676, lon: 4.9041, weight: 2.5, eu: true},
	{country: "SE", postal: "111 ", digits: 2, lat: 59.3293, lon: 18.0686, weight: 2.4, eu: true},
	{country: "FR", postal: "690", digits: 2, lat: 45.7640, lon: 4.8357, weight: 2.3, eu: true},
	{country: "DE", postal: "603", digits: 2, lat: 50.1109, lon: 8.6821, weight: 2.3, eu: true},
	{country: "BE", postal: "10", digits: 2, lat: 50.8503, lon: 4.3517, weight: 2.1, eu: true},
	{country: "DK", postal: "1", digits: 3, lat: 55.6761, lon: 12.5683, weight: 2.1, eu: true},
	{country: "AT", postal: "10", digits: 2, lat: 48.2082, lon: 16.3738, weight: 2.0, eu: true},
	{country: "FI", postal: "001", digits: 2, lat: 60.1699, lon: 24.9384, weight: 1.5, eu: true},
	{country: "IE", postal: "D0", digits: 1, lat: 53.3498, lon: -6.2603, weight: 1.4, eu: true},
}

// category holds the demand and supply traits shared by the SKUs of a category.
type category struct {
	name        string
	share       float64    // share of the catalog
	price       float64    // median list price, USD
	priceSigma  float64    // log-normal spread of list prices
	weekly      [7]float64 // by time.Weekday, normalized to mean 1 at start-up
	yearAmp     float64    // amplitude of the yearly cosine
	yearPeak    float64    // day of year of the yearly peak
	xmas        float64    // height of the December bump (and a Black Friday spike)
	meanQty     float64    // mean units per store transaction
	maxQty      int        // largest quantity in one transaction
	webShare    float64    // share of demand arriving as web orders
	marketShare float64    // share of the remaining demand sold on the marketplace
	returnRate  float64    // probability that a sale comes back
	casePack    int
	elasticity  float64 // demand ∝ (price/list)^-elasticity
}

var (
	weekendPeak = [7]float64{1.25, 0.85, 0.85, 0.9, 0.95, 1.1, 1.5}
	weekendMild = [7]float64{1.05, 0.95, 0.95, 0.95, 1.0, 1.1, 1.2}
	flatWeek    = [7]float64{0.8, 1.0, 1.0, 1.0, 1.05, 1.15, 1.0}
)

var categories = [...]category{
	{"grocery", 0.22, 4, 0.5, flatWeek, 0.05, 180, 0.2, 1.8, 6, 0.10, 0.05, 0.005, 12, 1.8},
	{"beverages", 0.10, 3, 0.5, weekendMild, 0.25, 196, 0.15, 2.2, 8, 0.08, 0.05, 0.005, 24, 2.0},
	{"household", 0.12, 8, 0.6, flatWeek, 0.05, 90, 0, 1.4, 4, 0.25, 0.10, 0.01, 6, 1.5},
	{"personal-care", 0.10, 7, 0.5, flatWeek, 0.05, 180, 0.1, 1.3, 4, 0.30, 0.10, 0.01, 12, 1.6},
	{"electronics", 0.08, 80, 0.9, weekendMild, 0.10, 340, 1.2, 1.05, 2, 0.45, 0.25, 0.05, 1, 2.5},
	{"toys", 0.08, 20, 0.6, weekendPeak, 0.10, 340, 1.5, 1.2, 3, 0.35, 0.20, 0.03, 4, 2.2},
	{"apparel", 0.12, 30, 0.6, weekendPeak, 0.15, 110, 0.4, 1.3, 3, 0.40, 0.15, 0.10, 1, 2.0},
	{"garden", 0.08, 15, 0.6, weekendPeak, 0.70, 140, 0, 1.3, 4, 0.20, 0.10, 0.02, 6, 1.7},
	{"sports", 0.05, 25, 0.7, weekendPeak, 0.30, 180, 0.3, 1.1, 3, 0.35, 0.15, 0.04, 2, 1.9},
	{"books", 0.05, 12, 0.4, weekendMild, 0.05, 0, 0.6, 1.1, 3, 0.45, 0.25, 0.02, 10, 1.3},
}

func init() {
	for i := range categories {
		w := &categories[i].weekly
		var sum float64
		for _, v := range w {
			sum += v
		}
		for d := range w {
			w[d] *= 7 / sum
		}
	}
}

// yearly is the seasonal multiplier of category c on day of year doy.
func (c *category) yearly(doy int) float64 {
	m := 1 + c.yearAmp*math.Cos(2*math.Pi*(float64(doy)-c.yearPeak)/365.25)
	if c.xmas > 0 {
		d := float64(doy - 350)
		m *= 1 + c.xmas*math.Exp(-d*d/(2*12*12))
		bf := float64(doy - 332) // Black Friday, roughly
		m *= 1 + 0.5*c.xmas*math.Exp(-bf*bf/2)
	}
	return m
}

// Hour-of-day profiles in local time, relative weights.
var (
	storeHours  = [24]float64{0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 7, 8, 7, 6, 6, 7, 8, 8, 6, 4, 2, 1, 0}
	marketHours = [24]float64{1, 1, 0.5, 0.5, 0.5, 0.5, 1, 2, 3, 4, 4, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 7, 5, 3}
	webHours    = [24]float64{1.5, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4, 5, 5, 5, 5, 5, 5, 6, 7, 9, 10, 9, 6, 3}
)

// cdf24 turns hour weights into a cumulative distribution.
func cdf24(w *[24]float64) [24]float64 {
	var c [24]float64
	var sum float64
	for i, v := range w {
		sum += v
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}

// haversine is the great-circle distance in km.
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

func warehouseID(i int) event.WarehouseID {
	if i < 9 {
		return event.WarehouseID("WH0" + strconv.Itoa(i+1))
	}
	return event.WarehouseID("WH" + strconv.Itoa(i+1))
}

func skuID(i int) event.SKU {
	b := []byte("SKU-000000")
	for p, n := len(b)-1, i; p >= 4 && n > 0; p, n = p-1, n/10 {
		b[p] = byte('0' + n%10)
	}
	return event.SKU(b)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
