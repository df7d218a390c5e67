package broker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/beatmq/beatmq/broker/password"
)

// The user tags RabbitMQ 3.10 knows (rabbit_auth_backend_internal); the
// management API reads the first four.
const (
	TagAdministrator = "administrator"
	TagMonitoring    = "monitoring"
	TagPolicymaker   = "policymaker"
	TagManagement    = "management"
	TagImpersonator  = "impersonator"
)

// User is an account that may log in with PLAIN or AMQPLAIN.
type User struct {
	Name string
	// Password is the password in clear. When it is "", PasswordHash is
	// used instead.
	Password string
	// PasswordHash is a password hash as RabbitMQ's definitions carry it
	// (password.Algorithm); "" with Password "" means no password: the user
	// cannot log in, as in RabbitMQ.
	PasswordHash string
	// Tags are the user's tags (TagAdministrator...). In Config.Users, nil
	// means administrator, as RabbitMQ gives its default user.
	Tags []string
}

// UserInfo is a user as the broker keeps it: the password only hashed.
type UserInfo struct {
	Name         string
	PasswordHash string // base64, password.Algorithm
	Tags         []string
}

// Errors of the user, vhost and permission operations; the management API
// and beatmqctl turn them into RabbitMQ's answers.
var (
	ErrNoUser      = errors.New("no such user")
	ErrUserExists  = errors.New("user already exists")
	ErrNoVHost     = errors.New("no such vhost")
	ErrVHostExists = errors.New("vhost already exists")
)

// userDB holds the users and their permissions. Its lock is a leaf: taken
// alone, or under Server.defsMu (saveDefinitions).
type userDB struct {
	mu    sync.RWMutex
	users map[string]*UserInfo
	perms map[permKey]*permission
}

func newUserDB() *userDB {
	return &userDB{users: map[string]*UserInfo{}, perms: map[permKey]*permission{}}
}

// hashOf returns u's password hash: Password hashed, or PasswordHash checked.
func hashOf(u User) (string, error) {
	if u.Password != "" {
		return password.Hash(u.Password), nil
	}
	if err := password.Validate(u.PasswordHash); err != nil {
		return "", err
	}
	return u.PasswordHash, nil
}

