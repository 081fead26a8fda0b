// Package systemde2e holds the end-to-end tests of arcanos as an operator
// installs it: the .deb packages and deploy/install.sh, installed into a
// container whose pid 1 is a real systemd (the arcanos-systemd-test image),
// running under the hardened units of deploy/systemd, enrolled with a real
// controller on this machine's loopback, and read back from journald.
//
// The package holds only tests; `go test ./test/systemd` runs them. They need
// root, Docker and the systemd test image (scripts/testbed-setup.sh).
package systemde2e
