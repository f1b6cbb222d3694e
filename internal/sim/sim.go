package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/stockflow/stockflow/internal/event"
)

// Record is one Kafka record the simulator produces.
type Record struct {
	Topic string
	// Key and Value belong to the simulator's output: the receiver may keep
	// them but must not modify them (Key is shared between the records of a
	// SKU, and a duplicate_event record shares Value with its original).
	Key, Value []byte
	// Bad is "" for a good event, otherwise the reason the pipeline is
	// expected to give when it dead-letters the record.
	Bad event.Reason
	// TS is when the record is produced: the event time of a good event
	// (equal to its ts field); for a bad one the simulated time at which it
	// is sent, whatever its payload says.
	TS time.Time
}

// Emit receives the records in production order. An error stops the
// simulator, which returns it wrapped.
type Emit func(Record) error

// Stats counts the records of a run.
type Stats struct {
	Events   int // all records, bad ones included
	Bad      int
	ByTopic  map[string]int       // all records per topic
	ByReason map[event.Reason]int // bad records per expected reason
	// SoldUnits is the demand that was served (store, marketplace and
	// shipped web sales); LostUnits the demand lost to stockouts, including
	// web order lines no warehouse could serve. Web orders still waiting to
	// ship at the end are in neither.
	SoldUnits, LostUnits int64
}

// Topics the simulator writes, as indexes into topicNames.
const (
	topicSales = iota
	topicStock
	topicOrders
	topicCampaigns
	nTopics
)

var topicNames = [nTopics]string{event.TopicSales, event.TopicStock, event.TopicOrders, event.TopicCampaigns}

// Sim is a seeded simulation of the shops, the warehouse management systems
// and the suppliers. It is not safe for concurrent use: call History at most
// once, then Live any number of times; each continues where the last stopped.
// Order may be called from Config.OnDayEnd or from emit (on the goroutine
// running History or Live), or while neither runs.
type Sim struct {
	cfg     Config
	r       *rand.Rand
	nS, nW  int
	nK      int // nS*nW; key k = sku*nW + warehouse
	startMs int64
	endMs   int64 // end of the history
	// ns are the id namespaces: "<seed>" for what History creates,
	// "<seed>-<RunID>" for what Live creates.
	ns [2]string

	whs   []Warehouse
	items []Item

	// Per SKU.
	cat       []uint8
	skuKey    [][]byte
	listPrice []float64 // USD
	price     []float64 // current USD price
	trend     []float64 // log growth per year
	supplier  []int32
	casePack  []int32
	sizeMean  []float64 // intermittent items: mean units per demand occurrence; 0 otherwise
	skuMul    []float64 // today's multiplier
	byCat     [len(categories)][]int32

	// Per key.
	rate      []float32 // mean units/day, or the daily demand probability of an intermittent item
	phys      []int32   // physical stock: the simulator's ground truth
	reserved  []int32   // reserved for web orders not yet shipped
	recorded  []int32   // stock as the emitted events say (phys + unrecorded shrinkage)
	onOrder   []int32   // ordered from the supplier, not yet received
	inTransit []int32   // transfers on their way in
	rop, upTo []int32   // the naive (s, S) policy
	nextCount []int32   // day of the next cycle count
	lastDue   []int64   // due time of the latest purchase order
	uplift    []float32 // today's promotion multiplier
	discount  []float32 // today's promotion discount
	promoOn   bool

	// Suppliers.
	leadMean []float64 // per supplier×warehouse, days
	leadSD   []float64 // per supplier

	// Web customers.
	near      [][]int32   // per center: warehouses on its continent, nearest first
	catchment [][]int32   // per warehouse: the centers it is nearest to
	catchCDF  [][]float64 // cumulative weights of catchment
	regions   []string    // regions with at least one warehouse, in warehouse order
	hourCDF   [3][24]float64

	// Timeline.
	day      int
	dayStart int64
	dayEnd   int64
	dayItems int
	h        itemHeap
	seq      uint64
	curAt    int64
	web      [][]webLine // per warehouse, today's web demand
	lines    []lineRec   // today's order lines
	camps    []*campaign // campaigns not yet over; camps[i].n == campBase+i
	campBase uint64

	// Counters behind deterministic ids.
	orderN, poN, trN, campN uint64

	// Output.
	emit   Emit
	live   bool
	now    func() time.Time
	c      counters
	badP   float64
	recent [256]Record // good records that duplicates copy
	// digest hashes (xxHash64) the history's records so far (topic, key,
	// value); see HistoryDigest.
	digest  *xxhash.Digest
	history string // the digest of the whole history, once run
	nRec    int

	ids      idBlock
	sale     event.Sale
	stock    event.Stock
	order    event.Order
	orderBuf []event.OrderLine
	refBuf   []byte

	// Closed loop (order.go).
	ordered map[string]struct{} // reorder ids Order has acted on
	// waiting are the web orders Ship has not decided yet, shipped those
	// it has (ExternalRouting; ship.go).
	waiting map[string]webOrder
	shipped map[string]struct{}
	extIDs  []string // their ids; item.ref of an external item indexes it
	ended   int      // the last day whose end was reported
	floor   int64    // the end of that day: Order schedules nothing before it

	// onPO, when set, sees every purchase order (tests).
	onPO func(purchaseOrder)
}

