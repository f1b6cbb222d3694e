package deploy

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeFile = "../docker-compose.yml"

// loadCompose loads docker-compose.yml the way `docker compose` does:
// schema validation, interpolation of ${VAR:-default} with an empty
// environment, merge keys, normalisation, all profiles enabled.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory(".."),
		cli.WithEnv(nil),
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	want := []string{"clickhouse", "grafana", "kafka", "migrate", "simulate", "stockflow-process", "stockflow-serve"}
	got := p.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
}

func TestComposeStockflowServices(t *testing.T) {
	p := loadCompose(t)
	tests := []struct {
		name     string
		command  []string
		replicas int
		profile  string
		health   bool
	}{
		{
			name:     "stockflow-process",
			command:  []string{"process", "--brokers", "kafka:9092", "--clickhouse", "clickhouse://default:@clickhouse:9000/stockflow"},
			replicas: 2,
			health:   true,
		},
		{name: "stockflow-serve", command: []string{"serve", "--clickhouse", "clickhouse://default:@clickhouse:9000/stockflow"}, replicas: 1, health: true},
		{name: "simulate", command: []string{"simulate", "--brokers", "kafka:9092", "--clickhouse", "clickhouse://default:@clickhouse:9000/stockflow"}, replicas: 1, profile: "simulate"},
		{name: "migrate", command: []string{"migrate", "--brokers", "kafka:9092", "--clickhouse", "clickhouse://default:@clickhouse:9000/stockflow"}, replicas: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := service(t, p, tt.name)
			if !slices.Equal([]string(s.Command), tt.command) {
				t.Errorf("command = %q, want %q", s.Command, tt.command)
			}
			if got := s.GetScale(); got != tt.replicas {
				t.Errorf("replicas = %d, want %d", got, tt.replicas)
			}
			if tt.profile != "" && !slices.Contains(s.Profiles, tt.profile) {
				t.Errorf("profiles = %v, want %q among them", s.Profiles, tt.profile)
			}
			if tt.profile == "" && len(s.Profiles) > 0 {
				t.Errorf("profiles = %v, want the service in the default stack", s.Profiles)
			}
			if s.Build == nil {
				t.Fatal("no build section")
			}
			dockerfile := filepath.Join(s.Build.Context, s.Build.Dockerfile)
			if _, err := os.Stat(dockerfile); err != nil {
				t.Errorf("dockerfile: %v", err)
			}
			healthy := s.HealthCheck != nil && !s.HealthCheck.Disable && len(s.HealthCheck.Test) > 0
			if healthy != tt.health {
				t.Errorf("health check enabled = %t, want %t", healthy, tt.health)
			}
		})
	}
}

func TestComposeInfrastructure(t *testing.T) {
	p := loadCompose(t)
	images := map[string]string{
		"kafka":      "apache/kafka:4.",
		"clickhouse": "clickhouse/clickhouse-server:",
		"grafana":    "stockflow-grafana:", // FROM grafana/grafana (TestDockerfileGrafana)
	}
	for name, prefix := range images {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			if !strings.HasPrefix(s.Image, prefix) {
				t.Errorf("image = %q, want %s…", s.Image, prefix)
			}
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
				t.Error("no health check")
			}
			hasVolume := false
			for _, v := range s.Volumes {
				hasVolume = hasVolume || v.Type == types.VolumeTypeVolume
			}
			if !hasVolume {
				t.Error("no named volume for its data")
			}
		})
	}
}

// TestComposeKafkaKRaft checks the broker runs in KRaft combined mode with a
// cluster id the storage formatter accepts (16 bytes, URL-safe base64).
func TestComposeKafkaKRaft(t *testing.T) {
	p := loadCompose(t)
	env := service(t, p, "kafka").Environment
	get := func(k string) string {
		if v, ok := env[k]; ok && v != nil {
			return *v
		}
		return ""
	}
	if got := get("KAFKA_PROCESS_ROLES"); got != "broker,controller" {
		t.Errorf("KAFKA_PROCESS_ROLES = %q, want broker,controller", got)
	}
	if !strings.Contains(get("KAFKA_ADVERTISED_LISTENERS"), "kafka:9092") {
		t.Errorf("KAFKA_ADVERTISED_LISTENERS = %q, want kafka:9092 for the other services", get("KAFKA_ADVERTISED_LISTENERS"))
	}
	id, err := base64.RawURLEncoding.DecodeString(get("CLUSTER_ID"))
	if err != nil || len(id) != 16 {
		t.Errorf("CLUSTER_ID = %q is not 16 bytes of URL-safe base64 (err %v)", get("CLUSTER_ID"), err)
	}
	if got := get("KAFKA_AUTO_CREATE_TOPICS_ENABLE"); got != "false" {
		t.Errorf("KAFKA_AUTO_CREATE_TOPICS_ENABLE = %q, want false: stockflow creates its topics", got)
	}
}

