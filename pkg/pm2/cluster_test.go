package pm2

import (
	"testing"
	"time"
)

// An app in cluster mode is one App per instance: the same Name and Daemon,
// its own PMID and PID. Callers that act once per app dedupe on
// (Daemon.Home, Name); Stop and Restart already act on every instance.
func TestAppsListsEachClusterInstanceAndStopStopsThemAll(t *testing.T) {
	b := newPM2Bed(t, -1, shortHome)
	if out, err := b.pm2(nil, "start", b.dir+"/app.js", "--name", "web", "-i", "2"); err != nil {
		t.Fatalf("pm2 start -i 2: %v\n%s", err, out)
	}
	b.start("solo")
	d := b.daemon()
	r := Runner{Timeout: time.Minute}

	apps, err := r.Apps(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	var web []App
	for _, a := range apps {
		if a.Name == "web" {
			web = append(web, a)
		}
	}
	if len(apps) != 3 || len(web) != 2 {
		t.Fatalf("apps = %+v, want two instances of web and solo", apps)
	}
	if web[0].PMID == web[1].PMID || web[0].PID == web[1].PID || web[0].Daemon != web[1].Daemon {
		t.Errorf("instances of web share an id or differ in daemon: %+v", web)
	}

	if err := r.Stop(t.Context(), d, "web"); err != nil {
		t.Fatalf("Stop(web): %v", err)
	}
	after, err := r.Apps(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	stopped := 0
	for _, a := range after {
		switch {
		case a.Name == "web" && a.Status == "stopped" && a.PID == 0:
			stopped++
		case a.Name == "solo" && a.Status != "online":
			t.Errorf("solo was stopped too: %+v", a)
		}
	}
	if stopped != 2 {
		t.Errorf("after Stop(web), %d of 2 instances are stopped: %+v", stopped, after)
	}
}