type counters struct {
	events, bad int
	byTopic     [nTopics]int
	badTopic    [nTopics]int
	byReason    [nReasons]int
	sold, lost  int64
}

// purchaseOrder is a reorder the in-simulator supplier receives.
type purchaseOrder struct {
	ID       string
	Key      int
	PlacedAt int64 // Unix ms
	Lead     int   // days
	Qty      int32
	DueAt    int64 // Unix ms of the receipt
}

const dayMs = int64(24 * time.Hour / time.Millisecond)

// New builds the catalog, the network and the opening state from cfg.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(time.Now().UTC())
	s := &Sim{
		cfg:     cfg,
		r:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		nS:      cfg.SKUs,
		nW:      cfg.Warehouses,
		nK:      cfg.SKUs * cfg.Warehouses,
		startMs: cfg.Start.UnixMilli(),
		day:     -1,
		ended:   -1,
		digest:  xxhash.New(),
		ordered: map[string]struct{}{},
		waiting: map[string]webOrder{}, shipped: map[string]struct{}{},
	}
	s.ns[0] = strconv.FormatUint(cfg.Seed, 10)
	s.ns[1] = s.ns[0]
	if cfg.RunID != "" {
		s.ns[1] += "-" + cfg.RunID
	}
	s.endMs = s.startMs + int64(cfg.Days)*dayMs
	s.dayEnd = s.startMs
	if cfg.BadShare > 0 {
		s.badP = cfg.BadShare / (1 - cfg.BadShare)
	}
	s.ids.prefix = "s-" + s.ns[0] + "-"
	s.ids.pos = idBlockSize
	s.hourCDF = [3][24]float64{cdf24(&storeHours), cdf24(&marketHours), cdf24(&webHours)}
	s.buildNetwork()
	s.buildCatalogue()
	s.buildKeys()
	return s, nil
}

// Warehouses returns the network, WH01 first.
func (s *Sim) Warehouses() []Warehouse { return slices.Clone(s.whs) }

// Items returns the catalog, SKU-000001 first.
func (s *Sim) Items() []Item { return slices.Clone(s.items) }

// Config returns the configuration with the defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// LeadTime is the supplier lead time of SKU index sku (0-based, in Items
// order) into warehouse index w: the mean and standard deviation in days
// that receipts are sampled from (rounded and clamped to 3..14 days).
func (s *Sim) LeadTime(sku, w int) (meanDays, sdDays float64) {
	sup := int(s.supplier[sku])
	return s.leadMean[sup*s.nW+w], s.leadSD[sup]
}

