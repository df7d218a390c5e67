package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// rabbitmqctl's exit code for an unknown user (EX_NOUSER).
const exitNoUser = 67

// The user, vhost and permission commands, with rabbitmqctl 3.10's
// banners, table layouts, error texts and exit codes, over the management
// API's /api/users, /api/vhosts and /api/permissions.

// wantArgs checks the argument count of a command.
func wantArgs(cmd, what string, args []string, n int) error {
	if len(args) != n {
		return errorf(exitUsage, "%s takes %s (got %d arguments)", cmd, what, len(args))
	}
	return nil
}

// userExists tells whether the broker has the user called name.
func userExists(e *env, name string) (bool, error) {
	st, _, err := e.api.do(http.MethodGet, "/api/users/"+url.PathEscape(name), nil, nil, "-")
	if st == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// noUser is rabbitmqctl's answer for an unknown user.
func noUser(name string) error {
	return errorf(exitNoUser, "User \"%s\" does not exist", name)
}

// noVHost is rabbitmqctl's answer for an unknown vhost in delete_vhost and
// list_permissions: no "Error:" line, exit 65.
func noVHost(name string) error {
	return &cliError{code: exitDataErr, msg: fmt.Sprintf("Virtual host '%s' does not exist", name), bare: true}
}

// The answers of set_permissions and clear_permissions: the names
// unquoted, exit 67 for the user and 69 for the vhost.
func permNoUser(name string) error { return errorf(exitNoUser, "User %s does not exist", name) }
func permNoVHost(name string) error {
	return errorf(exitUnavailable, "Virtual host %s does not exist", name)
}

// putUser PUTs the user with body.
func putUser(e *env, name string, body map[string]any) error {
	b, _ := json.Marshal(body)
	_, _, err := e.api.do(http.MethodPut, "/api/users/"+url.PathEscape(name), nil, b, "")
	return err
}

// getUser reads one user from the API.
func getUser(e *env, name string) (map[string]any, error) {
	var u map[string]any
	err := e.api.getJSON("/api/users/"+url.PathEscape(name), &u, "-")
	if ce, ok := err.(*cliError); ok && ce.code == exitNotFound {
		return nil, noUser(name)
	}
	return u, err
}

// tagsOf returns a user's tags as the API shows them.
func tagsOf(u map[string]any) []string {
	var out []string
	switch t := u["tags"].(type) {
	case []any:
		for _, v := range t {
			out = append(out, text(v))
		}
	case string:
		for _, v := range strings.Split(t, ",") {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// cmdAddUser is rabbitmqctl add_user <username> <password>.
func cmdAddUser(e *env, args []string) error {
	if err := wantArgs("add_user", "<username> <password>", args, 2); err != nil {
		return err
	}
	name := args[0]
	e.banner("Adding user \"%s\" ...", name)
	exists, err := userExists(e, name)
	if err != nil {
		return err
	}
	if exists {
		return errorf(exitSoftware, "User \"%s\" already exists", name)
	}
	if err := putUser(e, name, map[string]any{"password": args[1], "tags": []string{}}); err != nil {
		return err
	}
	e.banner("Done. Don't forget to grant the user permissions to some virtual hosts! See 'rabbitmqctl help set_permissions' to learn more.")
	return nil
}

// cmdDeleteUser is rabbitmqctl delete_user <username>.
func cmdDeleteUser(e *env, args []string) error {
	if err := wantArgs("delete_user", "<username>", args, 1); err != nil {
		return err
	}
	e.banner("Deleting user \"%s\" ...", args[0])
	_, _, err := e.api.do(http.MethodDelete, "/api/users/"+url.PathEscape(args[0]), nil, nil, "-")
	if ce, ok := err.(*cliError); ok && ce.code == exitNotFound {
		return noUser(args[0])
	}
	return err
}

// cmdChangePassword is rabbitmqctl change_password <username> <password>.
func cmdChangePassword(e *env, args []string) error {
	if err := wantArgs("change_password", "<username> <password>", args, 2); err != nil {
		return err
	}
	e.banner("Changing password for user \"%s\" ...", args[0])
	u, err := getUser(e, args[0])
	if err != nil {
		return err
	}
	return putUser(e, args[0], map[string]any{"password": args[1], "tags": tagsOf(u)})
}

// cmdSetUserTags is rabbitmqctl set_user_tags <username> <tag> [...].
func cmdSetUserTags(e *env, args []string) error {
	if len(args) < 1 {
		return errorf(exitUsage, "set_user_tags takes <username> <tag> [...] (got 0 arguments)")
	}
	name, tags := args[0], args[1:]
	e.banner("Setting tags for user \"%s\" to [%s] ...", name, strings.Join(tags, ", "))
	u, err := getUser(e, name)
	if err != nil {
		return err
	}
	body := map[string]any{"password_hash": text(u["password_hash"]), "tags": append([]string{}, tags...)}
	return putUser(e, name, body)
}

// cmdListUsers is rabbitmqctl list_users.
func cmdListUsers(e *env, args []string) error {
	if err := wantArgs("list_users", "no arguments", args, 0); err != nil {
		return err
	}
	var users []map[string]any
	if err := e.api.getJSON("/api/users", &users, ""); err != nil {
		return err
	}
	e.banner("Listing users ...")
	rows := make([]map[string]any, 0, len(users))
	for _, u := range users {
		tags := tagsOf(u)
		if e.opts.formatter == "json" {
			rows = append(rows, map[string]any{"user": u["name"], "tags": append([]string{}, tags...)})
			continue
		}
		rows = append(rows, map[string]any{"user": u["name"], "tags": "[" + strings.Join(tags, ", ") + "]"})
	}
	return printRows(e, []string{"user", "tags"}, rows)
}

// cmdAddVHost is rabbitmqctl add_vhost <vhost>; adding one that exists
// is not an error, as in RabbitMQ 3.10.
func cmdAddVHost(e *env, args []string) error {
	if err := wantArgs("add_vhost", "<vhost>", args, 1); err != nil {
		return err
	}
	e.banner("Adding vhost \"%s\" ...", args[0])
	st, _, err := e.api.do(http.MethodPut, "/api/vhosts/"+url.PathEscape(args[0]), nil, []byte("{}"), "")
	if err != nil || st != http.StatusCreated {
		return err
	}
	// The API gives the vhost's creator every permission in it;
	// rabbitmqctl add_vhost gives none.
	_, _, err = e.api.do(http.MethodDelete, "/api/permissions/"+url.PathEscape(args[0])+"/"+url.PathEscape(e.api.user), nil, nil, "-")
	if ce, ok := err.(*cliError); ok && ce.code == exitNotFound {
		err = nil
	}
	return err
}

// cmdDeleteVHost is rabbitmqctl delete_vhost <vhost>.
func cmdDeleteVHost(e *env, args []string) error {
	if err := wantArgs("delete_vhost", "<vhost>", args, 1); err != nil {
		return err
	}
	e.banner("Deleting vhost \"%s\" ...", args[0])
	_, _, err := e.api.do(http.MethodDelete, "/api/vhosts/"+url.PathEscape(args[0]), nil, nil, "-")
	if ce, ok := err.(*cliError); ok && ce.code == exitNotFound {
		return noVHost(args[0])
	}
	return err
}

// cmdListVHosts is rabbitmqctl list_vhosts [<column> ...] (name, tracing).
func cmdListVHosts(e *env, args []string) error {
	cols, err := columns(args, []string{"name", "tracing", "description", "tags"}, []string{"name"})
	if err != nil {
		return err
	}
	var rows []map[string]any
	if err := e.api.getJSON("/api/vhosts", &rows, ""); err != nil {
		return err
	}
	e.banner("Listing vhosts ...")
	return printRows(e, cols, rows)
}

// cmdSetPermissions is rabbitmqctl set_permissions [-p <vhost>] <username>
// <conf> <write> <read>.
func cmdSetPermissions(e *env, args []string) error {
	if err := wantArgs("set_permissions", "<username> <conf> <write> <read>", args, 4); err != nil {
		return err
	}
	user, vh := args[0], e.opts.vhost
	e.banner("Setting permissions for user \"%s\" in vhost \"%s\" ...", user, vh)
	body, _ := json.Marshal(map[string]string{"configure": args[1], "write": args[2], "read": args[3]})
	_, _, err := e.api.do(http.MethodPut, "/api/permissions/"+url.PathEscape(vh)+"/"+url.PathEscape(user), nil, body, "-")
	return e.permissionTarget(err, user, vh)
}

// permissionTarget turns a not-found answer to a permission request into rabbitmqctl's
// unknown-user or unknown-vhost error; when both exist (a permission that
// is not there to clear), it returns nil.
func (e *env) permissionTarget(err error, user, vh string) error {
	ce, ok := err.(*cliError)
	// PUT answers 400 vhost_or_user_not_found, DELETE 404.
	if !ok || ce.code != exitNotFound && ce.msg != "vhost_or_user_not_found" {
		return err
	}
	if ok, err := userExists(e, user); err != nil || !ok {
		return cmpErr(err, permNoUser(user))
	}
	if ok, err := vhostExists(e, vh); err != nil || !ok {
		return cmpErr(err, permNoVHost(vh))
	}
	return nil
}

// cmpErr returns err, or def when err is nil.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// vhostExists tells whether the broker has the vhost called name.
func vhostExists(e *env, name string) (bool, error) {
	st, _, err := e.api.do(http.MethodGet, "/api/vhosts/"+url.PathEscape(name), nil, nil, "-")
	if st == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// cmdClearPermissions is rabbitmqctl clear_permissions [-p <vhost>]
// <username>; a user without permissions there is no error.
func cmdClearPermissions(e *env, args []string) error {
	if err := wantArgs("clear_permissions", "<username>", args, 1); err != nil {
		return err
	}
	user, vh := args[0], e.opts.vhost
	e.banner("Clearing permissions for user \"%s\" in vhost \"%s\" ...", user, vh)
	_, _, err := e.api.do(http.MethodDelete, "/api/permissions/"+url.PathEscape(vh)+"/"+url.PathEscape(user), nil, nil, "-")
	return e.permissionTarget(err, user, vh)
}

// cmdListPermissions is rabbitmqctl list_permissions [-p <vhost>].
func cmdListPermissions(e *env, args []string) error {
	if err := wantArgs("list_permissions", "no arguments", args, 0); err != nil {
		return err
	}
	vh := e.opts.vhost
	e.banner("Listing permissions for vhost \"%s\" ...", vh)
	if ok, err := vhostExists(e, vh); err != nil || !ok {
		return cmpErr(err, noVHost(vh))
	}
	var rows []map[string]any
	if err := e.api.getJSON("/api/vhosts/"+url.PathEscape(vh)+"/permissions", &rows, ""); err != nil {
		return err
	}
	return printRows(e, []string{"user", "configure", "write", "read"}, rows)
}
