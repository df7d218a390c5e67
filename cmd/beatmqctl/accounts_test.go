package main

import (
	"slices"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
)

// The user, vhost and permission commands print rabbitmqctl 3.10.8's
// banners, tables and errors and exit with its codes (checked against a
// RabbitMQ 3.10.8 node's rabbitmqctl).
func TestAccountCommands(t *testing.T) {
	b, env := broker(t)
	steps := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"add_user", "app", "pw"}, 0, "Adding user \"app\" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'rabbitmqctl help set_permissions' to learn more.\n", ""},
		{[]string{"add_user", "app", "pw"}, 70, "Adding user \"app\" ...\n", "Error:\nUser \"app\" already exists\n"},
		{[]string{"set_user_tags", "app", "management", "monitoring"}, 0, "Setting tags for user \"app\" to [management, monitoring] ...\n", ""},
		{[]string{"set_user_tags", "nobody", "x"}, 67, "Setting tags for user \"nobody\" to [x] ...\n", "Error:\nUser \"nobody\" does not exist\n"},
		{[]string{"change_password", "app", "new"}, 0, "Changing password for user \"app\" ...\n", ""},
		{[]string{"change_password", "nobody", "x"}, 67, "Changing password for user \"nobody\" ...\n", "Error:\nUser \"nobody\" does not exist\n"},
		{[]string{"list_users"}, 0, "Listing users ...\nuser\ttags\napp\t[management, monitoring]\nguest\t[administrator]\n", ""},
		{[]string{"add_vhost", "/x"}, 0, "Adding vhost \"/x\" ...\n", ""},
		{[]string{"add_vhost", "/x"}, 0, "Adding vhost \"/x\" ...\n", ""},
		{[]string{"list_vhosts"}, 0, "Listing vhosts ...\nname\n/\n/x\n", ""},
		{[]string{"set_permissions", "-p", "/x", "app", "^a", ".*", ""}, 0, "Setting permissions for user \"app\" in vhost \"/x\" ...\n", ""},
		{[]string{"set_permissions", "-p", "/nope", "app", "a", "b", "c"}, 69, "Setting permissions for user \"app\" in vhost \"/nope\" ...\n", "Error:\nVirtual host /nope does not exist\n"},
		{[]string{"set_permissions", "-p", "/x", "nobody", "a", "b", "c"}, 67, "Setting permissions for user \"nobody\" in vhost \"/x\" ...\n", "Error:\nUser nobody does not exist\n"},
		{[]string{"list_permissions", "-p", "/x"}, 0, "Listing permissions for vhost \"/x\" ...\nuser\tconfigure\twrite\tread\napp\t^a\t.*\t\n", ""},
		{[]string{"list_permissions", "-p", "/nope"}, 65, "Listing permissions for vhost \"/nope\" ...\n", "Virtual host '/nope' does not exist\n"},
		{[]string{"clear_permissions", "-p", "/x", "app"}, 0, "Clearing permissions for user \"app\" in vhost \"/x\" ...\n", ""},
		{[]string{"clear_permissions", "-p", "/x", "app"}, 0, "Clearing permissions for user \"app\" in vhost \"/x\" ...\n", ""},
		{[]string{"clear_permissions", "-p", "/x", "nobody"}, 67, "Clearing permissions for user \"nobody\" in vhost \"/x\" ...\n", "Error:\nUser nobody does not exist\n"},
		{[]string{"delete_vhost", "/x"}, 0, "Deleting vhost \"/x\" ...\n", ""},
		{[]string{"delete_vhost", "/x"}, 65, "Deleting vhost \"/x\" ...\n", "Virtual host '/x' does not exist\n"},
		{[]string{"delete_user", "app"}, 0, "Deleting user \"app\" ...\n", ""},
		{[]string{"delete_user", "app"}, 67, "Deleting user \"app\" ...\n", "Error:\nUser \"app\" does not exist\n"},
		{[]string{"add_user", "x"}, 64, "", ""},
	}
	for _, s := range steps {
		r := ctl(env, s.args...)
		if r.code != s.code || r.stdout != s.stdout || (s.code != 64 && r.stderr != s.stderr) {
			t.Errorf("beatmqctl %q:\ncode %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", s.args, r.code, s.code, r.stdout, s.stdout, r.stderr, s.stderr)
		}
	}
	// add_vhost leaves no permission behind, as rabbitmqctl's.
	if ps := b.Permissions(); len(ps) != 1 || ps[0] != (mgmt.Permission{User: "guest", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"}) {
		t.Fatalf("permissions left: %+v", ps)
	}
}

// change_password keeps the tags; set_user_tags keeps the password.
func TestChangePasswordKeepsTags(t *testing.T) {
	b, env := broker(t)
	b.AddUser("app", "old", "management")
	wantCode(t, ctl(env, "-q", "change_password", "app", "new"), 0)
	if tags, ok := b.Authenticate("app", "new"); !ok || !slices.Equal(tags, []string{"management"}) {
		t.Fatalf("after change_password: %v %v", tags, ok)
	}
	wantCode(t, ctl(env, "-q", "set_user_tags", "app", "administrator"), 0)
	if tags, ok := b.Authenticate("app", "new"); !ok || !slices.Equal(tags, []string{"administrator"}) {
		t.Fatalf("after set_user_tags: %v %v", tags, ok)
	}
	if r := ctl(env, "-q", "--formatter", "json", "list_users"); r.code != 0 || r.stdout == "" {
		t.Fatalf("list_users json: %+v", r)
	}
}
