package main

import "testing"

// The policy commands print rabbitmqctl 3.10.8's banners, table and errors
// and exit with its codes (checked against a RabbitMQ 3.10.8 node's
// rabbitmqctl).
func TestPolicyCommands(t *testing.T) {
	b, env := broker(t)
	steps := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"set_policy", "--priority", "2", "--apply-to", "queues", "len", "^q", `{"max-length":5}`}, 0,
			"Setting policy \"len\" for pattern \"^q\" to \"{\"max-length\":5}\" with priority \"2\" for vhost \"/\" ...\n", ""},
		{[]string{"set_policy", "ae", ".*", `{"alternate-exchange":"ae"}`}, 0,
			"Setting policy \"ae\" for pattern \".*\" to \"{\"alternate-exchange\":\"ae\"}\" with priority \"0\" for vhost \"/\" ...\n", ""},
		{[]string{"list_policies"}, 0,
			"Listing policies for vhost \"/\" ...\nvhost\tname\tpattern\tapply-to\tdefinition\tpriority\n/\tae\t.*\tall\t{\"alternate-exchange\":\"ae\"}\t0\n/\tlen\t^q\tqueues\t{\"max-length\":5}\t2\n", ""},
		{[]string{"set_policy", "bad", ".*", `{"ha-mode":"all","foo":1,"bar":"x"}`}, 69,
			"Setting policy \"bad\" for pattern \".*\" to \"{\"ha-mode\":\"all\",\"foo\":1,\"bar\":\"x\"}\" with priority \"0\" for vhost \"/\" ...\n",
			"Error:\nValidation failed\n\n[{<<\"bar\">>,<<\"x\">>},{<<\"foo\">>,1}] are not recognised policy settings\n\n"},
		{[]string{"set_policy", "bad", "a)", `{"max-length":1}`}, 69,
			"Setting policy \"bad\" for pattern \"a)\" to \"{\"max-length\":1}\" with priority \"0\" for vhost \"/\" ...\n",
			"Error:\nValidation failed\n\npattern should be regular expression but is invalid: {\"unmatched parentheses\",\n                                                      1}\n\n"},
		{[]string{"set_policy", "bad", ".*", `{bad`}, 69,
			"Setting policy \"bad\" for pattern \".*\" to \"{bad\" with priority \"0\" for vhost \"/\" ...\n",
			"Error:\nJSON decoding error. Reason: badarg\n"},
		{[]string{"set_policy", "bad", "(", `{"max-length":1}`}, 69,
			"Setting policy \"bad\" for pattern \"(\" to \"{\"max-length\":1}\" with priority \"0\" for vhost \"/\" ...\n",
			"Error:\nValidation failed\n\npattern should be regular expression but is invalid: {\"missing )\",1}\n\n"},
		{[]string{"set_policy", "-p", "/nope", "p", ".*", `{"max-length":1}`}, 65,
			"Setting policy \"p\" for pattern \".*\" to \"{\"max-length\":1}\" with priority \"0\" for vhost \"/nope\" ...\n",
			"Virtual host '/nope' does not exist\n"},
		{[]string{"set_policy", "--apply-to", "queues", "list_policies"}, 64, "", ""},
		{[]string{"list_policies", "--priority", "1"}, 64, "", ""},
		{[]string{"clear_policy", "len"}, 0, "Clearing policy \"len\" on vhost \"/\" ...\n", ""},
		{[]string{"clear_policy", "len"}, 69, "Clearing policy \"len\" on vhost \"/\" ...\n", "Error:\nParameter does not exist\n"},
		{[]string{"clear_policy", "-p", "/nope", "len"}, 69, "Clearing policy \"len\" on vhost \"/nope\" ...\n", "Error:\nParameter does not exist\n"},
		{[]string{"list_policies", "-p", "/nope"}, 65, "Listing policies for vhost \"/nope\" ...\n", "Virtual host '/nope' does not exist\n"},
	}
	for _, s := range steps {
		r := ctl(env, s.args...)
		if r.code != s.code || r.stdout != s.stdout || (s.code != 64 && r.stderr != s.stderr) {
			t.Errorf("beatmqctl %q:\ncode %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", s.args, r.code, s.code, r.stdout, s.stdout, r.stderr, s.stderr)
		}
	}
	if ps := b.Policies("/"); len(ps) != 1 || ps[0].Name != "ae" {
		t.Fatalf("policies left: %+v", ps)
	}
}
