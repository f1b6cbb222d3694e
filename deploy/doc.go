// Package deploy holds no Go code of its own: it tests the deployment files
// kept under deploy/ and at the repository root (docker-compose.yml, the
// Dockerfile, Grafana provisioning) so a broken stack fails `go test`. It
// must not be imported.
package deploy