// TestComposePortsLoopback keeps every published port on 127.0.0.1: the
// stack runs without passwords.
func TestComposePortsLoopback(t *testing.T) {
	p := loadCompose(t)
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s:%d on %q, want 127.0.0.1", name, port.Published, port.Target, port.HostIP)
			}
		}
	}
}

func TestComposeGrafanaProvisioning(t *testing.T) {
	p := loadCompose(t)
	g := service(t, p, "grafana")
	var source, dashboards string
	for _, v := range g.Volumes {
		switch v.Target {
		case "/etc/grafana/provisioning":
			source = v.Source
		case "/etc/grafana/dashboards/stockflow":
			dashboards = v.Source
		}
	}
	if source == "" {
		t.Fatal("no provisioning mounted at /etc/grafana/provisioning")
	}
	// The dashboards provider reads the folder the dashboards are mounted
	// at, and the folder holds the generated dashboards.
	prov, err := os.ReadFile(filepath.Join(source, "dashboards", "stockflow.yml"))
	if err != nil {
		t.Fatalf("dashboards provider: %v", err)
	}
	if !strings.Contains(string(prov), "path: /etc/grafana/dashboards/stockflow") {
		t.Error("dashboards/stockflow.yml does not read /etc/grafana/dashboards/stockflow")
	}
	if files, _ := filepath.Glob(filepath.Join(dashboards, "*.json")); len(files) == 0 {
		t.Errorf("no dashboards in %q mounted at /etc/grafana/dashboards/stockflow", dashboards)
	}
	// The stockflow data source: the plugin built into the image, allowed
	// unsigned, pointed at the serve service with the token serve checks.
	if g.Build == nil || filepath.Base(g.Build.Dockerfile) != "Dockerfile.grafana" {
		t.Errorf("grafana is not built from deploy/docker/Dockerfile.grafana: %+v", g.Build)
	}
	env := func(svc types.ServiceConfig, k string) string {
		if v, ok := svc.Environment[k]; ok && v != nil {
			return *v
		}
		return ""
	}
	if got := env(g, "GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"); got != "stockflow-inventory-datasource" {
		t.Errorf("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS = %q", got)
	}
	if got := env(g, "STOCKFLOW_API_URL"); got != "http://stockflow-serve:8686" {
		t.Errorf("STOCKFLOW_API_URL = %q, want the serve service", got)
	}
	if a, b := env(g, "STOCKFLOW_API_TOKEN"), env(service(t, p, "stockflow-serve"), "STOCKFLOW_API_TOKEN"); a == "" || a != b {
		t.Errorf("Grafana's API token %q differs from serve's %q", a, b)
	}
	b, err := os.ReadFile(filepath.Join(source, "datasources", "clickhouse.yml"))
	if err != nil {
		t.Fatalf("ClickHouse data source: %v", err)
	}
	for _, want := range []string{"type: grafana-clickhouse-datasource", "host: clickhouse", "defaultDatabase: stockflow"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("datasources/clickhouse.yml lacks %q", want)
		}
	}
}

// TestDockerfileGrafana checks the Grafana image: Grafana OSS with the
// plugin's frontend and backend, the dashboards and the provisioning, the
// plugin allowed unsigned, running as Grafana's own non-root user.
func TestDockerfileGrafana(t *testing.T) {
	b, err := os.ReadFile("docker/Dockerfile.grafana")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM grafana/grafana:", "node build.mjs", "./cmd/gpx_stockflow", "gpx_stockflow_${TARGETOS}_${TARGETARCH}",
		"CGO_ENABLED=0", "GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=stockflow-inventory-datasource",
		"COPY dashboards/json /etc/grafana/dashboards/stockflow", "COPY deploy/grafana/provisioning /etc/grafana/provisioning", "USER 472"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile.grafana lacks %q", want)
		}
	}
	ignore, err := os.ReadFile("docker/Dockerfile.grafana.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ignore), "dashboards/plugin/node_modules") {
		t.Error("Dockerfile.grafana.dockerignore sends dashboards/plugin/node_modules (560 MB) to the build")
	}
}

// TestDockerfile checks the properties the image promises: a static build
// and a non-root user.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/stockflow", "USER nonroot", "distroless/static"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
