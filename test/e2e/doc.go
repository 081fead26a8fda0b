// Package e2e holds the fleet's end-to-end tests: the real
// arcanos-controller, arcanos-agent and arcanosctl binaries, built once by
// TestMain, run as real processes. Every test starts its own controller on a
// temporary data directory and its own agents, each agent in a PID namespace
// of its own (unshare), and drives them with arcanosctl as an operator
// would. The agents only ever run dry runs; real purges are requested only
// from agents whose settings refuse them.
package e2e
