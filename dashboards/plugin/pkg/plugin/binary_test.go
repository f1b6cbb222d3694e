package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// buildBinary builds cmd/gpx_stockflow as deploy/scripts/build-plugin.sh
// does (CGO_ENABLED=0) into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "gpx_stockflow")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", exe, "github.com/stockflow/stockflow/cmd/gpx_stockflow")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build gpx_stockflow (needs the go command): %v\n%s", err, out)
	}
	return exe
}

// handshake is Grafana's side of the plugin handshake: the SDK's protocol
// version and magic cookie.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  grpcplugin.ProtocolVersion,
	MagicCookieKey:   grpcplugin.MagicCookieKey,
	MagicCookieValue: grpcplugin.MagicCookieValue,
}

// handshakeLine starts the built binary with the magic cookie in its
// environment, as Grafana's plugin manager does, and reads the go-plugin
// handshake line it prints on stdout; without the cookie the binary
// refuses to run.
func handshakeLine(t *testing.T, exe string) {
	t.Run("handshake line", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(),
			grpcplugin.MagicCookieKey+"="+grpcplugin.MagicCookieValue,
			"PLUGIN_PROTOCOL_VERSIONS=2",
		)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("read the handshake line: %v", err)
		}
		// CORE-PROTOCOL-VERSION | APP-PROTOCOL-VERSION | NETWORK | ADDR | PROTOCOL
		parts := strings.Split(strings.TrimSpace(line), "|")
		if len(parts) < 5 || parts[0] != "1" || parts[1] != "2" || parts[2] != "unix" && parts[2] != "tcp" || parts[3] == "" || parts[4] != "grpc" {
			t.Fatalf("handshake line %q, want 1|2|unix or tcp|addr|grpc", line)
		}
	})

	t.Run("no cookie", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("started without the magic cookie: %s", out)
		}
		if !strings.Contains(string(out), "plugin") {
			t.Errorf("output %q does not say it is a plugin", out)
		}
	})
}

// TestBinary builds the real gpx_stockflow, checks its handshake line,
// then launches it through the go-plugin client with Grafana's handshake,
// dispenses the SDK's gRPC services and calls CheckHealth, QueryData,
// CallResource and RunStream on it against the real API over the embedded
// engine.
func TestBinary(t *testing.T) {
	exe := buildBinary(t)
	handshakeLine(t, exe)
	base := startAPI(t)

	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
		}},
		Cmd:              exec.Command(exe), //nolint:noctx // the client owns the process and kills it
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     time.Minute,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "gpx_stockflow", Level: hclog.Warn, Output: os.Stderr}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start gpx_stockflow through the plugin handshake: %v", err)
	}
	if v := client.NegotiatedVersion(); v != grpcplugin.ProtocolVersion {
		t.Fatalf("negotiated protocol %d, want %d", v, grpcplugin.ProtocolVersion)
	}
	dispense := func(name string) any {
		t.Helper()
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		return raw
	}
	diag, ok := dispense("diagnostics").(grpcplugin.DiagnosticsClient)
	if !ok {
		t.Fatal("diagnostics is not a DiagnosticsClient")
	}
	dataClient, ok := dispense("data").(grpcplugin.DataClient)
	if !ok {
		t.Fatal("data is not a DataClient")
	}
	resource, ok := dispense("resource").(grpcplugin.ResourceClient)
	if !ok {
		t.Fatal("resource is not a ResourceClient")
	}
	stream, ok := dispense("stream").(grpcplugin.StreamClient)
	if !ok {
		t.Fatal("stream is not a StreamClient")
	}

	pc := backend.PluginContext{
		PluginID: ID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: "stockflow", Type: ID, Name: "stockflow", URL: base,
			JSONData:                json.RawMessage(`{"streamIntervalSeconds":1}`),
			DecryptedSecureJSONData: map[string]string{"token": token},
			Updated:                 time.Unix(1700000000, 0),
		},
	}
	ppc := backend.ToProto().PluginContext(pc)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	t.Run("CheckHealth", func(t *testing.T) {
		res, err := diag.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: ppc})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != pluginv2.CheckHealthResponse_OK || !strings.Contains(res.Message, "stockflow v-plugin-test") {
			t.Fatalf("health %v %q", res.Status, res.Message)
		}
	})

	t.Run("QueryData", func(t *testing.T) {
		req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{
			{RefID: "S", QueryType: "stock_current", TimeRange: window, JSON: json.RawMessage(`{}`)},
			{RefID: "F", QueryType: "forecast_vs_actual", TimeRange: window, JSON: json.RawMessage(`{"sku":["A"],"warehouse":["W1"]}`)},
		}})
		protoRes, err := dataClient.QueryData(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		res, err := backend.FromProto().QueryDataResponse(protoRes)
		if err != nil {
			t.Fatal(err)
		}
		stock := res.Responses["S"]
		if stock.Error != nil || len(stock.Frames) != 1 {
			t.Fatalf("stock_current: %+v", stock)
		}
		if n, _ := stock.Frames[0].RowLen(); n != 3 || stock.Frames[0].Meta.Type != data.FrameTypeTable {
			t.Fatalf("stock_current: %d rows of %v, want the fixture's 3 in a table", n, stock.Frames[0].Meta.Type)
		}
		fc := res.Responses["F"]
		if fc.Error != nil || len(fc.Frames) != 1 {
			t.Fatalf("forecast_vs_actual: %+v", fc)
		}
		for _, name := range []string{"actual", "forecast", "lower", "upper"} {
			if _, i := fc.Frames[0].FieldByName(name); i < 0 {
				t.Errorf("forecast frame has no %s field", name)
			}
		}
	})

	t.Run("CallResource", func(t *testing.T) {
		rs, err := resource.CallResource(ctx, backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
			PluginContext: pc, Path: "warehouses", Method: "GET", URL: "warehouses?region=south",
		}))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var vals []MetricFindValue
		if msg.Code != 200 || json.Unmarshal(msg.Body, &vals) != nil || len(vals) != 1 || vals[0].Value != "W2" {
			t.Fatalf("resource warehouses?region=south: %d %s, want [W2]", msg.Code, msg.Body)
		}
	})

	t.Run("RunStream", func(t *testing.T) {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		sub, err := stream.SubscribeStream(sctx, backend.ToProto().SubscribeStreamRequest(&backend.SubscribeStreamRequest{PluginContext: pc, Path: "stock/sku/A"}))
		if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
			t.Fatalf("subscribe: %v %v", sub, err)
		}
		rs, err := stream.RunStream(sctx, backend.ToProto().RunStreamRequest(&backend.RunStreamRequest{PluginContext: pc, Path: "stock/sku/A"}))
		if err != nil {
			t.Fatal(err)
		}
		pk, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var frame data.Frame
		if err := json.Unmarshal(pk.Data, &frame); err != nil {
			t.Fatal(err)
		}
		if n, _ := frame.RowLen(); n != 2 || frame.Name != "stock" {
			t.Fatalf("stream frame %s with %d rows, want stock with A at W1 and W2", frame.Name, n)
		}
	})
}
