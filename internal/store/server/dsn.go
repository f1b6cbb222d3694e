package server

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/tlsfile"
)

// ParseDSN parses a connection string into Options:
//
//	clickhouse://user:password@host1:9000,host2:9000/database?secure=true
//
// The scheme is clickhouse:// (or tcp://). The port defaults to 9000, or
// 9440 with secure=true. Query options: secure (TLS), skip_verify (TLS
// without certificate checks, for tests), ca_file (a PEM bundle of the
// authorities to trust instead of the system roots), cert_file and
// key_file (a client certificate for mutual TLS), server_name (the name
// the server certificate is checked against) — each of the last four
// implies secure — max_open_conns, max_idle_conns,
// dial_timeout, read_timeout, conn_max_lifetime (Go durations such as
// "5s"), retries, retry_backoff. Unknown options are an error, so a typo
// does not pass silently.
func ParseDSN(dsn string) (Options, error) {
	var o Options
	rest, ok := cutScheme(dsn)
	if !ok {
		return o, fmt.Errorf("clickhouse dsn: want clickhouse://user:password@host:port/database")
	}
	var query string
	rest, query, _ = strings.Cut(rest, "?")
	hostPart, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(hostPart[:at], ":")
		var err error
		if o.Username, err = url.PathUnescape(user); err != nil {
			return o, fmt.Errorf("clickhouse dsn: user: %w", err)
		}
		if hasPass {
			if o.Password, err = url.PathUnescape(pass); err != nil {
				return o, fmt.Errorf("clickhouse dsn: password is not URL-escaped correctly")
			}
		}
		hostPart = hostPart[at+1:]
	}
	db, err := url.PathUnescape(strings.TrimSuffix(path, "/"))
	if err != nil {
		return o, fmt.Errorf("clickhouse dsn: database: %w", err)
	}
	o.Database = db
	values, err := url.ParseQuery(query)
	if err != nil {
		return o, fmt.Errorf("clickhouse dsn: options: %w", err)
	}
	secure, skipVerify := false, false
	var tf tlsfile.Config
	for key, vals := range values {
		v := vals[len(vals)-1]
		var err error
		switch key {
		case "secure":
			secure, err = strconv.ParseBool(v)
		case "skip_verify":
			skipVerify, err = strconv.ParseBool(v)
		case "ca_file":
			tf.CAFile, secure = v, true
		case "cert_file":
			tf.CertFile, secure = v, true
		case "key_file":
			tf.KeyFile, secure = v, true
		case "server_name":
			tf.ServerName, secure = v, true
		case "max_open_conns":
			o.MaxOpenConns, err = strconv.Atoi(v)
		case "max_idle_conns":
			o.MaxIdleConns, err = strconv.Atoi(v)
		case "retries":
			o.Retries, err = strconv.Atoi(v)
		case "dial_timeout":
			o.DialTimeout, err = time.ParseDuration(v)
		case "read_timeout":
			o.ReadTimeout, err = time.ParseDuration(v)
		case "conn_max_lifetime":
			o.ConnMaxLifetime, err = time.ParseDuration(v)
		case "retry_backoff":
			o.RetryBackoff, err = time.ParseDuration(v)
		default:
			return o, fmt.Errorf("clickhouse dsn: unknown option %q", key)
		}
		if err != nil {
			return o, fmt.Errorf("clickhouse dsn: option %s: %w", key, err)
		}
	}
	port := "9000"
	if secure || skipVerify {
		port = "9440"
		tf.InsecureSkipVerify = skipVerify
		if o.TLS, err = tf.Load(); err != nil {
			return o, fmt.Errorf("clickhouse dsn: %w", err)
		}
	}
	for _, h := range strings.Split(hostPart, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), port)
		}
		o.Addr = append(o.Addr, h)
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("clickhouse dsn: %w", err)
	}
	return o, nil
}

func cutScheme(dsn string) (string, bool) {
	for _, s := range []string{"clickhouse://", "tcp://"} {
		if rest, ok := strings.CutPrefix(dsn, s); ok {
			return rest, true
		}
	}
	return "", false
}

// String renders the options as a DSN with the password hidden, for logs.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("clickhouse://")
	if o.Username != "" {
		b.WriteString(url.PathEscape(o.Username))
		if o.Password != "" {
			b.WriteString(":***")
		}
		b.WriteByte('@')
	}
	b.WriteString(strings.Join(o.Addr, ","))
	if o.Database != "" {
		b.WriteString("/" + o.Database)
	}
	if o.TLS != nil {
		b.WriteString("?secure=true")
	}
	return b.String()
}
