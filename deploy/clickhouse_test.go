package deploy

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type chConfig struct {
	Clusters struct {
		Stockflow struct {
			Shards []struct {
				InternalReplication bool `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port int    `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:"stockflow"`
	} `xml:"remote_servers"`
	Keeper []struct {
		Host string `xml:"host"`
	} `xml:"zookeeper>node"`
	Macros struct {
		Cluster string `xml:"cluster"`
		Shard   string `xml:"shard"`
		Replica string `xml:"replica"`
	} `xml:"macros"`
}

func readCH(t *testing.T, path string) chConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("clickhouse", path))
	if err != nil {
		t.Fatal(err)
	}
	var c chConfig
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// TestClickHouseClusterConfig checks the sample cluster under
// deploy/clickhouse: 2 shards x 2 replicas with internal replication, a
// 3-node Keeper, and each server's macros naming the shard it is in.
func TestClickHouseClusterConfig(t *testing.T) {
	c := readCH(t, "config.d/cluster.xml")
	shards := c.Clusters.Stockflow.Shards
	if len(shards) != 2 {
		t.Fatalf("cluster stockflow has %d shards, want 2", len(shards))
	}
	if len(c.Keeper) != 3 {
		t.Errorf("%d Keeper nodes, want 3", len(c.Keeper))
	}
	for i, s := range shards {
		if !s.InternalReplication {
			t.Errorf("shard %d: internal_replication must be true with Replicated tables (else the Distributed table writes every replica, and deduplicates nothing)", i+1)
		}
		if len(s.Replicas) != 2 {
			t.Errorf("shard %d has %d replicas, want 2", i+1, len(s.Replicas))
		}
		for _, r := range s.Replicas {
			host := strings.SplitN(r.Host, ".", 2)[0]
			m := readCH(t, "config.d/macros-"+host+".xml").Macros
			if m.Shard != "0"+string(rune('1'+i)) || m.Replica != host || m.Cluster != "stockflow" {
				t.Errorf("%s is in shard %d but its macros say %+v", host, i+1, m)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join("clickhouse", "users.d", "stockflow.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var users struct {
		Foreground int    `xml:"profiles>stockflow>distributed_foreground_insert"`
		Dedup      int    `xml:"profiles>stockflow>insert_deduplicate"`
		Password   string `xml:"users>stockflow>password_sha256_hex"`
	}
	if err := xml.Unmarshal(b, &users); err != nil {
		t.Fatal(err)
	}
	if users.Foreground != 1 || users.Dedup != 1 {
		t.Errorf("profile stockflow: distributed_foreground_insert=%d insert_deduplicate=%d, want 1 and 1", users.Foreground, users.Dedup)
	}
	if !strings.Contains(users.Password, "CHANGE_ME") {
		t.Errorf("users.d/stockflow.xml holds a password hash, not a placeholder")
	}
}
