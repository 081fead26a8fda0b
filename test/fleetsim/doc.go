// Package fleetsim simulates a fleet of arcanos agents in one process, to
// measure one controller under many of them. Every simulated agent has its own
// key and client certificate (enrolled through the controller's Enroll RPC
// with a single-use token, or signed directly by the controller's CA), its own
// TCP connection and its own Connect stream. It says hello, sends heartbeats,
// and answers every RunCommand the way a real agent does: a PhaseReport per
// phase as each completes, then the RunReport, each kept until the controller
// acknowledges it. The answer is a real host's dry-run result, recorded once
// from `arcanos-agent purge --dry-run -o json` (testdata/web-1.dryrun.json).
//
// The simulator meets the controller only on the wire: it starts the real
// arcanos-controller binary (Controller), drives it as an operator through
// ControlService with the first operator's certificate (Operator), and Bench
// runs the whole measurement in one go. cmd/fleetsim is its command line,
// used by scripts/bench-fleet.sh.
package fleetsim