// normTags drops empty and repeated tags, keeping the order given.
func normTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Users returns every user, sorted by name.
func (s *Server) Users() []UserInfo {
	db := s.users
	db.mu.RLock()
	out := make([]UserInfo, 0, len(db.users))
	for _, u := range db.users {
		in := *u
		in.Tags = slices.Clone(u.Tags)
		out = append(out, in)
	}
	db.mu.RUnlock()
	slices.SortFunc(out, func(a, b UserInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LookupUser returns the user called name.
func (s *Server) LookupUser(name string) (UserInfo, bool) {
	db := s.users
	db.mu.RLock()
	defer db.mu.RUnlock()
	u, ok := db.users[name]
	if !ok {
		return UserInfo{}, false
	}
	in := *u
	in.Tags = slices.Clone(u.Tags)
	return in, true
}

// PutUser creates u, or replaces the password and tags of the user of that
// name (the management API's PUT /api/users/{name}). It reports whether the
// user is new.
func (s *Server) PutUser(u User) (created bool, err error) {
	if u.Name == "" {
		return false, errors.New("user name must not be empty")
	}
	h, err := hashOf(u)
	if err != nil {
		return false, err
	}
	db := s.users
	db.mu.Lock()
	_, existed := db.users[u.Name]
	db.users[u.Name] = &UserInfo{Name: u.Name, PasswordHash: h, Tags: normTags(u.Tags)}
	db.mu.Unlock()
	if !existed {
		s.set.log.Info(fmt.Sprintf("Created user '%s'", u.Name))
	}
	return !existed, s.saveDefinitions()
}

// AddUser creates a user with password and no tags (rabbitmqctl add_user);
// ErrUserExists if there is one of that name.
func (s *Server) AddUser(name, pw string) error {
	if name == "" {
		return errors.New("user name must not be empty")
	}
	db := s.users
	db.mu.Lock()
	if _, ok := db.users[name]; ok {
		db.mu.Unlock()
		return ErrUserExists
	}
	db.users[name] = &UserInfo{Name: name, PasswordHash: password.Hash(pw), Tags: []string{}}
	db.mu.Unlock()
	s.set.log.Info(fmt.Sprintf("Created user '%s'", name))
	return s.saveDefinitions()
}

// DeleteUser deletes the user called name and its permissions, and closes
// its connections with 320 "CONNECTION_FORCED - user 'name' is deleted"
// (rabbit_connection_tracking_handler, user_deleted).
func (s *Server) DeleteUser(name string) error {
	db := s.users
	db.mu.Lock()
	if _, ok := db.users[name]; !ok {
		db.mu.Unlock()
		return ErrNoUser
	}
	delete(db.users, name)
	for k := range db.perms {
		if k.user == name {
			delete(db.perms, k)
		}
	}
	db.mu.Unlock()
	s.set.log.Info(fmt.Sprintf("Deleted user '%s'", name))
	s.closeConnsWhere(func(in ConnInfo) bool { return in.User == name },
		fmt.Sprintf("Closing all connections from user '%s' because it's being deleted", name),
		fmt.Sprintf("user '%s' is deleted", name))
	return s.saveDefinitions()
}

// ChangePassword sets a user's password.
func (s *Server) ChangePassword(name, pw string) error {
	err := s.updateUser(name, func(u *UserInfo) { u.PasswordHash = password.Hash(pw) })
	if err == nil {
		s.set.log.Info(fmt.Sprintf("Successfully changed password for user '%s'", name))
	}
	return err
}

// SetUserTags replaces a user's tags.
func (s *Server) SetUserTags(name string, tags []string) error {
	tags = normTags(tags)
	err := s.updateUser(name, func(u *UserInfo) { u.Tags = tags })
	if err == nil {
		s.set.log.Info(fmt.Sprintf("Successfully set user tags for user '%s' to [%s]", name, strings.Join(tags, ",")))
	}
	return err
}

func (s *Server) updateUser(name string, f func(*UserInfo)) error {
	db := s.users
	db.mu.Lock()
	u, ok := db.users[name]
	if !ok {
		db.mu.Unlock()
		return ErrNoUser
	}
	f(u)
	db.mu.Unlock()
	return s.saveDefinitions()
}

// Authenticate checks user's password (rabbit_auth_backend_internal's
// user_login_authentication) and returns the user's tags.
func (s *Server) Authenticate(user, pw string) (tags []string, ok bool) {
	db := s.users
	db.mu.RLock()
	defer db.mu.RUnlock()
	u, known := db.users[user]
	if !known || u.PasswordHash == "" || !password.Check(u.PasswordHash, pw) {
		return nil, false
	}
	return slices.Clone(u.Tags), true
}

// CheckPassword reports whether user may log in with password, as
// connection.start-ok's PLAIN check decides.
func (s *Server) CheckPassword(user, pw string) bool {
	_, ok := s.Authenticate(user, pw)
	return ok
}

// seedUsers fills an empty user database from Config.Users (guest/guest
// when nil), each with every permission on every vhost, as RabbitMQ
// creates its default user on a node's first start.
func (s *Server) seedUsers() error {
	users := s.cfg.Users
	if users == nil {
		users = []User{{Name: "guest", Password: "guest"}}
	}
	db := s.users
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, u := range users {
		h, err := hashOf(u)
		if err != nil {
			return fmt.Errorf("user '%s': %w", u.Name, err)
		}
		tags := u.Tags
		if tags == nil {
			tags = []string{TagAdministrator}
		}
		db.users[u.Name] = &UserInfo{Name: u.Name, PasswordHash: h, Tags: normTags(tags)}
		for _, v := range s.VHosts() {
			p, _ := compilePermission(Permission{User: u.Name, VHost: v, Configure: ".*", Write: ".*", Read: ".*"})
			db.perms[permKey{u.Name, v}] = p
		}
	}
	return nil
}

// hasTag reports whether the user called name has tag.
// userExists reports whether name is a user.
func (s *Server) userExists(name string) bool {
	db := s.users
	db.mu.RLock()
	defer db.mu.RUnlock()
	_, ok := db.users[name]
	return ok
}

func (s *Server) hasTag(name, tag string) bool {
	db := s.users
	db.mu.RLock()
	defer db.mu.RUnlock()
	u, ok := db.users[name]
	return ok && slices.Contains(u.Tags, tag)
}
