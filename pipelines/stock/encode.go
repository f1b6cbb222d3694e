package stock

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// Changelog values are written for nearly every record processed, so the
// hot ones are encoded by hand; TestEncodeMatchesJSON proves each encoder
// writes exactly what encoding/json writes for the same value.

// appendString appends s as a JSON string, escaping as encoding/json does
// (HTML-safe escapes included). Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// encoding/json refuses these; revenue from valid events is finite.
		return append(b, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendField(b []byte, name string) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// appendJSON appends the ledger as json.Marshal would.
func (l *Level) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendField(b, "sku")
	b = appendString(b, string(l.SKU))
	b = appendField(b, "warehouse")
	b = appendString(b, string(l.Warehouse))
	b = appendField(b, "on_hand")
	b = strconv.AppendInt(b, l.OnHand, 10)
	b = appendField(b, "reserved")
	b = strconv.AppendInt(b, l.Reserved, 10)
	b = appendField(b, "available")
	b = strconv.AppendInt(b, l.Available, 10)
	b = appendField(b, "last_event_ts")
	b = strconv.AppendInt(b, l.LastEventTS, 10)
	b = appendField(b, "version")
	b = strconv.AppendUint(b, l.Version, 10)
	b = appendField(b, "has_count")
	b = appendBool(b, l.HasCount)
	b = appendField(b, "count_ts")
	b = strconv.AppendInt(b, l.CountTS, 10)
	b = appendField(b, "count_id")
	b = appendString(b, l.CountID)
	b = appendField(b, "count_qty")
	b = strconv.AppendInt(b, l.CountQty, 10)
	b = appendField(b, "folded")
	b = strconv.AppendInt(b, l.Folded, 10)
	b = appendField(b, "folded_max_ts")
	b = strconv.AppendInt(b, l.FoldedMaxTS, 10)
	if len(l.Pending) > 0 {
		b = appendField(b, "pending")
		b = append(b, '[')
		for i, d := range l.Pending {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"t":`...)
			b = strconv.AppendInt(b, d.TS, 10)
			b = append(b, `,"q":`...)
			b = strconv.AppendInt(b, d.Qty, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSON appends the window state as json.Marshal would.
func (s *windowState) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendField(b, "sku")
	b = appendString(b, string(s.SKU))
	b = appendField(b, "warehouse")
	b = appendString(b, string(s.Warehouse))
	b = appendField(b, "size")
	b = strconv.AppendInt(b, s.Size, 10)
	b = appendField(b, "start")
	b = strconv.AppendInt(b, s.Start, 10)
	b = appendField(b, "u")
	b = strconv.AppendInt(b, s.Units, 10)
	b = appendField(b, "r")
	b = appendFloat(b, s.Revenue)
	b = appendField(b, "n")
	b = strconv.AppendInt(b, s.Sales, 10)
	if s.StockoutMS != 0 {
		b = appendField(b, "so")
		b = strconv.AppendInt(b, s.StockoutMS, 10)
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendWindow appends a window result as json.Marshal would.
func appendWindow(b []byte, w *event.Window) []byte {
	b = append(b, '{')
	b = appendField(b, "sku")
	b = appendString(b, string(w.SKU))
	b = appendField(b, "warehouse")
	b = appendString(b, string(w.Warehouse))
	b = appendField(b, "size")
	b = appendString(b, w.Size)
	b = appendField(b, "start")
	b = appendTime(b, w.Start)
	b = appendField(b, "end")
	b = appendTime(b, w.End)
	b = appendField(b, "kind")
	b = appendString(b, string(w.Kind))
	b = appendField(b, "units")
	b = strconv.AppendInt(b, w.Units, 10)
	b = appendField(b, "revenue")
	b = appendFloat(b, w.Revenue)
	b = appendField(b, "sales")
	b = strconv.AppendInt(b, w.Sales, 10)
	b = appendField(b, "stockout_seconds")
	b = strconv.AppendInt(b, w.StockoutSeconds, 10)
	b = appendField(b, "velocity_7d")
	b = appendFloat(b, w.Velocity7)
	b = appendField(b, "velocity_28d")
	b = appendFloat(b, w.Velocity28)
	b = appendField(b, "stream_time")
	b = appendTime(b, w.StreamTime)
	return append(b, '}')
}

// seenEntry is one accepted event id and its event time (Unix ms).
type seenEntry struct {
	id string
	ts int64
}

// seenBatchVersion leads every event-id batch value.
const seenBatchVersion = 1

// encodeSeen writes a batch of event ids: a version byte, then per entry
// the id's length (uvarint), the id and its event time (varint).
func encodeSeen(es []seenEntry) []byte {
	n := 1
	for _, e := range es {
		n += len(e.id) + 2*binary.MaxVarintLen64
	}
	b := make([]byte, 1, n)
	b[0] = seenBatchVersion
	for _, e := range es {
		b = binary.AppendUvarint(b, uint64(len(e.id)))
		b = append(b, e.id...)
		b = binary.AppendVarint(b, e.ts)
	}
	return b
}

// decodeSeen calls fn for every entry of a batch written by encodeSeen.
func decodeSeen(b []byte, fn func(id string, ts int64)) error {
	if len(b) == 0 || b[0] != seenBatchVersion {
		return errors.New("event-id batch: unknown version")
	}
	b = b[1:]
	for len(b) > 0 {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errors.New("event-id batch: truncated id")
		}
		id := string(b[n : n+int(l)])
		b = b[n+int(l):]
		ts, m := binary.Varint(b)
		if m <= 0 {
			return errors.New("event-id batch: truncated time")
		}
		b = b[m:]
		fn(id, ts)
	}
	return nil
}

// topicLetters abbreviates kafka.InputTopics in batch keys: sales, stock,
// orders, campaigns.
const topicLetters = "skoc"

// batchKey names the changelog record of one transaction's event ids on
// one partition by the first offset it processed of each input topic:
// unique, because every later transaction starts past them, and the same
// when an aborted transaction's records are processed again.
func batchKey(part int32, first map[string]int64) string {
	b := append([]byte(event.ChangelogSeenBatchPrefix), strconv.Itoa(int(part))...)
	b = append(b, '/')
	for i, topic := range kafka.InputTopics {
		if off, ok := first[topic]; ok {
			b = append(b, topicLetters[i])
			b = strconv.AppendInt(b, off, 10)
		}
	}
	return string(b)
}