func (s *Sim) buildNetwork() {
	s.whs = make([]Warehouse, s.nW)
	for i := range s.whs {
		st := &sites[i]
		cur := "USD"
		if st.eu() {
			cur = "EUR"
		}
		s.whs[i] = Warehouse{
			ID: warehouseID(i), Name: st.name, Region: st.region, Country: st.country,
			Currency: cur, Lat: st.lat, Lon: st.lon,
		}
		if !slices.Contains(s.regions, st.region) {
			s.regions = append(s.regions, st.region)
		}
	}
	s.near = make([][]int32, len(centers))
	s.catchment = make([][]int32, s.nW)
	for c := range centers {
		ct := &centers[c]
		var ws []int32
		for w := range s.nW {
			if sites[w].eu() == ct.eu {
				ws = append(ws, int32(w))
			}
		}
		dist := func(w int32) float64 { return haversine(ct.lat, ct.lon, sites[w].lat, sites[w].lon) }
		slices.SortStableFunc(ws, func(a, b int32) int {
			da, db := dist(a), dist(b)
			switch {
			case da < db:
				return -1
			case da > db:
				return 1
			}
			return 0
		})
		s.near[c] = ws
		if len(ws) > 0 {
			s.catchment[ws[0]] = append(s.catchment[ws[0]], int32(c))
		}
	}
	s.catchCDF = make([][]float64, s.nW)
	for w := range s.nW {
		if len(s.catchment[w]) == 0 { // a warehouse nobody is nearest to serves the center nearest to it
			best, bd := -1, math.Inf(1)
			for c := range centers {
				if centers[c].eu != sites[w].eu() {
					continue
				}
				if d := haversine(centers[c].lat, centers[c].lon, sites[w].lat, sites[w].lon); d < bd {
					best, bd = c, d
				}
			}
			s.catchment[w] = []int32{int32(best)}
		}
		var sum float64
		for _, c := range s.catchment[w] {
			sum += centers[c].weight
			s.catchCDF[w] = append(s.catchCDF[w], sum)
		}
	}
	s.web = make([][]webLine, s.nW)
}

func (s *Sim) buildCatalogue() {
	r := s.r
	nSup := min(max(s.nS/40, 1), 50)
	s.leadMean = make([]float64, nSup*s.nW)
	s.leadSD = make([]float64, nSup)
	for p := range nSup {
		base := 3 + 5*r.Float64()
		supEU := r.Float64() < 0.3
		s.leadSD[p] = 0.5 + 1.5*r.Float64()
		for w := range s.nW {
			m := base + 1.5*r.Float64()
			if sites[w].eu() != supEU {
				m += 4 // the other side of the Atlantic
			}
			s.leadMean[p*s.nW+w] = m
		}
	}
	var shareCDF [len(categories)]float64
	var sum float64
	for i := range categories {
		sum += categories[i].share
		shareCDF[i] = sum
	}
	s.items = make([]Item, s.nS)
	s.cat = make([]uint8, s.nS)
	s.skuKey = make([][]byte, s.nS)
	s.listPrice = make([]float64, s.nS)
	s.price = make([]float64, s.nS)
	s.trend = make([]float64, s.nS)
	s.supplier = make([]int32, s.nS)
	s.casePack = make([]int32, s.nS)
	s.sizeMean = make([]float64, s.nS)
	s.skuMul = make([]float64, s.nS)
	for i := range s.nS {
		u := r.Float64() * sum
		c := 0
		for c < len(categories)-1 && u > shareCDF[c] {
			c++
		}
		ct := &categories[c]
		p := ct.price * lognorm(r, ct.priceSigma)
		if p < 1 {
			p = 0.99
		} else {
			p = math.Floor(p) + 0.99
		}
		s.cat[i] = uint8(c)
		s.byCat[c] = append(s.byCat[c], int32(i))
		s.listPrice[i], s.price[i] = p, p
		s.trend[i] = 0.03 + 0.25*r.NormFloat64()
		s.supplier[i] = int32(r.IntN(nSup))
		cp := ct.casePack
		if r.Float64() < 0.2 {
			s.sizeMean[i] = 1 + 1.5*r.Float64()
			cp = min(cp, 6)
		}
		s.casePack[i] = int32(cp)
		id := skuID(i + 1)
		s.skuKey[i] = []byte(id)
		s.items[i] = Item{
			SKU: id, Category: ct.name, Price: p, CasePack: cp,
			Supplier:     fmt.Sprintf("SUP-%03d", s.supplier[i]+1),
			Intermittent: s.sizeMean[i] > 0,
		}
	}
}

