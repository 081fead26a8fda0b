package redact

import (
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		in   string // arguments separated by '|'
		want string
	}{
		// Options with = and with the value in the next argument.
		{"password equals", "app|--password=hunter2", "app|--password=***"},
		{"password next arg", "app|--password|hunter2|--port|80", "app|--password|***|--port|80"},
		{"passwd", "app|--passwd=x", "app|--passwd=***"},
		{"pass", "app|--pass|x", "app|--pass|***"},
		{"token", "app|--token=abc", "app|--token=***"},
		{"secret", "app|--secret|s", "app|--secret|***"},
		{"api-key", "app|--api-key=k", "app|--api-key=***"},
		{"api_key underscore", "app|--api_key=k", "app|--api_key=***"},
		{"apikey", "app|--apikey|k", "app|--apikey|***"},
		{"access-key", "app|--access-key=k", "app|--access-key=***"},
		{"private-key", "app|--private-key|k", "app|--private-key|***"},
		{"auth", "app|--auth=user:pw", "app|--auth=***"},
		{"credentials", "app|--credentials|c", "app|--credentials|***"},
		{"case-insensitive", "app|--PASSWORD=x|--Api_Key|y", "app|--PASSWORD=***|--Api_Key|***"},
		{"compound names", "app|--db-password=x|--client-secret|y|--auth-token=z|--secret-access-key|w",
			"app|--db-password=***|--client-secret|***|--auth-token=***|--secret-access-key|***"},
		{"single-dash Go-style flag", "app|-token|abc|-v", "app|-token|***|-v"},
		{"java system property", "java|-Djavax.net.ssl.keyStorePassword=changeit|-jar|app.jar",
			"java|-Djavax.net.ssl.keyStorePassword=***|-jar|app.jar"},

		// mysql family: -pSECRET, -p prompts, --password without = prompts.
		{"mysql -p attached", "mysql|-u|root|-ps3cret|shop", "mysql|-u|root|-p***|shop"},
		{"mysql -p alone prompts, next is the database", "mysql|-u|root|-p|shop", "mysql|-u|root|-p|shop"},
		{"mysql --password alone prompts", "mysql|--password|shop", "mysql|--password|shop"},
		{"mysql --password=", "/usr/bin/mysqldump|--password=pw|db", "/usr/bin/mysqldump|--password=***|db"},
		{"mariadb", "mariadb|-pX", "mariadb|-p***"},
		{"mysqladmin after sudo", "sudo|mysqladmin|-pX|status", "sudo|mysqladmin|-p***|status"},
		{"mysql inside docker exec", "docker|exec|db|mysql|-pX", "docker|exec|db|mysql|-p***"},

		// sshpass, redis-cli, curl.
		{"sshpass -p next", "sshpass|-p|pw|ssh|host", "sshpass|-p|***|ssh|host"},
		{"sshpass -p attached", "sshpass|-ppw|ssh|host", "sshpass|-p***|ssh|host"},
		{"redis-cli -a", "redis-cli|-h|127.0.0.1|-a|pw|ping", "redis-cli|-h|127.0.0.1|-a|***|ping"},
		{"redis-cli --pass", "redis-cli|--pass|pw", "redis-cli|--pass|***"},
		{"curl -u keeps the user", "curl|-u|alice:pw|http://x", "curl|-u|alice:***|http://x"},
		{"curl -u attached", "curl|-ualice:pw", "curl|-ualice:***"},
		{"curl auth header", "curl|-H|Authorization: Bearer abc.def|https://api",
			"curl|-H|Authorization: Bearer ***|https://api"},
		{"api key header", "curl|--header|X-API-Key: k", "curl|--header|X-API-Key: ***"},
		{"openssl pass:", "openssl|pkcs12|-passin|pass:pw", "openssl|pkcs12|-passin|***"},
		{"openssl pass: elsewhere", "tool|pass:pw", "tool|pass:***"},

		// URLs.
		{"url userinfo", "psql|postgres://user:pw@db:5432/app", "psql|postgres://user:***@db:5432/app"},
		{"url userinfo inside an option", "app|--url=mysql://root:pw@localhost/db",
			"app|--url=mysql://root:***@localhost/db"},
		{"url password with @ and /", "app|redis://u:p@ss/w@host:6379/0", "app|redis://u:***@host:6379/0"},
		{"url empty user", "app|redis://:pw@host", "app|redis://:***@host"},
		{"url token as user", "git|clone|https://ghp_abcdef0123456789@github.com/o/r.git",
			"git|clone|https://***@github.com/o/r.git"},
		{"url query params", "app|https://h/p?token=t&page=2&sig=s&X-Amz-Signature=a&access_token=b#top",
			"app|https://h/p?token=***&page=2&sig=***&X-Amz-Signature=***&access_token=***#top"},
		{"url query key secret password", "app|http://h/?key=k&secret=s&password=p&user=bob",
			"app|http://h/?key=***&secret=***&password=***&user=bob"},
		{"url with @ in the query", "app|https://u:p@h/x?email=a@b.com",
			"app|https://u:***@h/x?email=a@b.com"},
		{"two urls in one arg", "app|a=http://u:p@h b=ftp://v:q@i", "app|a=http://u:***@h b=ftp://v:***@i"},
		{"url in env assignment", "env|DATABASE_URL=postgres://u:p@h/d|app", "env|DATABASE_URL=postgres://u:***@h/d|app"},

		// NAME=value.
		{"env password", "env|PASSWORD=x|MYSQL_ROOT_PASSWORD=y|app", "env|PASSWORD=***|MYSQL_ROOT_PASSWORD=***|app"},
		{"env token and keys", "env|GITHUB_TOKEN=a|API_KEY=b|AWS_SECRET_ACCESS_KEY=c|STRIPE_KEY=d",
			"env|GITHUB_TOKEN=***|API_KEY=***|AWS_SECRET_ACCESS_KEY=***|STRIPE_KEY=***"},
		{"env glued name", "env|PGPASSWORD=x|psql", "env|PGPASSWORD=***|psql"},
		{"env secret key base", "env|SECRET_KEY_BASE=x", "env|SECRET_KEY_BASE=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Split(tt.in, "|")
			orig := slices.Clone(in)
			got := strings.Join(Args(in), "|")
			if got != tt.want {
				t.Errorf("Args(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if !slices.Equal(in, orig) {
				t.Errorf("Args changed its input: %q", in)
			}
		})
	}
}

