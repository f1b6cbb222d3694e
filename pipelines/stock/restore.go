package stock

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// restore rebuilds one partition's state from the committed part of its
// changelog partition: it reads from the start up to the last stable
// offset. Control records are kept so the position is known exactly even
// when the log ends with a transaction marker.
func (p *Processor) restore(ctx context.Context, part int32) (*partition, error) {
	st := newPartition(p.cfg.Grace)
	winState := make(map[string][]byte) // latest value per window-state key
	start := time.Now()
	n, err := kafka.ReadCommitted(ctx, p.cfg.Kafka, kafka.TopicStockChangelog, part, p.log, func(r *kgo.Record) {
		p.applyChangelog(st, r, winState)
	})
	if err != nil {
		return nil, err
	}
	for key, v := range winState {
		if err := st.win.restoreRecord(key, v); err != nil {
			p.log.Error("skip undecodable window state in changelog", "key", key, "err", err)
		}
	}
	cutoff := st.dedupClock() - p.cfg.DedupWindow.Milliseconds()
	for id, ts := range st.seen {
		if ts < cutoff {
			delete(st.seen, id)
			delete(st.legacy, id)
		}
	}
	// Batches that left the window while no transaction followed are
	// tombstoned by the next one.
	for key, ts := range st.batches {
		if ts < cutoff {
			delete(st.batches, key)
			st.forgotten = append(st.forgotten, key)
		}
	}
	st.resv.rebuild()
	forgetReservations(st, cutoff)
	st.swept = st.dedupClock()
	p.log.Info("restored partition", "partition", part, "records", n, "ledgers", len(st.levels),
		"event_ids", len(st.seen), "open_windows", len(st.win.open), "stockouts", len(st.win.outages), "reservations", len(st.resv.byID), "stream_time", time.UnixMilli(st.streamTime).UTC(), "took", time.Since(start))
	return st, nil
}

func (p *Processor) applyChangelog(st *partition, r *kgo.Record, winState map[string][]byte) {
	switch {
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogWindowPrefix)),
		bytes.HasPrefix(r.Key, []byte(event.ChangelogStockoutPrefix)),
		bytes.HasPrefix(r.Key, []byte(event.ChangelogVelocityPrefix)):
		if r.Value == nil {
			delete(winState, string(r.Key))
		} else {
			winState[string(r.Key)] = r.Value
		}
	case bytes.HasPrefix(r.Key, []byte(ChangelogReservationPrefix)):
		id := string(r.Key[len(ChangelogReservationPrefix):])
		if r.Value == nil { // tombstone: forgotten
			delete(st.resv.byID, id)
			return
		}
		var res reservation
		if err := json.Unmarshal(r.Value, &res); err != nil {
			p.log.Error("skip undecodable reservation in changelog", "key", string(r.Key), "offset", r.Offset, "err", err)
			return
		}
		st.resv.byID[id] = &res
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)):
		var lv Level
		if err := json.Unmarshal(r.Value, &lv); err != nil {
			p.log.Error("skip undecodable ledger record in changelog", "key", string(r.Key), "offset", r.Offset, "err", err)
			return
		}
		st.levels[Key{SKU: lv.SKU, Warehouse: lv.Warehouse}] = &lv
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogSeenPrefix)):
		id := string(r.Key[len(event.ChangelogSeenPrefix):])
		if r.Value == nil { // tombstone: forgotten
			delete(st.seen, id)
			return
		}
		if ts, err := strconv.ParseInt(string(r.Value), 10, 64); err == nil {
			st.seen[id] = ts
			st.legacy[id] = struct{}{}
		}
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogSeenBatchPrefix)):
		key := string(r.Key)
		if r.Value == nil { // tombstone: every id in it left the window
			delete(st.batches, key)
			return
		}
		var maxTS int64
		err := decodeSeen(r.Value, func(id string, ts int64) {
			if ts > st.seen[id] {
				st.seen[id] = ts
			}
			maxTS = max(maxTS, ts)
		})
		if err != nil {
			p.log.Error("skip undecodable event-id batch in changelog", "key", key, "offset", r.Offset, "err", err)
			return
		}
		st.batches[key] = maxTS
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogStreamTimePrefix)):
		var t streamTimes
		if err := json.Unmarshal(r.Value, &t); err != nil {
			p.log.Error("skip undecodable stream-time record in changelog", "key", string(r.Key), "offset", r.Offset, "err", err)
			return
		}
		st.streamTime = max(st.streamTime, t.Stream)
		st.win.closeTime = max(st.win.closeTime, t.Close)
		st.win.safe = max(st.win.safe, t.Safe)
		for topic, ts := range t.Topics {
			st.topicTime[topic] = max(st.topicTime[topic], ts)
		}
	}
}
