package allowlist

import "testing"

func TestMatchService(t *testing.T) {
	a := mustParse(t, `{"authorizedServices": [
		"nginx", "postgresql.service", "getty@.service", "backup.timer", "user@"]}`)
	tests := []struct {
		unit   string
		ok     bool
		reason string
	}{
		{"nginx.service", true, `matches authorizedServices[0] "nginx" as service`},
		{"nginx.socket", true, `matches authorizedServices[0] "nginx" as socket`},
		{"nginx.timer", true, `matches authorizedServices[0] "nginx" as timer`},
		{"nginx.path", true, `matches authorizedServices[0] "nginx" as path`},
		{"nginx", true, `matches authorizedServices[0] "nginx"`},
		{"nginx.mount", false, "not in authorizedServices"},
		{"nginx-debug.service", false, "not in authorizedServices"},
		{"postgresql.service", true, `matches authorizedServices[1] "postgresql.service"`},
		{"postgresql.socket", false, "not in authorizedServices"},
		{"postgresql@15-main.service", false, "not in authorizedServices"},
		{"getty@tty1.service", true, `matches authorizedServices[2] "getty@.service" as an instance of the template`},
		{"getty@.service", true, `matches authorizedServices[2] "getty@.service"`},
		{"getty@tty1.socket", false, "not in authorizedServices"},
		{"backup.timer", true, `matches authorizedServices[3] "backup.timer"`},
		{"backup.service", false, "not in authorizedServices"},
		{"user@1000.service", true, `matches authorizedServices[4] "user@" as an instance of the template`},
	}
	for _, tt := range tests {
		t.Run(tt.unit, func(t *testing.T) {
			ok, reason := a.MatchService(tt.unit)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("MatchService(%q) = %v, %q, want %v, %q", tt.unit, ok, reason, tt.ok, tt.reason)
			}
		})
	}
}
