package mgmt

import "errors"

// Accounts is the part of Broker that keeps users, vhosts and permissions
// (GET, PUT and DELETE on /api/users, /api/vhosts, /api/permissions).
type Accounts interface {
	// Users lists every user, sorted by name.
	Users() []UserAccount
	// PutUser creates the user u.Name or replaces its password and tags:
	// with password when hasPassword, else with u.PasswordHash (a RabbitMQ
	// password_hash; "" leaves the user without a password). It reports
	// whether the user is new; an error is a bad request (400).
	PutUser(u UserAccount, password string, hasPassword bool) (created bool, err error)
	// DeleteUser deletes a user and its permissions; ErrNotFound if none.
	DeleteUser(name string) error
	// PutVHost creates a vhost, reporting whether it is new (an existing
	// one is left as it is).
	PutVHost(name string) (created bool, err error)
	// DeleteVHost deletes a vhost as RabbitMQ does (its connections closed
	// with 320, its queues and exchanges deleted); ErrNotFound if none.
	DeleteVHost(name string) error
	// Permissions lists every permission, sorted by vhost then user.
	Permissions() []Permission
	// SetPermission sets a user's permissions in a vhost; ErrNotFound for
	// an unknown user or vhost, another error for a bad expression.
	SetPermission(p Permission) error
	// ClearPermission removes a user's permissions in a vhost; ErrNotFound
	// when the user, the vhost or the permission is unknown.
	ClearPermission(user, vhost string) error
}

// ErrNotFound is what an Accounts method returns for an unknown user,
// vhost or permission: the API answers 404.
var ErrNotFound = errors.New("not found")

// UserAccount is a user as GET /api/users shows it.
type UserAccount struct {
	Name             string
	PasswordHash     string
	HashingAlgorithm string // "" means rabbit_password_hashing_sha256
	Tags             []string
}

// Permission is a user's permissions in a vhost, as GET /api/permissions
// shows them.
type Permission struct {
	User, Vhost            string
	Configure, Write, Read string
}
