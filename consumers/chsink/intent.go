package chsink

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// intentPrefix starts the offset-commit metadata of a partition whose batch
// has been cut, and may have been inserted, but was not committed past.
const intentPrefix = "stockflow-sink/v1 "

// tp is one partition of one topic.
type tp struct {
	topic     string
	partition int32
}

func (p tp) String() string { return p.topic + "/" + strconv.Itoa(int(p.partition)) }

func lessTP(a, b tp) int {
	if c := strings.Compare(a.topic, b.topic); c != 0 {
		return c
	}
	return int(a.partition) - int(b.partition)
}

// intent describes a batch cut from one partition: every record from the
// group's committed offset through end (the last record in hand when it was
// cut, which may be a transaction marker), and the offsets of its first and
// last data record, which name its inserts. first and last are -1 when the
// batch holds no data record.
type intent struct {
	end, first, last int64
}

// metadata renders the intent as offset-commit metadata:
// "stockflow-sink/v1 end=<E> data=<first>-<last>".
func (in intent) metadata() string {
	s := intentPrefix + "end=" + strconv.FormatInt(in.end, 10)
	if in.first >= 0 {
		s += " data=" + strconv.FormatInt(in.first, 10) + "-" + strconv.FormatInt(in.last, 10)
	}
	return s
}

// token is the insert_deduplication_token of every insert of the batch:
// <topic>-<partition>-<first>-<last>. ClickHouse keeps its deduplication
// log per table, so the tables a partition fans out to share it.
func (in intent) token(p tp) string {
	return fmt.Sprintf("%s-%d-%d-%d", p.topic, p.partition, in.first, in.last)
}

// parseIntent reads offset-commit metadata. Anything but an intent (empty
// metadata, the member id kgo writes by default, another tool's text) is
// no intent.
func parseIntent(md string) (intent, bool) {
	rest, ok := strings.CutPrefix(md, intentPrefix)
	if !ok {
		return intent{}, false
	}
	in := intent{end: -1, first: -1, last: -1}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "end":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return intent{}, false
			}
			in.end = n
		case "data":
			a, b, ok := strings.Cut(v, "-")
			first, err1 := strconv.ParseInt(a, 10, 64)
			last, err2 := strconv.ParseInt(b, 10, 64)
			if !ok || err1 != nil || err2 != nil || first < 0 || last < first {
				return intent{}, false
			}
			in.first, in.last = first, last
		}
	}
	if in.end < 0 || in.last > in.end {
		return intent{}, false
	}
	return in, true
}

// pendingIntent returns the intent recorded for p by an earlier run or
// member, if the group's commits carried one when p was assigned.
func (s *Sink) pendingIntent(p tp) (intent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.intents[p]
	return in, ok
}

func (s *Sink) setIntent(p tp, in intent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intents[p] = in
}

func (s *Sink) dropIntent(p tp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.intents, p)
}

// onOffsetsFetched records the intents found in the group's commits of newly
// assigned partitions, before any of their records is fetched. It runs in
// the group's goroutine.
func (s *Sink) onOffsetsFetched(_ context.Context, _ *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	type fetched struct {
		topic string
		parts []kmsg.OffsetFetchResponseGroupTopicPartition
	}
	var topics []fetched
	if len(resp.Groups) > 0 {
		for _, t := range resp.Groups[0].Topics {
			topics = append(topics, fetched{t.Topic, t.Partitions})
		}
	} else {
		for _, t := range resp.Topics {
			var parts []kmsg.OffsetFetchResponseGroupTopicPartition
			for _, p := range t.Partitions {
				parts = append(parts, kmsg.OffsetFetchResponseGroupTopicPartition{
					Partition: p.Partition, Offset: p.Offset, Metadata: p.Metadata, ErrorCode: p.ErrorCode,
				})
			}
			topics = append(topics, fetched{t.Topic, parts})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range topics {
		if t.topic == "" {
			// kgo resolves topic ids to names before this hook; a partition
			// it could not resolve is not consumed either.
			s.log.Error("offset fetch response without a topic name; pending batches of its partitions cannot be resumed")
			continue
		}
		for _, p := range t.parts {
			key := tp{t.topic, p.Partition}
			delete(s.intents, key)
			if p.ErrorCode != 0 || p.Offset < 0 || p.Metadata == nil {
				continue
			}
			if in, ok := parseIntent(*p.Metadata); ok && in.end >= p.Offset {
				s.intents[key] = in
				s.log.Info("pending batch found in the group's commits; it is cut again as it was",
					"topic", t.topic, "partition", p.Partition, "from", p.Offset, "to", in.end)
			}
		}
	}
	return nil
}

// forget drops the intents of partitions this member no longer owns.
func (s *Sink) forget(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range lost {
		for _, p := range ps {
			delete(s.intents, tp{t, p})
		}
	}
}

// commit commits offsets for the group, with metadata[p] as the commit
// metadata of partition p (empty when absent). It returns the partitions the
// broker refused, with their errors, or an error when the request as a whole
// failed.
func (s *Sink) commit(ctx context.Context, offsets map[tp]kgo.EpochOffset, metadata map[tp]string) (map[tp]error, error) {
	if len(offsets) == 0 {
		return nil, nil
	}
	byTopic := make(map[string]map[int32]kgo.EpochOffset)
	for p, o := range offsets {
		if byTopic[p.topic] == nil {
			byTopic[p.topic] = make(map[int32]kgo.EpochOffset)
		}
		byTopic[p.topic][p.partition] = o
	}
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				md := metadata[tp{t.Topic, t.Partitions[j].Partition}]
				t.Partitions[j].Metadata = &md
			}
		}
		return nil
	})
	var (
		refused map[tp]error
		rerr    error
	)
	s.cl.CommitOffsetsSync(ctx, byTopic, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		names := make(map[[16]byte]string, len(req.Topics))
		for _, t := range req.Topics {
			names[t.TopicID] = t.Topic
		}
		answered := 0
		for _, t := range resp.Topics {
			name := t.Topic
			if name == "" { // v10+ answers by topic id
				name = names[t.TopicID]
			}
			for _, p := range t.Partitions {
				answered++
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					if refused == nil {
						refused = make(map[tp]error)
					}
					refused[tp{name, p.Partition}] = err
				}
			}
		}
		if answered != len(offsets) {
			rerr = fmt.Errorf("offset commit answered %d of %d partitions", answered, len(offsets))
		}
	})
	return refused, rerr
}