func (s *Sim) buildKeys() {
	r, nK := s.r, s.nK
	s.rate = make([]float32, nK)
	s.phys = make([]int32, nK)
	s.reserved = make([]int32, nK)
	s.recorded = make([]int32, nK)
	s.onOrder = make([]int32, nK)
	s.inTransit = make([]int32, nK)
	s.rop = make([]int32, nK)
	s.upTo = make([]int32, nK)
	s.nextCount = make([]int32, nK)
	s.lastDue = make([]int64, nK)
	s.uplift = make([]float32, nK)
	s.discount = make([]float32, nK)
	for i := range s.nS {
		// Heavy tail: log-normal units/day per warehouse, median 0.45.
		base := 0.45 * math.Exp(1.35*r.NormFloat64())
		occur := 0.02 + 0.23*r.Float64() // intermittent: days with demand
		for w := range s.nW {
			k := i*s.nW + w
			aff := sites[w].size * lognorm(r, 0.35)
			var mean float64
			if sm := s.sizeMean[i]; sm > 0 {
				p := min(occur*math.Sqrt(aff), 0.9)
				s.rate[k] = float32(p)
				mean = p * sm
			} else {
				mean = min(base*aff, 200)
				s.rate[k] = float32(mean)
			}
			s.items[i].MeanDailyDemand += mean
			s.uplift[k] = 1

			// The naive supplier's (s, S) policy on a misjudged mean.
			mu := mean * lognorm(r, 0.3)
			lead := s.leadMean[int(s.supplier[i])*s.nW+w]
			cover := lead + 1
			rop := math.Ceil(mu*cover + 0.6*math.Sqrt(2*mu*cover))
			cycle := 30.0
			switch {
			case mu >= 5:
				cycle = 7
			case mu >= 1:
				cycle = 14
			}
			cp := float64(s.casePack[i])
			q := max(cp, math.Ceil(mu*cycle/cp)*cp)
			s.rop[k] = int32(max(rop, 1))
			s.upTo[k] = s.rop[k] + int32(q)
			if r.Float64() >= 0.02 { // a few keys open out of stock
				s.phys[k] = s.rop[k] + int32(math.Round(r.Float64()*q))
			}
			s.recorded[k] = s.phys[k]
			s.nextCount[k] = int32(1 + r.IntN(s.countInterval(k)))
		}
	}
}

// countInterval is the cycle-count interval in days: fast movers more often.
func (s *Sim) countInterval(k int) int {
	switch m := s.rate[k]; {
	case s.sizeMean[k/s.nW] > 0 || m < 1:
		return 60
	case m < 5:
		return 30
	}
	return 14
}

// History emits every event of the days [Start, Start+Days) in event-time
// order and returns their counts. It must be the first thing a Sim runs.
// After each day it calls Config.OnDayEnd, if set. On cancellation it
// returns ctx.Err() with the counts so far.
func (s *Sim) History(ctx context.Context, emit Emit) (Stats, error) {
	if s.day >= 0 {
		return Stats{}, errors.New("sim: History must run first and once")
	}
	if emit == nil {
		return Stats{}, errors.New("sim: History needs an emit function")
	}
	s.emit, s.live = emit, false
	defer func() { s.emit = nil }()
	s.c = counters{}
	n := 0
	for d := range s.cfg.Days {
		s.genDay(d)
		for s.h.len() > 0 && s.h.top().at < s.dayEnd {
			if n++; n&1023 == 0 && ctx.Err() != nil {
				return s.stats(), ctx.Err()
			}
			it := s.h.pop()
			s.curAt = it.at
			if err := s.process(&it); err != nil {
				return s.stats(), err
			}
		}
		if d == s.cfg.Days-1 {
			break // the last day ends after the extra bad records
		}
		if err := s.endDay(); err != nil {
			return s.stats(), err
		}
		if err := ctx.Err(); err != nil {
			return s.stats(), err
		}
	}
	if s.badP > 0 { // every class and every topic at least once
		for reason := range nReasons {
			if s.c.byReason[reason] == 0 {
				if err := s.emitBad(reason, -1); err != nil {
					return s.stats(), err
				}
			}
		}
		for topic := range nTopics {
			if s.c.badTopic[topic] == 0 {
				if err := s.emitBad(badMalformed, topic); err != nil {
					return s.stats(), err
				}
			}
		}
	}
	if err := s.endDay(); err != nil {
		return s.stats(), err
	}
	if ctx.Err() == nil {
		s.history = fmt.Sprintf("%016x", s.digest.Sum64())
	}
	return s.stats(), ctx.Err()
}