// TestArgsLeavesNonSecrets lists command lines that must come back unchanged.
func TestArgsLeavesNonSecrets(t *testing.T) {
	for _, in := range []string{
		"ssh|-p|2222|host",
		"nc|-p|3306|-l",
		"python3|-m|http.server|-p8080",
		"mysql|-P3306|-h|db|-p|shop",
		"mongod|--auth|--port|27017",
		"docker|login|--password-stdin|-u|bob",
		"app|--password-file=/run/secrets/db|--token-file|/run/t",
		"app|--no-password|--auth-type|basic",
		"app|--key|/etc/ssl/private/x.key|--cert|/etc/ssl/x.pem",
		"app|--authentication-database|admin",
		"redis-server|--port|6379",
		"env|SSH_AUTH_SOCK=/run/s|AWS_ACCESS_KEY_ID=AKIA|TOKEN_URL=https://h/t|PASSWORD_FILE=/f|x",
		"env|HOME=/root|PATH=/usr/bin|LANG=C",
		"git|clone|ssh://git@github.com/o/r.git",
		"curl|https://user@example.com/?page=2&sort=key",
		"nginx: master process /usr/sbin/nginx -g daemon off;",
		"app|--password=",
		"app|--password",
		"app|--token|--verbose",
		"grep|-r|password|/etc",
		"sshpass|-e|ssh|host",
		"a|:// not a url|--x=1",
		"curl|https://h/@user|http://h:8080/p|https://h/p?q=a@b",
		"curl|-H|Accept: application/json",
		"",
	} {
		args := strings.Split(in, "|")
		if got := strings.Join(Args(args), "|"); got != in {
			t.Errorf("Args(%s) = %s, want unchanged", in, got)
		}
	}
	if got := Args(nil); len(got) != 0 {
		t.Errorf("Args(nil) = %q", got)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"mysql", "-uroot", "-ppw", "shop"}, "mysql -uroot -p*** shop"},
		{[]string{"app", "--password", "a b"}, "app --password ***"},
		{[]string{"sh", "-c", "echo 'hi' && ls"}, `sh -c 'echo '\''hi'\'' && ls'`},
		{[]string{"x", "", "a=b", "/usr/bin/x", "*.log"}, "x '' a=b /usr/bin/x *.log"},
		{[]string{"x", "line\nforged", "tab\there", "\xff"}, `x $'line\nforged' $'tab\there' $'\xff'`},
		{[]string{"echo", "héllo wörld"}, "echo 'héllo wörld'"},
		{[]string{"x", "it's\n"}, `x $'it\'s\n'`},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzArgs(f *testing.F) {
	f.Add("mysql\x00-ppw\x00postgres://u:p@h/?token=x")
	f.Add("curl\x00-u\x00a:b\x00-H\x00Authorization: Bearer x")
	f.Add("://@?&=")
	f.Fuzz(func(t *testing.T, s string) {
		in := strings.Split(s, "\x00")
		out := Args(in)
		if len(out) != len(in) {
			t.Fatalf("Args changed the count: %d -> %d", len(in), len(out))
		}
		_ = String(in)
	})
}
