package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// RealBroker is an Apache Kafka broker of the test's own, started and
// stopped with the deploy scripts (kafka-start.sh, kafka-stop.sh,
// kafka-restart.sh) in a state directory of its own and on free ports, so
// that it can be stopped and restarted under a running pipeline without
// disturbing the broker other tests share.
type RealBroker struct {
	// Addr is host:port of the client listener.
	Addr     string
	scripts  string
	stateDir string
	port     int
	cport    int
}

// reservedPorts are the default ports of the shared test broker.
var reservedPorts = map[int]bool{39092: true, 39093: true}

// freePorts returns n distinct free loopback ports, none of reservedPorts.
func freePorts(n int) ([]int, error) {
	var (
		ls    []net.Listener
		ports []int
	)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		a, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return nil, fmt.Errorf("free port: listener address %v is not TCP", l.Addr())
		}
		if !reservedPorts[a.Port] {
			ports = append(ports, a.Port)
		}
	}
	return ports, nil
}

// StartRealBroker starts a fresh broker with kafka-start.sh from scripts
// (the deploy/scripts directory) in stateDir, on free ports.
func StartRealBroker(ctx context.Context, scripts, stateDir string) (*RealBroker, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	b := &RealBroker{scripts: scripts, stateDir: stateDir, port: ports[0], cport: ports[1]}
	addr, err := b.script(ctx, "kafka-start.sh", "KAFKA_PORT="+strconv.Itoa(b.port), "KAFKA_CONTROLLER_PORT="+strconv.Itoa(b.cport))
	if err != nil {
		return nil, err
	}
	b.Addr = addr
	return b, nil
}

// Stop stops the broker with kafka-stop.sh; keepState keeps its state
// directory (KAFKA_KEEP_STATE=1) for Restart.
func (b *RealBroker) Stop(ctx context.Context, keepState bool) error {
	keep := "KAFKA_KEEP_STATE=0"
	if keepState {
		keep = "KAFKA_KEEP_STATE=1"
	}
	_, err := b.script(ctx, "kafka-stop.sh", keep)
	return err
}

// Restart starts the stopped broker again from its kept state, on the same
// ports, with kafka-restart.sh.
func (b *RealBroker) Restart(ctx context.Context) error {
	addr, err := b.script(ctx, "kafka-restart.sh")
	if err != nil {
		return err
	}
	if addr != b.Addr {
		return fmt.Errorf("kafka-restart.sh: broker came back on %s, not %s", addr, b.Addr)
	}
	return nil
}

// LogTail returns the end of the broker's server log.
func (b *RealBroker) LogTail(n int) string {
	data, err := os.ReadFile(filepath.Join(b.stateDir, "logs", "server.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// script runs one of the broker scripts with the broker's settings and
// returns the address of a KAFKA_BROKERS= line it printed, if any.
func (b *RealBroker) script(ctx context.Context, name string, env ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(b.scripts, name)) //nolint:gosec // the repository's own script
	for _, kv := range os.Environ() {
		// The shared broker's settings must not leak into ours.
		if !strings.HasPrefix(kv, "KAFKA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "KAFKA_STATE_DIR="+b.stateDir)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s (state %s): %w\n%s", name, b.stateDir, err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "KAFKA_BROKERS="); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", nil
}