// HistoryDigest is a hash of every record of the history (topic, key and
// value, in order), emitted by History or replayed silently by Live, once
// the whole history has run; "" before. A process that replays a history
// an earlier process emitted compares the two: with the loop closed
// (ExternalReplenishment, ExternalRouting) the replay repeats the history
// only if it is handed the same reorders and decisions at the same day
// ends.
func (s *Sim) HistoryDigest() string { return s.history }

// digestRecord adds a record to the running history digest d: topic, key
// and value, each followed by 0xff, a byte UTF-8 text never contains.
func digestRecord(d *xxhash.Digest, rec Record) {
	_, _ = d.WriteString(rec.Topic) // an xxhash.Digest never fails to write
	_, _ = d.WriteString("\xff")
	_, _ = d.Write(rec.Key)
	_, _ = d.WriteString("\xff")
	_, _ = d.Write(rec.Value)
	_, _ = d.WriteString("\xff")
}

// endDay reports the end of the current day to Config.OnDayEnd, once per
// day (again after an error, if Live runs again), and from then on keeps
// what Order schedules at or after it.
func (s *Sim) endDay() error {
	if s.ended >= s.day {
		return nil
	}
	s.floor = s.dayEnd
	if s.cfg.OnDayEnd != nil {
		if err := s.cfg.OnDayEnd(s.day, s.ts(s.dayEnd)); err != nil {
			return fmt.Errorf("sim: end of day %d: %w", s.day, err)
		}
	}
	s.ended = s.day
	return nil
}

func (s *Sim) stats() Stats {
	st := Stats{
		Events: s.c.events, Bad: s.c.bad,
		ByTopic:   make(map[string]int, nTopics),
		ByReason:  make(map[event.Reason]int, nReasons),
		SoldUnits: s.c.sold, LostUnits: s.c.lost,
	}
	for t, n := range s.c.byTopic {
		if n > 0 {
			st.ByTopic[topicNames[t]] = n
		}
	}
	for r, n := range s.c.byReason {
		if n > 0 {
			st.ByReason[badReasons[r]] = n
		}
	}
	return st
}

// Live continues the simulation where History (or the last Live) stopped,
// without end. On a Sim that has not run History, it first replays the
// history without emitting it (the history an earlier process produced, as
// the simulation is deterministic), so live records continue from the end
// of the history — not from where an earlier process's Live stopped. Then simulated time runs as fast as it takes to produce about
// LiveRate records per second, and every record carries ts = now(). Times
// inside payloads that lie ahead (campaign start and end) are mapped onto the
// same compressed clock; promised_by stays a real number of days after ts.
// Live calls Config.OnDayEnd at every simulated day boundary. It returns
// nil when ctx is done, or the first emit or OnDayEnd error. A nil now
// means time.Now; pacing always uses the time package's clock.
func (s *Sim) Live(ctx context.Context, now func() time.Time, emit Emit) error {
	if emit == nil {
		return errors.New("sim: Live needs an emit function")
	}
	if now == nil {
		now = time.Now
	}
	if s.day < 0 {
		if _, err := s.History(ctx, func(Record) error { return nil }); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sim: replay history: %w", err)
		}
		if s.cfg.ExternalReplenishment || s.cfg.ExternalRouting {
			// With the loop closed the replay repeats the history the
			// earlier process emitted only if it is handed the same
			// reorders and decisions at the same day ends (the caller's
			// business: `stockflow run` journals them; by event time
			// alone, replays diverged from the first closed-loop day).
			// A duplicate_event copying a diverged record would carry an
			// id the earlier process used for another event, often of
			// another SKU, which a pipeline keyed by SKU cannot see as a
			// repeat. So duplicates copy only records this process
			// emitted; HistoryDigest tells whether the replay matched.
			s.nRec = 0
		}
	}
	s.emit, s.now, s.live = emit, now, true
	defer func() { s.emit, s.now, s.live = nil, nil, false }()
	if p := "s-" + s.ns[1] + "-"; s.ids.prefix != p || s.ids.pos < idBlockSize {
		s.ids.prefix, s.ids.pos = p, idBlockSize // ids of the new namespace from here on
	}

	rate := s.cfg.LiveRate
	interval := min(max(time.Duration(float64(time.Second)/rate), 10*time.Millisecond), time.Second)
	burst := max(int(rate), 1) // after a stall, catch up at most one second
	tk := time.NewTicker(interval)
	defer tk.Stop()
	start := time.Now()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		allowed := int(rate * time.Since(start).Seconds())
		if allowed-sent > burst {
			sent = allowed - burst
		}
		for sent < allowed {
			if ctx.Err() != nil {
				return nil
			}
			before := s.c.events
			if err := s.step(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			sent += s.c.events - before
		}
	}
}

// step processes the next timeline item, ending and generating days as
// needed.
func (s *Sim) step() error {
	for s.h.len() == 0 || s.h.top().at >= s.dayEnd {
		if err := s.endDay(); err != nil {
			return err
		}
		s.genDay(s.day + 1)
	}
	it := s.h.pop()
	s.curAt = it.at
	return s.process(&it)
}

// curNS is the id namespace of what is created now.
func (s *Sim) curNS() uint8 {
	if s.live {
		return 1
	}
	return 0
}

// ts is the timestamp of an event at simulated time at.
func (s *Sim) ts(at int64) time.Time {
	if s.live {
		return s.now().Round(0).UTC()
	}
	return time.UnixMilli(at).UTC()
}

// future maps a simulated time ahead of the current item onto the output
// clock: itself in History, compressed onto now() in Live.
func (s *Sim) future(at int64, now time.Time) time.Time {
	if !s.live {
		return time.UnixMilli(at).UTC()
	}
	wallPerSim := float64(max(s.dayItems, 1)) / s.cfg.LiveRate / float64(dayMs/1000)
	return now.Add(time.Duration(float64(at-s.curAt) * wallPerSim * float64(time.Millisecond))).UTC()
}

// idBlock hands out event ids "s-<seed>-<n>" from one string per block, so
// that ids cost no allocation each.
type idBlock struct {
	prefix string
	str    string
	off    [idBlockSize + 1]int32
	pos    int
	next   uint64
	buf    []byte
}

const idBlockSize = 1024

func (b *idBlock) id() string {
	if b.pos == idBlockSize {
		buf := b.buf[:0]
		for i := range idBlockSize {
			b.off[i] = int32(len(buf))
			b.next++
			buf = append(buf, b.prefix...)
			buf = strconv.AppendUint(buf, b.next, 10)
		}
		b.off[idBlockSize] = int32(len(buf))
		b.str, b.buf, b.pos = string(buf), buf, 0
	}
	id := b.str[b.off[b.pos]:b.off[b.pos+1]]
	b.pos++
	return id
}

// ref is a deterministic reference "<prefix><namespace>-<n>", such as
// PO-7-123 (History) or PO-7-run2-123 (Live with RunID "run2").
func (s *Sim) ref(prefix string, ns uint8, n uint64) string {
	b := s.refBuf[:0]
	b = append(b, prefix...)
	b = append(b, s.ns[ns]...)
	b = append(b, '-')
	b = strconv.AppendUint(b, n, 10)
	s.refBuf = b
	return string(b)
}
